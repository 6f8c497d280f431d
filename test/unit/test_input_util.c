/* Unit tests of the agent's input layer that need no display: coordinate
 * scaling, UTF-8 decoding, backend choice failing cleanly, and a session
 * without a backend refusing every event. (The backends themselves are tested
 * on Xvfb and in the VM: test_input_x11, test_input_mpv, test_input_console.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/input.h"
#include "err.h"
#include "util.h"

static void test_scale(void **state)
{
	(void)state;
	/* Same size: identity. */
	assert_int_equal(input_scale(0, 1920, 1919), 0);
	assert_int_equal(input_scale(1919, 1920, 1919), 1919);
	assert_int_equal(input_scale(960, 1920, 1919), 960);
	/* Captured 1920 wide, uinput's 0..32767 axis: both ends map to both ends. */
	assert_int_equal(input_scale(0, 1920, 32767), 0);
	assert_int_equal(input_scale(1919, 1920, 32767), 32767);
	assert_int_equal(input_scale(960, 1920, 32767), 16392);
	/* Smaller screen than the capture. */
	assert_int_equal(input_scale(1279, 1280, 639), 639);
	assert_int_equal(input_scale(640, 1280, 639), 320);
	/* Out of range clamps. */
	assert_int_equal(input_scale(-5, 1920, 1919), 0);
	assert_int_equal(input_scale(5000, 1920, 1919), 1919);
	assert_int_equal(input_scale(2147483647, 1920, 32767), 32767);
	/* Unknown source size: clamp only. */
	assert_int_equal(input_scale(50, 0, 100), 50);
	assert_int_equal(input_scale(500, 1, 100), 100);
}

static void test_utf8(void **state)
{
	(void)state;
	size_t used;
	assert_int_equal(rd_utf8_next("a", 1, &used), 'a');
	assert_int_equal(used, 1);
	assert_int_equal(rd_utf8_next("\xc3\xa9x", 3, &used), 0xe9);
	assert_int_equal(used, 2);
	assert_int_equal(rd_utf8_next("\xe2\x82\xac", 3, &used), 0x20ac);
	assert_int_equal(used, 3);
	assert_int_equal(rd_utf8_next("\xf0\x9f\x98\x80", 4, &used), 0x1f600);
	assert_int_equal(used, 4);
	/* Truncated, overlong, surrogate, stray continuation, too high. */
	assert_int_equal(rd_utf8_next("\xe2\x82", 2, &used), -1);
	assert_int_equal(rd_utf8_next("\xc0\xaf", 2, &used), -1);
	assert_int_equal(rd_utf8_next("\xed\xa0\x80", 3, &used), -1);
	assert_int_equal(rd_utf8_next("\x80", 1, &used), -1);
	assert_int_equal(used, 1);
	assert_int_equal(rd_utf8_next("\xf4\x90\x80\x80", 4, &used), -1);
	assert_int_equal(rd_utf8_next("", 0, &used), -1);
}

static void test_open_fails_cleanly(void **state)
{
	(void)state;
	struct input *in = (struct input *)1;
	struct input_config none = { .backend = "none" };
	assert_int_equal(input_open(&none, &in), RD_ERR_UNSUPPORTED);
	assert_null(in);
	struct input_config bad = { .backend = "joystick" };
	assert_int_equal(input_open(&bad, &in), RD_ERR_CONFIG);
	struct input_config ui = { .backend = "uinput", .uinput_path = "/nonexistent/uinput" };
	assert_int_equal(input_open(&ui, &in), RD_ERR_NOTFOUND);
	assert_null(in);
	struct input_config xdo = { .backend = "xdo", .display = ":none" };
	assert_int_not_equal(input_open(&xdo, &in), RD_OK);
	assert_null(in);
	assert_string_equal(input_name(NULL), "none");
}

static void test_client_without_backend(void **state)
{
	(void)state;
	struct input_client *c = input_client_new(NULL, "198.51.100.7:4000");
	Hbb__KeyEvent k = HBB__KEY_EVENT__INIT;
	k.union_case = HBB__KEY_EVENT__UNION_UNICODE;
	k.unicode = 'a';
	k.down = true;
	assert_int_equal(input_client_key(c, &k), RD_ERR_UNSUPPORTED);
	Hbb__MouseEvent m = HBB__MOUSE_EVENT__INIT;
	m.mask = (1 << 3) | 1;
	assert_int_equal(input_client_mouse(c, &m), RD_ERR_UNSUPPORTED);
	assert_int_equal(input_client_events(c), 0);
	assert_int_equal(input_client_held(c), 0);
	input_client_free(c);
}

/* A backend that records the last move, to check the client's scaling. */
struct rec_input {
	struct input base;
	int x, y, moves;
};

static int rec_move(struct input *in, int x, int y)
{
	struct rec_input *r = (struct rec_input *)in;
	r->x = x;
	r->y = y;
	r->moves++;
	return RD_OK;
}

static const struct input_ops rec_ops = { .name = "rec", .move = rec_move };

static void test_client_move_without_screen_size(void **state)
{
	(void)state;
	Hbb__MouseEvent m = HBB__MOUSE_EVENT__INIT;
	m.x = 300;
	m.y = 200;
	/* A pixel backend takes the controller's pixels as they are. */
	struct rec_input px = { .base = { .ops = &rec_ops, .max_x = 1023, .max_y = 767, .pixels = true } };
	struct input_client *c = input_client_new(&px.base, "198.51.100.7:4000");
	assert_int_equal(input_client_mouse(c, &m), RD_OK);
	assert_int_equal(px.moves, 1);
	assert_int_equal(px.x, 300);
	assert_int_equal(px.y, 200);
	/* Once the size is known, moves are scaled to it. */
	input_client_set_display(c, 512, 384);
	assert_int_equal(input_client_mouse(c, &m), RD_OK);
	assert_int_equal(px.x, input_scale(300, 512, 1023));
	assert_int_equal(px.y, input_scale(200, 384, 767));
	input_client_free(c);
	/* A device scale (uinput) cannot be guessed: the move is dropped. */
	struct rec_input dev = { .base = { .ops = &rec_ops, .max_x = 32767, .max_y = 32767 } };
	c = input_client_new(&dev.base, "198.51.100.7:4000");
	assert_int_equal(input_client_mouse(c, &m), RD_OK);
	assert_int_equal(dev.moves, 0);
	input_client_set_display(c, 1024, 768);
	assert_int_equal(input_client_mouse(c, &m), RD_OK);
	assert_int_equal(dev.moves, 1);
	assert_int_equal(dev.x, input_scale(300, 1024, 32767));
	input_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_open_fails_cleanly),
		cmocka_unit_test(test_client_without_backend),
		cmocka_unit_test(test_client_move_without_screen_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* capture: the testsrc backend and the backend-independent helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ev.h>
#include <unistd.h>

#include "agent/capture.h"
#include "err.h"
#include "log.h"

static struct capture *open_src(const char *spec)
{
	struct capture_config cfg = { .backend = "testsrc", .display = spec };
	struct capture *c = NULL;
	assert_int_equal(capture_open(&cfg, &c), 0);
	assert_non_null(c);
	return c;
}

static struct capture_frame *grab(struct capture *c, bool full)
{
	struct capture_frame *f = NULL;
	assert_int_equal(capture_grab(c, full, &f), RD_CAPTURE_DONE);
	assert_non_null(f);
	return f;
}

static bool in_damage(const struct capture_frame *f, int x, int y)
{
	for (int i = 0; i < f->n_damage; i++) {
		const struct capture_rect *r = &f->damage[i];
		if (x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h)
			return true;
	}
	return false;
}

static void test_defaults(void **state)
{
	(void)state;
	struct capture *c = open_src(NULL);
	assert_string_equal(capture_name(c), "testsrc");
	assert_int_equal(c->width, 640);
	assert_int_equal(c->height, 360);
	assert_int_equal(c->format, RD_CAPTURE_FMT_BGRX);
	assert_true(c->cursor_embedded);
	assert_int_equal(capture_get_fd(c), -1);
	struct capture_frame *f = grab(c, false);
	assert_int_equal(f->width, 640);
	assert_int_equal(f->height, 360);
	assert_true(f->stride >= 640 * 4);
	assert_int_equal(f->n_damage, 1);
	assert_int_equal(f->damage[0].w, 640);
	assert_int_equal(f->damage[0].h, 360);
	capture_frame_release(c, f);
	capture_close(c);
}

/* Every pixel that changed between two frames lies inside the damage, and the
 * damage is small: the square's old and new place. */
static void test_damage_exact(void **state)
{
	(void)state;
	struct capture *c = open_src("320x200");
	struct capture_frame *f = grab(c, false);
	size_t sz = (size_t)f->stride * f->height;
	uint8_t *prev = malloc(sz);
	memcpy(prev, f->data, sz);
	capture_frame_release(c, f);
	for (int n = 0; n < 20; n++) {
		f = grab(c, false);
		assert_int_equal(f->n_damage, 2);
		long long area = 0, changed = 0;
		for (int i = 0; i < f->n_damage; i++)
			area += (long long)f->damage[i].w * f->damage[i].h;
		assert_true(area <= 2 * 64 * 64);
		for (int y = 0; y < f->height; y++)
			for (int x = 0; x < f->width; x++) {
				size_t o = (size_t)y * f->stride + 4 * (size_t)x;
				if (memcmp(prev + o, f->data + o, 4) != 0) {
					changed++;
					assert_true(in_damage(f, x, y));
				}
			}
		assert_true(changed > 0);
		memcpy(prev, f->data, sz);
		capture_frame_release(c, f);
	}
	free(prev);
	capture_close(c);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct capture *a = open_src("200x100"), *b = open_src("200x100");
	struct capture_frame *fa = NULL, *fb = NULL;
	for (int i = 0; i < 15; i++) {
		fa = grab(a, false);
		if (i < 14)
			capture_frame_release(a, fa);
	}
	/* b takes a different path (a full grab in the middle) to the same frame. */
	for (int i = 0; i < 15; i++) {
		fb = grab(b, i == 7);
		if (i < 14)
			capture_frame_release(b, fb);
	}
	assert_int_equal(fa->seq, 14);
	assert_int_equal(fb->seq, 14);
	for (int y = 0; y < fa->height; y++)
		assert_memory_equal(fa->data + (size_t)y * fa->stride,
			fb->data + (size_t)y * fb->stride, (size_t)fa->width * 4);
	capture_frame_release(a, fa);
	capture_frame_release(b, fb);
	capture_close(a);
	capture_close(b);
}

static void test_full_and_one_out(void **state)
{
	(void)state;
	struct capture *c = open_src("64x64");
	struct capture_frame *f = grab(c, false), *g = NULL;
	/* One frame out at a time. */
	assert_int_equal(capture_grab(c, false, &g), RD_CAPTURE_RETRY);
	assert_null(g);
	assert_int_equal(capture_reinit(c), RD_ERR_AGAIN);
	capture_frame_release(c, f);
	f = grab(c, true);
	assert_int_equal(f->n_damage, 1);
	assert_int_equal(f->damage[0].w * f->damage[0].h, 64 * 64);
	capture_frame_release(c, f);
	capture_close(c);
}

static void test_switch_size(void **state)
{
	(void)state;
	struct capture *c = open_src("100x80,switch=3:64x48");
	struct capture_frame *f;
	for (int i = 0; i < 3; i++)
		capture_frame_release(c, grab(c, false));
	assert_int_equal(capture_grab(c, false, &f), RD_CAPTURE_REINIT);
	assert_int_equal(capture_grab(c, false, &f), RD_CAPTURE_REINIT);
	assert_int_equal(capture_reinit(c), 0);
	assert_int_equal(c->width, 64);
	assert_int_equal(c->height, 48);
	f = grab(c, false);
	assert_int_equal(f->width, 64);
	assert_int_equal(f->height, 48);
	assert_int_equal(f->stride, 64 * 4);
	assert_int_equal(f->n_damage, 1);
	assert_int_equal(f->damage[0].w, 64);
	capture_frame_release(c, f);
	f = grab(c, false);
	capture_frame_release(c, f);
	capture_close(c);
}

static void test_still(void **state)
{
	(void)state;
	struct capture *c = open_src("120x90,still=4");
	struct capture_frame *f;
	for (int i = 0; i < 4; i++)
		capture_frame_release(c, grab(c, false));
	for (int i = 0; i < 5; i++)
		assert_int_equal(capture_grab(c, false, &f), RD_CAPTURE_RETRY);
	f = grab(c, true);	/* a new encoder still gets the whole picture */
	assert_int_equal(f->damage[0].w, 120);
	capture_frame_release(c, f);
	assert_int_equal(capture_grab(c, false, &f), RD_CAPTURE_RETRY);
	capture_close(c);
}

static void test_bad_specs(void **state)
{
	(void)state;
	static const char *bad[] = { "abc", "10x10", "640x", "640x360,foo", "640x360,switch=0:64x64",
		"640x360,switch=5", "640x360,still=", "99999x10" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct capture_config cfg = { .backend = "testsrc", .display = bad[i] };
		struct capture *c = (struct capture *)1;
		assert_int_equal(capture_open(&cfg, &c), RD_ERR_INVAL);
	}
	struct capture_config none = { .backend = "nosuch" };
	struct capture *c;
	assert_int_equal(capture_open(&none, &c), RD_ERR_UNSUPPORTED);
}

/* auto never picks testsrc: with no display it fails and says so. */
static void test_auto_without_display(void **state)
{
	(void)state;
	unsetenv("DISPLAY");
	struct capture_config cfg = { .backend = "auto" };
	struct capture *c = (struct capture *)1;
	assert_int_equal(capture_open(&cfg, &c), RD_ERR_NOTFOUND);
	assert_null(c);
	cfg.backend = "x11";
	cfg.display = ":9876";	/* no such server */
	assert_true(capture_open(&cfg, &c) < 0);
}

static void count_opened(int rc, struct capture *c, void *ud)
{
	(void)rc;
	(void)c;
	(*(int *)ud)++;
}

/* On a loop: a backend that opens at once is open on return (no callback),
 * and failures that need no waiting come back at once too. */
static void test_open_start(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	struct capture_config cfg = { .backend = "testsrc", .display = "320x240" };
	struct capture *c = NULL;
	struct capture_opening *op = (struct capture_opening *)1;
	int called = 0;
	assert_int_equal(capture_open_start(loop, &cfg, count_opened, &called, &c, &op), 0);
	assert_non_null(c);
	assert_null(op);
	assert_int_equal(c->width, 320);
	capture_close(c);
	cfg.backend = "nosuch";
	assert_int_equal(capture_open_start(loop, &cfg, count_opened, &called, &c, &op),
		RD_ERR_UNSUPPORTED);
	assert_null(c);
	assert_null(op);
	/* No PipeWire daemon to connect to: that is known without waiting. */
	char dir[] = "/tmp/rd-capture-XXXXXX";
	assert_non_null(mkdtemp(dir));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	unsetenv("PIPEWIRE_REMOTE");
	cfg.backend = "pipewire";
	cfg.display = "rd-no-such-node";
	assert_int_equal(capture_open_start(loop, &cfg, count_opened, &called, &c, &op),
		RD_ERR_NOTFOUND);
	assert_null(op);
	rmdir(dir);
	ev_run(loop, 0);	/* nothing was left running */
	assert_int_equal(called, 0);
	ev_loop_destroy(loop);
}

static void test_damage_helpers(void **state)
{
	(void)state;
	struct capture_frame f = { .width = 100, .height = 50 };
	capture_frame_add_damage(&f, (struct capture_rect){ -10, -10, 20, 20 });
	assert_int_equal(f.n_damage, 1);
	assert_int_equal(f.damage[0].x, 0);
	assert_int_equal(f.damage[0].w, 10);
	assert_int_equal(f.damage[0].h, 10);
	capture_frame_add_damage(&f, (struct capture_rect){ 90, 40, 50, 50 });
	assert_int_equal(f.damage[1].w, 10);
	assert_int_equal(f.damage[1].h, 10);
	capture_frame_add_damage(&f, (struct capture_rect){ 200, 0, 5, 5 });
	capture_frame_add_damage(&f, (struct capture_rect){ 5, 5, 0, 5 });
	assert_int_equal(f.n_damage, 2);
	/* Two in the list: 14 more fill it, the next one merges all of them. */
	for (int i = 0; i < RD_CAPTURE_MAX_DAMAGE - 2; i++)
		capture_frame_add_damage(&f, (struct capture_rect){ 20 + i, 20, 1, 1 });
	assert_int_equal(f.n_damage, RD_CAPTURE_MAX_DAMAGE);
	capture_frame_add_damage(&f, (struct capture_rect){ 50, 30, 1, 1 });
	assert_int_equal(f.n_damage, 1);
	assert_int_equal(f.damage[0].x, 0);
	assert_int_equal(f.damage[0].y, 0);
	assert_int_equal(f.damage[0].w, 100);
	assert_int_equal(f.damage[0].h, 50);
}

int main(void)
{
	rd_log_set_level(RD_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_damage_exact),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_full_and_one_out),
		cmocka_unit_test(test_switch_size),
		cmocka_unit_test(test_still),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_auto_without_display),
		cmocka_unit_test(test_open_start),
		cmocka_unit_test(test_damage_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

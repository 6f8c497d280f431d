/* Unit tests of rdctl's input messages (ctl/input.c): each builder's
 * message goes through the wire (pack, unpack) and is read back as the
 * agent reads it; and wait-for-change's region parsing and change test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/input.h"
#include "ctl/keymap.h"
#include "err.h"

/* The message as the agent gets it: packed, then unpacked. */
static Hbb__Message *wire(const Hbb__Message *m)
{
	size_t len = hbb__message__get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	assert_int_equal(hbb__message__pack(m, buf), len);
	Hbb__Message *out = hbb__message__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

static void test_key(void **state)
{
	(void)state;
	struct ctl_input_msg im;
	struct ctl_key k;
	assert_int_equal(ctl_keymap_parse_combo("ctrl+shift+a", &k), RD_OK);
	Hbb__Message *m = wire(ctl_input_key(&im, &k, true, false));
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_KEY_EVENT);
	const Hbb__KeyEvent *e = m->key_event;
	assert_true(e->press);
	assert_true(e->down);
	assert_int_equal(e->mode, HBB__KEYBOARD_MODE__Legacy);
	assert_int_equal(e->union_case, HBB__KEY_EVENT__UNION_UNICODE);
	assert_int_equal(e->unicode, 'a');
	assert_int_equal(e->n_modifiers, 2);
	assert_int_equal(e->modifiers[0], HBB__CONTROL_KEY__Control);
	assert_int_equal(e->modifiers[1], HBB__CONTROL_KEY__Shift);
	hbb__message__free_unpacked(m, NULL);

	/* A named key held down, then let go: no press, no modifiers. */
	assert_int_equal(ctl_keymap_parse_combo("Return", &k), RD_OK);
	m = wire(ctl_input_key(&im, &k, false, true));
	assert_false(m->key_event->press);
	assert_true(m->key_event->down);
	assert_int_equal(m->key_event->union_case, HBB__KEY_EVENT__UNION_CONTROL_KEY);
	assert_int_equal(m->key_event->control_key, HBB__CONTROL_KEY__Return);
	assert_int_equal(m->key_event->n_modifiers, 0);
	hbb__message__free_unpacked(m, NULL);
	m = wire(ctl_input_key(&im, &k, false, false));
	assert_false(m->key_event->press);
	assert_false(m->key_event->down);
	hbb__message__free_unpacked(m, NULL);
}

static void test_text(void **state)
{
	(void)state;
	struct ctl_input_msg im;
	Hbb__Message *m = wire(ctl_input_text(&im, "h\xc3\xa9llo\n"));
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_KEY_EVENT);
	assert_true(m->key_event->press);
	assert_int_equal(m->key_event->mode, HBB__KEYBOARD_MODE__Translate);
	assert_int_equal(m->key_event->union_case, HBB__KEY_EVENT__UNION_SEQ);
	assert_string_equal(m->key_event->seq, "h\xc3\xa9llo\n");
	hbb__message__free_unpacked(m, NULL);
}

static void test_mouse(void **state)
{
	(void)state;
	struct ctl_input_msg im;
	int mods[6] = { HBB__CONTROL_KEY__Control, HBB__CONTROL_KEY__Shift, HBB__CONTROL_KEY__Alt,
		HBB__CONTROL_KEY__Meta, HBB__CONTROL_KEY__RControl, HBB__CONTROL_KEY__RShift };
	Hbb__Message *m = wire(ctl_input_mouse(&im, CTL_MOUSE_DOWN, CTL_BTN_RIGHT, 1919, 1079, mods,
		2));
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_MOUSE_EVENT);
	assert_int_equal(m->mouse_event->mask, (CTL_BTN_RIGHT << 3) | CTL_MOUSE_DOWN);
	assert_int_equal(m->mouse_event->x, 1919);
	assert_int_equal(m->mouse_event->y, 1079);
	assert_int_equal(m->mouse_event->n_modifiers, 2);
	assert_int_equal(m->mouse_event->modifiers[1], HBB__CONTROL_KEY__Shift);
	hbb__message__free_unpacked(m, NULL);
	/* A wheel step up carries its delta; modifiers past the room are dropped. */
	m = wire(ctl_input_mouse(&im, CTL_MOUSE_WHEEL, 0, 0, 1, mods, 6));
	assert_int_equal(m->mouse_event->mask, CTL_MOUSE_WHEEL);
	assert_int_equal(m->mouse_event->y, 1);
	assert_int_equal(m->mouse_event->n_modifiers, CTL_KEY_MAX_MODS);
	assert_int_equal(m->mouse_event->modifiers[CTL_KEY_MAX_MODS - 1], HBB__CONTROL_KEY__Meta);
	hbb__message__free_unpacked(m, NULL);
	/* A plain move; the struct reused after a key holds nothing of it. */
	struct ctl_key k = { .chr = 'x', .mods = { HBB__CONTROL_KEY__Alt }, .nmods = 1 };
	ctl_input_key(&im, &k, true, true);
	m = wire(ctl_input_mouse(&im, CTL_MOUSE_MOVE, 0, 5, 6, NULL, 0));
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_MOUSE_EVENT);
	assert_int_equal(m->mouse_event->mask, 0);
	assert_int_equal(m->mouse_event->x, 5);
	assert_int_equal(m->mouse_event->n_modifiers, 0);
	hbb__message__free_unpacked(m, NULL);
}

static void test_clipboard(void **state)
{
	(void)state;
	struct ctl_input_msg im;
	static const char text[] = "line 1\nline\0 2";
	Hbb__Message *m = wire(ctl_input_clipboard(&im, text, sizeof(text) - 1));
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_CLIPBOARD);
	assert_int_equal(m->clipboard->format, HBB__CLIPBOARD_FORMAT__Text);
	assert_false(m->clipboard->compress);
	assert_int_equal(m->clipboard->content.len, sizeof(text) - 1);
	assert_memory_equal(m->clipboard->content.data, text, sizeof(text) - 1);
	hbb__message__free_unpacked(m, NULL);
	m = wire(ctl_input_clipboard(&im, "", 0));
	assert_int_equal(m->clipboard->content.len, 0);
	hbb__message__free_unpacked(m, NULL);
}

static void test_region(void **state)
{
	(void)state;
	int x, y, w, h;
	assert_int_equal(ctl_input_parse_region("10,20,30,40", &x, &y, &w, &h), RD_OK);
	assert_int_equal(x + y + w + h, 100);
	assert_int_equal(ctl_input_parse_region("1,2,3", &x, &y, &w, &h), RD_ERR_INVAL);
	assert_int_equal(ctl_input_parse_region("1,2,0,3", &x, &y, &w, &h), RD_ERR_INVAL);
	assert_int_equal(ctl_input_parse_region("-1,2,3,4", &x, &y, &w, &h), RD_ERR_INVAL);
	assert_int_equal(ctl_input_parse_region("1,2,3,4x", &x, &y, &w, &h), RD_ERR_INVAL);
	assert_int_equal(ctl_input_parse_region("1,2,3,65536", &x, &y, &w, &h), RD_ERR_INVAL);
	assert_int_equal(ctl_input_parse_region(NULL, &x, &y, &w, &h), RD_ERR_INVAL);

	static uint8_t a[64 * 64], b[64 * 64];
	memset(a, 100, sizeof(a));
	memcpy(b, a, sizeof(b));
	/* Codec noise (small moves everywhere) is no change. */
	for (size_t i = 0; i < sizeof(b); i += 3)
		b[i] = (uint8_t)(100 + (i % 7) * 3);
	assert_false(ctl_input_region_changed(a, 64, b, 64, 0, 0, 64, 64, 24, 0.0005));
	/* A small solid change is; outside the region it is not. */
	for (int r = 40; r < 44; r++)
		for (int c = 40; c < 44; c++)
			b[r * 64 + c] = 250;
	assert_true(ctl_input_region_changed(a, 64, b, 64, 0, 0, 64, 64, 24, 0.0005));
	assert_false(ctl_input_region_changed(a, 64, b, 64, 0, 0, 32, 32, 24, 0.0005));
	assert_true(ctl_input_region_changed(a, 64, b, 64, 38, 38, 10, 10, 24, 0.0005));
	/* Fewer than 4 pixels never count, whatever the share. */
	memcpy(b, a, sizeof(b));
	b[0] = b[1] = b[2] = 0;
	assert_false(ctl_input_region_changed(a, 64, b, 64, 0, 0, 2, 2, 24, 0.0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_mouse),
		cmocka_unit_test(test_clipboard),
		cmocka_unit_test(test_region),
	};
	return cmocka_run_group_tests_name("ctl_input", tests, NULL, NULL);
}

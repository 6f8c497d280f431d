/* Unit tests of rdctl's key names and combinations (ctl/keymap.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/keymap.h"
#include "err.h"
#include "message.pb-c.h"

static void test_named_keys(void **state)
{
	(void)state;
	struct ctl_key k;
	assert_int_equal(ctl_keymap_parse_combo("Return", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__Return);
	assert_int_equal(k.nmods, 0);
	assert_int_equal(ctl_keymap_parse_combo("enter", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__Return);
	/* F1..F12 are not contiguous in ControlKey (F1=9, F10=10, F2=13). */
	assert_int_equal(ctl_keymap_parse_combo("F1", &k), RD_OK);
	assert_int_equal(k.control, 9);
	assert_int_equal(ctl_keymap_parse_combo("f2", &k), RD_OK);
	assert_int_equal(k.control, 13);
	assert_int_equal(ctl_keymap_parse_combo("F10", &k), RD_OK);
	assert_int_equal(k.control, 10);
	assert_int_equal(ctl_keymap_parse_combo("F12", &k), RD_OK);
	assert_int_equal(k.control, 12);
	assert_int_equal(ctl_keymap_parse_combo("PgUp", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__PageUp);
	assert_int_equal(ctl_keymap_parse_combo("space", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__Space);
	assert_int_equal(ctl_keymap_parse_combo("CtrlAltDel", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__CtrlAltDel);
	assert_int_equal(ctl_keymap_parse_combo("KP_Enter", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__NumpadEnter);
}

static void test_combos(void **state)
{
	(void)state;
	struct ctl_key k;
	assert_int_equal(ctl_keymap_parse_combo("ctrl+alt+f2", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__F2);
	assert_int_equal(k.nmods, 2);
	assert_int_equal(k.mods[0], HBB__CONTROL_KEY__Control);
	assert_int_equal(k.mods[1], HBB__CONTROL_KEY__Alt);
	assert_int_equal(ctl_keymap_parse_combo("Shift+Tab", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__Tab);
	assert_int_equal(k.mods[0], HBB__CONTROL_KEY__Shift);
	assert_int_equal(ctl_keymap_parse_combo("ctrl+c", &k), RD_OK);
	assert_int_equal(k.control, 0);
	assert_int_equal(k.chr, 'c');
	assert_int_equal(k.mods[0], HBB__CONTROL_KEY__Control);
	/* '+' itself: alone and after a modifier. */
	assert_int_equal(ctl_keymap_parse_combo("+", &k), RD_OK);
	assert_int_equal(k.chr, '+');
	assert_int_equal(k.nmods, 0);
	assert_int_equal(ctl_keymap_parse_combo("ctrl++", &k), RD_OK);
	assert_int_equal(k.chr, '+');
	assert_int_equal(k.nmods, 1);
	/* A repeated modifier counts once; super and win are Meta. */
	assert_int_equal(ctl_keymap_parse_combo("ctrl+ctrl+x", &k), RD_OK);
	assert_int_equal(k.nmods, 1);
	assert_int_equal(ctl_keymap_parse_combo("super+l", &k), RD_OK);
	assert_int_equal(k.mods[0], HBB__CONTROL_KEY__Meta);
	/* A modifier named alone is a key. */
	assert_int_equal(ctl_keymap_parse_combo("shift", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__Shift);
	assert_int_equal(k.nmods, 0);
	/* Non-ASCII characters. */
	assert_int_equal(ctl_keymap_parse_combo("\xe2\x82\xac", &k), RD_OK);
	assert_int_equal(k.chr, 0x20ac);
	assert_int_equal(ctl_keymap_parse_combo("alt+\xc3\xa9", &k), RD_OK);
	assert_int_equal(k.chr, 0xe9);
}

static void test_bad_combos(void **state)
{
	(void)state;
	struct ctl_key k;
	const char *bad[] = { "", "ctrl+", "ctrl+nosuchkey", "a+b", "ab", "ctrl+shift+alt+meta+rctrl+x",
		"foo+Return", "\xc3", "\xe2\x82", "\xff", "ctrl+ctrl", "\x01", "shift+shift" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ctl_keymap_parse_combo(bad[i], &k);
		if (rc != RD_ERR_INVAL)
			fail_msg("'%s' accepted", bad[i]);
	}
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ctl_keymap_parse_combo(big, &k), RD_ERR_INVAL);
}

static void test_mpv_names(void **state)
{
	(void)state;
	struct ctl_key k;
	assert_int_equal(ctl_keymap_parse_mpv("a", &k), RD_OK);
	assert_int_equal(k.chr, 'a');
	assert_int_equal(ctl_keymap_parse_mpv("A", &k), RD_OK);
	assert_int_equal(k.chr, 'A');
	assert_int_equal(ctl_keymap_parse_mpv("Ctrl+a", &k), RD_OK);
	assert_int_equal(k.mods[0], HBB__CONTROL_KEY__Control);
	assert_int_equal(k.chr, 'a');
	assert_int_equal(ctl_keymap_parse_mpv("Shift+ENTER", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__Return);
	assert_int_equal(k.mods[0], HBB__CONTROL_KEY__Shift);
	assert_int_equal(ctl_keymap_parse_mpv("BS", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__Backspace);
	assert_int_equal(ctl_keymap_parse_mpv("PGDWN", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__PageDown);
	assert_int_equal(ctl_keymap_parse_mpv("SHARP", &k), RD_OK);
	assert_int_equal(k.chr, '#');
	assert_int_equal(ctl_keymap_parse_mpv("Ctrl+PLUS", &k), RD_OK);
	assert_int_equal(k.chr, '+');
	assert_int_equal(ctl_keymap_parse_mpv("SPACE", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__Space);
	assert_int_equal(ctl_keymap_parse_mpv("KP_ENTER", &k), RD_OK);
	assert_int_equal(k.control, HBB__CONTROL_KEY__NumpadEnter);
	assert_int_equal(ctl_keymap_parse_mpv("\xc3\xa9", &k), RD_OK);
	assert_int_equal(k.chr, 0xe9);
	assert_int_equal(ctl_keymap_parse_mpv("MBTN_LEFT", &k), RD_ERR_NOTFOUND);
	assert_int_equal(ctl_keymap_parse_mpv("UNMAPPED", &k), RD_ERR_NOTFOUND);
}

static void test_format(void **state)
{
	(void)state;
	struct ctl_key k;
	char out[64];
	ctl_keymap_parse_combo("ctrl+alt+F2", &k);
	ctl_keymap_format(&k, out, sizeof(out));
	assert_string_equal(out, "ctrl+alt+F2");
	ctl_keymap_parse_combo("shift+\xe2\x82\xac", &k);
	ctl_keymap_format(&k, out, sizeof(out));
	assert_string_equal(out, "shift+U+20AC");
	ctl_keymap_format(&k, out, 4);
	assert_int_equal(strlen(out), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_keys),
		cmocka_unit_test(test_combos),
		cmocka_unit_test(test_bad_combos),
		cmocka_unit_test(test_mpv_names),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

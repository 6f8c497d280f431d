/* Unit tests of the mpv IPC event reader and the window -> remote mapping
 * (ctl/mpv_event.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/mpv_input.h"
#include "err.h"

static int parse(const char *s, struct ctl_mpv_event *ev)
{
	return ctl_mpv_parse_event(s, strlen(s), ev);
}

static void test_client_message(void **state)
{
	(void)state;
	struct ctl_mpv_event ev;
	assert_int_equal(parse("{\"event\":\"client-message\",\"args\":[\"rdesk\",\"key\",\"down\",\"Ctrl+a\"]}",
		&ev), RD_OK);
	assert_int_equal(ev.kind, CTL_MPV_MESSAGE);
	assert_int_equal(ev.nargs, 4);
	assert_string_equal(ev.args[0], "rdesk");
	assert_string_equal(ev.args[3], "Ctrl+a");
	/* Escapes, \u with a surrogate pair, members in another order, spaces. */
	assert_int_equal(parse(" { \"args\" : [\"rdesk\", \"key\", \"press\", \"\\u00e9\\ud83d\\ude00\\\"\"] ,"
		"\"event\" : \"client-message\" } ", &ev), RD_OK);
	assert_int_equal(ev.kind, CTL_MPV_MESSAGE);
	assert_string_equal(ev.args[3], "\xc3\xa9\xf0\x9f\x98\x80\"");
	/* Non-string args are skipped, extra args dropped, long ones cut. */
	assert_int_equal(parse("{\"event\":\"client-message\",\"args\":[1,\"a\",null,{\"x\":[1]},\"b\","
		"\"c\",\"d\",\"e\",\"f\",\"g\"]}", &ev), RD_OK);
	assert_int_equal(ev.nargs, CTL_MPV_MAX_ARGS);
	assert_string_equal(ev.args[0], "a");
	char line[400];
	char longarg[200];
	memset(longarg, 'x', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	snprintf(line, sizeof(line), "{\"event\":\"client-message\",\"args\":[\"%s\"]}", longarg);
	assert_int_equal(parse(line, &ev), RD_OK);
	assert_int_equal(strlen(ev.args[0]), CTL_MPV_ARG_MAX - 1);
}

static void test_osd(void **state)
{
	(void)state;
	struct ctl_mpv_event ev;
	assert_int_equal(parse("{\"event\":\"property-change\",\"id\":1,\"name\":\"osd-dimensions\","
		"\"data\":{\"w\":640,\"h\":360,\"par\":1.000000,\"aspect\":1.777778,\"mt\":20,\"mb\":20,"
		"\"ml\":0,\"mr\":0}}", &ev), RD_OK);
	assert_int_equal(ev.kind, CTL_MPV_OSD);
	assert_int_equal(ev.osd.w, 640);
	assert_int_equal(ev.osd.h, 360);
	assert_int_equal(ev.osd.mt, 20);
	assert_int_equal(ev.osd.mb, 20);
	/* Data before the name; a property that is not ours. */
	assert_int_equal(parse("{\"data\":{\"w\":10,\"h\":20},\"name\":\"osd-dimensions\","
		"\"event\":\"property-change\"}", &ev), RD_OK);
	assert_int_equal(ev.kind, CTL_MPV_OSD);
	assert_int_equal(parse("{\"event\":\"property-change\",\"name\":\"pause\",\"data\":{\"w\":1,\"h\":1}}",
		&ev), RD_OK);
	assert_int_equal(ev.kind, CTL_MPV_OTHER);
	/* Without its size it is not taken. */
	assert_int_equal(parse("{\"event\":\"property-change\",\"name\":\"osd-dimensions\",\"data\":null}",
		&ev), RD_OK);
	assert_int_equal(ev.kind, CTL_MPV_OTHER);
	assert_int_equal(parse("{\"event\":\"property-change\",\"name\":\"osd-dimensions\","
		"\"data\":{\"w\":-5,\"h\":1}}", &ev), RD_ERR_PROTO);
	assert_int_equal(parse("{\"request_id\":0,\"error\":\"success\"}", &ev), RD_OK);
	assert_int_equal(ev.kind, CTL_MPV_OTHER);
}

static void test_bad_json(void **state)
{
	(void)state;
	struct ctl_mpv_event ev;
	const char *bad[] = { "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":tru}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":1} x",
		"{\"a\":\"unterminated}", "{\"a\":1e999}", "{\"a\":\"tab\there\"}", "{\"a\":[1 2]}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &ev) != RD_ERR_PROTO)
			fail_msg("accepted: %s", bad[i]);
	/* Nesting is bounded. */
	char deep[200] = "{\"a\":";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	assert_int_equal(parse(deep, &ev), RD_ERR_PROTO);
}

static void test_map(void **state)
{
	(void)state;
	struct ctl_mpv_osd osd = { .w = 800, .h = 600 };
	int x, y;
	assert_true(ctl_mpv_map(&osd, 800, 600, 100, 100, &x, &y));
	assert_int_equal(x, 100);
	assert_int_equal(y, 100);
	/* Half the size: window pixels are two remote pixels. */
	osd = (struct ctl_mpv_osd){ .w = 400, .h = 300 };
	assert_true(ctl_mpv_map(&osd, 800, 600, 300, 200, &x, &y));
	assert_int_equal(x, 600);
	assert_int_equal(y, 400);
	/* Letterbox bars: points in a bar clamp to the edge. */
	osd = (struct ctl_mpv_osd){ .w = 640, .h = 400, .mt = 20, .mb = 20 };
	assert_true(ctl_mpv_map(&osd, 1280, 720, 320, 20, &x, &y));
	assert_int_equal(x, 640);
	assert_int_equal(y, 0);
	assert_true(ctl_mpv_map(&osd, 1280, 720, 639, 399, &x, &y));
	assert_int_equal(x, 1278);
	assert_int_equal(y, 719);
	assert_true(ctl_mpv_map(&osd, 1280, 720, -50, 5000, &x, &y));
	assert_int_equal(x, 0);
	assert_int_equal(y, 719);
	/* Unknown size. */
	osd = (struct ctl_mpv_osd){ 0 };
	assert_false(ctl_mpv_map(&osd, 1280, 720, 1, 1, &x, &y));
	osd = (struct ctl_mpv_osd){ .w = 10, .h = 10, .ml = 5, .mr = 5 };
	assert_false(ctl_mpv_map(&osd, 1280, 720, 1, 1, &x, &y));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_message),
		cmocka_unit_test(test_osd),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

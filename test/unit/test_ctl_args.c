/* ctl args: global options before and after the verb, verb options, values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "config.h"
#include "ctl/args.h"
#include "ctl/ctl.h"
#include "err.h"

struct gs { char *server; bool json; double timeout; };
struct vs { char *output; char *codec; };

static const struct rd_setting gtab[] = {
	{ "server", 's', NULL, NULL, NULL, RD_CFG_STR, NULL, "H", "server", offsetof(struct gs, server), 0, 0, 0 },
	{ "json", 'j', NULL, NULL, NULL, RD_CFG_BOOL, "no", NULL, "json", offsetof(struct gs, json), 0, 0, 0 },
	{ "timeout", 't', NULL, NULL, NULL, RD_CFG_DOUBLE, "20", "S", "t", offsetof(struct gs, timeout), 0, 100, 0 },
};
static const struct rd_config gcfg = { .prog = "rdctl", .table = gtab, .n = 3, .stop_at_positional = true };
static const struct rd_setting vtab[] = {
	{ "output", 'o', NULL, NULL, NULL, RD_CFG_STR, NULL, "F", "out", offsetof(struct vs, output), 0, 0, 0 },
	{ "codec", 0, NULL, NULL, NULL, RD_CFG_STR, "auto", "C", "codec", offsetof(struct vs, codec), 0, 0, 0 },
};
static const struct ctl_verb verbs[] = {
	{ "screenshot", "ID", "s", NULL, vtab, 2, 1, 1, NULL },
};

static const struct ctl_verb *find(const char *n)
{
	return strcmp(n, "screenshot") == 0 ? &verbs[0] : NULL;
}

static void test_split(void **state)
{
	char *argv[] = { "rdctl", "-s", "h:1", "screenshot", "ID1", "-o", "x.png", "--json",
		"--codec=vp9", "--timeout", "3", NULL };
	struct ctl_args a;
	char err[200];
	(void)state;
	assert_int_equal(ctl_args_split(11, argv, &gcfg, find, &a, err, sizeof(err)), RD_OK);
	assert_ptr_equal(a.verb, &verbs[0]);
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "ID1");
	assert_int_equal(a.gargc, 6);
	assert_string_equal(a.gargv[1], "-s");
	assert_string_equal(a.gargv[2], "h:1");
	assert_string_equal(a.gargv[3], "--json");
	assert_string_equal(a.gargv[4], "--timeout");
	assert_string_equal(a.gargv[5], "3");
	assert_true(a.json_seen);
	assert_int_equal(a.vargc, 4);
	assert_string_equal(a.vargv[0], "screenshot");
	assert_string_equal(a.vargv[1], "-o");
	assert_string_equal(a.vargv[2], "x.png");
	assert_string_equal(a.vargv[3], "--codec=vp9");

	/* and the settings parsers take the pieces */
	struct gs g = { 0 };
	struct vs v = { 0 };
	int gi = 0, vi = 0;
	const struct rd_config vcfg = { .prog = "screenshot", .table = vtab, .n = 2, .stop_at_positional = true };
	assert_int_equal(rd_config_defaults(&gcfg, &g, err, sizeof(err)), RD_OK);
	assert_int_equal(rd_config_parse_flags(&gcfg, &g, a.gargc, a.gargv, &gi, err, sizeof(err)), RD_OK);
	assert_string_equal(g.server, "h:1");
	assert_true(g.json);
	assert_true(g.timeout > 2.9 && g.timeout < 3.1);
	assert_int_equal(rd_config_defaults(&vcfg, &v, err, sizeof(err)), RD_OK);
	assert_int_equal(rd_config_parse_flags(&vcfg, &v, a.vargc, a.vargv, &vi, err, sizeof(err)), RD_OK);
	assert_string_equal(v.output, "x.png");
	assert_string_equal(v.codec, "vp9");
	rd_config_free(&gcfg, &g);
	rd_config_free(&vcfg, &v);
	ctl_args_free(&a);
}

static void test_errors(void **state)
{
	struct ctl_args a;
	char err[200];
	char *bad_verb[] = { "rdctl", "fly", "ID", NULL };
	char *bad_opt[] = { "rdctl", "screenshot", "--nope", NULL };
	char *no_val[] = { "rdctl", "screenshot", "ID", "-o", NULL };
	char *dashdash[] = { "rdctl", "screenshot", "--", "-weird-id", NULL };
	(void)state;
	assert_int_equal(ctl_args_split(3, bad_verb, &gcfg, find, &a, err, sizeof(err)), RD_ERR_CONFIG);
	assert_non_null(strstr(err, "fly"));
	ctl_args_free(&a);
	assert_int_equal(ctl_args_split(3, bad_opt, &gcfg, find, &a, err, sizeof(err)), RD_ERR_CONFIG);
	assert_non_null(strstr(err, "--nope"));
	ctl_args_free(&a);
	assert_int_equal(ctl_args_split(4, no_val, &gcfg, find, &a, err, sizeof(err)), RD_ERR_CONFIG);
	ctl_args_free(&a);
	assert_int_equal(ctl_args_split(4, dashdash, &gcfg, find, &a, err, sizeof(err)), RD_OK);
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "-weird-id");
	ctl_args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

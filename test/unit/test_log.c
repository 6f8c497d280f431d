/* log: line format, level filtering, escaping, journald prefixes, rate limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RD_LOG_SUBSYS "tlog"
#include "err.h"
#include "log.h"

static FILE *cap;

static int setup(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	rd_log_init("test_log");
	rd_log_set_level(RD_LOG_INFO);
	cap = tmpfile();
	if (!cap)
		return -1;
	rd_log_set_stream(cap);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rd_log_set_stream(NULL);
	fclose(cap);
	unsetenv("JOURNAL_STREAM");
	rd_log_init("test_log");
	return 0;
}

/* Everything written so far, as a string (caller frees). */
static char *captured(void)
{
	long n;
	char *s;
	fflush(cap);
	n = ftell(cap);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	rewind(cap);
	assert_int_equal(fread(s, 1, (size_t)n, cap), (size_t)n);
	return s;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_matches(const char *s, const char *re)
{
	regex_t rx;
	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	int r = regexec(&rx, s, 0, NULL, 0);
	regfree(&rx);
	if (r != 0)
		fail_msg("'%s' does not match /%s/", s, re);
}

static void test_format(void **state)
{
	(void)state;
	log_notice("hello %d %s", 42, "world");
	char *s = captured();
	assert_matches(s, "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z "
		"NOTICE tlog: hello 42 world\n$");
	free(s);
}

static void test_levels_and_subsys(void **state)
{
	(void)state;
	log_err("e");
	log_warn("w");
	log_info("i");
	log_debug("d");
	rd_log(RD_LOG_INFO, NULL, "noprog");
	char *s = captured();
	assert_int_equal(count_lines(s), 4);
	assert_non_null(strstr(s, " ERROR tlog: e\n"));
	assert_non_null(strstr(s, " WARN tlog: w\n"));
	assert_non_null(strstr(s, " INFO tlog: i\n"));
	assert_null(strstr(s, "tlog: d\n"));
	assert_non_null(strstr(s, " INFO test_log: noprog\n"));
	free(s);

	rd_log_set_level(RD_LOG_WARN);
	assert_int_equal(rd_log_get_level(), RD_LOG_WARN);
	log_notice("hidden");
	log_info("hidden");
	log_warn("shown");
	rd_log_set_level(RD_LOG_DEBUG);
	log_debug("dbg %u", 7u);
	s = captured();
	assert_null(strstr(s, "hidden"));
	assert_non_null(strstr(s, " WARN tlog: shown\n"));
	assert_non_null(strstr(s, " DEBUG tlog: dbg 7\n"));
	assert_int_equal(count_lines(s), 6);
	free(s);
}

static void test_level_parse(void **state)
{
	(void)state;
	enum rd_log_level l;
	assert_int_equal(rd_log_level_parse("error", &l), RD_OK);
	assert_int_equal(l, RD_LOG_ERR);
	assert_int_equal(rd_log_level_parse("warn", &l), RD_OK);
	assert_int_equal(l, RD_LOG_WARN);
	assert_int_equal(rd_log_level_parse("notice", &l), RD_OK);
	assert_int_equal(l, RD_LOG_NOTICE);
	assert_int_equal(rd_log_level_parse("info", &l), RD_OK);
	assert_int_equal(l, RD_LOG_INFO);
	assert_int_equal(rd_log_level_parse("debug", &l), RD_OK);
	assert_int_equal(l, RD_LOG_DEBUG);
	assert_int_equal(rd_log_level_parse("verbose", &l), RD_ERR_INVAL);
	assert_int_equal(rd_log_level_parse("", &l), RD_ERR_INVAL);
	assert_int_equal(rd_log_level_parse(NULL, &l), RD_ERR_INVAL);
}

static void test_newlines_and_control_bytes(void **state)
{
	(void)state;
	log_info("a\nb\rc\x1b[31md\x7f");
	log_info("trailing\n");
	char *s = captured();
	assert_int_equal(count_lines(s), 2);
	assert_non_null(strstr(s, "tlog: a\\x0ab\\x0dc\\x1b[31md\\x7f\n"));
	assert_non_null(strstr(s, "tlog: trailing\n"));
	free(s);
}

static void test_long_line_is_one_line(void **state)
{
	(void)state;
	char *big = malloc(10000);
	assert_non_null(big);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	big[5000] = '\n';
	log_info("%s", big);
	char *s = captured();
	assert_int_equal(count_lines(s), 1);
	size_t n = strlen(s);
	assert_true(n < 2300);
	assert_string_equal(s + n - 4, "...\n");
	free(s);
	free(big);
}

static void test_escape(void **state)
{
	(void)state;
	char out[64];
	const unsigned char raw[] = { 'o', 'k', ' ', '"', '\\', 0, '\n', 0xff, '~' };
	assert_string_equal(rd_escape(out, sizeof(out), raw, sizeof(raw)),
		"ok\\x20\\x22\\x5c\\x00\\x0a\\xff~");
	/* A peer's string is one word: no space, no quote to close. */
	assert_string_equal(rd_esc("x from 10.9.8.7 port 1 \"y"),
		"\"x\\x20from\\x2010.9.8.7\\x20port\\x201\\x20\\x22y\"");
	assert_string_equal(rd_esc_text("Wrong Password\n"), "Wrong Password\\x0a");
	/* cut with "...", never in the middle of an escape */
	char small[12];
	assert_string_equal(rd_escape(small, sizeof(small), "abcdefghijklmnop", 16), "abcdefgh...");
	assert_string_equal(rd_escape(small, sizeof(small), "\x01\x02\x03", 3), "\\x01\\x02...");
	assert_string_equal(rd_escape(small, sizeof(small), "abcdefghijk", 11), "abcdefghijk");
	char tiny[3];
	assert_string_equal(rd_escape(tiny, sizeof(tiny), "abcdef", 6), "..");
	assert_string_equal(rd_escape(out, sizeof(out), "", 0), "");
}

static void test_esc_rotating(void **state)
{
	(void)state;
	const char *p[9];
	char in[16];
	for (int i = 0; i < 9; i++) {
		snprintf(in, sizeof(in), "v%d\n", i);
		p[i] = rd_esc(in);
	}
	/* 8 buffers rotate: the last 8 results are all still intact */
	for (int i = 1; i < 9; i++) {
		char want[16];
		snprintf(want, sizeof(want), "\"v%d\\x0a\"", i);
		assert_string_equal(p[i], want);
	}
	assert_string_equal(rd_esc(NULL), "(null)");
	char big[400];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *e = rd_esc(big);
	assert_int_equal(strlen(e), 159);
	assert_string_equal(e + 155, "...\"");
	log_info("peer said %s", rd_esc("evil\nline"));
	char *s = captured();
	assert_non_null(strstr(s, "peer said \"evil\\x0aline\"\n"));
	free(s);
}

static void test_journald_prefix(void **state)
{
	(void)state;
	struct stat st;
	char env[64];
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	rd_log_init("test_log");
	log_err("boom");
	log_info("fine");
	rd_log(RD_LOG_NOTICE, NULL, "x");
	char *s = captured();
	assert_string_equal(s, "<3>tlog: boom\n<6>tlog: fine\n<5>test_log: x\n");
	free(s);

	/* A JOURNAL_STREAM for another file (stderr redirected): plain format */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	rd_log_init("test_log");
	log_err("again");
	s = captured();
	assert_matches(s, "\n ?20[0-9-]+T[0-9:.]+Z ERROR tlog: again\n$");
	free(s);
	setenv("JOURNAL_STREAM", "garbage", 1);
	rd_log_init("test_log");
	log_err("g");
	s = captured();
	assert_matches(s, "Z ERROR tlog: g\n$");
	free(s);
}

static void test_ratelimit(void **state)
{
	(void)state;
	struct rd_log_ratelimit rl = { 0 };
	unsigned sup = 99;
	double t = 0.0;
	int ok = 0;

	for (int i = 0; i < 10; i++)
		ok += rd_log_ratelimit_ok(&rl, t + i * 0.01, 3, 1.0, &sup);
	assert_int_equal(ok, 3);
	/* next window: allowed, and told how many were dropped */
	assert_true(rd_log_ratelimit_ok(&rl, 1.5, 3, 1.0, &sup));
	assert_int_equal(sup, 7);
	assert_true(rd_log_ratelimit_ok(&rl, 1.6, 3, 1.0, &sup));
	assert_int_equal(sup, 0);
	assert_true(rd_log_ratelimit_ok(&rl, 1.7, 3, 1.0, &sup));
	assert_false(rd_log_ratelimit_ok(&rl, 1.8, 3, 1.0, &sup));
	assert_true(rd_log_ratelimit_ok(&rl, 3.0, 3, 1.0, &sup));
	assert_int_equal(sup, 1);
	assert_true(rd_log_ratelimit_ok(&rl, 3.1, 3, 1.0, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_levels_and_subsys, setup, teardown),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test_setup_teardown(test_newlines_and_control_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_is_one_line, setup, teardown),
		cmocka_unit_test(test_escape),
		cmocka_unit_test_setup_teardown(test_esc_rotating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journald_prefix, setup, teardown),
		cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

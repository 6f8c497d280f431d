/* err: every enum value has its own text; anything else is "unknown error". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"

static void test_every_value_has_text(void **state)
{
	(void)state;
	for (int e = 0; e > -RD_ERR_COUNT; e--) {
		const char *s = rd_strerror(e);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown error");
		assert_true(strlen(s) > 0);
		/* distinct texts */
		for (int f = e + 1; f <= 0; f++)
			assert_string_not_equal(s, rd_strerror(f));
	}
}

static void test_known_texts(void **state)
{
	(void)state;
	assert_string_equal(rd_strerror(RD_OK), "success");
	assert_string_equal(rd_strerror(RD_ERR_NOMEM), "out of memory");
	assert_string_equal(rd_strerror(RD_ERR_TIMEOUT), "timed out");
	assert_string_equal(rd_strerror(RD_ERR_REFUSED), "refused by peer");
}

static void test_unknown(void **state)
{
	(void)state;
	assert_string_equal(rd_strerror(-RD_ERR_COUNT), "unknown error");
	assert_string_equal(rd_strerror(-1000), "unknown error");
	assert_string_equal(rd_strerror(1), "unknown error");
	assert_string_equal(rd_strerror(INT32_MIN), "unknown error");
	assert_string_equal(rd_strerror(INT32_MAX), "unknown error");
}

/* The reason a backend gave, or the error's own text. */
static void test_skip_reason(void **state)
{
	(void)state;
	char long_reason[400];
	rd_skip_reason_clear();
	assert_string_equal(rd_skip_reason_or(RD_ERR_PERM), "permission denied");
	rd_skip_reason("%s: no active output", "/dev/dri/card0");
	assert_string_equal(rd_skip_reason_or(RD_ERR_PERM), "/dev/dri/card0: no active output");
	rd_skip_reason_clear();
	assert_string_equal(rd_skip_reason_or(RD_ERR_NOTFOUND), "not found");
	/* A long reason is cut, never overflows. */
	memset(long_reason, 'x', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	rd_skip_reason("%s", long_reason);
	assert_true(strlen(rd_skip_reason_or(RD_OK)) > 100);
	assert_true(strlen(rd_skip_reason_or(RD_OK)) < sizeof(long_reason) - 1);
	rd_skip_reason_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_value_has_text),
		cmocka_unit_test(test_known_texts),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_skip_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

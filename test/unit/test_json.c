/* json: nesting and commas, escaping of every byte, numbers, no truncation,
 * and the buffer's cap reported as an error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"

static char *text(struct rd_buf *b)
{
	rd_buf_put(b, "", 1);
	return (char *)rd_buf_ptr(b);
}

static void test_nesting_and_commas(void **state)
{
	(void)state;
	struct rd_buf b;
	struct rd_json j;
	rd_buf_init(&b, 0);
	rd_json_init(&j, &b);
	rd_json_obj(&j, NULL);
	rd_json_str(&j, "id", "123456789");
	rd_json_bool(&j, "registered", true);
	rd_json_arr(&j, "sessions");
	rd_json_obj(&j, NULL);
	rd_json_uint(&j, "rtt_ms", 12);
	rd_json_end(&j, '}');
	rd_json_obj(&j, NULL);
	rd_json_int(&j, "fps", -3);
	rd_json_str(&j, "peer", NULL);
	rd_json_end(&j, '}');
	rd_json_end(&j, ']');
	rd_json_arr(&j, "empty");
	rd_json_end(&j, ']');
	rd_json_num(&j, "uptime", 12.345, 1);
	rd_json_end(&j, '}');
	assert_int_equal(rd_json_error(&j), RD_OK);
	assert_string_equal(text(&b), "{\"id\":\"123456789\",\"registered\":true,\"sessions\":"
		"[{\"rtt_ms\":12},{\"fps\":-3,\"peer\":null}],\"empty\":[],\"uptime\":12.3}");
	rd_buf_free(&b);
}

static void test_escapes_every_byte(void **state)
{
	(void)state;
	struct rd_buf b;
	struct rd_json j;
	char all[256];
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = 0;
	rd_buf_init(&b, 0);
	rd_json_init(&j, &b);
	rd_json_str(&j, NULL, all);
	const char *t = text(&b);
	/* Outside the quotes at both ends: no raw control byte, quote or lone backslash. */
	size_t n = strlen(t);
	assert_true(n > 2 && t[0] == '"' && t[n - 1] == '"');
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)t[i];
		assert_true(c >= 0x20 && c != 0x7f);
		assert_true(c != '"' || t[i - 1] == '\\');
		if (c == '\\') {
			assert_non_null(strchr("\"\\u", t[i + 1]));
			i++;
		}
	}
	assert_non_null(strstr(t, "\\u0001"));
	assert_non_null(strstr(t, "\\u001f"));
	assert_non_null(strstr(t, "\\u007f"));
	assert_non_null(strstr(t, "\\u000a"));
	assert_non_null(strstr(t, "\\\""));
	assert_non_null(strstr(t, "\\\\"));
	assert_non_null(memchr(t, 0xff, n)); /* bytes >= 0x80 pass as they are */
	rd_buf_free(&b);
}

static void test_long_strings_whole(void **state)
{
	(void)state;
	struct rd_buf b;
	struct rd_json j;
	size_t len = 100000;
	char *big = malloc(len + 1);
	memset(big, 'a', len);
	big[len] = 0;
	big[len / 2] = '"';
	rd_buf_init(&b, 0);
	rd_json_init(&j, &b);
	rd_json_obj(&j, NULL);
	rd_json_str(&j, "k\"ey", big);
	rd_json_end(&j, '}');
	assert_int_equal(rd_json_error(&j), RD_OK);
	const char *t = text(&b);
	assert_int_equal(strlen(t), len + 1 + 2 + 2 + 7 + 1);
	assert_memory_equal(t, "{\"k\\\"ey\":\"aaa", 13);
	free(big);
	rd_buf_free(&b);
}

static void test_numbers(void **state)
{
	(void)state;
	struct rd_buf b;
	struct rd_json j;
	rd_buf_init(&b, 0);
	rd_json_init(&j, &b);
	rd_json_arr(&j, NULL);
	rd_json_num(&j, NULL, NAN, 2);
	rd_json_num(&j, NULL, INFINITY, 2);
	rd_json_num(&j, NULL, 1.5, 2);
	rd_json_num(&j, NULL, 1e300, 3);
	rd_json_uint(&j, NULL, 18446744073709551615ULL);
	rd_json_int(&j, NULL, -9223372036854775807LL - 1);
	rd_json_end(&j, ']');
	const char *t = text(&b);
	assert_memory_equal(t, "[null,null,1.50,1", 17);
	assert_non_null(strstr(t, ".000,18446744073709551615,-9223372036854775808]"));
	rd_buf_free(&b);
}

static void test_cap_and_nesting_errors(void **state)
{
	(void)state;
	struct rd_buf b;
	struct rd_json j;
	rd_buf_init(&b, 16);
	rd_json_init(&j, &b);
	rd_json_str(&j, NULL, "longer than sixteen bytes");
	assert_int_equal(rd_json_error(&j), RD_ERR_TOOBIG);
	rd_buf_free(&b);

	rd_buf_init(&b, 0);
	rd_json_init(&j, &b);
	rd_json_end(&j, '}');
	assert_int_equal(rd_json_error(&j), RD_ERR_INVAL);
	rd_buf_free(&b);

	rd_buf_init(&b, 0);
	rd_json_init(&j, &b);
	for (int i = 0; i < RD_JSON_MAX_DEPTH + 1; i++)
		rd_json_arr(&j, NULL);
	assert_int_equal(rd_json_error(&j), RD_ERR_TOOBIG);
	rd_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_escapes_every_byte),
		cmocka_unit_test(test_long_strings_whole),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_cap_and_nesting_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

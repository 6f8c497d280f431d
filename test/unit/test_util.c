/* util: allocation, clocks, strlcpy, UUIDs, atomic file writes, mkdir -p. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "testutil.h"

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	return tu_tmpdir_make(tmpdir, sizeof(tmpdir), "util") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tu_tmpdir_remove(tmpdir);
}

static void test_xalloc(void **state)
{
	(void)state;
	char *p = xmalloc(10);
	memset(p, 'a', 10);
	p = xrealloc(p, 100);
	assert_int_equal(p[9], 'a');
	free(p);
	int *z = xcalloc(16, sizeof(int));
	for (int i = 0; i < 16; i++)
		assert_int_equal(z[i], 0);
	free(z);
	char *s = xstrdup("hello");
	assert_string_equal(s, "hello");
	free(s);
	free(xmalloc(0));
}

static void test_clocks(void **state)
{
	(void)state;
	double a = rd_now();
	usleep(20000);
	double b = rd_now();
	assert_true(b - a >= 0.019);
	assert_true(b - a < 5.0);
	int64_t ms = rd_wall_ms();
	assert_true(ms > 1600000000000LL); /* after 2020 */
}

static void test_strlcpy(void **state)
{
	(void)state;
	char d[6];
	assert_int_equal(rd_strlcpy(d, "abc", sizeof(d)), 3);
	assert_string_equal(d, "abc");
	assert_int_equal(rd_strlcpy(d, "abcdefgh", sizeof(d)), 8);
	assert_string_equal(d, "abcde");
	assert_int_equal(rd_strlcpy(d, "abcde", sizeof(d)), 5);
	assert_string_equal(d, "abcde");
	d[0] = 'x';
	assert_int_equal(rd_strlcpy(d, "q", 0), 1);
	assert_int_equal(d[0], 'x');
	assert_int_equal(rd_strlcpy(d, "qq", 1), 2);
	assert_string_equal(d, "");
}

static void test_uuid(void **state)
{
	(void)state;
	char a[37], b[37];
	rd_uuid_v4(a);
	rd_uuid_v4(b);
	assert_int_equal(strlen(a), 36);
	assert_string_not_equal(a, b);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", a[i]));
	}
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_write_atomic(void **state)
{
	(void)state;
	char path[300], *data;
	size_t len;
	struct stat st;

	snprintf(path, sizeof(path), "%s/f", tmpdir);
	assert_int_equal(rd_write_file_atomic(path, "first", 5, 0600), RD_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(rd_read_file(path, 100, &data, &len), RD_OK);
	assert_int_equal(len, 5);
	assert_string_equal(data, "first");
	free(data);

	/* replace: content and mode both change, no temp file left behind */
	assert_int_equal(rd_write_file_atomic(path, "second\n", 7, 0644), RD_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(rd_read_file(path, 100, &data, &len), RD_OK);
	assert_int_equal(len, 7);
	assert_string_equal(data, "second\n");
	free(data);
	assert_int_equal(count_entries(tmpdir), 1);

	/* empty file */
	assert_int_equal(rd_write_file_atomic(path, "", 0, 0600), RD_OK);
	assert_int_equal(rd_read_file(path, 100, &data, &len), RD_OK);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);

	/* missing directory */
	snprintf(path, sizeof(path), "%s/no/such/f", tmpdir);
	assert_int_equal(rd_write_file_atomic(path, "x", 1, 0600), RD_ERR_NOTFOUND);
	assert_int_equal(count_entries(tmpdir), 1);
}

static void test_read_file(void **state)
{
	(void)state;
	char path[300], *data;
	size_t len, big = 100000;
	char *blob = malloc(big);

	assert_non_null(blob);
	for (size_t i = 0; i < big; i++)
		blob[i] = (char)('a' + i % 26);
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	assert_int_equal(rd_write_file_atomic(path, blob, big, 0600), RD_OK);
	assert_int_equal(rd_read_file(path, big, &data, &len), RD_OK);
	assert_int_equal(len, big);
	assert_memory_equal(data, blob, big);
	assert_int_equal(data[big], '\0');
	free(data);
	data = (char *)1;
	assert_int_equal(rd_read_file(path, big - 1, &data, &len), RD_ERR_TOOBIG);
	assert_null(data);
	assert_int_equal(rd_read_file(path, 10, &data, &len), RD_ERR_TOOBIG);
	/* no limit at all */
	assert_int_equal(rd_read_file(path, SIZE_MAX, &data, &len), RD_OK);
	assert_int_equal(len, big);
	free(data);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(rd_read_file(path, 10, &data, &len), RD_ERR_NOTFOUND);
	free(blob);
}

static void test_mkdir_p(void **state)
{
	(void)state;
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/a/b//c/", tmpdir);
	assert_int_equal(rd_mkdir_p(path, 0700), RD_OK);
	snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* again: existing is fine */
	assert_int_equal(rd_mkdir_p(path, 0700), RD_OK);
	/* a file in the way */
	snprintf(path, sizeof(path), "%s/file", tmpdir);
	assert_int_equal(rd_write_file_atomic(path, "x", 1, 0600), RD_OK);
	snprintf(path, sizeof(path), "%s/file/sub", tmpdir);
	assert_int_not_equal(rd_mkdir_p(path, 0700), RD_OK);
	assert_int_equal(rd_mkdir_p("", 0700), RD_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xalloc),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
	};
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

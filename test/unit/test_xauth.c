/* xauth: the Xauthority parser of rd-agent-helper, on files the xauth
 * command wrote and on hand-made hostile ones (truncated, huge lengths,
 * other families, hosts and display numbers), and the file checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/helper/xauth.h"
#include "err.h"
#include "testutil.h"

static char tmpdir[256];
static const uint8_t cookie_a[16] = "0123456789abcdef";
static const uint8_t cookie_b[16] = "ABCDEFGHIJKLMNOP";

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/rd-test-xauth.XXXXXX",
		getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t field(uint8_t *p, const void *b, size_t n)
{
	size_t o = put16(p, n);
	memcpy(p + o, b, n);
	return o + n;
}

/* One Xauthority entry at p; returns its length. */
static size_t entry(uint8_t *p, unsigned family, const char *addr, const char *num,
	const char *name, const uint8_t *data, size_t dlen)
{
	size_t o = put16(p, family);
	o += field(p + o, addr, strlen(addr));
	o += field(p + o, num, strlen(num));
	o += field(p + o, name, strlen(name));
	return o + field(p + o, data, dlen);
}

#define MIT "MIT-MAGIC-COOKIE-1"

static int find(const uint8_t *b, size_t len, unsigned display, uint8_t out[16])
{
	return xauth_find_cookie(b, len, "testhost", display, out);
}

static void test_matching(void **state)
{
	(void)state;
	uint8_t b[1024], c[16];
	size_t n = entry(b, XAUTH_FAMILY_LOCAL, "testhost", "57", MIT, cookie_a, 16);
	assert_int_equal(find(b, n, 57, c), RD_OK);
	assert_memory_equal(c, cookie_a, 16);
	assert_int_equal(find(b, n, 58, c), RD_ERR_NOTFOUND);
	assert_int_equal(find(b, n, 5, c), RD_ERR_NOTFOUND);
	assert_int_equal(find(b, 0, 57, c), RD_ERR_NOTFOUND);
	/* Another host, FamilyInternet (not for local sockets), "057", other
	 * auth names and cookie sizes: none of them. */
	n = entry(b, XAUTH_FAMILY_LOCAL, "otherhost", "57", MIT, cookie_b, 16);
	n += entry(b + n, 0, "\x7f\0\0\1", "57", MIT, cookie_b, 16);
	n += entry(b + n, 6, "testhost", "57", MIT, cookie_b, 16);
	n += entry(b + n, XAUTH_FAMILY_LOCAL, "testhost", "057", MIT, cookie_b, 16);
	n += entry(b + n, XAUTH_FAMILY_LOCAL, "testhos", "57", MIT, cookie_b, 16);
	n += entry(b + n, XAUTH_FAMILY_LOCAL, "testhost", "57", "XDM-AUTHORIZATION-1", cookie_b, 16);
	n += entry(b + n, XAUTH_FAMILY_LOCAL, "testhost", "57", MIT, cookie_b, 15);
	n += entry(b + n, XAUTH_FAMILY_LOCAL, "testhost", "57", MIT "X", cookie_b, 16);
	assert_int_equal(find(b, n, 57, c), RD_ERR_NOTFOUND);
	/* Then a good one: the first match wins. */
	size_t m = n + entry(b + n, XAUTH_FAMILY_LOCAL, "testhost", "57", MIT, cookie_a, 16);
	m += entry(b + m, XAUTH_FAMILY_LOCAL, "testhost", "57", MIT, cookie_b, 16);
	assert_int_equal(find(b, m, 57, c), RD_OK);
	assert_memory_equal(c, cookie_a, 16);
	/* Wild matches any address; an empty number any display (as libXau). */
	n = entry(b, XAUTH_FAMILY_WILD, "", "9999", MIT, cookie_b, 16);
	assert_int_equal(find(b, n, 9999, c), RD_OK);
	assert_memory_equal(c, cookie_b, 16);
	assert_int_equal(find(b, n, 999, c), RD_ERR_NOTFOUND);
	n = entry(b, XAUTH_FAMILY_LOCAL, "testhost", "", MIT, cookie_b, 16);
	assert_int_equal(find(b, n, 0, c), RD_OK);
	assert_int_equal(find(b, n, 4242, c), RD_OK);
}

static void test_hostile(void **state)
{
	(void)state;
	uint8_t b[1024], c[16];
	/* Every truncation of [no match][match]: never a cookie, never a read
	 * past the end (ASan runs catch that). */
	size_t first = entry(b, XAUTH_FAMILY_LOCAL, "testhost", "58", MIT, cookie_b, 16);
	size_t n = first + entry(b + first, XAUTH_FAMILY_LOCAL, "testhost", "57", MIT, cookie_a, 16);
	for (size_t len = 0; len < n; len++) {
		uint8_t *cut = malloc(len ? len : 1);
		memcpy(cut, b, len);
		int rc = find(cut, len, 57, c);
		assert_int_equal(rc, len == 0 || len == first ? RD_ERR_NOTFOUND : RD_ERR_PROTO);
		free(cut);
	}
	assert_int_equal(find(b, n, 57, c), RD_OK);
	/* Huge lengths with nothing behind them. */
	static const uint8_t huge[][12] = {
		{ 0x01, 0x00, 0xff, 0xff, 't' },
		{ 0x01, 0x00, 0x00, 0x00, 0xff, 0xff },
		{ 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff },
		{ 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff },
		{ 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10 },
	};
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
		assert_int_equal(find(huge[i], sizeof(huge[i]), 0, c), RD_ERR_PROTO);
	/* A match after garbage is never reached: the garbage ends the file. */
	memset(b, 0xff, 40);
	n = 40 + entry(b + 40, XAUTH_FAMILY_WILD, "", "57", MIT, cookie_a, 16);
	assert_int_not_equal(find(b, n, 57, c), RD_OK);
}

static void write_file(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

static void test_files(void **state)
{
	(void)state;
	char path[512], link[512];
	uint8_t b[256], c[16];
	size_t n = entry(b, XAUTH_FAMILY_LOCAL, "testhost", "57", MIT, cookie_a, 16);
	snprintf(path, sizeof(path), "%s/Xauthority", tmpdir);
	write_file(path, b, n);
	assert_int_equal(xauth_file_cookie(path, "testhost", 57, c), RD_OK);
	assert_memory_equal(c, cookie_a, 16);
	/* Not through a symlink, not a folder, not a FIFO (which would block). */
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(xauth_file_cookie(link, "testhost", 57, c), RD_ERR_PERM);
	assert_int_equal(xauth_file_cookie(tmpdir, "testhost", 57, c), RD_ERR_PERM);
	snprintf(link, sizeof(link), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(link, 0600), 0);
	assert_int_equal(xauth_file_cookie(link, "testhost", 57, c), RD_ERR_PERM);
	snprintf(link, sizeof(link), "%s/missing", tmpdir);
	errno = 0;
	assert_int_equal(xauth_file_cookie(link, "testhost", 57, c), RD_ERR_NOTFOUND);
	assert_int_equal(errno, ENOENT);
	/* At most 64 KiB, even when the match is at the start. */
	uint8_t *big = calloc(1, XAUTH_FILE_MAX + 1);
	memcpy(big, b, n);
	write_file(path, big, XAUTH_FILE_MAX);
	assert_int_equal(xauth_file_cookie(path, "testhost", 57, c), RD_OK);
	write_file(path, big, XAUTH_FILE_MAX + 1);
	assert_int_equal(xauth_file_cookie(path, "testhost", 57, c), RD_ERR_TOOBIG);
	free(big);
}

/* Run xauth(1) with arguments; 0 when it ran and succeeded. */
static int xauth_cmd(const char *file, const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "xauth -q -f '%s' %s >/dev/null 2>&1", file, args);
	return system(cmd);
}

static void test_xauth_command(void **state)
{
	(void)state;
	char path[512], host[HOST_NAME_MAX + 1], hex[33];
	uint8_t c[16];
	if (system("command -v xauth >/dev/null 2>&1") != 0) {
		print_message("# xauth is not installed (make deps): skipped\n");
		skip();
	}
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(path, sizeof(path), "%s/xauth-made", tmpdir);
	/* A TCP display and another host's with the same number, another number. */
	assert_int_equal(xauth_cmd(path, "add 192.0.2.1:57 MIT-MAGIC-COOKIE-1 "
		"ffeeddccbbaa99887766554433221100"), 0);
	assert_int_equal(xauth_cmd(path, "add otherhost/unix:57 MIT-MAGIC-COOKIE-1 "
		"ffeeddccbbaa99887766554433221100"), 0);
	assert_int_equal(xauth_cmd(path, "add :58 MIT-MAGIC-COOKIE-1 "
		"0f0e0d0c0b0a09080706050403020100"), 0);
	assert_int_equal(xauth_file_cookie(path, host, 57, c), RD_ERR_NOTFOUND);
	assert_int_equal(xauth_cmd(path, "add :57 MIT-MAGIC-COOKIE-1 "
		"00112233445566778899aabbccddeeff"), 0);
	assert_int_equal(xauth_file_cookie(path, host, 57, c), RD_OK);
	hex_of(c, 16, hex);
	assert_string_equal(hex, "00112233445566778899aabbccddeeff");
	assert_int_equal(xauth_file_cookie(path, host, 58, c), RD_OK);
	hex_of(c, 16, hex);
	assert_string_equal(hex, "0f0e0d0c0b0a09080706050403020100");
	assert_int_equal(xauth_file_cookie(path, host, 59, c), RD_ERR_NOTFOUND);
	assert_int_equal(xauth_file_cookie(path, "not-this-host", 57, c), RD_ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xauth_command, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

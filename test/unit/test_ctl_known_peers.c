/* ctl known_peers: parsing, pinning on first use, mismatch detection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "ctl/known_peers.h"
#include "err.h"
#include "util.h"
#include "testutil.h"

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	return tu_tmpdir_make(tmpdir, sizeof(tmpdir), "kp") == 0 && rd_crypto_init() == RD_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tu_tmpdir_remove(tmpdir);
}

static void key(uint8_t pk[32], uint8_t fill)
{
	memset(pk, fill, 32);
}

static void test_find(void **state)
{
	uint8_t a[32], b[32], out[32];
	char ta[RD_B64_PK_LEN + 1], tb[RD_B64_PK_LEN + 1], text[512];
	unsigned bad;
	(void)state;
	key(a, 1);
	key(b, 2);
	rd_pk_to_b64(a, ta);
	rd_pk_to_b64(b, tb);
	snprintf(text, sizeof(text), "# pinned keys\n\npeer1 %s\n  peer2\t%s  trailing words\r\n"
		"peer3 notbase64\npeer1x %s\n", ta, tb, tb);
	assert_int_equal(known_peers_find(text, strlen(text), "peer1", out, &bad), RD_OK);
	assert_memory_equal(out, a, 32);
	assert_int_equal(bad, 1);
	assert_int_equal(known_peers_find(text, strlen(text), "peer2", out, NULL), RD_OK);
	assert_memory_equal(out, b, 32);
	assert_int_equal(known_peers_find(text, strlen(text), "peer3", out, NULL), RD_ERR_NOTFOUND);
	assert_int_equal(known_peers_find(text, strlen(text), "peer", out, NULL), RD_ERR_NOTFOUND);
	/* the last line for an id wins; no final newline */
	snprintf(text, sizeof(text), "p %s\np %s", ta, tb);
	assert_int_equal(known_peers_find(text, strlen(text), "p", out, NULL), RD_OK);
	assert_memory_equal(out, b, 32);
	assert_int_equal(known_peers_find("", 0, "p", out, NULL), RD_ERR_NOTFOUND);
}

static void test_pin_and_mismatch(void **state)
{
	char path[400];
	uint8_t a[32], b[32], pinned[32];
	struct stat st;
	(void)state;
	key(a, 7);
	key(b, 9);
	snprintf(path, sizeof(path), "%s/sub/dir/known_peers", tmpdir);
	assert_int_equal(known_peers_check(path, "agent1", a, pinned), RD_ERR_NOTFOUND);
	assert_int_equal(known_peers_add(path, "agent1", a), RD_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(known_peers_check(path, "agent1", a, pinned), RD_OK);
	assert_int_equal(known_peers_check(path, "agent1", b, pinned), RD_ERR_MISMATCH);
	assert_memory_equal(pinned, a, 32);
	assert_int_equal(known_peers_check(path, "agent2", b, pinned), RD_ERR_NOTFOUND);
	assert_int_equal(known_peers_add(path, "agent2", b), RD_OK);
	assert_int_equal(known_peers_check(path, "agent2", b, pinned), RD_OK);
	assert_int_equal(known_peers_check(path, "agent1", a, pinned), RD_OK);
	/* IDs that would break the file are refused */
	assert_int_equal(known_peers_add(path, "bad id", a), RD_ERR_INVAL);
	assert_int_equal(known_peers_add(path, "bad\nid", a), RD_ERR_INVAL);
}

static void test_expand(void **state)
{
	char out[256];
	(void)state;
	setenv("HOME", "/home/someone", 1);
	assert_int_equal(ctl_path_expand("~/.config/x", out, sizeof(out)), RD_OK);
	assert_string_equal(out, "/home/someone/.config/x");
	assert_int_equal(ctl_path_expand("/etc/x", out, sizeof(out)), RD_OK);
	assert_string_equal(out, "/etc/x");
	assert_int_equal(ctl_path_expand("~/x", out, 8), RD_ERR_TOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_pin_and_mismatch),
		cmocka_unit_test(test_expand),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

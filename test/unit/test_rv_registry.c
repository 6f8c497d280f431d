/* rendezvous registry (in-memory table) and the SQLite store behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "util.h"
#include "rendezvous-server/registry.h"
#include "rendezvous-server/store.h"

static void test_id_check(void **state)
{
	(void)state;
	assert_int_equal(rv_id_check("abc12"), RD_ERR_TRUNCATED);
	assert_int_equal(rv_id_check(""), RD_ERR_TRUNCATED);
	assert_int_equal(rv_id_check("123456789"), RD_OK);
	assert_int_equal(rv_id_check("Ab_c-12"), RD_OK);
	assert_int_equal(rv_id_check("abc 123"), RD_ERR_INVAL);
	assert_int_equal(rv_id_check("abc\xc3\xa9" "12"), RD_ERR_INVAL);
	char longid[RV_ID_MAX + 2];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[RV_ID_MAX + 1] = 0;
	assert_int_equal(rv_id_check(longid), RD_ERR_INVAL);
	longid[RV_ID_MAX] = 0;
	assert_int_equal(rv_id_check(longid), RD_OK);
}

static void test_table(void **state)
{
	(void)state;
	struct rv_registry *r = rv_registry_new();
	uint8_t dig[RV_UUID_DIGEST], pk[RV_PK_LEN] = { 9 };
	rv_registry_uuid_digest((const uint8_t *)"u", 1, dig);
	char id[32];
	for (int i = 0; i < 20000; i++) { /* grows the table several times */
		snprintf(id, sizeof(id), "peer%06d", i);
		assert_non_null(rv_registry_add(r, id, dig, pk, i));
	}
	assert_null(rv_registry_add(r, "peer000042", dig, pk, 0)); /* exists */
	assert_int_equal(rv_registry_count(r), 20000);
	for (int i = 0; i < 20000; i += 997) {
		snprintf(id, sizeof(id), "peer%06d", i);
		struct rv_peer *p = rv_registry_find(r, id);
		assert_non_null(p);
		assert_string_equal(p->id, id);
		assert_int_equal(p->created, i);
	}
	assert_null(rv_registry_find(r, "peer999999"));
	assert_int_equal(rv_registry_count_online(r, 0, 30), 0);

	struct rv_peer *p = rv_registry_find(r, "peer000001");
	struct rd_sockaddr a, b, got;
	assert_int_equal(rd_net_addr_parse_numeric("192.0.2.7:4000", 0, &a), RD_OK);
	assert_false(rv_peer_get_addr(p, &got));
	rv_peer_set_addr(p, &a);
	p->last_reg = 100;
	assert_true(rv_peer_get_addr(p, &got));
	assert_true(rd_net_addr_equal(&got, &a));
	assert_true(rv_peer_online(p, 129.9, 30));
	assert_false(rv_peer_online(p, 130.1, 30));
	assert_int_equal(rv_registry_count_online(r, 110, 30), 1);
	/* a v4-mapped address is the same IPv4 peer */
	assert_int_equal(rd_net_addr_parse_numeric("[::ffff:192.0.2.7]:5000", 0, &b), RD_OK);
	assert_true(rv_peer_same_ip(p, &b));
	assert_int_equal(rd_net_addr_parse_numeric("[2001:db8::1]:21116", 0, &b), RD_OK);
	assert_false(rv_peer_same_ip(p, &b));
	rv_peer_set_addr(p, &b);
	assert_true(rv_peer_get_addr(p, &got));
	assert_true(rd_net_addr_equal(&got, &b));
	rv_registry_free(r);
}

struct loaded {
	int n;
	int64_t created_alpha;
	uint8_t pk_alpha0;
};

static int load_cb(void *ud, const struct rv_binding *b)
{
	struct loaded *l = ud;
	l->n++;
	if (!strcmp(b->id, "alpha01")) {
		l->created_alpha = b->created;
		l->pk_alpha0 = b->pk[0];
		assert_int_equal(b->uuid_len, 6);
		assert_memory_equal(b->uuid, "uuid-a", 6);
	}
	return RD_OK;
}

static void test_store(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_rv_store.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct rv_store *st;
	assert_int_equal(rv_store_open(dir, &st), RD_OK);
	uint8_t pk[32] = { 1 };
	struct rv_binding b = { .id = "alpha01", .uuid = (const uint8_t *)"uuid-a", .uuid_len = 6,
		.pk = pk, .pk_len = 32, .created = 1000 };
	assert_int_equal(rv_store_put(st, &b), RD_OK);
	assert_int_equal(rv_store_pending(st), 1);
	b.id = "bravo01";
	assert_int_equal(rv_store_put(st, &b), RD_OK);
	assert_int_equal(rv_store_flush(st), RD_OK);
	assert_int_equal(rv_store_pending(st), 0);
	/* replacing keeps the creation time, takes the new key */
	pk[0] = 2;
	b.id = "alpha01";
	b.created = 5000;
	assert_int_equal(rv_store_put(st, &b), RD_OK);
	rv_store_close(st); /* close commits */

	assert_int_equal(rv_store_open(dir, &st), RD_OK);
	struct loaded l = { 0 };
	assert_int_equal(rv_store_load(st, load_cb, &l), RD_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.created_alpha, 1000);
	assert_int_equal(l.pk_alpha0, 2);
	size_t count = 0;
	assert_int_equal(rv_store_check(st, &count), RD_OK);
	assert_int_equal(count, 2);
	/* many puts in one round commit in batches */
	char id[32];
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "bulk%06d", i);
		b.id = id;
		assert_int_equal(rv_store_put(st, &b), RD_OK);
	}
	assert_true(rv_store_pending(st) < 10000);
	assert_int_equal(rv_store_flush(st), RD_OK);
	assert_int_equal(rv_store_check(st, &count), RD_OK);
	assert_int_equal(count, 10002);
	rv_store_close(st);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	/* a folder that cannot hold the file */
	assert_int_equal(rv_store_open("/nonexistent/dir", &st), RD_ERR_DB);
}

struct pins {
	int n;
	bool pinned[4];
	uint64_t sig_time[4];
};

static int pins_cb(void *ud, const struct rv_binding *b)
{
	struct pins *p = ud;
	int i = b->id[4] - '0';
	assert_true(i >= 0 && i < 4);
	p->pinned[i] = b->pinned;
	p->sig_time[i] = b->sig_time;
	p->n++;
	return RD_OK;
}

static void sql(const char *path, const char *text)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A database of the first schema (no pin) is migrated in place; pins and
 * signature times round-trip; forget deletes one binding. */
static void test_store_pins(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_rv_pins.XXXXXX", path[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rendezvous.db", dir);
	sql(path, "CREATE TABLE peer (id TEXT PRIMARY KEY NOT NULL, uuid BLOB NOT NULL, pk BLOB NOT NULL,"
		" created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;"
		"INSERT INTO peer VALUES ('peer0', x'01', zeroblob(32), 1, 1);"
		"INSERT INTO peer VALUES ('peer1', x'01', zeroblob(32), 1, 1);");
	struct rv_store *st;
	assert_int_equal(rv_store_open(dir, &st), RD_OK);
	struct pins p = { 0 };
	assert_int_equal(rv_store_load(st, pins_cb, &p), RD_OK);
	assert_int_equal(p.n, 2);
	assert_false(p.pinned[0] || p.pinned[1]);
	uint8_t pk[32] = { 3 };
	struct rv_binding b = { .id = "peer1", .uuid = (const uint8_t *)"u", .uuid_len = 1,
		.pk = pk, .pk_len = 32, .created = 2, .pinned = true, .sig_time = 1700000000123ULL };
	assert_int_equal(rv_store_put(st, &b), RD_OK);
	b.id = "peer2";
	b.sig_time = UINT64_C(1) << 62;
	assert_int_equal(rv_store_put(st, &b), RD_OK);
	assert_int_equal(rv_store_forget(st, "peer0"), RD_OK);
	assert_int_equal(rv_store_forget(st, "peer0"), RD_ERR_NOTFOUND);
	rv_store_close(st);
	/* opened again: no second migration, everything kept */
	assert_int_equal(rv_store_open(dir, &st), RD_OK);
	memset(&p, 0, sizeof(p));
	assert_int_equal(rv_store_load(st, pins_cb, &p), RD_OK);
	assert_int_equal(p.n, 2);
	assert_true(p.pinned[1] && p.pinned[2]);
	assert_true(p.sig_time[1] == 1700000000123ULL);
	assert_true(p.sig_time[2] == UINT64_C(1) << 62);
	size_t count = 0;
	assert_int_equal(rv_store_check(st, &count), RD_OK);
	assert_int_equal(count, 2);
	rv_store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	rd_log_set_level(RD_LOG_ERR);
	if (rd_crypto_init() != RD_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_check),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_store_pins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* store_sqlite: bindings in DIR/rendezvous.db, SQLite in WAL mode. Puts
 * are grouped into one transaction that rv_store_flush commits (the server
 * flushes before its loop sleeps), so a burst of new IDs costs one commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store.h"
#include "util.h"

#define RD_LOG_SUBSYS "store"
#include "log.h"

#define RV_DB_FILE "rendezvous.db"
#define RV_STORE_BATCH 4096  /* commit at the latest after this many puts */

struct rv_store {
	sqlite3 *db;
	sqlite3_stmt *put;
	size_t pending;
	bool in_tx;
};

static const char *schema =
	"CREATE TABLE IF NOT EXISTS peer ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" uuid BLOB NOT NULL,"
	" pk BLOB NOT NULL,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL"
	") WITHOUT ROWID;";

/* Schema versions (PRAGMA user_version): 0 the table above; 1 adds the pin
 * (pk signed the registrations) and the last accepted signature time. */
#define RV_SCHEMA_VERSION 1
static const char *migrate_1 =
	"ALTER TABLE peer ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE peer ADD COLUMN sig_time INTEGER NOT NULL DEFAULT 0;";

static int exec(struct rv_store *st, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("%s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return RD_ERR_DB;
	}
	return RD_OK;
}

static long long pragma_int(struct rv_store *st, const char *sql);

/* Bring a database of an older schema up to RV_SCHEMA_VERSION, in one
 * transaction: a failure leaves it as it was. */
static int migrate(struct rv_store *st)
{
	long long v = pragma_int(st, "PRAGMA user_version");
	if (v >= RV_SCHEMA_VERSION)
		return RD_OK;
	if (exec(st, "BEGIN IMMEDIATE"))
		return RD_ERR_DB;
	int rc = exec(st, migrate_1);
	if (rc == RD_OK)
		rc = exec(st, "PRAGMA user_version = 1");
	if (rc == RD_OK)
		rc = exec(st, "COMMIT");
	if (rc != RD_OK) {
		exec(st, "ROLLBACK");
		return rc;
	}
	log_notice("database schema upgraded from version %lld to %d", v, RV_SCHEMA_VERSION);
	return RD_OK;
}

int rv_store_open(const char *dir, struct rv_store **out)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, RV_DB_FILE) >= sizeof(path))
		return RD_ERR_INVAL;
	struct rv_store *st = xcalloc(1, sizeof(*st));
	int rc = RD_ERR_DB;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_err("open %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 2000);
	if (exec(st, "PRAGMA journal_mode=WAL") || exec(st, "PRAGMA synchronous=NORMAL") ||
	    exec(st, schema) || migrate(st))
		goto fail;
	if (sqlite3_prepare_v3(st->db,
			"INSERT INTO peer (id, uuid, pk, created, updated, pinned, sig_time)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
			" ON CONFLICT(id) DO UPDATE SET uuid = ?2, pk = ?3, updated = ?5, pinned = ?6,"
			" sig_time = ?7",
			-1, SQLITE_PREPARE_PERSISTENT, &st->put, NULL) != SQLITE_OK) {
		log_err("prepare: %s", sqlite3_errmsg(st->db));
		goto fail;
	}
	*out = st;
	return RD_OK;
fail:
	sqlite3_close(st->db);
	free(st);
	return rc;
}

int rv_store_load(struct rv_store *st, int (*cb)(void *ud, const struct rv_binding *b), void *ud)
{
	sqlite3_stmt *q = NULL;
	int rc = RD_OK;
	if (sqlite3_prepare_v2(st->db, "SELECT id, uuid, pk, created, pinned, sig_time FROM peer", -1, &q,
			NULL) != SQLITE_OK) {
		log_err("load: %s", sqlite3_errmsg(st->db));
		return RD_ERR_DB;
	}
	int step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		struct rv_binding b = {
			.id = (const char *)sqlite3_column_text(q, 0),
			.uuid = sqlite3_column_blob(q, 1),
			.uuid_len = (size_t)sqlite3_column_bytes(q, 1),
			.pk = sqlite3_column_blob(q, 2),
			.pk_len = (size_t)sqlite3_column_bytes(q, 2),
			.created = sqlite3_column_int64(q, 3),
			.pinned = sqlite3_column_int64(q, 4) != 0,
			.sig_time = (uint64_t)sqlite3_column_int64(q, 5),
		};
		if (!b.id)
			continue;
		rc = cb(ud, &b);
		if (rc)
			break;
	}
	if (rc == RD_OK && step != SQLITE_DONE) {
		log_err("load: %s", sqlite3_errmsg(st->db));
		rc = RD_ERR_DB;
	}
	sqlite3_finalize(q);
	return rc;
}

static long long pragma_int(struct rv_store *st, const char *sql)
{
	sqlite3_stmt *q = NULL;
	long long v = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

size_t rv_store_estimate(struct rv_store *st)
{
	/* A row with a typical ID, uuid and key takes about 80 bytes of a page. */
	long long bytes = pragma_int(st, "PRAGMA page_count") * pragma_int(st, "PRAGMA page_size");
	return bytes > 0 ? (size_t)(bytes / 80) : 0;
}

int rv_store_put(struct rv_store *st, const struct rv_binding *b)
{
	if (!st->in_tx) {
		if (exec(st, "BEGIN"))
			return RD_ERR_DB;
		st->in_tx = true;
	}
	sqlite3_stmt *q = st->put;
	sqlite3_bind_text(q, 1, b->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, b->uuid, (int)b->uuid_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, b->pk, (int)b->pk_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, b->created);
	sqlite3_bind_int64(q, 5, rd_wall_ms() / 1000);
	sqlite3_bind_int(q, 6, b->pinned);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)b->sig_time);
	int step = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (step != SQLITE_DONE) {
		log_err("put id=%s: %s", rd_esc(b->id), sqlite3_errmsg(st->db));
		return RD_ERR_DB;
	}
	if (++st->pending >= RV_STORE_BATCH)
		return rv_store_flush(st);
	return RD_OK;
}

int rv_store_forget(struct rv_store *st, const char *id)
{
	int rc = rv_store_flush(st);
	sqlite3_stmt *q = NULL;
	if (rc != RD_OK)
		return rc;
	if (sqlite3_prepare_v2(st->db, "DELETE FROM peer WHERE id = ?1", -1, &q, NULL) != SQLITE_OK) {
		log_err("forget: %s", sqlite3_errmsg(st->db));
		return RD_ERR_DB;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		log_err("forget id=%s: %s", rd_esc(id), sqlite3_errmsg(st->db));
		rc = RD_ERR_DB;
	} else if (sqlite3_changes(st->db) == 0) {
		rc = RD_ERR_NOTFOUND;
	}
	sqlite3_finalize(q);
	return rc;
}

int rv_store_flush(struct rv_store *st)
{
	if (!st->in_tx)
		return RD_OK;
	int rc = exec(st, "COMMIT");
	if (rc) {
		exec(st, "ROLLBACK");
		log_err("%zu bindings were not saved", st->pending);
	}
	st->in_tx = false;
	st->pending = 0;
	return rc;
}

size_t rv_store_pending(const struct rv_store *st)
{
	return st->pending;
}

static int count_cb(void *ud, int ncol, char **vals, char **names)
{
	(void)names;
	char **dst = ud;
	if (ncol > 0 && vals[0] && !*dst)
		*dst = xstrdup(vals[0]);
	return 0;
}

int rv_store_check(struct rv_store *st, size_t *count)
{
	char *res = NULL;
	int rc = RD_OK;
	if (sqlite3_exec(st->db, "PRAGMA integrity_check", count_cb, &res, NULL) != SQLITE_OK ||
	    !res || strcmp(res, "ok")) {
		log_err("integrity check: %s", res ? res : sqlite3_errmsg(st->db));
		rc = RD_ERR_DB;
	}
	free(res);
	res = NULL;
	if (rc == RD_OK) {
		if (sqlite3_exec(st->db, "SELECT count(*) FROM peer", count_cb, &res, NULL) != SQLITE_OK || !res)
			rc = RD_ERR_DB;
		else
			*count = strtoull(res, NULL, 10);
	}
	free(res);
	return rc;
}

void rv_store_close(struct rv_store *st)
{
	if (!st)
		return;
	rv_store_flush(st);
	sqlite3_finalize(st->put);
	if (sqlite3_close(st->db) != SQLITE_OK)
		log_err("close: %s", sqlite3_errmsg(st->db));
	free(st);
}

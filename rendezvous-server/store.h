/* store: where ID bindings (id, uuid, public key, creation time, pin) persist.
 * Narrow on purpose: a backend is one file implementing these calls (SQLite
 * here; a shared store for several servers would be another file). Live
 * addresses are never stored. put() may batch; flush() makes every earlier
 * put durable; close() flushes. */
#ifndef RV_STORE_H
#define RV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_store;

struct rv_binding {
	const char *id;
	const uint8_t *uuid;
	size_t uuid_len;
	const uint8_t *pk;
	size_t pk_len;
	int64_t created;   /* unix seconds */
	bool pinned;       /* pk is the key that signed the ID's registrations */
	uint64_t sig_time; /* rdesk_time of the last accepted signed registration */
};

/* Open (creating when missing) the store in dir. */
int rv_store_open(const char *dir, struct rv_store **out);
/* Rough number of stored bindings, cheap (from the file size), for sizing. */
size_t rv_store_estimate(struct rv_store *st);
/* Call cb for every binding; stops and returns cb's error when it fails. */
int rv_store_load(struct rv_store *st, int (*cb)(void *ud, const struct rv_binding *b), void *ud);
/* Insert or replace the binding of b->id. */
int rv_store_put(struct rv_store *st, const struct rv_binding *b);
/* Delete the binding of id (committed at once); RD_ERR_NOTFOUND when there
 * is none. */
int rv_store_forget(struct rv_store *st, const char *id);
int rv_store_flush(struct rv_store *st);
/* Bindings written and still unflushed. */
size_t rv_store_pending(const struct rv_store *st);
/* Check the file (integrity) and count the bindings; for tools and tests. */
int rv_store_check(struct rv_store *st, size_t *count);
void rv_store_close(struct rv_store *st);

#endif

/* srclimit: an open-addressing table (linear probing, at most half full)
 * of per-source counts. Keys are hashed with SipHash and a random per-table
 * key, so a sender cannot choose addresses that pile up in one run of slots.
 * An entry whose count reaches zero is removed by shifting the rest of its
 * run back, so lookups never meet tombstones. */
#include "srclimit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "ratelimit.h"

struct sl_entry {
	uint8_t key[RD_RATELIMIT_KEY_LEN];
	uint32_t count;        /* 0 = free slot */
	uint32_t home;         /* hash of the key; its first slot is home & mask */
	uint32_t refused;      /* refusals since the last logged one */
	double next_log;       /* earliest time of the next logged refusal */
};

struct rd_srclimit {
	struct sl_entry *e;
	size_t mask;
	size_t used;
	size_t max_sources;
	unsigned per_source;
	uint32_t orphans;      /* refusals of sources without an entry */
	double orphan_next_log;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

struct rd_srclimit *rd_srclimit_new(size_t max_sources, unsigned per_source)
{
	struct rd_srclimit *t;
	size_t n = 16;

	if (max_sources == 0 || max_sources > RD_SRCLIMIT_SOURCES_MAX || per_source == 0)
		return NULL;
	while (n < 2 * max_sources)
		n *= 2;
	if (sodium_init() < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->e = calloc(n, sizeof(*t->e));
	if (!t->e) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	t->max_sources = max_sources;
	t->per_source = per_source;
	randombytes_buf(t->hkey, sizeof(t->hkey));
	return t;
}

void rd_srclimit_free(struct rd_srclimit *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

static uint32_t sl__hash(const struct rd_srclimit *t, const uint8_t key[RD_RATELIMIT_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, RD_RATELIMIT_KEY_LEN, t->hkey);
	return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
}

/* The slot of src's source, or the free slot where it would go. */
static struct sl_entry *sl__find(const struct rd_srclimit *t, const struct rd_sockaddr *src,
	uint8_t key[RD_RATELIMIT_KEY_LEN], uint32_t *home)
{
	rd_ratelimit_key(src, key);
	*home = sl__hash(t, key);
	for (size_t i = *home & t->mask;; i = (i + 1) & t->mask) {
		struct sl_entry *e = &t->e[i];
		if (!e->count || !memcmp(e->key, key, RD_RATELIMIT_KEY_LEN))
			return e;
	}
}

/* Empty slot i and move back the entries after it that may live there. */
static void sl__remove(struct rd_srclimit *t, size_t i)
{
	for (size_t j = (i + 1) & t->mask; t->e[j].count; j = (j + 1) & t->mask) {
		size_t k = t->e[j].home & t->mask;
		/* j stays when its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		t->e[i] = t->e[j];
		i = j;
	}
	memset(&t->e[i], 0, sizeof(t->e[i]));
	t->used--;
}

int rd_srclimit_take(struct rd_srclimit *t, const struct rd_sockaddr *src)
{
	uint8_t key[RD_RATELIMIT_KEY_LEN];
	uint32_t home;
	struct sl_entry *e = sl__find(t, src, key, &home);

	if (e->count) {
		if (e->count >= t->per_source) {
			if (e->refused < UINT32_MAX)
				e->refused++;
			return RD_ERR_LIMIT;
		}
		e->count++;
		return RD_OK;
	}
	if (t->used >= t->max_sources) {
		if (t->orphans < UINT32_MAX)
			t->orphans++;
		return RD_ERR_NOMEM;
	}
	memcpy(e->key, key, sizeof(key));
	e->home = home;
	e->count = 1;
	e->refused = 0;
	e->next_log = 0;
	t->used++;
	return RD_OK;
}

void rd_srclimit_put(struct rd_srclimit *t, const struct rd_sockaddr *src)
{
	uint8_t key[RD_RATELIMIT_KEY_LEN];
	uint32_t home;
	struct sl_entry *e = sl__find(t, src, key, &home);

	if (!e->count)
		return;
	if (--e->count == 0)
		sl__remove(t, (size_t)(e - t->e));
}

unsigned rd_srclimit_count(const struct rd_srclimit *t, const struct rd_sockaddr *src)
{
	uint8_t key[RD_RATELIMIT_KEY_LEN];
	uint32_t home;
	return sl__find(t, src, key, &home)->count;
}

unsigned rd_srclimit_per_source(const struct rd_srclimit *t)
{
	return t->per_source;
}

size_t rd_srclimit_sources(const struct rd_srclimit *t)
{
	return t->used;
}

bool rd_srclimit_log_ok(struct rd_srclimit *t, const struct rd_sockaddr *src, double now,
	double interval, unsigned long *refused)
{
	uint8_t key[RD_RATELIMIT_KEY_LEN];
	uint32_t home, *count = &t->orphans;
	double *next = &t->orphan_next_log;
	struct sl_entry *e = sl__find(t, src, key, &home);

	if (e->count) {
		count = &e->refused;
		next = &e->next_log;
	}
	*refused = *count;
	if (now < *next)
		return false;
	*next = now + interval;
	*count = 0;
	return true;
}

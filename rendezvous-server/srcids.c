/* srcids: how many new IDs each source bound today. A fixed-size table of
 * 4-way sets keyed by the IPv4 address or the IPv6 /64; a new source takes
 * the least recently used slot of its set. */
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

#define RD_LOG_SUBSYS "rendezvous"
#include "server_int.h"

#define RV_SRCIDS_WINDOW 86400.0 /* a source's count covers one day from its first new ID */

struct rv_srcid_slot {
	uint8_t key[RD_RATELIMIT_KEY_LEN]; /* the source, as rd_ratelimit_key says */
	bool used;
	uint32_t count;     /* new IDs since start */
	double start;       /* the day counted began */
	double last;        /* last use, for the choice of a slot to reuse */
};

struct rv_srcids {
	struct rv_srcid_slot *slots;
	size_t nsets;
};

struct rv_srcids *rv_srcids_new(size_t slots)
{
	struct rv_srcids *t = xcalloc(1, sizeof(*t));
	t->nsets = 1;
	while (t->nsets * 4 < slots)
		t->nsets *= 2;
	t->slots = xcalloc(t->nsets * 4, sizeof(*t->slots));
	return t;
}

void rv_srcids_free(struct rv_srcids *t)
{
	if (t) {
		free(t->slots);
		free(t);
	}
}

bool rv_srcids_take(struct rv_srcids *t, const struct rd_sockaddr *src, double now, long cap)
{
	uint8_t key[RD_RATELIMIT_KEY_LEN];
	rd_ratelimit_key(src, key);
	uint32_t h = 2166136261u;
	for (int i = 0; i < RD_RATELIMIT_KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	struct rv_srcid_slot *set = &t->slots[(h & (t->nsets - 1)) * 4], *use = NULL;
	for (int i = 0; i < 4 && !use; i++)
		if (set[i].used && !memcmp(set[i].key, key, sizeof(key)))
			use = &set[i];
	if (!use) {
		use = &set[0];
		for (int i = 1; i < 4; i++)
			if (set[i].last < use->last)
				use = &set[i];
		memcpy(use->key, key, sizeof(key));
		use->used = true;
		use->count = 0;
		use->start = now;
	}
	if (now - use->start >= RV_SRCIDS_WINDOW) {
		use->count = 0;
		use->start = now;
	}
	use->last = now;
	if ((long)use->count >= cap)
		return false;
	use->count++;
	return true;
}

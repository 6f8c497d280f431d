/* ratelimit: token buckets in a fixed, 4-way set-associative table keyed by
 * source address without port (IPv6 by /64). Keys are hashed with SipHash and
 * a random per-table key, so a sender cannot aim at one set. */
#include "ratelimit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define RL_WAYS 4

struct rl_entry {
	uint8_t key[16];
	double tokens;
	double last;    /* time of the last refill */
	uint64_t used;  /* LRU stamp; 0 = free slot */
};

struct rd_ratelimit {
	struct rl_entry *e;
	size_t slots;
	size_t set_mask;
	double rate;
	double burst;
	uint64_t clock;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

struct rd_ratelimit *rd_ratelimit_new(size_t slots, double rate, double burst)
{
	struct rd_ratelimit *rl;
	size_t n = RL_WAYS;

	if (!(rate >= 0) || !(burst > 0) || isinf(rate) || isinf(burst))
		return NULL;
	while (n < slots) {
		if (n > SIZE_MAX / 2 / sizeof(struct rl_entry))
			return NULL;
		n *= 2;
	}
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->e = calloc(n, sizeof(*rl->e));
	if (!rl->e) {
		free(rl);
		return NULL;
	}
	if (sodium_init() < 0) {
		free(rl->e);
		free(rl);
		return NULL;
	}
	rl->slots = n;
	rl->set_mask = n / RL_WAYS - 1;
	rl->rate = rate;
	rl->burst = burst;
	randombytes_buf(rl->hkey, sizeof(rl->hkey));
	return rl;
}

void rd_ratelimit_free(struct rd_ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->e);
	free(rl);
}

size_t rd_ratelimit_slots(const struct rd_ratelimit *rl)
{
	return rl->slots;
}

void rd_ratelimit_key(const struct rd_sockaddr *src, uint8_t key[RD_RATELIMIT_KEY_LEN])
{
	struct rd_sockaddr a = *src;

	rd_net_addr_normalize(&a);
	memset(key, 0, 16);
	if (a.u.sa.sa_family == AF_INET) {
		key[10] = 0xff;
		key[11] = 0xff;
		memcpy(key + 12, &a.u.in4.sin_addr, 4);
	} else if (a.u.sa.sa_family == AF_INET6) {
		memcpy(key, a.u.in6.sin6_addr.s6_addr, 8);
	} else {
		memset(key, 0xff, 16); /* anything else shares one bucket */
	}
}

static struct rl_entry *rl__find(struct rd_ratelimit *rl, const struct rd_sockaddr *src, double now)
{
	uint8_t key[16], h[crypto_shorthash_BYTES];
	uint64_t hv = 0;
	struct rl_entry *set, *victim = NULL;

	rd_ratelimit_key(src, key);
	crypto_shorthash(h, key, sizeof(key), rl->hkey);
	for (size_t i = 0; i < sizeof(hv); i++)
		hv = (hv << 8) | h[i];
	set = rl->e + (size_t)(hv & rl->set_mask) * RL_WAYS;
	for (int w = 0; w < RL_WAYS; w++) {
		struct rl_entry *e = &set[w];
		if (e->used && memcmp(e->key, key, sizeof(key)) == 0) {
			e->used = ++rl->clock;
			return e;
		}
		if (!victim || e->used < victim->used)
			victim = e;
	}
	/* Not present: take a free way, else the least recently seen one. */
	memcpy(victim->key, key, sizeof(key));
	victim->tokens = rl->burst;
	victim->last = now;
	victim->used = ++rl->clock;
	return victim;
}

bool rd_ratelimit_take(struct rd_ratelimit *rl, const struct rd_sockaddr *src, double n, double now)
{
	struct rl_entry *e = rl__find(rl, src, now);

	if (now > e->last) {
		e->tokens += (now - e->last) * rl->rate;
		if (e->tokens > rl->burst)
			e->tokens = rl->burst;
		e->last = now;
	}
	if (!(n >= 0) || e->tokens < n)
		return false;
	e->tokens -= n;
	return true;
}

bool rd_ratelimit_allow(struct rd_ratelimit *rl, const struct rd_sockaddr *src, double now)
{
	return rd_ratelimit_take(rl, src, 1.0, now);
}

/* registry: chained hash table of rv_peer entries keyed by ID. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sodium.h>

#include "err.h"
#include "registry.h"
#include "util.h"

/* Entries are never removed, so they come from arenas (up to 2 MiB, huge
 * pages when the kernel offers them): no per-entry malloc header, one free
 * per arena, and a million entries fault in a few hundred pages, not 30000. */
#define RV_ARENA_SIZE (2u << 20)

struct rv_arena {
	struct rv_arena *next;
	size_t used;
	uint8_t mem[];
};

struct rv_registry {
	/* Open addressing with linear probing. A slot is the entry pointer with
	 * 16 bits of its hash in the top bits (user pointers fit in 48 bits), so
	 * a probe reads one array and touches an entry only on a tag match. */
	uint64_t *slots;
	size_t cap;              /* power of two; at most 3/4 full */
	size_t count;
	struct rv_arena *arena;
	size_t arena_size;       /* size of the current arena */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

/* Keyed SipHash: IDs chosen by peers cannot pile up in one probe run. */
static uint32_t id_hash(const struct rv_registry *r, const char *s, size_t len)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)s, len, r->hash_key);
	return (uint32_t)(h ^ (h >> 32));
}

#define RV_TAG_SHIFT 48
#define RV_PTR_MASK (((uint64_t)1 << RV_TAG_SHIFT) - 1)

static inline struct rv_peer *slot_peer(uint64_t v)
{
	return (struct rv_peer *)(uintptr_t)(v & RV_PTR_MASK);
}

static inline uint64_t slot_make(const struct rv_peer *p, uint32_t h)
{
	return (uint64_t)(uintptr_t)p | ((uint64_t)(h >> 16) << RV_TAG_SHIFT);
}

/* Blocks of 2 MiB and more ask for transparent huge pages: fewer page
 * faults and TLB misses when a million entries load at start. */
static void *big_alloc(size_t bytes)
{
	void *p = NULL;
	if (bytes >= (2u << 20) && posix_memalign(&p, 2u << 20, bytes) == 0) {
		madvise(p, bytes, MADV_HUGEPAGE);
		return p;
	}
	return xmalloc(bytes);
}

static uint64_t *slots_new(size_t cap)
{
	uint64_t *s = big_alloc(cap * sizeof(uint64_t));
	memset(s, 0, cap * sizeof(uint64_t));
	return s;
}

struct rv_registry *rv_registry_new(void)
{
	struct rv_registry *r = xcalloc(1, sizeof(*r));
	r->cap = 1024;
	r->slots = slots_new(r->cap);
	randombytes_buf(r->hash_key, sizeof(r->hash_key));
	return r;
}

void rv_registry_free(struct rv_registry *r)
{
	if (!r)
		return;
	while (r->arena) {
		struct rv_arena *n = r->arena->next;
		free(r->arena);
		r->arena = n;
	}
	free(r->slots);
	free(r);
}

static void *arena_alloc(struct rv_registry *r, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (!r->arena || r->arena->used + n > r->arena_size - sizeof(struct rv_arena)) {
		/* 16 KiB first, doubling up to RV_ARENA_SIZE: small registries stay small. */
		r->arena_size = r->arena ? RD_MIN(r->arena_size * 2, (size_t)RV_ARENA_SIZE) : 16384;
		struct rv_arena *a = big_alloc(r->arena_size);
		a->next = r->arena;
		a->used = 0;
		r->arena = a;
	}
	void *p = r->arena->mem + r->arena->used;
	r->arena->used += n;
	memset(p, 0, n);
	return p;
}

void rv_registry_uuid_digest(const uint8_t *uuid, size_t len, uint8_t out[RV_UUID_DIGEST])
{
	crypto_generichash(out, RV_UUID_DIGEST, uuid, len, NULL, 0);
}

/* Slot of id, or of the empty slot where it would go. */
static size_t probe(const struct rv_registry *r, const char *id, size_t len, uint32_t h)
{
	size_t mask = r->cap - 1, i = h & mask;
	uint64_t tag = (uint64_t)(h >> 16) << RV_TAG_SHIFT;
	for (uint64_t v; (v = r->slots[i]); i = (i + 1) & mask) {
		if ((v & ~RV_PTR_MASK) != tag)
			continue;
		const struct rv_peer *p = slot_peer(v);
		if (p->id_len == len && !memcmp(p->id, id, len))
			return i;
	}
	return i;
}

struct rv_peer *rv_registry_find(const struct rv_registry *r, const char *id)
{
	size_t len = strlen(id);
	if (len > RV_ID_MAX)
		return NULL;
	return slot_peer(r->slots[probe(r, id, len, id_hash(r, id, len))]);
}

static void resize(struct rv_registry *r, size_t ncap)
{
	size_t mask = ncap - 1;
	uint64_t *ns = slots_new(ncap);
	for (size_t i = 0; i < r->cap; i++) {
		uint64_t v = r->slots[i];
		if (!v)
			continue;
		/* The bucket comes from the low hash bits, which the tag lacks:
		 * rehash from the ID. */
		const struct rv_peer *p = slot_peer(v);
		size_t j = id_hash(r, p->id, p->id_len) & mask;
		while (ns[j])
			j = (j + 1) & mask;
		ns[j] = v;
	}
	free(r->slots);
	r->slots = ns;
	r->cap = ncap;
}

struct rv_peer *rv_registry_add(struct rv_registry *r, const char *id,
	const uint8_t uuid_digest[RV_UUID_DIGEST], const uint8_t pk[RV_PK_LEN], int64_t created)
{
	size_t len = strlen(id);
	if (len == 0 || len > RV_ID_MAX)
		return NULL;
	if ((r->count + 1) * 4 > r->cap * 3)
		resize(r, r->cap * 2);
	uint32_t h = id_hash(r, id, len);
	size_t i = probe(r, id, len, h);
	if (r->slots[i])
		return NULL; /* exists */
	struct rv_peer *p = arena_alloc(r, sizeof(*p) + len + 1);
	p->id_len = (uint8_t)len;
	memcpy(p->id, id, len + 1);
	memcpy(p->uuid_digest, uuid_digest, RV_UUID_DIGEST);
	memcpy(p->pk, pk, RV_PK_LEN);
	p->created = created;
	p->last_reg = -1e9;
	p->last_regpk = -1e9;
	r->slots[i] = slot_make(p, h);
	r->count++;
	return p;
}

void rv_registry_reserve(struct rv_registry *r, size_t n)
{
	size_t cap = r->cap;
	while (n * 4 > cap * 3)
		cap *= 2;
	if (cap != r->cap)
		resize(r, cap);
}

size_t rv_registry_count(const struct rv_registry *r)
{
	return r->count;
}

size_t rv_registry_count_online(const struct rv_registry *r, double now, double window)
{
	size_t n = 0;
	for (size_t i = 0; i < r->cap; i++)
		if (r->slots[i])
			n += rv_peer_online(slot_peer(r->slots[i]), now, window);
	return n;
}

void rv_peer_set_addr(struct rv_peer *p, const struct rd_sockaddr *a)
{
	struct rd_sockaddr n = *a;
	rd_net_addr_normalize(&n);
	memset(p->ip, 0, sizeof(p->ip));
	if (n.u.sa.sa_family == AF_INET) {
		p->family = AF_INET;
		memcpy(p->ip, &n.u.in4.sin_addr, 4);
		p->port = ntohs(n.u.in4.sin_port);
	} else if (n.u.sa.sa_family == AF_INET6) {
		p->family = AF_INET6;
		memcpy(p->ip, &n.u.in6.sin6_addr, 16);
		p->port = ntohs(n.u.in6.sin6_port);
	} else {
		p->family = 0;
	}
}

bool rv_peer_get_addr(const struct rv_peer *p, struct rd_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (p->family == AF_INET) {
		out->u.in4.sin_family = AF_INET;
		memcpy(&out->u.in4.sin_addr, p->ip, 4);
		out->u.in4.sin_port = htons(p->port);
		out->len = sizeof(out->u.in4);
		return true;
	}
	if (p->family == AF_INET6) {
		out->u.in6.sin6_family = AF_INET6;
		memcpy(&out->u.in6.sin6_addr, p->ip, 16);
		out->u.in6.sin6_port = htons(p->port);
		out->len = sizeof(out->u.in6);
		return true;
	}
	return false;
}

bool rv_peer_same_ip(const struct rv_peer *p, const struct rd_sockaddr *a)
{
	struct rd_sockaddr mine;
	if (!rv_peer_get_addr(p, &mine))
		return false;
	return rd_net_addr_same_ip(&mine, a);
}

bool rv_peer_same_addr(const struct rv_peer *p, const struct rd_sockaddr *a)
{
	struct rd_sockaddr mine, other = *a;
	if (!rv_peer_get_addr(p, &mine))
		return false;
	rd_net_addr_normalize(&other);
	return rd_net_addr_equal(&mine, &other);
}

bool rv_peer_online(const struct rv_peer *p, double now, double window)
{
	return p->family != 0 && now - p->last_reg < window;
}

int rv_id_check(const char *id)
{
	size_t len = strlen(id);
	if (len < 6)
		return RD_ERR_TRUNCATED;
	if (len > RV_ID_MAX)
		return RD_ERR_INVAL;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-';
		if (!ok)
			return RD_ERR_INVAL;
	}
	return RD_OK;
}

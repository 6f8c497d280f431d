/* registry: chained hash table of rv_peer entries keyed by ID. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "registry.h"
#include "util.h"

struct rv_registry {
	struct rv_peer **buckets;
	size_t nbuckets;         /* power of two */
	size_t count;
};

static uint32_t id_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}

struct rv_registry *rv_registry_new(void)
{
	struct rv_registry *r = xcalloc(1, sizeof(*r));
	r->nbuckets = 1024;
	r->buckets = xcalloc(r->nbuckets, sizeof(*r->buckets));
	return r;
}

void rv_registry_free(struct rv_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct rv_peer *p = r->buckets[i];
		while (p) {
			struct rv_peer *n = p->next;
			free(p);
			p = n;
		}
	}
	free(r->buckets);
	free(r);
}

void rv_registry_uuid_digest(const uint8_t *uuid, size_t len, uint8_t out[RV_UUID_DIGEST])
{
	crypto_generichash(out, RV_UUID_DIGEST, uuid, len, NULL, 0);
}

struct rv_peer *rv_registry_find(const struct rv_registry *r, const char *id)
{
	size_t len = strlen(id);
	if (len > RV_ID_MAX)
		return NULL;
	uint32_t h = id_hash(id, len);
	for (struct rv_peer *p = r->buckets[h & (r->nbuckets - 1)]; p; p = p->next)
		if (p->hash == h && p->id_len == len && !memcmp(p->id, id, len))
			return p;
	return NULL;
}

static void grow(struct rv_registry *r)
{
	size_t n = r->nbuckets * 2;
	struct rv_peer **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct rv_peer *p = r->buckets[i];
		while (p) {
			struct rv_peer *next = p->next;
			p->next = b[p->hash & (n - 1)];
			b[p->hash & (n - 1)] = p;
			p = next;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

struct rv_peer *rv_registry_add(struct rv_registry *r, const char *id,
	const uint8_t uuid_digest[RV_UUID_DIGEST], const uint8_t pk[RV_PK_LEN], int64_t created)
{
	size_t len = strlen(id);
	if (len == 0 || len > RV_ID_MAX || rv_registry_find(r, id))
		return NULL;
	if (r->count >= r->nbuckets)
		grow(r);
	struct rv_peer *p = xcalloc(1, sizeof(*p) + len + 1);
	p->hash = id_hash(id, len);
	p->id_len = (uint8_t)len;
	memcpy(p->id, id, len + 1);
	memcpy(p->uuid_digest, uuid_digest, RV_UUID_DIGEST);
	memcpy(p->pk, pk, RV_PK_LEN);
	p->created = created;
	p->last_reg = -1e9;
	p->last_regpk = -1e9;
	size_t b = p->hash & (r->nbuckets - 1);
	p->next = r->buckets[b];
	r->buckets[b] = p;
	r->count++;
	return p;
}

size_t rv_registry_count(const struct rv_registry *r)
{
	return r->count;
}

size_t rv_registry_count_online(const struct rv_registry *r, double now, double window)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nbuckets; i++)
		for (const struct rv_peer *p = r->buckets[i]; p; p = p->next)
			n += rv_peer_online(p, now, window);
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

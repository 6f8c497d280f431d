/* registry: the in-memory table of known IDs. Each entry holds the binding
 * (uuid digest, public key, creation time, pin) that the store persists, and the
 * live part that never leaves memory (UDP address, last registration, the
 * per-ID RegisterPk burst counter). Compact on purpose: one million IDs fit
 * in well under 256 MB. I/O free. */
#ifndef RV_REGISTRY_H
#define RV_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define RV_ID_MAX 64          /* longest ID we accept */
#define RV_UUID_DIGEST 16
#define RV_PK_LEN 32

struct rv_registry;

/* One entry. Fields are the module's; other modules use the accessors below
 * and rv_registry_* calls. */
struct rv_peer {
	uint8_t id_len;
	uint8_t regpk_burst;     /* RegisterPk count in the current burst */
	uint8_t family;          /* 0 = no live address, AF_INET or AF_INET6 */
	uint8_t pinned;          /* registered with a signature: only pk's key moves or changes it */
	uint16_t port;
	uint8_t ip[16];
	double last_reg;         /* monotonic seconds of the last accepted registration */
	double last_regpk;       /* monotonic seconds of the last RegisterPk */
	int64_t created;         /* unix seconds when the ID was first bound */
	uint64_t sig_time;       /* rdesk_time of the last accepted signed RegisterPk */
	uint8_t uuid_digest[RV_UUID_DIGEST];
	uint8_t pk[RV_PK_LEN];
	char id[];
};

struct rv_registry *rv_registry_new(void);
void rv_registry_free(struct rv_registry *r);

/* Digest of a uuid as kept in memory (BLAKE2b-128). */
void rv_registry_uuid_digest(const uint8_t *uuid, size_t len, uint8_t out[RV_UUID_DIGEST]);

struct rv_peer *rv_registry_find(const struct rv_registry *r, const char *id);
/* Add a binding for a new ID (must not exist). The entry starts offline. */
struct rv_peer *rv_registry_add(struct rv_registry *r, const char *id,
	const uint8_t uuid_digest[RV_UUID_DIGEST], const uint8_t pk[RV_PK_LEN], int64_t created);
/* Make room for n entries at once (loading), instead of doubling as they come. */
void rv_registry_reserve(struct rv_registry *r, size_t n);
size_t rv_registry_count(const struct rv_registry *r);
/* Entries whose last registration is younger than window seconds. O(n). */
size_t rv_registry_count_online(const struct rv_registry *r, double now, double window);

/* Live address. */
void rv_peer_set_addr(struct rv_peer *p, const struct rd_sockaddr *a);
bool rv_peer_get_addr(const struct rv_peer *p, struct rd_sockaddr *out);
bool rv_peer_same_ip(const struct rv_peer *p, const struct rd_sockaddr *a);
/* Same IP and port. */
bool rv_peer_same_addr(const struct rv_peer *p, const struct rd_sockaddr *a);
bool rv_peer_online(const struct rv_peer *p, double now, double window);

/* ID syntax: 6..RV_ID_MAX chars of [A-Za-z0-9_-]. Returns RD_OK,
 * RD_ERR_TRUNCATED when shorter than 6, RD_ERR_INVAL otherwise. */
int rv_id_check(const char *id);

#endif

/* ratelimit: a fixed-size table of token buckets keyed by source IP (never the
 * port; IPv6 by /64 prefix). Memory never grows: when the table is full the
 * least recently seen entry of a 4-way bucket is reused. I/O free; time is
 * passed in. */
#ifndef RD_RATELIMIT_H
#define RD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

struct rd_ratelimit;

/* slots is rounded up to a power of two (>= 4). rate in tokens per second,
 * burst = bucket size. */
struct rd_ratelimit *rd_ratelimit_new(size_t slots, double rate, double burst);
void rd_ratelimit_free(struct rd_ratelimit *rl);
/* Take one token for src at time now; false when the bucket is empty. */
bool rd_ratelimit_allow(struct rd_ratelimit *rl, const struct rd_sockaddr *src, double now);
/* Take n tokens (n may exceed burst only if the bucket is full: then it fails). */
bool rd_ratelimit_take(struct rd_ratelimit *rl, const struct rd_sockaddr *src, double n, double now);
size_t rd_ratelimit_slots(const struct rd_ratelimit *rl);

/* The key of src's source in every per-source table: IPv4 as v4-mapped (all
 * 16 bytes), IPv6 as its /64 with the rest zero. */
#define RD_RATELIMIT_KEY_LEN 16
void rd_ratelimit_key(const struct rd_sockaddr *src, uint8_t key[RD_RATELIMIT_KEY_LEN]);

#endif

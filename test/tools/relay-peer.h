/* relay-peer: what its two files share (see relay-peer.c for the commands). */
#ifndef RELAY_PEER_H
#define RELAY_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

extern struct rd_sockaddr relay_addr;
extern const char *licence_key;
extern bool have_sign_key;         /* -s: sign relay tokens like the rendezvous server */
extern double timeout_secs;
extern char run_id[16];

/* A seeded xorshift64* byte stream: what one side sends and the other expects. */
struct stream {
	uint64_t state;
	uint64_t sum;     /* running checksum of the bytes produced */
	uint8_t spare[8];
	unsigned nspare;
};

void stream_init(struct stream *s, uint64_t seed);
/* Fill p with the next n bytes of the stream. */
void stream_fill(struct stream *s, uint8_t *p, size_t n);
/* FNV-1a over p, continuing *sum. */
void sum_update(uint64_t *sum, const uint8_t *p, size_t n);
/* A framed RequestRelay for uuid (and key when not NULL, and with -s a relay
 * token of role 1 controller or 2 agent) into out; its length. */
size_t request_frame(const char *uuid, const char *key, int role, uint8_t *out, size_t outsz);
/* TCP connection to the relay with TCP_NODELAY, or -1. */
int connect_relay(void);

/* N pairs (C at once; 0 = all), BYTES each way, every byte checked; with
 * sequenced, side 1 answers only after side 0's EOF and then closes. */
int run_pairs(unsigned n, uint64_t bytes, unsigned concurrency, bool sequenced);

#endif

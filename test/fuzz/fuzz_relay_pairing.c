/* fuzz_relay_pairing: the relay's pairing core driven by a script of
 * operations read from the input (new connection, bytes, a well-formed
 * RequestRelay on one of a few uuids, one with a relay token that is valid,
 * expired, forged, for another uuid or cut short, time passing, connection
 * gone), with the core's bounds checked after every step. The last byte
 * turns tokens on (bit 0; the key is 01 00 .. as a seed), the first the
 * licence key (bit 0): so tokens, licence key, both or an open relay. The first
 * operation-free run feeds the whole input to one connection as its first
 * bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec.h"
#include "pb.h"
#include "relaytoken.h"
#include "relay-server/pairing.h"

#define SLOTS 16
#define MAX_PAIRS 6
#define MAX_HELLO 8

static struct relay_slot *live[SLOTS];
static uint8_t srv_pk[32], srv_sk[64], forger_pk[32], forger_sk[64];
static const char *const uuids[] = { "a", "b", "c", "d", "e", "f", "g", "h" };

static void check_bounds(struct relay_pairing *rp)
{
	if (relay_pairing_entries(rp) > MAX_PAIRS || relay_pairing_hello(rp) > MAX_HELLO ||
		relay_pairing_waiting(rp) > relay_pairing_entries(rp))
		abort();
}

static void forget(struct relay_slot *s)
{
	for (int i = 0; i < SLOTS; i++)
		if (live[i] == s)
			live[i] = NULL;
}

static void handle(struct relay_pairing *rp, const struct relay_event *ev)
{
	if (ev->type == RELAY_EV_REFUSE) {
		forget(ev->slot);
		relay_pairing_remove(rp, ev->slot);
	} else if (ev->type == RELAY_EV_PAIR) {
		if (!ev->peer || ev->peer == ev->slot)
			abort();
		const uint8_t *p;
		size_t n;
		relay_pairing_leftover(ev->peer, &p, &n);
		if (n && !p)
			abort();
	}
}

/* A RequestRelay on uuid `which % 8` (licence key when bit 3 is set) with a
 * token of kind tok: 0 none, 1 controller, 2 agent, 3 expired, 4 forged,
 * 5 another uuid's, 6 cut short. */
static void valid_frame(struct relay_pairing *rp, struct relay_slot *s, unsigned which, unsigned tok,
	double now)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RequestRelay rr = HBB__REQUEST_RELAY__INIT;
	uint8_t *p, token[RD_RELAY_TOKEN_LEN];
	size_t n;
	struct rd_buf b;
	struct relay_event ev;
	rr.uuid = (char *)uuids[which % 8];
	if (which & 8)
		rr.licence_key = (char *)"key";
	if (tok) {
		int64_t expiry = (int64_t)now + (tok == 3 ? -100 : 60);
		enum rd_relay_role role = tok == 2 ? RD_RELAY_ROLE_AGENT : RD_RELAY_ROLE_CONTROLLER;
		const char *u = tok == 5 ? uuids[(which + 1) % 8] : rr.uuid;
		rd_relay_token_sign(u, role, expiry, tok == 4 ? forger_sk : srv_sk, token);
		rr.rdesk_relay_token = (ProtobufCBinaryData){ tok == 6 ? 40 : sizeof(token), token };
	}
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rr;
	if (rd_pb_pack(&m.base, &p, &n) != 0)
		return;
	rd_buf_init(&b, 0);
	rd_frame_append(&b, p, n);
	relay_pairing_input(rp, s, rd_buf_ptr(&b), rd_buf_size(&b), now, &ev);
	handle(rp, &ev);
	rd_buf_free(&b);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t hk[16] = { 7 };
	static int init;
	if (!init) {
		uint8_t seed[32] = { 1 };
		if (sodium_init() < 0)
			abort();
		crypto_sign_seed_keypair(srv_pk, srv_sk, seed);
		seed[0] = 2;
		crypto_sign_seed_keypair(forger_pk, forger_sk, seed);
		init = 1;
	}
	struct relay_pairing_opts o = {
		.server_pk = (size && (data[size - 1] & 1)) ? srv_pk : NULL,
		.key = (size && (data[0] & 1)) ? "key" : NULL,
		.max_pairs = MAX_PAIRS, .max_hello = MAX_HELLO,
		.first_timeout = 2, .pair_timeout = 5, .hash_key = hk,
	};
	struct relay_pairing *rp = relay_pairing_new(&o);
	struct relay_event ev, evs[4];
	double now = 1700000000; /* wall-clock seconds, as the relay passes them */
	memset(live, 0, sizeof(live));

	/* The whole input as one connection's first bytes. */
	struct relay_slot *s = relay_pairing_add(rp, NULL, now);
	relay_pairing_input(rp, s, data, size, now, &ev);
	handle(rp, &ev);
	if (ev.type != RELAY_EV_REFUSE)
		live[0] = s;
	check_bounds(rp);

	/* The same input as a script. */
	for (size_t i = 0; i + 1 < size; i += 2) {
		unsigned op = data[i] % 6, tok = (data[i] / 6) % 7, arg = data[i + 1];
		struct relay_slot **slot = &live[arg % SLOTS];
		switch (op) {
		case 0:
			if (!*slot)
				*slot = relay_pairing_add(rp, NULL, now);
			break;
		case 1:
			if (*slot) {
				size_t n = size - i - 2 < (size_t)(arg >> 4) * 3 ? size - i - 2 : (size_t)(arg >> 4) * 3;
				relay_pairing_input(rp, *slot, data + i + 2, n, now, &ev);
				handle(rp, &ev);
			}
			break;
		case 2:
			if (*slot)
				valid_frame(rp, *slot, arg >> 4, 0, now);
			break;
		case 5:
			if (*slot)
				valid_frame(rp, *slot, arg >> 4, tok, now);
			break;
		case 3: {
			now += (double)(arg % 16) * 0.5;
			size_t n;
			while ((n = relay_pairing_expire(rp, now, evs, 4)) > 0)
				for (size_t k = 0; k < n; k++)
					handle(rp, &evs[k]);
			break;
		}
		case 4:
			if (*slot) {
				relay_pairing_remove(rp, *slot);
				*slot = NULL;
			}
			break;
		}
		check_bounds(rp);
	}
	relay_pairing_free(rp);
	return 0;
}

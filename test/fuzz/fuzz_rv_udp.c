/* The rendezvous core's UDP input: any datagram from any source, against a
 * server that already knows a few IDs (one of them pinned). Replies are
 * packed (and checked to unpack) but go nowhere.
 *
 * Signatures cannot be guessed, so a RegisterPk whose rdesk_sig is one byte
 * long is signed here first with one of four fixed keys (that byte picks
 * it); a one-byte pk or rdesk_old_pk becomes that key's public half, and a
 * one-byte rdesk_old_sig the rotation signature of the old key. Pinning,
 * replay, rotation and the caps are then reachable. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "pb.h"
#include "regsig.h"
#include "rendezvous-server/server.h"

static void op_udp(void *ud, const struct rd_sockaddr *to, const uint8_t *p, size_t len)
{
	(void)ud;
	(void)to;
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(p, len);
	if (!m)
		__builtin_trap(); /* we must only ever send valid messages */
	hbb__rendezvous_message__free_unpacked(m, NULL);
}
static void op_tcp(void *ud, void *c, const uint8_t *p, size_t len) { (void)ud; (void)c; (void)p; (void)len; }
static void op_close(void *ud, void *c, bool f) { (void)ud; (void)c; (void)f; }
static void op_put(void *ud, const struct rv_binding *b) { (void)ud; (void)b; }
static const struct rv_server_ops ops = { op_udp, op_tcp, op_close, op_put };

static struct rv_server *srv;
static double now;
static struct rd_keypair keys[4];

static void setup(void)
{
	static struct rd_keypair kp;
	rd_crypto_init();
	rd_log_set_level(RD_LOG_ERR);
	rd_key_generate(&kp, false);
	for (int i = 0; i < 4; i++) {
		uint8_t seed[32];
		memset(seed, i + 1, sizeof(seed));
		crypto_sign_seed_keypair(keys[i].pk, keys[i].sk, seed);
	}
	struct rv_server_config c = { .sign_sk = kp.sk };
	rv_limits_default(&c.lim);
	c.lim.source_slots = 1024;
	srv = rv_server_new(&c, &ops, NULL);
	uint8_t pk[32] = { 1 };
	const char *ids[] = { "alpha01", "bravo01", "123456789" };
	for (size_t i = 0; i < 3; i++) {
		struct rv_binding b = { .id = ids[i], .uuid = (const uint8_t *)"u1", .uuid_len = 2,
			.pk = pk, .pk_len = 32, .created = 1 };
		rv_server_load_binding(srv, &b);
	}
	struct rv_binding pinned = { .id = "pinned01", .uuid = (const uint8_t *)"u1", .uuid_len = 2,
		.pk = keys[0].pk, .pk_len = 32, .created = 1, .pinned = true, .sig_time = 1000 };
	rv_server_load_binding(srv, &pinned);
}

/* The re-signing described at the top; returns a packed copy or NULL. */
static uint8_t *resign(const uint8_t *data, size_t size, size_t *outlen)
{
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(data, size);
	uint8_t *out = NULL;
	if (!m || m->union_case != HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK ||
	    m->register_pk->rdesk_sig.len != 1)
		goto done;
	/* Work on a copy: the unpacked message owns its buffers. */
	Hbb__RegisterPk rk = *m->register_pk;
	const struct rd_keypair *kp = &keys[rk.rdesk_sig.data[0] & 3], *old = NULL;
	if (rk.pk.len == 1)
		rk.pk = (ProtobufCBinaryData){ RD_PK_LEN, (uint8_t *)kp->pk };
	if (rk.rdesk_old_pk.len == 1)
		old = &keys[rk.rdesk_old_pk.data[0] & 3];
	uint8_t sigs[2 * RD_SIGN_LEN];
	if (rk.pk.len != RD_PK_LEN || sodium_memcmp(rk.pk.data, kp->pk, RD_PK_LEN) != 0 ||
	    rd_regsig_sign(&rk, rk.rdesk_time, kp, old, sigs) != RD_OK)
		goto done;
	Hbb__RendezvousMessage copy = *m;
	copy.register_pk = &rk;
	if (rd_pb_pack(&copy.base, &out, outlen) != RD_OK)
		out = NULL;
done:
	if (m)
		hbb__rendezvous_message__free_unpacked(m, NULL);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv)
		setup();
	if (size < 1)
		return 0;
	/* first byte: source address and time step */
	struct rd_sockaddr from;
	char txt[64];
	snprintf(txt, sizeof(txt), "%s:%u", data[0] & 0x80 ? "[2001:db8::5]" : "192.0.2.5",
		1000u + (data[0] & 0x0f));
	rd_net_addr_parse_numeric(txt, 0, &from);
	now += (data[0] >> 4) & 0x7;
	size_t n = 0;
	uint8_t *signed_copy = resign(data + 1, size - 1, &n);
	if (signed_copy)
		rv_server_udp_input(srv, &from, signed_copy, n, now);
	else
		rv_server_udp_input(srv, &from, data + 1, size - 1, now);
	free(signed_copy);
	return 0;
}

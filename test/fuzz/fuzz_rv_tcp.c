/* The rendezvous core's TCP side: the input is a stream of frames (1-4 byte
 * header) fed to connections on PORT and PORT-1 in turn; a connection the
 * core closes is reported closed and a new one opens, as the I/O would do.
 * A few IDs are registered and online so punch, relay and routing run. The
 * server's key comes from a fixed seed (05 00 ...) so seeds can carry its
 * licence key; inputs of odd size run against a server that enforces it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "pb.h"
#include "rendezvous-server/server.h"

#include <sodium.h>

struct fconn {
	struct rv_tcp *t;
	bool closing;
};

static void op_udp(void *ud, const struct rd_sockaddr *to, const uint8_t *p, size_t len)
{
	(void)ud;
	(void)to;
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(p, len);
	if (!m)
		__builtin_trap();
	hbb__rendezvous_message__free_unpacked(m, NULL);
}
static void op_tcp(void *ud, void *c, const uint8_t *p, size_t len)
{
	(void)ud;
	if (((struct fconn *)c)->closing)
		__builtin_trap(); /* nothing may be sent after a close */
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(p, len);
	if (!m)
		__builtin_trap();
	hbb__rendezvous_message__free_unpacked(m, NULL);
}
static void op_close(void *ud, void *c, bool f) { (void)ud; (void)f; ((struct fconn *)c)->closing = true; }
static void op_put(void *ud, const struct rv_binding *b) { (void)ud; (void)b; }
static const struct rv_server_ops ops = { op_udp, op_tcp, op_close, op_put };

static struct rv_server *new_server(bool enforce)
{
	static struct rd_keypair kp;
	static char lic[RD_B64_PK_LEN + 1];
	static bool once;
	if (!once) {
		const uint8_t seed[32] = { 5 };
		rd_crypto_init();
		rd_log_set_level(RD_LOG_ERR);
		crypto_sign_seed_keypair(kp.pk, kp.sk, seed);
		rd_pk_to_b64(kp.pk, lic);
		once = true;
	}
	struct rv_server_config c = { .sign_sk = kp.sk, .always_relay = false,
		.licence = enforce ? lic : NULL };
	const char *relays[] = { "127.0.0.1:21117" };
	c.relays = relays;
	c.nrelays = 1;
	rv_limits_default(&c.lim);
	c.lim.source_slots = 64;
	c.lim.pending_max = 4;
	struct rv_server *s = rv_server_new(&c, &ops, NULL);
	/* bravo01 online at 192.0.2.9:6000 (RegisterPk over UDP) */
	uint8_t pk[32] = { 1 };
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	rk.id = "bravo01";
	rk.uuid = (ProtobufCBinaryData){ 2, (uint8_t *)"u1" };
	rk.pk = (ProtobufCBinaryData){ 32, pk };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &rk;
	uint8_t buf[128];
	size_t n = protobuf_c_message_pack(&m.base, buf);
	struct rd_sockaddr b;
	rd_net_addr_parse_numeric("192.0.2.9:6000", 0, &b);
	rv_server_udp_input(s, &b, buf, n, 0);
	return s;
}

#define NCONN 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_server *s = new_server(size & 1);
	struct fconn conns[NCONN] = { 0 };
	unsigned next_port = 5000;
	double now = 1;
	size_t off = 0, k = 0;
	while (off < size) {
		const uint8_t *pl;
		size_t plen, used;
		if (rd_frame_next(data + off, size - off, RD_FRAME_MAX_RENDEZVOUS, &pl, &plen, &used) != RD_OK)
			break;
		off += used;
		struct fconn *c = &conns[k++ % NCONN];
		if (!c->t) {
			char txt[64];
			/* requesters from 198.51.100.1, targets' replies from the target's IP */
			snprintf(txt, sizeof(txt), "%s:%u", k % 3 ? "198.51.100.1" : "192.0.2.9", next_port++);
			struct rd_sockaddr a;
			rd_net_addr_parse_numeric(txt, 0, &a);
			c->t = rv_server_tcp_open(s, c, &a, k % 5 == 4 ? RV_PORT_NAT : RV_PORT_MAIN, now);
			c->closing = false;
		}
		rv_server_tcp_frame(s, c->t, pl, plen, now);
		if (c->closing) {
			rv_server_tcp_closed(s, c->t, RD_OK);
			c->t = NULL;
		}
		now += 0.5;
		rv_server_tick(s, now);
		for (int i = 0; i < NCONN; i++) {
			if (conns[i].t && conns[i].closing) {
				rv_server_tcp_closed(s, conns[i].t, RD_OK);
				conns[i].t = NULL;
			}
		}
	}
	for (int i = 0; i < NCONN; i++)
		if (conns[i].t)
			rv_server_tcp_closed(s, conns[i].t, RD_ERR_EOF);
	rv_server_free(s);
	return 0;
}

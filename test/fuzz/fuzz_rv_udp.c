/* The rendezvous core's UDP input: any datagram from any source, against a
 * server that already knows a few IDs. Replies are packed (and checked to
 * unpack) but go nowhere. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "pb.h"
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

static void setup(void)
{
	static struct rd_keypair kp;
	rd_crypto_init();
	rd_log_set_level(RD_LOG_ERR);
	rd_key_generate(&kp, false);
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
	rv_server_udp_input(srv, &from, data + 1, size - 1, now);
	return 0;
}

/* rv-peer-wire: sockets and rendezvous messages for the test peer. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "codec.h"
#include "err.h"
#include "util.h"
#include "rv-peer.h"

struct rd_sockaddr peer_srv;
uint8_t peer_server_pk[RD_PK_LEN];
bool peer_have_server_pk;
struct rd_sockaddr peer_local_ip;   /* -l: source address of every socket */
bool peer_have_local_ip;

void peer_die(const char *what, const char *arg)
{
	fprintf(stderr, "rv-peer: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
	exit(2);
}

void peer_keys(const char *seed, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t s[32];
	crypto_generichash(s, sizeof(s), (const uint8_t *)seed, strlen(seed), NULL, 0);
	crypto_sign_seed_keypair(pk, sk, s);
}

struct rd_sockaddr peer_port_minus_one(void)
{
	struct rd_sockaddr a = peer_srv;
	rd_net_addr_set_port(&a, (uint16_t)(rd_net_addr_port(&peer_srv) - 1));
	return a;
}

/* ---- UDP ---- */

int peer_udp_socket(void)
{
	struct rd_sockaddr any;
	if (peer_have_local_ip)
		any = peer_local_ip;
	else
		rd_net_addr_any(&any, rd_net_addr_family(&peer_srv), 0);
	int fd = rd_net_udp_bind(&any, 0);
	if (fd < 0)
		peer_die("udp socket", strerror(errno));
	return fd;
}

void peer_udp_send(int fd, const Hbb__RendezvousMessage *m)
{
	uint8_t *p;
	size_t n;
	if (rd_pb_pack(&m->base, &p, &n))
		peer_die("pack", NULL);
	sendto(fd, p, n, 0, &peer_srv.u.sa, peer_srv.len);
	free(p);
}

/* Next datagram within secs, unpacked; NULL on timeout. */
Hbb__RendezvousMessage *peer_udp_recv(int fd, double secs)
{
	uint8_t buf[65536];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, (int)(secs * 1000)) <= 0)
		return NULL;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return NULL;
	return rd_pb_rendezvous_unpack(buf, (size_t)n);
}

void peer_send_register_peer(int fd, const char *id)
{
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	rp.id = (char *)id;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	peer_udp_send(fd, &m);
}

void peer_send_register_pk(int fd, const char *id, const char *uuid, const char *seed)
{
	uint8_t pk[32], sk[64];
	peer_keys(seed, pk, sk);
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	rk.id = (char *)id;
	rk.uuid = (ProtobufCBinaryData){ strlen(uuid), (uint8_t *)uuid };
	rk.pk = (ProtobufCBinaryData){ 32, pk };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &rk;
	peer_udp_send(fd, &m);
}

const char *peer_pk_result_name(int r)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&hbb__register_pk_response__result__descriptor, r);
	return v ? v->name : "?";
}

/* RegisterPeer, then RegisterPk when asked; returns the final result. */
/* ---- TCP ---- */

int peer_tcp_dial(const struct rd_sockaddr *a)
{
	int fd = rd_net_tcp_connect_wait(a, peer_have_local_ip ? &peer_local_ip : NULL, 3);
	if (fd < 0)
		peer_die("tcp connect", strerror(errno));
	rd_net_set_nonblock(fd, false);
	return fd;
}

void peer_tcp_send(int fd, const Hbb__RendezvousMessage *m)
{
	struct rd_buf b;
	uint8_t *p;
	size_t n;
	rd_buf_init(&b, 0);
	if (rd_pb_pack(&m->base, &p, &n) || rd_frame_append(&b, p, n))
		peer_die("pack", NULL);
	(void)!write(fd, rd_buf_ptr(&b), rd_buf_size(&b));
	free(p);
	rd_buf_free(&b);
}

/* Next frame within secs; NULL on timeout or close (*closed set). */
Hbb__RendezvousMessage *peer_tcp_recv(int fd, double secs, bool *closed)
{
	static uint8_t buf[70000];
	static size_t have;
	double until = rd_now() + secs;
	*closed = false;
	for (;;) {
		const uint8_t *pl;
		size_t plen, used;
		if (rd_frame_next(buf, have, RD_FRAME_MAX_RENDEZVOUS, &pl, &plen, &used) == RD_OK) {
			Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(pl, plen);
			memmove(buf, buf + used, have - used);
			have -= used;
			return m;
		}
		double left = until - rd_now();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return NULL;
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0) {
			*closed = true;
			have = 0;
			return NULL;
		}
		have += (size_t)n;
	}
}

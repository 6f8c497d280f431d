/* rv-peer: a rendezvous peer for tests, speaking the wire protocol through
 * common/ and proto/. One subcommand per role; results go to stdout as
 * key=value lines, so shell tests can compare them.
 *
 *   rv-peer -s ADDR:PORT [-k SERVER_PK] [-l LOCAL_IP] COMMAND ...
 *     register ID [UUID [SEED]]       RegisterPeer, and RegisterPk when asked
 *     register-pk ID UUID SEED        one RegisterPk; prints result=
 *     register-peer ID                one RegisterPeer; prints request_pk=
 *     target ID UUID SEED SECS        stay registered for SECS and answer pushes
 *     punch ID [LICENCE]              PunchHoleRequest; prints the response
 *     relay ID UUID                   RequestRelay; prints the RelayResponse
 *     test-nat [nat]                  TestNatRequest on PORT (or PORT-1)
 *     online ID...                    OnlineRequest on PORT-1; prints states=0101
 *     garbage-udp N                   N malformed datagrams
 *     garbage-tcp N                   N connections with malformed frames
 *     big-tcp                         a frame header announcing more than 64 KiB
 *     silent-tcp SECS [main|nat] [hb] connect, send nothing (or one heartbeat);
 *                                     prints closed_after=
 *     conns N SECS                    hold N idle connections; prints opened=, closed=
 *     burst-register ID N             N RegisterPeer at once; prints answered=
 *     many-ids PREFIX N               RegisterPk of N new IDs; prints ok=, too_frequent=
 *     db-check DIR                    integrity and row count of the store
 *     notify-listen PATH SECS         a NOTIFY_SOCKET; prints what arrives
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "net.h"
#include "pb.h"
#include "util.h"
#include "rendezvous-server/store.h"

static struct rd_sockaddr srv;
static uint8_t server_pk[RD_PK_LEN];
static bool have_server_pk;
static struct rd_sockaddr local_ip;   /* -l: source address of every socket */
static bool have_local_ip;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "rv-peer: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
	exit(2);
}

static void peer_keys(const char *seed, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t s[32];
	crypto_generichash(s, sizeof(s), (const uint8_t *)seed, strlen(seed), NULL, 0);
	crypto_sign_seed_keypair(pk, sk, s);
}

static struct rd_sockaddr port_minus_one(void)
{
	struct rd_sockaddr a = srv;
	rd_net_addr_set_port(&a, (uint16_t)(rd_net_addr_port(&srv) - 1));
	return a;
}

/* ---- UDP ---- */

static int udp_socket(void)
{
	struct rd_sockaddr any;
	if (have_local_ip)
		any = local_ip;
	else
		rd_net_addr_any(&any, rd_net_addr_family(&srv), 0);
	int fd = rd_net_udp_bind(&any, 0);
	if (fd < 0)
		die("udp socket", strerror(errno));
	return fd;
}

static void udp_send(int fd, const Hbb__RendezvousMessage *m)
{
	uint8_t *p;
	size_t n;
	if (rd_pb_pack(&m->base, &p, &n))
		die("pack", NULL);
	sendto(fd, p, n, 0, &srv.u.sa, srv.len);
	free(p);
}

/* Next datagram within secs, unpacked; NULL on timeout. */
static Hbb__RendezvousMessage *udp_recv(int fd, double secs)
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

static void send_register_peer(int fd, const char *id)
{
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	rp.id = (char *)id;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	udp_send(fd, &m);
}

static void send_register_pk(int fd, const char *id, const char *uuid, const char *seed)
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
	udp_send(fd, &m);
}

static const char *pk_result_name(int r)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&hbb__register_pk_response__result__descriptor, r);
	return v ? v->name : "?";
}

/* RegisterPeer, then RegisterPk when asked; returns the final result. */
static int do_register(int fd, const char *id, const char *uuid, const char *seed, bool quiet)
{
	send_register_peer(fd, id);
	Hbb__RendezvousMessage *m = udp_recv(fd, 2);
	if (!m || m->union_case != HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE) {
		if (!quiet)
			printf("error=no-register-peer-response\n");
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
		return -1;
	}
	bool req = m->register_peer_response->request_pk;
	hbb__rendezvous_message__free_unpacked(m, NULL);
	if (!quiet)
		printf("request_pk=%d\n", req);
	if (!req)
		return 0;
	send_register_pk(fd, id, uuid, seed);
	m = udp_recv(fd, 2);
	if (!m || m->union_case != HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE) {
		if (!quiet)
			printf("error=no-register-pk-response\n");
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
		return -1;
	}
	int r = m->register_pk_response->result;
	hbb__rendezvous_message__free_unpacked(m, NULL);
	if (!quiet)
		printf("result=%s\n", pk_result_name(r));
	return r;
}

/* ---- TCP ---- */

static int tcp_dial(const struct rd_sockaddr *a)
{
	int fd = rd_net_tcp_connect_wait(a, have_local_ip ? &local_ip : NULL, 3);
	if (fd < 0)
		die("tcp connect", strerror(errno));
	rd_net_set_nonblock(fd, false);
	return fd;
}

static void tcp_send(int fd, const Hbb__RendezvousMessage *m)
{
	struct rd_buf b;
	uint8_t *p;
	size_t n;
	rd_buf_init(&b, 0);
	if (rd_pb_pack(&m->base, &p, &n) || rd_frame_append(&b, p, n))
		die("pack", NULL);
	(void)!write(fd, rd_buf_ptr(&b), rd_buf_size(&b));
	free(p);
	rd_buf_free(&b);
}

/* Next frame within secs; NULL on timeout or close (*closed set). */
static Hbb__RendezvousMessage *tcp_recv(int fd, double secs, bool *closed)
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

static char *hex(const uint8_t *p, size_t n)
{
	static char out[256];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 3 < sizeof(out); i++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%02x", p[i]);
	out[k] = 0;
	return out;
}

static void print_addr(const char *key, const ProtobufCBinaryData *a)
{
	struct rd_sockaddr sa;
	char s[RD_ADDRSTRLEN];
	if (rd_addr_demangle(a->data, a->len, &sa) == RD_OK && a->len)
		printf("%s=%s\n", key, rd_net_addr_str(&sa, s, sizeof(s)));
	else
		printf("%s=\n", key);
}

static void print_signed_pk(const char *target, const ProtobufCBinaryData *pk)
{
	if (!pk->len) {
		printf("pk=empty\n");
		return;
	}
	uint8_t got[32];
	if (!have_server_pk) {
		printf("pk=unchecked\n");
		return;
	}
	int rc = rd_idpk_verify(pk->data, pk->len, server_pk, target, got);
	printf("pk=%s\n", rc == RD_OK ? "verified" : "bad");
	if (rc == RD_OK)
		printf("peer_pk=%s\n", hex(got, 32));
}

static void print_reply(const char *target, Hbb__RendezvousMessage *m)
{
	if (m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_RESPONSE) {
		Hbb__PunchHoleResponse *r = m->punch_hole_response;
		printf("reply=punch_hole_response\n");
		print_addr("socket_addr", &r->socket_addr);
		if (!r->socket_addr.len)
			printf("failure=%s\n", protobuf_c_enum_descriptor_get_value(
				&hbb__punch_hole_response__failure__descriptor, r->failure)->name);
		printf("other_failure=%s\n", r->other_failure ? r->other_failure : "");
		printf("relay_server=%s\n", r->relay_server ? r->relay_server : "");
		printf("is_local=%d\n", r->union_case == HBB__PUNCH_HOLE_RESPONSE__UNION_IS_LOCAL && r->is_local);
		if (r->union_case == HBB__PUNCH_HOLE_RESPONSE__UNION_NAT_TYPE)
			printf("nat_type=%d\n", r->nat_type);
		print_signed_pk(target, &r->pk);
	} else if (m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE) {
		Hbb__RelayResponse *r = m->relay_response;
		printf("reply=relay_response\n");
		printf("socket_addr_len=%zu\n", r->socket_addr.len);
		printf("uuid=%s\n", r->uuid ? r->uuid : "");
		printf("relay_server=%s\n", r->relay_server ? r->relay_server : "");
		printf("refuse_reason=%s\n", r->refuse_reason ? r->refuse_reason : "");
		if (r->union_case == HBB__RELAY_RESPONSE__UNION_PK)
			print_signed_pk(target, &r->pk);
		else
			printf("pk=none\n");
	} else {
		printf("reply=%s\n", rd_pb_rendezvous_name(m));
	}
}

static int wait_reply(int fd, const char *target, double secs)
{
	bool closed;
	Hbb__RendezvousMessage *m = tcp_recv(fd, secs, &closed);
	if (!m) {
		printf("reply=none\nclosed=%d\n", closed);
		return 1;
	}
	print_reply(target, m);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	fflush(stdout);
	return 0;
}

static int cmd_punch(int argc, char **argv)
{
	if (argc < 1)
		die("punch ID [LICENCE]", NULL);
	char lic[RD_B64_PK_LEN + 1] = "";
	if (have_server_pk)
		rd_pk_to_b64(server_pk, lic);
	Hbb__PunchHoleRequest rq = HBB__PUNCH_HOLE_REQUEST__INIT;
	rq.id = argv[0];
	rq.licence_key = argc > 1 ? argv[1] : lic;
	rq.nat_type = HBB__NAT_TYPE__ASYMMETRIC;
	rq.version = "1.4.0";
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_REQUEST;
	m.punch_hole_request = &rq;
	int fd = tcp_dial(&srv);
	struct rd_sockaddr local;
	char s[RD_ADDRSTRLEN];
	rd_net_local_addr(fd, &local);
	printf("local=%s\n", rd_net_addr_str(&local, s, sizeof(s)));
	tcp_send(fd, &m);
	int rc = wait_reply(fd, argv[0], 8);
	close(fd);
	return rc;
}

static int cmd_relay(int argc, char **argv)
{
	if (argc < 2)
		die("relay ID UUID", NULL);
	Hbb__RequestRelay rq = HBB__REQUEST_RELAY__INIT;
	rq.id = argv[0];
	rq.uuid = argv[1];
	rq.secure = true;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rq;
	int fd = tcp_dial(&srv);
	tcp_send(fd, &m);
	int rc = wait_reply(fd, argv[0], 8);
	close(fd);
	return rc;
}


/* ---- the target (B) ---- */

static int b_dial_send(const Hbb__RendezvousMessage *m, struct rd_sockaddr *local)
{
	int fd = tcp_dial(&srv);
	if (local)
		rd_net_local_addr(fd, local);
	tcp_send(fd, m);
	usleep(50000);
	close(fd);
	return 0;
}

static void b_on_punch(const char *id, const Hbb__PunchHole *ph)
{
	char uuid[37];
	printf("got=punch_hole nat_type=%d relay=%s\n", ph->nat_type, ph->relay_server ? ph->relay_server : "");
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	if (ph->nat_type == HBB__NAT_TYPE__SYMMETRIC) {
		/* B-initiated relay (PROTOCOL.md §8.5) */
		rd_uuid_v4(uuid);
		Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
		rr.socket_addr = ph->socket_addr;
		rr.uuid = uuid;
		rr.relay_server = ph->relay_server;
		rr.union_case = HBB__RELAY_RESPONSE__UNION_ID;
		rr.id = (char *)id;
		rr.version = "1.4.0";
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
		m.relay_response = &rr;
		b_dial_send(&m, NULL);
		printf("sent=relay_response uuid=%s\n", uuid);
		return;
	}
	Hbb__PunchHoleSent ps = HBB__PUNCH_HOLE_SENT__INIT;
	ps.socket_addr = ph->socket_addr;
	ps.id = (char *)id;
	ps.relay_server = ph->relay_server;
	ps.nat_type = HBB__NAT_TYPE__ASYMMETRIC;
	ps.version = "1.4.0";
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_SENT;
	m.punch_hole_sent = &ps;
	struct rd_sockaddr local;
	b_dial_send(&m, &local);
	char s[RD_ADDRSTRLEN];
	printf("sent=punch_hole_sent from=%s\n", rd_net_addr_str(&local, s, sizeof(s)));
}

static void b_on_fetch_local(const char *id, const Hbb__FetchLocalAddr *fl)
{
	printf("got=fetch_local_addr relay=%s\n", fl->relay_server ? fl->relay_server : "");
	int fd = tcp_dial(&srv);
	struct rd_sockaddr local;
	rd_net_local_addr(fd, &local);
	uint8_t mangled[RD_ADDR_MANGLE_MAX];
	int n = rd_addr_mangle(&local, mangled);
	Hbb__LocalAddr la = HBB__LOCAL_ADDR__INIT;
	la.socket_addr = fl->socket_addr;
	la.local_addr = (ProtobufCBinaryData){ n > 0 ? (size_t)n : 0, mangled };
	la.relay_server = fl->relay_server;
	la.id = (char *)id;
	la.version = "1.4.0";
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_LOCAL_ADDR;
	m.local_addr = &la;
	tcp_send(fd, &m);
	usleep(50000);
	close(fd);
	char s[RD_ADDRSTRLEN];
	printf("sent=local_addr local=%s\n", rd_net_addr_str(&local, s, sizeof(s)));
}

static void b_on_request_relay(const Hbb__RequestRelay *rq)
{
	printf("got=request_relay uuid=%s relay=%s secure=%d socket_addr_len=%zu\n", rq->uuid ? rq->uuid : "",
		rq->relay_server ? rq->relay_server : "", rq->secure, rq->socket_addr.len);
	Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
	rr.socket_addr = rq->socket_addr;
	rr.version = "1.4.0";
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	m.relay_response = &rr;
	b_dial_send(&m, NULL);
	printf("sent=relay_response\n");
}

static int cmd_target(int argc, char **argv)
{
	if (argc < 4)
		die("target ID UUID SEED SECS", NULL);
	const char *id = argv[0], *uuid = argv[1], *seed = argv[2];
	double until = rd_now() + atof(argv[3]), next_reg = 0;
	bool registered = false;
	int fd = udp_socket();
	while (rd_now() < until) {
		if (rd_now() >= next_reg) {
			send_register_peer(fd, id);
			next_reg = rd_now() + 1;
		}
		Hbb__RendezvousMessage *m = udp_recv(fd, 0.2);
		if (!m)
			continue;
		switch (m->union_case) {
		case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE:
			if (m->register_peer_response->request_pk)
				send_register_pk(fd, id, uuid, seed);
			else if (!registered && (registered = true))
				printf("registered=1\n");
			break;
		case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE:
			printf("register_pk=%s\n", pk_result_name(m->register_pk_response->result));
			if (m->register_pk_response->result == 0 && !registered && (registered = true))
				printf("registered=1\n");
			break;
		case HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE:
			b_on_punch(id, m->punch_hole);
			break;
		case HBB__RENDEZVOUS_MESSAGE__UNION_FETCH_LOCAL_ADDR:
			b_on_fetch_local(id, m->fetch_local_addr);
			break;
		case HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY:
			b_on_request_relay(m->request_relay);
			break;
		default:
			printf("got=%s\n", rd_pb_rendezvous_name(m));
			break;
		}
		hbb__rendezvous_message__free_unpacked(m, NULL);
	}
	close(fd);
	return 0;
}

/* ---- one-shot and hostile clients ---- */

static int cmd_test_nat(int argc, char **argv)
{
	struct rd_sockaddr a = argc > 0 && !strcmp(argv[0], "nat") ? port_minus_one() : srv;
	Hbb__TestNatRequest rq = HBB__TEST_NAT_REQUEST__INIT;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_REQUEST;
	m.test_nat_request = &rq;
	int fd = tcp_dial(&a);
	struct rd_sockaddr local;
	rd_net_local_addr(fd, &local);
	tcp_send(fd, &m);
	bool closed;
	Hbb__RendezvousMessage *r = tcp_recv(fd, 5, &closed);
	close(fd);
	if (!r || r->union_case != HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_RESPONSE) {
		printf("reply=none\n");
		return 1;
	}
	printf("port=%d\nlocal_port=%u\n", r->test_nat_response->port, rd_net_addr_port(&local));
	hbb__rendezvous_message__free_unpacked(r, NULL);
	return 0;
}

static int cmd_online(int argc, char **argv)
{
	struct rd_sockaddr a = port_minus_one();
	Hbb__OnlineRequest rq = HBB__ONLINE_REQUEST__INIT;
	rq.id = "asker1";
	rq.n_peers = (size_t)argc;
	rq.peers = argv;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_ONLINE_REQUEST;
	m.online_request = &rq;
	int fd = tcp_dial(&a);
	tcp_send(fd, &m);
	bool closed;
	Hbb__RendezvousMessage *r = tcp_recv(fd, 5, &closed);
	close(fd);
	if (!r || r->union_case != HBB__RENDEZVOUS_MESSAGE__UNION_ONLINE_RESPONSE) {
		printf("reply=none\n");
		return 1;
	}
	printf("states=");
	for (int i = 0; i < argc; i++) {
		const ProtobufCBinaryData *st = &r->online_response->states;
		printf("%d", (size_t)i / 8 < st->len && (st->data[i / 8] & (0x80 >> (i % 8))) ? 1 : 0);
	}
	printf("\n");
	hbb__rendezvous_message__free_unpacked(r, NULL);
	return 0;
}

/* Malformed protobuf: random bytes, and a few hand-made broken encodings. */
static size_t garbage(uint8_t *buf, size_t max, unsigned i)
{
	static const uint8_t fixed[][8] = {
		{ 0x32, 0x05, 0x0a }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x0b },
		{ 0x32, 0x80, 0x80, 0x80, 0x80, 0x10 }, { 0x7a, 0x03, 0x0a, 0x09, 0x41 },
	};
	if (i % 4 == 0) {
		memcpy(buf, fixed[(i / 4) % RD_ARRAY_LEN(fixed)], 8);
		return 6;
	}
	size_t n = 1 + randombytes_uniform((uint32_t)max);
	randombytes_buf(buf, n);
	buf[0] = (uint8_t)(buf[0] | 0x07); /* wire type 7 does not exist: never valid */
	return n;
}

static int cmd_garbage_udp(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)atoi(argv[0]) : 1000;
	int fd = udp_socket();
	uint8_t buf[1400];
	for (unsigned i = 0; i < n; i++) {
		size_t len = garbage(buf, sizeof(buf), i);
		sendto(fd, buf, len, 0, &srv.u.sa, srv.len);
		if (i % 256 == 255)
			usleep(1000);
	}
	printf("sent=%u\n", n);
	close(fd);
	return 0;
}

static int cmd_garbage_tcp(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)atoi(argv[0]) : 20, closed_n = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rd_sockaddr a = i % 3 == 2 ? port_minus_one() : srv;
		int fd = tcp_dial(&a);
		uint8_t buf[600];
		struct rd_buf b;
		rd_buf_init(&b, 0);
		rd_frame_append(&b, buf, garbage(buf, sizeof(buf), i));
		(void)!write(fd, rd_buf_ptr(&b), rd_buf_size(&b));
		rd_buf_free(&b);
		bool closed;
		Hbb__RendezvousMessage *m = tcp_recv(fd, 3, &closed);
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
		closed_n += closed;
		close(fd);
	}
	printf("closed=%u\n", closed_n);
	return 0;
}

static int cmd_big_tcp(void)
{
	int fd = tcp_dial(&srv);
	uint8_t hdr[RD_FRAME_HDR_MAX], fill[4096] = { 0 };
	size_t h = rd_frame_header_encode(hdr, 100000);
	(void)!write(fd, hdr, h);
	(void)!write(fd, fill, sizeof(fill));
	bool closed;
	Hbb__RendezvousMessage *m = tcp_recv(fd, 5, &closed);
	printf("closed=%d reply=%d\n", closed, m != NULL);
	close(fd);
	return closed ? 0 : 1;
}

static int cmd_silent_tcp(int argc, char **argv)
{
	double secs = argc > 0 ? atof(argv[0]) : 5, t0 = rd_now();
	struct rd_sockaddr nat = port_minus_one();
	int fd = tcp_dial(argc > 1 && !strcmp(argv[1], "nat") ? &nat : &srv);
	if (argc > 2) { /* one valid heartbeat first, then silence: the idle deadline */
		uint8_t zero = 0;
		(void)!write(fd, &zero, 1);
	}
	bool closed;
	Hbb__RendezvousMessage *m = tcp_recv(fd, secs, &closed);
	if (m)
		hbb__rendezvous_message__free_unpacked(m, NULL);
	printf("closed=%d closed_after=%.1f\n", closed, rd_now() - t0);
	close(fd);
	return 0;
}

static int cmd_conns(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)atoi(argv[0]) : 10, closed_n = 0;
	int *fds = xcalloc(n, sizeof(int));
	for (unsigned i = 0; i < n; i++)
		fds[i] = tcp_dial(&srv);
	usleep(500000);
	for (unsigned i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		char c;
		if (poll(&p, 1, 0) == 1 && read(fds[i], &c, 1) <= 0)
			closed_n++;
		close(fds[i]);
	}
	free(fds);
	printf("opened=%u refused=%u\n", n, closed_n);
	return 0;
}

static int cmd_burst_register(int argc, char **argv)
{
	if (argc < 2)
		die("burst-register ID N", NULL);
	unsigned n = (unsigned)atoi(argv[1]), got = 0;
	int fd = udp_socket();
	for (unsigned i = 0; i < n; i++)
		send_register_peer(fd, argv[0]);
	Hbb__RendezvousMessage *m;
	while ((m = udp_recv(fd, 1))) {
		got++;
		hbb__rendezvous_message__free_unpacked(m, NULL);
	}
	printf("answered=%u\n", got);
	close(fd);
	return 0;
}

static int cmd_many_ids(int argc, char **argv)
{
	if (argc < 2)
		die("many-ids PREFIX N", NULL);
	unsigned n = (unsigned)atoi(argv[1]), counts[16] = { 0 };
	int fd = udp_socket();
	for (unsigned i = 0; i < n; i++) {
		char id[64], uuid[80];
		snprintf(id, sizeof(id), "%s%05u", argv[0], i);
		snprintf(uuid, sizeof(uuid), "uuid-%s", id);
		send_register_pk(fd, id, uuid, id);
		Hbb__RendezvousMessage *m = udp_recv(fd, 2);
		if (m && m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE)
			counts[m->register_pk_response->result & 15]++;
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
	}
	printf("ok=%u too_frequent=%u\n", counts[0], counts[4]);
	close(fd);
	return 0;
}

static int cmd_db_check(int argc, char **argv)
{
	struct rv_store *st;
	size_t count = 0;
	if (argc < 1 || rv_store_open(argv[0], &st) != RD_OK)
		return 1;
	int rc = rv_store_check(st, &count);
	printf("db=%s count=%zu\n", rc == RD_OK ? "ok" : "bad", count);
	rv_store_close(st);
	return rc == RD_OK ? 0 : 1;
}

/* A NOTIFY_SOCKET for a server under test: print each notification. */
static int cmd_notify_listen(int argc, char **argv)
{
	if (argc < 2)
		die("notify-listen PATH SECS", NULL);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	rd_strlcpy(sun.sun_path, argv[0], sizeof(sun.sun_path));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("notify socket", strerror(errno));
	double until = rd_now() + atof(argv[1]);
	char buf[4096];
	while (rd_now() < until) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			printf("%.3f %s\n", rd_now(), line);
	}
	close(fd);
	unlink(argv[0]);
	return 0;
}

static int run_command(const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "notify-listen"))
		return cmd_notify_listen(argc, argv);
	if (!strcmp(cmd, "register") && argc >= 1) {
		int fd = udp_socket();
		int r = do_register(fd, argv[0], argc > 1 ? argv[1] : "uuid-default",
			argc > 2 ? argv[2] : argv[0], false);
		close(fd);
		return r < 0 ? 1 : 0;
	}
	if (!strcmp(cmd, "register-pk") && argc >= 3) {
		int fd = udp_socket();
		send_register_pk(fd, argv[0], argv[1], argv[2]);
		Hbb__RendezvousMessage *m = udp_recv(fd, 2);
		if (m && m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE)
			printf("result=%s\n", pk_result_name(m->register_pk_response->result));
		else
			printf("result=none\n");
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "register-peer") && argc >= 1) {
		int fd = udp_socket();
		send_register_peer(fd, argv[0]);
		Hbb__RendezvousMessage *m = udp_recv(fd, 2);
		if (m && m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE)
			printf("request_pk=%d\n", m->register_peer_response->request_pk);
		else
			printf("request_pk=none\n");
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "target"))
		return cmd_target(argc, argv);
	if (!strcmp(cmd, "punch"))
		return cmd_punch(argc, argv);
	if (!strcmp(cmd, "relay"))
		return cmd_relay(argc, argv);
	if (!strcmp(cmd, "test-nat"))
		return cmd_test_nat(argc, argv);
	if (!strcmp(cmd, "online"))
		return cmd_online(argc, argv);
	if (!strcmp(cmd, "garbage-udp"))
		return cmd_garbage_udp(argc, argv);
	if (!strcmp(cmd, "garbage-tcp"))
		return cmd_garbage_tcp(argc, argv);
	if (!strcmp(cmd, "big-tcp"))
		return cmd_big_tcp();
	if (!strcmp(cmd, "silent-tcp"))
		return cmd_silent_tcp(argc, argv);
	if (!strcmp(cmd, "conns"))
		return cmd_conns(argc, argv);
	if (!strcmp(cmd, "burst-register"))
		return cmd_burst_register(argc, argv);
	if (!strcmp(cmd, "many-ids"))
		return cmd_many_ids(argc, argv);
	if (!strcmp(cmd, "db-check"))
		return cmd_db_check(argc, argv);
	die("unknown command or arguments", cmd);
	return 2;
}

int main(int argc, char **argv)
{
	int opt;
	signal(SIGPIPE, SIG_IGN);
	if (rd_crypto_init() != RD_OK)
		return 2;
	while ((opt = getopt(argc, argv, "+s:k:l:")) != -1) {
		if (opt == 's') {
			if (rd_net_addr_parse_numeric(optarg, 21116, &srv) != RD_OK)
				die("bad server address", optarg);
		} else if (opt == 'l') {
			if (rd_net_addr_parse_numeric(optarg, 0, &local_ip) != RD_OK)
				die("bad local address", optarg);
			have_local_ip = true;
		} else if (opt == 'k') {
			if (rd_pk_from_b64(optarg, server_pk) != RD_OK)
				die("bad server key", optarg);
			have_server_pk = true;
		} else {
			return 2;
		}
	}
	if (optind >= argc)
		die("no command (see the top of rv-peer.c)", NULL);
	const char *cmd = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_command(cmd, argc, argv);
}

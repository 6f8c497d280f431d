/* rv-peer: a rendezvous peer for tests, speaking the wire protocol through
 * common/ and proto/. One subcommand per role; results go to stdout as
 * key=value lines, so shell tests can compare them.
 *
 *   rv-peer -s ADDR:PORT [-k SERVER_PK] [-l LOCAL_IP] COMMAND ...
 *     register ID [UUID [SEED]]       RegisterPeer, and RegisterPk when asked
 *     register-pk ID UUID SEED        one RegisterPk; prints result=
 *     register-peer ID                one RegisterPeer; prints request_pk=
 *     target ID UUID SEED SECS [sign] stay registered for SECS and answer pushes
 *     punch ID [LICENCE]              PunchHoleRequest; prints the response
 *     relay ID UUID [LICENCE [RELAY]] RequestRelay (licence from -k unless given
 *                                     and not empty,
 *                                     naming RELAY); prints the RelayResponse and
 *                                     whether its relay token verifies (-k) for UUID
 *     relay-session ID UUID MODE      RequestRelay, then join the relay the answer
 *                                     names as the controller, with MODE token (the
 *                                     server's grant), licence (the licence key
 *                                     alone) or forged (a token of a made-up key,
 *                                     and the licence key); prints session=signed_id
 *                                     when the target's SignedId comes through
 *     test-nat [nat]                  TestNatRequest on PORT (or PORT-1)
 *     online ID...                    OnlineRequest on PORT-1; prints states=0101
 *     garbage-udp N                   N malformed datagrams
 *     garbage-tcp N                   N connections with malformed frames
 *     big-tcp                         a frame header announcing more than 64 KiB
 *     silent-tcp SECS [main|nat] [hb] connect, send nothing (or heartbeats);
 *                                     prints closed_after=
 *     conns N [SECS]                  hold N connections (heartbeats only); prints opened=, refused=
 *     burst-register ID N             N RegisterPeer at once; prints answered=
 *     many-ids PREFIX N               RegisterPk of N new IDs; prints ok=, too_frequent=
 *     db-check DIR                    integrity and row count of the store
 *     notify-listen PATH SECS         a NOTIFY_SOCKET; prints what arrives
 *     regpk, replay, spoof-reply, fake-server: see rv-peer-ids.c
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "net.h"
#include "pb.h"
#include "relaytoken.h"
#include "util.h"
#include "rv-peer.h"

static int do_register(int fd, const char *id, const char *uuid, const char *seed, bool quiet)
{
	peer_send_register_peer(fd, id);
	Hbb__RendezvousMessage *m = peer_udp_recv(fd, 2);
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
	peer_send_register_pk(fd, id, uuid, seed);
	m = peer_udp_recv(fd, 2);
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
		printf("result=%s\n", peer_pk_result_name(r));
	return r;
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
	if (!peer_have_server_pk) {
		printf("pk=unchecked\n");
		return;
	}
	int rc = rd_idpk_verify(pk->data, pk->len, peer_server_pk, target, got);
	printf("pk=%s\n", rc == RD_OK ? "verified" : "bad");
	if (rc == RD_OK)
		printf("peer_pk=%s\n", hex(got, 32));
}

/* key=verified ROLE | bad | none: a relay token checked with -k for uuid. */
static void print_token(const char *key, const ProtobufCBinaryData *t, const char *uuid)
{
	enum rd_relay_role role = 0;
	if (!t->len) {
		printf("%s=none\n", key);
		return;
	}
	if (!peer_have_server_pk || !uuid ||
	    rd_relay_token_verify(t->data, t->len, uuid, peer_server_pk, rd_wall_ms() / 1000, &role) != RD_OK)
		printf("%s=bad\n", key);
	else
		printf("%s=verified %d\n", key, (int)role);
}

static const char *relay_uuid; /* the uuid `relay` asked for */

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
		print_token("relay_token", &r->rdesk_relay_token,
			relay_uuid ? relay_uuid : r->uuid);
	} else {
		printf("reply=%s\n", rd_pb_rendezvous_name(m));
	}
}

static int wait_reply(int fd, const char *target, double secs)
{
	bool closed;
	Hbb__RendezvousMessage *m = peer_tcp_recv(fd, secs, &closed);
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
		peer_die("punch ID [LICENCE]", NULL);
	char lic[RD_B64_PK_LEN + 1] = "";
	if (peer_have_server_pk)
		rd_pk_to_b64(peer_server_pk, lic);
	Hbb__PunchHoleRequest rq = HBB__PUNCH_HOLE_REQUEST__INIT;
	rq.id = argv[0];
	rq.licence_key = argc > 1 ? argv[1] : lic;
	rq.nat_type = HBB__NAT_TYPE__ASYMMETRIC;
	rq.version = "1.4.0";
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_REQUEST;
	m.punch_hole_request = &rq;
	int fd = peer_tcp_dial(&peer_srv);
	struct rd_sockaddr local;
	char s[RD_ADDRSTRLEN];
	rd_net_local_addr(fd, &local);
	printf("local=%s\n", rd_net_addr_str(&local, s, sizeof(s)));
	peer_tcp_send(fd, &m);
	int rc = wait_reply(fd, argv[0], 15);
	close(fd);
	return rc;
}

static int cmd_relay(int argc, char **argv)
{
	if (argc < 2)
		peer_die("relay ID UUID [LICENCE [RELAY]]", NULL);
	char lic[RD_B64_PK_LEN + 1] = "";
	if (peer_have_server_pk)
		rd_pk_to_b64(peer_server_pk, lic);
	Hbb__RequestRelay rq = HBB__REQUEST_RELAY__INIT;
	rq.id = argv[0];
	rq.uuid = argv[1];
	rq.secure = true;
	rq.licence_key = argc > 2 && *argv[2] ? argv[2] : lic;
	if (argc > 3)
		rq.relay_server = argv[3];
	relay_uuid = argv[1];
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rq;
	int fd = peer_tcp_dial(&peer_srv);
	struct rd_sockaddr local;
	char s[RD_ADDRSTRLEN];
	rd_net_local_addr(fd, &local);
	printf("local=%s\n", rd_net_addr_str(&local, s, sizeof(s)));
	peer_tcp_send(fd, &m);
	int rc = wait_reply(fd, argv[0], 15);
	close(fd);
	return rc;
}

/* The first session message through the relay: signed_id, other, closed or silent. */
static const char *relay_first_message(int fd, double secs)
{
	uint8_t buf[8192];
	size_t have = 0;
	double until = rd_now() + secs;
	for (;;) {
		const uint8_t *pl;
		size_t plen, used;
		if (rd_frame_next(buf, have, sizeof(buf), &pl, &plen, &used) == RD_OK) {
			Hbb__Message *m = rd_pb_message_unpack(pl, plen);
			bool sid = m && m->union_case == HBB__MESSAGE__UNION_SIGNED_ID;
			if (m)
				hbb__message__free_unpacked(m, NULL);
			return sid ? "signed_id" : "other";
		}
		double left = until - rd_now();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return "silent";
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			return "closed";
		have += (size_t)n;
	}
}

static int cmd_relay_session(int argc, char **argv)
{
	if (argc < 3)
		peer_die("relay-session ID UUID token|licence|forged", NULL);
	const char *mode = argv[2];
	char lic[RD_B64_PK_LEN + 1] = "";
	if (peer_have_server_pk)
		rd_pk_to_b64(peer_server_pk, lic);
	Hbb__RequestRelay rq = HBB__REQUEST_RELAY__INIT;
	rq.id = argv[0];
	rq.uuid = argv[1];
	rq.secure = true;
	rq.licence_key = lic;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rq;
	int fd = peer_tcp_dial(&peer_srv);
	peer_tcp_send(fd, &m);
	bool closed;
	Hbb__RendezvousMessage *r = peer_tcp_recv(fd, 15, &closed);
	close(fd);
	struct rd_sockaddr ra;
	if (!r || r->union_case != HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE ||
	    (r->relay_response->refuse_reason && *r->relay_response->refuse_reason) ||
	    rd_net_addr_parse_numeric(r->relay_response->relay_server, 21117, &ra) != RD_OK) {
		printf("session=no_relay\n");
		if (r)
			hbb__rendezvous_message__free_unpacked(r, NULL);
		return 1;
	}
	uint8_t tok[RD_RELAY_TOKEN_LEN];
	size_t toklen = r->relay_response->rdesk_relay_token.len == sizeof(tok) ? sizeof(tok) : 0;
	memcpy(tok, r->relay_response->rdesk_relay_token.data, toklen);
	printf("relay=%s\ngrant=%s\n", r->relay_response->relay_server, toklen ? "yes" : "no");
	hbb__rendezvous_message__free_unpacked(r, NULL);
	if (!strcmp(mode, "forged")) {
		uint8_t pk[32], sk[64];
		crypto_sign_keypair(pk, sk);
		rd_relay_token_sign(argv[1], RD_RELAY_ROLE_CONTROLLER, rd_wall_ms() / 1000 + 60, sk, tok);
		toklen = sizeof(tok);
	} else if (!strcmp(mode, "licence")) {
		toklen = 0;
	}
	Hbb__RequestRelay jr = HBB__REQUEST_RELAY__INIT;
	jr.id = argv[0];
	jr.uuid = argv[1];
	jr.licence_key = lic;
	jr.rdesk_relay_token = (ProtobufCBinaryData){ toklen, tok };
	m.request_relay = &jr;
	fd = peer_tcp_dial(&ra);
	peer_tcp_send(fd, &m);
	const char *first = relay_first_message(fd, 8);
	close(fd);
	printf("session=%s\n", first);
	return strcmp(first, "signed_id") != 0;
}

/* ---- the target (B) ---- */

/* The line saying what B sends is printed before the message leaves, so a
 * test that sees A's answer can always read B's side of it as well. */
static int b_dial_send(const Hbb__RendezvousMessage *m, const char *what)
{
	int fd = peer_tcp_dial(&peer_srv);
	struct rd_sockaddr local;
	char s[RD_ADDRSTRLEN];
	rd_net_local_addr(fd, &local);
	printf("sent=%s%s\n", what, rd_net_addr_str(&local, s, sizeof(s)));
	peer_tcp_send(fd, m);
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
		char what[80];
		snprintf(what, sizeof(what), "relay_response uuid=%s from=", uuid);
		b_dial_send(&m, what);
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
	b_dial_send(&m, "punch_hole_sent from=");
}

static void b_on_fetch_local(const char *id, const Hbb__FetchLocalAddr *fl)
{
	printf("got=fetch_local_addr relay=%s\n", fl->relay_server ? fl->relay_server : "");
	int fd = peer_tcp_dial(&peer_srv);
	struct rd_sockaddr local;
	char s[RD_ADDRSTRLEN];
	rd_net_local_addr(fd, &local);
	printf("sent=local_addr local=%s\n", rd_net_addr_str(&local, s, sizeof(s)));
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
	peer_tcp_send(fd, &m);
	usleep(50000);
	close(fd);
}

static void b_on_request_relay(const Hbb__RequestRelay *rq)
{
	printf("got=request_relay uuid=%s relay=%s secure=%d socket_addr_len=%zu\n", rq->uuid ? rq->uuid : "",
		rq->relay_server ? rq->relay_server : "", rq->secure, rq->socket_addr.len);
	print_token("got_relay_token", &rq->rdesk_relay_token, rq->uuid);
	Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
	rr.socket_addr = rq->socket_addr;
	rr.version = "1.4.0";
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	m.relay_response = &rr;
	b_dial_send(&m, "relay_response from=");
}

static int cmd_target(int argc, char **argv)
{
	if (argc < 4)
		peer_die("target ID UUID SEED SECS [sign]", NULL);
	const char *id = argv[0], *uuid = argv[1], *seed = argv[2];
	double until = rd_now() + atof(argv[3]), next_reg = 0;
	bool registered = false, sign = argc > 4 && !strcmp(argv[4], "sign");
	int fd = peer_udp_socket();
	while (rd_now() < until) {
		if (rd_now() >= next_reg) {
			peer_send_register_peer(fd, id);
			next_reg = rd_now() + 1;
		}
		Hbb__RendezvousMessage *m = peer_udp_recv(fd, 0.2);
		if (!m)
			continue;
		switch (m->union_case) {
		case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE:
			if (m->register_peer_response->request_pk && sign)
				peer_send_register_pk_signed(fd, id, uuid, seed);
			else if (m->register_peer_response->request_pk)
				peer_send_register_pk(fd, id, uuid, seed);
			else if (!registered && (registered = true))
				printf("registered=1\n");
			break;
		case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE:
			printf("register_pk=%s\n", peer_pk_result_name(m->register_pk_response->result));
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
	struct rd_sockaddr a = argc > 0 && !strcmp(argv[0], "nat") ? peer_port_minus_one() : peer_srv;
	Hbb__TestNatRequest rq = HBB__TEST_NAT_REQUEST__INIT;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_REQUEST;
	m.test_nat_request = &rq;
	int fd = peer_tcp_dial(&a);
	struct rd_sockaddr local;
	rd_net_local_addr(fd, &local);
	peer_tcp_send(fd, &m);
	bool closed;
	Hbb__RendezvousMessage *r = peer_tcp_recv(fd, 5, &closed);
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
	struct rd_sockaddr a = peer_port_minus_one();
	Hbb__OnlineRequest rq = HBB__ONLINE_REQUEST__INIT;
	rq.id = "asker1";
	rq.n_peers = (size_t)argc;
	rq.peers = argv;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_ONLINE_REQUEST;
	m.online_request = &rq;
	int fd = peer_tcp_dial(&a);
	peer_tcp_send(fd, &m);
	bool closed;
	Hbb__RendezvousMessage *r = peer_tcp_recv(fd, 5, &closed);
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

static int run_command(const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "register") && argc >= 1) {
		int fd = peer_udp_socket();
		int r = do_register(fd, argv[0], argc > 1 ? argv[1] : "uuid-default",
			argc > 2 ? argv[2] : argv[0], false);
		close(fd);
		return r < 0 ? 1 : 0;
	}
	if (!strcmp(cmd, "register-pk") && argc >= 3) {
		int fd = peer_udp_socket();
		peer_send_register_pk(fd, argv[0], argv[1], argv[2]);
		Hbb__RendezvousMessage *m = peer_udp_recv(fd, 2);
		if (m && m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE)
			printf("result=%s\n", peer_pk_result_name(m->register_pk_response->result));
		else
			printf("result=none\n");
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "register-peer") && argc >= 1) {
		int fd = peer_udp_socket();
		peer_send_register_peer(fd, argv[0]);
		Hbb__RendezvousMessage *m = peer_udp_recv(fd, 2);
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
	if (!strcmp(cmd, "relay-session"))
		return cmd_relay_session(argc, argv);
	if (!strcmp(cmd, "test-nat"))
		return cmd_test_nat(argc, argv);
	if (!strcmp(cmd, "online"))
		return cmd_online(argc, argv);
	int rc = peer_hostile_command(cmd, argc, argv);
	if (rc < 0)
		rc = peer_ids_command(cmd, argc, argv);
	if (rc >= 0)
		return rc;
	peer_die("unknown command or arguments", cmd);
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
			if (rd_net_addr_parse_numeric(optarg, 21116, &peer_srv) != RD_OK)
				peer_die("bad server address", optarg);
		} else if (opt == 'l') {
			if (rd_net_addr_parse_numeric(optarg, 0, &peer_local_ip) != RD_OK)
				peer_die("bad local address", optarg);
			peer_have_local_ip = true;
		} else if (opt == 'k') {
			if (rd_pk_from_b64(optarg, peer_server_pk) != RD_OK)
				peer_die("bad server key", optarg);
			peer_have_server_pk = true;
		} else {
			return 2;
		}
	}
	if (optind >= argc)
		peer_die("no command (see the top of rv-peer.c)", NULL);
	const char *cmd = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_command(cmd, argc, argv);
}

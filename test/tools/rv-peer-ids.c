/* rv-peer-ids: the clients of the ID-ownership tests: signed RegisterPk
 * (common/regsig.h), replay of a saved datagram, a stranger's target replies,
 * and a fake rendezvous server that answers an agent out of turn.
 *
 *   regpk ID UUID KEY [sign] [time=MS] [old=SEED] [save=FILE]
 *       one RegisterPk; prints result= and refusal=. UUID is text or hex:HEX;
 *       KEY a seed text (deterministic pair) or pk:BASE64 (public key only).
 *       sign adds rdesk_time (now, or MS) and rdesk_sig; old=SEED makes it a
 *       rotation signed by SEED's key; save=FILE keeps the datagram.
 *   replay FILE                 send a saved datagram; prints result=, refusal=
 *   spoof-reply KIND ID ADDR    KIND punch-sent, local-addr or relay-response
 *       for the requester at ADDR, as if we were ID's target
 *   fake-server PORT SECS       a UDP "server" on PORT that never answers a
 *       RegisterPk in time but sends UUID_MISMATCH 2.5 s later; prints what came
 *   pubkey SEED                 the base64 public key of SEED's pair
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "err.h"
#include "regsig.h"
#include "util.h"
#include "rv-peer.h"

#define UUID_MAX 256

static size_t parse_uuid(const char *text, uint8_t out[UUID_MAX])
{
	size_t len = 0;
	if (!strncmp(text, "hex:", 4)) {
		if (sodium_hex2bin(out, UUID_MAX, text + 4, strlen(text + 4), "\n", &len, NULL) != 0)
			peer_die("bad hex uuid", text);
		return len;
	}
	len = strlen(text);
	if (len > UUID_MAX)
		peer_die("uuid too long", NULL);
	memcpy(out, text, len);
	return len;
}

/* A seed gives a full pair; pk:BASE64 only the public half (cannot sign). */
static bool parse_key(const char *text, struct rd_keypair *kp)
{
	memset(kp, 0, sizeof(*kp));
	if (!strncmp(text, "pk:", 3)) {
		if (rd_pk_from_b64(text + 3, kp->pk) != RD_OK)
			peer_die("bad public key", text);
		return false;
	}
	peer_keys(text, kp->pk, kp->sk);
	return true;
}

static void print_pk_response(int fd)
{
	Hbb__RendezvousMessage *m = peer_udp_recv(fd, 2);
	if (m && m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE)
		printf("result=%s\nrefusal=%u\n", peer_pk_result_name(m->register_pk_response->result),
			m->register_pk_response->rdesk_refusal);
	else
		printf("result=none\n");
	if (m)
		hbb__rendezvous_message__free_unpacked(m, NULL);
}

static void save_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		peer_die("cannot write", path);
}

static int cmd_regpk(int argc, char **argv)
{
	if (argc < 3)
		peer_die("regpk ID UUID KEY [sign] [time=MS] [old=SEED] [save=FILE]", NULL);
	uint8_t uuid[UUID_MAX], sigs[2 * RD_SIGN_LEN];
	struct rd_keypair kp, old;
	bool can_sign = parse_key(argv[2], &kp), sign = false, rotate = false;
	uint64_t t = (uint64_t)rd_wall_ms();
	const char *save = NULL;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "sign"))
			sign = true;
		else if (!strncmp(argv[i], "time=", 5))
			t = strtoull(argv[i] + 5, NULL, 10);
		else if (!strncmp(argv[i], "old=", 4))
			rotate = parse_key(argv[i] + 4, &old);
		else if (!strncmp(argv[i], "save=", 5))
			save = argv[i] + 5;
		else
			peer_die("unknown regpk option", argv[i]);
	}
	if ((sign || rotate) && !can_sign)
		peer_die("cannot sign with a public key only", argv[2]);
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	rk.id = argv[0];
	rk.uuid = (ProtobufCBinaryData){ parse_uuid(argv[1], uuid), uuid };
	rk.pk = (ProtobufCBinaryData){ RD_PK_LEN, kp.pk };
	if ((sign || rotate) && rd_regsig_sign(&rk, t, &kp, rotate ? &old : NULL, sigs) != RD_OK)
		peer_die("sign", NULL);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &rk;
	if (save) {
		uint8_t *p;
		size_t n;
		if (rd_pb_pack(&m.base, &p, &n) != RD_OK)
			peer_die("pack", NULL);
		save_file(save, p, n);
		free(p);
	}
	int fd = peer_udp_socket();
	peer_udp_send(fd, &m);
	print_pk_response(fd);
	close(fd);
	return 0;
}

void peer_send_register_pk_signed(int fd, const char *id, const char *uuid, const char *seed)
{
	struct rd_keypair kp;
	uint8_t sigs[2 * RD_SIGN_LEN];
	peer_keys(seed, kp.pk, kp.sk);
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	rk.id = (char *)id;
	rk.uuid = (ProtobufCBinaryData){ strlen(uuid), (uint8_t *)uuid };
	rk.pk = (ProtobufCBinaryData){ RD_PK_LEN, kp.pk };
	if (rd_regsig_sign(&rk, (uint64_t)rd_wall_ms(), &kp, NULL, sigs) != RD_OK)
		peer_die("sign", NULL);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &rk;
	peer_udp_send(fd, &m);
}

static int cmd_replay(int argc, char **argv)
{
	if (argc < 1)
		peer_die("replay FILE", NULL);
	uint8_t buf[65536];
	FILE *f = fopen(argv[0], "rb");
	if (!f)
		peer_die("cannot read", argv[0]);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	int fd = peer_udp_socket();
	sendto(fd, buf, n, 0, &peer_srv.u.sa, peer_srv.len);
	print_pk_response(fd);
	close(fd);
	return 0;
}

/* A reply only the target should send, for the requester at addr, from us. */
static int cmd_spoof_reply(int argc, char **argv)
{
	if (argc < 3)
		peer_die("spoof-reply punch-sent|local-addr|relay-response ID ADDR", NULL);
	struct rd_sockaddr req, fake;
	if (rd_net_addr_parse_numeric(argv[2], 0, &req) != RD_OK)
		peer_die("bad requester address", argv[2]);
	rd_net_addr_parse_numeric("10.66.66.66:6666", 0, &fake);
	uint8_t ma[RD_ADDR_MANGLE_MAX], mf[RD_ADDR_MANGLE_MAX];
	ProtobufCBinaryData a = { (size_t)rd_addr_mangle(&req, ma), ma };
	ProtobufCBinaryData fk = { (size_t)rd_addr_mangle(&fake, mf), mf };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__PunchHoleSent ps = HBB__PUNCH_HOLE_SENT__INIT;
	Hbb__LocalAddr la = HBB__LOCAL_ADDR__INIT;
	Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
	if (!strcmp(argv[0], "punch-sent")) {
		ps.socket_addr = a;
		ps.id = argv[1];
		ps.relay_server = "10.66.66.66:21117";
		ps.version = "1.4.0";
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_SENT;
		m.punch_hole_sent = &ps;
	} else if (!strcmp(argv[0], "local-addr")) {
		la.socket_addr = a;
		la.local_addr = fk;
		la.id = argv[1];
		la.version = "1.4.0";
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_LOCAL_ADDR;
		m.local_addr = &la;
	} else if (!strcmp(argv[0], "relay-response")) {
		rr.socket_addr = a;
		rr.relay_server = "10.66.66.66:21117";
		rr.version = "1.4.0";
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
		m.relay_response = &rr;
	} else {
		peer_die("unknown reply kind", argv[0]);
	}
	int fd = peer_tcp_dial(&peer_srv);
	peer_tcp_send(fd, &m);
	bool closed;
	Hbb__RendezvousMessage *r = peer_tcp_recv(fd, 3, &closed);
	printf("sent=%s closed=%d\n", argv[0], closed);
	if (r)
		hbb__rendezvous_message__free_unpacked(r, NULL);
	close(fd);
	return 0;
}

struct stray {
	struct rd_sockaddr to;
	double at;
};

static void stray_send(int fd, const struct stray *st)
{
	Hbb__RegisterPkResponse r = HBB__REGISTER_PK_RESPONSE__INIT;
	r.result = HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE;
	m.register_pk_response = &r;
	uint8_t *p;
	size_t n;
	if (rd_pb_pack(&m.base, &p, &n) != RD_OK)
		peer_die("pack", NULL);
	sendto(fd, p, n, 0, &st->to.u.sa, st->to.len);
	free(p);
	printf("sent=stray_uuid_mismatch\n");
}

/* Answers every RegisterPk too late: UUID_MISMATCH 2.5 s after it came, when
 * the agent has given up waiting for it. */
static int cmd_fake_server(int argc, char **argv)
{
	if (argc < 2)
		peer_die("fake-server PORT SECS", NULL);
	struct rd_sockaddr a;
	char txt[64];
	snprintf(txt, sizeof(txt), "127.0.0.1:%s", argv[0]);
	if (rd_net_addr_parse_numeric(txt, 0, &a) != RD_OK)
		peer_die("bad port", argv[0]);
	int fd = rd_net_udp_bind(&a, 0);
	if (fd < 0)
		peer_die("bind", strerror(errno));
	double until = rd_now() + atof(argv[1]);
	struct stray pend[64];
	size_t npend = 0, nsigned = 0, nreg = 0;
	while (rd_now() < until) {
		for (size_t i = 0; i < npend;) {
			if (rd_now() < pend[i].at) {
				i++;
				continue;
			}
			stray_send(fd, &pend[i]);
			pend[i] = pend[--npend];
		}
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		uint8_t buf[2048];
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(buf, (size_t)n);
		if (!m)
			continue;
		if (m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK) {
			nreg++;
			nsigned += m->register_pk->rdesk_sig.len == RD_SIGN_LEN &&
				rd_regsig_verify(m->register_pk) == RD_OK;
			if (npend < RD_ARRAY_LEN(pend)) {
				rd_net_addr_from(&pend[npend].to, (struct sockaddr *)&from, fl);
				pend[npend++].at = rd_now() + 2.5;
			}
		}
		hbb__rendezvous_message__free_unpacked(m, NULL);
	}
	printf("register_pk=%zu signed=%zu\n", nreg, nsigned);
	close(fd);
	return 0;
}

int peer_ids_command(const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "regpk"))
		return cmd_regpk(argc, argv);
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc, argv);
	if (!strcmp(cmd, "spoof-reply"))
		return cmd_spoof_reply(argc, argv);
	if (!strcmp(cmd, "fake-server"))
		return cmd_fake_server(argc, argv);
	if (!strcmp(cmd, "pubkey") && argc >= 1) {
		struct rd_keypair kp;
		char b64[RD_B64_PK_LEN + 1];
		peer_keys(argv[0], kp.pk, kp.sk);
		rd_pk_to_b64(kp.pk, b64);
		printf("%s\n", b64);
		return 0;
	}
	return -1;
}

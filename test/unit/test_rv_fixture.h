/* Fixture of the rendezvous core tests (test_rv_server.c, test_rv_server_tcp.c):
 * a server whose actions are recorded, and helpers that send messages in. */
#ifndef TEST_RV_FIXTURE_H
#define TEST_RV_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "addr.h"
#include "crypto.h"
#include "err.h"
#include "metrics.h"
#include "net.h"
#include "pb.h"
#include "regsig.h"
#include "util.h"
#include "log.h"
#include "rendezvous-server/registry.h"
#include "rendezvous-server/server.h"

#define MAXREC 64

struct rec {
	int kind;                 /* 'u' udp, 't' tcp, 'c' close */
	struct rd_sockaddr to;
	void *conn;
	bool flush;
	uint8_t data[1024];
	size_t len;
};

struct fx {
	struct rv_server *s;
	struct rd_metrics *m;
	struct rd_keypair kp;
	struct rec recs[MAXREC];
	size_t n;
	size_t puts;
	char last_put_id[80];
	uint8_t last_put_pk[32];
	bool last_put_pinned;
	uint64_t last_put_sig_time;
	int conns[16];            /* fake connection handles */
};

static __attribute__((unused)) void rec_add(struct fx *f, int kind, const struct rd_sockaddr *to, void *conn,
	const uint8_t *p, size_t len, bool flush)
{
	assert_true(f->n < MAXREC);
	struct rec *r = &f->recs[f->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	if (to)
		r->to = *to;
	r->conn = conn;
	r->flush = flush;
	assert_true(len <= sizeof(r->data));
	if (len)
		memcpy(r->data, p, len);
	r->len = len;
}

static __attribute__((unused)) void op_udp(void *ud, const struct rd_sockaddr *to, const uint8_t *p, size_t len)
{
	rec_add(ud, 'u', to, NULL, p, len, false);
}

static __attribute__((unused)) void op_tcp(void *ud, void *conn, const uint8_t *p, size_t len)
{
	rec_add(ud, 't', NULL, conn, p, len, false);
}

static __attribute__((unused)) void op_close(void *ud, void *conn, bool flush)
{
	rec_add(ud, 'c', NULL, conn, NULL, 0, flush);
}

static __attribute__((unused)) void op_put(void *ud, const struct rv_binding *b)
{
	struct fx *f = ud;
	f->puts++;
	rd_strlcpy(f->last_put_id, b->id, sizeof(f->last_put_id));
	assert_int_equal(b->pk_len, 32);
	memcpy(f->last_put_pk, b->pk, 32);
	f->last_put_pinned = b->pinned;
	f->last_put_sig_time = b->sig_time;
}

static const struct rv_server_ops ops = { op_udp, op_tcp, op_close, op_put };

static __attribute__((unused)) struct fx *fx_new(bool always_relay, const char *const *relays, size_t nrelays,
	void (*tune)(struct rv_limits *))
{
	struct fx *f = xcalloc(1, sizeof(*f));
	f->m = rd_metrics_new();
	rd_key_generate(&f->kp, false);
	struct rv_server_config c = { .sign_sk = f->kp.sk, .always_relay = always_relay,
		.relays = relays, .nrelays = nrelays, .metrics = f->m };
	char lic[RD_B64_PK_LEN + 1];
	rd_pk_to_b64(f->kp.pk, lic);
	c.licence = lic;
	rv_limits_default(&c.lim);
	c.lim.reg_rate = 1000;
	c.lim.reg_burst = 1000;
	c.lim.punch_rate = 1000;
	c.lim.punch_burst = 1000;
	if (tune)
		tune(&c.lim);
	f->s = rv_server_new(&c, &ops, f);
	return f;
}

static __attribute__((unused)) void fx_free(struct fx *f)
{
	rv_server_free(f->s);
	rd_metrics_free(f->m);
	free(f);
}

static __attribute__((unused)) struct rd_sockaddr A(const char *s)
{
	struct rd_sockaddr a;
	assert_int_equal(rd_net_addr_parse_numeric(s, 0, &a), RD_OK);
	return a;
}

static __attribute__((unused)) double metric(struct fx *f, const char *series)
{
	struct rd_buf b;
	rd_buf_init(&b, 0);
	rd_metrics_render(f->m, &b);
	rd_buf_put_u8(&b, 0);
	char pat[200];
	snprintf(pat, sizeof(pat), "\n%s ", series);
	const char *p = strstr((const char *)rd_buf_ptr(&b), pat);
	double v = p ? atof(p + strlen(pat)) : -1;
	rd_buf_free(&b);
	return v;
}

static __attribute__((unused)) Hbb__RendezvousMessage *rec_msg(const struct rec *r)
{
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(r->data, r->len);
	assert_non_null(m);
	return m;
}

static __attribute__((unused)) void send_msg_udp(struct fx *f, const char *from, Hbb__RendezvousMessage *m, double now)
{
	uint8_t *p;
	size_t n;
	assert_int_equal(rd_pb_pack(&m->base, &p, &n), RD_OK);
	struct rd_sockaddr a = A(from);
	rv_server_udp_input(f->s, &a, p, n, now);
	free(p);
}

static __attribute__((unused)) void tcp_frame(struct fx *f, struct rv_tcp *t, Hbb__RendezvousMessage *m, double now)
{
	uint8_t *p;
	size_t n;
	assert_int_equal(rd_pb_pack(&m->base, &p, &n), RD_OK);
	rv_server_tcp_frame(f->s, t, p, n, now);
	free(p);
}

static __attribute__((unused)) void reg_peer(struct fx *f, const char *from, const char *id, double now)
{
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	rp.id = (char *)id;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	send_msg_udp(f, from, &m, now);
}

static __attribute__((unused)) void reg_pk(struct fx *f, const char *from, const char *id, const char *uuid, uint8_t pkbyte,
	double now)
{
	uint8_t pk[32];
	memset(pk, pkbyte, sizeof(pk));
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	rk.id = (char *)id;
	rk.uuid = (ProtobufCBinaryData){ strlen(uuid), (uint8_t *)uuid };
	rk.pk = (ProtobufCBinaryData){ 32, pk };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &rk;
	send_msg_udp(f, from, &m, now);
}

/* A RegisterPk signed with the pair of seed (and, with old_seed, a rotation
 * signed by old_seed's key) at time t (ms); with tamper, one bit of the
 * signature flipped. */
static __attribute__((unused)) void reg_signed(struct fx *f, const char *from, const char *id, const char *uuid,
	const char *seed, uint64_t t, const char *old_seed, bool tamper, double now)
{
	struct rd_keypair kp, old;
	uint8_t s32[32], sigs[2 * RD_SIGN_LEN];
	crypto_generichash(s32, 32, (const uint8_t *)seed, strlen(seed), NULL, 0);
	crypto_sign_seed_keypair(kp.pk, kp.sk, s32);
	if (old_seed) {
		crypto_generichash(s32, 32, (const uint8_t *)old_seed, strlen(old_seed), NULL, 0);
		crypto_sign_seed_keypair(old.pk, old.sk, s32);
	}
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	rk.id = (char *)id;
	rk.uuid = (ProtobufCBinaryData){ strlen(uuid), (uint8_t *)uuid };
	rk.pk = (ProtobufCBinaryData){ 32, kp.pk };
	assert_int_equal(rd_regsig_sign(&rk, t, &kp, old_seed ? &old : NULL, sigs), RD_OK);
	if (tamper)
		sigs[5] ^= 1;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &rk;
	send_msg_udp(f, from, &m, now);
}

/* rdesk_refusal of the last RegisterPk reply. */
static __attribute__((unused)) unsigned last_pk_refusal(struct fx *f)
{
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[f->n - 1]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE);
	unsigned r = m->register_pk_response->rdesk_refusal;
	hbb__rendezvous_message__free_unpacked(m, NULL);
	return r;
}

/* Result of the last RegisterPk reply; -1 when none. */
static __attribute__((unused)) int last_pk_result(struct fx *f)
{
	assert_true(f->n > 0);
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[f->n - 1]);
	int r = m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE ?
		(int)m->register_pk_response->result : -1;
	hbb__rendezvous_message__free_unpacked(m, NULL);
	return r;
}

static __attribute__((unused)) int last_request_pk(struct fx *f)
{
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[f->n - 1]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE);
	int r = m->register_peer_response->request_pk;
	hbb__rendezvous_message__free_unpacked(m, NULL);
	return r;
}

static __attribute__((unused)) void registered(struct fx *f, const char *from, const char *id, double now)
{
	reg_pk(f, from, id, "uuid-1", 7, now);
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__OK);
}

static __attribute__((unused)) void tune_tight(struct rv_limits *l)
{
	l->reg_rate = 0.1;
	l->reg_burst = 3;
	l->ids_per_source = 2;
	l->punch_rate = 0.1;
	l->punch_burst = 2;
	l->pending_max = 1;
	l->pending_timeout = 5;
}

static __attribute__((unused)) struct rv_tcp *open_conn(struct fx *f, int i, const char *from, enum rv_port port)
{
	struct rd_sockaddr a = A(from);
	struct rv_tcp *t = rv_server_tcp_open(f->s, &f->conns[i], &a, port, 0);
	assert_non_null(t);
	return t;
}

static __attribute__((unused)) void punch_req(struct fx *f, struct rv_tcp *t, const char *id, const char *licence, double now)
{
	Hbb__PunchHoleRequest rq = HBB__PUNCH_HOLE_REQUEST__INIT;
	rq.id = (char *)id;
	rq.nat_type = HBB__NAT_TYPE__ASYMMETRIC;
	char lic[RD_B64_PK_LEN + 1];
	rd_pk_to_b64(f->kp.pk, lic);
	rq.licence_key = (char *)(licence ? licence : lic);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_REQUEST;
	m.punch_hole_request = &rq;
	tcp_frame(f, t, &m, now);
}

/* The last record must be a PunchHoleResponse to conn i with this failure. */
static __attribute__((unused)) void expect_failure(struct fx *f, int i, int failure)
{
	assert_true(f->n >= 2);
	struct rec *r = &f->recs[f->n - 2];
	assert_int_equal(r->kind, 't');
	assert_ptr_equal(r->conn, &f->conns[i]);
	Hbb__RendezvousMessage *m = rec_msg(r);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_RESPONSE);
	assert_int_equal(m->punch_hole_response->socket_addr.len, 0);
	assert_int_equal(m->punch_hole_response->failure, failure);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	assert_int_equal(f->recs[f->n - 1].kind, 'c');
	assert_true(f->recs[f->n - 1].flush);
}

static __attribute__((unused)) void punch_sent(struct fx *f, struct rv_tcp *b, const ProtobufCBinaryData *echo, double now)
{
	Hbb__PunchHoleSent ps = HBB__PUNCH_HOLE_SENT__INIT;
	ps.socket_addr = *echo;
	ps.id = "bravo01";
	ps.version = "1.4.0";
	ps.nat_type = HBB__NAT_TYPE__ASYMMETRIC;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_SENT;
	m.punch_hole_sent = &ps;
	tcp_frame(f, b, &m, now);
}

/* main() of the rendezvous server tests: crypto ready, quiet logs, the group. */
#define RD_RV_RUN_TESTS(tests) \
	(rd_crypto_init() != RD_OK ? 1 \
	 : (rd_log_set_level(RD_LOG_ERR), cmocka_run_group_tests(tests, NULL, NULL)))

#endif

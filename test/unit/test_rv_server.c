/* rendezvous core (server.c, server_tcp.c) without sockets: datagrams,
 * frames and time go in, the recorded actions are checked. */
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
	int conns[16];            /* fake connection handles */
};

static void rec_add(struct fx *f, int kind, const struct rd_sockaddr *to, void *conn,
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

static void op_udp(void *ud, const struct rd_sockaddr *to, const uint8_t *p, size_t len)
{
	rec_add(ud, 'u', to, NULL, p, len, false);
}

static void op_tcp(void *ud, void *conn, const uint8_t *p, size_t len)
{
	rec_add(ud, 't', NULL, conn, p, len, false);
}

static void op_close(void *ud, void *conn, bool flush)
{
	rec_add(ud, 'c', NULL, conn, NULL, 0, flush);
}

static void op_put(void *ud, const struct rv_binding *b)
{
	struct fx *f = ud;
	f->puts++;
	rd_strlcpy(f->last_put_id, b->id, sizeof(f->last_put_id));
	assert_int_equal(b->pk_len, 32);
	memcpy(f->last_put_pk, b->pk, 32);
}

static const struct rv_server_ops ops = { op_udp, op_tcp, op_close, op_put };

static struct fx *fx_new(bool always_relay, const char *const *relays, size_t nrelays,
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

static void fx_free(struct fx *f)
{
	rv_server_free(f->s);
	rd_metrics_free(f->m);
	free(f);
}

static struct rd_sockaddr A(const char *s)
{
	struct rd_sockaddr a;
	assert_int_equal(rd_net_addr_parse_numeric(s, 0, &a), RD_OK);
	return a;
}

static double metric(struct fx *f, const char *series)
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

static Hbb__RendezvousMessage *rec_msg(const struct rec *r)
{
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(r->data, r->len);
	assert_non_null(m);
	return m;
}

static void send_msg_udp(struct fx *f, const char *from, Hbb__RendezvousMessage *m, double now)
{
	uint8_t *p;
	size_t n;
	assert_int_equal(rd_pb_pack(&m->base, &p, &n), RD_OK);
	struct rd_sockaddr a = A(from);
	rv_server_udp_input(f->s, &a, p, n, now);
	free(p);
}

static void tcp_frame(struct fx *f, struct rv_tcp *t, Hbb__RendezvousMessage *m, double now)
{
	uint8_t *p;
	size_t n;
	assert_int_equal(rd_pb_pack(&m->base, &p, &n), RD_OK);
	rv_server_tcp_frame(f->s, t, p, n, now);
	free(p);
}

static void reg_peer(struct fx *f, const char *from, const char *id, double now)
{
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	rp.id = (char *)id;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	send_msg_udp(f, from, &m, now);
}

static void reg_pk(struct fx *f, const char *from, const char *id, const char *uuid, uint8_t pkbyte,
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

/* Result of the last RegisterPk reply; -1 when none. */
static int last_pk_result(struct fx *f)
{
	assert_true(f->n > 0);
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[f->n - 1]);
	int r = m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE ?
		(int)m->register_pk_response->result : -1;
	hbb__rendezvous_message__free_unpacked(m, NULL);
	return r;
}

static int last_request_pk(struct fx *f)
{
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[f->n - 1]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE);
	int r = m->register_peer_response->request_pk;
	hbb__rendezvous_message__free_unpacked(m, NULL);
	return r;
}

static void registered(struct fx *f, const char *from, const char *id, double now)
{
	reg_pk(f, from, id, "uuid-1", 7, now);
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__OK);
}

static void test_register(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	reg_peer(f, "1.2.3.4:1000", "alpha01", 0);
	assert_int_equal(f->recs[0].kind, 'u');
	assert_true(rd_net_addr_equal(&f->recs[0].to, &(struct rd_sockaddr){ 0 }) == false);
	assert_int_equal(last_request_pk(f), 1);
	reg_pk(f, "1.2.3.4:1000", "alpha01", "uuid-1", 7, 0.1);
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__OK);
	assert_int_equal(f->puts, 1);
	assert_string_equal(f->last_put_id, "alpha01");
	assert_int_equal(f->last_put_pk[0], 7);
	reg_peer(f, "1.2.3.4:1001", "alpha01", 1); /* new port, same IP: fine */
	assert_int_equal(last_request_pk(f), 0);
	assert_int_equal(rv_server_online(f->s, 2), 1);
	assert_int_equal(rv_server_online(f->s, 31.5), 0); /* 30 s window */
	reg_peer(f, "9.9.9.9:1000", "alpha01", 2); /* another IP must prove itself */
	assert_int_equal(last_request_pk(f), 1);
	assert_true(metric(f, "rdesk_rendezvous_registrations_total{kind=\"register_peer\"}") == 1);
	assert_true(metric(f, "rdesk_rendezvous_new_ids_total") == 1);
	fx_free(f);
}

static void test_uuid_and_key_rules(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "1.2.3.4:1000", "alpha01", 0);
	reg_pk(f, "1.2.3.4:1000", "alpha01", "uuid-2", 7, 10);
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH);
	reg_pk(f, "1.2.3.4:1000", "alpha01", "uuid-1", 8, 20); /* key change, same IP */
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__OK);
	assert_int_equal(f->puts, 2);
	assert_int_equal(f->last_put_pk[0], 8);
	reg_pk(f, "5.5.5.5:1000", "alpha01", "uuid-1", 9, 30); /* key and IP change */
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH);
	reg_pk(f, "5.5.5.5:1000", "alpha01", "uuid-1", 8, 40); /* same key from a new IP */
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__OK);
	assert_true(metric(f, "rdesk_rendezvous_key_refusals_total") == 2);
	/* ID format */
	reg_pk(f, "1.2.3.4:1000", "abc", "uuid-1", 7, 50);
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH);
	reg_pk(f, "1.2.3.4:1000", "abc def", "uuid-1", 7, 50);
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__INVALID_ID_FORMAT);
	/* missing uuid or a short key: dropped without an answer */
	size_t n = f->n;
	reg_pk(f, "1.2.3.4:1000", "alpha02", "", 7, 60);
	assert_int_equal(f->n, n);
	fx_free(f);
}

static void test_regpk_burst(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "1.2.3.4:1000", "alpha01", 0);
	reg_pk(f, "1.2.3.4:1000", "alpha01", "uuid-1", 7, 5);
	reg_pk(f, "1.2.3.4:1000", "alpha01", "uuid-1", 7, 10);
	assert_int_equal(last_pk_result(f), 0);
	reg_pk(f, "1.2.3.4:1000", "alpha01", "uuid-1", 7, 15); /* 4th with gaps <= 6 s */
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT);
	reg_pk(f, "1.2.3.4:1000", "alpha01", "uuid-1", 7, 22); /* after a 7 s pause */
	assert_int_equal(last_pk_result(f), 0);
	fx_free(f);
}

static void tune_tight(struct rv_limits *l)
{
	l->reg_rate = 0.1;
	l->reg_burst = 3;
	l->ids_per_source = 2;
	l->punch_rate = 0.1;
	l->punch_burst = 2;
	l->pending_max = 1;
	l->pending_timeout = 5;
}

static void test_source_limits(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, tune_tight);
	registered(f, "1.2.3.4:1000", "alpha01", 0);
	registered(f, "1.2.3.4:1000", "alpha02", 0);
	reg_pk(f, "1.2.3.4:1000", "alpha03", "u", 7, 0); /* third ID from one source */
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT);
	assert_int_equal(rv_registry_count(rv_server_registry(f->s)), 2);
	size_t n = f->n;
	reg_peer(f, "1.2.3.4:1000", "alpha01", 0); /* bucket empty: dropped silently */
	assert_int_equal(f->n, n);
	reg_peer(f, "1.2.3.5:1000", "alpha01", 0); /* another source */
	assert_int_equal(f->n, n + 1);
	assert_true(metric(f, "rdesk_rendezvous_drops_total{reason=\"rate\"}") == 1);
	assert_true(metric(f, "rdesk_rendezvous_drops_total{reason=\"id_cap\"}") == 1);
	fx_free(f);
}

static void test_malformed_udp(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	struct rd_sockaddr a = A("1.2.3.4:1000");
	const uint8_t bad[][4] = { { 0xff, 0xff, 0xff, 0xff }, { 0x32, 0x05, 0x0a, 0x01 }, { 0x0f } };
	for (size_t i = 0; i < RD_ARRAY_LEN(bad); i++)
		rv_server_udp_input(f->s, &a, bad[i], sizeof(bad[i]), 0);
	/* a valid message that does not belong on UDP */
	Hbb__PunchHoleRequest rq = HBB__PUNCH_HOLE_REQUEST__INIT;
	rq.id = "alpha01";
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_REQUEST;
	m.punch_hole_request = &rq;
	send_msg_udp(f, "1.2.3.4:1000", &m, 0);
	assert_int_equal(f->n, 0);
	assert_true(metric(f, "rdesk_rendezvous_drops_total{reason=\"malformed\"}") == 3);
	assert_true(metric(f, "rdesk_rendezvous_drops_total{reason=\"unexpected\"}") == 1);
	/* still serving */
	reg_peer(f, "1.2.3.4:1000", "alpha01", 1);
	assert_int_equal(last_request_pk(f), 1);
	fx_free(f);
}

static struct rv_tcp *open_conn(struct fx *f, int i, const char *from, enum rv_port port)
{
	struct rd_sockaddr a = A(from);
	struct rv_tcp *t = rv_server_tcp_open(f->s, &f->conns[i], &a, port, 0);
	assert_non_null(t);
	return t;
}

static void punch_req(struct fx *f, struct rv_tcp *t, const char *id, const char *licence, double now)
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
static void expect_failure(struct fx *f, int i, int failure)
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

static void test_punch_failures(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	struct rv_tcp *t = open_conn(f, 0, "1.2.3.4:5000", RV_PORT_MAIN);
	punch_req(f, t, "nosuch1", NULL, 1);
	expect_failure(f, 0, HBB__PUNCH_HOLE_RESPONSE__FAILURE__ID_NOT_EXIST);
	rv_server_tcp_closed(f->s, t, RD_OK);
	t = open_conn(f, 1, "1.2.3.4:5001", RV_PORT_MAIN);
	punch_req(f, t, "bravo01", NULL, 40); /* 40 s after its registration */
	expect_failure(f, 1, HBB__PUNCH_HOLE_RESPONSE__FAILURE__OFFLINE);
	rv_server_tcp_closed(f->s, t, RD_OK);
	t = open_conn(f, 2, "1.2.3.4:5002", RV_PORT_MAIN);
	punch_req(f, t, "bravo01", "not-the-key", 1);
	expect_failure(f, 2, HBB__PUNCH_HOLE_RESPONSE__FAILURE__LICENSE_MISMATCH);
	rv_server_tcp_closed(f->s, t, RD_OK);
	assert_true(metric(f, "rdesk_rendezvous_punch_requests_total{outcome=\"offline\"}") == 1);
	fx_free(f);
}

static void punch_sent(struct fx *f, struct rv_tcp *b, const ProtobufCBinaryData *echo, double now)
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

static void test_punch_path(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	f->n = 0;
	struct rv_tcp *a = open_conn(f, 0, "1.2.3.4:5000", RV_PORT_MAIN);
	punch_req(f, a, "bravo01", NULL, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->recs[0].kind, 'u');
	assert_true(rd_net_addr_equal(&f->recs[0].to, &(struct rd_sockaddr){ 0 }) == false);
	struct rd_sockaddr bt = A("5.6.7.8:6000"), got;
	assert_true(rd_net_addr_equal(&f->recs[0].to, &bt));
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[0]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE);
	assert_int_equal(m->punch_hole->nat_type, HBB__NAT_TYPE__ASYMMETRIC);
	assert_int_equal(rd_addr_demangle(m->punch_hole->socket_addr.data, m->punch_hole->socket_addr.len, &got), RD_OK);
	struct rd_sockaddr aa = A("1.2.3.4:5000");
	assert_true(rd_net_addr_equal(&got, &aa));
	assert_int_equal(rv_server_pending(f->s), 1);
	/* B answers from a new TCP connection */
	struct rv_tcp *b = open_conn(f, 1, "5.6.7.8:7000", RV_PORT_MAIN);
	punch_sent(f, b, &m->punch_hole->socket_addr, 2);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->recs[1].kind, 't');
	assert_ptr_equal(f->recs[1].conn, &f->conns[0]);
	m = rec_msg(&f->recs[1]);
	Hbb__PunchHoleResponse *r = m->punch_hole_response;
	assert_int_equal(rd_addr_demangle(r->socket_addr.data, r->socket_addr.len, &got), RD_OK);
	struct rd_sockaddr bb = A("5.6.7.8:7000");
	assert_true(rd_net_addr_equal(&got, &bb));
	uint8_t pk[32];
	assert_int_equal(rd_idpk_verify(r->pk.data, r->pk.len, f->kp.pk, "bravo01", pk), RD_OK);
	assert_int_equal(pk[0], 7);
	assert_int_equal(r->union_case, HBB__PUNCH_HOLE_RESPONSE__UNION_NAT_TYPE);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	assert_int_equal(f->recs[2].kind, 'c'); /* B's connection closed after the flush */
	assert_ptr_equal(f->recs[2].conn, &f->conns[1]);
	rv_server_tcp_closed(f->s, b, RD_ERR_EOF);
	rv_server_tcp_closed(f->s, a, RD_ERR_EOF);
	assert_int_equal(rv_server_pending(f->s), 0);
	assert_true(metric(f, "rdesk_rendezvous_punch_requests_total{outcome=\"answered\"}") == 1);
	fx_free(f);
}

static void test_local_path(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	f->n = 0;
	struct rv_tcp *a = open_conn(f, 0, "5.6.7.8:5000", RV_PORT_MAIN);
	punch_req(f, a, "bravo01", NULL, 1);
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[0]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_FETCH_LOCAL_ADDR);
	struct rv_tcp *b = open_conn(f, 1, "5.6.7.8:7000", RV_PORT_MAIN);
	uint8_t mangled[RD_ADDR_MANGLE_MAX];
	struct rd_sockaddr lan = A("192.0.2.5:7000");
	int ml = rd_addr_mangle(&lan, mangled);
	Hbb__LocalAddr la = HBB__LOCAL_ADDR__INIT;
	la.socket_addr = m->fetch_local_addr->socket_addr;
	la.local_addr = (ProtobufCBinaryData){ (size_t)ml, mangled };
	la.id = "bravo01";
	la.version = "1";
	Hbb__RendezvousMessage in = HBB__RENDEZVOUS_MESSAGE__INIT;
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_LOCAL_ADDR;
	in.local_addr = &la;
	tcp_frame(f, b, &in, 2);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	m = rec_msg(&f->recs[1]);
	Hbb__PunchHoleResponse *r = m->punch_hole_response;
	struct rd_sockaddr got;
	assert_int_equal(rd_addr_demangle(r->socket_addr.data, r->socket_addr.len, &got), RD_OK);
	assert_true(rd_net_addr_equal(&got, &lan));
	assert_int_equal(r->union_case, HBB__PUNCH_HOLE_RESPONSE__UNION_IS_LOCAL);
	assert_true(r->is_local);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	rv_server_tcp_closed(f->s, b, RD_OK);
	rv_server_tcp_closed(f->s, a, RD_OK);
	fx_free(f);
}

static void test_always_relay_and_relays(void **state)
{
	(void)state;
	const char *relays[] = { "r1.example:21117", "r2.example:21117", "r3.example:21117" };
	struct fx *f = fx_new(true, relays, 3, NULL);
	rv_server_relay_health(f->s, 1, false);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	const char *seen[4];
	for (int i = 0; i < 4; i++) {
		f->n = 0;
		/* same public IP: still PunchHole, because relay is forced */
		struct rv_tcp *a = open_conn(f, 0, i % 2 ? "5.6.7.8:5000" : "1.2.3.4:5000", RV_PORT_MAIN);
		punch_req(f, a, "bravo01", NULL, 1);
		Hbb__RendezvousMessage *m = rec_msg(&f->recs[0]);
		assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE);
		assert_int_equal(m->punch_hole->nat_type, HBB__NAT_TYPE__SYMMETRIC);
		seen[i] = strcmp(m->punch_hole->relay_server, relays[0]) ? relays[2] : relays[0];
		assert_string_not_equal(m->punch_hole->relay_server, relays[1]);
		if (i == 0) {
			/* B-initiated relay: RelayResponse with B's ID, the signed key replaces it */
			struct rv_tcp *b = open_conn(f, 1, "5.6.7.8:7000", RV_PORT_MAIN);
			Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
			rr.socket_addr = m->punch_hole->socket_addr;
			rr.uuid = "u-1";
			rr.relay_server = m->punch_hole->relay_server;
			rr.union_case = HBB__RELAY_RESPONSE__UNION_ID;
			rr.id = "bravo01";
			rr.version = "1";
			Hbb__RendezvousMessage in = HBB__RENDEZVOUS_MESSAGE__INIT;
			in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
			in.relay_response = &rr;
			tcp_frame(f, b, &in, 2);
			Hbb__RendezvousMessage *out = rec_msg(&f->recs[1]);
			assert_ptr_equal(f->recs[1].conn, &f->conns[0]);
			Hbb__RelayResponse *o = out->relay_response;
			assert_int_equal(o->socket_addr.len, 0);
			assert_int_equal(o->union_case, HBB__RELAY_RESPONSE__UNION_PK);
			uint8_t pk[32];
			assert_int_equal(rd_idpk_verify(o->pk.data, o->pk.len, f->kp.pk, "bravo01", pk), RD_OK);
			assert_string_equal(o->uuid, "u-1");
			hbb__rendezvous_message__free_unpacked(out, NULL);
			rv_server_tcp_closed(f->s, b, RD_OK);
		}
		hbb__rendezvous_message__free_unpacked(m, NULL);
		rv_server_tcp_closed(f->s, a, RD_OK);
	}
	assert_ptr_not_equal(seen[0], seen[1]); /* round-robin over r1 and r3 */
	assert_ptr_equal(seen[0], seen[2]);
	fx_free(f);
}

static void test_request_relay(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	f->n = 0;
	struct rv_tcp *a = open_conn(f, 0, "1.2.3.4:5000", RV_PORT_MAIN);
	Hbb__RequestRelay rq = HBB__REQUEST_RELAY__INIT;
	rq.id = "bravo01";
	rq.uuid = "uuid-x";
	rq.relay_server = "relay.example";
	rq.secure = true;
	Hbb__RendezvousMessage in = HBB__RENDEZVOUS_MESSAGE__INIT;
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	in.request_relay = &rq;
	tcp_frame(f, a, &in, 1);
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[0]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY);
	assert_string_equal(m->request_relay->uuid, "uuid-x");
	assert_true(m->request_relay->secure);
	struct rd_sockaddr got, aa = A("1.2.3.4:5000");
	rd_addr_demangle(m->request_relay->socket_addr.data, m->request_relay->socket_addr.len, &got);
	assert_true(rd_net_addr_equal(&got, &aa));
	struct rv_tcp *b = open_conn(f, 1, "5.6.7.8:7000", RV_PORT_MAIN);
	uint8_t echo[RD_ADDR_MANGLE_MAX];
	size_t echo_len = m->request_relay->socket_addr.len;
	assert_true(echo_len <= sizeof(echo));
	memcpy(echo, m->request_relay->socket_addr.data, echo_len);
	Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
	rr.socket_addr = (ProtobufCBinaryData){ echo_len, echo };
	rr.version = "1";
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	in.relay_response = &rr;
	tcp_frame(f, b, &in, 2);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	assert_ptr_equal(f->recs[1].conn, &f->conns[0]);
	m = rec_msg(&f->recs[1]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE);
	assert_int_equal(m->relay_response->socket_addr.len, 0);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	rv_server_tcp_closed(f->s, b, RD_OK);
	rv_server_tcp_closed(f->s, a, RD_OK);
	/* once the requester is gone, a reply for it is dropped */
	struct rv_tcp *c = open_conn(f, 2, "5.6.7.8:7001", RV_PORT_MAIN);
	size_t n = f->n;
	tcp_frame(f, c, &in, 3);
	assert_int_equal(f->n, n + 1); /* only the close */
	assert_int_equal(f->recs[n].kind, 'c');
	assert_true(metric(f, "rdesk_rendezvous_drops_total{reason=\"no_route\"}") == 1);
	rv_server_tcp_closed(f->s, c, RD_OK);
	fx_free(f);
}

static void test_pending_cap_and_deadline(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, tune_tight);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	struct rv_tcp *a = open_conn(f, 0, "1.2.3.4:5000", RV_PORT_MAIN);
	punch_req(f, a, "bravo01", NULL, 1);
	assert_int_equal(rv_server_pending(f->s), 1);
	struct rv_tcp *c = open_conn(f, 1, "1.2.3.9:5000", RV_PORT_MAIN);
	punch_req(f, c, "bravo01", NULL, 1);
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[f->n - 2]);
	assert_string_equal(m->punch_hole_response->other_failure, "Server busy, try again later");
	hbb__rendezvous_message__free_unpacked(m, NULL);
	rv_server_tcp_closed(f->s, c, RD_OK);
	f->n = 0;
	rv_server_tick(f->s, 5.5); /* 1 + 5 s not yet */
	assert_int_equal(f->n, 0);
	rv_server_tick(f->s, 6.1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->recs[0].kind, 'c');
	assert_int_equal(rv_server_pending(f->s), 0);
	rv_server_tcp_closed(f->s, a, RD_ERR_EOF);
	assert_true(metric(f, "rdesk_rendezvous_punch_requests_total{outcome=\"timeout\"}") == 1);
	/* punch rate: burst 2 then refused */
	struct rv_tcp *d = open_conn(f, 2, "1.2.3.7:5000", RV_PORT_MAIN);
	punch_req(f, d, "nosuch1", NULL, 7);
	rv_server_tcp_closed(f->s, d, RD_OK);
	d = open_conn(f, 2, "1.2.3.7:5001", RV_PORT_MAIN);
	punch_req(f, d, "nosuch1", NULL, 7);
	rv_server_tcp_closed(f->s, d, RD_OK);
	d = open_conn(f, 2, "1.2.3.7:5002", RV_PORT_MAIN);
	punch_req(f, d, "nosuch1", NULL, 7);
	m = rec_msg(&f->recs[f->n - 2]);
	assert_string_equal(m->punch_hole_response->other_failure, "Too many requests, try again later");
	hbb__rendezvous_message__free_unpacked(m, NULL);
	rv_server_tcp_closed(f->s, d, RD_OK);
	fx_free(f);
}

static void test_nat_online_and_bad_frames(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	f->n = 0;
	struct rv_tcp *t = open_conn(f, 0, "1.2.3.4:4321", RV_PORT_NAT);
	Hbb__TestNatRequest tn = HBB__TEST_NAT_REQUEST__INIT;
	Hbb__RendezvousMessage in = HBB__RENDEZVOUS_MESSAGE__INIT;
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_REQUEST;
	in.test_nat_request = &tn;
	tcp_frame(f, t, &in, 1);
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[0]);
	assert_int_equal(m->test_nat_response->port, 4321);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	rv_server_tcp_closed(f->s, t, RD_OK);
	t = open_conn(f, 1, "1.2.3.4:4322", RV_PORT_NAT);
	char *peers[] = { "nosuch1", "bravo01", "x" };
	Hbb__OnlineRequest oq = HBB__ONLINE_REQUEST__INIT;
	oq.id = "me00001";
	oq.n_peers = 3;
	oq.peers = peers;
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_ONLINE_REQUEST;
	in.online_request = &oq;
	tcp_frame(f, t, &in, 1);
	m = rec_msg(&f->recs[2]);
	assert_int_equal(m->online_response->states.len, 1);
	assert_int_equal(m->online_response->states.data[0], 0x40);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	rv_server_tcp_closed(f->s, t, RD_OK);
	/* PunchHoleRequest on PORT-1 is out of place; online query on PORT too */
	f->n = 0;
	t = open_conn(f, 2, "1.2.3.4:4323", RV_PORT_NAT);
	punch_req(f, t, "bravo01", NULL, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->recs[0].kind, 'c');
	rv_server_tcp_closed(f->s, t, RD_OK);
	/* heartbeat ignored, garbage closes */
	f->n = 0;
	t = open_conn(f, 3, "1.2.3.4:4324", RV_PORT_MAIN);
	rv_server_tcp_frame(f->s, t, (const uint8_t *)"", 0, 1);
	assert_int_equal(f->n, 0);
	rv_server_tcp_frame(f->s, t, (const uint8_t *)"\xff\xff\xff", 3, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->recs[0].kind, 'c');
	rv_server_tcp_frame(f->s, t, (const uint8_t *)"\xff", 1, 1); /* after close: ignored */
	assert_int_equal(f->n, 1);
	rv_server_tcp_closed(f->s, t, RD_OK);
	/* RegisterPk over TCP: NOT_SUPPORT */
	f->n = 0;
	t = open_conn(f, 4, "1.2.3.4:4325", RV_PORT_MAIN);
	uint8_t pk[32] = { 1 };
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	rk.id = "alpha01";
	rk.uuid = (ProtobufCBinaryData){ 1, pk };
	rk.pk = (ProtobufCBinaryData){ 32, pk };
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	in.register_pk = &rk;
	tcp_frame(f, t, &in, 1);
	assert_int_equal(f->recs[f->n - 1].kind, 'c');
	m = rec_msg(&f->recs[0]);
	assert_int_equal(m->register_pk_response->result, HBB__REGISTER_PK_RESPONSE__RESULT__NOT_SUPPORT);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	rv_server_tcp_closed(f->s, t, RD_ERR_TIMEOUT);
	fx_free(f);
}

static void test_load_binding(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	uint8_t pk[32];
	memset(pk, 3, sizeof(pk));
	struct rv_binding b = { .id = "stored1", .uuid = (const uint8_t *)"uu", .uuid_len = 2,
		.pk = pk, .pk_len = 32, .created = 5 };
	assert_int_equal(rv_server_load_binding(f->s, &b), RD_OK);
	assert_int_equal(rv_server_load_binding(f->s, &b), RD_ERR_EXISTS);
	b.pk_len = 31;
	b.id = "stored2";
	assert_int_equal(rv_server_load_binding(f->s, &b), RD_ERR_PROTO);
	/* known but offline until it registers */
	struct rv_tcp *t = open_conn(f, 0, "1.2.3.4:5000", RV_PORT_MAIN);
	punch_req(f, t, "stored1", NULL, 1);
	expect_failure(f, 0, HBB__PUNCH_HOLE_RESPONSE__FAILURE__OFFLINE);
	rv_server_tcp_closed(f->s, t, RD_OK);
	reg_pk(f, "1.2.3.4:1000", "stored1", "other", 3, 2);
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH);
	reg_pk(f, "1.2.3.4:1000", "stored1", "uu", 3, 2);
	assert_int_equal(last_pk_result(f), HBB__REGISTER_PK_RESPONSE__RESULT__OK);
	assert_int_equal(f->puts, 0); /* nothing changed: nothing to store */
	fx_free(f);
}

int main(void)
{
	if (rd_crypto_init() != RD_OK)
		return 1;
	rd_log_set_level(RD_LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_uuid_and_key_rules),
		cmocka_unit_test(test_regpk_burst),
		cmocka_unit_test(test_source_limits),
		cmocka_unit_test(test_malformed_udp),
		cmocka_unit_test(test_punch_failures),
		cmocka_unit_test(test_punch_path),
		cmocka_unit_test(test_local_path),
		cmocka_unit_test(test_always_relay_and_relays),
		cmocka_unit_test(test_request_relay),
		cmocka_unit_test(test_pending_cap_and_deadline),
		cmocka_unit_test(test_nat_online_and_bad_frames),
		cmocka_unit_test(test_load_binding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

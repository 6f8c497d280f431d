/* rendezvous core without sockets, TCP side: punch failures, punch and
 * same-LAN paths with the signed key, both relay paths with their relay
 * tokens and relay choice, the licence check of RequestRelay, pending cap
 * and deadline, NAT test, online query and bad frames. */
#include "test_rv_fixture.h"
#include "relaytoken.h"

/* t is a relay token the fixture's server signed for uuid and role. */
static void expect_token(struct fx *f, const ProtobufCBinaryData *t, const char *uuid,
	enum rd_relay_role role)
{
	enum rd_relay_role got = 0;
	assert_int_equal(rd_relay_token_verify(t->data, t->len, uuid, f->kp.pk, rd_wall_ms() / 1000,
		&got), RD_OK);
	assert_int_equal(got, role);
	/* short-lived: gone a little after its lifetime */
	assert_int_equal(rd_relay_token_verify(t->data, t->len, uuid, f->kp.pk, rd_wall_ms() / 1000 +
		RD_RELAY_TOKEN_TTL + RD_RELAY_TOKEN_SKEW + 2, NULL), RD_ERR_TIMEOUT);
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
			expect_token(f, &o->rdesk_relay_token, "u-1", RD_RELAY_ROLE_CONTROLLER);
			hbb__rendezvous_message__free_unpacked(out, NULL);
			/* the target that started the relay gets its own token back */
			assert_int_equal(f->recs[2].kind, 't');
			assert_ptr_equal(f->recs[2].conn, &f->conns[1]);
			out = rec_msg(&f->recs[2]);
			assert_int_equal(out->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE);
			assert_string_equal(out->relay_response->uuid, "u-1");
			expect_token(f, &out->relay_response->rdesk_relay_token, "u-1", RD_RELAY_ROLE_AGENT);
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

static void relay_req(struct fx *f, struct rv_tcp *t, const char *uuid, const char *licence,
	double now)
{
	char lic[RD_B64_PK_LEN + 1];
	rd_pk_to_b64(f->kp.pk, lic);
	Hbb__RequestRelay rq = HBB__REQUEST_RELAY__INIT;
	rq.id = "bravo01";
	rq.uuid = (char *)uuid;
	rq.relay_server = "attacker.example:4444";
	rq.secure = true;
	rq.licence_key = (char *)(licence ? licence : lic);
	Hbb__RendezvousMessage in = HBB__RENDEZVOUS_MESSAGE__INIT;
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	in.request_relay = &rq;
	tcp_frame(f, t, &in, now);
}

static void test_request_relay(void **state)
{
	(void)state;
	const char *relays[] = { "r1.example:21117" };
	struct fx *f = fx_new(false, relays, 1, NULL);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	f->n = 0;
	struct rv_tcp *a = open_conn(f, 0, "1.2.3.4:5000", RV_PORT_MAIN);
	relay_req(f, a, "uuid-x", NULL, 1);
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[0]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY);
	assert_string_equal(m->request_relay->uuid, "uuid-x");
	assert_true(m->request_relay->secure);
	/* the server names the relay, whatever the requester asked for */
	assert_string_equal(m->request_relay->relay_server, "r1.example:21117");
	assert_string_equal(m->request_relay->licence_key, "");
	expect_token(f, &m->request_relay->rdesk_relay_token, "uuid-x", RD_RELAY_ROLE_AGENT);
	struct rd_sockaddr got, aa = A("1.2.3.4:5000");
	rd_addr_demangle(m->request_relay->socket_addr.data, m->request_relay->socket_addr.len, &got);
	assert_true(rd_net_addr_equal(&got, &aa));
	struct rv_tcp *b = open_conn(f, 1, "5.6.7.8:7000", RV_PORT_MAIN);
	uint8_t echo[RD_ADDR_MANGLE_MAX];
	size_t echo_len = m->request_relay->socket_addr.len;
	assert_true(echo_len <= sizeof(echo));
	memcpy(echo, m->request_relay->socket_addr.data, echo_len);
	/* a stock target answers without uuid or relay */
	Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
	rr.socket_addr = (ProtobufCBinaryData){ echo_len, echo };
	rr.version = "1";
	Hbb__RendezvousMessage in = HBB__RENDEZVOUS_MESSAGE__INIT;
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	in.relay_response = &rr;
	tcp_frame(f, b, &in, 2);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	assert_ptr_equal(f->recs[1].conn, &f->conns[0]);
	m = rec_msg(&f->recs[1]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE);
	assert_int_equal(m->relay_response->socket_addr.len, 0);
	/* the requester goes to the relay the target was sent to, with its uuid's token */
	assert_string_equal(m->relay_response->relay_server, "r1.example:21117");
	expect_token(f, &m->relay_response->rdesk_relay_token, "uuid-x", RD_RELAY_ROLE_CONTROLLER);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	assert_int_equal(f->recs[2].kind, 'c'); /* nothing more for a target the requester asked */
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

/* RequestRelay gets PunchHoleRequest's licence check, and a usable uuid. */
static void test_request_relay_refused(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	f->n = 0;
	struct rv_tcp *a = open_conn(f, 0, "1.2.3.4:5000", RV_PORT_MAIN);
	relay_req(f, a, "uuid-y", "not-the-key", 1);
	assert_int_equal(f->n, 2); /* nothing to the target */
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[0]);
	assert_ptr_equal(f->recs[0].conn, &f->conns[0]);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE);
	assert_string_equal(m->relay_response->refuse_reason, "Key mismatch");
	assert_int_equal(m->relay_response->rdesk_relay_token.len, 0);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	assert_int_equal(f->recs[1].kind, 'c');
	assert_true(metric(f, "rdesk_rendezvous_punch_requests_total{outcome=\"license_mismatch\"}") == 1);
	rv_server_tcp_closed(f->s, a, RD_OK);
	assert_int_equal(rv_server_pending(f->s), 0);
	char long_uuid[RD_RELAY_UUID_MAX + 2];
	memset(long_uuid, 'u', sizeof(long_uuid) - 1);
	long_uuid[sizeof(long_uuid) - 1] = 0;
	const char *bad[] = { "", long_uuid };
	for (int i = 0; i < 2; i++) {
		f->n = 0;
		a = open_conn(f, 1, "1.2.3.4:5001", RV_PORT_MAIN);
		relay_req(f, a, bad[i], NULL, 2);
		assert_int_equal(f->n, 1);
		assert_int_equal(f->recs[0].kind, 'c');
		rv_server_tcp_closed(f->s, a, RD_OK);
	}
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
	/* a message with nothing known in it does not pass for a first one */
	f->n = 0;
	t = open_conn(f, 4, "1.2.3.4:4325", RV_PORT_MAIN);
	rv_server_tcp_frame(f->s, t, (const uint8_t *)"\xb8\x3e\x00", 3, 1); /* field 999 = 0 */
	assert_int_equal(f->n, 1);
	assert_int_equal(f->recs[0].kind, 'c');
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_punch_failures),
		cmocka_unit_test(test_punch_path),
		cmocka_unit_test(test_local_path),
		cmocka_unit_test(test_always_relay_and_relays),
		cmocka_unit_test(test_request_relay),
		cmocka_unit_test(test_request_relay_refused),
		cmocka_unit_test(test_pending_cap_and_deadline),
		cmocka_unit_test(test_nat_online_and_bad_frames),
	};
	return RD_RV_RUN_TESTS(tests);
}

/* rendezvous core without sockets: who may hold an ID. Signed registrations
 * pin the ID to their key; replays, other keys, unsigned registrations and
 * address moves without a signature are refused; rotations signed by the
 * pinned key go through; the caps on new IDs (per source and day, in total)
 * leave known IDs alone; target replies count only from the target's
 * address. */
#include "test_rv_fixture.h"

#define T0 1700000000000ULL   /* a signature time (ms) in the past of any test run */
#define OK HBB__REGISTER_PK_RESPONSE__RESULT__OK
#define MISMATCH HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH
#define FREQUENT HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT

static void expect(struct fx *f, int result, unsigned refusal)
{
	assert_int_equal(last_pk_result(f), result);
	assert_int_equal(last_pk_refusal(f), refusal);
}

static void test_pin(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k1", T0, NULL, false, 0);
	expect(f, OK, 0);
	assert_int_equal(f->puts, 1);
	assert_true(f->last_put_pinned);
	assert_true(f->last_put_sig_time == T0);
	/* the same key, newer: fine, and stored (the time must survive a restart) */
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k1", T0 + 1, NULL, false, 10);
	expect(f, OK, 0);
	assert_true(f->last_put_sig_time == T0 + 1);
	/* unsigned, even with the right uuid and key, from the same address */
	struct rd_keypair kp;
	uint8_t s32[32];
	crypto_generichash(s32, 32, (const uint8_t *)"k1", 2, NULL, 0);
	crypto_sign_seed_keypair(kp.pk, kp.sk, s32);
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	rk.id = "alpha01";
	rk.uuid = (ProtobufCBinaryData){ 2, (uint8_t *)"u1" };
	rk.pk = (ProtobufCBinaryData){ 32, kp.pk };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &rk;
	send_msg_udp(f, "1.2.3.4:1000", &m, 20);
	expect(f, MISMATCH, RD_REGSIG_REFUSED_KEY);
	reg_signed(f, "9.9.9.9:1000", "alpha01", "u1", "evil", T0 + 5, NULL, false, 21);
	expect(f, MISMATCH, RD_REGSIG_REFUSED_KEY);
	reg_signed(f, "9.9.9.9:1000", "alpha01", "u1", "k1", T0 + 1, NULL, false, 22); /* replay */
	expect(f, MISMATCH, RD_REGSIG_REFUSED_STALE);
	reg_signed(f, "9.9.9.9:1000", "alpha01", "u1", "k1", T0 + 2, NULL, true, 23); /* forged */
	expect(f, MISMATCH, RD_REGSIG_REFUSED_BAD_SIG);
	uint64_t ahead = (uint64_t)rd_wall_ms() + 2 * 86400000ULL;
	reg_signed(f, "9.9.9.9:1000", "alpha01", "u1", "k1", ahead, NULL, false, 24);
	expect(f, MISMATCH, RD_REGSIG_REFUSED_AHEAD);
	assert_true(metric(f, "rdesk_rendezvous_key_refusals_total") == 5);
	assert_int_equal(f->puts, 2);
	/* the address did not move */
	struct rd_sockaddr got, mine = A("1.2.3.4:1000");
	assert_true(rv_peer_get_addr(rv_registry_find(rv_server_registry(f->s), "alpha01"), &got));
	assert_true(rd_net_addr_equal(&got, &mine));
	/* RegisterPeer keeps it alive only from that exact address */
	reg_peer(f, "1.2.3.4:1000", "alpha01", 25);
	assert_int_equal(last_request_pk(f), 0);
	reg_peer(f, "1.2.3.4:1001", "alpha01", 26);
	assert_int_equal(last_request_pk(f), 1);
	reg_peer(f, "9.9.9.9:1000", "alpha01", 26);
	assert_int_equal(last_request_pk(f), 1);
	/* the owner moves with a fresh signature, even to a new uuid */
	reg_signed(f, "5.5.5.5:2000", "alpha01", "u2", "k1", T0 + 3, NULL, false, 30);
	expect(f, OK, 0);
	reg_peer(f, "5.5.5.5:2000", "alpha01", 31);
	assert_int_equal(last_request_pk(f), 0);
	fx_free(f);
}

static void test_refusals_spare_the_burst(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k1", T0, NULL, false, 0);
	for (int i = 0; i < 10; i++) {
		reg_signed(f, "9.9.9.9:1000", "alpha01", "u1", "evil", T0 + 10 + (uint64_t)i, NULL, false, 1);
		expect(f, MISMATCH, RD_REGSIG_REFUSED_KEY);
	}
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k1", T0 + 1, NULL, false, 2);
	expect(f, OK, 0);
	fx_free(f);
}

static void test_rotation(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k1", T0, NULL, false, 0);
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k2", T0 + 1, NULL, false, 1);
	expect(f, MISMATCH, RD_REGSIG_REFUSED_KEY);
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k2", T0 + 2, "k3", false, 2); /* not the pinned key */
	expect(f, MISMATCH, RD_REGSIG_REFUSED_KEY);
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k2", T0 + 3, "k1", true, 3); /* forged */
	expect(f, MISMATCH, RD_REGSIG_REFUSED_BAD_SIG);
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k2", T0 + 4, "k1", false, 4);
	expect(f, OK, 0);
	assert_true(f->last_put_pinned);
	reg_signed(f, "1.2.3.4:1000", "alpha01", "u1", "k1", T0 + 5, NULL, false, 10);
	expect(f, MISMATCH, RD_REGSIG_REFUSED_KEY);
	reg_signed(f, "6.6.6.6:1000", "alpha01", "u1", "k2", T0 + 6, NULL, false, 20);
	expect(f, OK, 0);
	fx_free(f);
}

static void test_stock_until_signed(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "1.2.3.4:1000", "alpha01", 0);                   /* uuid-1, key 7..7 */
	reg_signed(f, "9.9.9.9:1000", "alpha01", "uuid-1", "k1", T0, NULL, false, 10);
	expect(f, MISMATCH, 0);   /* a new key from another IP: the stock rule refuses */
	reg_signed(f, "1.2.3.4:1000", "alpha01", "uuid-2", "k1", T0, NULL, false, 20);
	expect(f, MISMATCH, 0);   /* another uuid */
	reg_signed(f, "1.2.3.4:1000", "alpha01", "uuid-1", "k1", T0, NULL, false, 30);
	expect(f, OK, 0);         /* the stock rules allow it: pinned from now on */
	assert_true(f->last_put_pinned);
	reg_pk(f, "1.2.3.4:1000", "alpha01", "uuid-1", 7, 40);
	expect(f, MISMATCH, RD_REGSIG_REFUSED_KEY);
	fx_free(f);
}

static void test_stored_pin(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	uint8_t s32[32], pk[32], sk[64];
	crypto_generichash(s32, 32, (const uint8_t *)"k1", 2, NULL, 0);
	crypto_sign_seed_keypair(pk, sk, s32);
	struct rv_binding b = { .id = "stored1", .uuid = (const uint8_t *)"u1", .uuid_len = 2,
		.pk = pk, .pk_len = 32, .created = 5, .pinned = true, .sig_time = T0 + 100 };
	assert_int_equal(rv_server_load_binding(f->s, &b), RD_OK);
	reg_peer(f, "1.2.3.4:1000", "stored1", 0);
	assert_int_equal(last_request_pk(f), 1);
	reg_pk(f, "1.2.3.4:1000", "stored1", "u1", pk[0], 1);
	expect(f, MISMATCH, RD_REGSIG_REFUSED_KEY);
	reg_signed(f, "1.2.3.4:1000", "stored1", "u1", "k1", T0 + 100, NULL, false, 2);
	expect(f, MISMATCH, RD_REGSIG_REFUSED_STALE);
	reg_signed(f, "1.2.3.4:1000", "stored1", "u1", "k1", T0 + 101, NULL, false, 3);
	expect(f, OK, 0);
	fx_free(f);
}

static void tune_caps(struct rv_limits *l)
{
	l->ids_per_source = 2;
	l->max_ids = 7;
}

static void test_caps(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, tune_caps);
	/* four IDs known from the store (a restart): they re-register from one
	 * source without touching its quota of new IDs */
	uint8_t pk[32];
	memset(pk, 7, sizeof(pk));
	const char *known[] = { "known01", "known02", "known03", "known04" };
	for (int i = 0; i < 4; i++) {
		struct rv_binding b = { .id = known[i], .uuid = (const uint8_t *)"uuid-1", .uuid_len = 6,
			.pk = pk, .pk_len = 32, .created = 1 };
		assert_int_equal(rv_server_load_binding(f->s, &b), RD_OK);
	}
	for (int i = 0; i < 4; i++)
		registered(f, "1.2.3.4:1000", known[i], 0);
	registered(f, "1.2.3.4:1000", "new0001", 1);
	registered(f, "1.2.3.4:1000", "new0002", 2);
	/* the day is counted from the first new ID; retries do not push it */
	for (double t = 1000; t < 86400; t += 5000) {
		reg_pk(f, "1.2.3.4:1000", "new0003", "uuid-1", 7, t);
		assert_int_equal(last_pk_result(f), FREQUENT);
	}
	reg_pk(f, "1.2.3.4:1000", "new0003", "uuid-1", 7, 86401.5);
	assert_int_equal(last_pk_result(f), OK);
	/* an 8th would be over max_ids (7): refused, though the source has quota */
	reg_pk(f, "1.2.3.4:1000", "new0004", "uuid-1", 7, 86402);
	assert_int_equal(last_pk_result(f), FREQUENT);
	reg_pk(f, "8.8.8.8:1000", "new0004", "uuid-1", 7, 86403);
	assert_int_equal(last_pk_result(f), FREQUENT);
	assert_int_equal(rv_registry_count(rv_server_registry(f->s)), 7);
	assert_true(metric(f, "rdesk_rendezvous_drops_total{reason=\"id_total\"}") == 2);
	/* known IDs still register */
	reg_pk(f, "8.8.8.8:1000", "known01", "uuid-1", 7, 86404);
	assert_int_equal(last_pk_result(f), OK);
	fx_free(f);
}

/* A reply for a pending request counts only from the target's IP, for the
 * target's ID. */
static void test_target_reply_source(void **state)
{
	(void)state;
	struct fx *f = fx_new(false, NULL, 0, NULL);
	registered(f, "5.6.7.8:6000", "bravo01", 0);
	registered(f, "6.6.6.6:6000", "evil001", 0);
	f->n = 0;
	struct rv_tcp *a = open_conn(f, 0, "1.2.3.4:5000", RV_PORT_MAIN);
	punch_req(f, a, "bravo01", NULL, 1);
	Hbb__RendezvousMessage *m = rec_msg(&f->recs[0]);
	ProtobufCBinaryData echo = m->punch_hole->socket_addr;
	/* from another IP, even one where some ID is registered */
	struct rv_tcp *x = open_conn(f, 1, "6.6.6.6:7000", RV_PORT_MAIN);
	punch_sent(f, x, &echo, 2);
	assert_int_equal(f->n, 2);          /* only x's close */
	assert_int_equal(f->recs[1].kind, 'c');
	assert_ptr_equal(f->recs[1].conn, &f->conns[1]);
	rv_server_tcp_closed(f->s, x, RD_OK);
	/* from the target's IP but naming another ID */
	x = open_conn(f, 2, "5.6.7.8:7001", RV_PORT_MAIN);
	Hbb__PunchHoleSent ps = HBB__PUNCH_HOLE_SENT__INIT;
	ps.socket_addr = echo;
	ps.id = "evil001";
	ps.version = "1";
	Hbb__RendezvousMessage in = HBB__RENDEZVOUS_MESSAGE__INIT;
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_SENT;
	in.punch_hole_sent = &ps;
	tcp_frame(f, x, &in, 3);
	assert_int_equal(f->n, 3);
	rv_server_tcp_closed(f->s, x, RD_OK);
	/* a RelayResponse from elsewhere */
	x = open_conn(f, 3, "6.6.6.6:7002", RV_PORT_MAIN);
	Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
	rr.socket_addr = echo;
	rr.relay_server = "evil.example:21117";
	in.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	in.relay_response = &rr;
	tcp_frame(f, x, &in, 4);
	assert_int_equal(f->n, 4);
	rv_server_tcp_closed(f->s, x, RD_OK);
	assert_true(metric(f, "rdesk_rendezvous_drops_total{reason=\"wrong_source\"}") == 3);
	/* still pending: the real target answers */
	assert_int_equal(rv_server_pending(f->s), 1);
	struct rv_tcp *b = open_conn(f, 4, "5.6.7.8:7003", RV_PORT_MAIN);
	punch_sent(f, b, &echo, 5);
	assert_int_equal(f->recs[4].kind, 't');
	assert_ptr_equal(f->recs[4].conn, &f->conns[0]);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	rv_server_tcp_closed(f->s, b, RD_OK);
	rv_server_tcp_closed(f->s, a, RD_OK);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_refusals_spare_the_burst),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_stock_until_signed),
		cmocka_unit_test(test_stored_pin),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_target_reply_source),
	};
	return RD_RV_RUN_TESTS(tests);
}

/* rendezvous core without sockets, UDP side: registration, uuid and key
 * rules, per-ID and per-source limits, malformed datagrams, stored bindings.
 * Datagrams and time go in, the recorded actions are checked. */
#include "test_rv_fixture.h"

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
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_uuid_and_key_rules),
		cmocka_unit_test(test_regpk_burst),
		cmocka_unit_test(test_source_limits),
		cmocka_unit_test(test_malformed_udp),
		cmocka_unit_test(test_load_binding),
	};
	return RD_RV_RUN_TESTS(tests);
}

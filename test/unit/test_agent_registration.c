/* Unit tests for the registration state machine of agent/registration.c,
 * driven without sockets: time and the server's answers go in, the fake ops
 * record what it sends and reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/registration.h"
#include "crypto.h"
#include "regsig.h"

#define INTERVAL 12.0

struct fake {
	unsigned peers, pks, resets, key_requests, reg_calls;
	bool registered;
};

static void fake_send_peer(void *ud) { ((struct fake *)ud)->peers++; }
static void fake_send_pk(void *ud) { ((struct fake *)ud)->pks++; }
static void fake_reset(void *ud, double now) { (void)now; ((struct fake *)ud)->resets++; }
static void fake_key_requested(void *ud) { ((struct fake *)ud)->key_requests++; }

static void fake_registered(void *ud, bool registered)
{
	struct fake *f = ud;
	f->registered = registered;
	f->reg_calls++;
}

static const struct registration_ops fake_ops = {
	.send_peer = fake_send_peer,
	.send_pk = fake_send_pk,
	.registered = fake_registered,
	.reset_socket = fake_reset,
	.key_requested = fake_key_requested,
};

static const uint8_t our_pk[RD_PK_LEN] = { 1, 2, 3 };

static struct registration *make(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	struct registration_config cfg = { .server = "rv.example:21116", .interval = INTERVAL,
		.id = "123456789", .pk = our_pk };
	return registration_new(&cfg, &fake_ops, f);
}

static void pk_answer(struct registration *g, Hbb__RegisterPkResponse__Result result,
	uint32_t refusal, double now)
{
	Hbb__RegisterPkResponse r = HBB__REGISTER_PK_RESPONSE__INIT;
	r.result = result;
	r.rdesk_refusal = refusal;
	registration_on_pk_response(g, &r, now);
}

static void peer_answer(struct registration *g, bool request_pk, double now)
{
	Hbb__RegisterPeerResponse r = HBB__REGISTER_PEER_RESPONSE__INIT;
	r.request_pk = request_pk;
	registration_on_peer_response(g, &r, now);
}

/* Step every second from t to end (inclusive of t, exclusive of end). */
static void run(struct registration *g, double t, double end)
{
	for (; t < end; t += 1.0)
		registration_step(g, t);
}

/* RegisterPk first, then RegisterPeer every interval once the key is confirmed. */
static void test_registers(void **state)
{
	(void)state;
	struct fake f;
	struct registration *g = make(&f);
	double t = 100;
	registration_step(g, t);
	assert_int_equal(f.pks, 1);
	assert_int_equal(f.peers, 0);
	registration_step(g, t + 1); /* outstanding: nothing more */
	assert_int_equal(f.pks, 1);
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t + 1);
	assert_true(f.registered);
	assert_int_equal(f.reg_calls, 1);
	run(g, t + 2, t + 1 + INTERVAL);
	assert_int_equal(f.peers, 0);
	registration_step(g, t + 1 + INTERVAL);
	assert_int_equal(f.peers, 1);
	assert_int_equal(f.pks, 1);
	peer_answer(g, false, t + 2 + INTERVAL);
	assert_true(f.registered);
	assert_int_equal(f.reg_calls, 1); /* no change, no call */
	registration_free(g);
}

/* The server asks for our key: RegisterPk goes out at once, and again only
 * after RC_PK_MIN_GAP; a controller's stale-key report does the same at the
 * next send. */
static void test_register_pk_on_request(void **state)
{
	(void)state;
	struct fake f;
	struct registration *g = make(&f);
	double t = 100;
	registration_step(g, t);
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t);
	t += INTERVAL;
	registration_step(g, t);
	assert_int_equal(f.peers, 1);
	peer_answer(g, true, t);
	assert_int_equal(f.key_requests, 1);
	assert_int_equal(f.pks, 2);
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t);
	/* Asked again within RC_PK_MIN_GAP: waits for the gap. */
	peer_answer(g, true, t + 1);
	assert_int_equal(f.key_requests, 2);
	assert_int_equal(f.pks, 2);
	registration_step(g, t + 2);
	assert_int_equal(f.pks, 2);
	registration_step(g, t + RC_PK_MIN_GAP);
	assert_int_equal(f.pks, 3);
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t + RC_PK_MIN_GAP);
	/* A controller found our key stale. */
	t += RC_PK_MIN_GAP;
	registration_request_pk(g);
	run(g, t, t + INTERVAL + 1);
	assert_int_equal(f.pks, 4);
	assert_int_equal(f.peers, 1);
	assert_true(f.registered);
	registration_free(g);
}

/* A refused RegisterPk unregisters and is retried after interval, 2x, 4x ...,
 * capped at RC_REFUSED_MAX; the ID is kept. */
static void test_backoff_on_refusal(void **state)
{
	(void)state;
	struct fake f;
	struct registration *g = make(&f);
	double t = 100;
	registration_step(g, t);
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t);
	assert_true(f.registered);
	registration_request_pk(g);
	t += INTERVAL;
	registration_step(g, t);
	assert_int_equal(f.pks, 2);
	double wait = INTERVAL;
	for (unsigned i = 0; i < 9; i++) {
		pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH, RD_REGSIG_REFUSED_KEY, t);
		assert_false(f.registered);
		unsigned before = f.pks;
		run(g, t, t + wait);
		assert_int_equal(f.pks, before);
		t += wait;
		registration_step(g, t);
		assert_int_equal(f.pks, before + 1);
		wait = wait * 2 > RC_REFUSED_MAX ? RC_REFUSED_MAX : wait * 2;
	}
	assert_true(wait == RC_REFUSED_MAX);
	assert_int_equal(f.peers, 0);
	/* Accepted at last: registered, back to the interval. */
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t);
	assert_true(f.registered);
	registration_step(g, t + INTERVAL);
	assert_int_equal(f.peers, 1);
	registration_free(g);
}

/* Only the answer to our own outstanding RegisterPk counts. */
static void test_pk_response_only_when_outstanding(void **state)
{
	(void)state;
	struct fake f;
	struct registration *g = make(&f);
	double t = 100;
	/* Nothing sent yet. */
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t);
	assert_int_equal(f.reg_calls, 0);
	/* A RegisterPk that timed out is no longer outstanding. */
	registration_step(g, t);
	assert_int_equal(f.pks, 1);
	registration_step(g, t + RC_REG_TIMEOUT);
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t + RC_REG_TIMEOUT);
	assert_int_equal(f.reg_calls, 0);
	/* The retry 2 s later is outstanding: its answer counts, once. */
	run(g, t + RC_REG_TIMEOUT, t + RC_REG_TIMEOUT + 3);
	assert_int_equal(f.pks, 2);
	t += RC_REG_TIMEOUT + 3;
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t);
	assert_true(f.registered);
	/* A refusal for nothing outstanding does not unregister us. */
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH, RD_REGSIG_REFUSED_KEY, t);
	assert_true(f.registered);
	/* Nor while a RegisterPeer is the outstanding request. */
	registration_step(g, t + INTERVAL);
	assert_int_equal(f.peers, 1);
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH, RD_REGSIG_REFUSED_KEY,
		t + INTERVAL);
	assert_true(f.registered);
	assert_int_equal(f.reg_calls, 1);
	registration_free(g);
}

/* Unanswered requests: retry after 2, 4, 8 ... s (at most the interval),
 * unregistered at the second timeout, a fresh socket every fourth. */
static void test_timeouts_back_off(void **state)
{
	(void)state;
	struct fake f;
	struct registration *g = make(&f);
	double t = 100;
	registration_step(g, t);
	pk_answer(g, HBB__REGISTER_PK_RESPONSE__RESULT__OK, 0, t);
	t += INTERVAL;
	double sends[8];
	unsigned n = 0;
	for (double now = t; now < t + 120 && n < 8; now += 0.5) {
		unsigned before = f.peers;
		registration_step(g, now);
		if (f.peers != before)
			sends[n++] = now;
	}
	assert_int_equal(n, 8);
	/* Each request times out after RC_REG_TIMEOUT, then waits 2, 4, 8, 12 s. */
	static const double gaps[] = { 2, 4, 8, INTERVAL, INTERVAL, INTERVAL, INTERVAL };
	for (unsigned i = 0; i < 7; i++)
		assert_true(sends[i + 1] - sends[i] == RC_REG_TIMEOUT + gaps[i]);
	assert_false(f.registered);
	assert_int_equal(f.reg_calls, 2);
	assert_int_equal(f.resets, 1);
	registration_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_register_pk_on_request),
		cmocka_unit_test(test_backoff_on_refusal),
		cmocka_unit_test(test_pk_response_only_when_outstanding),
		cmocka_unit_test(test_timeouts_back_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

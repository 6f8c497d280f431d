/* relay pairing core: first frame parsing, relay tokens and the licence key,
 * the uuid table (wait, pair, third refused, one side of each role, bounded),
 * leftover bytes and deadlines. No sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "codec.h"
#include "err.h"
#include "pb.h"
#include "relaytoken.h"
#include "relay-server/pairing.h"

#define KEY "OeVuKk5nlHiXp+APNn0Y3pC1Iwpwn44JGqrQCsWqmBw="

static struct relay_pairing *mk(const char *key, size_t max_pairs, size_t max_hello)
{
	static const uint8_t hk[16] = { 1, 2, 3 };
	struct relay_pairing_opts o = {
		.key = key, .max_pairs = max_pairs, .max_hello = max_hello,
		.first_timeout = 10, .pair_timeout = 30, .hash_key = hk,
	};
	return relay_pairing_new(&o);
}

/* A framed RequestRelay with a token (when tok is not NULL), appended to b. */
static void frame_token(struct rd_buf *b, const char *uuid, const char *key, const uint8_t *tok,
	size_t toklen)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RequestRelay rr = HBB__REQUEST_RELAY__INIT;
	uint8_t *p;
	size_t n;
	if (uuid)
		rr.uuid = (char *)uuid;
	if (key)
		rr.licence_key = (char *)key;
	if (tok)
		rr.rdesk_relay_token = (ProtobufCBinaryData){ toklen, (uint8_t *)tok };
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rr;
	assert_int_equal(rd_pb_pack(&m.base, &p, &n), 0);
	assert_int_equal(rd_frame_append(b, p, n), 0);
	free(p);
}

static void frame(struct rd_buf *b, const char *uuid, const char *key)
{
	frame_token(b, uuid, key, NULL, 0);
}

static struct relay_event feed(struct relay_pairing *rp, struct relay_slot *s, const char *uuid,
	const char *key, double now)
{
	struct rd_buf b;
	struct relay_event ev;
	rd_buf_init(&b, 0);
	frame(&b, uuid, key);
	relay_pairing_input(rp, s, rd_buf_ptr(&b), rd_buf_size(&b), now, &ev);
	rd_buf_free(&b);
	return ev;
}

static void test_pair_two(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk(KEY, 8, 8);
	int ua, ub;
	struct relay_slot *a = relay_pairing_add(rp, &ua, 0), *b = relay_pairing_add(rp, &ub, 0);
	assert_int_equal(relay_pairing_hello(rp), 2);
	struct relay_event ev = feed(rp, a, "u-1", KEY, 1);
	assert_int_equal(ev.type, RELAY_EV_WAIT);
	assert_int_equal(relay_pairing_waiting(rp), 1);
	assert_string_equal(relay_slot_uuid(a), "u-1");
	ev = feed(rp, b, "u-1", KEY, 2);
	assert_int_equal(ev.type, RELAY_EV_PAIR);
	assert_ptr_equal(ev.slot, b);
	assert_ptr_equal(ev.peer, a);
	assert_ptr_equal(relay_slot_user(ev.peer), &ua);
	assert_int_equal(relay_pairing_waiting(rp), 0);
	assert_int_equal(relay_pairing_hello(rp), 0);
	assert_int_equal(relay_pairing_entries(rp), 1);
	/* Paired slots have no deadline. */
	assert_true(relay_pairing_next_deadline(rp) < 0);
	relay_pairing_remove(rp, a);
	assert_int_equal(relay_pairing_entries(rp), 1);
	relay_pairing_remove(rp, b);
	assert_int_equal(relay_pairing_entries(rp), 0);
	relay_pairing_free(rp);
}

static void test_third_refused(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk(NULL, 8, 8);
	struct relay_slot *s[4];
	for (int i = 0; i < 4; i++)
		s[i] = relay_pairing_add(rp, NULL, 0);
	assert_int_equal(feed(rp, s[0], "x", NULL, 0).type, RELAY_EV_WAIT);
	assert_int_equal(feed(rp, s[1], "x", NULL, 0).type, RELAY_EV_PAIR);
	struct relay_event ev = feed(rp, s[2], "x", NULL, 0);
	assert_int_equal(ev.type, RELAY_EV_REFUSE);
	assert_int_equal(ev.reason, RELAY_R_UUID_BUSY);
	relay_pairing_remove(rp, s[2]);
	/* Still busy while one side of the pair lives. */
	relay_pairing_remove(rp, s[0]);
	ev = feed(rp, s[3], "x", NULL, 0);
	assert_int_equal(ev.reason, RELAY_R_UUID_BUSY);
	relay_pairing_remove(rp, s[3]);
	relay_pairing_remove(rp, s[1]);
	/* Free again once the pair is gone. */
	struct relay_slot *n = relay_pairing_add(rp, NULL, 0);
	assert_int_equal(feed(rp, n, "x", NULL, 0).type, RELAY_EV_WAIT);
	relay_pairing_free(rp);
}

static void test_keys(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk(KEY, 8, 8);
	struct relay_slot *s = relay_pairing_add(rp, NULL, 0);
	struct relay_event ev = feed(rp, s, "k", NULL, 0);
	assert_int_equal(ev.reason, RELAY_R_MISSING_KEY);
	relay_pairing_remove(rp, s);
	s = relay_pairing_add(rp, NULL, 0);
	ev = feed(rp, s, "k", "OeVuKk5nlHiXp+APNn0Y3pC1Iwpwn44JGqrQCsWqmBx=", 0);
	assert_int_equal(ev.reason, RELAY_R_WRONG_KEY);
	relay_pairing_remove(rp, s);
	s = relay_pairing_add(rp, NULL, 0);
	ev = feed(rp, s, "k", KEY "A", 0); /* longer */
	assert_int_equal(ev.reason, RELAY_R_WRONG_KEY);
	relay_pairing_remove(rp, s);
	s = relay_pairing_add(rp, NULL, 0);
	ev = feed(rp, s, "k", "OeVu", 0); /* a prefix */
	assert_int_equal(ev.reason, RELAY_R_WRONG_KEY);
	relay_pairing_remove(rp, s);
	assert_int_equal(relay_pairing_entries(rp), 0);
	relay_pairing_free(rp);
	/* An open relay takes any key or none. */
	rp = mk(NULL, 8, 8);
	s = relay_pairing_add(rp, NULL, 0);
	assert_int_equal(feed(rp, s, "k", "whatever", 0).type, RELAY_EV_WAIT);
	relay_pairing_free(rp);
}

/* The rendezvous server's key pair and a second one (a forger's). */
static uint8_t srv_pk[32], srv_sk[64], other_pk[32], other_sk[64];

static struct relay_pairing *mk_closed(const char *licence)
{
	static const uint8_t hk[16] = { 4, 5, 6 };
	struct relay_pairing_opts o = {
		.server_pk = srv_pk, .key = licence, .max_pairs = 8, .max_hello = 8,
		.first_timeout = 10, .pair_timeout = 30, .hash_key = hk,
	};
	return relay_pairing_new(&o);
}

/* A first frame for uuid with a token signed by sk for sign_uuid (NULL: no
 * token), and key as licence_key; fed to a new slot at now. */
static struct relay_event feed_token(struct relay_pairing *rp, struct relay_slot **out,
	const char *uuid, const char *key, const uint8_t *sk, const char *sign_uuid,
	enum rd_relay_role role, int64_t expiry, double now)
{
	struct rd_buf b;
	struct relay_event ev;
	uint8_t tok[RD_RELAY_TOKEN_LEN];
	struct relay_slot *s = relay_pairing_add(rp, NULL, now);
	assert_non_null(s);
	if (sk)
		assert_int_equal(rd_relay_token_sign(sign_uuid, role, expiry, sk, tok), RD_OK);
	rd_buf_init(&b, 0);
	frame_token(&b, uuid, key, sk ? tok : NULL, sizeof(tok));
	relay_pairing_input(rp, s, rd_buf_ptr(&b), rd_buf_size(&b), now, &ev);
	rd_buf_free(&b);
	if (ev.type == RELAY_EV_REFUSE)
		relay_pairing_remove(rp, s);
	else if (out)
		*out = s;
	return ev;
}

#define CTL RD_RELAY_ROLE_CONTROLLER
#define AGT RD_RELAY_ROLE_AGENT

static void test_tokens(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk_closed(NULL);
	struct relay_slot *a = NULL, *b = NULL;
	/* no token: refused, even with the server's key as licence (what every
	 * client of the server has) */
	assert_int_equal(feed_token(rp, NULL, "t1", KEY, NULL, NULL, 0, 0, 50).reason, RELAY_R_NO_TOKEN);
	/* forged (another key), another uuid's, expired */
	assert_int_equal(feed_token(rp, NULL, "t1", KEY, other_sk, "t1", CTL, 100, 50).reason,
		RELAY_R_BAD_TOKEN);
	assert_int_equal(feed_token(rp, NULL, "t1", KEY, srv_sk, "t2", CTL, 100, 50).reason,
		RELAY_R_BAD_TOKEN);
	assert_int_equal(feed_token(rp, NULL, "t1", NULL, srv_sk, "t1", CTL, 100,
		100 + RD_RELAY_TOKEN_SKEW + 1).reason, RELAY_R_EXPIRED_TOKEN);
	assert_int_equal(relay_pairing_entries(rp), 0);
	/* a controller's and an agent's token for the uuid pair */
	assert_int_equal(feed_token(rp, &a, "t1", NULL, srv_sk, "t1", CTL, 100, 50).type, RELAY_EV_WAIT);
	/* a second controller's token is refused, the first goes on waiting */
	assert_int_equal(feed_token(rp, NULL, "t1", NULL, srv_sk, "t1", CTL, 100, 51).reason,
		RELAY_R_SAME_ROLE);
	assert_int_equal(relay_pairing_waiting(rp), 1);
	struct relay_event ev = feed_token(rp, &b, "t1", NULL, srv_sk, "t1", AGT, 100,
		100 + RD_RELAY_TOKEN_SKEW);
	assert_int_equal(ev.type, RELAY_EV_PAIR);
	assert_ptr_equal(ev.peer, a);
	/* the same tokens cannot open a third connection on the uuid */
	assert_int_equal(feed_token(rp, NULL, "t1", NULL, srv_sk, "t1", AGT, 100, 60).reason,
		RELAY_R_UUID_BUSY);
	relay_pairing_remove(rp, a);
	relay_pairing_remove(rp, b);
	/* agent first works as well */
	assert_int_equal(feed_token(rp, &a, "t3", NULL, srv_sk, "t3", AGT, 100, 50).type, RELAY_EV_WAIT);
	assert_int_equal(feed_token(rp, &b, "t3", NULL, srv_sk, "t3", CTL, 100, 50).type, RELAY_EV_PAIR);
	relay_pairing_free(rp);
}

/* --allow-licence-key: stock clients with the key pair without a token;
 * a token that is there must still be valid. */
static void test_tokens_and_licence(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk_closed(KEY);
	struct relay_slot *a = NULL, *b = NULL;
	assert_int_equal(feed_token(rp, NULL, "l1", NULL, NULL, NULL, 0, 0, 50).reason,
		RELAY_R_MISSING_KEY);
	assert_int_equal(feed_token(rp, NULL, "l1", "OeVu", NULL, NULL, 0, 0, 50).reason,
		RELAY_R_WRONG_KEY);
	assert_int_equal(feed_token(rp, NULL, "l1", KEY, other_sk, "l1", CTL, 100, 50).reason,
		RELAY_R_BAD_TOKEN);
	assert_int_equal(feed_token(rp, NULL, "l1", KEY, srv_sk, "l1", CTL, 10, 50).reason,
		RELAY_R_EXPIRED_TOKEN);
	/* a stock client (key only) and an rdesk one (token) pair */
	assert_int_equal(feed_token(rp, &a, "l1", KEY, NULL, NULL, 0, 0, 50).type, RELAY_EV_WAIT);
	assert_int_equal(feed_token(rp, &b, "l1", NULL, srv_sk, "l1", AGT, 100, 50).type, RELAY_EV_PAIR);
	relay_pairing_remove(rp, a);
	relay_pairing_remove(rp, b);
	/* two stock clients pair */
	assert_int_equal(feed_token(rp, &a, "l2", KEY, NULL, NULL, 0, 0, 50).type, RELAY_EV_WAIT);
	assert_int_equal(feed_token(rp, &b, "l2", KEY, NULL, NULL, 0, 0, 50).type, RELAY_EV_PAIR);
	relay_pairing_free(rp);
}

static void test_bad_first_frames(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk(NULL, 8, 8);
	struct relay_event ev;
	/* Too big announced length. */
	struct relay_slot *s = relay_pairing_add(rp, NULL, 0);
	const uint8_t big[] = { 0xff, 0xff, 0xff, 0xff };
	relay_pairing_input(rp, s, big, sizeof(big), 0, &ev);
	assert_int_equal(ev.type, RELAY_EV_REFUSE);
	assert_int_equal(ev.reason, RELAY_R_GARBAGE);
	relay_pairing_remove(rp, s);
	/* Not protobuf. */
	s = relay_pairing_add(rp, NULL, 0);
	const uint8_t junk[] = { 0x0c, 0xff, 0xff, 0xff };
	relay_pairing_input(rp, s, junk, sizeof(junk), 0, &ev);
	assert_int_equal(ev.reason, RELAY_R_GARBAGE);
	relay_pairing_remove(rp, s);
	/* Another message (RegisterPeer). */
	s = relay_pairing_add(rp, NULL, 0);
	const uint8_t reg[] = { 0x08, 0x32, 0x00 };
	relay_pairing_input(rp, s, reg, sizeof(reg), 0, &ev);
	assert_int_equal(ev.reason, RELAY_R_NOT_RELAY);
	relay_pairing_remove(rp, s);
	/* No uuid, and an oversized one. */
	s = relay_pairing_add(rp, NULL, 0);
	assert_int_equal(feed(rp, s, NULL, NULL, 0).reason, RELAY_R_NO_UUID);
	relay_pairing_remove(rp, s);
	char longu[RELAY_UUID_MAX + 2];
	memset(longu, 'u', sizeof(longu) - 1);
	longu[sizeof(longu) - 1] = 0;
	s = relay_pairing_add(rp, NULL, 0);
	assert_int_equal(feed(rp, s, longu, NULL, 0).reason, RELAY_R_NO_UUID);
	relay_pairing_remove(rp, s);
	assert_int_equal(relay_pairing_entries(rp), 0);
	assert_int_equal(relay_pairing_hello(rp), 0);
	relay_pairing_free(rp);
}

/* A frame arriving one byte at a time, with session bytes behind it. */
static void test_split_and_leftover(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk(NULL, 8, 8);
	struct relay_slot *s = relay_pairing_add(rp, NULL, 0);
	struct rd_buf b;
	struct relay_event ev = { 0 };
	rd_buf_init(&b, 0);
	frame(&b, "split", NULL);
	size_t flen = rd_buf_size(&b);
	rd_buf_put(&b, "HELLO", 5);
	const uint8_t *p = rd_buf_ptr(&b);
	for (size_t i = 0; i < flen - 1; i++) {
		relay_pairing_input(rp, s, p + i, 1, 0, &ev);
		assert_int_equal(ev.type, RELAY_EV_MORE);
	}
	relay_pairing_input(rp, s, p + flen - 1, 3, 0, &ev);
	assert_int_equal(ev.type, RELAY_EV_WAIT);
	/* More bytes while waiting are kept too. */
	relay_pairing_input(rp, s, p + flen + 2, 3, 0, &ev);
	assert_int_equal(ev.type, RELAY_EV_MORE);
	const uint8_t *lp;
	size_t ln;
	relay_pairing_leftover(s, &lp, &ln);
	assert_int_equal(ln, 5);
	assert_memory_equal(lp, "HELLO", 5);
	/* The buffer is bounded. */
	size_t room = relay_pairing_room(s);
	assert_true(room >= RELAY_LEFTOVER_MAX - 5 &&
		room <= RD_FRAME_HDR_MAX + RELAY_FIRST_FRAME_MAX + RELAY_LEFTOVER_MAX);
	uint8_t *fill = calloc(1, room + 100);
	relay_pairing_input(rp, s, fill, room + 100, 0, &ev);
	assert_int_equal(relay_pairing_room(s), 0);
	relay_pairing_leftover(s, &lp, &ln);
	assert_int_equal(ln, 5 + room);
	free(fill);
	rd_buf_free(&b);
	relay_pairing_free(rp);
}

static void test_deadlines(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk(NULL, 8, 8);
	struct relay_event evs[8];
	struct relay_slot *h = relay_pairing_add(rp, NULL, 100);  /* first frame by 110 */
	struct relay_slot *w = relay_pairing_add(rp, NULL, 101);
	assert_int_equal(feed(rp, w, "wait", NULL, 105).type, RELAY_EV_WAIT); /* peer by 135 */
	assert_true(relay_pairing_next_deadline(rp) == 110);
	assert_int_equal(relay_pairing_expire(rp, 109.9, evs, 8), 0);
	assert_int_equal(relay_pairing_expire(rp, 110, evs, 8), 1);
	assert_ptr_equal(evs[0].slot, h);
	assert_int_equal(evs[0].reason, RELAY_R_FIRST_TIMEOUT);
	relay_pairing_remove(rp, h);
	assert_true(relay_pairing_next_deadline(rp) == 135);
	assert_int_equal(relay_pairing_expire(rp, 134, evs, 8), 0);
	assert_int_equal(relay_pairing_expire(rp, 200, evs, 8), 1);
	assert_ptr_equal(evs[0].slot, w);
	assert_int_equal(evs[0].reason, RELAY_R_PAIR_TIMEOUT);
	/* The uuid is free at once, before the caller removes the slot. */
	assert_int_equal(relay_pairing_entries(rp), 0);
	struct relay_slot *n = relay_pairing_add(rp, NULL, 200);
	assert_int_equal(feed(rp, n, "wait", NULL, 200).type, RELAY_EV_WAIT);
	relay_pairing_remove(rp, w);
	assert_int_equal(relay_pairing_entries(rp), 1);
	assert_true(relay_pairing_next_deadline(rp) == 230);
	relay_pairing_free(rp);
}

static void test_bounds(void **state)
{
	(void)state;
	struct relay_pairing *rp = mk(NULL, 3, 2);
	struct relay_slot *a = relay_pairing_add(rp, NULL, 0);
	struct relay_slot *b = relay_pairing_add(rp, NULL, 0);
	assert_null(relay_pairing_add(rp, NULL, 0)); /* max_hello */
	assert_int_equal(feed(rp, a, "1", NULL, 0).type, RELAY_EV_WAIT);
	assert_int_equal(feed(rp, b, "2", NULL, 0).type, RELAY_EV_WAIT);
	struct relay_slot *c = relay_pairing_add(rp, NULL, 0);
	struct relay_slot *d = relay_pairing_add(rp, NULL, 0);
	assert_int_equal(feed(rp, c, "3", NULL, 0).type, RELAY_EV_WAIT);
	struct relay_event ev = feed(rp, d, "4", NULL, 0);
	assert_int_equal(ev.reason, RELAY_R_TABLE_FULL);
	relay_pairing_remove(rp, d);
	/* Pairing an existing uuid needs no new entry. */
	d = relay_pairing_add(rp, NULL, 0);
	assert_int_equal(feed(rp, d, "2", NULL, 0).type, RELAY_EV_PAIR);
	assert_int_equal(relay_pairing_entries(rp), 3);
	relay_pairing_free(rp);
}

/* Many uuids: the table finds each one again. */
static void test_many(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct relay_pairing *rp = mk(NULL, N, 2 * N);
	static struct relay_slot *s[2 * N];
	char u[32];
	for (int i = 0; i < N; i++) {
		snprintf(u, sizeof(u), "uuid-%d", i);
		s[i] = relay_pairing_add(rp, NULL, 0);
		assert_int_equal(feed(rp, s[i], u, NULL, 0).type, RELAY_EV_WAIT);
	}
	for (int i = N - 1; i >= 0; i--) {
		snprintf(u, sizeof(u), "uuid-%d", i);
		s[N + i] = relay_pairing_add(rp, NULL, 0);
		struct relay_event ev = feed(rp, s[N + i], u, NULL, 0);
		assert_int_equal(ev.type, RELAY_EV_PAIR);
		assert_ptr_equal(ev.peer, s[i]);
	}
	assert_int_equal(relay_pairing_entries(rp), N);
	for (int i = 0; i < 2 * N; i++)
		relay_pairing_remove(rp, s[i]);
	assert_int_equal(relay_pairing_entries(rp), 0);
	relay_pairing_free(rp);
}

static void test_reason_names(void **state)
{
	(void)state;
	for (int r = 0; r < RELAY_R_COUNT; r++)
		assert_non_null(relay_reason_name(r));
	assert_string_equal(relay_reason_name(RELAY_R_WRONG_KEY), "wrong_key");
	assert_string_equal(relay_reason_name(RELAY_R_BAD_TOKEN), "bad_token");
	assert_string_equal(relay_reason_name(RELAY_R_COUNT), "unknown");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(srv_pk, srv_sk);
	crypto_sign_keypair(other_pk, other_sk);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_two),
		cmocka_unit_test(test_third_refused),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_tokens_and_licence),
		cmocka_unit_test(test_bad_first_frames),
		cmocka_unit_test(test_split_and_leftover),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

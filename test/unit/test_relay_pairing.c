/* relay pairing core: first frame parsing, key check, the uuid table (wait,
 * pair, third refused, bounded), leftover bytes and deadlines. No sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "codec.h"
#include "pb.h"
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

/* A framed RequestRelay, appended to b. */
static void frame(struct rd_buf *b, const char *uuid, const char *key)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RequestRelay rr = HBB__REQUEST_RELAY__INIT;
	uint8_t *p;
	size_t n;
	if (uuid)
		rr.uuid = (char *)uuid;
	if (key)
		rr.licence_key = (char *)key;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rr;
	assert_int_equal(rd_pb_pack(&m.base, &p, &n), 0);
	assert_int_equal(rd_frame_append(b, p, n), 0);
	free(p);
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
	assert_string_equal(relay_reason_name(RELAY_R_COUNT), "unknown");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_two),
		cmocka_unit_test(test_third_refused),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bad_first_frames),
		cmocka_unit_test(test_split_and_leftover),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

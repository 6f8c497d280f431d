/* relay limits: token buckets per pair and in total, the FIFO of throttled
 * directions (no queue jumping, fair shares), throttled-time accounting.
 * Time is simulated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "relay-server/limits.h"

/* A direction that always has data: it takes all it is granted. */
struct greedy {
	struct relay_bucket *b;
	struct relay_waiter *w;
	double now;
	double got;
	unsigned resumed;
};

static double sim_now;

static void greedy_run(void *ud)
{
	struct greedy *g = ud;
	g->resumed++;
	for (;;) {
		size_t n = relay_limits_grant(g->w, 65536, sim_now);
		if (n == 0)
			return;
		assert_true(n <= 65536);
		relay_limits_used(g->w, n);
		g->got += (double)n;
	}
}

static void simulate(struct relay_limits *l, double from, double to)
{
	for (sim_now = from; sim_now < to; sim_now += RELAY_LIMITS_TICK)
		if (relay_limits_pending(l))
			relay_limits_tick(l, sim_now);
}

static void test_unlimited(void **state)
{
	(void)state;
	struct relay_limits *l = relay_limits_new(0, 0, 0);
	assert_false(relay_limits_enabled(l));
	struct relay_bucket *b = relay_bucket_new(l, 0);
	struct relay_waiter *w = relay_waiter_new(b, greedy_run, NULL);
	assert_int_equal(relay_limits_grant(w, 1 << 20, 0), 1 << 20);
	relay_limits_used(w, 1 << 20);
	assert_int_equal(relay_limits_grant(w, 1 << 20, 0), 1 << 20);
	assert_false(relay_limits_pending(l));
	relay_waiter_free(w, 0);
	relay_bucket_free(b);
	relay_limits_free(l);
}

/* One pair at 1 MB/s for 4 simulated seconds gets about 4 MB (+ its burst). */
static void test_pair_rate(void **state)
{
	(void)state;
	struct relay_limits *l = relay_limits_new(0, 1e6, 0);
	struct greedy g = { 0 };
	g.b = relay_bucket_new(l, 0);
	g.w = relay_waiter_new(g.b, greedy_run, &g);
	sim_now = 0;
	greedy_run(&g);
	assert_true(g.got > 0 && g.got <= 128 * 1024);
	assert_true(relay_limits_pending(l));
	simulate(l, 0, 4);
	assert_true(g.got >= 3.9e6 && g.got <= 4.2e6);
	assert_true(g.resumed > 100);
	/* It spent most of the time waiting. */
	assert_true(relay_limits_throttled_seconds(l, sim_now) > 3);
	relay_waiter_free(g.w, sim_now);
	relay_bucket_free(g.b);
	relay_limits_free(l);
}

/* Four greedy pairs under a total of 2 MB/s: equal shares, total honoured. */
static void test_total_fair(void **state)
{
	(void)state;
	struct relay_limits *l = relay_limits_new(2e6, 0, 0);
	struct greedy g[4] = { 0 };
	sim_now = 0;
	for (int i = 0; i < 4; i++) {
		g[i].b = relay_bucket_new(l, 0);
		g[i].w = relay_waiter_new(g[i].b, greedy_run, &g[i]);
	}
	for (int i = 0; i < 4; i++)
		greedy_run(&g[i]);
	simulate(l, 0, 5);
	double total = 0, lo = 1e18, hi = 0;
	for (int i = 0; i < 4; i++) {
		total += g[i].got;
		lo = g[i].got < lo ? g[i].got : lo;
		hi = g[i].got > hi ? g[i].got : hi;
	}
	print_message("total %.0f, shares %.0f .. %.0f\n", total, lo, hi);
	assert_true(total >= 9.5e6 && total <= 10.5e6);
	assert_true(lo >= 0.85 * hi);
	for (int i = 0; i < 4; i++) {
		relay_waiter_free(g[i].w, sim_now);
		relay_bucket_free(g[i].b);
	}
	relay_limits_free(l);
}

/* A pair that is also limited on its own does not take more than its rate,
 * and the others share the rest. */
static void test_pair_and_total(void **state)
{
	(void)state;
	struct relay_limits *l = relay_limits_new(4e6, 1e6, 0);
	struct greedy g[2] = { 0 };
	sim_now = 0;
	for (int i = 0; i < 2; i++) {
		g[i].b = relay_bucket_new(l, 0);
		g[i].w = relay_waiter_new(g[i].b, greedy_run, &g[i]);
		greedy_run(&g[i]);
	}
	simulate(l, 0, 5);
	for (int i = 0; i < 2; i++) {
		assert_true(g[i].got >= 4.5e6 && g[i].got <= 5.3e6);
		relay_waiter_free(g[i].w, sim_now);
		relay_bucket_free(g[i].b);
	}
	relay_limits_free(l);
}

static void noop(void *ud)
{
	(void)ud;
}

/* Once someone waits, a newcomer waits behind it. */
static void test_no_jumping(void **state)
{
	(void)state;
	struct relay_limits *l = relay_limits_new(1e6, 0, 0);
	struct relay_bucket *b1 = relay_bucket_new(l, 0), *b2 = relay_bucket_new(l, 0);
	struct relay_waiter *w1 = relay_waiter_new(b1, noop, NULL);
	struct relay_waiter *w2 = relay_waiter_new(b2, noop, NULL);
	size_t n;
	while ((n = relay_limits_grant(w1, 65536, 0)) > 0)
		relay_limits_used(w1, n);
	assert_int_equal(relay_limits_queued(l), 1);
	/* Tokens came back, but w1 was first. */
	assert_int_equal(relay_limits_grant(w2, 1000, 1.0), 0);
	assert_int_equal(relay_limits_queued(l), 2);
	/* A queued waiter asking again stays queued. */
	assert_int_equal(relay_limits_grant(w1, 1000, 1.0), 0);
	assert_int_equal(relay_limits_queued(l), 2);
	/* Freeing a queued waiter leaves the queue. */
	relay_waiter_free(w1, 1.5);
	assert_int_equal(relay_limits_queued(l), 1);
	double t = relay_limits_throttled_seconds(l, 1.5);
	assert_true(t > 1.9 && t < 2.1); /* w1 waited 1.5 s, w2 0.5 s so far */
	relay_waiter_free(w2, 2.0);
	assert_false(relay_limits_pending(l));
	t = relay_limits_throttled_seconds(l, 3.0);
	assert_true(t > 2.4 && t < 2.6);
	relay_bucket_free(b1);
	relay_bucket_free(b2);
	relay_limits_free(l);
}

/* Small requests are granted whole; nothing is granted below a chunk. */
static void test_small_requests(void **state)
{
	(void)state;
	struct relay_limits *l = relay_limits_new(0, 1e6, 0);
	struct relay_bucket *b = relay_bucket_new(l, 0);
	struct relay_waiter *w = relay_waiter_new(b, noop, NULL);
	assert_int_equal(relay_limits_grant(w, 10, 0), 10);
	relay_limits_used(w, 10);
	size_t n = relay_limits_grant(w, 1 << 20, 0);
	assert_true(n > 60000 && n < 70000);
	relay_limits_used(w, n);
	assert_int_equal(relay_limits_grant(w, 100, 0), 0);
	relay_waiter_free(w, 0);
	relay_bucket_free(b);
	relay_limits_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_pair_rate),
		cmocka_unit_test(test_total_fair),
		cmocka_unit_test(test_pair_and_total),
		cmocka_unit_test(test_no_jumping),
		cmocka_unit_test(test_small_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

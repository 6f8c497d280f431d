/* resolve: lookups run off the loop. A lookup function we control sleeps for
 * names ending in ".slow" (like a name server that takes its time); the
 * loop's 10 ms timer must keep ticking meanwhile, and the answer must come
 * back on the loop's thread. Also: numeric names through the real
 * rd_net_addr_parse, order, cancel, the queue bound, and freeing the
 * resolver while a lookup still runs. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <ev.h>

#include "err.h"
#include "net.h"
#include "resolve.h"
#include "util.h"

static double slow_secs = 1.0;
static pthread_t loop_thread;

static int fake_lookup(const char *name, uint16_t port, struct rd_sockaddr *out)
{
	size_t n = strlen(name);
	if (pthread_equal(pthread_self(), loop_thread))
		return RD_ERR_INVAL; /* never on the loop's thread */
	if (n > 5 && !strcmp(name + n - 5, ".slow")) {
		struct timespec ts = { (time_t)slow_secs,
			(long)((slow_secs - (double)(time_t)slow_secs) * 1e9) };
		nanosleep(&ts, NULL);
		return rd_net_addr_parse_numeric("192.0.2.7:99", port, out);
	}
	if (!strcmp(name, "missing.example"))
		return RD_ERR_NOTFOUND;
	return rd_net_addr_parse_numeric("192.0.2.1", port, out);
}

struct ticker {
	ev_timer w;
	unsigned ticks;
	double last, max_gap;
};

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ticker *t = (struct ticker *)w;
	(void)revents;
	double now = ev_time();
	if (t->last > 0 && now - t->last > t->max_gap)
		t->max_gap = now - t->last;
	t->last = now;
	t->ticks++;
	(void)loop;
}

struct result {
	int calls;
	int err;
	char addr[RD_ADDRSTRLEN];
	bool on_loop_thread;
	int order;
};

static int order_next;

static void on_done(int err, const struct rd_sockaddr *addr, void *ud)
{
	struct result *r = ud;
	r->calls++;
	r->err = err;
	r->on_loop_thread = pthread_equal(pthread_self(), loop_thread);
	r->order = ++order_next;
	if (addr)
		rd_net_addr_str(addr, r->addr, sizeof(r->addr));
}

/* Run the loop until every result in rs has come, or secs pass. */
static void run_until(struct ev_loop *loop, struct result **rs, int n, double secs)
{
	double end = ev_time() + secs;
	for (;;) {
		bool all = true;
		for (int i = 0; i < n; i++)
			all = all && rs[i]->calls > 0;
		if (all || ev_time() > end)
			return;
		ev_run(loop, EVRUN_ONCE);
	}
}

static void test_slow_name_keeps_loop_running(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct rd_resolver *r = rd_resolver_new(loop, fake_lookup);
	struct ticker t = { 0 };
	ev_timer_init(&t.w, on_tick, 0.01, 0.01);
	ev_timer_start(loop, &t.w);
	struct result slow = { 0 }, fast = { 0 };
	double t0 = ev_time();
	assert_non_null(rd_resolve_start(r, "relay.slow", 21117, on_done, &slow));
	assert_int_equal(slow.calls, 0); /* never from inside the call */
	assert_int_equal(rd_resolver_pending(r), 1);
	run_until(loop, (struct result *[]){ &slow }, 1, 5);
	double took = ev_time() - t0;
	assert_int_equal(slow.calls, 1);
	assert_int_equal(slow.err, RD_OK);
	assert_string_equal(slow.addr, "192.0.2.7:99");
	assert_true(slow.on_loop_thread);
	assert_true(took >= slow_secs * 0.9);
	/* the loop kept running all along: ~100 ticks of 10 ms, no long gap */
	print_message("# %.2f s lookup: %u ticks, longest gap %.0f ms\n", took, t.ticks, t.max_gap * 1000);
	assert_true(t.ticks >= (unsigned)(took / 0.01 / 2));
	assert_true(t.max_gap < 0.25);
	/* a fast name after it, and a failing one */
	struct result miss = { 0 };
	assert_non_null(rd_resolve_start(r, "relay.example", 21117, on_done, &fast));
	assert_non_null(rd_resolve_start(r, "missing.example", 21117, on_done, &miss));
	run_until(loop, (struct result *[]){ &fast, &miss }, 2, 5);
	assert_int_equal(fast.err, RD_OK);
	assert_string_equal(fast.addr, "192.0.2.1:21117");
	assert_int_equal(miss.err, RD_ERR_NOTFOUND);
	assert_int_equal(miss.addr[0], 0);
	assert_true(fast.order < miss.order);
	assert_int_equal(rd_resolver_pending(r), 0);
	ev_timer_stop(loop, &t.w);
	rd_resolver_free(r);
	ev_loop_destroy(loop);
}

/* The default lookup (rd_net_addr_parse) on names that need no DNS. */
static void test_default_numeric(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct rd_resolver *r = rd_resolver_new(loop, NULL);
	struct result a = { 0 }, b = { 0 }, c = { 0 };
	assert_non_null(rd_resolve_start(r, "127.0.0.1", 21117, on_done, &a));
	assert_non_null(rd_resolve_start(r, "[::1]:5", 21117, on_done, &b));
	assert_non_null(rd_resolve_start(r, "bad name!", 21117, on_done, &c));
	run_until(loop, (struct result *[]){ &a, &b, &c }, 3, 5);
	assert_string_equal(a.addr, "127.0.0.1:21117");
	assert_string_equal(b.addr, "[::1]:5");
	assert_int_not_equal(c.err, RD_OK);
	/* nothing pending: the loop has no reason to stay */
	assert_int_equal(ev_run(loop, 0), 0);
	rd_resolver_free(r);
	ev_loop_destroy(loop);
}

static void test_cancel_and_bounds(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct rd_resolver *r = rd_resolver_new(loop, fake_lookup);
	static struct result rs[RD_RESOLVE_QUEUE_MAX + 1];
	struct rd_resolve *q[RD_RESOLVE_QUEUE_MAX + 1];
	slow_secs = 0.3;
	memset(rs, 0, sizeof(rs));
	/* a slow one runs; the rest queue behind it up to the bound */
	q[0] = rd_resolve_start(r, "first.slow", 1, on_done, &rs[0]);
	for (int i = 1; i < RD_RESOLVE_QUEUE_MAX; i++)
		assert_non_null(q[i] = rd_resolve_start(r, "x.example", 1, on_done, &rs[i]));
	assert_null(rd_resolve_start(r, "one.too.many", 1, on_done, &rs[RD_RESOLVE_QUEUE_MAX]));
	char longname[RD_RESOLVE_NAME_MAX + 1];
	memset(longname, 'a', RD_RESOLVE_NAME_MAX);
	longname[RD_RESOLVE_NAME_MAX] = 0;
	/* cancel the running one and a queued one: neither calls back */
	rd_resolve_cancel(r, q[0]);
	rd_resolve_cancel(r, q[5]);
	assert_true(rd_resolver_pending(r) <= RD_RESOLVE_QUEUE_MAX - 1); /* q[0] may still be queued */
	run_until(loop, (struct result *[]){ &rs[RD_RESOLVE_QUEUE_MAX - 1] }, 1, 5);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(rs[0].calls, 0);
	assert_int_equal(rs[5].calls, 0);
	for (int i = 1; i < RD_RESOLVE_QUEUE_MAX; i++)
		if (i != 5)
			assert_int_equal(rs[i].calls, 1);
	assert_int_equal(rd_resolver_pending(r), 0);
	struct result big = { 0 };
	assert_null(rd_resolve_start(r, longname, 1, on_done, &big));
	rd_resolver_free(r);
	ev_loop_destroy(loop);
}

/* Freeing the resolver while a lookup runs returns at once; the worker
 * cleans up when its lookup ends, and no callback comes. */
static void test_free_while_running(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct rd_resolver *r = rd_resolver_new(loop, fake_lookup);
	struct result a = { 0 }, b = { 0 };
	slow_secs = 0.3;
	assert_non_null(rd_resolve_start(r, "gone.slow", 1, on_done, &a));
	assert_non_null(rd_resolve_start(r, "queued.example", 1, on_done, &b));
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	nanosleep(&ts, NULL); /* the worker is inside the lookup now */
	double t0 = ev_time();
	rd_resolver_free(r);
	assert_true(ev_time() - t0 < 0.1);
	ev_run(loop, EVRUN_NOWAIT);
	ev_loop_destroy(loop);
	ts.tv_nsec = 500 * 1000 * 1000; /* let the worker finish (leak checkers look) */
	nanosleep(&ts, NULL);
	assert_int_equal(a.calls + b.calls, 0);
}

int main(void)
{
	loop_thread = pthread_self();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_name_keeps_loop_running),
		cmocka_unit_test(test_default_numeric),
		cmocka_unit_test(test_cancel_and_bounds),
		cmocka_unit_test(test_free_while_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* srclimit: counts per IPv4 address and per IPv6 /64 without the port, the
 * cap, release on close, a full table, logging once per source and
 * interval, and a long random run against a plain model (removals shift
 * entries back across the end of the table). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "srclimit.h"

static struct rd_sockaddr A(const char *s)
{
	struct rd_sockaddr a;
	assert_int_equal(rd_net_addr_parse_numeric(s, 1, &a), RD_OK);
	return a;
}

static int take(struct rd_srclimit *t, const char *ip)
{
	struct rd_sockaddr a = A(ip);
	return rd_srclimit_take(t, &a);
}

static void put(struct rd_srclimit *t, const char *ip)
{
	struct rd_sockaddr a = A(ip);
	rd_srclimit_put(t, &a);
}

static unsigned count(struct rd_srclimit *t, const char *ip)
{
	struct rd_sockaddr a = A(ip);
	return rd_srclimit_count(t, &a);
}

static void test_arguments(void **state)
{
	(void)state;
	assert_null(rd_srclimit_new(0, 1));
	assert_null(rd_srclimit_new(1, 0));
	assert_null(rd_srclimit_new(RD_SRCLIMIT_SOURCES_MAX + 1, 1));
	struct rd_srclimit *t = rd_srclimit_new(1, 7);
	assert_non_null(t);
	assert_int_equal(rd_srclimit_per_source(t), 7);
	assert_int_equal(rd_srclimit_sources(t), 0);
	rd_srclimit_free(t);
	rd_srclimit_free(NULL);
}

static void test_ipv4(void **state)
{
	(void)state;
	struct rd_srclimit *t = rd_srclimit_new(100, 3);
	/* the port is not part of the key */
	assert_int_equal(take(t, "192.0.2.1:1000"), RD_OK);
	assert_int_equal(take(t, "192.0.2.1:1001"), RD_OK);
	assert_int_equal(take(t, "192.0.2.1"), RD_OK);
	assert_int_equal(take(t, "192.0.2.1:1002"), RD_ERR_LIMIT);
	assert_int_equal(count(t, "192.0.2.1:9"), 3);
	/* the neighbour address is another source */
	assert_int_equal(take(t, "192.0.2.2:1000"), RD_OK);
	assert_int_equal(count(t, "192.0.2.2"), 1);
	/* a v4-mapped IPv6 address is the IPv4 source */
	assert_int_equal(take(t, "[::ffff:192.0.2.1]:5"), RD_ERR_LIMIT);
	assert_int_equal(count(t, "[::ffff:192.0.2.2]:5"), 1);
	assert_int_equal(rd_srclimit_sources(t), 2);
	rd_srclimit_free(t);
}

static void test_ipv6_64(void **state)
{
	(void)state;
	struct rd_srclimit *t = rd_srclimit_new(100, 2);
	/* one /64, whatever the interface identifier */
	assert_int_equal(take(t, "[2001:db8:1:2::1]:1"), RD_OK);
	assert_int_equal(take(t, "[2001:db8:1:2:ffff:ffff:ffff:fffe]:1"), RD_OK);
	assert_int_equal(take(t, "[2001:db8:1:2:1234::9]:2"), RD_ERR_LIMIT);
	assert_int_equal(count(t, "2001:db8:1:2::77"), 2);
	/* the next /64 and another /48 are other sources */
	assert_int_equal(take(t, "[2001:db8:1:3::1]:1"), RD_OK);
	assert_int_equal(take(t, "[2001:db8:2:2::1]:1"), RD_OK);
	assert_int_equal(count(t, "2001:db8:1:3::2"), 1);
	assert_int_equal(count(t, "2001:db8:2:2::2"), 1);
	assert_int_equal(rd_srclimit_sources(t), 3);
	/* releasing with another address of the /64 releases the source */
	put(t, "2001:db8:1:2::dead");
	assert_int_equal(take(t, "[2001:db8:1:2::5]:1"), RD_OK);
	rd_srclimit_free(t);
}

static void test_release(void **state)
{
	(void)state;
	struct rd_srclimit *t = rd_srclimit_new(10, 2);
	assert_int_equal(take(t, "198.51.100.7"), RD_OK);
	assert_int_equal(take(t, "198.51.100.7"), RD_OK);
	assert_int_equal(take(t, "198.51.100.7"), RD_ERR_LIMIT);
	put(t, "198.51.100.7");
	assert_int_equal(count(t, "198.51.100.7"), 1);
	assert_int_equal(take(t, "198.51.100.7"), RD_OK);
	put(t, "198.51.100.7");
	put(t, "198.51.100.7");
	assert_int_equal(count(t, "198.51.100.7"), 0);
	assert_int_equal(rd_srclimit_sources(t), 0);
	/* a put without a take changes nothing (no wrap below zero) */
	put(t, "198.51.100.7");
	put(t, "2001:db8::1");
	assert_int_equal(count(t, "198.51.100.7"), 0);
	assert_int_equal(rd_srclimit_sources(t), 0);
	assert_int_equal(take(t, "198.51.100.7"), RD_OK);
	assert_int_equal(take(t, "198.51.100.7"), RD_OK);
	assert_int_equal(take(t, "198.51.100.7"), RD_ERR_LIMIT);
	rd_srclimit_free(t);
}

static void test_full(void **state)
{
	(void)state;
	struct rd_srclimit *t = rd_srclimit_new(2, 5);
	assert_int_equal(take(t, "10.0.0.1"), RD_OK);
	assert_int_equal(take(t, "10.0.0.2"), RD_OK);
	assert_int_equal(take(t, "10.0.0.3"), RD_ERR_NOMEM);
	/* the sources already in keep counting */
	assert_int_equal(take(t, "10.0.0.1"), RD_OK);
	put(t, "10.0.0.2");
	assert_int_equal(take(t, "10.0.0.3"), RD_OK);
	assert_int_equal(rd_srclimit_sources(t), 2);
	rd_srclimit_free(t);
}

static void test_log_once_per_interval(void **state)
{
	(void)state;
	struct rd_srclimit *t = rd_srclimit_new(4, 1);
	struct rd_sockaddr a = A("203.0.113.5"), b = A("203.0.113.6"), c = A("203.0.113.7");
	unsigned long n = 0;
	assert_int_equal(rd_srclimit_take(t, &a), RD_OK);
	assert_int_equal(rd_srclimit_take(t, &b), RD_OK);
	assert_int_equal(rd_srclimit_take(t, &a), RD_ERR_LIMIT);
	assert_true(rd_srclimit_log_ok(t, &a, 100.0, 10.0, &n));
	assert_int_equal(n, 1);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(rd_srclimit_take(t, &a), RD_ERR_LIMIT);
		assert_false(rd_srclimit_log_ok(t, &a, 100.0 + i * 0.1, 10.0, &n));
	}
	/* another source has its own interval */
	assert_int_equal(rd_srclimit_take(t, &b), RD_ERR_LIMIT);
	assert_true(rd_srclimit_log_ok(t, &b, 101.0, 10.0, &n));
	assert_int_equal(n, 1);
	/* after the interval: one line that tells how many were not logged */
	assert_int_equal(rd_srclimit_take(t, &a), RD_ERR_LIMIT);
	assert_true(rd_srclimit_log_ok(t, &a, 110.0, 10.0, &n));
	assert_int_equal(n, 51);
	/* a source refused because the table is full logs with the others so */
	struct rd_srclimit *full = rd_srclimit_new(1, 1);
	assert_int_equal(rd_srclimit_take(full, &a), RD_OK);
	assert_int_equal(rd_srclimit_take(full, &b), RD_ERR_NOMEM);
	assert_true(rd_srclimit_log_ok(full, &b, 5.0, 10.0, &n));
	assert_int_equal(rd_srclimit_take(full, &c), RD_ERR_NOMEM);
	assert_false(rd_srclimit_log_ok(full, &c, 6.0, 10.0, &n));
	assert_true(rd_srclimit_log_ok(full, &c, 15.0, 10.0, &n));
	assert_int_equal(n, 1);
	rd_srclimit_free(full);
	rd_srclimit_free(t);
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Random takes and puts over nsrc sources (half IPv4, half IPv6 /64s, each
 * seen from changing ports and interface identifiers) against a model. */
static void churn(size_t max_sources, unsigned nsrc, unsigned per, unsigned steps)
{
	struct rd_srclimit *t = rd_srclimit_new(max_sources, per);
	unsigned *model = calloc(nsrc, sizeof(*model));
	size_t live = 0;
	char ip[80];
	assert_non_null(t);
	for (unsigned s = 0; s < steps; s++) {
		unsigned i = rng() % nsrc, r = rng();
		if (i % 2)
			snprintf(ip, sizeof(ip), "[2001:db8:%x:%x:%x::%x]:%u", i >> 8, i & 0xff, r & 0xffff,
				(r >> 16) & 0xff, r % 60000 + 1);
		else
			snprintf(ip, sizeof(ip), "10.%u.%u.%u:%u", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff,
				r % 60000 + 1);
		struct rd_sockaddr a = A(ip);
		if (rng() % 2) {
			int rc = rd_srclimit_take(t, &a);
			if (model[i] >= per) {
				assert_int_equal(rc, RD_ERR_LIMIT);
			} else if (model[i] == 0 && live >= max_sources) {
				assert_int_equal(rc, RD_ERR_NOMEM);
			} else {
				assert_int_equal(rc, RD_OK);
				live += model[i]++ == 0;
			}
		} else {
			rd_srclimit_put(t, &a);
			if (model[i])
				live -= --model[i] == 0;
		}
		assert_int_equal(rd_srclimit_count(t, &a), model[i]);
		assert_int_equal(rd_srclimit_sources(t), live);
	}
	for (unsigned i = 0; i < nsrc; i++) {
		if (i % 2)
			snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 8, i & 0xff);
		else
			snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
		assert_int_equal(count(t, ip), model[i]);
	}
	free(model);
	rd_srclimit_free(t);
}

static void test_churn(void **state)
{
	(void)state;
	churn(8, 12, 3, 200000);     /* 16 slots, always near full: runs wrap around */
	churn(600, 1000, 4, 400000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6_64),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_log_once_per_interval),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ratelimit: burst, refill, per-source buckets without the port, IPv6 /64
 * grouping, LRU eviction in a table that never grows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "err.h"
#include "ratelimit.h"

static struct rd_sockaddr A(const char *s)
{
	struct rd_sockaddr a;
	assert_int_equal(rd_net_addr_parse_numeric(s, 1, &a), RD_OK);
	return a;
}

static int drain(struct rd_ratelimit *rl, const char *ip, double now, int max)
{
	struct rd_sockaddr a = A(ip);
	int n = 0;
	while (n < max && rd_ratelimit_allow(rl, &a, now))
		n++;
	return n;
}

static void test_sizes(void **state)
{
	(void)state;
	struct rd_ratelimit *rl;
	static const size_t in[] = { 0, 1, 4, 5, 8, 1000, 1024, 1025 };
	static const size_t want[] = { 4, 4, 4, 8, 8, 1024, 1024, 2048 };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		rl = rd_ratelimit_new(in[i], 1, 1);
		assert_non_null(rl);
		assert_int_equal(rd_ratelimit_slots(rl), want[i]);
		rd_ratelimit_free(rl);
	}
	assert_null(rd_ratelimit_new(4, 1, 0));
	assert_null(rd_ratelimit_new(4, -1, 1));
	assert_null(rd_ratelimit_new(SIZE_MAX, 1, 1));
	rd_ratelimit_free(NULL);
}

static void test_burst_and_refill(void **state)
{
	(void)state;
	struct rd_ratelimit *rl = rd_ratelimit_new(64, 2.0, 5.0);
	struct rd_sockaddr a = A("192.0.2.1:1000");

	assert_int_equal(drain(rl, "192.0.2.1", 100.0, 100), 5);
	assert_false(rd_ratelimit_allow(rl, &a, 100.0));
	assert_false(rd_ratelimit_allow(rl, &a, 100.2));  /* 0.4 token */
	assert_true(rd_ratelimit_allow(rl, &a, 100.5));   /* 1.0 token */
	assert_false(rd_ratelimit_allow(rl, &a, 100.5));
	assert_int_equal(drain(rl, "192.0.2.1", 101.5, 100), 2);
	/* a long pause refills to the burst, never beyond */
	assert_int_equal(drain(rl, "192.0.2.1", 1000.0, 100), 5);
	/* time running backwards gives nothing */
	assert_int_equal(drain(rl, "192.0.2.1", 900.0, 100), 0);

	/* take n: several tokens at once; more than the burst never passes */
	assert_true(rd_ratelimit_take(rl, &a, 3, 2000.0));
	assert_false(rd_ratelimit_take(rl, &a, 3, 2000.0));
	assert_true(rd_ratelimit_take(rl, &a, 2, 2000.0));
	assert_false(rd_ratelimit_take(rl, &a, 6, 3000.0));
	assert_true(rd_ratelimit_take(rl, &a, 5, 3000.0));
	assert_true(rd_ratelimit_take(rl, &a, 0, 3000.0));
	assert_false(rd_ratelimit_take(rl, &a, -1, 3000.0));
	rd_ratelimit_free(rl);
}

static void test_keys(void **state)
{
	(void)state;
	struct rd_ratelimit *rl = rd_ratelimit_new(64, 0.0, 3.0);
	struct rd_sockaddr a1 = A("198.51.100.7:1"), a2 = A("198.51.100.7:65000");
	struct rd_sockaddr mapped = A("[::ffff:198.51.100.7]:9");
	struct sockaddr_in6 raw = { .sin6_family = AF_INET6 };
	struct rd_sockaddr rawm;

	/* same IP, different ports: one bucket */
	assert_true(rd_ratelimit_allow(rl, &a1, 0));
	assert_true(rd_ratelimit_allow(rl, &a2, 0));
	assert_true(rd_ratelimit_allow(rl, &mapped, 0));
	assert_false(rd_ratelimit_allow(rl, &a1, 0));
	/* v4-mapped as received on a dual-stack socket: the same bucket */
	raw.sin6_addr.s6_addr[10] = 0xff;
	raw.sin6_addr.s6_addr[11] = 0xff;
	raw.sin6_addr.s6_addr[12] = 198;
	raw.sin6_addr.s6_addr[13] = 51;
	raw.sin6_addr.s6_addr[14] = 100;
	raw.sin6_addr.s6_addr[15] = 7;
	rd_net_addr_from(&rawm, (struct sockaddr *)&raw, sizeof(raw));
	assert_false(rd_ratelimit_allow(rl, &rawm, 0));
	/* other IPs are untouched */
	assert_int_equal(drain(rl, "198.51.100.8", 0, 10), 3);
	assert_int_equal(drain(rl, "203.0.113.7", 0, 10), 3);

	/* IPv6: one /64 shares a bucket, the next /64 does not */
	assert_int_equal(drain(rl, "2001:db8:1:2::1", 0, 10), 3);
	assert_int_equal(drain(rl, "2001:db8:1:2:ffff:ffff:ffff:ffff", 0, 10), 0);
	assert_int_equal(drain(rl, "[2001:db8:1:2:abcd::9]:443", 0, 10), 0);
	assert_int_equal(drain(rl, "2001:db8:1:3::1", 0, 10), 3);
	/* an IPv6 /64 of zeros does not collide with IPv4 */
	assert_int_equal(drain(rl, "::1", 0, 10), 3);
	assert_int_equal(drain(rl, "0.0.0.1", 0, 10), 3);
	rd_ratelimit_free(rl);
}

static void test_eviction_lru(void **state)
{
	(void)state;
	/* 4 slots = one set of 4 ways: placement is fully known */
	struct rd_ratelimit *rl = rd_ratelimit_new(4, 0.0, 2.0);
	const char *ip[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5" };

	for (int i = 0; i < 4; i++)
		assert_int_equal(drain(rl, ip[i], 0, 10), 2);
	/* all four still remembered (empty) */
	for (int i = 0; i < 4; i++)
		assert_int_equal(drain(rl, ip[i], 1, 10), 0);
	/* touch 0, 2, 3: 1 is now least recently seen */
	assert_int_equal(drain(rl, ip[0], 2, 10), 0);
	assert_int_equal(drain(rl, ip[2], 2, 10), 0);
	assert_int_equal(drain(rl, ip[3], 2, 10), 0);
	/* a fifth source gets a fresh bucket by evicting ip[1] */
	assert_int_equal(drain(rl, ip[4], 3, 10), 2);
	assert_int_equal(rd_ratelimit_slots(rl), 4);
	for (int i = 0; i < 4; i++)
		if (i != 1)
			assert_int_equal(drain(rl, ip[i], 4, 10), 0);
	/* ip[1] was forgotten, so it starts full again; that evicted ip[4],
	 * the least recently seen by then */
	assert_int_equal(drain(rl, ip[1], 5, 10), 2);
	assert_int_equal(drain(rl, ip[4], 6, 10), 2);
	rd_ratelimit_free(rl);
}

static void test_flood_does_not_grow(void **state)
{
	(void)state;
	struct rd_ratelimit *rl = rd_ratelimit_new(1000, 0.0, 1.0);
	struct rd_sockaddr hot = A("203.0.113.1");
	char s[64];
	int fresh = 0;

	assert_true(rd_ratelimit_allow(rl, &hot, 0));
	for (int i = 0; i < 200000; i++) {
		struct rd_sockaddr a;
		snprintf(s, sizeof(s), "2001:db8:%x:%x::1", (i >> 16) & 0xffff, i & 0xffff);
		a = A(s);
		fresh += rd_ratelimit_allow(rl, &a, 1);
		/* the hot source stays limited while it keeps coming back (four
		 * new sources in its set between two visits would be needed to
		 * push it out) */
		if (i % 8 == 0)
			assert_false(rd_ratelimit_allow(rl, &hot, 1));
	}
	assert_int_equal(fresh, 200000);
	assert_int_equal(rd_ratelimit_slots(rl), 1024);
	rd_ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_burst_and_refill),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_eviction_lru),
		cmocka_unit_test(test_flood_does_not_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

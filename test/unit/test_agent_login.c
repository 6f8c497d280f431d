/* Unit tests for the login guard of agent/login.c: growing delays per source
 * that decay, a pace per ID that delays everyone a little and refuses nobody,
 * oldest waiting login first. Time is given to the guard, never read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "agent/login.h"
#include "err.h"

static struct rd_sockaddr addr(const char *text)
{
	struct rd_sockaddr a;
	assert_int_equal(rd_net_addr_parse_numeric(text, 0, &a), RD_OK);
	return a;
}

static void test_tables(void **state)
{
	(void)state;
	static const double src[] = { 0, 0, 0, 1, 2, 4, 8, 16, -1, -1 };
	for (unsigned l = 0; l < 10; l++)
		assert_true(login_src_delay(l) == src[l]);
	static const double id[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1, 2, 2, 2 };
	for (unsigned l = 0; l < 16; l++)
		assert_true(login_id_gap(l) == id[l]);
	assert_true(login_id_gap(100) == LOGIN_ID_GAP_MAX);
}

/* Fail n times from a, each as soon as the guard lets it check; returns the time. */
static double fail_n(struct login_guard *g, const struct rd_sockaddr *a, double t, int n)
{
	for (int i = 0; i < n; i++) {
		double at = t;
		enum login_verdict v;
		while ((v = login_guard_check(g, a, t, t, &at)) == LOGIN_WAIT)
			t = at;
		assert_int_equal(v, LOGIN_ALLOW);
		login_guard_fail(g, a, t);
	}
	return t;
}

static void test_source_delays_grow_then_block(void **state)
{
	(void)state;
	struct login_guard *g = login_guard_new();
	struct rd_sockaddr a = addr("192.0.2.1:1"), a2 = addr("192.0.2.1:2");
	double t = 1000, at = 0;
	/* Two free tries. */
	t = fail_n(g, &a, t, 2);
	assert_int_equal(login_guard_check(g, &a, t, t, &at), LOGIN_ALLOW);
	login_guard_fail(g, &a, t);
	/* Level 3: the next check waits 1 s after the last failure; the port
	 * does not matter. */
	assert_int_equal(login_guard_src_level(g, &a2, t), 3);
	assert_int_equal(login_guard_check(g, &a2, t, t + 0.5, &at), LOGIN_WAIT);
	assert_true(at == t + 1);
	assert_int_equal(login_guard_check(g, &a2, t, t + 1, &at), LOGIN_ALLOW);
	login_guard_fail(g, &a2, t + 1);
	t += 1;
	/* 2, 4, 8, 16 s ... */
	static const double want[] = { 2, 4, 8, 16 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(login_guard_check(g, &a, t, t + want[i] - 0.01, &at), LOGIN_WAIT);
		assert_true(at == t + want[i]);
		/* A login held LOGIN_HOLD_MAX is refused unchecked. */
		assert_int_equal(login_guard_check(g, &a, t - LOGIN_HOLD_MAX, t + 0.5, NULL), LOGIN_BLOCKED);
		t = at;
		assert_int_equal(login_guard_check(g, &a, t, t, &at), LOGIN_ALLOW);
		login_guard_fail(g, &a, t);
	}
	/* ... then blocked, and no check is made while it is. */
	assert_int_equal(login_guard_src_level(g, &a, t), LOGIN_SRC_BLOCK);
	assert_int_equal(login_guard_check(g, &a, t + 1, t + 1, &at), LOGIN_BLOCKED);
	assert_true(at == t + LOGIN_SRC_DECAY);
	assert_string_equal(login_verdict_text(LOGIN_BLOCKED), "Please try 1 minute later");
	/* Other sources are not concerned. */
	struct rd_sockaddr b = addr("192.0.2.2:1");
	assert_int_equal(login_guard_check(g, &b, t + 1, t + 1, &at), LOGIN_ALLOW);
	login_guard_free(g);
}

/* A helpdesk behind the attacker's NAT gets in once the attacker stops: the
 * block lifts within LOGIN_SRC_DECAY seconds of the last failure. */
static void test_block_decays(void **state)
{
	(void)state;
	struct login_guard *g = login_guard_new();
	struct rd_sockaddr a = addr("198.51.100.7:5");
	double t = fail_n(g, &a, 50, 8), at = 0;
	assert_int_equal(login_guard_check(g, &a, t + 19.9, t + 19.9, &at), LOGIN_BLOCKED);
	assert_int_equal(login_guard_check(g, &a, t + 20.01, t + 20.01, &at), LOGIN_ALLOW);
	login_guard_success(g, &a, t + 20.01);
	assert_int_equal(login_guard_src_level(g, &a, t + 20.01), 0);
	/* Left alone, the whole score is gone after 8 * LOGIN_SRC_DECAY. */
	t = fail_n(g, &a, t + 30, 8);
	assert_int_equal(login_guard_src_level(g, &a, t + 8 * LOGIN_SRC_DECAY - 1), 1);
	assert_int_equal(login_guard_src_level(g, &a, t + 8 * LOGIN_SRC_DECAY), 0);
	login_guard_free(g);
}

/* A source that never stops gets about one check per LOGIN_SRC_DECAY. */
static void test_source_steady_rate(void **state)
{
	(void)state;
	struct login_guard *g = login_guard_new();
	struct rd_sockaddr a = addr("203.0.113.5:9");
	int checks = 0;
	for (double t = 0; t < 600; t += 0.25) {
		if (login_guard_check(g, &a, t, t, NULL) == LOGIN_ALLOW) {
			checks++;
			login_guard_fail(g, &a, t);
		}
	}
	/* 8 to get blocked, then one per 20 s over the rest of the 10 minutes. */
	print_message("one source guessing for 600 s: %d checks\n", checks);
	assert_in_range(checks, 30, 40);
	login_guard_free(g);
}

static void test_ipv6_per_64(void **state)
{
	(void)state;
	struct login_guard *g = login_guard_new();
	struct rd_sockaddr a = addr("[2001:db8:1:2::1]:5"), b = addr("[2001:db8:1:2::99]:7"),
		c = addr("[2001:db8:1:3::1]:5"), m = addr("[::ffff:192.0.2.9]:1"), v4 = addr("192.0.2.9:2");
	assert_true(login_same_source(&a, &b));
	assert_false(login_same_source(&a, &c));
	assert_true(login_same_source(&m, &v4));
	double t = fail_n(g, &a, 10, 8);
	assert_int_equal(login_guard_check(g, &b, t, t, NULL), LOGIN_BLOCKED);
	assert_int_equal(login_guard_check(g, &c, t, t, NULL), LOGIN_ALLOW);
	login_guard_free(g);
}

/* Many sources together: the ID's pace delays everyone, refuses nobody, and
 * serves the oldest waiting login first. */
static void test_id_pace(void **state)
{
	(void)state;
	struct login_guard *g = login_guard_new();
	double t = 100;
	char txt[40];
	for (int i = 0; i < 13; i++) {
		snprintf(txt, sizeof(txt), "10.1.0.%d:1", i + 1);
		struct rd_sockaddr s = addr(txt);
		double ti = t - 24 + 2 * i; /* 2 s apart: never more than the ID's gap */
		assert_int_equal(login_guard_check(g, &s, ti, ti, NULL), LOGIN_ALLOW);
		login_guard_fail(g, &s, ti);
	}
	assert_int_equal(login_guard_id_level(g, t), 13);
	/* A fresh source waits for the ID's turn, LOGIN_ID_GAP_MAX after the last check. */
	struct rd_sockaddr helpdesk = addr("10.2.0.1:1"), late = addr("10.3.0.1:1");
	double at = 0;
	assert_int_equal(login_guard_check(g, &helpdesk, t, t + 0.1, &at), LOGIN_WAIT);
	assert_true(at == t + LOGIN_ID_GAP_MAX);
	/* A later login asks first when the turn comes: the older one goes first. */
	assert_int_equal(login_guard_check(g, &late, t + 1, t + 2.1, &at), LOGIN_WAIT);
	assert_int_equal(login_guard_check(g, &helpdesk, t, t + 2.1, &at), LOGIN_ALLOW);
	login_guard_success(g, &helpdesk, t + 2.1);
	assert_int_equal(login_guard_check(g, &late, t + 1, t + 2.2, &at), LOGIN_WAIT);
	assert_true(at > t + 4.09 && at < t + 4.11);
	assert_int_equal(login_guard_check(g, &late, t + 1, t + 4.1, &at), LOGIN_ALLOW);
	/* A waiter that stops asking (its session went away) loses its place. */
	struct rd_sockaddr gone = addr("10.4.0.1:1"), next = addr("10.5.0.1:1");
	assert_int_equal(login_guard_check(g, &gone, t + 5, t + 5, &at), LOGIN_WAIT);
	assert_int_equal(login_guard_check(g, &next, t + 6, t + 6.2, &at), LOGIN_WAIT);
	assert_int_equal(login_guard_check(g, &next, t + 6, t + 8.0, &at), LOGIN_ALLOW);
	/* The ID's level decays: a quiet minute later nobody waits. */
	assert_int_equal(login_guard_id_level(g, t + 60), 1);
	assert_int_equal(login_guard_check(g, &gone, t + 70, t + 70, &at), LOGIN_ALLOW);
	login_guard_free(g);
}

/* With the ID busy, a login from a source without recent failures (the
 * helpdesk) goes before older ones from sources that failed (the guessers). */
static void test_id_clean_first(void **state)
{
	(void)state;
	struct login_guard *g = login_guard_new();
	struct rd_sockaddr guesser[13], helpdesk = addr("10.9.0.1:1");
	char txt[40];
	double t = 200;
	for (int i = 0; i < 13; i++) {
		snprintf(txt, sizeof(txt), "10.8.0.%d:1", i + 1);
		guesser[i] = addr(txt);
		double ti = t - 24 + 2 * i;
		assert_int_equal(login_guard_check(g, &guesser[i], ti, ti, NULL), LOGIN_ALLOW);
		login_guard_fail(g, &guesser[i], ti);
	}
	/* The last four guessers (failures 6 s ago and less, no wait of their own
	 * left) have waited since t + 0.1. */
	for (int i = 9; i < 13; i++)
		assert_int_equal(login_guard_check(g, &guesser[i], t + 0.1, t + 1, NULL), LOGIN_WAIT);
	assert_int_equal(login_guard_check(g, &helpdesk, t + 1.5, t + 1.5, NULL), LOGIN_WAIT);
	for (int i = 9; i < 13; i++)
		assert_int_equal(login_guard_check(g, &guesser[i], t + 0.1, t + 2, NULL), LOGIN_WAIT);
	assert_int_equal(login_guard_check(g, &helpdesk, t + 1.5, t + 2, NULL), LOGIN_ALLOW);
	login_guard_free(g);
}

/* A botnet of 200 sources, each guessing whenever allowed for 10 minutes,
 * gets at most one check per LOGIN_ID_GAP_MAX once the ID is busy. */
static void test_id_steady_rate(void **state)
{
	(void)state;
	struct login_guard *g = login_guard_new();
	struct rd_sockaddr src[200];
	double since[200];
	char txt[40];
	for (int i = 0; i < 200; i++) {
		snprintf(txt, sizeof(txt), "10.%d.%d.1:1", 10 + i / 100, i % 100);
		src[i] = addr(txt);
		since[i] = 0;
	}
	int checks = 0;
	for (double t = 0; t < 600; t += 0.5) {
		for (int i = 0; i < 200; i++) {
			enum login_verdict v = login_guard_check(g, &src[i], since[i], t, NULL);
			if (v == LOGIN_ALLOW) {
				checks++;
				login_guard_fail(g, &src[i], t);
			}
			if (v != LOGIN_WAIT)
				since[i] = t + 0.5; /* answered: the next login comes at the next step */
		}
	}
	print_message("200 sources guessing for 600 s: %d checks\n", checks);
	assert_true(checks <= 600 / LOGIN_ID_GAP_MAX + 40);
	login_guard_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_source_delays_grow_then_block),
		cmocka_unit_test(test_block_decays),
		cmocka_unit_test(test_source_steady_rate),
		cmocka_unit_test(test_ipv6_per_64),
		cmocka_unit_test(test_id_pace),
		cmocka_unit_test(test_id_clean_first),
		cmocka_unit_test(test_id_steady_rate),
	};
	return cmocka_run_group_tests_name("agent_login", tests, NULL, NULL);
}

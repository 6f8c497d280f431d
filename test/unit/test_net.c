/* net: address parse/print round trips and rejects, dual-stack listeners over
 * 127.0.0.1 and ::1, UDP, SO_REUSEPORT, connect from a bound local port,
 * accept limits. Loopback only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "err.h"
#include "net.h"

static bool have_ipv6(void)
{
	struct rd_sockaddr a;
	int fd;
	assert_int_equal(rd_net_addr_parse_numeric("[::1]:0", 0, &a), RD_OK);
	fd = rd_net_tcp_listen(&a, 1, 0);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_parse_roundtrip(void **state)
{
	(void)state;
	static const struct { const char *in; uint16_t def; const char *out; int fam; } cases[] = {
		{ "1.2.3.4", 21116, "1.2.3.4:21116", AF_INET },
		{ "1.2.3.4:5", 21116, "1.2.3.4:5", AF_INET },
		{ "0.0.0.0:0", 9, "0.0.0.0:0", AF_INET },
		{ "255.255.255.255:65535", 0, "255.255.255.255:65535", AF_INET },
		{ "::1", 80, "[::1]:80", AF_INET6 },
		{ "::", 80, "[::]:80", AF_INET6 },
		{ "[::1]:5", 80, "[::1]:5", AF_INET6 },
		{ "[::1]", 80, "[::1]:80", AF_INET6 },
		{ "2001:DB8::0:1", 1, "[2001:db8::1]:1", AF_INET6 },
		{ "[2001:db8:0:0:1:0:0:1]:443", 1, "[2001:db8::1:0:0:1]:443", AF_INET6 },
		{ "::ffff:192.0.2.1", 7, "192.0.2.1:7", AF_INET },
		{ "[::ffff:127.0.0.1]:8", 7, "127.0.0.1:8", AF_INET },
		{ "1.2.3.4:00080", 0, "1.2.3.4:80", AF_INET },
	};
	char buf[RD_ADDRSTRLEN];
	struct rd_sockaddr a, b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (rd_net_addr_parse_numeric(cases[i].in, cases[i].def, &a) != RD_OK)
			fail_msg("parse '%s' failed", cases[i].in);
		assert_string_equal(rd_net_addr_str(&a, buf, sizeof(buf)), cases[i].out);
		assert_int_equal(rd_net_addr_family(&a), cases[i].fam);
		assert_int_equal(a.u.sa.sa_family, cases[i].fam);
		assert_int_equal(a.len, cases[i].fam == AF_INET ? sizeof(struct sockaddr_in)
			: sizeof(struct sockaddr_in6));
		/* printing and parsing again gives the same address */
		assert_int_equal(rd_net_addr_parse_numeric(buf, 1, &b), RD_OK);
		assert_true(rd_net_addr_equal(&a, &b));
		/* the full parser agrees on numeric input */
		assert_int_equal(rd_net_addr_parse(cases[i].in, cases[i].def, &b), RD_OK);
		assert_true(rd_net_addr_equal(&a, &b));
	}
	assert_int_equal(rd_net_addr_parse_numeric("[2001:db8::1]:9", 0, &a), RD_OK);
	assert_string_equal(rd_net_addr_ip_str(&a, buf, sizeof(buf)), "2001:db8::1");
	assert_int_equal(rd_net_addr_port(&a), 9);
	rd_net_addr_set_port(&a, 65535);
	assert_string_equal(rd_net_addr_str(&a, buf, sizeof(buf)), "[2001:db8::1]:65535");
	/* the longest form fits RD_ADDRSTRLEN */
	assert_int_equal(rd_net_addr_parse_numeric("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535",
		0, &a), RD_OK);
	rd_net_addr_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void test_parse_rejects(void **state)
{
	(void)state;
	static const char *bad[] = {
		"", ":", ":5", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:+1",
		"1.2.3.4:123456", "1.2.3.4:5x", "1.2.3", "256.1.1.1", "1.2.3.4.5",
		" 1.2.3.4", "1.2.3.4 ", "01.2.3.4", "[::1", "[::1]x", "[::1]:", "::1]:5",
		"[1.2.3.4]:5", "[]:5", "[]", "1.2.3.4:5:6", ":::", "2001:db8::g",
		"[::1]:99999", "localhost", "localhost:5", "a b", "1.2.3.4:0x10",
		"[::1]:5:6", "[[::1]]:5",
	};
	struct rd_sockaddr a;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rd_net_addr_parse_numeric(bad[i], 1, &a) != RD_ERR_INVAL)
			fail_msg("'%s' was accepted", bad[i]);
	}
	assert_int_equal(rd_net_addr_parse_numeric(NULL, 1, &a), RD_ERR_INVAL);
	/* names: malformed ones are refused before any lookup */
	static const char *badnames[] = { "-x", ".x", "a b", "a/b", "1.2.3", "99", "x:y", "[x]:5",
		"x:", "x:70000" };
	for (size_t i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++) {
		if (rd_net_addr_parse(badnames[i], 1, &a) != RD_ERR_INVAL)
			fail_msg("name '%s' was accepted", badnames[i]);
	}
}

static void test_parse_name(void **state)
{
	(void)state;
	struct rd_sockaddr a;
	char buf[RD_ADDRSTRLEN];
	/* localhost comes from /etc/hosts; IPv4 preferred */
	assert_int_equal(rd_net_addr_parse("localhost:4242", 1, &a), RD_OK);
	assert_string_equal(rd_net_addr_str(&a, buf, sizeof(buf)), "127.0.0.1:4242");
	assert_int_equal(rd_net_addr_parse("localhost", 77, &a), RD_OK);
	assert_int_equal(rd_net_addr_port(&a), 77);
	assert_true(rd_net_addr_is_loopback(&a));
}

static void test_compare_and_classify(void **state)
{
	(void)state;
	struct rd_sockaddr v4, m, v6, any4, any6, x;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(5) };
	char buf[RD_ADDRSTRLEN];

	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:5", 0, &v4), RD_OK);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr);
	rd_net_addr_from(&m, (struct sockaddr *)&s6, sizeof(s6));
	assert_int_equal(m.u.sa.sa_family, AF_INET6);
	assert_int_equal(rd_net_addr_family(&m), AF_INET);
	assert_true(rd_net_addr_equal(&v4, &m));
	assert_true(rd_net_addr_same_ip(&v4, &m));
	assert_true(rd_net_addr_is_loopback(&m));
	assert_string_equal(rd_net_addr_str(&m, buf, sizeof(buf)), "127.0.0.1:5");
	x = m;
	rd_net_addr_normalize(&x);
	assert_int_equal(x.u.sa.sa_family, AF_INET);
	assert_int_equal(x.len, sizeof(struct sockaddr_in));
	assert_int_equal(rd_net_addr_port(&x), 5);

	rd_net_addr_set_port(&m, 6);
	assert_false(rd_net_addr_equal(&v4, &m));
	assert_true(rd_net_addr_same_ip(&v4, &m));

	assert_int_equal(rd_net_addr_parse_numeric("[::1]:5", 0, &v6), RD_OK);
	assert_true(rd_net_addr_is_loopback(&v6));
	assert_false(rd_net_addr_same_ip(&v4, &v6));
	assert_false(rd_net_addr_is_unspecified(&v6));
	assert_int_equal(rd_net_addr_parse_numeric("127.255.0.9", 0, &x), RD_OK);
	assert_true(rd_net_addr_is_loopback(&x));
	assert_int_equal(rd_net_addr_parse_numeric("128.0.0.1", 0, &x), RD_OK);
	assert_false(rd_net_addr_is_loopback(&x));
	assert_int_equal(rd_net_addr_parse_numeric("2001:db8::1", 0, &x), RD_OK);
	assert_false(rd_net_addr_is_loopback(&x));

	rd_net_addr_any(&any4, AF_INET, 9);
	rd_net_addr_any(&any6, AF_INET6, 9);
	assert_string_equal(rd_net_addr_str(&any4, buf, sizeof(buf)), "0.0.0.0:9");
	assert_string_equal(rd_net_addr_str(&any6, buf, sizeof(buf)), "[::]:9");
	assert_true(rd_net_addr_is_unspecified(&any4));
	assert_true(rd_net_addr_is_unspecified(&any6));
	assert_false(rd_net_addr_is_unspecified(&v4));

	memset(&x, 0, sizeof(x));
	assert_string_equal(rd_net_addr_str(&x, buf, sizeof(buf)), "?");
	assert_false(rd_net_addr_equal(&x, &x));
	assert_int_equal(rd_net_addr_port(&x), 0);
}

/* Accept one connection within 2 s. */
static int accept_one(int lfd, struct rd_sockaddr *peer)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	return rd_net_accept(lfd, peer);
}

static void exchange(int a, int b)
{
	char buf[8];
	struct pollfd p = { .fd = b, .events = POLLIN };
	assert_int_equal(write(a, "ping", 4), 4);
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(read(b, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
}

static void connect_to(int lfd, const char *ip, uint16_t port)
{
	struct rd_sockaddr dst, peer, local;
	char s[RD_ADDRSTRLEN];
	int c, fl, s_fd;

	snprintf(s, sizeof(s), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
	assert_int_equal(rd_net_addr_parse_numeric(s, 0, &dst), RD_OK);
	c = rd_net_tcp_connect_wait(&dst, NULL, 2.0);
	assert_true(c >= 0);
	fl = fcntl(c, F_GETFL);
	assert_true(fl & O_NONBLOCK);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	s_fd = accept_one(lfd, &peer);
	assert_true(s_fd >= 0);
	assert_true(fcntl(s_fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(s_fd, F_GETFD) & FD_CLOEXEC);
	/* the peer address is normalized: 127.0.0.1, never ::ffff:127.0.0.1 */
	assert_string_equal(rd_net_addr_ip_str(&peer, s, sizeof(s)), ip);
	assert_int_equal(peer.u.sa.sa_family, strchr(ip, ':') ? AF_INET6 : AF_INET);
	assert_int_equal(rd_net_local_addr(c, &local), RD_OK);
	assert_true(rd_net_addr_equal(&local, &peer));
	assert_int_equal(rd_net_peer_addr(c, &local), RD_OK);
	assert_true(rd_net_addr_equal(&local, &dst));
	exchange(c, s_fd);
	exchange(s_fd, c);
	close(c);
	close(s_fd);
}

static void test_dual_stack_tcp(void **state)
{
	(void)state;
	struct rd_sockaddr any, local;
	int lfd;

	assert_int_equal(rd_net_addr_parse_numeric("[::]:0", 0, &any), RD_OK);
	lfd = rd_net_tcp_listen(&any, 16, 0);
	assert_true(lfd >= 0);
	assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(rd_net_local_addr(lfd, &local), RD_OK);
	uint16_t port = rd_net_addr_port(&local);
	assert_true(port > 0);
	assert_int_equal(rd_net_accept(lfd, NULL), RD_ERR_AGAIN);
	connect_to(lfd, "127.0.0.1", port);
	if (have_ipv6())
		connect_to(lfd, "::1", port);
	close(lfd);
}

static void test_v6only(void **state)
{
	(void)state;
	struct rd_sockaddr any, local, dst;
	int lfd, c;

	if (!have_ipv6())
		skip();
	assert_int_equal(rd_net_addr_parse_numeric("[::]:0", 0, &any), RD_OK);
	lfd = rd_net_tcp_listen(&any, 16, RD_NET_V6ONLY);
	assert_true(lfd >= 0);
	assert_int_equal(rd_net_local_addr(lfd, &local), RD_OK);
	connect_to(lfd, "::1", rd_net_addr_port(&local));
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1", rd_net_addr_port(&local), &dst), RD_OK);
	c = rd_net_tcp_connect_wait(&dst, NULL, 2.0);
	assert_int_equal(c, RD_ERR_IO);
	assert_int_equal(errno, ECONNREFUSED);
	close(lfd);
}

static void test_udp_dual_stack(void **state)
{
	(void)state;
	struct rd_sockaddr any, local, dst, from;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char buf[16], s[RD_ADDRSTRLEN];
	int u, c;

	assert_int_equal(rd_net_addr_parse_numeric("[::]:0", 0, &any), RD_OK);
	u = rd_net_udp_bind(&any, 0);
	assert_true(u >= 0);
	assert_int_equal(rd_net_local_addr(u, &local), RD_OK);
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &dst), RD_OK);
	c = rd_net_udp_bind(&dst, 0);
	assert_true(c >= 0);
	rd_net_addr_set_port(&dst, rd_net_addr_port(&local));
	assert_int_equal(sendto(c, "hi", 2, 0, &dst.u.sa, dst.len), 2);
	struct pollfd p = { .fd = u, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl), 2);
	rd_net_addr_from(&from, (struct sockaddr *)&ss, sl);
	/* replying to the address as received works on the dual-stack socket */
	assert_int_equal(sendto(u, "yo", 2, 0, &from.u.sa, from.len), 2);
	rd_net_addr_normalize(&from);
	assert_string_equal(rd_net_addr_ip_str(&from, s, sizeof(s)), "127.0.0.1");
	/* and to the normalized IPv4 form too */
	assert_int_equal(sendto(u, "yo", 2, 0, &from.u.sa, from.len), 2);
	p.fd = c;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(recv(c, buf, sizeof(buf), 0), 2);
		assert_memory_equal(buf, "yo", 2);
	}
	close(c);
	close(u);
}

static void test_reuseport(void **state)
{
	(void)state;
	struct rd_sockaddr a, local;
	int l1, l2, l3, u1, u2;

	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &a), RD_OK);
	l1 = rd_net_tcp_listen(&a, 4, RD_NET_REUSEPORT);
	assert_true(l1 >= 0);
	assert_int_equal(rd_net_local_addr(l1, &local), RD_OK);
	l2 = rd_net_tcp_listen(&local, 4, RD_NET_REUSEPORT);
	assert_true(l2 >= 0);
	l3 = rd_net_tcp_listen(&local, 4, 0);
	assert_int_equal(l3, RD_ERR_IO);
	assert_int_equal(errno, EADDRINUSE);
	close(l1);
	close(l2);

	u1 = rd_net_udp_bind(&a, RD_NET_REUSEPORT);
	assert_true(u1 >= 0);
	assert_int_equal(rd_net_local_addr(u1, &local), RD_OK);
	u2 = rd_net_udp_bind(&local, RD_NET_REUSEPORT);
	assert_true(u2 >= 0);
	close(u1);
	close(u2);
}

/* Hole punching: listen on a port and connect out from the same port. */
static void test_connect_from_bound_port(void **state)
{
	(void)state;
	struct rd_sockaddr a, mine, theirs, peer, l6;
	int lmine, ltheirs, c, s;

	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &a), RD_OK);
	lmine = rd_net_tcp_listen(&a, 4, RD_NET_REUSEPORT);
	ltheirs = rd_net_tcp_listen(&a, 4, 0);
	assert_true(lmine >= 0 && ltheirs >= 0);
	assert_int_equal(rd_net_local_addr(lmine, &mine), RD_OK);
	assert_int_equal(rd_net_local_addr(ltheirs, &theirs), RD_OK);

	c = rd_net_tcp_connect(&theirs, &mine);
	assert_true(c >= 0);
	s = accept_one(ltheirs, &peer);
	assert_true(s >= 0);
	struct pollfd p = { .fd = c, .events = POLLOUT };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(rd_net_connect_result(c), RD_OK);
	assert_true(rd_net_addr_equal(&peer, &mine));
	exchange(c, s);
	close(c);
	close(s);

	/* "[::]:port" as the local address toward an IPv4 peer */
	rd_net_addr_any(&l6, AF_INET6, 0);
	c = rd_net_tcp_connect_wait(&theirs, &l6, 2.0);
	assert_true(c >= 0);
	s = accept_one(ltheirs, &peer);
	assert_true(s >= 0);
	close(c);
	close(s);
	close(lmine);
	close(ltheirs);
}

static void test_connect_refused_and_options(void **state)
{
	(void)state;
	struct rd_sockaddr a, local;
	int l, c, v;
	socklen_t vl = sizeof(v);

	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &a), RD_OK);
	l = rd_net_tcp_listen(&a, 4, 0);
	assert_int_equal(rd_net_local_addr(l, &local), RD_OK);
	close(l);
	c = rd_net_tcp_connect(&local, NULL);
	if (c >= 0) {
		struct pollfd p = { .fd = c, .events = POLLOUT };
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(rd_net_connect_result(c), RD_ERR_IO);
		assert_int_equal(errno, ECONNREFUSED);
		close(c);
	} else {
		assert_int_equal(errno, ECONNREFUSED);
	}
	assert_int_equal(rd_net_tcp_connect_wait(&local, NULL, 2.0), RD_ERR_IO);
	assert_int_equal(errno, ECONNREFUSED);

	l = rd_net_tcp_listen(&a, 4, 0);
	assert_int_equal(rd_net_local_addr(l, &local), RD_OK);
	c = rd_net_tcp_connect_wait(&local, NULL, 2.0);
	assert_true(c >= 0);
	assert_int_equal(rd_net_set_nodelay(c), RD_OK);
	assert_int_equal(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
	assert_int_not_equal(v, 0);
	assert_int_equal(rd_net_set_nonblock(c, false), RD_OK);
	assert_false(fcntl(c, F_GETFL) & O_NONBLOCK);
	assert_int_equal(rd_net_set_nonblock(c, true), RD_OK);
	assert_true(fcntl(c, F_GETFL) & O_NONBLOCK);
	vl = sizeof(v);
	assert_int_equal(getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
	assert_int_not_equal(v, 0);
	close(c);
	close(l);

	memset(&a, 0, sizeof(a));
	assert_int_equal(rd_net_tcp_listen(&a, 4, 0), RD_ERR_INVAL);
	assert_int_equal(rd_net_tcp_connect(&a, NULL), RD_ERR_INVAL);
	assert_int_equal(rd_net_set_nodelay(-1), RD_ERR_IO);
}

/* A full accept queue drops SYNs: the connect times out. */
static void test_connect_timeout(void **state)
{
	(void)state;
	struct rd_sockaddr a, local;
	int l, c[6], n = 0, timed_out = 0;

	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &a), RD_OK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(l, &a.u.sa, a.len), 0);
	assert_int_equal(listen(l, 0), 0);
	assert_int_equal(rd_net_local_addr(l, &local), RD_OK);
	while (n < 6) {
		int fd = rd_net_tcp_connect_wait(&local, NULL, 0.3);
		if (fd == RD_ERR_TIMEOUT) {
			timed_out = 1;
			break;
		}
		assert_true(fd >= 0);
		c[n++] = fd;
	}
	assert_true(timed_out);
	while (n)
		close(c[--n]);
	close(l);
}

static void test_accept_limit(void **state)
{
	(void)state;
	struct rd_sockaddr a, local;
	struct rlimit old, lim;
	int l, c, fds[64], n = 0, r;

	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &a), RD_OK);
	l = rd_net_tcp_listen(&a, 4, 0);
	assert_int_equal(rd_net_local_addr(l, &local), RD_OK);
	c = rd_net_tcp_connect_wait(&local, NULL, 2.0);
	assert_true(c >= 0);
	struct pollfd p = { .fd = l, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);

	/* use up every descriptor below a lowered limit */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)(c > l ? c : l) + 8;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	while (n < 64) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		fds[n++] = fd;
	}
	assert_int_equal(errno, EMFILE);
	r = rd_net_accept(l, NULL);
	assert_int_equal(r, RD_ERR_LIMIT);
	while (n)
		close(fds[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* the pending connection is still there once descriptors are back */
	r = rd_net_accept(l, NULL);
	assert_true(r >= 0);
	close(r);
	close(c);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_roundtrip),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_name),
		cmocka_unit_test(test_compare_and_classify),
		cmocka_unit_test(test_dual_stack_tcp),
		cmocka_unit_test(test_v6only),
		cmocka_unit_test(test_udp_dual_stack),
		cmocka_unit_test(test_reuseport),
		cmocka_unit_test(test_connect_from_bound_port),
		cmocka_unit_test(test_connect_refused_and_options),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_accept_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

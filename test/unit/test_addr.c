/* addr: AddrMangle vectors (PROTOCOL.md §5) both ways, round trips with random
 * salts, invalid lengths and v4-mapped addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "addr.h"
#include "err.h"
#include "testutil.h"

static void mk(struct rd_sockaddr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (strchr(ip, ':')) {
		a->u.in6.sin6_family = AF_INET6;
		a->u.in6.sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &a->u.in6.sin6_addr), 1);
		a->len = sizeof(struct sockaddr_in6);
	} else {
		a->u.in4.sin_family = AF_INET;
		a->u.in4.sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &a->u.in4.sin_addr), 1);
		a->len = sizeof(struct sockaddr_in);
	}
}

/* "ip:port" / "[ip]:port" without depending on net.c. */
static const char *str(const struct rd_sockaddr *a, char *buf, size_t sz)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->u.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->u.in4.sin_addr, ip, sizeof(ip));
		snprintf(buf, sz, "%s:%u", ip, ntohs(a->u.in4.sin_port));
	} else if (a->u.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, sz, "[%s]:%u", ip, ntohs(a->u.in6.sin6_port));
	} else {
		snprintf(buf, sz, "family %d", a->u.sa.sa_family);
	}
	return buf;
}

struct vec {
	const char *ip;
	uint16_t port;
	uint32_t tm;
	const char *hex;
};

static const struct vec vectors[] = {
	{ "1.2.3.4", 5678, 0x12345678u, "a66cf0ac6824f2b06e2c" },
	{ "192.168.1.10", 21116, 0xDEADBEEFu, "6b11df7d5bbd5fcf5ed101" },
	{ "10.0.0.1", 0, 0, "00000000000014000002" },
	{ "2001:db8::1", 8080, 0x12345678u, "20010db8000000000000000000000001901f" },
};

static void test_vectors_encode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct rd_sockaddr a;
		uint8_t want[RD_ADDR_MANGLE_MAX], got[RD_ADDR_MANGLE_MAX];
		size_t wn = unhex(vectors[i].hex, want);

		mk(&a, vectors[i].ip, vectors[i].port);
		assert_int_equal(rd_addr_mangle_tm(&a, vectors[i].tm, got), (int)wn);
		assert_memory_equal(got, want, wn);
	}
}

static void test_vectors_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct rd_sockaddr want, got;
		uint8_t in[RD_ADDR_MANGLE_MAX];
		size_t n = unhex(vectors[i].hex, in);
		char b1[80], b2[80];

		mk(&want, vectors[i].ip, vectors[i].port);
		assert_int_equal(rd_addr_demangle(in, n, &got), RD_OK);
		assert_string_equal(str(&got, b1, sizeof(b1)), str(&want, b2, sizeof(b2)));
		assert_int_equal(got.len, want.len);
	}
}

static void roundtrip(const char *ip, uint16_t port, uint32_t tm)
{
	struct rd_sockaddr a, b;
	uint8_t m[RD_ADDR_MANGLE_MAX];
	char b1[80], b2[80];
	int n;

	mk(&a, ip, port);
	n = rd_addr_mangle_tm(&a, tm, m);
	assert_true(n >= 1 && n <= RD_ADDR_MANGLE_MAX);
	if (a.u.sa.sa_family == AF_INET)
		assert_true(n <= 16);
	else
		assert_int_equal(n, 18);
	assert_int_equal(rd_addr_demangle(m, (size_t)n, &b), RD_OK);
	assert_string_equal(str(&b, b1, sizeof(b1)), str(&a, b2, sizeof(b2)));
}

static void test_roundtrip_random_tm(void **state)
{
	static const char *ips[] = {
		"0.0.0.0", "1.2.3.4", "127.0.0.1", "192.0.2.1", "203.0.113.254", "255.255.255.255",
		"::", "::1", "2001:db8::1", "fe80::1:2:3:4", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	static const uint16_t ports[] = { 0, 1, 21116, 0x7fff, 0xffff };
	unsigned seed = (unsigned)time(NULL);

	(void)state;
	print_message("# random seed %u\n", seed);
	srand(seed);
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++) {
			roundtrip(ips[i], ports[j], 0);
			roundtrip(ips[i], ports[j], 0xFFFFFFFFu);
			for (int k = 0; k < 200; k++) {
				uint32_t tm = (uint32_t)rand() << 16 ^ (uint32_t)rand();
				roundtrip(ips[i], ports[j], tm);
			}
		}
	}
}

/* The current-time salt still decodes to the same address. */
static void test_mangle_now(void **state)
{
	struct rd_sockaddr a, b;
	uint8_t m[RD_ADDR_MANGLE_MAX];
	char b1[80], b2[80];
	int n;

	(void)state;
	mk(&a, "198.51.100.7", 21116);
	n = rd_addr_mangle(&a, m);
	assert_true(n >= 8 && n <= 16);
	assert_int_equal(rd_addr_demangle(m, (size_t)n, &b), RD_OK);
	assert_string_equal(str(&b, b1, sizeof(b1)), str(&a, b2, sizeof(b2)));
	mk(&a, "2001:db8::7", 21116);
	assert_int_equal(rd_addr_mangle(&a, m), 18);
}

static void test_invalid_lengths(void **state)
{
	uint8_t in[64];
	struct rd_sockaddr out;
	char b[80];

	(void)state;
	memset(in, 0xab, sizeof(in));
	for (size_t len = 17; len < sizeof(in); len++) {
		if (len == 18)
			continue;
		memset(&out, 0x55, sizeof(out));
		assert_int_equal(rd_addr_demangle(in, len, &out), RD_ERR_PROTO);
		assert_string_equal(str(&out, b, sizeof(b)), "[::]:0");
	}
	/* empty: 0.0.0.0:0, the "absent" address */
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(rd_addr_demangle(NULL, 0, &out), RD_OK);
	assert_string_equal(str(&out, b, sizeof(b)), "0.0.0.0:0");
	/* every length up to 16 is IPv4 */
	for (size_t len = 1; len <= 16; len++) {
		assert_int_equal(rd_addr_demangle(in, len, &out), RD_OK);
		assert_int_equal(out.u.sa.sa_family, AF_INET);
	}
	assert_int_equal(rd_addr_demangle(in, 18, &out), RD_OK);
	assert_int_equal(out.u.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(out.u.in6.sin6_port), 0xabab);
	/* unknown family */
	memset(&out, 0, sizeof(out));
	out.u.sa.sa_family = AF_UNIX;
	assert_int_equal(rd_addr_mangle_tm(&out, 1, in), RD_ERR_INVAL);
}

static void test_v4_mapped(void **state)
{
	struct rd_sockaddr a, b;
	uint8_t m[RD_ADDR_MANGLE_MAX], want[RD_ADDR_MANGLE_MAX];
	size_t wn = unhex(vectors[0].hex, want);
	char b1[80];

	(void)state;
	/* ::ffff:1.2.3.4 is encoded exactly like 1.2.3.4 */
	mk(&a, "::ffff:1.2.3.4", 5678);
	assert_int_equal(rd_addr_mangle_tm(&a, 0x12345678u, m), (int)wn);
	assert_memory_equal(m, want, wn);
	assert_int_equal(rd_addr_demangle(m, wn, &b), RD_OK);
	assert_string_equal(str(&b, b1, sizeof(b1)), "1.2.3.4:5678");
	/* the loopback range stays IPv6 */
	mk(&a, "::ffff:127.0.0.1", 80);
	assert_int_equal(rd_addr_mangle_tm(&a, 0x12345678u, m), 18);
	assert_int_equal(rd_addr_demangle(m, 18, &b), RD_OK);
	assert_string_equal(str(&b, b1, sizeof(b1)), "[::ffff:127.0.0.1]:80");
	/* an 18-byte v4-mapped address decodes as given */
	unhex("00000000000000000000ffffc0000201bb01", m);
	assert_int_equal(rd_addr_demangle(m, 18, &b), RD_OK);
	assert_string_equal(str(&b, b1, sizeof(b1)), "[::ffff:192.0.2.1]:443");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_encode),
		cmocka_unit_test(test_vectors_decode),
		cmocka_unit_test(test_roundtrip_random_tm),
		cmocka_unit_test(test_mangle_now),
		cmocka_unit_test(test_invalid_lengths),
		cmocka_unit_test(test_v4_mapped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

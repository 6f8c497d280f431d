/* Fuzz the AddrMangle decoder. The result code must follow the length rules,
 * and re-encoding the decoded address with any salt must decode back to the
 * same address (v4-mapped IPv6 comes back as IPv4). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

struct canon {
	int family;
	uint8_t ip[16];
	uint16_t port;
};

static void canon(const struct rd_sockaddr *a, struct canon *c)
{
	memset(c, 0, sizeof(*c));
	c->family = a->u.sa.sa_family;
	if (c->family == AF_INET) {
		memcpy(c->ip, &a->u.in4.sin_addr, 4);
		c->port = ntohs(a->u.in4.sin_port);
		CHECK(a->len == sizeof(struct sockaddr_in));
		return;
	}
	CHECK(c->family == AF_INET6 && a->len == sizeof(struct sockaddr_in6));
	c->port = ntohs(a->u.in6.sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr) && a->u.in6.sin6_addr.s6_addr[12] != 127) {
		c->family = AF_INET;
		memcpy(c->ip, a->u.in6.sin6_addr.s6_addr + 12, 4);
	} else {
		memcpy(c->ip, a->u.in6.sin6_addr.s6_addr, 16);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_sockaddr a, b;
	struct canon ca, cb;
	uint8_t m[RD_ADDR_MANGLE_MAX];
	uint32_t salts[3] = { 0, 0xFFFFFFFFu, 0x9E3779B9u };
	int rc = rd_addr_demangle(data, size, &a), n;

	for (size_t i = 0; i < size; i++)
		salts[2] = salts[2] * 31u + data[i];
	if (size > 16 && size != 18) {
		CHECK(rc == RD_ERR_PROTO);
		canon(&a, &ca);
		CHECK(ca.family == AF_INET6 && ca.port == 0);
		for (int i = 0; i < 16; i++)
			CHECK(ca.ip[i] == 0);
		return 0;
	}
	CHECK(rc == RD_OK);
	CHECK(a.u.sa.sa_family == (size == 18 ? AF_INET6 : AF_INET));
	canon(&a, &ca);
	for (int s = 0; s < 3; s++) {
		n = rd_addr_mangle_tm(&a, salts[s], m);
		CHECK(n >= 1 && n <= RD_ADDR_MANGLE_MAX);
		CHECK(ca.family == AF_INET ? n <= 16 : n == 18);
		CHECK(rd_addr_demangle(m, (size_t)n, &b) == RD_OK);
		canon(&b, &cb);
		CHECK(memcmp(&ca, &cb, sizeof(ca)) == 0);
	}
	/* a decoded 18-byte form re-encodes to exactly the input */
	if (size == 18 && ca.family == AF_INET6)
		CHECK(rd_addr_mangle_tm(&a, 0, m) == 18 && memcmp(m, data, 18) == 0);
	return 0;
}

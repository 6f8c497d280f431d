/* addr: AddrMangle, the encoding of socket addresses inside rendezvous
 * messages.
 *
 * IPv4 is salted with a 32-bit timestamp tm so the same address looks
 * different on every use:
 *     v = ((ip + tm) << 49) | (tm << 17) | (port + (tm & 0xFFFF))
 * computed in 128 bits (ip is the four octets read little-endian), written as
 * 16 bytes little-endian with trailing zero bytes removed. IPv6 is the 16
 * address octets followed by the port as u16 little-endian (18 bytes). */
#include "addr.h"

#include <string.h>
#include <time.h>

#include "err.h"

typedef unsigned __int128 rd_u128;

static int mangle_v4(const uint8_t octets[4], uint16_t port, uint32_t tm, uint8_t *out)
{
	uint32_t ip = (uint32_t)octets[0] | (uint32_t)octets[1] << 8 |
		(uint32_t)octets[2] << 16 | (uint32_t)octets[3] << 24;
	rd_u128 v = ((rd_u128)ip + tm) << 49 | (rd_u128)tm << 17 |
		((rd_u128)port + (tm & 0xFFFFu));
	int n = 0;

	for (int i = 0; i < 16; i++) {
		out[i] = (uint8_t)(v >> (8 * i));
		if (out[i])
			n = i + 1;
	}
	/* v is never 0 for a real address, but an all-zero value (0.0.0.0:0
	 * with tm 0) still needs one byte so it is not mistaken for "absent". */
	return n ? n : 1;
}

static int mangle_v6(const struct sockaddr_in6 *in6, uint8_t *out)
{
	uint16_t port = ntohs(in6->sin6_port);

	memcpy(out, in6->sin6_addr.s6_addr, 16);
	out[16] = (uint8_t)port;
	out[17] = (uint8_t)(port >> 8);
	return 18;
}

int rd_addr_mangle_tm(const struct rd_sockaddr *sa, uint32_t tm, uint8_t out[RD_ADDR_MANGLE_MAX])
{
	if (!sa)
		return RD_ERR_INVAL;
	if (sa->u.sa.sa_family == AF_INET) {
		const struct sockaddr_in *in4 = &sa->u.in4;

		return mangle_v4((const uint8_t *)&in4->sin_addr.s_addr, ntohs(in4->sin_port), tm, out);
	}
	if (sa->u.sa.sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = &sa->u.in6;
		const uint8_t *a = in6->sin6_addr.s6_addr;

		/* v4-mapped goes out as IPv4, except the loopback range. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] != 127)
			return mangle_v4(a + 12, ntohs(in6->sin6_port), tm, out);
		return mangle_v6(in6, out);
	}
	return RD_ERR_INVAL;
}

int rd_addr_mangle(const struct rd_sockaddr *sa, uint8_t out[RD_ADDR_MANGLE_MAX])
{
	struct timespec ts;
	uint64_t us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	return rd_addr_mangle_tm(sa, (uint32_t)us, out);
}

static void set_v4(struct rd_sockaddr *out, uint32_t ip_le, uint16_t port)
{
	uint8_t *o = (uint8_t *)&out->u.in4.sin_addr.s_addr;

	memset(out, 0, sizeof(*out));
	out->u.in4.sin_family = AF_INET;
	out->u.in4.sin_port = htons(port);
	for (int i = 0; i < 4; i++)
		o[i] = (uint8_t)(ip_le >> (8 * i));
	out->len = sizeof(struct sockaddr_in);
}

static void set_v6(struct rd_sockaddr *out, const uint8_t addr[16], uint16_t port)
{
	memset(out, 0, sizeof(*out));
	out->u.in6.sin6_family = AF_INET6;
	out->u.in6.sin6_port = htons(port);
	if (addr)
		memcpy(out->u.in6.sin6_addr.s6_addr, addr, 16);
	out->len = sizeof(struct sockaddr_in6);
}

int rd_addr_demangle(const uint8_t *in, size_t len, struct rd_sockaddr *out)
{
	rd_u128 n = 0;
	uint32_t tm, ip;
	uint16_t port;

	if (len == 18) {
		set_v6(out, in, (uint16_t)(in[16] | in[17] << 8));
		return RD_OK;
	}
	if (len > 16) {
		set_v6(out, NULL, 0);
		return RD_ERR_PROTO;
	}
	for (size_t i = 0; i < len; i++)
		n |= (rd_u128)in[i] << (8 * i);
	tm = (uint32_t)(n >> 17);
	ip = (uint32_t)(n >> 49) - tm;
	port = (uint16_t)((uint32_t)(n & 0xFFFFFF) - (tm & 0xFFFFu));
	set_v4(out, ip, port);
	return RD_OK;
}

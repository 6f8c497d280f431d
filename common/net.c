/* net: address parsing and printing, non-blocking close-on-exec sockets,
 * dual-stack listeners. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

/* ---- addresses ---- */

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void net__set4(struct rd_sockaddr *out, const struct in_addr *a, uint16_t port)
{
	memset(out, 0, sizeof(*out));
	out->u.in4.sin_family = AF_INET;
	out->u.in4.sin_addr = *a;
	out->u.in4.sin_port = htons(port);
	out->len = sizeof(struct sockaddr_in);
}

static void net__set6(struct rd_sockaddr *out, const struct in6_addr *a, uint16_t port)
{
	memset(out, 0, sizeof(*out));
	out->u.in6.sin6_family = AF_INET6;
	out->u.in6.sin6_addr = *a;
	out->u.in6.sin6_port = htons(port);
	out->len = sizeof(struct sockaddr_in6);
}

/* Decimal port, 0..65535, no sign, no spaces, at most 5 digits. */
static int net__parse_port(const char *s, uint16_t *port)
{
	unsigned v = 0;
	size_t i;

	if (!*s)
		return RD_ERR_INVAL;
	for (i = 0; s[i]; i++) {
		if (i >= 5 || s[i] < '0' || s[i] > '9')
			return RD_ERR_INVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return RD_ERR_INVAL;
	*port = (uint16_t)v;
	return RD_OK;
}

/* Split s into host and optional port. "[h]:p", "[h]", "h:p" (one colon),
 * "h" (no colon, or several colons for a bare IPv6). host gets the host part. */
static int net__split(const char *s, char *host, size_t hostsz, const char **port)
{
	const char *colon, *end;
	size_t hl;

	*port = NULL;
	if (!s || !*s)
		return RD_ERR_INVAL;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return RD_ERR_INVAL;
		hl = (size_t)(end - s - 1);
		if (end[1] == ':')
			*port = end + 2;
		else if (end[1] != '\0')
			return RD_ERR_INVAL;
		s++;
	} else {
		colon = strchr(s, ':');
		if (colon && !strchr(colon + 1, ':')) {
			hl = (size_t)(colon - s);
			*port = colon + 1;
		} else {
			hl = strlen(s);
		}
	}
	if (hl == 0 || hl >= hostsz)
		return RD_ERR_INVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	return RD_OK;
}

int rd_net_addr_parse_numeric(const char *s, uint16_t default_port, struct rd_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *ps;
	uint16_t port = default_port;
	struct in_addr a4;
	struct in6_addr a6;
	int r;

	r = net__split(s, host, sizeof(host), &ps);
	if (r < 0)
		return r;
	if (ps && net__parse_port(ps, &port) < 0)
		return RD_ERR_INVAL;
	if (s[0] != '[' && inet_pton(AF_INET, host, &a4) == 1) {
		net__set4(out, &a4, port);
		return RD_OK;
	}
	if (strchr(host, ':') && inet_pton(AF_INET6, host, &a6) == 1) {
		net__set6(out, &a6, port);
		rd_net_addr_normalize(out);
		return RD_OK;
	}
	return RD_ERR_INVAL;
}

static bool net__valid_hostname(const char *h)
{
	size_t n = strlen(h);
	bool alpha = false;

	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return false;
	/* All digits and dots would reach inet_aton's legacy forms ("1.2.3"). */
	for (const char *q = h; *q; q++)
		if (!((*q >= '0' && *q <= '9') || *q == '.'))
			alpha = true;
	if (!alpha)
		return false;
	for (; *h; h++) {
		char c = *h;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

int rd_net_addr_parse(const char *s, uint16_t default_port, struct rd_sockaddr *out)
{
	char host[256];
	const char *ps;
	uint16_t port = default_port;
	struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
	int r;

	if (rd_net_addr_parse_numeric(s, default_port, out) == RD_OK)
		return RD_OK;
	r = net__split(s, host, sizeof(host), &ps);
	if (r < 0)
		return r;
	if (s[0] == '[' || !net__valid_hostname(host))
		return RD_ERR_INVAL;
	if (ps && net__parse_port(ps, &port) < 0)
		return RD_ERR_INVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r == EAI_ADDRFAMILY || r == EAI_NONAME || r == EAI_NODATA) {
		/* AI_ADDRCONFIG hides loopback-only answers on hosts without a
		 * configured address: ask again without it. */
		hints.ai_flags = 0;
		r = getaddrinfo(host, NULL, &hints, &res);
	}
	if (r != 0)
		return r == EAI_MEMORY ? RD_ERR_NOMEM : RD_ERR_NOTFOUND;
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		}
		if (ai->ai_family == AF_INET6 && !pick)
			pick = ai;
	}
	if (!pick) {
		freeaddrinfo(res);
		return RD_ERR_NOTFOUND;
	}
	rd_net_addr_from(out, pick->ai_addr, pick->ai_addrlen);
	rd_net_addr_normalize(out);
	rd_net_addr_set_port(out, port);
	freeaddrinfo(res);
	return RD_OK;
}

char *rd_net_addr_ip_str(const struct rd_sockaddr *a, char *out, size_t outsz)
{
	struct rd_sockaddr n = *a;
	char ip[INET6_ADDRSTRLEN];

	rd_net_addr_normalize(&n);
	if (n.u.sa.sa_family == AF_INET && inet_ntop(AF_INET, &n.u.in4.sin_addr, ip, sizeof(ip)))
		snprintf(out, outsz, "%s", ip);
	else if (n.u.sa.sa_family == AF_INET6 && inet_ntop(AF_INET6, &n.u.in6.sin6_addr, ip, sizeof(ip)))
		snprintf(out, outsz, "%s", ip);
	else
		snprintf(out, outsz, "?");
	return out;
}

char *rd_net_addr_str(const struct rd_sockaddr *a, char *out, size_t outsz)
{
	char ip[INET6_ADDRSTRLEN + 1];
	int fam = rd_net_addr_family(a);

	rd_net_addr_ip_str(a, ip, sizeof(ip));
	if (fam == AF_INET)
		snprintf(out, outsz, "%s:%u", ip, rd_net_addr_port(a));
	else if (fam == AF_INET6)
		snprintf(out, outsz, "[%s]:%u", ip, rd_net_addr_port(a));
	else
		snprintf(out, outsz, "?");
	return out;
}

void rd_net_addr_from(struct rd_sockaddr *out, const struct sockaddr *sa, socklen_t len)
{
	memset(out, 0, sizeof(*out));
	if (!sa || len == 0)
		return;
	if (len > sizeof(out->u.ss))
		len = sizeof(out->u.ss);
	memcpy(&out->u.ss, sa, len);
	out->len = len;
}

void rd_net_addr_any(struct rd_sockaddr *out, int family, uint16_t port)
{
	if (family == AF_INET6) {
		net__set6(out, &in6addr_any, port);
	} else {
		struct in_addr any = { .s_addr = htonl(INADDR_ANY) };
		net__set4(out, &any, port);
	}
}

void rd_net_addr_normalize(struct rd_sockaddr *a)
{
	struct in_addr v4;
	uint16_t port;

	if (a->u.sa.sa_family != AF_INET6 ||
	    memcmp(a->u.in6.sin6_addr.s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix)) != 0)
		return;
	memcpy(&v4, a->u.in6.sin6_addr.s6_addr + 12, 4);
	port = ntohs(a->u.in6.sin6_port);
	net__set4(a, &v4, port);
}

uint16_t rd_net_addr_port(const struct rd_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.in4.sin_port);
	if (a->u.sa.sa_family == AF_INET6)
		return ntohs(a->u.in6.sin6_port);
	return 0;
}

void rd_net_addr_set_port(struct rd_sockaddr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET)
		a->u.in4.sin_port = htons(port);
	else if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
}

int rd_net_addr_family(const struct rd_sockaddr *a)
{
	struct rd_sockaddr n = *a;
	rd_net_addr_normalize(&n);
	return n.u.sa.sa_family;
}

bool rd_net_addr_same_ip(const struct rd_sockaddr *a, const struct rd_sockaddr *b)
{
	struct rd_sockaddr x = *a, y = *b;

	rd_net_addr_normalize(&x);
	rd_net_addr_normalize(&y);
	if (x.u.sa.sa_family != y.u.sa.sa_family)
		return false;
	if (x.u.sa.sa_family == AF_INET)
		return x.u.in4.sin_addr.s_addr == y.u.in4.sin_addr.s_addr;
	if (x.u.sa.sa_family == AF_INET6)
		return memcmp(&x.u.in6.sin6_addr, &y.u.in6.sin6_addr, 16) == 0 &&
			x.u.in6.sin6_scope_id == y.u.in6.sin6_scope_id;
	return false;
}

bool rd_net_addr_equal(const struct rd_sockaddr *a, const struct rd_sockaddr *b)
{
	return rd_net_addr_same_ip(a, b) && rd_net_addr_port(a) == rd_net_addr_port(b);
}

bool rd_net_addr_is_loopback(const struct rd_sockaddr *a)
{
	struct rd_sockaddr n = *a;
	rd_net_addr_normalize(&n);
	if (n.u.sa.sa_family == AF_INET)
		return (ntohl(n.u.in4.sin_addr.s_addr) >> 24) == 127;
	if (n.u.sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&n.u.in6.sin6_addr);
	return false;
}

bool rd_net_addr_is_unspecified(const struct rd_sockaddr *a)
{
	struct rd_sockaddr n = *a;
	rd_net_addr_normalize(&n);
	if (n.u.sa.sa_family == AF_INET)
		return n.u.in4.sin_addr.s_addr == htonl(INADDR_ANY);
	if (n.u.sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&n.u.in6.sin6_addr);
	return false;
}

/* ---- sockets ---- */

/* Close fd keeping errno, and return RD_ERR_IO. */
static int net__fail(int fd)
{
	int saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return RD_ERR_IO;
}

static int net__setopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

/* Socket of type bound to bind_addr with the listener rules; the IPv4
 * fallback applies when bind_addr is "::" and the host has no IPv6. */
static int net__bound(const struct rd_sockaddr *bind_addr, int type, unsigned flags)
{
	struct rd_sockaddr a = *bind_addr;
	int fd, fam;

	if (a.u.sa.sa_family != AF_INET && a.u.sa.sa_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return RD_ERR_INVAL;
	}
	if (a.len == 0)
		a.len = a.u.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
			: sizeof(struct sockaddr_in6);
retry:
	fam = a.u.sa.sa_family;
	fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (fam == AF_INET6 && errno == EAFNOSUPPORT && rd_net_addr_is_unspecified(&a)) {
			rd_net_addr_any(&a, AF_INET, rd_net_addr_port(&a));
			goto retry;
		}
		return net__fail(-1);
	}
	if (net__setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		return net__fail(fd);
	if ((flags & RD_NET_REUSEPORT) && net__setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
		return net__fail(fd);
	if (fam == AF_INET6 &&
	    net__setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & RD_NET_V6ONLY) ? 1 : 0) < 0)
		return net__fail(fd);
	if (bind(fd, &a.u.sa, a.len) < 0) {
		if (fam == AF_INET6 && errno == EADDRNOTAVAIL && !(flags & RD_NET_V6ONLY) &&
		    rd_net_addr_is_unspecified(&a)) {
			/* IPv6 switched off on every interface */
			close(fd);
			rd_net_addr_any(&a, AF_INET, rd_net_addr_port(&a));
			goto retry;
		}
		return net__fail(fd);
	}
	return fd;
}

int rd_net_tcp_listen(const struct rd_sockaddr *bind_addr, int backlog, unsigned flags)
{
	int fd = net__bound(bind_addr, SOCK_STREAM, flags);
	if (fd < 0)
		return fd;
	if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
		return net__fail(fd);
	return fd;
}

int rd_net_udp_bind(const struct rd_sockaddr *bind_addr, unsigned flags)
{
	return net__bound(bind_addr, SOCK_DGRAM, flags);
}

/* Make the local address usable with a socket of family fam: "::" and
 * "0.0.0.0" swap to the other family's wildcard, v4-mapped becomes IPv4. */
static int net__local_for(const struct rd_sockaddr *local, int fam, struct rd_sockaddr *out)
{
	*out = *local;
	rd_net_addr_normalize(out);
	if (out->u.sa.sa_family == fam)
		return RD_OK;
	if (rd_net_addr_is_unspecified(out)) {
		rd_net_addr_any(out, fam, rd_net_addr_port(out));
		return RD_OK;
	}
	errno = EAFNOSUPPORT;
	return RD_ERR_INVAL;
}

int rd_net_tcp_connect(const struct rd_sockaddr *dst, const struct rd_sockaddr *local)
{
	struct rd_sockaddr d = *dst, l;
	int fd, fam;

	rd_net_addr_normalize(&d);
	fam = d.u.sa.sa_family;
	if (fam != AF_INET && fam != AF_INET6) {
		errno = EAFNOSUPPORT;
		return RD_ERR_INVAL;
	}
	if (local && net__local_for(local, fam, &l) < 0)
		return RD_ERR_INVAL;
	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return net__fail(-1);
	if (local) {
		if (net__setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
		    net__setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
			return net__fail(fd);
		if (fam == AF_INET6 && net__setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) < 0)
			return net__fail(fd);
		if (bind(fd, &l.u.sa, l.len) < 0)
			return net__fail(fd);
	}
	if (connect(fd, &d.u.sa, d.len) < 0 && errno != EINPROGRESS && errno != EINTR)
		return net__fail(fd);
	return fd;
}

int rd_net_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return RD_ERR_IO;
	if (err) {
		errno = err;
		return RD_ERR_IO;
	}
	return RD_OK;
}

/* The fd comes back still non-blocking, ready for rd_conn_new or poll. */
int rd_net_tcp_connect_wait(const struct rd_sockaddr *dst, const struct rd_sockaddr *local, double timeout)
{
	double deadline = rd_now() + timeout;
	int fd = rd_net_tcp_connect(dst, local);

	if (fd < 0)
		return fd;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		double left = deadline - rd_now();
		int r;
		if (left <= 0) {
			close(fd);
			errno = ETIMEDOUT;
			return RD_ERR_TIMEOUT;
		}
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return net__fail(fd);
		if (r == 0)
			continue;
		r = rd_net_connect_result(fd);
		if (r < 0)
			return net__fail(fd);
		return fd;
	}
}

int rd_net_set_nodelay(int fd)
{
	return net__setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0 ? RD_ERR_IO : RD_OK;
}

int rd_net_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return RD_ERR_IO;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) < 0 ? RD_ERR_IO : RD_OK;
}

int rd_net_local_addr(int fd, struct rd_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	out->len = sizeof(out->u.ss);
	if (getsockname(fd, &out->u.sa, &out->len) < 0)
		return RD_ERR_IO;
	return RD_OK;
}

int rd_net_peer_addr(int fd, struct rd_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	out->len = sizeof(out->u.ss);
	if (getpeername(fd, &out->u.sa, &out->len) < 0)
		return errno == ENOTCONN ? RD_ERR_AGAIN : RD_ERR_IO;
	return RD_OK;
}

int rd_net_accept(int lfd, struct rd_sockaddr *peer)
{
	struct rd_sockaddr tmp;
	int fd;

	if (!peer)
		peer = &tmp;
	for (;;) {
		memset(peer, 0, sizeof(*peer));
		peer->len = sizeof(peer->u.ss);
		fd = accept4(lfd, &peer->u.sa, &peer->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			rd_net_addr_normalize(peer);
			return fd;
		}
		switch (errno) {
		case EINTR:
			continue;
		case EAGAIN:
		case ECONNABORTED:
		case EPROTO:
			return RD_ERR_AGAIN;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			return RD_ERR_LIMIT;
		default:
			return RD_ERR_IO;
		}
	}
}

/* net: sockets (non-blocking, close-on-exec), dual-stack listeners, and
 * address parsing/printing for IPv4 and IPv6. */
#ifndef RD_NET_H
#define RD_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct rd_sockaddr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		struct sockaddr_storage ss;
	} u;
	socklen_t len;
};

/* "[v6addr]:port" is at most 55 chars + NUL. */
#define RD_ADDRSTRLEN 64

/* Parse "1.2.3.4", "1.2.3.4:5", "::1", "[::1]:5", "host", "host:5". Numeric
 * forms never touch DNS; names resolve with getaddrinfo (first result, IPv4
 * preferred). default_port is used when none is given. */
int rd_net_addr_parse(const char *s, uint16_t default_port, struct rd_sockaddr *out);
/* Numeric-only variant (no DNS), for config validation and tests. */
int rd_net_addr_parse_numeric(const char *s, uint16_t default_port, struct rd_sockaddr *out);
/* "1.2.3.4:5" or "[::1]:5" into out (RD_ADDRSTRLEN); returns out. */
char *rd_net_addr_str(const struct rd_sockaddr *a, char *out, size_t outsz);
/* IP only, no port. */
char *rd_net_addr_ip_str(const struct rd_sockaddr *a, char *out, size_t outsz);
/* Build from sockaddr + length (e.g. from recvfrom). */
void rd_net_addr_from(struct rd_sockaddr *out, const struct sockaddr *sa, socklen_t len);
void rd_net_addr_any(struct rd_sockaddr *out, int family, uint16_t port);
/* v4-mapped IPv6 becomes IPv4 (loopback ::ffff:127.x included). */
void rd_net_addr_normalize(struct rd_sockaddr *a);
uint16_t rd_net_addr_port(const struct rd_sockaddr *a);
void rd_net_addr_set_port(struct rd_sockaddr *a, uint16_t port);
int rd_net_addr_family(const struct rd_sockaddr *a);
/* Equality of IP and port, and of IP alone, comparing v4-mapped as IPv4. */
bool rd_net_addr_equal(const struct rd_sockaddr *a, const struct rd_sockaddr *b);
bool rd_net_addr_same_ip(const struct rd_sockaddr *a, const struct rd_sockaddr *b);
bool rd_net_addr_is_loopback(const struct rd_sockaddr *a);
bool rd_net_addr_is_unspecified(const struct rd_sockaddr *a);

enum {
	RD_NET_REUSEPORT = 1 << 0, /* SO_REUSEPORT too (SO_REUSEADDR is always set) */
	RD_NET_V6ONLY = 1 << 1,    /* IPv6 socket without v4-mapped traffic */
};

/* Listening TCP socket, non-blocking, CLOEXEC, SO_REUSEADDR. A bind to "::"
 * is dual-stack (IPV6_V6ONLY off) unless RD_NET_V6ONLY; if IPv6 is unavailable
 * it falls back to 0.0.0.0. Returns the fd or an rd_err (errno kept). */
int rd_net_tcp_listen(const struct rd_sockaddr *bind_addr, int backlog, unsigned flags);
/* Bound UDP socket with the same rules. */
int rd_net_udp_bind(const struct rd_sockaddr *bind_addr, unsigned flags);
/* Non-blocking connect; returns the fd with the connect in progress (or done).
 * local (may be NULL) is bound first with SO_REUSEADDR|SO_REUSEPORT, for hole
 * punching from a known port. */
int rd_net_tcp_connect(const struct rd_sockaddr *dst, const struct rd_sockaddr *local);
/* After a non-blocking connect is writable: RD_OK or RD_ERR_IO with errno set. */
int rd_net_connect_result(int fd);
/* Blocking connect with a timeout in seconds (for tools and tests). */
int rd_net_tcp_connect_wait(const struct rd_sockaddr *dst, const struct rd_sockaddr *local, double timeout);
int rd_net_set_nodelay(int fd);
int rd_net_set_nonblock(int fd, bool on);
int rd_net_local_addr(int fd, struct rd_sockaddr *out);
int rd_net_peer_addr(int fd, struct rd_sockaddr *out);
/* accept4 with NONBLOCK|CLOEXEC; peer address normalized. RD_ERR_AGAIN when
 * nothing is pending, RD_ERR_LIMIT on EMFILE/ENFILE (caller backs off). */
int rd_net_accept(int lfd, struct rd_sockaddr *peer);

#endif

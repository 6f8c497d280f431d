/* pump: raw forwarding between the two sockets of a pair, zero-copy with
 * splice() through one pipe per direction, on a libev loop.
 *
 * Backpressure: a direction reads its source only while its pipe has room, so
 * a side whose peer does not read stops being read; nothing else is buffered.
 * End of stream on one side is passed on with shutdown(SHUT_WR) once the bytes
 * before it are delivered; the pair ends when both directions ended, or when
 * one side fails (then the other side gets what is pending, a FIN, and is
 * closed after it finishes or RELAY_LINGER seconds), or after idle_timeout
 * seconds without a byte in either direction. */
#ifndef RELAY_PUMP_H
#define RELAY_PUMP_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct relay_limits;
struct relay_pump;

#define RELAY_LINGER 5.0

struct relay_pair_end {
	uint64_t bytes_ab;     /* first side to second */
	uint64_t bytes_ba;
	double duration;
	double throttled;      /* seconds this pair's directions waited for tokens */
	const char *reason;    /* "closed", "reset", "idle", "shutdown", ... */
};

struct relay_pump_opts {
	struct ev_loop *loop;
	struct relay_limits *limits; /* may be NULL */
	double idle_timeout;         /* seconds; 0 = none */
	size_t pipe_size;            /* pipe capacity for the first pairs (F_SETPIPE_SZ); 0 = default */
	/* Called once per pair when it ended, after both sockets are closed. */
	void (*on_end)(void *user, const struct relay_pair_end *e, void *ud);
	/* Bytes moved (for counters); may be NULL. */
	void (*on_bytes)(size_t n, void *ud);
	void *ud;
};

struct relay_pump *relay_pump_new(const struct relay_pump_opts *o);
/* Ends every pair (reason "shutdown") and frees the pump. */
void relay_pump_free(struct relay_pump *p);

/* Start forwarding between fd_a and fd_b (ownership passes, also on failure).
 * pre_a is sent to b before anything else read from a (and pre_b to a);
 * both are copied. RD_ERR_IO when the pipes cannot be made (errno kept). */
int relay_pump_start(struct relay_pump *p, int fd_a, int fd_b, const uint8_t *pre_a, size_t len_a,
	const uint8_t *pre_b, size_t len_b, void *user);

size_t relay_pump_active(const struct relay_pump *p);
uint64_t relay_pump_bytes(const struct relay_pump *p);

#endif

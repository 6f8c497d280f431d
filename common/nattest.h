/* nattest: the NAT type test of PROTOCOL.md §7.2. Ask the rendezvous server
 * on its main port (TCP 21116) which source port it sees, then ask again on
 * the NAT-test port (main - 1) from the same local port. Equal ports mean an
 * endpoint-independent mapping (ASYMMETRIC in RustDesk's words: punchable);
 * different ports mean SYMMETRIC (use the relay).
 *
 * It runs on a libev loop: rd_nattest_start() (the agent), or
 * rd_nattest_run(), which runs the same test on a private loop until it is
 * done (rdctl doctor, tests). The request/response encoding and the verdict
 * are I/O free. */
#ifndef RD_NATTEST_H
#define RD_NATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "net.h"

struct ev_loop;
struct rd_nattest;

/* NatType values of rendezvous.proto. */
enum rd_nat_type {
	RD_NAT_UNKNOWN = 0,
	RD_NAT_ASYMMETRIC = 1,
	RD_NAT_SYMMETRIC = 2,
};

struct rd_nattest_result {
	enum rd_nat_type nat_type;
	uint16_t local_port;      /* our source port for both probes */
	uint16_t port_main;       /* as seen on the main port */
	uint16_t port_nat;        /* as seen on the NAT-test port */
	struct rd_sockaddr local; /* our local address toward the server */
};

/* Append the framed RendezvousMessage{test_nat_request{serial}} to out. */
int rd_nattest_request(struct rd_buf *out, int serial);
/* The port from a RendezvousMessage{test_nat_response} payload. RD_ERR_PROTO
 * when it is another message or the port is out of range. */
int rd_nattest_parse(const uint8_t *payload, size_t len, uint16_t *port);
/* ASYMMETRIC when both ports are equal, else SYMMETRIC. */
enum rd_nat_type rd_nattest_classify(uint16_t port_main, uint16_t port_nat);
const char *rd_nat_type_name(enum rd_nat_type t);

/* Called once with RD_OK and the result, or an rd_err (RD_ERR_TIMEOUT,
 * RD_ERR_IO, RD_ERR_PROTO). The test frees itself after cb returns. */
typedef void (*rd_nattest_cb)(int rc, const struct rd_nattest_result *res, void *ud);
/* server is the main port address (the NAT-test port is its port - 1).
 * timeout bounds each probe. NULL when a socket cannot be made. */
struct rd_nattest *rd_nattest_start(struct ev_loop *loop, const struct rd_sockaddr *server,
	double timeout, rd_nattest_cb cb, void *ud);
/* Stop before the callback ran (it will not run). Safe inside other callbacks. */
void rd_nattest_cancel(struct rd_nattest *t);

/* rd_nattest_start() on a private loop, run until the test is over: RD_OK
 * and out, or an rd_err. Each probe is bounded by timeout seconds. */
int rd_nattest_run(const struct rd_sockaddr *server, double timeout, struct rd_nattest_result *out);

#endif

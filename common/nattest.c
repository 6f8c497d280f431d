/* nattest: two TestNatRequest probes from one local port (§7.2). */
#define RD_LOG_SUBSYS "nattest"
#include "nattest.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"
#include "err.h"
#include "log.h"
#include "pb.h"
#include "util.h"

int rd_nattest_request(struct rd_buf *out, int serial)
{
	Hbb__TestNatRequest req = HBB__TEST_NAT_REQUEST__INIT;
	req.serial = serial;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_REQUEST;
	m.test_nat_request = &req;
	uint8_t *p = NULL;
	size_t len = 0;
	int rc = rd_pb_pack(&m.base, &p, &len);
	if (rc < 0)
		return rc;
	rc = rd_frame_append(out, p, len);
	free(p);
	return rc;
}

int rd_nattest_parse(const uint8_t *payload, size_t len, uint16_t *port)
{
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(payload, len);
	if (!m)
		return RD_ERR_PROTO;
	int rc = RD_ERR_PROTO;
	if (m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_RESPONSE && m->test_nat_response &&
		m->test_nat_response->port > 0 && m->test_nat_response->port <= 65535) {
		*port = (uint16_t)m->test_nat_response->port;
		rc = RD_OK;
	}
	hbb__rendezvous_message__free_unpacked(m, NULL);
	return rc;
}

enum rd_nat_type rd_nattest_classify(uint16_t port_main, uint16_t port_nat)
{
	return port_main == port_nat ? RD_NAT_ASYMMETRIC : RD_NAT_SYMMETRIC;
}

const char *rd_nat_type_name(enum rd_nat_type t)
{
	switch (t) {
	case RD_NAT_ASYMMETRIC: return "asymmetric";
	case RD_NAT_SYMMETRIC: return "symmetric";
	default: return "unknown";
	}
}

/* ---- on a libev loop ---- */

struct rd_nattest {
	struct ev_loop *loop;
	struct rd_sockaddr server;
	double timeout;
	rd_nattest_cb cb;
	void *ud;
	struct rd_conn *conn;     /* the probe in flight */
	int step;                 /* 0: main port, 1: NAT port */
	int live;                 /* conns not yet through on_close */
	bool finished;            /* cb ran or cancelled */
	struct rd_nattest_result res;
};

static void nattest__maybe_free(struct rd_nattest *t)
{
	if (t->finished && t->live == 0)
		free(t);
}

static void nattest__finish(struct rd_nattest *t, int rc)
{
	if (t->finished)
		return;
	t->finished = true;
	if (t->conn && !rd_conn_closing(t->conn))
		rd_conn_close(t->conn, RD_OK);
	t->conn = NULL;
	if (rc == RD_OK)
		t->res.nat_type = rd_nattest_classify(t->res.port_main, t->res.port_nat);
	t->cb(rc, rc == RD_OK ? &t->res : NULL, t->ud);
}

static int nattest__probe(struct rd_nattest *t);

static void nattest__on_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	struct rd_nattest *t = ud;
	uint16_t port = 0;
	if (t->finished || c != t->conn)
		return;
	if (rd_nattest_parse(p, len, &port) < 0) {
		nattest__finish(t, RD_ERR_PROTO);
		return;
	}
	rd_conn_close(c, RD_OK);
	t->conn = NULL;
	if (t->step == 0) {
		t->res.port_main = port;
		t->step = 1;
		int rc = nattest__probe(t);
		if (rc < 0)
			nattest__finish(t, rc);
		return;
	}
	t->res.port_nat = port;
	nattest__finish(t, RD_OK);
}

static void nattest__on_close(struct rd_conn *c, int reason, void *ud)
{
	struct rd_nattest *t = ud;
	t->live--;
	if (c == t->conn) {
		t->conn = NULL;
		nattest__finish(t, reason == RD_OK ? RD_ERR_EOF : reason);
	}
	nattest__maybe_free(t);
}

static const struct rd_conn_ops nattest_ops = {
	.on_frame = nattest__on_frame,
	.on_close = nattest__on_close,
};

static int nattest__probe(struct rd_nattest *t)
{
	struct rd_sockaddr dst = t->server, local;
	if (t->step == 1)
		rd_net_addr_set_port(&dst, (uint16_t)(rd_net_addr_port(&t->server) - 1));
	if (t->step == 0)
		rd_net_addr_any(&local, rd_net_addr_family(&dst), 0);
	else
		local = t->res.local;
	int fd = rd_net_tcp_connect(&dst, &local);
	if (fd < 0)
		return fd;
	if (t->step == 0) {
		rd_net_local_addr(fd, &t->res.local);
		t->res.local_port = rd_net_addr_port(&t->res.local);
	}
	struct rd_conn_limits lim = { .max_frame = RD_FRAME_MAX_RENDEZVOUS,
		.first_msg_timeout = t->timeout, .idle_timeout = t->timeout };
	t->conn = rd_conn_new(t->loop, fd, true, &lim, &nattest_ops, t);
	if (!t->conn) {
		close(fd);
		return RD_ERR_NOMEM;
	}
	t->live++;
	struct rd_buf b;
	rd_buf_init(&b, 0);
	int rc = rd_nattest_request(&b, 0);
	if (rc == RD_OK)
		rc = rd_conn_send_raw(t->conn, rd_buf_ptr(&b), rd_buf_size(&b));
	rd_buf_free(&b);
	return rc;
}

struct rd_nattest *rd_nattest_start(struct ev_loop *loop, const struct rd_sockaddr *server,
	double timeout, rd_nattest_cb cb, void *ud)
{
	struct rd_nattest *t = xcalloc(1, sizeof(*t));
	t->loop = loop;
	t->server = *server;
	t->timeout = timeout;
	t->cb = cb;
	t->ud = ud;
	if (nattest__probe(t) < 0) {
		if (t->conn) {
			t->finished = true;
			rd_conn_close(t->conn, RD_OK); /* frees t from on_close */
			return NULL;
		}
		free(t);
		return NULL;
	}
	return t;
}

void rd_nattest_cancel(struct rd_nattest *t)
{
	if (!t || t->finished)
		return;
	t->finished = true;
	if (t->conn)
		rd_conn_close(t->conn, RD_OK);
	t->conn = NULL;
	nattest__maybe_free(t);
}

/* ---- blocking ---- */

static int nattest__io_wait(int fd, short ev, double deadline)
{
	for (;;) {
		double left = deadline - rd_now();
		if (left <= 0)
			return RD_ERR_TIMEOUT;
		struct pollfd p = { .fd = fd, .events = ev };
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return RD_OK;
		if (r < 0 && errno != EINTR)
			return RD_ERR_IO;
	}
}

static int nattest__probe_blocking(const struct rd_sockaddr *dst, const struct rd_sockaddr *local,
	double timeout, struct rd_sockaddr *local_out, uint16_t *port)
{
	double deadline = rd_now() + timeout;
	int fd = rd_net_tcp_connect_wait(dst, local, timeout);
	if (fd < 0)
		return fd;
	int rc = RD_OK;
	if (local_out)
		rd_net_local_addr(fd, local_out);
	struct rd_buf out, in;
	rd_buf_init(&out, 0);
	rd_buf_init(&in, RD_FRAME_MAX_RENDEZVOUS + RD_FRAME_HDR_MAX);
	if ((rc = rd_nattest_request(&out, 0)) < 0)
		goto out;
	while (rd_buf_size(&out)) {
		if ((rc = nattest__io_wait(fd, POLLOUT, deadline)) < 0)
			goto out;
		ssize_t n = write(fd, rd_buf_ptr(&out), rd_buf_size(&out));
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			rc = RD_ERR_IO;
			goto out;
		}
		if (n > 0)
			rd_buf_consume(&out, (size_t)n);
	}
	for (;;) {
		const uint8_t *pl;
		size_t pl_len, used;
		rc = rd_frame_next(rd_buf_ptr(&in), rd_buf_size(&in), RD_FRAME_MAX_RENDEZVOUS, &pl, &pl_len, &used);
		if (rc == RD_OK) {
			rc = rd_nattest_parse(pl, pl_len, port);
			break;
		}
		if (rc != RD_ERR_TRUNCATED)
			break;
		if ((rc = nattest__io_wait(fd, POLLIN, deadline)) < 0)
			break;
		uint8_t *w = rd_buf_reserve(&in, 4096);
		if (!w) {
			rc = RD_ERR_TOOBIG;
			break;
		}
		ssize_t n = read(fd, w, 4096);
		if (n == 0) {
			rc = RD_ERR_EOF;
			break;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			rc = RD_ERR_IO;
			break;
		}
		if (n > 0)
			rd_buf_commit(&in, (size_t)n);
	}
out:
	rd_buf_free(&out);
	rd_buf_free(&in);
	close(fd);
	return rc;
}

int rd_nattest_run(const struct rd_sockaddr *server, double timeout, struct rd_nattest_result *out)
{
	memset(out, 0, sizeof(*out));
	struct rd_sockaddr any, nat = *server;
	rd_net_addr_any(&any, rd_net_addr_family(server), 0);
	int rc = nattest__probe_blocking(server, &any, timeout, &out->local, &out->port_main);
	if (rc < 0)
		return rc;
	out->local_port = rd_net_addr_port(&out->local);
	rd_net_addr_set_port(&nat, (uint16_t)(rd_net_addr_port(server) - 1));
	rc = nattest__probe_blocking(&nat, &out->local, timeout, NULL, &out->port_nat);
	if (rc < 0)
		return rc;
	out->nat_type = rd_nattest_classify(out->port_main, out->port_nat);
	return RD_OK;
}

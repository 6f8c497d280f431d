/* nattest: two TestNatRequest probes from one local port (§7.2). */
#define RD_LOG_SUBSYS "nattest"
#include "nattest.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

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

/* ---- blocking: the same test on a private loop ---- */

struct nattest__wait {
	int rc;
	struct rd_nattest_result *out;
};

static void nattest__wait_done(int rc, const struct rd_nattest_result *res, void *ud)
{
	struct nattest__wait *w = ud;
	w->rc = rc;
	if (res)
		*w->out = *res;
}

int rd_nattest_run(const struct rd_sockaddr *server, double timeout, struct rd_nattest_result *out)
{
	struct nattest__wait w = { .rc = RD_ERR_IO, .out = out };
	memset(out, 0, sizeof(*out));
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	if (!loop)
		return RD_ERR_NOMEM;
	rd_nattest_start(loop, server, timeout, nattest__wait_done, &w);
	/* Until the test and its connections are gone (each probe is bounded
	 * by timeout); a test that could not start leaves RD_ERR_IO. */
	ev_run(loop, 0);
	ev_loop_destroy(loop);
	return w.rc;
}

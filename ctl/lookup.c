/* lookup: the verbs that ask and diagnose: lookup (online or not, from the
 * server's NAT-test port) and doctor (each path in turn, in plain words).
 * The questions to the server run on a private loop of their own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#define RD_LOG_SUBSYS "rdctl"
#include "codec.h"
#include "conn.h"
#include "connect.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "nattest.h"
#include "net.h"
#include "pb.h"
#include "run.h"
#include "util.h"

/* One OnlineRequest on a private loop: rd_conn carries it and bounds the
 * wait; the first frame back is the answer. */
struct ask {
	int rc;           /* 1 online, 0 not, or an rd_err */
	bool answered;
};

static void ask_on_frame(struct rd_conn *conn, const uint8_t *p, size_t len, void *ud)
{
	struct ask *a = ud;
	Hbb__RendezvousMessage *ans = rd_pb_rendezvous_unpack(p, len);
	a->answered = true;
	if (!ans || ans->union_case != HBB__RENDEZVOUS_MESSAGE__UNION_ONLINE_RESPONSE ||
	    !ans->online_response)
		a->rc = RD_ERR_PROTO;
	else
		a->rc = ans->online_response->states.len > 0 &&
			(ans->online_response->states.data[0] & 0x80);
	if (ans)
		hbb__rendezvous_message__free_unpacked(ans, NULL);
	rd_conn_close(conn, RD_OK);
}

static void ask_on_close(struct rd_conn *conn, int reason, void *ud)
{
	struct ask *a = ud;
	(void)conn;
	if (!a->answered)
		a->rc = reason < 0 ? reason : RD_ERR_EOF;
}

static const struct rd_conn_ops ask_ops = { .on_frame = ask_on_frame, .on_close = ask_on_close };

/* 1 online, 0 offline or unknown, or an rd_err. */
static int query_online(const struct rd_sockaddr *server, const char *id, double timeout)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__OnlineRequest q = HBB__ONLINE_REQUEST__INIT;
	struct rd_conn_limits lim = { .max_frame = RD_FRAME_MAX_RENDEZVOUS,
		.first_msg_timeout = timeout, .idle_timeout = timeout };
	struct rd_sockaddr nat = *server;
	struct ask a = { .rc = RD_ERR_IO };
	char *peers[1] = { (char *)id };
	struct ev_loop *loop;
	struct rd_conn *conn;
	int fd;
	rd_net_addr_set_port(&nat, (uint16_t)(rd_net_addr_port(server) - 1));
	q.id = "rdctl";
	q.n_peers = 1;
	q.peers = peers;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_ONLINE_REQUEST;
	m.online_request = &q;
	if ((fd = rd_net_tcp_connect(&nat, NULL)) < 0)
		return fd;
	if (!(loop = ev_loop_new(EVFLAG_AUTO))) {
		close(fd);
		return RD_ERR_NOMEM;
	}
	conn = rd_conn_new(loop, fd, true, &lim, &ask_ops, &a);
	if (rd_conn_send_pb(conn, &m.base) != RD_OK)
		rd_conn_close(conn, RD_ERR_IO);
	ev_run(loop, 0);	/* until the conn is closed and gone */
	ev_loop_destroy(loop);
	return a.rc;
}

static int lookup_into(struct ctl *c, struct ctl_result *res)
{
	struct rd_sockaddr server;
	char relay[160], ab[RD_ADDRSTRLEN];
	if (!c->set.server || ctl_server_parse(c->set.server, &server, relay, sizeof(relay)) != RD_OK) {
		ctl_result_fail(res, CTL_EXIT_USAGE, "usage", "no usable server: use --server or "
			"RDESK_SERVER");
		return -1;
	}
	int rc = query_online(&server, c->id, c->set.timeout);
	if (rc == RD_ERR_TIMEOUT) {
		ctl_result_fail(res, CTL_EXIT_TIMEOUT, "timeout", "the server did not answer within %.1f s",
			c->set.timeout);
		return -1;
	}
	if (rc < 0) {
		rd_net_addr_set_port(&server, (uint16_t)(rd_net_addr_port(&server) - 1));
		ctl_result_fail(res, CTL_EXIT_NOPATH, "server_unreachable", "cannot ask the server at %s "
			"(%s)", rd_net_addr_str(&server, ab, sizeof(ab)), rd_strerror(rc));
		return -1;
	}
	res->online = rc;
	return rc;
}

int ctl_verb_lookup(struct ctl *c)
{
	int rc = lookup_into(c, &c->res);
	if (rc == 0)
		ctl_result_fail(&c->res, CTL_EXIT_OFFLINE, "offline", "%s is offline or unknown", c->id);
	c->res.total_ms = (rd_now() - c->t0) * 1000.0;
	if (rc == 1 && !c->set.json)
		printf("%s is online\n", c->id);
	return ctl_result_print(&c->res, c->set.json, c->set.verbose);
}

static const char *nat_words(int t)
{
	return t == 1 ? "cone (punchable)" : t == 2 ? "symmetric (needs the relay)" : "not tested";
}

/* One way to the peer, tried; a member of the "attempts" array. */
static void attempt(struct ctl *c, const char *name, bool relay, struct rd_json *js, char *tx,
	size_t tsz, int *best)
{
	struct ctl_result r;
	struct ctl_link link;
	struct ctl_run_opts o = { .sink = NULL, .force_relay = relay, .no_relay = !relay };
	double t0 = rd_now();
	memset(&link, 0, sizeof(link));
	ctl_result_init(&r, "doctor", c->id);
	ctl_run(c, &o, &r, &link);
	double ms = (rd_now() - t0) * 1000.0;
	size_t tl = strlen(tx);
	rd_json_obj(js, NULL);
	rd_json_str(js, "try", name);
	rd_json_bool(js, "ok", !r.error);
	rd_json_str(js, "path", ctl_path_name(link.path));
	rd_json_num(js, "ms", ms, 1);
	rd_json_str(js, "peer_nat", link.peer_nat == 1 ? "asymmetric" : link.peer_nat == 2 ? "symmetric"
		: "unknown");
	if (r.error) {
		rd_json_str(js, "error", r.error);
		rd_json_str(js, "reason", r.message);
	}
	rd_json_end(js, '}');
	if (r.error)
		snprintf(tx + tl, tsz - tl, "  %-7s FAILED after %.0f ms: %s\n", name, ms, r.message);
	else
		snprintf(tx + tl, tsz - tl, "  %-7s ok over %s in %.0f ms (lookup %.0f ms, connect %.0f "
			"ms, handshake %.0f ms); the peer's NAT: %s\n", name, ctl_path_name(link.path), ms,
			link.lookup_ms, link.punch_ms, r.phase_ms[CTL_PH_HANDSHAKE], nat_words(link.peer_nat));
	if (!r.error && (*best == 0 || (int)link.path < *best))
		*best = (int)link.path;
	if (r.error && !c->res.error && (r.exit_code == CTL_EXIT_KEY || r.exit_code == CTL_EXIT_OFFLINE))
		ctl_result_fail(&c->res, r.exit_code, r.error, "%s", r.message);
	ctl_result_free(&r);
}

/* Our NAT type (§7.2), or 0 when the test fails. */
static int self_nat(struct ctl *c, char *why, size_t whysz)
{
	struct rd_sockaddr server;
	struct rd_nattest_result nr;
	char relay[160];
	why[0] = '\0';
	if (!c->set.server || ctl_server_parse(c->set.server, &server, relay, sizeof(relay)) != RD_OK)
		return 0;
	int rc = rd_nattest_run(&server, RD_MIN(c->set.timeout, 5.0), &nr);
	if (rc != RD_OK) {
		snprintf(why, whysz, " (the NAT test failed: %s)", rd_strerror(rc));
		return 0;
	}
	snprintf(why, whysz, " (the server saw port %u, then %u, from local port %u)", nr.port_main,
		nr.port_nat, nr.local_port);
	return (int)nr.nat_type;
}

int ctl_verb_doctor(struct ctl *c)
{
	char tx[1800] = "", why[160];
	struct rd_json *js = &c->res.extra;
	int best = 0;
	snprintf(tx, sizeof(tx), "doctor %s via %s\n", c->id, c->set.server ? c->set.server : "?");
	int on = lookup_into(c, &c->res);
	int nat = on >= 0 ? self_nat(c, why, sizeof(why)) : 0;
	size_t tl = strlen(tx);
	snprintf(tx + tl, sizeof(tx) - tl, "  server  %s\n  this side's NAT: %s%s\n", on == 1 ? "says the "
		"peer is online" : on == 0 ? "says the peer is OFFLINE: is rd-agent running and "
		"registered?" : c->res.message, nat_words(nat), on >= 0 ? why : "");
	if (on == 1) {
		rd_json_obj(js, "nat");
		rd_json_str(js, "self", nat == 1 ? "asymmetric" : nat == 2 ? "symmetric" : "unknown");
		rd_json_end(js, '}');
		rd_json_arr(js, "attempts");
		attempt(c, "direct", false, js, tx, sizeof(tx), &best);
		attempt(c, "relay", true, js, tx, sizeof(tx), &best);
		rd_json_end(js, ']');
		c->res.path = (enum ctl_path)best;
		if (!best && !c->res.error)
			ctl_result_fail(&c->res, CTL_EXIT_NOPATH, "no_path", "no path to %s works: see the "
				"attempts above", c->id);
		tl = strlen(tx);
		snprintf(tx + tl, sizeof(tx) - tl, "  verdict: %s\n", best ? (best == CTL_PATH_RELAY ?
			"only the relay works; direct connections are blocked (symmetric NAT or firewall)"
			: "direct connections work") : "no path works");
	} else if (on == 0) {
		ctl_result_fail(&c->res, CTL_EXIT_OFFLINE, "offline", "%s is offline or unknown", c->id);
	}
	rd_strlcpy(c->res.extra_text, tx, sizeof(c->res.extra_text));
	c->res.total_ms = (rd_now() - c->t0) * 1000.0;
	return ctl_result_print(&c->res, c->set.json, c->set.verbose);
}

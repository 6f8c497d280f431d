/* connect: see connect.h. One state machine on the loop: RV (waiting for the
 * server's answer), PUNCH (connect attempts from the local port used toward
 * the server), RELAY_ASK (A-initiated relay: RequestRelay on a new server
 * connection), RELAY (connect to the relay and send RequestRelay{uuid}). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#define RD_LOG_SUBSYS "connect"
#include "addr.h"
#include "codec.h"
#include "conn.h"
#include "connect.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "pb.h"
#include "relaytoken.h"
#include "util.h"

#define RELAY_ASK_MAX 3
#define PUNCH_ATTEMPT_SECS 1.0
#define RETRY_SECS 0.05

enum cstate { ST_RV, ST_PUNCH, ST_RELAY_ASK, ST_RELAY, ST_DONE };

struct ctl_connect {
	struct ev_loop *loop;
	struct ctl_connect_opts o;
	char id[128];
	char licence[256];
	char default_relay[128];
	uint8_t server_pk[RD_PK_LEN];
	struct ctl_result *res;
	ctl_connect_done done;
	void *ud;
	enum cstate st;
	struct rd_conn *rv;       /* rendezvous connection */
	struct rd_conn *att;      /* punch attempt or relay connection */
	ev_timer deadline, step;
	double t_start, t_req, t_resp, punch_until;
	int resends, relay_asks;
	bool have_pk;
	struct rd_sockaddr local, peer;
	char uuid[RD_RELAY_UUID_MAX + 1];
	uint8_t token[RD_RELAY_TOKEN_LEN]; /* the server's grant for the relay, if any */
	size_t token_len;
	struct ctl_link link;
};

static const struct rd_conn_ops rv_ops, att_ops;

static void quiet_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	(void)c; (void)p; (void)len; (void)ud;
}
static void quiet_close(struct rd_conn *c, int reason, void *ud)
{
	(void)c; (void)reason; (void)ud;
}
static const struct rd_conn_ops quiet_ops = { .on_frame = quiet_frame, .on_close = quiet_close };

void ctl_conn_drop(struct rd_conn *c, int reason)
{
	rd_conn_set_ops(c, &quiet_ops, NULL);
	rd_conn_close(c, reason);
}

static void finish(struct ctl_connect *cc, int err, struct rd_conn *conn)
{
	ev_timer_stop(cc->loop, &cc->deadline);
	ev_timer_stop(cc->loop, &cc->step);
	if (cc->rv) {
		ctl_conn_drop(cc->rv, RD_OK);
		cc->rv = NULL;
	}
	if (cc->att && cc->att != conn)
		ctl_conn_drop(cc->att, RD_OK);
	cc->att = NULL;
	cc->st = ST_DONE;
	cc->done(cc, err, conn, err == RD_OK ? &cc->link : NULL, cc->ud);
}

static void fail(struct ctl_connect *cc, int exit_code, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct ctl_connect *cc, int exit_code, const char *code, const char *fmt, ...)
{
	char msg[CTL_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s: %s", code, msg);
	ctl_result_fail(cc->res, exit_code, code, "%s", msg);
	finish(cc, exit_code == CTL_EXIT_TIMEOUT ? RD_ERR_TIMEOUT : RD_ERR_REFUSED, NULL);
}

static double remaining(const struct ctl_connect *cc)
{
	return cc->o.deadline - rd_now();
}

static void step_in(struct ctl_connect *cc, double secs)
{
	ev_timer_stop(cc->loop, &cc->step);
	ev_timer_set(&cc->step, secs > 0.001 ? secs : 0.001, 0);
	ev_timer_start(cc->loop, &cc->step);
}

static struct rd_conn *open_conn(struct ctl_connect *cc, const struct rd_sockaddr *dst,
	const struct rd_sockaddr *local, const struct rd_conn_ops *ops, size_t max_frame)
{
	struct rd_conn_limits lim = { .max_frame = max_frame };
	int fd = rd_net_tcp_connect(dst, local);
	if (fd < 0)
		return NULL;
	rd_net_set_nodelay(fd);
	return rd_conn_new(cc->loop, fd, true, &lim, ops, cc);
}

static int send_rv(struct rd_conn *c, Hbb__RendezvousMessage *m)
{
	return rd_conn_send_pb(c, &m->base);
}

/* ---- rendezvous ---- */

static void send_punch_request(struct ctl_connect *cc)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__PunchHoleRequest r = HBB__PUNCH_HOLE_REQUEST__INIT;
	r.id = cc->id;
	r.licence_key = cc->licence;
	r.conn_type = HBB__CONN_TYPE__DEFAULT_CONN;
	r.version = RD_VERSION;
	r.nat_type = cc->o.force_relay ? HBB__NAT_TYPE__SYMMETRIC : (Hbb__NatType)cc->o.nat_type;
	r.force_relay = cc->o.force_relay;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_REQUEST;
	m.punch_hole_request = &r;
	send_rv(cc->rv, &m);
	cc->t_req = rd_now();
}

static void relay_connect(struct ctl_connect *cc, const char *relay_server, const char *uuid);
static void relay_ask(struct ctl_connect *cc);
static void punch_begin(struct ctl_connect *cc);

static bool verify_pk(struct ctl_connect *cc, const ProtobufCBinaryData *pk)
{
	char why[96];
	int rc;
	if (pk->len == 0) {
		fail(cc, CTL_EXIT_KEY, "server_key_mismatch",
			"the server did not vouch for %s's key (is the server started with a key, and "
			"does the agent send its version?); refusing an unverified session", cc->id);
		return false;
	}
	rc = rd_idpk_verify(pk->data, pk->len, cc->server_pk, cc->id, cc->link.peer_pk);
	if (rc != RD_OK) {
		snprintf(why, sizeof(why), "%s", rd_strerror(rc));
		fail(cc, CTL_EXIT_KEY, "server_key_mismatch",
			"the server's signature on %s's key does not verify with --key (%s): wrong "
			"server key?", cc->id, why);
		return false;
	}
	cc->have_pk = true;
	return true;
}

static void on_punch_response(struct ctl_connect *cc, const Hbb__PunchHoleResponse *r)
{
	char ab[RD_ADDRSTRLEN];
	cc->t_resp = rd_now();
	cc->link.lookup_ms = (cc->t_resp - cc->t_start) * 1000.0;
	if (r->socket_addr.len == 0) {
		if (r->other_failure && r->other_failure[0]) {
			fail(cc, CTL_EXIT_NOPATH, "refused", "the server refused: %s", rd_esc_text(r->other_failure));
			return;
		}
		switch (r->failure) {
		case HBB__PUNCH_HOLE_RESPONSE__FAILURE__ID_NOT_EXIST:
			fail(cc, CTL_EXIT_OFFLINE, "unknown_id", "%s is not known to the server", cc->id);
			return;
		case HBB__PUNCH_HOLE_RESPONSE__FAILURE__OFFLINE:
			fail(cc, CTL_EXIT_OFFLINE, "offline", "%s is offline (no registration in the last "
				"30 s)", cc->id);
			return;
		case HBB__PUNCH_HOLE_RESPONSE__FAILURE__LICENSE_MISMATCH:
			fail(cc, CTL_EXIT_KEY, "server_key_mismatch", "the server refused our --key "
				"(it has another key)");
			return;
		default:
			fail(cc, CTL_EXIT_NOPATH, "refused", "the server refused the request (%d)",
				(int)r->failure);
			return;
		}
	}
	if (!verify_pk(cc, &r->pk))
		return;
	if (r->relay_server && r->relay_server[0])
		rd_strlcpy(cc->link.relay, r->relay_server, sizeof(cc->link.relay));
	bool is_local = r->union_case == HBB__PUNCH_HOLE_RESPONSE__UNION_IS_LOCAL && r->is_local;
	if (r->union_case == HBB__PUNCH_HOLE_RESPONSE__UNION_NAT_TYPE)
		cc->link.peer_nat = (int)r->nat_type;
	if (rd_addr_demangle(r->socket_addr.data, r->socket_addr.len, &cc->peer) != RD_OK ||
	    rd_net_addr_port(&cc->peer) == 0) {
		fail(cc, CTL_EXIT_NOPATH, "protocol", "the server sent an unusable peer address");
		return;
	}
	rd_net_addr_str(&cc->peer, ab, sizeof(ab));
	rd_strlcpy(cc->link.peer_addr, ab, sizeof(cc->link.peer_addr));
	log_info("%s is at %s (%s, nat %d), relay %s", cc->id, ab, is_local ? "LAN" : "public",
		cc->link.peer_nat, cc->link.relay[0] ? cc->link.relay : "default");
	cc->link.path = is_local ? CTL_PATH_LAN : CTL_PATH_DIRECT;
	if (cc->o.force_relay) {
		relay_ask(cc);
		return;
	}
	punch_begin(cc);
}

static void on_relay_response(struct ctl_connect *cc, const Hbb__RelayResponse *r)
{
	if (r->refuse_reason && r->refuse_reason[0]) {
		fail(cc, CTL_EXIT_NOPATH, "relay_refused", "the peer refused the relay: %s",
			rd_esc_text(r->refuse_reason));
		return;
	}
	if (cc->st == ST_RV) {
		cc->t_resp = rd_now();
		cc->link.lookup_ms = (cc->t_resp - cc->t_start) * 1000.0;
		if (!verify_pk(cc, r->union_case == HBB__RELAY_RESPONSE__UNION_PK ? &r->pk
		    : &(ProtobufCBinaryData){ 0, NULL }))
			return;
		if (!r->uuid || !r->uuid[0]) {
			fail(cc, CTL_EXIT_NOPATH, "protocol", "relay response without uuid");
			return;
		}
		rd_strlcpy(cc->uuid, r->uuid, sizeof(cc->uuid));
	} else if (r->union_case == HBB__RELAY_RESPONSE__UNION_PK && r->pk.len) {
		uint8_t pk[RD_PK_LEN];
		if (rd_idpk_verify(r->pk.data, r->pk.len, cc->server_pk, cc->id, pk) != RD_OK ||
		    memcmp(pk, cc->link.peer_pk, RD_PK_LEN) != 0) {
			fail(cc, CTL_EXIT_KEY, "server_key_mismatch", "the relay answer carries another key");
			return;
		}
	}
	/* A stock server grants none: the relay then takes our licence key or not. */
	cc->token_len = r->rdesk_relay_token.len == RD_RELAY_TOKEN_LEN ? RD_RELAY_TOKEN_LEN : 0;
	if (cc->token_len)
		memcpy(cc->token, r->rdesk_relay_token.data, cc->token_len);
	relay_connect(cc, r->relay_server, cc->uuid);
}

static void rv_on_connected(struct rd_conn *c, void *ud)
{
	struct ctl_connect *cc = ud;
	if (c != cc->rv)
		return;
	if (cc->st == ST_RV) {
		send_punch_request(cc);
		cc->resends = 0;
		step_in(cc, 3.0);
		return;
	}
	/* ST_RELAY_ASK: A-initiated relay on a fresh connection (§8.6). */
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RequestRelay r = HBB__REQUEST_RELAY__INIT;
	r.id = cc->id;
	r.uuid = cc->uuid;
	r.relay_server = cc->link.relay[0] ? cc->link.relay : cc->default_relay;
	r.secure = true;
	r.licence_key = cc->licence;
	r.conn_type = HBB__CONN_TYPE__DEFAULT_CONN;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &r;
	send_rv(c, &m);
	step_in(cc, RD_MIN(18.0, remaining(cc)));
}

static void rv_on_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	struct ctl_connect *cc = ud;
	Hbb__RendezvousMessage *m;
	if (c != cc->rv || len == 0)
		return;
	if (!(m = rd_pb_rendezvous_unpack(p, len))) {
		log_info("malformed message from the server (%zu bytes), ignored", len);
		return;
	}
	log_debug("server: %s", rd_pb_rendezvous_name(m));
	if (m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_RESPONSE && cc->st == ST_RV)
		on_punch_response(cc, m->punch_hole_response);
	else if (m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE &&
		 (cc->st == ST_RV || cc->st == ST_RELAY_ASK))
		on_relay_response(cc, m->relay_response);
	hbb__rendezvous_message__free_unpacked(m, NULL);
}

static void rv_on_close(struct rd_conn *c, int reason, void *ud)
{
	struct ctl_connect *cc = ud;
	char ab[RD_ADDRSTRLEN];
	if (c != cc->rv)
		return;
	cc->rv = NULL;
	if (cc->st == ST_RV) {
		fail(cc, CTL_EXIT_NOPATH, "server_unreachable", "the rendezvous server %s %s (%s)",
			rd_net_addr_str(&cc->o.server, ab, sizeof(ab)),
			cc->t_req > 0 ? "closed the connection" : "cannot be reached",
			rd_strerror(reason));
	} else if (cc->st == ST_RELAY_ASK) {
		step_in(cc, RETRY_SECS);	/* the step timer asks again or gives up */
	}
}

static const struct rd_conn_ops rv_ops = {
	.on_frame = rv_on_frame,
	.on_close = rv_on_close,
	.on_connected = rv_on_connected,
};

/* ---- punch ---- */

static void punch_try(struct ctl_connect *cc)
{
	double left = cc->punch_until - rd_now();
	cc->att = open_conn(cc, &cc->peer, &cc->local, &att_ops, RD_FRAME_MAX_SESSION);
	if (!cc->att) {
		step_in(cc, RETRY_SECS * 4);
		return;
	}
	step_in(cc, RD_MIN(PUNCH_ATTEMPT_SECS, left));
}

static void punch_begin(struct ctl_connect *cc)
{
	double exch = cc->t_resp - cc->t_req, budget;
	int peer = cc->link.peer_nat, me = cc->o.nat_type;
	/* §8.4 timeouts, inside the overall deadline (half of what is left stays for the relay). */
	if (cc->link.path == CTL_PATH_LAN || peer == HBB__NAT_TYPE__SYMMETRIC ||
	    me == HBB__NAT_TYPE__SYMMETRIC)
		budget = 1.0;
	else if (peer == HBB__NAT_TYPE__ASYMMETRIC && me == HBB__NAT_TYPE__ASYMMETRIC)
		budget = 18.0;
	else
		budget = RD_MAX(2.0, 6.0 * exch);
	budget = RD_MIN(budget, cc->o.no_relay ? remaining(cc) : remaining(cc) / 2);
	if (rd_net_local_addr(rd_conn_fd(cc->rv), &cc->local) != RD_OK)
		cc->local = *rd_conn_local(cc->rv);
	ctl_conn_drop(cc->rv, RD_OK);
	cc->rv = NULL;
	cc->st = ST_PUNCH;
	cc->punch_until = rd_now() + budget;
	log_info("trying %s for %.1f s", cc->link.path == CTL_PATH_LAN ? "the LAN address"
		: "a TCP hole punch", budget);
	punch_try(cc);
}

static void punch_failed(struct ctl_connect *cc, const char *why)
{
	snprintf(cc->link.direct_error, sizeof(cc->link.direct_error), "%s to %s failed: %s",
		cc->link.path == CTL_PATH_LAN ? "LAN connect" : "TCP hole punch", cc->link.peer_addr, why);
	log_info("%s", cc->link.direct_error);
	cc->link.punch_ms = (rd_now() - cc->t_resp) * 1000.0;
	if (cc->o.no_relay) {
		fail(cc, CTL_EXIT_NOPATH, "no_path", "%s", cc->link.direct_error);
		return;
	}
	relay_ask(cc);
}

static void att_on_connected(struct rd_conn *c, void *ud)
{
	struct ctl_connect *cc = ud;
	if (c != cc->att)
		return;
	if (cc->st == ST_PUNCH) {
		cc->link.punch_ms = (rd_now() - cc->t_resp) * 1000.0;
		log_info("connected to %s over %s", cc->link.peer_addr, ctl_path_name(cc->link.path));
		finish(cc, RD_OK, c);
		return;
	}
	/* ST_RELAY: the first frame pairs us with the peer; the relay never answers. */
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RequestRelay r = HBB__REQUEST_RELAY__INIT;
	r.id = cc->id;
	r.uuid = cc->uuid;
	r.licence_key = cc->licence;
	r.conn_type = HBB__CONN_TYPE__DEFAULT_CONN;
	r.rdesk_relay_token = (ProtobufCBinaryData){ cc->token_len, cc->token };
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &r;
	send_rv(c, &m);
	cc->link.path = CTL_PATH_RELAY;
	cc->link.punch_ms = (rd_now() - cc->t_resp) * 1000.0;
	log_info("paired through the relay %s (uuid %s)", rd_esc(cc->link.relay), rd_esc(cc->uuid));
	finish(cc, RD_OK, c);
}

static void att_on_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	(void)c; (void)p; (void)len; (void)ud;	/* nothing arrives before the handover */
}

static void att_on_close(struct rd_conn *c, int reason, void *ud)
{
	struct ctl_connect *cc = ud;
	if (c != cc->att)
		return;
	cc->att = NULL;
	if (cc->st == ST_PUNCH) {
		if (rd_now() + RETRY_SECS < cc->punch_until) {
			step_in(cc, RETRY_SECS);
			return;
		}
		punch_failed(cc, rd_strerror(reason));
	} else if (cc->st == ST_RELAY) {
		fail(cc, CTL_EXIT_NOPATH, "relay_unreachable", "the relay %s cannot be reached (%s)",
			cc->link.relay, rd_strerror(reason));
	}
}

static const struct rd_conn_ops att_ops = {
	.on_frame = att_on_frame,
	.on_close = att_on_close,
	.on_connected = att_on_connected,
};

/* ---- relay ---- */

static void relay_ask(struct ctl_connect *cc)
{
	if (cc->rv) {
		ctl_conn_drop(cc->rv, RD_OK);
		cc->rv = NULL;
	}
	if (cc->relay_asks >= RELAY_ASK_MAX) {
		fail(cc, CTL_EXIT_NOPATH, "no_path", "%s%sthe peer did not answer %d relay requests",
			cc->link.direct_error, cc->link.direct_error[0] ? "; " : "", RELAY_ASK_MAX);
		return;
	}
	cc->relay_asks++;
	cc->st = ST_RELAY_ASK;
	rd_uuid_v4(cc->uuid);
	log_info("asking %s for a relay session (uuid %s, try %d)", cc->id, cc->uuid, cc->relay_asks);
	cc->rv = open_conn(cc, &cc->o.server, NULL, &rv_ops, RD_FRAME_MAX_RENDEZVOUS);
	if (!cc->rv) {
		fail(cc, CTL_EXIT_NOPATH, "server_unreachable", "cannot open a connection to the server");
		return;
	}
	step_in(cc, RD_MIN(18.0, remaining(cc)));
}

static void relay_connect(struct ctl_connect *cc, const char *relay_server, const char *uuid)
{
	struct rd_sockaddr ra;
	if (relay_server && relay_server[0])
		rd_strlcpy(cc->link.relay, relay_server, sizeof(cc->link.relay));
	else if (!cc->link.relay[0])
		rd_strlcpy(cc->link.relay, cc->default_relay, sizeof(cc->link.relay));
	if (uuid != cc->uuid)
		rd_strlcpy(cc->uuid, uuid, sizeof(cc->uuid));
	if (cc->rv) {
		ctl_conn_drop(cc->rv, RD_OK);
		cc->rv = NULL;
	}
	cc->st = ST_RELAY;
	ev_timer_stop(cc->loop, &cc->step);
	if (rd_net_addr_parse(cc->link.relay, 21117, &ra) != RD_OK) {
		fail(cc, CTL_EXIT_NOPATH, "relay_unreachable", "bad relay address %s",
			rd_esc(cc->link.relay));
		return;
	}
	cc->att = open_conn(cc, &ra, NULL, &att_ops, RD_FRAME_MAX_SESSION);
	if (!cc->att)
		fail(cc, CTL_EXIT_NOPATH, "relay_unreachable", "cannot connect to the relay %s",
			rd_esc(cc->link.relay));
}

/* ---- timers ---- */

static void on_step(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_connect *cc = w->data;
	(void)loop;
	(void)revents;
	switch (cc->st) {
	case ST_RV:
		if (cc->rv && cc->t_req > 0 && cc->resends < 3) {
			cc->resends++;
			log_info("no answer from the server yet, asking again");
			send_punch_request(cc);
			step_in(cc, 3.0 * (cc->resends + 1));
		}
		break;
	case ST_PUNCH:
		if (cc->att) {	/* this attempt took too long */
			struct rd_conn *a = cc->att;
			cc->att = NULL;
			ctl_conn_drop(a, RD_OK);
		}
		if (rd_now() + RETRY_SECS < cc->punch_until)
			punch_try(cc);
		else
			punch_failed(cc, "no answer");
		break;
	case ST_RELAY_ASK:
		relay_ask(cc);
		break;
	default:
		break;
	}
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_connect *cc = w->data;
	static const char *const what[] = { "the server did not answer", "the direct connection did "
		"not open", "the peer did not answer the relay request", "the relay did not connect", "" };
	(void)loop;
	(void)revents;
	fail(cc, CTL_EXIT_TIMEOUT, "timeout", "no connection to %s within %.1f s: %s", cc->id,
		cc->o.deadline - cc->t_start, what[cc->st]);
}

struct ctl_connect *ctl_connect_start(struct ev_loop *loop, const struct ctl_connect_opts *o,
	struct ctl_result *res, ctl_connect_done done, void *ud)
{
	struct ctl_connect *cc = xcalloc(1, sizeof(*cc));
	struct rd_sockaddr any;
	cc->loop = loop;
	cc->o = *o;
	rd_strlcpy(cc->id, o->id, sizeof(cc->id));
	rd_strlcpy(cc->licence, o->licence ? o->licence : "", sizeof(cc->licence));
	rd_strlcpy(cc->default_relay, o->default_relay ? o->default_relay : "", sizeof(cc->default_relay));
	memcpy(cc->server_pk, o->server_pk, RD_PK_LEN);
	cc->o.id = cc->id;
	cc->res = res;
	cc->done = done;
	cc->ud = ud;
	cc->st = ST_RV;
	cc->t_start = rd_now();
	ev_timer_init(&cc->step, on_step, 1, 0);
	cc->step.data = cc;
	ev_timer_init(&cc->deadline, on_deadline, RD_MAX(0.001, remaining(cc)), 0);
	cc->deadline.data = cc;
	ev_timer_start(loop, &cc->deadline);
	/* Bound with SO_REUSEADDR/SO_REUSEPORT so the punch can reuse the port. */
	rd_net_addr_any(&any, rd_net_addr_family(&o->server), 0);
	cc->rv = open_conn(cc, &o->server, &any, &rv_ops, RD_FRAME_MAX_RENDEZVOUS);
	if (!cc->rv) {
		char ab[RD_ADDRSTRLEN];
		ctl_result_fail(res, CTL_EXIT_NOPATH, "server_unreachable", "cannot connect to %s",
			rd_net_addr_str(&o->server, ab, sizeof(ab)));
		ev_timer_stop(loop, &cc->deadline);
		free(cc);
		return NULL;
	}
	return cc;
}

void ctl_connect_free(struct ctl_connect *cc)
{
	if (!cc)
		return;
	ev_timer_stop(cc->loop, &cc->deadline);
	ev_timer_stop(cc->loop, &cc->step);
	if (cc->rv)
		ctl_conn_drop(cc->rv, RD_OK);
	if (cc->att)
		ctl_conn_drop(cc->att, RD_OK);
	free(cc);
}

int ctl_server_parse(const char *server, struct rd_sockaddr *addr, char *relay, size_t relaysz)
{
	char ip[RD_ADDRSTRLEN];
	int rc = rd_net_addr_parse(server, 21116, addr);
	if (rc != RD_OK)
		return rc;
	rd_net_addr_ip_str(addr, ip, sizeof(ip));
	if (rd_net_addr_family(addr) == AF_INET6)
		snprintf(relay, relaysz, "[%s]:%u", ip, rd_net_addr_port(addr) + 1u);
	else
		snprintf(relay, relaysz, "%s:%u", ip, rd_net_addr_port(addr) + 1u);
	return RD_OK;
}

/* server_tcp: requests over TCP (PROTOCOL.md §7.2-7.3, §8): punch and relay
 * brokering with a bounded table of pending requests keyed by the
 * requester's address, NAT test and online query. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "codec.h"
#include "err.h"
#include "metrics.h"
#include "ratelimit.h"
#include "registry.h"
#include "util.h"

#define RD_LOG_SUBSYS "rendezvous"
#include "server_int.h"

#define RV_ONLINE_QUERY_MAX 4096  /* IDs per OnlineRequest */

void rv__tcp_init(struct rv_server *s)
{
	size_t n = 64;
	while (n < (size_t)s->cfg.lim.pending_max && n < (1u << 20))
		n *= 2;
	s->pend_buckets = n;
	s->pend_hash = xcalloc(n, sizeof(*s->pend_hash));
}

void rv__tcp_fini(struct rv_server *s)
{
	free(s->pend_hash);
	s->pend_hash = NULL;
}

static size_t addr_bucket(const struct rv_server *s, const struct rd_sockaddr *a)
{
	char buf[RD_ADDRSTRLEN];
	rd_net_addr_str(a, buf, sizeof(buf));
	uint32_t h = 2166136261u;
	for (const char *p = buf; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h & (s->pend_buckets - 1);
}

static void pending_remove(struct rv_server *s, struct rv_tcp *t)
{
	if (t->state != RV_TCP_WAITING && t->state != RV_TCP_ANSWERED)
		return;
	struct rv_tcp **pp = &s->pend_hash[addr_bucket(s, &t->peer)];
	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = t->hnext;
	t->hnext = NULL;
	if (t->prev)
		t->prev->next = t->next;
	else
		s->pend_first = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		s->pend_last = t->prev;
	t->prev = t->next = NULL;
	s->npending--;
}

static struct rv_tcp *pending_find(struct rv_server *s, const struct rd_sockaddr *a)
{
	for (struct rv_tcp *t = s->pend_hash[addr_bucket(s, a)]; t; t = t->hnext)
		if (rd_net_addr_equal(&t->peer, a))
			return t;
	return NULL;
}

static void pending_add(struct rv_server *s, struct rv_tcp *t, double now)
{
	struct rv_tcp *old = pending_find(s, &t->peer);
	if (old && old != t) {
		pending_remove(s, old);
		old->state = RV_TCP_DONE;
	}
	pending_remove(s, t);
	t->state = RV_TCP_WAITING;
	t->deadline = now + s->cfg.lim.pending_timeout;
	size_t b = addr_bucket(s, &t->peer);
	t->hnext = s->pend_hash[b];
	s->pend_hash[b] = t;
	t->prev = s->pend_last;
	t->next = NULL;
	if (s->pend_last)
		s->pend_last->next = t;
	else
		s->pend_first = t;
	s->pend_last = t;
	s->npending++;
}

size_t rv_server_pending(const struct rv_server *s)
{
	return s->npending;
}

static void send_msg(struct rv_server *s, struct rv_tcp *t, const Hbb__RendezvousMessage *m)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rd_pb_pack(&m->base, &buf, &len) == RD_OK)
		s->ops->tcp_send(s->ud, t->conn, buf, len);
	free(buf);
}

static void finish(struct rv_server *s, struct rv_tcp *t)
{
	pending_remove(s, t);
	t->state = RV_TCP_DONE;
	s->ops->tcp_close(s->ud, t->conn, true);
}

static void log_tcp(const char *what, const struct rd_sockaddr *from, const char *id, const char *extra)
{
	char ip[RD_ADDRSTRLEN];
	unsigned port;
	rv__src(from, ip, &port);
	log_notice("%s src=%s port=%u id=%s%s", what, ip, port, id ? rd_esc(id) : "-", extra);
}

static void punch_fail(struct rv_server *s, struct rv_tcp *t, const char *id,
	Hbb__PunchHoleResponse__Failure f, const char *other, enum rv_outcome o)
{
	Hbb__PunchHoleResponse r = HBB__PUNCH_HOLE_RESPONSE__INIT;
	r.failure = f;
	if (other)
		r.other_failure = (char *)other;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_RESPONSE;
	m.punch_hole_response = &r;
	send_msg(s, t, &m);
	rv__outcome(s, o);
	static const char *names[RV_OUT_COUNT] = {
		[RV_OUT_ID_NOT_EXIST] = "punch result=id_not_exist",
		[RV_OUT_OFFLINE] = "punch result=offline",
		[RV_OUT_LICENSE_MISMATCH] = "refused licence-mismatch",
		[RV_OUT_RATE] = "limit punch-rate",
		[RV_OUT_BUSY] = "limit pending",
	};
	log_tcp(names[o] ? names[o] : "punch result=failed", &t->peer, id, "");
	finish(s, t);
}

static void relay_refuse(struct rv_server *s, struct rv_tcp *t, const char *id,
	const char *reason, enum rv_outcome o)
{
	Hbb__RelayResponse r = HBB__RELAY_RESPONSE__INIT;
	r.refuse_reason = (char *)reason;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	m.relay_response = &r;
	send_msg(s, t, &m);
	rv__outcome(s, o);
	log_tcp(o == RV_OUT_RATE || o == RV_OUT_BUSY ? "limit relay" :
		o == RV_OUT_LICENSE_MISMATCH ? "refused licence-mismatch" : "relay result=refused",
		&t->peer, id, "");
	finish(s, t);
}

/* Common checks of PunchHoleRequest and RequestRelay; the target or NULL
 * after a failure was answered. */
static struct rv_peer *request_target(struct rv_server *s, struct rv_tcp *t, const char *id,
	bool relay, double now)
{
	struct rv_peer *p = NULL;
	enum rv_outcome o;
	const char *text = NULL;
	Hbb__PunchHoleResponse__Failure f = HBB__PUNCH_HOLE_RESPONSE__FAILURE__ID_NOT_EXIST;
	if (!rd_ratelimit_allow(s->punch_rl, &t->peer, now)) {
		rd_metric_inc(s->m_drop[RV_DROP_RATE]);
		o = RV_OUT_RATE;
		text = "Too many requests, try again later";
	} else if (!id || !*id || !(p = rv_registry_find(s->reg, id))) {
		o = RV_OUT_ID_NOT_EXIST;
		text = relay ? "ID does not exist" : NULL;
	} else if (!rv_peer_online(p, now, s->cfg.lim.online_window)) {
		o = RV_OUT_OFFLINE;
		f = HBB__PUNCH_HOLE_RESPONSE__FAILURE__OFFLINE;
		text = relay ? "Remote desktop is offline" : NULL;
	} else if (s->npending >= (size_t)s->cfg.lim.pending_max && t->state != RV_TCP_WAITING) {
		rd_metric_inc(s->m_drop[RV_DROP_PENDING_CAP]);
		o = RV_OUT_BUSY;
		text = "Server busy, try again later";
	} else {
		return p;
	}
	if (relay)
		relay_refuse(s, t, id, text, o);
	else
		punch_fail(s, t, id, f, text, o);
	return NULL;
}

/* Both ends of a request that can go ahead: the target's address and the
 * requester's, mangled for the target (empty if it cannot be). */
struct request_ends {
	struct rd_sockaddr target;
	uint8_t from[RD_ADDR_MANGLE_MAX];
	size_t from_len;
};

/* request_target() and, when it lets the request through, its ends. */
static bool request_ends(struct rv_server *s, struct rv_tcp *t, const char *id, bool relay,
	double now, struct request_ends *e)
{
	struct rv_peer *p = request_target(s, t, id, relay, now);
	if (!p)
		return false;
	rv_peer_get_addr(p, &e->target);
	int mlen = rd_addr_mangle(&t->peer, e->from);
	e->from_len = mlen > 0 ? (size_t)mlen : 0;
	return true;
}

static void on_punch_request(struct rv_server *s, struct rv_tcp *t, const Hbb__PunchHoleRequest *rq,
	double now)
{
	if (s->cfg.licence && (!rq->licence_key || strcmp(rq->licence_key, s->cfg.licence))) {
		punch_fail(s, t, rq->id, HBB__PUNCH_HOLE_RESPONSE__FAILURE__LICENSE_MISMATCH, NULL,
			RV_OUT_LICENSE_MISMATCH);
		return;
	}
	struct request_ends e;
	if (!request_ends(s, t, rq->id, false, now, &e))
		return;
	const char *relay = rv__next_relay(s);
	bool same_lan = !s->cfg.always_relay && rd_net_addr_same_ip(&e.target, &t->peer);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__FetchLocalAddr fla = HBB__FETCH_LOCAL_ADDR__INIT;
	Hbb__PunchHole ph = HBB__PUNCH_HOLE__INIT;
	if (same_lan) {
		fla.socket_addr = (ProtobufCBinaryData){ e.from_len, e.from };
		fla.relay_server = (char *)relay;
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_FETCH_LOCAL_ADDR;
		m.fetch_local_addr = &fla;
	} else {
		ph.socket_addr = (ProtobufCBinaryData){ e.from_len, e.from };
		ph.relay_server = (char *)relay;
		ph.nat_type = s->cfg.always_relay ? HBB__NAT_TYPE__SYMMETRIC : rq->nat_type;
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE;
		m.punch_hole = &ph;
	}
	rv__send_udp(s, &e.target, &m);
	rd_strlcpy(t->target, rq->id, sizeof(t->target));
	t->relay = false;
	pending_add(s, t, now);
	rv__outcome(s, same_lan ? RV_OUT_LOCAL : RV_OUT_PUNCH);
	char extra[200];
	snprintf(extra, sizeof(extra), " path=%s relay=%s", same_lan ? "local" :
		ph.nat_type == HBB__NAT_TYPE__SYMMETRIC ? "relay" : "punch", *relay ? rd_esc(relay) : "-");
	log_tcp("punch request", &t->peer, rq->id, extra);
}

static void on_request_relay(struct rv_server *s, struct rv_tcp *t, const Hbb__RequestRelay *rq,
	double now)
{
	if (s->cfg.licence && (!rq->licence_key || strcmp(rq->licence_key, s->cfg.licence))) {
		relay_refuse(s, t, rq->id, "Key mismatch", RV_OUT_LICENSE_MISMATCH);
		return;
	}
	size_t ulen = rq->uuid ? strlen(rq->uuid) : 0;
	if (ulen == 0 || ulen > RD_RELAY_UUID_MAX) {
		rv__drop(s, RV_DROP_MALFORMED, &t->peer, rq->id, "request_relay without usable uuid");
		finish(s, t);
		return;
	}
	struct request_ends e;
	if (!request_ends(s, t, rq->id, true, now, &e))
		return;
	/* The relay is ours to name, never the requester's: else any controller
	 * could send the target to a host and port of its choosing. */
	const char *relay = rv__next_relay(s);
	uint8_t token[RD_RELAY_TOKEN_LEN];
	Hbb__RequestRelay fwd = *rq;
	fwd.socket_addr = (ProtobufCBinaryData){ e.from_len, e.from };
	fwd.relay_server = (char *)relay;
	fwd.licence_key = (char *)"";
	fwd.rdesk_relay_token = rv__relay_token(s, rq->uuid, RD_RELAY_ROLE_AGENT, token) ?
		(ProtobufCBinaryData){ sizeof(token), token } : (ProtobufCBinaryData){ 0, NULL };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &fwd;
	rv__send_udp(s, &e.target, &m);
	rd_strlcpy(t->target, rq->id, sizeof(t->target));
	rd_strlcpy(t->uuid, rq->uuid, sizeof(t->uuid));
	rd_strlcpy(t->relay_server, relay, sizeof(t->relay_server));
	t->relay = true;
	pending_add(s, t, now);
	rv__outcome(s, RV_OUT_RELAY);
	char extra[200];
	snprintf(extra, sizeof(extra), " relay=%s uuid=%s", *relay ? rd_esc(relay) : "-",
		rd_esc(rq->uuid));
	log_tcp("relay request", &t->peer, rq->id, extra);
}

/* The requester a reply from the target is meant for, or NULL (logged). */
static struct rv_tcp *route(struct rv_server *s, struct rv_tcp *from, const ProtobufCBinaryData *a,
	const char *id)
{
	struct rd_sockaddr dst;
	if (rd_addr_demangle(a->data, a->len, &dst) != RD_OK) {
		rv__drop(s, RV_DROP_MALFORMED, &from->peer, id, "bad socket_addr");
		return NULL;
	}
	struct rv_tcp *t = pending_find(s, &dst);
	if (!t) {
		rv__drop(s, RV_DROP_NO_ROUTE, &from->peer, id, "no pending request for that address");
		return NULL;
	}
	/* Only the target of that request may answer it, from the address it is
	 * registered at: anyone else could steer the requester elsewhere. */
	const struct rv_peer *p = rv_registry_find(s->reg, t->target);
	if (!p || !rv_peer_same_ip(p, &from->peer) || (id && *id && strcmp(id, t->target))) {
		rv__drop(s, RV_DROP_WRONG_SOURCE, &from->peer, id,
			"reply not from the address the target is registered at");
		return NULL;
	}
	return t;
}

static void answer(struct rv_server *s, struct rv_tcp *req, const Hbb__RendezvousMessage *m,
	const struct rd_sockaddr *target_addr, const char *id, const char *what)
{
	send_msg(s, req, m);
	if (req->state == RV_TCP_WAITING)
		rv__outcome(s, RV_OUT_ANSWERED);
	req->state = RV_TCP_ANSWERED;
	char ip[RD_ADDRSTRLEN], extra[160];
	unsigned port;
	rv__src(target_addr, ip, &port);
	snprintf(extra, sizeof(extra), " result=%s target=%s", what, ip);
	log_tcp("punch answered", &req->peer, id, extra);
}

static void on_target_reply(struct rv_server *s, struct rv_tcp *t, const Hbb__RendezvousMessage *in)
{
	Hbb__PunchHoleResponse r = HBB__PUNCH_HOLE_RESPONSE__INIT;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_RESPONSE;
	m.punch_hole_response = &r;
	uint8_t mangled[RD_ADDR_MANGLE_MAX];
	struct rv_tcp *req;
	const char *id, *version, *what;
	if (in->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_SENT) {
		const Hbb__PunchHoleSent *ps = in->punch_hole_sent;
		id = ps->id;
		version = ps->version;
		if (!(req = route(s, t, &ps->socket_addr, id)))
			goto done;
		int mlen = rd_addr_mangle(&t->peer, mangled);
		r.socket_addr = (ProtobufCBinaryData){ mlen > 0 ? (size_t)mlen : 0, mangled };
		r.relay_server = ps->relay_server;
		r.union_case = HBB__PUNCH_HOLE_RESPONSE__UNION_NAT_TYPE;
		r.nat_type = ps->nat_type;
		what = "punch-sent";
	} else {
		const Hbb__LocalAddr *la = in->local_addr;
		id = la->id;
		version = la->version;
		struct rd_sockaddr chk;
		if (rd_addr_demangle(la->local_addr.data, la->local_addr.len, &chk) != RD_OK ||
		    !la->local_addr.len) {
			rv__drop(s, RV_DROP_MALFORMED, &t->peer, id, "bad local_addr");
			goto done;
		}
		if (!(req = route(s, t, &la->socket_addr, id)))
			goto done;
		r.socket_addr = la->local_addr;
		r.relay_server = la->relay_server;
		r.union_case = HBB__PUNCH_HOLE_RESPONSE__UNION_IS_LOCAL;
		r.is_local = true;
		what = "local-addr";
	}
	size_t pklen = 0;
	uint8_t *pk = version && *version ? rv__signed_idpk(s, id, &pklen) : NULL;
	r.pk = (ProtobufCBinaryData){ pklen, pk };
	answer(s, req, &m, &t->peer, id, what);
	free(pk);
done:
	finish(s, t);
}

/* A target that started the relay itself gets its token on its own connection. */
static void grant_target(struct rv_server *s, struct rv_tcp *t, const char *uuid, const char *relay)
{
	uint8_t token[RD_RELAY_TOKEN_LEN];
	if (!rv__relay_token(s, uuid, RD_RELAY_ROLE_AGENT, token))
		return;
	Hbb__RelayResponse r = HBB__RELAY_RESPONSE__INIT;
	r.uuid = (char *)uuid;
	r.relay_server = (char *)relay;
	r.rdesk_relay_token = (ProtobufCBinaryData){ sizeof(token), token };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	m.relay_response = &r;
	send_msg(s, t, &m);
}

static void on_relay_response(struct rv_server *s, struct rv_tcp *t, const Hbb__RelayResponse *in)
{
	const char *id = in->union_case == HBB__RELAY_RESPONSE__UNION_ID ? in->id : NULL;
	struct rv_tcp *req = route(s, t, &in->socket_addr, id);
	if (req) {
		Hbb__RelayResponse out = *in;
		out.socket_addr = (ProtobufCBinaryData){ 0, NULL };
		uint8_t *pk = NULL, token[RD_RELAY_TOKEN_LEN];
		size_t pklen = 0;
		if (id) {
			pk = in->version && *in->version ? rv__signed_idpk(s, id, &pklen) : NULL;
			out.union_case = HBB__RELAY_RESPONSE__UNION_PK;
			out.pk = (ProtobufCBinaryData){ pklen, pk };
		}
		if (!out.relay_server || !*out.relay_server)
			out.relay_server = req->relay ? req->relay_server : (char *)rv__next_relay(s);
		/* The requester's uuid when it asked for the relay, else the target's. */
		const char *uuid = req->relay ? req->uuid : in->uuid;
		out.rdesk_relay_token = rv__relay_token(s, uuid, RD_RELAY_ROLE_CONTROLLER, token) ?
			(ProtobufCBinaryData){ sizeof(token), token } : (ProtobufCBinaryData){ 0, NULL };
		Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
		m.relay_response = &out;
		answer(s, req, &m, &t->peer, id ? id : req->target, "relay-response");
		if (!req->relay)
			grant_target(s, t, uuid, out.relay_server);
		char extra[200];
		snprintf(extra, sizeof(extra), " relay=%s uuid=%s",
			out.relay_server && *out.relay_server ? rd_esc(out.relay_server) : "-",
			uuid && *uuid ? rd_esc(uuid) : "-");
		log_tcp("relay assigned", &req->peer, id ? id : req->target, extra);
		free(pk);
	}
	finish(s, t);
}

static void on_test_nat(struct rv_server *s, struct rv_tcp *t)
{
	Hbb__TestNatResponse r = HBB__TEST_NAT_RESPONSE__INIT;
	r.port = rd_net_addr_port(&t->peer);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_RESPONSE;
	m.test_nat_response = &r;
	send_msg(s, t, &m);
	finish(s, t);
}

static void on_online(struct rv_server *s, struct rv_tcp *t, const Hbb__OnlineRequest *rq, double now)
{
	if (rq->n_peers > RV_ONLINE_QUERY_MAX) {
		rv__drop(s, RV_DROP_TOO_BIG, &t->peer, rq->id, "online query too long");
		finish(s, t);
		return;
	}
	uint8_t bits[RV_ONLINE_QUERY_MAX / 8] = { 0 };
	for (size_t i = 0; i < rq->n_peers; i++) {
		const struct rv_peer *p = rq->peers[i] ? rv_registry_find(s->reg, rq->peers[i]) : NULL;
		if (p && rv_peer_online(p, now, s->cfg.lim.online_window))
			bits[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	}
	Hbb__OnlineResponse r = HBB__ONLINE_RESPONSE__INIT;
	r.states = (ProtobufCBinaryData){ (rq->n_peers + 7) / 8, bits };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_ONLINE_RESPONSE;
	m.online_response = &r;
	send_msg(s, t, &m);
	finish(s, t);
}

static void on_register_pk_tcp(struct rv_server *s, struct rv_tcp *t)
{
	Hbb__RegisterPkResponse r = HBB__REGISTER_PK_RESPONSE__INIT;
	r.result = HBB__REGISTER_PK_RESPONSE__RESULT__NOT_SUPPORT;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE;
	m.register_pk_response = &r;
	send_msg(s, t, &m);
	finish(s, t);
}

struct rv_tcp *rv_server_tcp_open(struct rv_server *s, void *conn,
	const struct rd_sockaddr *peer, enum rv_port port, double now)
{
	(void)s;
	(void)now;
	struct rv_tcp *t = xcalloc(1, sizeof(*t));
	t->conn = conn;
	t->peer = *peer;
	rd_net_addr_normalize(&t->peer);
	t->port = port;
	t->state = RV_TCP_NEW;
	return t;
}

static bool limited(struct rv_server *s, struct rv_tcp *t, double now)
{
	if (rd_ratelimit_allow(s->punch_rl, &t->peer, now))
		return false;
	rv__drop(s, RV_DROP_RATE, &t->peer, NULL, "tcp request rate");
	finish(s, t);
	return true;
}

static void dispatch(struct rv_server *s, struct rv_tcp *t, const Hbb__RendezvousMessage *m, double now)
{
	bool main_port = t->port == RV_PORT_MAIN;
	switch (main_port ? m->union_case : HBB__RENDEZVOUS_MESSAGE__UNION__NOT_SET) {
	case HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_REQUEST:
		on_punch_request(s, t, m->punch_hole_request, now);
		return;
	case HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY:
		on_request_relay(s, t, m->request_relay, now);
		return;
	case HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_SENT:
	case HBB__RENDEZVOUS_MESSAGE__UNION_LOCAL_ADDR:
		on_target_reply(s, t, m);
		return;
	case HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE:
		on_relay_response(s, t, m->relay_response);
		return;
	case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK:
		on_register_pk_tcp(s, t);
		return;
	default:
		break;
	}
	/* Both ports: NAT test; PORT-1 only: online query. */
	if (m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_REQUEST) {
		if (!limited(s, t, now))
			on_test_nat(s, t);
		return;
	}
	if (!main_port && m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_ONLINE_REQUEST) {
		if (!limited(s, t, now))
			on_online(s, t, m->online_request, now);
		return;
	}
	rv__drop(s, RV_DROP_UNEXPECTED, &t->peer, NULL, rd_pb_rendezvous_name(m));
	finish(s, t);
}

void rv_server_tcp_frame(struct rv_server *s, struct rv_tcp *t, const uint8_t *p, size_t len,
	double now)
{
	if (t->state == RV_TCP_DONE)
		return;
	if (len == 0)
		return; /* heartbeat */
	if (len > RD_FRAME_MAX_RENDEZVOUS) {
		rv__drop(s, RV_DROP_TOO_BIG, &t->peer, NULL, "frame over 64 KiB");
		finish(s, t);
		return;
	}
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(p, len);
	if (!m) {
		rv__drop(s, RV_DROP_MALFORMED, &t->peer, NULL, "frame is no RendezvousMessage");
		finish(s, t);
		return;
	}
	if (m->union_case != HBB__RENDEZVOUS_MESSAGE__UNION__NOT_SET) {
		dispatch(s, t, m, now);
	} else if (t->state == RV_TCP_NEW) {
		/* Nothing we know: like a heartbeat it must not stand in for the
		 * first message, and there is nothing to answer. */
		rv__drop(s, RV_DROP_UNEXPECTED, &t->peer, NULL, "no known message");
		finish(s, t);
	}
	hbb__rendezvous_message__free_unpacked(m, NULL);
}

void rv_server_tcp_closed(struct rv_server *s, struct rv_tcp *t, int reason)
{
	if (!t)
		return;
	if (reason == RD_ERR_TOOBIG)
		rv__drop(s, RV_DROP_TOO_BIG, &t->peer, NULL, "frame over 64 KiB");
	else if (reason == RD_ERR_TIMEOUT && t->state == RV_TCP_NEW)
		rv__drop(s, RV_DROP_DEADLINE, &t->peer, NULL, "no message before the deadline");
	else if (reason == RD_ERR_PROTO)
		rv__drop(s, RV_DROP_MALFORMED, &t->peer, NULL, "bad framing");
	if (t->state == RV_TCP_WAITING) {
		/* The requester's idle deadline or its own close ended the wait. */
		rv__outcome(s, RV_OUT_TIMEOUT);
		log_tcp(reason == RD_ERR_TIMEOUT ? "punch result=timeout" : "punch result=gave-up",
			&t->peer, t->target, "");
	}
	pending_remove(s, t);
	free(t);
}

void rv_server_tick(struct rv_server *s, double now)
{
	/* The list is in deadline order: every add goes to the tail. */
	while (s->pend_first && s->pend_first->deadline <= now) {
		struct rv_tcp *t = s->pend_first;
		if (t->state == RV_TCP_WAITING) {
			rv__outcome(s, RV_OUT_TIMEOUT);
			log_tcp("punch result=timeout", &t->peer, t->target, "");
		}
		finish(s, t);
	}
}

/* reach: punch, LAN, relay and direct paths to this agent. */
#define RD_LOG_SUBSYS "reach"
#include "reach.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "codec.h"
#include "conn.h"
#include "err.h"
#include "log.h"
#include "nattest.h"
#include "pb.h"
#include "relay_join.h"
#include "relaytoken.h"
#include "util.h"

enum job_kind {
	JOB_PUNCH = 1,
	JOB_LOCAL = 2,
	JOB_RELAY = 3,
};

struct job {
	struct reach *r;
	struct job *next;
	enum job_kind kind;
	bool done;
	struct rd_conn *srv;          /* to the rendezvous server */
	int lfd;                      /* punched/LAN listener */
	ev_io lio;
	ev_timer timer;               /* listen deadline */
	int poke_fd;                  /* the punch toward the controller */
	ev_timer poke_timer;
	uint8_t echo[RD_ADDR_MANGLE_MAX];
	size_t echo_len;
	struct rd_sockaddr controller; /* the controller's address */
	char relay[256];
	char uuid[RD_RELAY_UUID_MAX + 1]; /* a relay we start: its session */
	bool wait_grant;              /* ... waiting for the server's relay token */
};

#define REACH_NAMED_MAX 4             /* relay names the server gave, remembered */

struct reach {
	struct ev_loop *loop;
	struct reach_config cfg;
	const struct reach_ops *ops;
	void *ud;
	struct job *jobs;
	unsigned njobs;
	ev_idle reaper;
	int dfd;                      /* direct listener */
	int dport;
	ev_io dio;
	ev_timer dbackoff;
	struct { enum job_kind kind; struct rd_sockaddr controller; double at; } last[3];
	struct relay_join *join;
	char named[REACH_NAMED_MAX][256]; /* relays the server named in its own pushes */
	unsigned named_next;
};

static struct ev_loop *reach__loop(struct reach *r) { return r->loop; }

static void reach__on_reap(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct reach *r = w->data;
	(void)revents;
	ev_idle_stop(loop, w);
	for (struct job **pp = &r->jobs; *pp;) {
		struct job *j = *pp;
		if (j->done && !j->srv) {
			*pp = j->next;
			r->njobs--;
			free(j);
		} else {
			pp = &j->next;
		}
	}
}

static void job__finish(struct job *j)
{
	struct ev_loop *loop = reach__loop(j->r);
	if (j->lfd >= 0) {
		ev_io_stop(loop, &j->lio);
		close(j->lfd);
		j->lfd = -1;
	}
	ev_timer_stop(loop, &j->timer);
	ev_timer_stop(loop, &j->poke_timer);
	if (j->poke_fd >= 0) {
		close(j->poke_fd);
		j->poke_fd = -1;
	}
	if (j->srv && !rd_conn_closing(j->srv))
		rd_conn_close_after_flush(j->srv);
	j->done = true;
	ev_idle_start(loop, &j->r->reaper);
}

static void job__relay_go(struct job *j, const uint8_t *token, size_t token_len);

static void job__srv_close(struct rd_conn *c, int reason, void *ud)
{
	struct job *j = ud;
	(void)c;
	if (reason != RD_OK && !j->done)
		log_info("rendezvous server connection: %s", rd_strerror(reason));
	j->srv = NULL;
	if (j->wait_grant && !j->done)
		job__relay_go(j, NULL, 0); /* a server that grants no tokens */
	ev_idle_start(reach__loop(j->r), &j->r->reaper);
}

/* Only a relay the agent starts waits for an answer: the server's grant. */
static void job__srv_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	struct job *j = ud;
	(void)c;
	if (!j->wait_grant || j->done || len == 0)
		return;
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(p, len);
	if (!m)
		return;
	const Hbb__RelayResponse *rr = m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE ?
		m->relay_response : NULL;
	if (rr && rr->uuid && !strcmp(rr->uuid, j->uuid) &&
	    rr->rdesk_relay_token.len == RD_RELAY_TOKEN_LEN)
		job__relay_go(j, rr->rdesk_relay_token.data, rr->rdesk_relay_token.len);
	hbb__rendezvous_message__free_unpacked(m, NULL);
}

static void job__srv_connected(struct rd_conn *c, void *ud);

static const struct rd_conn_ops job_srv_ops = {
	.on_frame = job__srv_frame,
	.on_close = job__srv_close,
	.on_connected = job__srv_connected,
};

/* Duplicate requests from one controller within 100 ms are ignored (§8.2). */
static bool reach__duplicate(struct reach *r, enum job_kind kind,
	const struct rd_sockaddr *controller)
{
	double now = rd_now();
	int i = kind - 1;
	bool dup = r->last[i].at > 0 && now - r->last[i].at < REACH_DUP_WINDOW &&
		rd_net_addr_equal(&r->last[i].controller, controller);
	r->last[i].controller = *controller;
	r->last[i].at = now;
	return dup;
}

static struct job *reach__job(struct reach *r, enum job_kind kind, const ProtobufCBinaryData *sa,
	const char *relay)
{
	struct rd_sockaddr controller;
	if (sa->len > RD_ADDR_MANGLE_MAX || rd_addr_demangle(sa->data, sa->len, &controller) < 0) {
		log_warn("request with a malformed controller address dropped");
		return NULL;
	}
	if (reach__duplicate(r, kind, &controller)) {
		log_debug("duplicate request ignored");
		return NULL;
	}
	if (r->njobs >= REACH_MAX_JOBS) {
		log_warn("too many connection attempts in flight; request dropped");
		return NULL;
	}
	struct job *j = xcalloc(1, sizeof(*j));
	j->r = r;
	j->kind = kind;
	j->lfd = j->poke_fd = -1;
	j->controller = controller;
	memcpy(j->echo, sa->data, sa->len);
	j->echo_len = sa->len;
	rd_strlcpy(j->relay, relay ? relay : "", sizeof(j->relay));
	ev_init(&j->timer, NULL);
	ev_init(&j->poke_timer, NULL);
	j->next = r->jobs;
	r->jobs = j;
	r->njobs++;
	return j;
}

/* A TCP connection to the server from a reusable local port. */
static int job__connect_server(struct job *j, const struct rd_sockaddr *server, bool reuse)
{
	struct rd_sockaddr any;
	rd_net_addr_any(&any, rd_net_addr_family(server), 0);
	int fd = rd_net_tcp_connect(server, reuse ? &any : NULL);
	if (fd < 0) {
		log_warn("cannot connect to the rendezvous server: %s", strerror(errno));
		return fd;
	}
	struct rd_conn_limits lim = { .max_frame = RD_FRAME_MAX_RENDEZVOUS,
		.idle_timeout = REACH_SERVER_TIMEOUT };
	j->srv = rd_conn_new(reach__loop(j->r), fd, true, &lim, &job_srv_ops, j);
	if (!j->srv) {
		close(fd);
		return RD_ERR_NOMEM;
	}
	return RD_OK;
}

static void job__send(struct job *j, const Hbb__RendezvousMessage *m)
{
	if (j->srv)
		rd_conn_send_pb(j->srv, &m->base);
}

static void job__on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct job *j = w->data;
	struct rd_sockaddr peer;
	char ps[RD_ADDRSTRLEN];
	(void)loop, (void)revents;
	int fd = rd_net_accept(j->lfd, &peer);
	if (fd < 0)
		return;
	log_info("%s: controller connected on the %s port", rd_net_addr_str(&peer, ps, sizeof(ps)),
		j->kind == JOB_PUNCH ? "punched" : "LAN");
	j->r->ops->session_fd(j->r->ud, fd, j->kind == JOB_PUNCH ? SESSION_PATH_PUNCH : SESSION_PATH_LOCAL);
	job__finish(j);
}

static void job__on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *j = w->data;
	(void)loop, (void)revents;
	log_info("no controller connected within %.0f s", REACH_LISTEN_TIMEOUT);
	job__finish(j);
}

static int job__listen(struct job *j, const struct rd_sockaddr *local)
{
	j->lfd = rd_net_tcp_listen(local, 4, RD_NET_REUSEPORT);
	if (j->lfd < 0) {
		log_warn("cannot listen on the punched port: %s", strerror(errno));
		return j->lfd;
	}
	struct ev_loop *loop = reach__loop(j->r);
	ev_io_init(&j->lio, job__on_accept, j->lfd, EV_READ);
	j->lio.data = j;
	ev_io_start(loop, &j->lio);
	ev_timer_init(&j->timer, job__on_timeout, REACH_LISTEN_TIMEOUT, 0.);
	j->timer.data = j;
	ev_timer_start(loop, &j->timer);
	return RD_OK;
}

static void job__poke_done(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *j = w->data;
	(void)loop, (void)revents;
	if (j->poke_fd >= 0) {
		/* The controller's SYN met ours (TCP simultaneous open): the poke
		 * socket itself is the session, the listener never sees it. */
		struct rd_sockaddr peer;
		char ps[RD_ADDRSTRLEN];
		if (rd_net_peer_addr(j->poke_fd, &peer) == RD_OK && rd_net_addr_equal(&peer, &j->controller)) {
			int fd = j->poke_fd;
			j->poke_fd = -1;
			log_info("%s: controller connected by simultaneous open",
				rd_net_addr_str(&peer, ps, sizeof(ps)));
			j->r->ops->session_fd(j->r->ud, fd, SESSION_PATH_PUNCH);
			job__finish(j);
			return;
		}
		close(j->poke_fd);
		j->poke_fd = -1;
	}
}

/* The relay the agent names when it starts a relay itself: its own setting,
 * else the server's choice, else the rendezvous host on port + 1. */
static void reach__pick_relay(struct reach *r, const struct rd_sockaddr *server, const char *offered,
	char *out, size_t outsz)
{
	char host[RD_ADDRSTRLEN];
	if (r->cfg.relay && *r->cfg.relay)
		rd_strlcpy(out, r->cfg.relay, outsz);
	else if (offered && *offered)
		rd_strlcpy(out, offered, outsz);
	else {
		struct rd_sockaddr rel = *server;
		rd_net_addr_set_port(&rel, (uint16_t)(rd_net_addr_port(server) + 1));
		rd_strlcpy(out, rd_net_addr_str(&rel, host, sizeof(host)), outsz);
	}
}

/* Relay names the server put in its own pushes (PunchHole, FetchLocalAddr). */
static void reach__remember(struct reach *r, const char *relay)
{
	if (!relay || !*relay || strlen(relay) >= sizeof(r->named[0]))
		return;
	for (unsigned i = 0; i < REACH_NAMED_MAX; i++)
		if (!strcmp(r->named[i], relay))
			return;
	rd_strlcpy(r->named[r->named_next], relay, sizeof(r->named[0]));
	r->named_next = (r->named_next + 1) % REACH_NAMED_MAX;
}

/* The request carries a relay token for its uuid that the server signed: a
 * server that grants tokens names the relay itself. */
static bool reach__vouched(struct reach *r, const Hbb__RequestRelay *rq)
{
	uint8_t pk[RD_PK_LEN];
	enum rd_relay_role role;
	if (rd_pk_from_b64(r->cfg.server_key, pk) != RD_OK)
		return false;
	return rd_relay_token_verify(rq->rdesk_relay_token.data, rq->rdesk_relay_token.len, rq->uuid,
		pk, rd_wall_ms() / 1000, &role) == RD_OK && role == RD_RELAY_ROLE_AGENT;
}

/* The relay to join for a RequestRelay: the one it names when the server
 * vouches for the request or named that relay before, else our own (the
 * setting, or the server's host on port + 1). A server that passes on the
 * controller's choice must not let a controller send us anywhere. */
static void reach__relay_for_request(struct reach *r, const struct rd_sockaddr *server,
	const Hbb__RequestRelay *rq, char *out, size_t outsz)
{
	const char *named = rq->relay_server;
	reach__pick_relay(r, server, NULL, out, outsz);
	if (!named || !*named || !strcmp(named, out))
		return;
	bool known = false;
	for (unsigned i = 0; i < REACH_NAMED_MAX && !known; i++)
		known = !strcmp(r->named[i], named);
	if (known || reach__vouched(r, rq)) {
		rd_strlcpy(out, named, outsz);
		return;
	}
	log_warn("relay request names relay %s, which the server did not vouch for; joining %s",
		rd_esc(named), rd_esc(out));
}

/* A relay job is decided: finish it and join the relay. */
static void job__relay_go(struct job *j, const uint8_t *token, size_t token_len)
{
	struct rd_sockaddr controller = j->controller;
	j->wait_grant = false;
	job__finish(j);
	relay_join_start(j->r->join, j->relay, j->uuid, token, token_len, &controller);
}

static void job__on_grant_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *j = w->data;
	(void)loop, (void)revents;
	if (j->wait_grant && !j->done)
		job__relay_go(j, NULL, 0);
}

/* §8.5: the agent starts the relay (either side symmetric, or forced). It
 * tells the server the uuid, then joins with the token the server grants in
 * its answer (or without one when none comes). */
static void reach__relay_from_punch(struct reach *r, struct job *j, const struct rd_sockaddr *server)
{
	char relay[256];
	j->kind = JOB_RELAY; /* from here on, whatever the server asked for */
	rd_uuid_v4(j->uuid);
	reach__pick_relay(r, server, j->relay, relay, sizeof(relay));
	rd_strlcpy(j->relay, relay, sizeof(j->relay));
	if (job__connect_server(j, server, false) < 0) {
		job__finish(j);
		return;
	}
	Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
	rr.socket_addr.data = j->echo;
	rr.socket_addr.len = j->echo_len;
	rr.uuid = j->uuid;
	rr.relay_server = j->relay;
	rr.version = (char *)RD_VERSION;
	rr.union_case = HBB__RELAY_RESPONSE__UNION_ID;
	rr.id = (char *)r->cfg.id;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	m.relay_response = &rr;
	job__send(j, &m);
	j->wait_grant = true;
	ev_timer_init(&j->timer, job__on_grant_timeout, REACH_GRANT_WAIT, 0.);
	j->timer.data = j;
	ev_timer_start(reach__loop(r), &j->timer);
}

void reach_punch(struct reach *r, const struct rd_sockaddr *server, const Hbb__PunchHole *ph)
{
	struct job *j = reach__job(r, JOB_PUNCH, &ph->socket_addr, ph->relay_server);
	if (!j)
		return;
	reach__remember(r, ph->relay_server);
	char cs[RD_ADDRSTRLEN];
	rd_net_addr_str(&j->controller, cs, sizeof(cs));
	bool use_relay = ph->nat_type == HBB__NAT_TYPE__SYMMETRIC || ph->force_relay ||
		r->ops->nat_type(r->ud) == RD_NAT_SYMMETRIC || r->cfg.force_relay;
	if (use_relay) {
		log_info("punch request from %s: relaying (%s)", cs,
			ph->nat_type == HBB__NAT_TYPE__SYMMETRIC ? "controller behind symmetric NAT" :
			r->ops->nat_type(r->ud) == RD_NAT_SYMMETRIC ? "we are behind symmetric NAT" : "relay forced");
		reach__relay_from_punch(r, j, server);
		return;
	}
	log_info("punch request from %s", cs);
	if (job__connect_server(j, server, true) < 0) {
		job__finish(j);
		return;
	}
	struct rd_sockaddr local;
	if (rd_net_local_addr(rd_conn_fd(j->srv), &local) < 0 || job__listen(j, &local) < 0) {
		job__finish(j);
		return;
	}
	/* Open our NAT toward the controller from the same port (expected to fail). */
	j->poke_fd = rd_net_tcp_connect(&j->controller, &local);
	ev_timer_init(&j->poke_timer, job__poke_done, 0.03, 0.);
	j->poke_timer.data = j;
	ev_timer_start(reach__loop(r), &j->poke_timer);

	Hbb__PunchHoleSent phs = HBB__PUNCH_HOLE_SENT__INIT;
	char relay[256];
	reach__pick_relay(r, server, j->relay, relay, sizeof(relay));
	phs.socket_addr.data = j->echo;
	phs.socket_addr.len = j->echo_len;
	phs.id = (char *)r->cfg.id;
	phs.relay_server = relay;
	phs.nat_type = (Hbb__NatType)r->ops->nat_type(r->ud);
	phs.version = (char *)RD_VERSION;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE_SENT;
	m.punch_hole_sent = &phs;
	job__send(j, &m);
	rd_conn_close_after_flush(j->srv);
}

/* FetchLocalAddr: the LAN address is only known once connected. */
static void job__srv_connected(struct rd_conn *c, void *ud)
{
	struct job *j = ud;
	if (j->kind != JOB_LOCAL || j->done)
		return;
	struct rd_sockaddr local = *rd_conn_local(c);
	uint8_t mangled[RD_ADDR_MANGLE_MAX];
	int n = rd_addr_mangle(&local, mangled);
	if (n < 0 || job__listen(j, &local) < 0) {
		job__finish(j);
		return;
	}
	struct rd_sockaddr server = *rd_conn_peer(c);
	char relay[256];
	reach__pick_relay(j->r, &server, j->relay, relay, sizeof(relay));
	Hbb__LocalAddr la = HBB__LOCAL_ADDR__INIT;
	la.socket_addr.data = j->echo;
	la.socket_addr.len = j->echo_len;
	la.local_addr.data = mangled;
	la.local_addr.len = (size_t)n;
	la.relay_server = relay;
	la.id = (char *)j->r->cfg.id;
	la.version = (char *)RD_VERSION;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_LOCAL_ADDR;
	m.local_addr = &la;
	job__send(j, &m);
	rd_conn_close_after_flush(c);
}

void reach_local(struct reach *r, const struct rd_sockaddr *server, const Hbb__FetchLocalAddr *fl)
{
	struct job *j = reach__job(r, JOB_LOCAL, &fl->socket_addr, fl->relay_server);
	if (!j)
		return;
	reach__remember(r, fl->relay_server);
	if (r->cfg.force_relay) {
		reach__relay_from_punch(r, j, server);
		return;
	}
	char cs[RD_ADDRSTRLEN];
	log_info("LAN request from %s", rd_net_addr_str(&j->controller, cs, sizeof(cs)));
	if (job__connect_server(j, server, true) < 0)
		job__finish(j);
}

void reach_relay(struct reach *r, const struct rd_sockaddr *server, const Hbb__RequestRelay *rq)
{
	if (!rq->uuid || !*rq->uuid || strlen(rq->uuid) > RD_RELAY_UUID_MAX) {
		log_warn("RequestRelay without a usable uuid dropped");
		return;
	}
	struct job *j = reach__job(r, JOB_RELAY, &rq->socket_addr, NULL);
	if (!j)
		return;
	char cs[RD_ADDRSTRLEN];
	reach__relay_for_request(r, server, rq, j->relay, sizeof(j->relay));
	rd_strlcpy(j->uuid, rq->uuid, sizeof(j->uuid));
	log_info("relay request from %s via %s%s", rd_net_addr_str(&j->controller, cs, sizeof(cs)),
		rd_esc(j->relay),
		rq->secure ? "" : " (controller holds no key for us; the handshake runs anyway)");
	if (job__connect_server(j, server, false) == RD_OK) {
		Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
		rr.socket_addr.data = j->echo;
		rr.socket_addr.len = j->echo_len;
		rr.uuid = rq->uuid;
		rr.relay_server = j->relay;
		rr.version = (char *)RD_VERSION;
		Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
		m.relay_response = &rr;
		job__send(j, &m);
	}
	bool token = rq->rdesk_relay_token.len == RD_RELAY_TOKEN_LEN;
	job__relay_go(j, token ? rq->rdesk_relay_token.data : NULL, token ? RD_RELAY_TOKEN_LEN : 0);
}

/* ---- direct listener ---- */

static void reach__on_direct(struct ev_loop *loop, ev_io *w, int revents)
{
	struct reach *r = w->data;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		struct rd_sockaddr peer;
		int fd = rd_net_accept(r->dfd, &peer);
		if (fd == RD_ERR_LIMIT) {
			log_warn("out of file descriptors; pausing the direct listener for 1 s");
			ev_io_stop(loop, &r->dio);
			ev_timer_start(loop, &r->dbackoff);
			return;
		}
		if (fd < 0)
			return;
		char ps[RD_ADDRSTRLEN];
		log_info("%s: direct connection", rd_net_addr_str(&peer, ps, sizeof(ps)));
		r->ops->session_fd(r->ud, fd, SESSION_PATH_DIRECT);
	}
}

static void reach__on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct reach *r = w->data;
	(void)revents;
	ev_io_start(loop, &r->dio);
}

int reach_direct_listen(struct reach *r, const char *bind_addr, int port)
{
	struct rd_sockaddr a;
	int rc = rd_net_addr_parse_numeric(bind_addr, (uint16_t)port, &a);
	if (rc < 0)
		return rc;
	rd_net_addr_set_port(&a, (uint16_t)port);
	r->dfd = rd_net_tcp_listen(&a, 16, 0);
	if (r->dfd < 0)
		return r->dfd;
	struct rd_sockaddr bound;
	rd_net_local_addr(r->dfd, &bound);
	r->dport = rd_net_addr_port(&bound);
	ev_io_init(&r->dio, reach__on_direct, r->dfd, EV_READ);
	r->dio.data = r;
	ev_io_start(reach__loop(r), &r->dio);
	return RD_OK;
}

int reach_direct_port(const struct reach *r) { return r->dport; }

struct reach *reach_new(struct ev_loop *loop, const struct reach_config *cfg,
	const struct reach_ops *ops, void *ud)
{
	struct reach *r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->cfg = *cfg;
	if (!r->cfg.server_key)
		r->cfg.server_key = "";
	r->ops = ops;
	r->ud = ud;
	r->dfd = -1;
	r->join = relay_join_new(loop, r->cfg.server_key, ops->session_conn, ud);
	ev_idle_init(&r->reaper, reach__on_reap);
	r->reaper.data = r;
	ev_timer_init(&r->dbackoff, reach__on_backoff, 1.0, 0.);
	r->dbackoff.data = r;
	return r;
}

/* Jobs still holding a server conn are finished here; their conns are freed
 * by the loop (the caller runs it a little longer before exiting). */
void reach_free(struct reach *r)
{
	if (!r)
		return;
	struct ev_loop *loop = reach__loop(r);
	for (struct job *j = r->jobs; j; j = j->next) {
		if (!j->done)
			job__finish(j);
		if (j->srv)
			rd_conn_set_ops(j->srv, NULL, NULL);
	}
	while (r->jobs) {
		struct job *j = r->jobs;
		r->jobs = j->next;
		free(j);
	}
	ev_idle_stop(loop, &r->reaper);
	ev_timer_stop(loop, &r->dbackoff);
	relay_join_free(r->join);
	if (r->dfd >= 0) {
		ev_io_stop(loop, &r->dio);
		close(r->dfd);
	}
	free(r);
}

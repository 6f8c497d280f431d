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
#include "agent.h"
#include "codec.h"
#include "conn.h"
#include "err.h"
#include "log.h"
#include "nattest.h"
#include "pb.h"
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
	struct rd_sockaddr ctl;       /* the controller's address */
	char relay[256];
};

struct reach {
	struct agent *a;
	struct job *jobs;
	unsigned njobs;
	ev_idle reaper;
	int dfd;                      /* direct listener */
	int dport;
	ev_io dio;
	ev_timer dbackoff;
	struct { enum job_kind kind; struct rd_sockaddr ctl; double at; } last[3];
};

static struct ev_loop *reach__loop(struct reach *r) { return agent_loop(r->a); }

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

static void job__srv_close(struct rd_conn *c, int reason, void *ud)
{
	struct job *j = ud;
	(void)c;
	if (reason != RD_OK && !j->done)
		log_info("rendezvous server connection: %s", rd_strerror(reason));
	j->srv = NULL;
	ev_idle_start(reach__loop(j->r), &j->r->reaper);
}

static void job__srv_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	(void)c, (void)p, (void)len, (void)ud; /* the server sends nothing back here */
}

static void job__srv_connected(struct rd_conn *c, void *ud);

static const struct rd_conn_ops job_srv_ops = {
	.on_frame = job__srv_frame,
	.on_close = job__srv_close,
	.on_connected = job__srv_connected,
};

/* Duplicate requests from one controller within 100 ms are ignored (§8.2). */
static bool reach__duplicate(struct reach *r, enum job_kind kind, const struct rd_sockaddr *ctl)
{
	double now = rd_now();
	int i = kind - 1;
	bool dup = r->last[i].at > 0 && now - r->last[i].at < REACH_DUP_WINDOW &&
		rd_net_addr_equal(&r->last[i].ctl, ctl);
	r->last[i].ctl = *ctl;
	r->last[i].at = now;
	return dup;
}

static struct job *reach__job(struct reach *r, enum job_kind kind, const ProtobufCBinaryData *sa,
	const char *relay)
{
	struct rd_sockaddr ctl;
	if (sa->len > RD_ADDR_MANGLE_MAX || rd_addr_demangle(sa->data, sa->len, &ctl) < 0) {
		log_warn("request with a malformed controller address dropped");
		return NULL;
	}
	if (reach__duplicate(r, kind, &ctl)) {
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
	j->ctl = ctl;
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
	agent_session_start(j->r->a, fd, j->kind == JOB_PUNCH ? SESSION_PATH_PUNCH : SESSION_PATH_LOCAL);
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
		if (rd_net_peer_addr(j->poke_fd, &peer) == RD_OK && rd_net_addr_equal(&peer, &j->ctl)) {
			int fd = j->poke_fd;
			j->poke_fd = -1;
			log_info("%s: controller connected by simultaneous open",
				rd_net_addr_str(&peer, ps, sizeof(ps)));
			agent_session_start(j->r->a, fd, SESSION_PATH_PUNCH);
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
	const struct agent_settings *st = agent_settings(r->a);
	char host[RD_ADDRSTRLEN];
	if (st->relay && *st->relay)
		rd_strlcpy(out, st->relay, outsz);
	else if (offered && *offered)
		rd_strlcpy(out, offered, outsz);
	else {
		struct rd_sockaddr rel = *server;
		rd_net_addr_set_port(&rel, (uint16_t)(rd_net_addr_port(server) + 1));
		rd_strlcpy(out, rd_net_addr_str(&rel, host, sizeof(host)), outsz);
	}
}

/* Connect to the relay with RequestRelay{licence_key, uuid} and run the
 * session on that socket (§8.5, §8.6). */
static void reach__relay_connect(struct reach *r, const struct rd_sockaddr *ctl, const char *relay,
	const char *uuid)
{
	struct rd_sockaddr ra;
	if (rd_net_addr_parse(relay, 21117, &ra) < 0) {
		log_warn("cannot resolve relay %s", rd_esc(relay));
		return;
	}
	int fd = rd_net_tcp_connect(&ra, NULL);
	if (fd < 0) {
		log_warn("cannot connect to relay %s: %s", rd_esc(relay), strerror(errno));
		return;
	}
	struct rd_conn_limits lim = { .max_frame = RD_FRAME_MAX_SESSION };
	struct rd_conn *c = rd_conn_new(reach__loop(r), fd, true, &lim, NULL, NULL);
	if (!c) {
		close(fd);
		return;
	}
	Hbb__RequestRelay rq = HBB__REQUEST_RELAY__INIT;
	rq.uuid = (char *)uuid;
	rq.licence_key = (char *)agent_server_key(r->a);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rq;
	rd_conn_send_pb(c, &m.base);
	char u8[9];
	rd_strlcpy(u8, uuid, sizeof(u8)); /* the server's words: escaped, and its head only */
	log_info("joining relay %s for uuid %s...", rd_esc(relay), rd_esc(u8));
	agent_session_adopt(r->a, c, SESSION_PATH_RELAY, ctl);
}

/* §8.5: the agent starts the relay (either side symmetric, or forced). */
static void reach__relay_from_punch(struct reach *r, struct job *j, const struct rd_sockaddr *server)
{
	char uuid[37], relay[256];
	rd_uuid_v4(uuid);
	reach__pick_relay(r, server, j->relay, relay, sizeof(relay));
	if (job__connect_server(j, server, false) < 0) {
		job__finish(j);
		return;
	}
	Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
	rr.socket_addr.data = j->echo;
	rr.socket_addr.len = j->echo_len;
	rr.uuid = uuid;
	rr.relay_server = relay;
	rr.version = (char *)RD_VERSION;
	rr.union_case = HBB__RELAY_RESPONSE__UNION_ID;
	rr.id = (char *)agent_id(r->a);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
	m.relay_response = &rr;
	job__send(j, &m);
	struct rd_sockaddr ctl = j->ctl;
	job__finish(j);
	reach__relay_connect(r, &ctl, relay, uuid);
}

void reach_punch(struct reach *r, const struct rd_sockaddr *server, const Hbb__PunchHole *ph)
{
	struct job *j = reach__job(r, JOB_PUNCH, &ph->socket_addr, ph->relay_server);
	if (!j)
		return;
	char cs[RD_ADDRSTRLEN];
	rd_net_addr_str(&j->ctl, cs, sizeof(cs));
	bool use_relay = ph->nat_type == HBB__NAT_TYPE__SYMMETRIC || ph->force_relay ||
		agent_nat_type(r->a) == RD_NAT_SYMMETRIC || agent_settings(r->a)->force_relay;
	if (use_relay) {
		log_info("punch request from %s: relaying (%s)", cs,
			ph->nat_type == HBB__NAT_TYPE__SYMMETRIC ? "controller behind symmetric NAT" :
			agent_nat_type(r->a) == RD_NAT_SYMMETRIC ? "we are behind symmetric NAT" : "relay forced");
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
	j->poke_fd = rd_net_tcp_connect(&j->ctl, &local);
	ev_timer_init(&j->poke_timer, job__poke_done, 0.03, 0.);
	j->poke_timer.data = j;
	ev_timer_start(reach__loop(r), &j->poke_timer);

	Hbb__PunchHoleSent phs = HBB__PUNCH_HOLE_SENT__INIT;
	char relay[256];
	reach__pick_relay(r, server, j->relay, relay, sizeof(relay));
	phs.socket_addr.data = j->echo;
	phs.socket_addr.len = j->echo_len;
	phs.id = (char *)agent_id(r->a);
	phs.relay_server = relay;
	phs.nat_type = (Hbb__NatType)agent_nat_type(r->a);
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
	la.id = (char *)agent_id(j->r->a);
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
	if (agent_settings(r->a)->force_relay) {
		reach__relay_from_punch(r, j, server);
		return;
	}
	char cs[RD_ADDRSTRLEN];
	log_info("LAN request from %s", rd_net_addr_str(&j->ctl, cs, sizeof(cs)));
	if (job__connect_server(j, server, true) < 0)
		job__finish(j);
}

void reach_relay(struct reach *r, const struct rd_sockaddr *server, const Hbb__RequestRelay *rq)
{
	if (!rq->uuid || !*rq->uuid || strlen(rq->uuid) > 64) {
		log_warn("RequestRelay without a usable uuid dropped");
		return;
	}
	struct job *j = reach__job(r, JOB_RELAY, &rq->socket_addr, rq->relay_server);
	if (!j)
		return;
	char relay[256], cs[RD_ADDRSTRLEN];
	/* The controller picked the relay it will use; join it there. */
	if (rq->relay_server && *rq->relay_server)
		rd_strlcpy(relay, rq->relay_server, sizeof(relay));
	else
		reach__pick_relay(r, server, NULL, relay, sizeof(relay));
	log_info("relay request from %s via %s%s", rd_net_addr_str(&j->ctl, cs, sizeof(cs)), rd_esc(relay),
		rq->secure ? "" : " (controller holds no key for us; the handshake runs anyway)");
	if (job__connect_server(j, server, false) == RD_OK) {
		Hbb__RelayResponse rr = HBB__RELAY_RESPONSE__INIT;
		rr.socket_addr.data = j->echo;
		rr.socket_addr.len = j->echo_len;
		rr.uuid = rq->uuid;
		rr.relay_server = relay;
		rr.version = (char *)RD_VERSION;
		Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_RELAY_RESPONSE;
		m.relay_response = &rr;
		job__send(j, &m);
	}
	struct rd_sockaddr ctl = j->ctl;
	job__finish(j);
	reach__relay_connect(r, &ctl, relay, rq->uuid);
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
		agent_session_start(r->a, fd, SESSION_PATH_DIRECT);
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
unsigned reach_jobs(const struct reach *r) { return r->njobs; }

struct reach *reach_new(struct agent *a)
{
	struct reach *r = xcalloc(1, sizeof(*r));
	r->a = a;
	r->dfd = -1;
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
	if (r->dfd >= 0) {
		ev_io_stop(loop, &r->dio);
		close(r->dfd);
	}
	free(r);
}

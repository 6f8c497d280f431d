/* rendezvous_client: RegisterPeer / RegisterPk over UDP with back-off, and
 * dispatch of the server's pushes. */
#define RD_LOG_SUBSYS "rendezvous"
#include "rendezvous_client.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "err.h"
#include "log.h"
#include "pb.h"
#include "reach.h"
#include "util.h"

#define RC_DGRAM_MAX 65536

struct rc {
	struct agent *a;
	struct reach *reach;
	char *server_text;
	struct rd_sockaddr server;
	bool resolved;
	double last_resolve;
	double interval;
	int fd;
	ev_io io;
	ev_timer tick;
	bool key_confirmed;
	bool registered;
	double sent_at;            /* outstanding request, 0 = none */
	double next_send;
	double last_pk;
	unsigned failures;         /* consecutive timeouts */
	struct rd_sockaddr local;  /* our address toward the server */
	struct rd_log_ratelimit bad_rl;
};

static void rc__close_socket(struct rc *rc)
{
	if (rc->fd >= 0) {
		ev_io_stop(agent_loop(rc->a), &rc->io);
		close(rc->fd);
		rc->fd = -1;
	}
}

static bool rc__resolve(struct rc *rc, double now)
{
	if (rc->resolved && now - rc->last_resolve < RC_RESOLVE_GAP)
		return true;
	rc->last_resolve = now;
	struct rd_sockaddr addr;
	if (rd_net_addr_parse(rc->server_text, 21116, &addr) < 0) {
		log_warn("cannot resolve rendezvous server %s", rd_esc(rc->server_text));
		return rc->resolved;
	}
	rd_net_addr_normalize(&addr);
	if (!rc->resolved || !rd_net_addr_equal(&addr, &rc->server))
		rc__close_socket(rc);
	rc->server = addr;
	rc->resolved = true;
	return true;
}

static void rc__on_read(struct ev_loop *loop, ev_io *w, int revents);

static int rc__open_socket(struct rc *rc)
{
	if (rc->fd >= 0)
		return RD_OK;
	struct rd_sockaddr any;
	rd_net_addr_any(&any, rd_net_addr_family(&rc->server), 0);
	int fd = rd_net_udp_bind(&any, 0);
	if (fd < 0)
		return fd;
	/* Connected: only the server's datagrams reach us, and the local
	 * address toward it is known. */
	if (connect(fd, &rc->server.u.sa, rc->server.len) < 0) {
		close(fd);
		return RD_ERR_IO;
	}
	rc->fd = fd;
	ev_io_init(&rc->io, rc__on_read, fd, EV_READ);
	rc->io.data = rc;
	ev_io_start(agent_loop(rc->a), &rc->io);
	struct rd_sockaddr local;
	if (rd_net_local_addr(fd, &local) == RD_OK) {
		bool changed = rc->local.len && !rd_net_addr_same_ip(&local, &rc->local);
		rc->local = local;
		if (changed) {
			log_notice("local address toward the server changed");
			agent_public_addr_changed(rc->a);
		}
	}
	return RD_OK;
}

static void rc__send(struct rc *rc, const Hbb__RendezvousMessage *m)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rc__open_socket(rc) < 0 || rd_pb_pack(&m->base, &buf, &len) < 0)
		return;
	if (send(rc->fd, buf, len, 0) < 0 && errno != ECONNREFUSED)
		log_debug("send to rendezvous server: %s", strerror(errno));
	free(buf);
}

static void rc__send_register_peer(struct rc *rc)
{
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	rp.id = (char *)agent_id(rc->a);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	rc__send(rc, &m);
}

static void rc__send_register_pk(struct rc *rc, double now)
{
	Hbb__RegisterPk pk = HBB__REGISTER_PK__INIT;
	pk.id = (char *)agent_id(rc->a);
	pk.uuid.data = (uint8_t *)agent_uuid(rc->a);
	pk.uuid.len = AGENT_UUID_LEN;
	pk.pk.data = (uint8_t *)agent_keypair(rc->a)->pk;
	pk.pk.len = RD_PK_LEN;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &pk;
	rc__send(rc, &m);
	rc->last_pk = now;
}

/* One step of the 1 s timer: send what is due. */
static void rc__step(struct rc *rc, double now)
{
	/* A short interval gets a shorter timeout, so a returning server is
	 * seen within about one interval either way. */
	if (rc->sent_at > 0 && now - rc->sent_at >= RD_MIN(RC_REG_TIMEOUT, rc->interval / 2)) {
		rc->sent_at = 0;
		rc->failures++;
		/* 1, 2, 4, 8 ... seconds, never more than the interval: back
		 * within two intervals of the server's return. */
		double wait = (double)(1u << RD_MIN(rc->failures, 10u));
		rc->next_send = now + RD_MIN(wait, rc->interval);
		if (rc->failures == 2 && rc->registered) {
			log_warn("rendezvous server %s does not answer", rd_esc(rc->server_text));
			agent_set_registered(rc->a, false);
			rc->registered = false;
		}
		if (rc->failures % 4 == 0) {
			rc__close_socket(rc); /* a fresh socket (and a new NAT mapping) */
			rc->resolved = rc->resolved && now - rc->last_resolve < RC_RESOLVE_GAP;
		}
	}
	if (rc->sent_at > 0 || now < rc->next_send)
		return;
	if (!rc__resolve(rc, now)) {
		rc->next_send = now + RD_MIN(rc->interval, 5.0);
		return;
	}
	if (!rc->key_confirmed) {
		if (now - rc->last_pk < RC_PK_MIN_GAP) {
			rc->next_send = rc->last_pk + RC_PK_MIN_GAP;
			return;
		}
		rc__send_register_pk(rc, now);
	} else {
		rc__send_register_peer(rc);
	}
	rc->sent_at = now;
}

static void rc__on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	rc__step(w->data, rd_now());
}

static void rc__registered(struct rc *rc, double now)
{
	if (rc->failures >= 2 || !rc->registered)
		log_notice("registered with %s as %s", rd_esc(rc->server_text), agent_id(rc->a));
	rc->failures = 0;
	rc->sent_at = 0;
	rc->next_send = now + rc->interval;
	if (!rc->registered) {
		rc->registered = true;
		agent_set_registered(rc->a, true);
	}
}

static void rc__on_pk_response(struct rc *rc, const Hbb__RegisterPkResponse *r, double now)
{
	switch (r->result) {
	case HBB__REGISTER_PK_RESPONSE__RESULT__OK:
		rc->key_confirmed = true;
		rc__registered(rc, now);
		break;
	case HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH:
		rc->sent_at = 0;
		agent_change_id(rc->a);
		rc->next_send = now;
		rc->last_pk = 0;
		break;
	case HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT:
		log_warn("server says RegisterPk too frequent; waiting");
		rc->sent_at = 0;
		rc->next_send = now + 6.0;
		break;
	default:
		log_warn("server refused our key: result %d", (int)r->result);
		rc->sent_at = 0;
		rc->next_send = now + 30.0;
		break;
	}
}

static void rc__dispatch(struct rc *rc, const Hbb__RendezvousMessage *m, double now)
{
	switch (m->union_case) {
	case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE:
		if (m->register_peer_response->request_pk) {
			if (rc->key_confirmed) {
				log_info("server asks for our key again");
				agent_public_addr_changed(rc->a);
			}
			rc->key_confirmed = false;
			rc->sent_at = 0;
			rc->next_send = now;
			rc__step(rc, now);
		} else {
			rc__registered(rc, now);
		}
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE:
		rc__on_pk_response(rc, m->register_pk_response, now);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE:
		reach_punch(rc->reach, &rc->server, m->punch_hole);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_FETCH_LOCAL_ADDR:
		reach_local(rc->reach, &rc->server, m->fetch_local_addr);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY:
		reach_relay(rc->reach, &rc->server, m->request_relay);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_CONFIGURE_UPDATE:
		log_info("ignoring ConfigUpdate from the server");
		break;
	default:
		log_debug("ignoring %s from the server", rd_pb_rendezvous_name(m));
		break;
	}
}

static void rc__on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rc *rc = w->data;
	(void)loop, (void)revents;
	for (int i = 0; i < 64; i++) {
		static uint8_t buf[RC_DGRAM_MAX];
		ssize_t n = recv(rc->fd, buf, sizeof(buf), 0);
		if (n < 0)
			return; /* EAGAIN, or ECONNREFUSED while the server is away */
		double now = rd_now();
		Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(buf, (size_t)n);
		if (!m) {
			unsigned sup = 0;
			if (rd_log_ratelimit_ok(&rc->bad_rl, now, 5, 60, &sup))
				log_warn("malformed datagram from the server dropped (%u suppressed)", sup);
			continue;
		}
		rc__dispatch(rc, m, now);
		hbb__rendezvous_message__free_unpacked(m, NULL);
	}
}

struct rc *rc_new(struct agent *a, struct reach *reach, const char *server_text, double interval)
{
	struct rc *rc = xcalloc(1, sizeof(*rc));
	rc->a = a;
	rc->reach = reach;
	rc->server_text = xstrdup(server_text);
	rc->interval = interval;
	rc->fd = -1;
	rc->last_pk = -RC_PK_MIN_GAP;
	ev_timer_init(&rc->tick, rc__on_tick, 0.0, 1.0);
	rc->tick.data = rc;
	ev_timer_start(agent_loop(a), &rc->tick);
	return rc;
}

void rc_free(struct rc *rc)
{
	if (!rc)
		return;
	ev_timer_stop(agent_loop(rc->a), &rc->tick);
	rc__close_socket(rc);
	free(rc->server_text);
	free(rc);
}

bool rc_registered(const struct rc *rc) { return rc->registered; }
const char *rc_server_text(const struct rc *rc) { return rc->server_text; }

bool rc_server_addr(const struct rc *rc, struct rd_sockaddr *out)
{
	if (!rc->resolved)
		return false;
	*out = rc->server;
	return true;
}

void rc_request_pk(struct rc *rc)
{
	rc->key_confirmed = false;
}

void rc_id_changed(struct rc *rc)
{
	rc->key_confirmed = false;
	rc->sent_at = 0;
	rc->next_send = 0;
}

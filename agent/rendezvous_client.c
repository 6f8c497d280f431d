/* rendezvous_client: the registration's UDP socket, timer and name lookup,
 * and dispatch of the server's pushes. */
#define RD_LOG_SUBSYS "rendezvous"
#include "rendezvous_client.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "pb.h"
#include "registration.h"
#include "regsig.h"
#include "resolve.h"
#include "settings.h"
#include "util.h"

#define RC_DGRAM_MAX 65536
#define RC_PORT 21116

struct rc {
	struct ev_loop *loop;
	struct rc_config cfg;
	const struct rc_ops *ops;
	void *ud;
	struct registration *reg;
	struct rd_resolver *res;   /* made on the first name that is not an address */
	struct rd_resolve *lookup; /* in flight */
	struct rd_sockaddr server;
	bool resolved;
	double last_resolve;       /* last lookup started */
	int fd;
	ev_io io;
	ev_timer tick;
	uint64_t last_sig_time;    /* rdesk_time of our last RegisterPk */
	struct rd_sockaddr local;  /* our address toward the server */
	struct rd_log_ratelimit bad_rl;
};

static void rc__close_socket(struct rc *rc)
{
	if (rc->fd >= 0) {
		ev_io_stop(rc->loop, &rc->io);
		close(rc->fd);
		rc->fd = -1;
	}
}

static void rc__set_server(struct rc *rc, const struct rd_sockaddr *found)
{
	struct rd_sockaddr addr = *found;
	rd_net_addr_normalize(&addr);
	if (!rc->resolved || !rd_net_addr_equal(&addr, &rc->server))
		rc__close_socket(rc);
	rc->server = addr;
	rc->resolved = true;
}

static void rc__resolved(int err, const struct rd_sockaddr *addr, void *ud)
{
	struct rc *rc = ud;
	rc->lookup = NULL;
	if (err != RD_OK) {
		log_warn("cannot resolve rendezvous server %s", rd_esc(rc->cfg.server));
		return; /* the last address found stays */
	}
	bool first = !rc->resolved;
	rc__set_server(rc, addr);
	if (first)
		registration_step(rc->reg, rd_now());
}

/* Look the server's name up when due: every RC_RESOLVE_GAP with an address,
 * more often without one. An address needs no lookup. */
static void rc__resolve(struct rc *rc, double now)
{
	double gap = rc->resolved ? RC_RESOLVE_GAP : RD_MIN(rc->cfg.interval, RC_RESOLVE_RETRY);
	if (rc->lookup || now - rc->last_resolve < gap)
		return;
	rc->last_resolve = now;
	struct rd_sockaddr addr;
	if (rd_net_addr_parse_numeric(rc->cfg.server, RC_PORT, &addr) == RD_OK) {
		rc__set_server(rc, &addr);
		return;
	}
	if (!rc->res)
		rc->res = rd_resolver_new(rc->loop, NULL);
	rc->lookup = rd_resolve_start(rc->res, rc->cfg.server, RC_PORT, rc__resolved, rc);
	if (!rc->lookup)
		log_warn("cannot resolve rendezvous server %s", rd_esc(rc->cfg.server));
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
	ev_io_start(rc->loop, &rc->io);
	struct rd_sockaddr local;
	if (rd_net_local_addr(fd, &local) == RD_OK) {
		bool changed = rc->local.len && !rd_net_addr_same_ip(&local, &rc->local);
		rc->local = local;
		if (changed) {
			log_notice("local address toward the server changed");
			rc->ops->public_addr_changed(rc->ud);
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

static void rc__send_register_peer(void *ud)
{
	struct rc *rc = ud;
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	rp.id = (char *)rc->cfg.id;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	rc__send(rc, &m);
}

/* RegisterPk, signed with our key so the server pins our ID to it
 * (common/regsig.h); the time only ever grows, even if the clock steps back. */
static void rc__send_register_pk(void *ud)
{
	struct rc *rc = ud;
	Hbb__RegisterPk pk = HBB__REGISTER_PK__INIT;
	pk.id = (char *)rc->cfg.id;
	pk.uuid.data = (uint8_t *)rc->cfg.uuid;
	pk.uuid.len = AGENT_UUID_LEN;
	pk.pk.data = (uint8_t *)rc->cfg.kp->pk;
	pk.pk.len = RD_PK_LEN;
	uint64_t t = (uint64_t)rd_wall_ms();
	if (t <= rc->last_sig_time)
		t = rc->last_sig_time + 1;
	rc->last_sig_time = t;
	uint8_t sigs[2 * RD_SIGN_LEN];
	if (rd_regsig_sign(&pk, t, rc->cfg.kp, NULL, sigs) != RD_OK)
		log_err("cannot sign our registration; sending it unsigned");
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
	m.register_pk = &pk;
	rc__send(rc, &m);
}

static void rc__registered(void *ud, bool registered)
{
	struct rc *rc = ud;
	rc->ops->registered(rc->ud, registered);
}

/* A fresh socket (and a new NAT mapping). */
static void rc__reset_socket(void *ud, double now)
{
	struct rc *rc = ud;
	(void)now;
	rc__close_socket(rc);
}

static void rc__key_requested(void *ud)
{
	struct rc *rc = ud;
	rc->ops->public_addr_changed(rc->ud);
}

static const struct registration_ops rc_reg_ops = {
	.send_peer = rc__send_register_peer,
	.send_pk = rc__send_register_pk,
	.registered = rc__registered,
	.reset_socket = rc__reset_socket,
	.key_requested = rc__key_requested,
};

static void rc__on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rc *rc = w->data;
	(void)loop, (void)revents;
	double now = rd_now();
	rc__resolve(rc, now);
	if (rc->resolved)
		registration_step(rc->reg, now);
}

static void rc__dispatch(struct rc *rc, const Hbb__RendezvousMessage *m, double now)
{
	switch (m->union_case) {
	case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE:
		registration_on_peer_response(rc->reg, m->register_peer_response, now);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE:
		registration_on_pk_response(rc->reg, m->register_pk_response, now);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_PUNCH_HOLE:
		rc->ops->punch(rc->ud, &rc->server, m->punch_hole);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_FETCH_LOCAL_ADDR:
		rc->ops->fetch_local(rc->ud, &rc->server, m->fetch_local_addr);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY:
		rc->ops->request_relay(rc->ud, &rc->server, m->request_relay);
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

struct rc *rc_new(struct ev_loop *loop, const struct rc_config *cfg, const struct rc_ops *ops, void *ud)
{
	struct rc *rc = xcalloc(1, sizeof(*rc));
	rc->loop = loop;
	rc->cfg = *cfg;
	rc->ops = ops;
	rc->ud = ud;
	rc->fd = -1;
	rc->last_resolve = -RC_RESOLVE_GAP;
	struct registration_config gcfg = { .server = cfg->server, .interval = cfg->interval,
		.id = cfg->id, .pk = cfg->kp->pk };
	rc->reg = registration_new(&gcfg, &rc_reg_ops, rc);
	ev_timer_init(&rc->tick, rc__on_tick, 0.0, 1.0);
	rc->tick.data = rc;
	ev_timer_start(loop, &rc->tick);
	return rc;
}

void rc_free(struct rc *rc)
{
	if (!rc)
		return;
	ev_timer_stop(rc->loop, &rc->tick);
	rc__close_socket(rc);
	if (rc->lookup)
		rd_resolve_cancel(rc->res, rc->lookup);
	rd_resolver_free(rc->res);
	registration_free(rc->reg);
	free(rc);
}

bool rc_server_addr(const struct rc *rc, struct rd_sockaddr *out)
{
	if (!rc->resolved)
		return false;
	*out = rc->server;
	return true;
}

void rc_request_pk(struct rc *rc)
{
	registration_request_pk(rc->reg);
}


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

#include "err.h"
#include "log.h"
#include "pb.h"
#include "regsig.h"
#include "settings.h"
#include "util.h"

#define RC_DGRAM_MAX 65536
#define RC_REFUSED_MAX 600.0       /* refused: retry at least this often */

struct rc {
	struct ev_loop *loop;
	struct rc_config cfg;
	const struct rc_ops *ops;
	void *ud;
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
	bool pk_pending;           /* ... and it is a RegisterPk */
	double next_send;
	double last_pk;
	uint64_t last_sig_time;    /* rdesk_time of our last RegisterPk */
	unsigned failures;         /* consecutive timeouts */
	unsigned refusals;         /* consecutive refused RegisterPk */
	struct rd_sockaddr local;  /* our address toward the server */
	struct rd_log_ratelimit bad_rl, stray_rl;
};

static void rc__close_socket(struct rc *rc)
{
	if (rc->fd >= 0) {
		ev_io_stop(rc->loop, &rc->io);
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

static void rc__send_register_peer(struct rc *rc)
{
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	rp.id = (char *)rc->cfg.id;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	rc__send(rc, &m);
}

/* RegisterPk, signed with our key so the server pins our ID to it
 * (common/regsig.h); the time only ever grows, even if the clock steps back. */
static void rc__send_register_pk(struct rc *rc, double now)
{
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
	rc->last_pk = now;
}

/* One step of the 1 s timer: send what is due. */
static void rc__step(struct rc *rc, double now)
{
	/* A short interval gets a shorter timeout, so a returning server is
	 * seen within about one interval either way. */
	if (rc->sent_at > 0 && now - rc->sent_at >= RD_MIN(RC_REG_TIMEOUT, rc->interval / 2)) {
		rc->sent_at = 0;
		rc->pk_pending = false;
		rc->failures++;
		/* 1, 2, 4, 8 ... seconds, never more than the interval: back
		 * within two intervals of the server's return. */
		double wait = (double)(1u << RD_MIN(rc->failures, 10u));
		rc->next_send = now + RD_MIN(wait, rc->interval);
		if (rc->failures == 2 && rc->registered) {
			log_warn("rendezvous server %s does not answer", rd_esc(rc->server_text));
			rc->ops->registered(rc->ud, false);
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
	rc->pk_pending = !rc->key_confirmed;
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
		log_notice("registered with %s as %s", rd_esc(rc->server_text), rc->cfg.id);
	rc->failures = 0;
	rc->refusals = 0;
	rc->sent_at = 0;
	rc->pk_pending = false;
	rc->next_send = now + rc->interval;
	if (!rc->registered) {
		rc->registered = true;
		rc->ops->registered(rc->ud, true);
	}
}

/* What an operator can do about a refusal, by RegisterPkResponse.rdesk_refusal;
 * *forget when releasing the ID on the server is one of the answers. */
static const char *rc__refusal_hint(const Hbb__RegisterPkResponse *r, bool *forget)
{
	*forget = false;
	switch (r->rdesk_refusal) {
	case RD_REGSIG_REFUSED_KEY:
		*forget = true;
		return "the server has this ID pinned to another key: another machine claims it, "
			"or this machine was reinstalled or its key replaced";
	case RD_REGSIG_REFUSED_STALE:
		return "the server accepted a later registration of this ID than our clock says now: "
			"check this machine's clock, or whether another machine holds this key";
	case RD_REGSIG_REFUSED_AHEAD:
		return "our clock is more than a day ahead of the server's: fix the clock (NTP)";
	case RD_REGSIG_REFUSED_BAD_SIG:
		return "the server could not verify our signature";
	default:
		break;
	}
	if (r->result == HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH) {
		*forget = true;
		return "the server binds this ID to another machine (uuid or key): another machine "
			"claims it, or this machine was reinstalled";
	}
	return "see the server's log";
}

/* The server refused our RegisterPk. We never take another ID on our own (a
 * stranger could make us drop out of reach that way): say what an operator
 * can do and try again, less and less often. */
static void rc__refused(struct rc *rc, const Hbb__RegisterPkResponse *r, double now)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&hbb__register_pk_response__result__descriptor, r->result);
	double wait = RD_MIN(rc->interval * (double)(1u << RD_MIN(rc->refusals, 10u)), RC_REFUSED_MAX);
	char fp[RD_FINGERPRINT_LEN], release[AGENT_ID_MAX + 128] = "";
	rd_pk_fingerprint(rc->cfg.kp->pk, fp);
	bool forget;
	const char *hint = rc__refusal_hint(r, &forget);
	if (forget)
		snprintf(release, sizeof(release), "; if this machine is the owner, release the ID on "
			"the server: rd-rendezvous --forget %s", rc->cfg.id);
	rc->refusals++;
	rc->sent_at = 0;
	rc->pk_pending = false;
	rc->next_send = now + wait;
	log_err("server %s refused ID %s (%s, refusal %u): %s%s. Our key is %s. Keeping the ID; "
		"retry %u in %.0f s", rd_esc(rc->server_text), rc->cfg.id, v ? v->name : "unknown",
		r->rdesk_refusal, hint, release, fp, rc->refusals, wait);
	if (rc->registered) {
		rc->registered = false;
		rc->ops->registered(rc->ud, false);
	}
}

static void rc__on_pk_response(struct rc *rc, const Hbb__RegisterPkResponse *r, double now)
{
	/* Only the answer to our own outstanding RegisterPk counts: anything else
	 * is stale or forged (UDP sources are easy to spoof). */
	if (rc->sent_at <= 0 || !rc->pk_pending) {
		unsigned sup = 0;
		if (rd_log_ratelimit_ok(&rc->stray_rl, now, 5, 60, &sup))
			log_warn("RegisterPkResponse with no RegisterPk outstanding ignored (%u suppressed)", sup);
		return;
	}
	switch (r->result) {
	case HBB__REGISTER_PK_RESPONSE__RESULT__OK:
		rc->key_confirmed = true;
		rc__registered(rc, now);
		break;
	case HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT:
		log_warn("server says RegisterPk too frequent; waiting");
		rc->sent_at = 0;
		rc->pk_pending = false;
		rc->next_send = now + 6.0;
		break;
	default:
		rc__refused(rc, r, now);
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
				rc->ops->public_addr_changed(rc->ud);
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
	rc->server_text = xstrdup(cfg->server);
	rc->interval = cfg->interval;
	rc->fd = -1;
	rc->last_pk = -RC_PK_MIN_GAP;
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
	free(rc->server_text);
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
	rc->key_confirmed = false;
}


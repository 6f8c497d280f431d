/* server: core set-up, registration over UDP (PROTOCOL.md §7), relay
 * choice, metrics and the per-source tables. TCP requests are in
 * server_tcp.c. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "metrics.h"
#include "ratelimit.h"
#include "registry.h"
#include "regsig.h"
#include "util.h"

#define RD_LOG_SUBSYS "rendezvous"
#include "server_int.h"

#define RV_REGPK_GAP 6.0         /* RegisterPk burst: gaps of at most 6 s ... */
#define RV_REGPK_BURST 3         /* ... and the 4th one is TOO_FREQUENT */
#define RV_SIG_AHEAD_MS (86400LL * 1000) /* rdesk_time at most a day ahead of our clock */
#define RV_GO_ON (-1)            /* a RegisterPk check lets the registration go on */

static const char *drop_names[RV_DROP_COUNT] = {
	"malformed", "too_big", "unexpected", "bad_id", "rate", "id_cap", "pending_cap",
	"deadline", "no_route", "wrong_source", "id_total",
};
static const char *outcome_names[RV_OUT_COUNT] = {
	"punch", "local", "relay", "id_not_exist", "offline", "license_mismatch", "rate_limited",
	"busy", "answered", "timeout",
};

void rv_limits_default(struct rv_limits *lim)
{
	*lim = (struct rv_limits){
		.reg_rate = 5, .reg_burst = 30,
		.punch_rate = 2, .punch_burst = 20,
		.ids_per_source = 300,
		.max_ids = 2000000,
		.pending_max = 10000,
		.pending_timeout = 30,
		.online_window = RV_ONLINE_WINDOW,
		.source_slots = 65536,
	};
}

/* ---- logging and metrics helpers ---- */

void rv__src(const struct rd_sockaddr *a, char ip[RD_ADDRSTRLEN], unsigned *port)
{
	rd_net_addr_ip_str(a, ip, RD_ADDRSTRLEN);
	*port = rd_net_addr_port(a);
}

void rv__drop(struct rv_server *s, enum rv_drop why, const struct rd_sockaddr *src,
	const char *id, const char *what)
{
	rd_metric_inc(s->m_drop[why]);
	/* "limit" and "malformed" lines are what fail2ban may count against a
	 * source; "ignored" covers what stock clients do in good faith (newer
	 * message kinds, a reply after the requester left, an ID they must change). */
	const char *kind = "ignored";
	if (why == RV_DROP_MALFORMED)
		kind = "malformed";
	else if (why == RV_DROP_ID_TOTAL)
		kind = "full"; /* the server's own cap: no source is to blame */
	else if (why == RV_DROP_RATE || why == RV_DROP_ID_CAP || why == RV_DROP_PENDING_CAP ||
		 why == RV_DROP_DEADLINE || why == RV_DROP_TOO_BIG)
		kind = "limit";
	bool limit = kind[0] == 'l';
	struct rd_log_ratelimit *rl = s->in_udp ? &s->udp_log : limit ? &s->limit_log : &s->bad_log;
	unsigned suppressed = 0;
	if (!rd_log_ratelimit_ok(rl, rd_now(), 20, 10.0, &suppressed))
		return;
	char ip[RD_ADDRSTRLEN] = "-";
	unsigned port = 0;
	if (src)
		rv__src(src, ip, &port);
	if (suppressed)
		log_notice("%u similar lines suppressed", suppressed);
	rd_log(kind[0] == 'i' ? RD_LOG_INFO : RD_LOG_NOTICE, RD_LOG_SUBSYS,
		"%s%s %s src=%s port=%u id=%s %s", s->in_udp ? "udp " : "", kind, drop_names[why], ip, port,
		id ? rd_esc(id) : "-", what);
}

void rv__outcome(struct rv_server *s, enum rv_outcome o)
{
	rd_metric_inc(s->m_punch[o]);
}

const char *rv__next_relay(struct rv_server *s)
{
	size_t n = s->cfg.nrelays;
	for (size_t k = 0; k < n; k++) {
		size_t i = (s->relay_next + k) % n;
		if (s->relay_up[i]) {
			s->relay_next = i + 1;
			rd_metric_inc(s->m_relay);
			return s->relays[i];
		}
	}
	return "";
}

bool rv__relay_token(struct rv_server *s, const char *uuid, enum rd_relay_role role,
	uint8_t out[RD_RELAY_TOKEN_LEN])
{
	if (!s->cfg.sign_sk || !uuid || !*uuid)
		return false;
	int64_t expiry = rd_wall_ms() / 1000 + RD_RELAY_TOKEN_TTL;
	return rd_relay_token_sign(uuid, role, expiry, s->cfg.sign_sk, out) == RD_OK;
}

uint8_t *rv__signed_idpk(struct rv_server *s, const char *id, size_t *len)
{
	if (!s->cfg.sign_sk || !id || !*id)
		return NULL;
	struct rv_peer *p = rv_registry_find(s->reg, id);
	uint8_t *out = NULL;
	if (!p || rd_idpk_sign(id, p->pk, RV_PK_LEN, s->cfg.sign_sk, &out, len) != RD_OK)
		return NULL;
	return out;
}

void rv__send_udp(struct rv_server *s, const struct rd_sockaddr *to, const Hbb__RendezvousMessage *m)
{
	uint8_t buf[512];
	size_t n = protobuf_c_message_get_packed_size(&m->base);
	if (n > sizeof(buf))
		return; /* our UDP messages are small; never fragment */
	protobuf_c_message_pack(&m->base, buf);
	s->ops->udp_send(s->ud, to, buf, n);
}

static double gauge_online(void *ud)
{
	struct rv_server *s = ud;
	return (double)rv_server_online(s, rd_now());
}

static double gauge_ids(void *ud)
{
	return (double)rv_registry_count(((struct rv_server *)ud)->reg);
}

static double gauge_pending(void *ud)
{
	return (double)((struct rv_server *)ud)->npending;
}

static double gauge_uptime(void *ud)
{
	return rd_now() - ((struct rv_server *)ud)->start;
}

static void metrics_setup(struct rv_server *s, struct rd_metrics *m)
{
	if (!m)
		return;
	rd_metrics_gauge_fn(m, "rdesk_rendezvous_online_peers", "Peers registered in the last 30 s.",
		NULL, gauge_online, s);
	rd_metrics_gauge_fn(m, "rdesk_rendezvous_registered_ids", "IDs with a stored binding.",
		NULL, gauge_ids, s);
	rd_metrics_gauge_fn(m, "rdesk_rendezvous_pending_requests",
		"Punch and relay requests waiting for their target.", NULL, gauge_pending, s);
	rd_metrics_gauge_fn(m, "rdesk_rendezvous_uptime_seconds", "Seconds since start.",
		NULL, gauge_uptime, s);
	const char *h = "Registrations accepted, by message.";
	s->m_reg_peer = rd_metrics_counter(m, "rdesk_rendezvous_registrations_total", h,
		"kind=\"register_peer\"");
	s->m_reg_pk = rd_metrics_counter(m, "rdesk_rendezvous_registrations_total", h,
		"kind=\"register_pk\"");
	s->m_new_ids = rd_metrics_counter(m, "rdesk_rendezvous_new_ids_total", "IDs bound for the first time.", NULL);
	s->m_key_refused = rd_metrics_counter(m, "rdesk_rendezvous_key_refusals_total",
		"RegisterPk refused with UUID_MISMATCH (uuid, key or signature).", NULL);
	s->m_relay = rd_metrics_counter(m, "rdesk_rendezvous_relay_assignments_total",
		"Relay servers handed out.", NULL);
	char lab[64];
	for (int i = 0; i < RV_OUT_COUNT; i++) {
		snprintf(lab, sizeof(lab), "outcome=\"%s\"", outcome_names[i]);
		s->m_punch[i] = rd_metrics_counter(m, "rdesk_rendezvous_punch_requests_total",
			"Punch and relay requests by outcome.", lab);
	}
	for (int i = 0; i < RV_DROP_COUNT; i++) {
		snprintf(lab, sizeof(lab), "reason=\"%s\"", drop_names[i]);
		s->m_drop[i] = rd_metrics_counter(m, "rdesk_rendezvous_drops_total",
			"Messages and connections dropped, by reason.", lab);
	}
}

/* ---- life cycle ---- */

struct rv_server *rv_server_new(const struct rv_server_config *cfg,
	const struct rv_server_ops *ops, void *ud)
{
	struct rv_server *s = xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	s->cfg.relays = NULL;
	s->cfg.licence = cfg->licence && *cfg->licence ? xstrdup(cfg->licence) : NULL;
	if (cfg->sign_sk) {
		uint8_t *sk = xmalloc(RD_SK_LEN);
		memcpy(sk, cfg->sign_sk, RD_SK_LEN);
		s->cfg.sign_sk = sk;
	}
	s->ops = ops;
	s->ud = ud;
	s->start = rd_now();
	s->reg = rv_registry_new();
	size_t slots = cfg->lim.source_slots > 4 ? (size_t)cfg->lim.source_slots : 4;
	s->reg_rl = rd_ratelimit_new(slots, cfg->lim.reg_rate, cfg->lim.reg_burst);
	s->punch_rl = rd_ratelimit_new(slots, cfg->lim.punch_rate, cfg->lim.punch_burst);
	s->srcids = rv_srcids_new(slots);
	s->relays = xcalloc(cfg->nrelays + 1, sizeof(*s->relays));
	s->relay_up = xcalloc(cfg->nrelays + 1, sizeof(*s->relay_up));
	for (size_t i = 0; i < cfg->nrelays; i++) {
		s->relays[i] = xstrdup(cfg->relays[i]);
		s->relay_up[i] = true; /* until a check says otherwise */
	}
	rv__tcp_init(s);
	metrics_setup(s, cfg->metrics);
	return s;
}

void rv_server_free(struct rv_server *s)
{
	if (!s)
		return;
	rv__tcp_fini(s);
	for (size_t i = 0; i < s->cfg.nrelays; i++)
		free(s->relays[i]);
	free(s->relays);
	free(s->relay_up);
	rv_srcids_free(s->srcids);
	rd_ratelimit_free(s->reg_rl);
	rd_ratelimit_free(s->punch_rl);
	rv_registry_free(s->reg);
	if (s->cfg.sign_sk) {
		sodium_memzero((void *)s->cfg.sign_sk, RD_SK_LEN);
		free((void *)s->cfg.sign_sk);
	}
	free((void *)s->cfg.licence);
	free(s);
}

int rv_server_load_binding(struct rv_server *s, const struct rv_binding *b)
{
	if (!b->id || rv_id_check(b->id) != RD_OK || b->pk_len != RV_PK_LEN || !b->uuid_len)
		return RD_ERR_PROTO;
	uint8_t dig[RV_UUID_DIGEST];
	rv_registry_uuid_digest(b->uuid, b->uuid_len, dig);
	struct rv_peer *p = rv_registry_add(s->reg, b->id, dig, b->pk, b->created);
	if (!p)
		return RD_ERR_EXISTS;
	p->pinned = b->pinned;
	p->sig_time = b->sig_time;
	return RD_OK;
}

void rv_server_expect_bindings(struct rv_server *s, size_t n)
{
	rv_registry_reserve(s->reg, n);
}

const struct rv_registry *rv_server_registry(const struct rv_server *s)
{
	return s->reg;
}

size_t rv_server_online(const struct rv_server *s, double now)
{
	return rv_registry_count_online(s->reg, now, s->cfg.lim.online_window);
}

size_t rv_server_relay_count(const struct rv_server *s)
{
	return s->cfg.nrelays;
}

const char *rv_server_relay_name(const struct rv_server *s, size_t i)
{
	return i < s->cfg.nrelays ? s->relays[i] : NULL;
}

void rv_server_relay_health(struct rv_server *s, size_t i, bool up)
{
	if (i >= s->cfg.nrelays || s->relay_up[i] == up)
		return;
	s->relay_up[i] = up;
	log_notice("relay %s relay=%s", up ? "up" : "down", rd_esc(s->relays[i]));
}

/* ---- UDP: registration ---- */

static void reply_register_peer(struct rv_server *s, const struct rd_sockaddr *to, bool request_pk)
{
	Hbb__RegisterPeerResponse r = HBB__REGISTER_PEER_RESPONSE__INIT;
	r.request_pk = request_pk;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE;
	m.register_peer_response = &r;
	rv__send_udp(s, to, &m);
}

static void reply_register_pk(struct rv_server *s, const struct rd_sockaddr *to,
	Hbb__RegisterPkResponse__Result result, uint32_t refusal)
{
	Hbb__RegisterPkResponse r = HBB__REGISTER_PK_RESPONSE__INIT;
	r.result = result;
	r.rdesk_refusal = refusal;
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE;
	m.register_pk_response = &r;
	rv__send_udp(s, to, &m);
}

static void on_register_peer(struct rv_server *s, const struct rd_sockaddr *from,
	const Hbb__RegisterPeer *rp, double now)
{
	if (!rp->id || !*rp->id) {
		rv__drop(s, RV_DROP_MALFORMED, from, NULL, "register_peer without id");
		return;
	}
	if (strlen(rp->id) > RV_ID_MAX) {
		rv__drop(s, RV_DROP_BAD_ID, from, rp->id, "register_peer id too long");
		return;
	}
	if (!rd_ratelimit_allow(s->reg_rl, from, now)) {
		rv__drop(s, RV_DROP_RATE, from, rp->id, "registration rate");
		return;
	}
	/* An unknown or malformed ID, or a new public address, must prove itself
	 * with RegisterPk; a malformed one then learns what is wrong. A pinned
	 * ID moves only with a signed RegisterPk, even to another port. */
	struct rv_peer *p = rv_registry_find(s->reg, rp->id);
	bool request_pk = !p || (p->pinned ? !rv_peer_same_addr(p, from) : !rv_peer_same_ip(p, from));
	if (!request_pk) {
		rv_peer_set_addr(p, from);
		p->last_reg = now;
		rd_metric_inc(s->m_reg_peer);
	}
	reply_register_peer(s, from, request_pk);
}

/* One RegisterPk being decided. */
struct regpk {
	const struct rd_sockaddr *from;
	const Hbb__RegisterPk *rk;
	uint8_t dig[RV_UUID_DIGEST];
	bool sig;                /* carries signature fields that verify */
	uint32_t refusal;        /* RegisterPkResponse.rdesk_refusal to send */
	double now;
};

static void persist(struct rv_server *s, const struct rv_peer *p, const Hbb__RegisterPk *rk)
{
	struct rv_binding b = {
		.id = p->id, .uuid = rk->uuid.data, .uuid_len = rk->uuid.len,
		.pk = p->pk, .pk_len = RV_PK_LEN, .created = p->created,
		.pinned = p->pinned, .sig_time = p->sig_time,
	};
	s->ops->store_put(s->ud, &b);
}

/* Registrations come by UDP: their lines start with "udp" (see rv__drop). */
static void log_event(const struct rv_server *s, const char *what, const struct rd_sockaddr *from,
	const char *id)
{
	char ip[RD_ADDRSTRLEN];
	unsigned port;
	rv__src(from, ip, &port);
	log_notice("%s%s src=%s port=%u id=%s", s->in_udp ? "udp " : "", what, ip, port, rd_esc(id));
}

/* UUID_MISMATCH, logged and counted, with why in rdesk_refusal (0: the
 * stock rules refused it). */
static int refuse(struct rv_server *s, struct regpk *r, uint32_t why, const char *what)
{
	rd_metric_inc(s->m_key_refused);
	log_event(s, what, r->from, r->rk->id);
	r->refusal = why;
	return HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH;
}

/* Signature fields, when present, must verify; the time may not run more
 * than a day ahead of ours (an agent whose clock was far ahead once would
 * otherwise lock itself out until that time). Verifying costs far more than
 * anything else here, so the callers run their cheap checks first. */
static int check_signature(struct rv_server *s, struct regpk *r)
{
	const Hbb__RegisterPk *rk = r->rk;
	if (!rd_regsig_present(rk))
		return RV_GO_ON;
	if (rd_regsig_verify(rk) != RD_OK)
		return refuse(s, r, RD_REGSIG_REFUSED_BAD_SIG, "refused bad-signature");
	if (rk->rdesk_time > (uint64_t)rd_wall_ms() + RV_SIG_AHEAD_MS)
		return refuse(s, r, RD_REGSIG_REFUSED_AHEAD, "refused time-ahead");
	r->sig = true;
	return RV_GO_ON;
}

/* The per-ID RegisterPk burst (PROTOCOL.md §7), counted only for
 * registrations that may go through, so strangers cannot use it up. */
static int check_burst(struct rv_server *s, struct rv_peer *p, struct regpk *r)
{
	if (r->now - p->last_regpk > RV_REGPK_GAP)
		p->regpk_burst = 0;
	p->last_regpk = r->now;
	if (++p->regpk_burst > RV_REGPK_BURST) {
		p->regpk_burst = RV_REGPK_BURST;
		rv__drop(s, RV_DROP_RATE, r->from, r->rk->id, "register_pk per-id rate");
		return HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT;
	}
	return RV_GO_ON;
}

/* A pinned ID: only a registration signed with its key, or a rotation signed
 * by it, with a time newer than the last accepted one. */
static int check_pinned(struct rv_server *s, struct rv_peer *p, struct regpk *r)
{
	const Hbb__RegisterPk *rk = r->rk;
	if (!rd_regsig_present(rk))
		return refuse(s, r, RD_REGSIG_REFUSED_KEY, "refused unsigned-pinned");
	if (rk->rdesk_old_pk.len && rk->rdesk_old_pk.len != RV_PK_LEN)
		return refuse(s, r, RD_REGSIG_REFUSED_BAD_SIG, "refused bad-signature");
	const uint8_t *signer = rk->rdesk_old_pk.len ? rk->rdesk_old_pk.data : rk->pk.data;
	if (sodium_memcmp(p->pk, signer, RV_PK_LEN) != 0)
		return refuse(s, r, RD_REGSIG_REFUSED_KEY, "refused pinned-key");
	if (rk->rdesk_time <= p->sig_time)
		return refuse(s, r, RD_REGSIG_REFUSED_STALE, "refused stale-time");
	int res = check_signature(s, r);
	return res != RV_GO_ON ? res : check_burst(s, p, r);
}

/* An ID not pinned yet: RustDesk's rules (same uuid; a new key only from
 * the registered IP). */
static int check_stock(struct rv_server *s, struct rv_peer *p, struct regpk *r)
{
	bool pk_changed = sodium_memcmp(p->pk, r->rk->pk.data, RV_PK_LEN) != 0;
	if (sodium_memcmp(p->uuid_digest, r->dig, RV_UUID_DIGEST) != 0 ||
	    (pk_changed && p->family && !rv_peer_same_ip(p, r->from)))
		return refuse(s, r, 0, "refused uuid-mismatch");
	int res = check_signature(s, r);
	return res != RV_GO_ON ? res : check_burst(s, p, r);
}

/* A registration of a known ID that passed its checks: take the new key,
 * uuid and signature time, pin it when signed, store what changed. */
static void apply_known(struct rv_server *s, struct rv_peer *p, const struct regpk *r)
{
	const Hbb__RegisterPk *rk = r->rk;
	bool changed = false;
	if (sodium_memcmp(p->pk, rk->pk.data, RV_PK_LEN) != 0) {
		memcpy(p->pk, rk->pk.data, RV_PK_LEN);
		changed = true;
		log_event(s, p->pinned ? "register key-rotated" : "register key-changed", r->from, rk->id);
	}
	if (p->pinned && sodium_memcmp(p->uuid_digest, r->dig, RV_UUID_DIGEST) != 0) {
		memcpy(p->uuid_digest, r->dig, RV_UUID_DIGEST);
		changed = true;
	}
	if (r->sig) {
		if (!p->pinned)
			log_event(s, "register pinned", r->from, rk->id);
		p->pinned = 1;
		p->sig_time = rk->rdesk_time;
		changed = true;
	}
	if (changed)
		persist(s, p, rk);
}

/* A new ID, signed or not, within the global and per-source caps. */
static int add_new(struct rv_server *s, struct regpk *r, struct rv_peer **out)
{
	const Hbb__RegisterPk *rk = r->rk;
	if (rv_registry_count(s->reg) >= (size_t)s->cfg.lim.max_ids) {
		rv__drop(s, RV_DROP_ID_TOTAL, r->from, rk->id, "registry full (max-ids)");
		return HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT;
	}
	int res = check_signature(s, r);
	if (res != RV_GO_ON)
		return res;
	if (!rv_srcids_take(s->srcids, r->from, r->now, s->cfg.lim.ids_per_source)) {
		rv__drop(s, RV_DROP_ID_CAP, r->from, rk->id, "ids per source");
		return HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT;
	}
	struct rv_peer *p = rv_registry_add(s->reg, rk->id, r->dig, rk->pk.data, rd_wall_ms() / 1000);
	p->last_regpk = r->now;
	p->regpk_burst = 1;
	if (r->sig) {
		p->pinned = 1;
		p->sig_time = rk->rdesk_time;
	}
	persist(s, p, rk);
	rd_metric_inc(s->m_new_ids);
	log_event(s, r->sig ? "register new pinned" : "register new", r->from, rk->id);
	*out = p;
	return HBB__REGISTER_PK_RESPONSE__RESULT__OK;
}

/* Checks in order: source rate, ID syntax, then the rules of the ID (pinned
 * or stock) or the caps on new IDs, each verifying a signature last. */
static int decide_register_pk(struct rv_server *s, struct regpk *r, struct rv_peer **out)
{
	const Hbb__RegisterPk *rk = r->rk;
	if (!rd_ratelimit_allow(s->reg_rl, r->from, r->now)) {
		rv__drop(s, RV_DROP_RATE, r->from, rk->id, "registration rate");
		return HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT;
	}
	int idc = rv_id_check(rk->id);
	if (idc != RD_OK) {
		/* Too short: UUID_MISMATCH makes stock clients pick a fresh valid ID. */
		rv__drop(s, RV_DROP_BAD_ID, r->from, rk->id, "register_pk id format");
		return idc == RD_ERR_TRUNCATED ? HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH :
			HBB__REGISTER_PK_RESPONSE__RESULT__INVALID_ID_FORMAT;
	}
	rv_registry_uuid_digest(rk->uuid.data, rk->uuid.len, r->dig);
	struct rv_peer *p = rv_registry_find(s->reg, rk->id);
	if (!p)
		return add_new(s, r, out);
	int res = p->pinned ? check_pinned(s, p, r) : check_stock(s, p, r);
	if (res != RV_GO_ON)
		return res;
	apply_known(s, p, r);
	*out = p;
	return HBB__REGISTER_PK_RESPONSE__RESULT__OK;
}

static void on_register_pk(struct rv_server *s, const struct rd_sockaddr *from,
	const Hbb__RegisterPk *rk, double now)
{
	if (!rk->id || !*rk->id || !rk->uuid.len || rk->pk.len != RV_PK_LEN) {
		rv__drop(s, RV_DROP_MALFORMED, from, rk->id, "register_pk without id, uuid or 32-byte pk");
		return;
	}
	struct regpk r = { .from = from, .rk = rk, .now = now };
	struct rv_peer *p = NULL;
	int res = decide_register_pk(s, &r, &p);
	if (res == HBB__REGISTER_PK_RESPONSE__RESULT__OK) {
		rv_peer_set_addr(p, from);
		p->last_reg = now;
		rd_metric_inc(s->m_reg_pk);
	}
	reply_register_pk(s, from, (Hbb__RegisterPkResponse__Result)res, r.refusal);
}

static void udp_input(struct rv_server *s, const struct rd_sockaddr *from,
	const uint8_t *p, size_t len, double now)
{
	if (len > RD_FRAME_MAX_RENDEZVOUS) {
		rv__drop(s, RV_DROP_TOO_BIG, from, NULL, "datagram over 64 KiB");
		return;
	}
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(p, len);
	if (!m) {
		rv__drop(s, RV_DROP_MALFORMED, from, NULL, "datagram is no RendezvousMessage");
		return;
	}
	switch (m->union_case) {
	case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER:
		on_register_peer(s, from, m->register_peer, now);
		break;
	case HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK:
		on_register_pk(s, from, m->register_pk, now);
		break;
	default:
		rv__drop(s, RV_DROP_UNEXPECTED, from, NULL, rd_pb_rendezvous_name(m));
		break;
	}
	hbb__rendezvous_message__free_unpacked(m, NULL);
}

void rv_server_udp_input(struct rv_server *s, const struct rd_sockaddr *from,
	const uint8_t *p, size_t len, double now)
{
	s->in_udp = true;
	udp_input(s, from, p, len, now);
	s->in_udp = false;
}

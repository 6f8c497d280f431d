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
#include "util.h"

#define RD_LOG_SUBSYS "rendezvous"
#include "server_int.h"

#define RV_SRCIDS_RESET 86400.0  /* a source's ID count resets after a quiet day */
#define RV_REGPK_GAP 6.0         /* RegisterPk burst: gaps of at most 6 s ... */
#define RV_REGPK_BURST 3         /* ... and the 4th one is TOO_FREQUENT */

static const char *drop_names[RV_DROP_COUNT] = {
	"malformed", "too_big", "unexpected", "bad_id", "rate", "id_cap", "pending_cap",
	"deadline", "no_route",
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
		.pending_max = 10000,
		.pending_timeout = 30,
		.online_window = RV_ONLINE_WINDOW,
		.source_slots = 65536,
	};
}

/* ---- per-source ID counts: fixed size, 4-way sets, oldest entry reused ---- */

struct rv_srcid_slot {
	uint8_t key[9];     /* family tag + 4 (IPv4) or 8 (IPv6 /64) bytes */
	uint32_t count;
	double last;
};

struct rv_srcids {
	struct rv_srcid_slot *slots;
	size_t nsets;
};

static struct rv_srcids *srcids_new(size_t slots)
{
	struct rv_srcids *t = xcalloc(1, sizeof(*t));
	t->nsets = 1;
	while (t->nsets * 4 < slots)
		t->nsets *= 2;
	t->slots = xcalloc(t->nsets * 4, sizeof(*t->slots));
	return t;
}

static void srcids_free(struct rv_srcids *t)
{
	if (t) {
		free(t->slots);
		free(t);
	}
}

static void src_key(const struct rd_sockaddr *a, uint8_t key[9])
{
	struct rd_sockaddr n = *a;
	rd_net_addr_normalize(&n);
	memset(key, 0, 9);
	if (n.u.sa.sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &n.u.in4.sin_addr, 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, &n.u.in6.sin6_addr, 8);
	}
}

/* Count one more ID for src; false when it already has cap. */
static bool srcids_take(struct rv_srcids *t, const struct rd_sockaddr *src, double now, long cap)
{
	uint8_t key[9];
	src_key(src, key);
	uint32_t h = 2166136261u;
	for (int i = 0; i < 9; i++)
		h = (h ^ key[i]) * 16777619u;
	struct rv_srcid_slot *set = &t->slots[(h & (t->nsets - 1)) * 4], *use = NULL;
	for (int i = 0; i < 4 && !use; i++)
		if (set[i].key[0] && !memcmp(set[i].key, key, 9))
			use = &set[i];
	if (!use) {
		use = &set[0];
		for (int i = 1; i < 4; i++)
			if (set[i].last < use->last)
				use = &set[i];
		memcpy(use->key, key, 9);
		use->count = 0;
	}
	if (now - use->last > RV_SRCIDS_RESET)
		use->count = 0;
	use->last = now;
	if ((long)use->count >= cap)
		return false;
	use->count++;
	return true;
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
		"RegisterPk refused with UUID_MISMATCH.", NULL);
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
	s->srcids = srcids_new(slots);
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
	srcids_free(s->srcids);
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
	return rv_registry_add(s->reg, b->id, dig, b->pk, b->created) ? RD_OK : RD_ERR_EXISTS;
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
	Hbb__RegisterPkResponse__Result result)
{
	Hbb__RegisterPkResponse r = HBB__REGISTER_PK_RESPONSE__INIT;
	r.result = result;
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
	 * with RegisterPk; a malformed one then learns what is wrong. */
	struct rv_peer *p = rv_registry_find(s->reg, rp->id);
	bool request_pk = !p || !rv_peer_same_ip(p, from);
	if (!request_pk) {
		rv_peer_set_addr(p, from);
		p->last_reg = now;
		rd_metric_inc(s->m_reg_peer);
	}
	reply_register_peer(s, from, request_pk);
}

static void persist(struct rv_server *s, const struct rv_peer *p, const Hbb__RegisterPk *rk)
{
	struct rv_binding b = {
		.id = p->id, .uuid = rk->uuid.data, .uuid_len = rk->uuid.len,
		.pk = p->pk, .pk_len = RV_PK_LEN, .created = p->created,
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

/* Checks an existing binding; returns the result to send or -1 to go on. */
static int check_existing(struct rv_server *s, struct rv_peer *p, const struct rd_sockaddr *from,
	const Hbb__RegisterPk *rk, const uint8_t dig[RV_UUID_DIGEST], double now)
{
	bool pk_changed = sodium_memcmp(p->pk, rk->pk.data, RV_PK_LEN) != 0;
	if (sodium_memcmp(p->uuid_digest, dig, RV_UUID_DIGEST) != 0 ||
	    (pk_changed && p->family && !rv_peer_same_ip(p, from))) {
		rd_metric_inc(s->m_key_refused);
		log_event(s, "refused uuid-mismatch", from, rk->id);
		return HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH;
	}
	if (now - p->last_regpk > RV_REGPK_GAP)
		p->regpk_burst = 0;
	p->last_regpk = now;
	if (++p->regpk_burst > RV_REGPK_BURST) {
		p->regpk_burst = RV_REGPK_BURST;
		rv__drop(s, RV_DROP_RATE, from, rk->id, "register_pk per-id rate");
		return HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT;
	}
	if (!p->family || !rv_peer_same_ip(p, from)) {
		if (!srcids_take(s->srcids, from, now, s->cfg.lim.ids_per_source)) {
			rv__drop(s, RV_DROP_ID_CAP, from, rk->id, "ids per source");
			return HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT;
		}
	}
	if (pk_changed) {
		memcpy(p->pk, rk->pk.data, RV_PK_LEN);
		persist(s, p, rk);
		log_event(s, "register key-changed", from, rk->id);
	}
	return -1;
}

static void on_register_pk(struct rv_server *s, const struct rd_sockaddr *from,
	const Hbb__RegisterPk *rk, double now)
{
	if (!rk->id || !*rk->id || !rk->uuid.len || rk->pk.len != RV_PK_LEN) {
		rv__drop(s, RV_DROP_MALFORMED, from, rk->id, "register_pk without id, uuid or 32-byte pk");
		return;
	}
	if (!rd_ratelimit_allow(s->reg_rl, from, now)) {
		rv__drop(s, RV_DROP_RATE, from, rk->id, "registration rate");
		reply_register_pk(s, from, HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT);
		return;
	}
	int idc = rv_id_check(rk->id);
	if (idc != RD_OK) {
		/* Too short: UUID_MISMATCH makes stock clients pick a fresh valid ID. */
		rv__drop(s, RV_DROP_BAD_ID, from, rk->id, "register_pk id format");
		reply_register_pk(s, from, idc == RD_ERR_TRUNCATED ?
			HBB__REGISTER_PK_RESPONSE__RESULT__UUID_MISMATCH :
			HBB__REGISTER_PK_RESPONSE__RESULT__INVALID_ID_FORMAT);
		return;
	}
	uint8_t dig[RV_UUID_DIGEST];
	rv_registry_uuid_digest(rk->uuid.data, rk->uuid.len, dig);
	struct rv_peer *p = rv_registry_find(s->reg, rk->id);
	if (p) {
		int res = check_existing(s, p, from, rk, dig, now);
		if (res >= 0) {
			reply_register_pk(s, from, (Hbb__RegisterPkResponse__Result)res);
			return;
		}
	} else {
		if (!srcids_take(s->srcids, from, now, s->cfg.lim.ids_per_source)) {
			rv__drop(s, RV_DROP_ID_CAP, from, rk->id, "ids per source");
			reply_register_pk(s, from, HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT);
			return;
		}
		p = rv_registry_add(s->reg, rk->id, dig, rk->pk.data, rd_wall_ms() / 1000);
		p->last_regpk = now;
		p->regpk_burst = 1;
		persist(s, p, rk);
		rd_metric_inc(s->m_new_ids);
		log_event(s, "register new", from, rk->id);
	}
	rv_peer_set_addr(p, from);
	p->last_reg = now;
	rd_metric_inc(s->m_reg_pk);
	reply_register_pk(s, from, HBB__REGISTER_PK_RESPONSE__RESULT__OK);
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

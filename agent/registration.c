/* registration: RegisterPeer / RegisterPk timing, back-off and answers. */
#define RD_LOG_SUBSYS "rendezvous"
#include "registration.h"

#include <stdio.h>
#include <stdlib.h>

#include "crypto.h"
#include "log.h"
#include "regsig.h"
#include "settings.h"
#include "util.h"

struct registration {
	struct registration_config cfg;
	const struct registration_ops *ops;
	void *ud;
	bool key_confirmed;
	bool registered;
	double sent_at;            /* outstanding request, 0 = none */
	bool pk_pending;           /* ... and it is a RegisterPk */
	double next_send;
	double last_pk;
	unsigned failures;         /* consecutive timeouts */
	unsigned refusals;         /* consecutive refused RegisterPk */
	struct rd_log_ratelimit stray_rl;
};

struct registration *registration_new(const struct registration_config *cfg,
	const struct registration_ops *ops, void *ud)
{
	struct registration *g = xcalloc(1, sizeof(*g));
	g->cfg = *cfg;
	g->ops = ops;
	g->ud = ud;
	g->last_pk = -RC_PK_MIN_GAP;
	return g;
}

void registration_free(struct registration *g)
{
	free(g);
}

void registration_request_pk(struct registration *g)
{
	g->key_confirmed = false;
}

static void reg__set_registered(struct registration *g, bool registered)
{
	g->registered = registered;
	g->ops->registered(g->ud, registered);
}

void registration_step(struct registration *g, double now)
{
	/* A short interval gets a shorter timeout, so a returning server is
	 * seen within about one interval either way. */
	if (g->sent_at > 0 && now - g->sent_at >= RD_MIN(RC_REG_TIMEOUT, g->cfg.interval / 2)) {
		g->sent_at = 0;
		g->pk_pending = false;
		g->failures++;
		/* 1, 2, 4, 8 ... seconds, never more than the interval: back
		 * within two intervals of the server's return. */
		double wait = (double)(1u << RD_MIN(g->failures, 10u));
		g->next_send = now + RD_MIN(wait, g->cfg.interval);
		if (g->failures == 2 && g->registered) {
			log_warn("rendezvous server %s does not answer", rd_esc(g->cfg.server));
			reg__set_registered(g, false);
		}
		if (g->failures % 4 == 0)
			g->ops->reset_socket(g->ud, now);
	}
	if (g->sent_at > 0 || now < g->next_send)
		return;
	if (!g->key_confirmed) {
		if (now - g->last_pk < RC_PK_MIN_GAP) {
			g->next_send = g->last_pk + RC_PK_MIN_GAP;
			return;
		}
		g->ops->send_pk(g->ud);
		g->last_pk = now;
	} else {
		g->ops->send_peer(g->ud);
	}
	g->pk_pending = !g->key_confirmed;
	g->sent_at = now;
}

static void reg__registered(struct registration *g, double now)
{
	if (g->failures >= 2 || !g->registered)
		log_notice("registered with %s as %s", rd_esc(g->cfg.server), g->cfg.id);
	g->failures = 0;
	g->refusals = 0;
	g->sent_at = 0;
	g->pk_pending = false;
	g->next_send = now + g->cfg.interval;
	if (!g->registered)
		reg__set_registered(g, true);
}

void registration_on_peer_response(struct registration *g, const Hbb__RegisterPeerResponse *r,
	double now)
{
	if (!r->request_pk) {
		reg__registered(g, now);
		return;
	}
	if (g->key_confirmed) {
		log_info("server asks for our key again");
		g->ops->key_requested(g->ud);
	}
	g->key_confirmed = false;
	g->sent_at = 0;
	g->next_send = now;
	registration_step(g, now);
}

/* What an operator can do about a refusal, by RegisterPkResponse.rdesk_refusal;
 * *forget when releasing the ID on the server is one of the answers. */
static const char *reg__refusal_hint(const Hbb__RegisterPkResponse *r, bool *forget)
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
static void reg__refused(struct registration *g, const Hbb__RegisterPkResponse *r, double now)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&hbb__register_pk_response__result__descriptor, r->result);
	double wait = RD_MIN(g->cfg.interval * (double)(1u << RD_MIN(g->refusals, 10u)), RC_REFUSED_MAX);
	char fp[RD_FINGERPRINT_LEN], release[AGENT_ID_MAX + 128] = "";
	rd_pk_fingerprint(g->cfg.pk, fp);
	bool forget;
	const char *hint = reg__refusal_hint(r, &forget);
	if (forget)
		snprintf(release, sizeof(release), "; if this machine is the owner, release the ID on "
			"the server: rd-rendezvous --forget %s", g->cfg.id);
	g->refusals++;
	g->sent_at = 0;
	g->pk_pending = false;
	g->next_send = now + wait;
	log_err("server %s refused ID %s (%s, refusal %u): %s%s. Our key is %s. Keeping the ID; "
		"retry %u in %.0f s", rd_esc(g->cfg.server), g->cfg.id, v ? v->name : "unknown",
		r->rdesk_refusal, hint, release, fp, g->refusals, wait);
	if (g->registered)
		reg__set_registered(g, false);
}

void registration_on_pk_response(struct registration *g, const Hbb__RegisterPkResponse *r,
	double now)
{
	/* Only the answer to our own outstanding RegisterPk counts: anything else
	 * is stale or forged (UDP sources are easy to spoof). */
	if (g->sent_at <= 0 || !g->pk_pending) {
		unsigned sup = 0;
		if (rd_log_ratelimit_ok(&g->stray_rl, now, 5, 60, &sup))
			log_warn("RegisterPkResponse with no RegisterPk outstanding ignored (%u suppressed)", sup);
		return;
	}
	switch (r->result) {
	case HBB__REGISTER_PK_RESPONSE__RESULT__OK:
		g->key_confirmed = true;
		reg__registered(g, now);
		break;
	case HBB__REGISTER_PK_RESPONSE__RESULT__TOO_FREQUENT:
		log_warn("server says RegisterPk too frequent; waiting");
		g->sent_at = 0;
		g->pk_pending = false;
		g->next_send = now + RC_TOO_FREQUENT_WAIT;
		break;
	default:
		reg__refused(g, r, now);
		break;
	}
}

/* session: see session.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <sodium.h>

#define RD_LOG_SUBSYS "session"
#include "codec.h"
#include "conn.h"
#include "connect.h"
#include "err.h"
#include "handshake.h"
#include "known_peers.h"
#include "log.h"
#include "pb.h"
#include "session.h"
#include "util.h"

enum sstate { SS_SIGNED_ID, SS_HASH, SS_LOGIN, SS_LIVE, SS_DONE };

struct ctl_session {
	struct ev_loop *loop;
	struct rd_conn *conn;
	struct ctl_session_opts o;
	char id[128];
	char password[256];
	char known[4096];
	uint8_t peer_pk[RD_PK_LEN];
	struct ctl_result *res;
	const struct ctl_session_ops *ops;
	void *ud;
	struct rd_handshake *hs;
	enum sstate st;
	double t_phase;
	ev_idle end_idle;        /* reports a failure found before any I/O */
	bool ended;
};

static void end(struct ctl_session *s)
{
	if (s->ended)
		return;
	s->ended = true;
	s->st = SS_DONE;
	if (s->conn) {
		ctl_conn_drop(s->conn, RD_OK);
		s->conn = NULL;
	}
	if (s->ops->on_end)
		s->ops->on_end(s, s->ud);
}

static void send_msg(struct ctl_session *s, Hbb__Message *m)
{
	if (s->conn && !rd_conn_closing(s->conn))
		rd_conn_send_pb(s->conn, &m->base);
}

static void on_signed_id(struct ctl_session *s, const uint8_t *p, size_t len)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	struct rd_crypto_stream cs;
	char fp[RD_FINGERPRINT_LEN];
	int rc = rd_handshake_ctl_on_signed_id(s->hs, p, len, &out, &outlen);
	if (rc != RD_OK) {
		rd_pk_fingerprint(s->peer_pk, fp);
		if (rc == RD_ERR_CRYPTO || rc == RD_ERR_MISMATCH)
			ctl_result_fail(s->res, CTL_EXIT_KEY, "peer_key_mismatch",
				"%s did not prove the key the server vouched for (%s): %s; its signed "
				"handshake was made with another key, or altered on the way", s->id, fp,
				rc == RD_ERR_MISMATCH ? "signed for another ID" : "bad signature");
		else
			ctl_result_fail(s->res, CTL_EXIT_NOPATH, "protocol",
				"%s did not start the secure handshake (%s)", s->id, rd_strerror(rc));
		end(s);
		return;
	}
	rd_conn_send(s->conn, out, outlen);
	free(out);
	rd_handshake_stream(s->hs, &cs);
	rd_conn_set_crypto(s->conn, &cs);
	rd_crypto_stream_wipe(&cs);
	ctl_result_phase(s->res, CTL_PH_HANDSHAKE, (rd_now() - s->t_phase) * 1000.0);
	s->t_phase = rd_now();
	log_info("secure session with %s (%s keys)", s->id, ctl_session_key_mode(s));
	if (known_peers_check(s->known, s->id, s->peer_pk, (uint8_t[RD_PK_LEN]){ 0 }) ==
	    RD_ERR_NOTFOUND) {
		rd_pk_fingerprint(s->peer_pk, fp);
		if (known_peers_add(s->known, s->id, s->peer_pk) == RD_OK)
			log_notice("pinned %s's key %s in %s", s->id, fp, s->known);
		else
			log_warn("cannot write %s", s->known);
	}
	s->st = SS_HASH;
	if (s->o.handshake_only) {
		s->st = SS_LIVE;
		s->ops->on_ready(s, 0, 0, s->ud);
	}
}

static void send_login(struct ctl_session *s, const Hbb__Hash *h)
{
	Hbb__Message m = HBB__MESSAGE__INIT;
	Hbb__LoginRequest lr = HBB__LOGIN_REQUEST__INIT;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	Hbb__SupportedDecoding dec = HBB__SUPPORTED_DECODING__INIT;
	uint8_t h1[32], resp[32];
	char host[64] = "", name[128];
	rd_pw_hash1(s->password, h->salt ? h->salt : "", h1);
	rd_pw_response(h1, h->challenge ? h->challenge : "", resp);
	sodium_memzero(h1, sizeof(h1));
	gethostname(host, sizeof(host) - 1);
	snprintf(name, sizeof(name), "rdctl@%s", host);
	dec.ability_vp9 = 1;
	dec.ability_h264 = 1;
	dec.prefer = s->o.prefer == CTL_CODEC_H264 ? HBB__SUPPORTED_DECODING__PREFER_CODEC__H264
		: s->o.prefer == CTL_CODEC_VP9 ? HBB__SUPPORTED_DECODING__PREFER_CODEC__VP9
		: HBB__SUPPORTED_DECODING__PREFER_CODEC__Auto;
	opt.supported_decoding = &dec;
	opt.custom_fps = s->o.fps;
	opt.image_quality = (Hbb__ImageQuality)s->o.image_quality;
	opt.custom_image_quality = s->o.custom_quality;
	opt.disable_audio = s->o.audio ? HBB__OPTION_MESSAGE__BOOL_OPTION__No
		: HBB__OPTION_MESSAGE__BOOL_OPTION__Yes;
	lr.video_ack_required = s->o.video_ack;
	lr.username = s->id;
	lr.password.data = resp;
	lr.password.len = sizeof(resp);
	lr.my_id = "rdctl";
	lr.my_name = name;
	lr.option = &opt;
	lr.version = RD_VERSION;
	lr.my_platform = "Linux";
	randombytes_buf(&lr.session_id, sizeof(lr.session_id));
	m.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
	m.login_request = &lr;
	send_msg(s, &m);
	sodium_memzero(resp, sizeof(resp));
	s->st = SS_LOGIN;
}

static void on_login_response(struct ctl_session *s, const Hbb__LoginResponse *r)
{
	if (r->union_case != HBB__LOGIN_RESPONSE__UNION_PEER_INFO || !r->peer_info) {
		const char *e = r->union_case == HBB__LOGIN_RESPONSE__UNION_ERROR && r->error ? r->error : "";
		ctl_result_fail(s->res, CTL_EXIT_LOGIN, "login_refused", "%s refused the login: %s", s->id,
			e[0] ? rd_esc_text(e) : "no reason given");
		end(s);
		return;
	}
	const Hbb__PeerInfo *pi = r->peer_info;
	int w = 0, h = 0;
	if (pi->n_displays > 0) {
		size_t i = pi->current_display >= 0 && (size_t)pi->current_display < pi->n_displays
			? (size_t)pi->current_display : 0;
		w = pi->displays[i]->width;
		h = pi->displays[i]->height;
	}
	ctl_result_phase(s->res, CTL_PH_LOGIN, (rd_now() - s->t_phase) * 1000.0);
	log_info("logged in to %s (%s %s, %dx%d)", s->id, rd_esc(pi->platform ? pi->platform : ""),
		rd_esc(pi->version ? pi->version : ""), w, h);
	s->st = SS_LIVE;
	s->ops->on_ready(s, w, h, s->ud);
}

static void on_video(struct ctl_session *s, const Hbb__VideoFrame *vf)
{
	const Hbb__EncodedVideoFrames *fs;
	enum ctl_codec codec;
	switch (vf->union_case) {
	case HBB__VIDEO_FRAME__UNION_VP9S: fs = vf->vp9s; codec = CTL_CODEC_VP9; break;
	case HBB__VIDEO_FRAME__UNION_H264S: fs = vf->h264s; codec = CTL_CODEC_H264; break;
	default:
		log_debug("video frame of an unsupported kind %d", (int)vf->union_case);
		return;
	}
	for (size_t i = 0; fs && i < fs->n_frames && !s->ended; i++) {
		const Hbb__EncodedVideoFrame *f = fs->frames[i];
		if (f->data.len)
			s->ops->on_video(s, codec, f->data.data, f->data.len, f->key, f->pts, s->ud);
	}
	if (s->o.video_ack && !s->ended) {
		/* The agent paces to these: one per VideoFrame, once it is taken. */
		Hbb__Message m = HBB__MESSAGE__INIT;
		Hbb__Misc misc = HBB__MISC__INIT;
		misc.union_case = HBB__MISC__UNION_VIDEO_RECEIVED;
		misc.video_received = true;
		m.union_case = HBB__MESSAGE__UNION_MISC;
		m.misc = &misc;
		send_msg(s, &m);
	}
}

static void on_misc(struct ctl_session *s, const Hbb__Misc *m)
{
	if (m->union_case == HBB__MISC__UNION_CLOSE_REASON) {
		ctl_result_fail(s->res, CTL_EXIT_FAIL, "peer_closed", "%s closed the session: %s", s->id,
			rd_esc_text(m->close_reason ? m->close_reason : ""));
		end(s);
	}
}

static void on_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	struct ctl_session *s = ud;
	Hbb__Message *m;
	(void)c;
	if (s->ended)
		return;
	if (s->st == SS_SIGNED_ID) {
		on_signed_id(s, p, len);
		return;
	}
	if (len == 0)
		return;	/* heartbeat */
	if (!(m = rd_pb_message_unpack(p, len))) {
		log_info("malformed message from %s (%zu bytes), ignored", s->id, len);
		return;
	}
	switch (m->union_case) {
	case HBB__MESSAGE__UNION_HASH:
		if (s->st == SS_HASH)
			send_login(s, m->hash);
		break;
	case HBB__MESSAGE__UNION_LOGIN_RESPONSE:
		if (s->st == SS_LOGIN)
			on_login_response(s, m->login_response);
		break;
	case HBB__MESSAGE__UNION_TEST_DELAY: {
		log_debug("test delay from %s: last round trip %u ms, target %u kbit/s", s->id,
			m->test_delay->last_delay, m->test_delay->target_bitrate);
		Hbb__Message echo = HBB__MESSAGE__INIT;
		echo.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
		echo.test_delay = m->test_delay;
		send_msg(s, &echo);
		break;
	}
	case HBB__MESSAGE__UNION_VIDEO_FRAME:
		if (s->st == SS_LIVE)
			on_video(s, m->video_frame);
		break;
	case HBB__MESSAGE__UNION_MISC:
		on_misc(s, m->misc);
		if (!s->ended && s->st == SS_LIVE && s->ops->on_message)
			s->ops->on_message(s, m, s->ud);
		break;
	default:
		if (s->st == SS_LIVE && s->ops->on_message)
			s->ops->on_message(s, m, s->ud);
		else
			log_debug("ignored %s", rd_pb_message_name(m));
		break;
	}
	hbb__message__free_unpacked(m, NULL);
}

static void on_close(struct rd_conn *c, int reason, void *ud)
{
	struct ctl_session *s = ud;
	(void)c;
	s->conn = NULL;
	if (s->ended)
		return;
	if (s->st == SS_LIVE)
		ctl_result_fail(s->res, CTL_EXIT_FAIL, "peer_closed", "the session with %s ended (%s)",
			s->id, rd_strerror(reason));
	else if (s->st == SS_HASH && reason == RD_ERR_CRYPTO)
		/* Both sides hold the session key, so a first frame that does not
		 * open means the handshake was changed between them (a feature word
		 * removed or altered): never a reason to retry with weaker keys. */
		ctl_result_fail(s->res, CTL_EXIT_KEY, "handshake_altered",
			"the first encrypted frame from %s does not decrypt with the %s keys agreed "
			"on: the handshake was altered on the way", s->id,
			strcmp(ctl_session_key_mode(s), "kdf") == 0 ? "per-direction" : "shared");
	else
		ctl_result_fail(s->res, reason == RD_ERR_TIMEOUT ? CTL_EXIT_TIMEOUT : CTL_EXIT_NOPATH,
			reason == RD_ERR_TIMEOUT ? "timeout" : "peer_closed",
			"%s closed the connection before %s (%s)", s->id,
			s->st == SS_SIGNED_ID ? "the handshake" : "the login finished", rd_strerror(reason));
	end(s);
}

static void quiet_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	(void)c; (void)p; (void)len; (void)ud;
}
static void quiet_close(struct rd_conn *c, int reason, void *ud)
{
	(void)c; (void)reason; (void)ud;
}
static const struct rd_conn_ops quiet_ops = { .on_frame = quiet_frame, .on_close = quiet_close };
static const struct rd_conn_ops sess_ops = { .on_frame = on_frame, .on_close = on_close };

static void on_end_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct ctl_session *s = w->data;
	(void)revents;
	ev_idle_stop(loop, w);
	end(s);
}

struct ctl_session *ctl_session_new(struct ev_loop *loop, struct rd_conn *conn,
	const struct ctl_session_opts *o, struct ctl_result *res, const struct ctl_session_ops *ops,
	void *ud)
{
	struct ctl_session *s = xcalloc(1, sizeof(*s));
	struct rd_conn_limits lim = { .max_frame = RD_FRAME_MAX_SESSION, .sndq_soft = 1 << 20,
		.sndq_hard = 16 << 20, .first_msg_timeout = 18, .idle_timeout = 30 };
	uint8_t pinned[RD_PK_LEN];
	char fa[RD_FINGERPRINT_LEN], fb[RD_FINGERPRINT_LEN];
	s->loop = loop;
	s->conn = conn;
	s->o = *o;
	rd_strlcpy(s->id, o->id, sizeof(s->id));
	rd_strlcpy(s->password, o->password ? o->password : "", sizeof(s->password));
	rd_strlcpy(s->known, o->known_peers, sizeof(s->known));
	memcpy(s->peer_pk, o->peer_pk, RD_PK_LEN);
	s->o.id = s->id;
	s->res = res;
	s->ops = ops;
	s->ud = ud;
	s->t_phase = rd_now();
	ev_idle_init(&s->end_idle, on_end_idle);
	s->end_idle.data = s;
	rd_conn_set_ops(conn, &sess_ops, s);
	rd_conn_set_limits(conn, &lim);
	int rc = known_peers_check(s->known, s->id, s->peer_pk, pinned);
	if (rc == RD_ERR_MISMATCH) {
		rd_pk_fingerprint(pinned, fa);
		rd_pk_fingerprint(s->peer_pk, fb);
		ctl_result_fail(res, CTL_EXIT_KEY, "key_mismatch",
			"the key of %s changed: pinned %s, now offered %s. If the agent was reinstalled, "
			"remove the line for %s from %s", s->id, fa, fb, s->id, s->known);
		ev_idle_start(loop, &s->end_idle);
		return s;
	}
	s->hs = rd_handshake_ctl_new(s->id, s->peer_pk, RD_FEAT_KDF);
	if (!s->hs) {
		ctl_result_fail(res, CTL_EXIT_FAIL, "internal", "cannot start the handshake");
		ev_idle_start(loop, &s->end_idle);
	}
	return s;
}

void ctl_session_refresh_video(struct ctl_session *s)
{
	Hbb__Message m = HBB__MESSAGE__INIT;
	Hbb__Misc misc = HBB__MISC__INIT;
	if (s->st != SS_LIVE)
		return;
	misc.union_case = HBB__MISC__UNION_REFRESH_VIDEO;
	misc.refresh_video = true;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	send_msg(s, &m);
	log_info("asked %s for a keyframe", s->id);
}

int ctl_session_send(struct ctl_session *s, Hbb__Message *m)
{
	if (s->ended || s->st != SS_LIVE || !s->conn || rd_conn_closing(s->conn))
		return RD_ERR_CLOSED;
	return rd_conn_send_pb(s->conn, &m->base);
}

void ctl_session_close(struct ctl_session *s)
{
	Hbb__Message m = HBB__MESSAGE__INIT;
	Hbb__Misc misc = HBB__MISC__INIT;
	if (s->ended)
		return;
	if (s->st == SS_LIVE && s->conn) {
		misc.union_case = HBB__MISC__UNION_CLOSE_REASON;
		misc.close_reason = "Closed manually by the peer";
		m.union_case = HBB__MESSAGE__UNION_MISC;
		m.misc = &misc;
		send_msg(s, &m);
		rd_conn_set_ops(s->conn, &quiet_ops, NULL);
		rd_conn_close_after_flush(s->conn);
		s->conn = NULL;
	}
	s->ended = true;
	s->st = SS_DONE;
	if (s->conn) {
		ctl_conn_drop(s->conn, RD_OK);
		s->conn = NULL;
	}
}

bool ctl_session_logged_in(const struct ctl_session *s)
{
	return s->st == SS_LIVE;
}

const char *ctl_session_key_mode(const struct ctl_session *s)
{
	return s->hs && rd_handshake_mode(s->hs) == RD_CRYPTO_KDF ? "kdf" : "compat";
}

void ctl_session_free(struct ctl_session *s)
{
	if (!s)
		return;
	ev_idle_stop(s->loop, &s->end_idle);
	if (s->conn)
		ctl_conn_drop(s->conn, RD_OK);
	rd_handshake_free(s->hs);
	sodium_memzero(s->password, sizeof(s->password));
	free(s);
}

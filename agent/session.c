/* session: the controlled side's session state machine (I/O free). */
#define RD_LOG_SUBSYS "session"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "handshake.h"
#include "log.h"
#include "pb.h"
#include "session_msg.h"
#include "util.h"

struct session {
	const struct session_host *host;
	const struct session_ops *ops;
	void *ud;
	struct rd_sockaddr peer;
	char peer_str[RD_ADDRSTRLEN];
	char peer_ip[RD_ADDRSTRLEN];
	enum session_path path;
	enum session_state state;
	struct rd_handshake *hs;
	bool encrypted;
	enum rd_crypto_mode mode;
	char challenge[7];
	unsigned login_tries;
	char peer_id[64];           /* escaped LoginRequest.my_id */
	Hbb__Message *held;         /* a LoginRequest the login guard holds back */
	double held_since;
	double held_total;          /* seconds logins were held, off the login deadline */
	bool held_logged;
	enum video_codec codec;
	bool want_key;              /* skip until the next keyframe */
	bool key_requested;
	double started;
	double last_rx;
	double delay_sent;          /* 0 = no probe outstanding */
	double next_delay;
	uint32_t rtt_ms;
	uint64_t frames_sent;
	uint64_t frames_skipped;
	uint64_t prelogin_dropped;  /* messages that came before the login succeeded */
	int display_w, display_h;
	struct video_qos qos;
	int rate_fps, rate_quality;  /* last rate given to the owner */
	bool audio;                  /* sound on (after login only) */
};

struct session *session_new(const struct session_host *host, const struct rd_sockaddr *peer,
	enum session_path path, const struct session_ops *ops, void *ud)
{
	struct session *s = xcalloc(1, sizeof(*s));
	s->host = host;
	s->ops = ops;
	s->ud = ud;
	if (peer)
		s->peer = *peer;
	rd_net_addr_str(&s->peer, s->peer_str, sizeof(s->peer_str));
	rd_net_addr_ip_str(&s->peer, s->peer_ip, sizeof(s->peer_ip));
	s->path = path;
	s->state = SESSION_HANDSHAKE;
	qos_init(&s->qos, 30, 50);
	return s;
}

void session_set_video_limits(struct session *s, int max_fps, int base_quality)
{
	qos_init(&s->qos, max_fps, base_quality);
}

void session_free(struct session *s)
{
	if (!s)
		return;
	rd_handshake_free(s->hs);
	if (s->held)
		hbb__message__free_unpacked(s->held, NULL);
	free(s);
}

static void session__end(struct session *s, int reason)
{
	if (s->state == SESSION_CLOSED)
		return;
	s->state = SESSION_CLOSED;
	s->ops->close(s->ud, reason);
}

static int session__send_msg(struct session *s, const Hbb__Message *m)
{
	return rd_pb_send(&m->base, s->ops->send, s->ud);
}

/* Misc.close_reason, then close once flushed. */
static void session__refuse(struct session *s, const char *why, int reason)
{
	if (s->state == SESSION_CLOSED)
		return;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_CLOSE_REASON;
	misc.close_reason = (char *)why;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	session__send_msg(s, &m);
	session__end(s, reason);
}

int session_start(struct session *s, double now)
{
	s->started = now;
	s->last_rx = now;
	s->hs = rd_handshake_host_new(s->host->id, s->host->kp, RD_FEAT_KDF);
	if (!s->hs)
		return RD_ERR_INVAL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = rd_handshake_host_signed_id(s->hs, &buf, &len);
	if (rc < 0)
		return rc;
	rc = s->ops->send(s->ud, buf, len);
	free(buf);
	log_info("%s: session via %s, handshake started", s->peer_str, session_path_name(s->path));
	return rc;
}

static void session__send_hash(struct session *s)
{
	rd_random_alnum(s->challenge, 6);
	Hbb__Hash h = HBB__HASH__INIT;
	h.salt = (char *)(s->host->pw && s->host->pw->set ? s->host->pw->salt : "");
	h.challenge = s->challenge;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_HASH;
	m.hash = &h;
	session__send_msg(s, &m);
	s->state = SESSION_LOGIN;
}

static void session__on_handshake(struct session *s, const uint8_t *p, size_t len)
{
	enum rd_handshake_outcome oc = 0;
	int rc = rd_handshake_host_on_reply(s->hs, p, len, &oc);
	if (rc < 0) {
		log_warn("%s: handshake failed: %s", s->peer_str, rd_strerror(rc));
		session__end(s, rc);
		return;
	}
	if (rd_handshake_host_pk_refresh_wanted(s->hs) && s->ops->pk_refresh)
		s->ops->pk_refresh(s->ud);
	if (oc == RD_HANDSHAKE_PLAIN) {
		/* Never in plaintext through a relay, whatever the configuration. */
		if (!s->host->allow_plain || s->path == SESSION_PATH_RELAY) {
			log_warn("%s: controller declined encryption; unencrypted session refused",
				s->peer_str);
			session__refuse(s, "Unencrypted sessions are refused by this host", RD_ERR_REFUSED);
			return;
		}
		log_warn("%s: session continues UNENCRYPTED (allowed by configuration)", s->peer_str);
	} else {
		struct rd_crypto_stream cs;
		rd_handshake_stream(s->hs, &cs);
		s->ops->set_crypto(s->ud, &cs);
		rd_crypto_stream_wipe(&cs);
		s->encrypted = true;
		s->mode = rd_handshake_mode(s->hs);
		log_info("%s: secure channel up (%s keys)", s->peer_str,
			s->mode == RD_CRYPTO_KDF ? "per-direction" : "compatible shared");
	}
	rd_handshake_free(s->hs);
	s->hs = NULL;
	session__send_hash(s);
}

void session_video_rate(const struct session *s, int *fps, int *quality)
{
	*fps = qos_fps(&s->qos);
	*quality = qos_quality(&s->qos);
}

/* Tell the owner when the rate changed; true if it did. */
static bool session__apply_rate(struct session *s)
{
	int fps, q;
	session_video_rate(s, &fps, &q);
	if (fps == s->rate_fps && q == s->rate_quality)
		return false;
	s->rate_fps = fps;
	s->rate_quality = q;
	if (s->ops->set_video_rate && s->state == SESSION_ACTIVE)
		s->ops->set_video_rate(s->ud, fps, q);
	return true;
}

static void session__log_options(struct session *s, const char *when)
{
	char fps[24] = "default", ratio[24] = "default";
	if (s->qos.want_fps > 0)
		snprintf(fps, sizeof(fps), "%d", s->qos.want_fps);
	if (s->qos.want_ratio > 0)
		snprintf(ratio, sizeof(ratio), "%.2f", s->qos.want_ratio);
	log_info("%s id=\"%s\": video options (%s): fps %s, quality ratio %s, frame acks %s -> "
		"sending %d fps at quality %d", s->peer_str, s->peer_id, when, fps, ratio,
		s->qos.ack_required ? "on" : "off", s->rate_fps, s->rate_quality);
}

/* One health sample of the link; steps the rate and logs a change. */
static void session__qos_sample(struct session *s, double now, uint32_t rtt_ms, bool probe_out)
{
	bool backed = s->ops->backed_up && s->ops->backed_up(s->ud);
	enum qos_change ch = qos_sample(&s->qos, now, rtt_ms, backed);
	if (ch == QOS_SAME)
		return;
	session__apply_rate(s);
	if (ch == QOS_DOWN)
		log_info("%s id=\"%s\": link slow (rtt %u ms%s%s), video down to %d fps at quality %d "
			"(ratio %.2f, step %d of %d)", s->peer_str, s->peer_id, rtt_ms,
			probe_out ? " and waiting" : "", backed ? ", send queue backed up" : "",
			s->rate_fps, s->rate_quality, qos_ratio(&s->qos), s->qos.level, QOS_LEVELS - 1);
	else
		log_info("%s id=\"%s\": link healthy (rtt %u ms), video up to %d fps at quality %d "
			"(ratio %.2f, step %d of %d)", s->peer_str, s->peer_id, rtt_ms, s->rate_fps,
			s->rate_quality, qos_ratio(&s->qos), s->qos.level, QOS_LEVELS - 1);
}

static void session__login_error(struct session *s, const char *text)
{
	Hbb__LoginResponse lr = HBB__LOGIN_RESPONSE__INIT;
	lr.union_case = HBB__LOGIN_RESPONSE__UNION_ERROR;
	lr.error = (char *)text;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_LOGIN_RESPONSE;
	m.login_response = &lr;
	session__send_msg(s, &m);
}

static void session__set_audio(struct session *s, bool on)
{
	s->audio = on;
	if (s->ops->set_audio)
		s->ops->set_audio(s->ud, on);
}

static void session__login_ok(struct session *s, const Hbb__LoginRequest *req)
{
	const Hbb__SupportedDecoding *sd = req->option ? req->option->supported_decoding : NULL;
	enum video_codec codec = s->host->codec_pref;
	if (!codec)
		codec = session_choose_codec(sd);
	if (!codec) {
		log_warn("%s: no codec the controller can decode", s->peer_str);
		session__login_error(s, "No common video codec");
		session__end(s, RD_ERR_UNSUPPORTED);
		return;
	}
	struct video_display d = { 0 };
	s->ops->get_display(s->ud, &d);
	s->display_w = d.width;
	s->display_h = d.height;
	if (session_msg_send_login_ok(s->ops->send, s->ud, s->host, &d) < 0) {
		session__end(s, RD_ERR_NOMEM);
		return;
	}
	s->state = SESSION_ACTIVE;
	s->ops->logged_in(s->ud);
	if (s->state == SESSION_CLOSED)
		return;
	s->codec = codec;
	s->want_key = true;
	s->next_delay = s->last_rx;
	s->qos.ack_required = req->video_ack_required;
	bool asked = qos_apply_option(&s->qos, req->option);
	session_video_rate(s, &s->rate_fps, &s->rate_quality);
	log_notice("%s: login ok for controller \"%s\", %s, codec %s", s->peer_str, s->peer_id,
		s->encrypted ? "encrypted" : "UNENCRYPTED", codec == VIDEO_CODEC_H264 ? "h264" : "vp9");
	if (asked || s->qos.ack_required)
		session__log_options(s, "login");
	s->ops->start_video(s->ud, codec);
	if (s->state == SESSION_ACTIVE)
		session__set_audio(s, session_msg_audio_option(req->option) != 0);
}

static bool session__kind_supported(const Hbb__LoginRequest *req)
{
	return req->union_case == HBB__LOGIN_REQUEST__UNION__NOT_SET;
}

/* One line per login outcome: "login VERB src=IP port=N: WHY; controller
 * id="ID"". The address is the socket's; the controller's own words come last
 * and escaped, so a log filter can trust what stands before them. Through a
 * relay the socket is the relay's and the controller's address is only what
 * the server said: such lines say so and carry no src= to match. */
static void session__log_login(struct session *s, enum rd_log_level level, const char *verb,
	const char *why)
{
	if (s->path == SESSION_PATH_RELAY)
		rd_log(level, RD_LOG_SUBSYS, "login %s through the relay (controller at %s, as the server "
			"says): %s; controller id=\"%s\"", verb, s->peer_str, why, s->peer_id);
	else
		rd_log(level, RD_LOG_SUBSYS, "login %s src=%s port=%u: %s; controller id=\"%s\"", verb,
			s->peer_ip, rd_net_addr_port(&s->peer), why, s->peer_id);
}

/* The guard let the login through: check what it asks for and the password. */
static void session__login_check(struct session *s, const Hbb__LoginRequest *req, double now)
{
	if (!session__kind_supported(req)) {
		log_warn("%s: session kind %d not offered", s->peer_str, (int)req->union_case);
		session__login_error(s, "Connection not allowed");
		session__end(s, RD_ERR_UNSUPPORTED);
		return;
	}
	if (s->path != SESSION_PATH_DIRECT && strcmp(req->username, s->host->id) != 0) {
		log_warn("%s: login for another ID %s", s->peer_str, rd_esc(req->username));
		session__login_error(s, "Offline");
		session__end(s, RD_ERR_MISMATCH);
		return;
	}
	if (!s->host->pw || !s->host->pw->set) {
		session__log_login(s, RD_LOG_WARN, "failed", "no password is set on this host");
		session__login_error(s, "No Password Access");
		session__end(s, RD_ERR_PERM);
		return;
	}
	if (!login_password_check(s->host->pw, s->challenge, req->password.data, req->password.len)) {
		login_guard_fail(s->host->guard, &s->peer, now);
		s->login_tries++;
		session__log_login(s, RD_LOG_WARN, "failed", "wrong password");
		session__login_error(s, "Wrong Password");
		if (s->login_tries >= SESSION_LOGIN_TRIES)
			session__end(s, RD_ERR_PERM);
		return;
	}
	login_guard_success(s->host->guard, &s->peer, now);
	session__login_ok(s, req);
}

/* Ask the guard about the LoginRequest in m (sent at s->held_since). Returns
 * true when it holds m back (then s->held owns it), false when m was answered. */
static bool session__login_try(struct session *s, Hbb__Message *m, double now)
{
	char why[96];
	double at = now;
	enum login_verdict v = login_guard_check(s->host->guard, &s->peer, s->held_since, now, &at);
	if (v == LOGIN_WAIT) {
		if (!s->held_logged) {
			snprintf(why, sizeof(why), "answer held up to %.1f s after recent wrong passwords",
				at - now);
			session__log_login(s, RD_LOG_INFO, "held", why);
			s->held_logged = true;
		}
		s->held = m;
		return true;
	}
	if (v == LOGIN_BLOCKED) {
		snprintf(why, sizeof(why), "too many wrong passwords, refused for %.0f s more", at - now);
		session__log_login(s, RD_LOG_WARN, "refused", why);
		session__login_error(s, login_verdict_text(v));
		session__end(s, RD_ERR_LIMIT);
		return false;
	}
	session__login_check(s, m->login_request, now);
	return false;
}

/* Returns true when the guard holds m back (s->held owns it). */
static bool session__on_login(struct session *s, Hbb__Message *m, double now)
{
	const Hbb__LoginRequest *req = m->login_request;
	if (s->held) {
		log_debug("%s: another LoginRequest while one waits; dropped", s->peer_str);
		return false;
	}
	rd_escape(s->peer_id, sizeof(s->peer_id), req->my_id, strlen(req->my_id));
	s->held_since = now;
	s->held_logged = false;
	return session__login_try(s, m, now);
}

static void session__on_test_delay(struct session *s, const Hbb__TestDelay *td, double now)
{
	if (td->from_client) {
		Hbb__Message m = HBB__MESSAGE__INIT;
		m.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
		m.test_delay = (Hbb__TestDelay *)td;
		session__send_msg(s, &m);
		return;
	}
	if (s->delay_sent > 0) {
		double rtt = (now - s->delay_sent) * 1000.0;
		s->rtt_ms = rtt < 0 ? 0 : (uint32_t)rtt;
		s->delay_sent = 0;
		if (s->state == SESSION_ACTIVE)
			session__qos_sample(s, now, s->rtt_ms, false);
	}
}

static void session__on_video_received(struct session *s, double now)
{
	bool was_full = !qos_ack_ready(&s->qos, now);
	qos_ack_received(&s->qos, now);
	if (was_full && qos_ack_ready(&s->qos, now) && s->ops->video_ready)
		s->ops->video_ready(s->ud);
}

static void session__on_misc(struct session *s, const Hbb__Misc *misc, double now)
{
	switch (misc->union_case) {
	case HBB__MISC__UNION_CLOSE_REASON:
		log_info("%s: controller closed: %s", s->peer_str, rd_esc(misc->close_reason));
		session__end(s, RD_ERR_EOF);
		break;
	case HBB__MISC__UNION_REFRESH_VIDEO:
	case HBB__MISC__UNION_REFRESH_VIDEO_DISPLAY:
		s->want_key = true;
		s->ops->request_keyframe(s->ud);
		break;
	case HBB__MISC__UNION_VIDEO_RECEIVED:
		if (s->state == SESSION_ACTIVE)
			session__on_video_received(s, now);
		break;
	case HBB__MISC__UNION_OPTION:
		if (s->state == SESSION_ACTIVE && qos_apply_option(&s->qos, misc->option)) {
			session__apply_rate(s);
			session__log_options(s, "changed");
		}
		if (s->state == SESSION_ACTIVE && session_msg_audio_option(misc->option) >= 0 &&
		    (session_msg_audio_option(misc->option) == 1) != s->audio)
			session__set_audio(s, !s->audio);
		if (misc->option && misc->option->supported_decoding && !s->host->codec_pref) {
			enum video_codec c = session_choose_codec(misc->option->supported_decoding);
			if (c && c != s->codec) {
				s->codec = c;
				s->want_key = true;
				s->ops->start_video(s->ud, c);
			}
		}
		break;
	default:
		break;
	}
}

/* Input hooks: one function per message type. */
static void session__on_key_event(struct session *s, const Hbb__KeyEvent *e)
{
	if (s->ops->on_key_event)
		s->ops->on_key_event(s->ud, e);
}

static void session__on_mouse_event(struct session *s, const Hbb__MouseEvent *e)
{
	if (s->ops->on_mouse_event)
		s->ops->on_mouse_event(s->ud, e);
}

static void session__on_clipboard(struct session *s, const Hbb__Clipboard *c)
{
	if (s->ops->on_clipboard)
		s->ops->on_clipboard(s->ud, c);
}

static void session__on_active(struct session *s, const Hbb__Message *m, double now)
{
	switch (m->union_case) {
	case HBB__MESSAGE__UNION_TEST_DELAY:
		session__on_test_delay(s, m->test_delay, now);
		break;
	case HBB__MESSAGE__UNION_MISC:
		session__on_misc(s, m->misc, now);
		break;
	case HBB__MESSAGE__UNION_KEY_EVENT:
		session__on_key_event(s, m->key_event);
		break;
	case HBB__MESSAGE__UNION_MOUSE_EVENT:
		session__on_mouse_event(s, m->mouse_event);
		break;
	case HBB__MESSAGE__UNION_CLIPBOARD:
		session__on_clipboard(s, m->clipboard);
		break;
	default:
		log_debug("%s: ignoring %s", s->peer_str, rd_pb_message_name(m));
		break;
	}
}

/* Before login: the allowlist. LoginRequest, TestDelay and Misc.close_reason
 * act; everything else is dropped and counted, and the first one logged.
 * Returns true when the login guard holds m back (s->held owns it). */
static bool session__on_prelogin(struct session *s, Hbb__Message *m, double now)
{
	switch (m->union_case) {
	case HBB__MESSAGE__UNION_LOGIN_REQUEST:
		return session__on_login(s, m, now);
	case HBB__MESSAGE__UNION_TEST_DELAY:
		session__on_test_delay(s, m->test_delay, now);
		return false;
	case HBB__MESSAGE__UNION_MISC:
		if (m->misc->union_case == HBB__MISC__UNION_CLOSE_REASON) {
			session__on_misc(s, m->misc, now);
			return false;
		}
		break;
	default:
		break;
	}
	if (s->prelogin_dropped++ > 0)
		return false;
	const ProtobufCFieldDescriptor *f = m->union_case == HBB__MESSAGE__UNION_MISC ?
		protobuf_c_message_descriptor_get_field(&hbb__misc__descriptor, m->misc->union_case) : NULL;
	log_warn("%s: %s%s%s before login dropped (later ones are counted, not logged)", s->peer_str,
		rd_pb_message_name(m), f ? "." : "", f ? f->name : "");
	return false;
}

void session_on_frame(struct session *s, const uint8_t *payload, size_t len, double now)
{
	if (s->state == SESSION_CLOSED)
		return;
	s->last_rx = now;
	if (s->state == SESSION_HANDSHAKE) {
		session__on_handshake(s, payload, len);
		return;
	}
	if (len == 0)
		return; /* heartbeat */
	Hbb__Message *m = rd_pb_message_unpack(payload, len);
	if (!m) {
		log_warn("%s: malformed message, closing", s->peer_str);
		session__end(s, RD_ERR_PROTO);
		return;
	}
	bool held = false;
	if (s->state == SESSION_LOGIN)
		held = session__on_prelogin(s, m, now);
	else if (s->state == SESSION_ACTIVE)
		session__on_active(s, m, now);
	if (!held)
		hbb__message__free_unpacked(m, NULL);
}

void session_tick(struct session *s, double now)
{
	if (s->state == SESSION_CLOSED)
		return;
	if (s->held) {
		/* A held login is answered on this timer (the guard bounds the
		 * wait); the controller's deadlines do not run meanwhile. */
		Hbb__Message *m = s->held;
		s->held = NULL;
		if (session__login_try(s, m, now))
			return;
		hbb__message__free_unpacked(m, NULL);
		s->held_total += now - s->held_since;
		s->last_rx = now;
		return;
	}
	if (now - s->last_rx > SESSION_IDLE_TIMEOUT) {
		log_info("%s: nothing received for %.0f s, closing", s->peer_str, SESSION_IDLE_TIMEOUT);
		session__refuse(s, "Timeout", RD_ERR_TIMEOUT);
		return;
	}
	if (s->state == SESSION_HANDSHAKE && now - s->started > SESSION_HANDSHAKE_TIMEOUT) {
		log_info("%s: handshake timed out", s->peer_str);
		session__end(s, RD_ERR_TIMEOUT);
		return;
	}
	if (s->state == SESSION_LOGIN && now - s->started - s->held_total > SESSION_LOGIN_TIMEOUT) {
		log_info("%s: no login within %.0f s", s->peer_str, SESSION_LOGIN_TIMEOUT);
		session__refuse(s, "Timeout", RD_ERR_TIMEOUT);
		return;
	}
	if (s->state != SESSION_ACTIVE)
		return;
	if (s->delay_sent > 0 && now - s->delay_sent > SESSION_IDLE_TIMEOUT)
		s->delay_sent = 0; /* lost probe: try again */
	if (s->delay_sent > 0 && now - s->delay_sent > SESSION_DELAY_PERIOD) {
		/* No answer yet: the round trip is at least this long. */
		session__qos_sample(s, now, (uint32_t)((now - s->delay_sent) * 1000.0), true);
	} else if (s->delay_sent == 0 && s->ops->backed_up && s->ops->backed_up(s->ud)) {
		session__qos_sample(s, now, s->rtt_ms, false);
	}
	if (s->delay_sent == 0 && now >= s->next_delay) {
		Hbb__TestDelay td = HBB__TEST_DELAY__INIT;
		td.last_delay = s->rtt_ms;
		td.target_bitrate = s->ops->target_kbps ? s->ops->target_kbps(s->ud) : 0;
		Hbb__Message m = HBB__MESSAGE__INIT;
		m.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
		m.test_delay = &td;
		session__send_msg(s, &m);
		s->delay_sent = now;
		s->next_delay = now + SESSION_DELAY_PERIOD;
	}
}

bool session_video_ready(struct session *s, double now)
{
	return qos_ack_ready(&s->qos, now);
}

enum session_video_result session_video_packet(struct session *s, const struct video_packet *pkt,
	bool writable, double now)
{
	if (s->state != SESSION_ACTIVE || pkt->codec != s->codec)
		return SESSION_VIDEO_IGNORED;
	if (s->want_key && !pkt->key) {
		s->frames_skipped++;
		if (!s->key_requested) {
			s->key_requested = true;
			s->ops->request_keyframe(s->ud);
		}
		return SESSION_VIDEO_SKIPPED;
	}
	if (!writable || !qos_ack_may_send(&s->qos, now)) {
		s->frames_skipped++;
		s->want_key = true;
		if (!s->key_requested) {
			s->key_requested = true;
			s->ops->request_keyframe(s->ud);
		}
		return SESSION_VIDEO_SKIPPED;
	}
	if (session_msg_send_video(s->ops->send, s->ud, pkt) < 0)
		return SESSION_VIDEO_SKIPPED;
	if (pkt->key) {
		s->want_key = false;
		s->key_requested = false;
	}
	qos_ack_sent(&s->qos, now);
	s->frames_sent++;
	return SESSION_VIDEO_SENT;
}

void session_display_changed(struct session *s, const struct video_display *d)
{
	if (s->state != SESSION_ACTIVE || (d->width == s->display_w && d->height == s->display_h))
		return;
	s->display_w = d->width;
	s->display_h = d->height;
	s->want_key = true;
	log_info("%s: display is now %dx%d", s->peer_str, d->width, d->height);
	session_msg_send_display(s->ops->send, s->ud, s->host, d);
}

void session_close(struct session *s, const char *reason)
{
	session__refuse(s, reason, RD_OK);
}

enum session_state session_state(const struct session *s) { return s->state; }
enum session_path session_path(const struct session *s) { return s->path; }
enum video_codec session_codec(const struct session *s) { return s->codec; }
enum rd_crypto_mode session_crypto_mode(const struct session *s) { return s->mode; }
bool session_encrypted(const struct session *s) { return s->encrypted; }
const char *session_peer_id(const struct session *s) { return s->peer_id; }
const struct rd_sockaddr *session_peer(const struct session *s) { return &s->peer; }
uint32_t session_rtt_ms(const struct session *s) { return s->rtt_ms; }
uint64_t session_frames_sent(const struct session *s) { return s->frames_sent; }
uint64_t session_frames_skipped(const struct session *s) { return s->frames_skipped; }
uint64_t session_prelogin_dropped(const struct session *s) { return s->prelogin_dropped; }
bool session_audio_wanted(const struct session *s) { return s->audio; }
const struct video_qos *session_qos(const struct session *s) { return &s->qos; }

/* session_io: sessions on rd_conn, fed by the video pipeline. */
#define RD_LOG_SUBSYS "session"
#include "session_io.h"

#include <ev.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"
#include "err.h"
#include "input.h"
#include "log.h"
#include "util.h"
#include "video.h"
#include "audio/audio_msg.h"

struct sio {
	struct sio_set *set;
	struct sio *next;
	struct rd_conn *conn;
	struct session *s;
	struct video_sub *sub;
	enum video_codec sub_codec;
	char peer[RD_ADDRSTRLEN];
	double started;
	/* Everything below exists only once the login succeeded (sio__logged_in). */
	bool logged_in;
	struct input_peer *ip;       /* keyboard, mouse, clipboard */
	struct audio_sub *asub;      /* sound, when the controller wants it */
	bool audio_format_sent;
	uint64_t audio_sent;
};

struct sio_set {
	struct ev_loop *loop;
	struct sio_set_config cfg;
	const struct sio_set_ops *ops;
	void *ud;
	struct input_hub *hub;       /* opened at the first login */
	struct audio *audio;         /* made at the first session that wants sound */
	struct audio_config audio_cfg;  /* cfg.audio points here */
	struct sio *list;
	unsigned count;
	uint64_t prelogin_dropped;   /* of sessions already over */
};

static int sio__send(void *ud, const uint8_t *p, size_t len)
{
	struct sio *x = ud;
	return rd_conn_send(x->conn, p, len);
}

/* Sound goes ahead of any video waiting in the send queue. */
static int sio__send_urgent(void *ud, const uint8_t *p, size_t len)
{
	struct sio *x = ud;
	return rd_conn_send_urgent(x->conn, p, len);
}

static void sio__set_crypto(void *ud, const struct rd_crypto_stream *cs)
{
	struct sio *x = ud;
	rd_conn_set_crypto(x->conn, cs);
}

static void sio__get_display(void *ud, struct video_display *d)
{
	struct sio *x = ud;
	struct video *v = x->set->ops->video(x->set->ud);
	memset(d, 0, sizeof(*d));
	if (v)
		video_get_display(v, d);
}

static void sio__on_packet(struct video_packet *pkt, void *ud)
{
	struct sio *x = ud;
	if (rd_conn_closing(x->conn))
		return;
	session_video_packet(x->s, pkt, rd_conn_writable(x->conn), rd_now());
}

static bool sio__ready(void *ud)
{
	struct sio *x = ud;
	return !rd_conn_closing(x->conn) && session_video_ready(x->s, rd_now());
}

static void sio__on_resize(const struct video_display *d, void *ud)
{
	struct sio *x = ud;
	session_display_changed(x->s, d);
}

static void sio__on_error(int err, void *ud)
{
	struct sio *x = ud;
	bool opened = video_sub_opened(x->sub);
	log_warn("%s: capture %s (%s); closing the session", x->peer, opened ? "failed" :
		"did not open", rd_strerror(err));
	/* Let go of the failed pipeline, so that it can be opened again. */
	video_unsubscribe(x->sub);
	x->sub = NULL;
	session_close(x->s, opened ? "Screen capture failed on the host" :
		"No screen to capture on the host");
}

static void sio__input_start(struct sio *x, struct video *v);

/* Capture opened after this session logged in: its display, then frames. */
static void sio__on_ready(const struct video_display *d, void *ud)
{
	struct sio *x = ud;
	session_display_changed(x->s, d);
	sio__input_start(x, x->set->ops->video(x->set->ud));
}

static const struct video_sub_ops sio_video_ops = {
	.on_packet = sio__on_packet,
	.on_resize = sio__on_resize,
	.on_error = sio__on_error,
	.on_ready = sio__on_ready,
};

/* Keyboard, mouse and clipboard, once logged in and the capture backend is known. */
static void sio__input_start(struct sio *x, struct video *v)
{
	const struct sio_set_config *cfg = &x->set->cfg;
	if (!x->logged_in || !v || video_opening(v))
		return;
	if (!x->set->hub) {
		struct input_hub_config hc = { .backend = cfg->input_backend, .display = cfg->display,
			.capture = video_backend_name(v), .view_only = cfg->view_only,
			.clipboard_max = cfg->clipboard_max };
		x->set->hub = input_hub_new(x->set->loop, &hc);
	}
	if (!x->ip)
		x->ip = input_peer_new(x->set->hub, x->peer, sio__send, x);
}

/* The login succeeded: the one place where a session gets what it uses after
 * login. Before this it has the pre-login limits of sio_set_add and nothing
 * else (no video subscription, no input peer, no clipboard). */
static void sio__logged_in(void *ud)
{
	struct sio *x = ud;
	if (x->logged_in)
		return;
	x->logged_in = true;
	struct rd_conn_limits lim = { .max_frame = RD_FRAME_MAX_SESSION, .sndq_soft = SIO_SNDQ_SOFT,
		.sndq_hard = SIO_SNDQ_HARD, .idle_timeout = SESSION_IDLE_TIMEOUT + 5 };
	rd_conn_set_limits(x->conn, &lim);
	/* Crypto is on by now: frames held back are sealed in order when they go. */
	rd_conn_enable_urgent(x->conn);
	struct video *v = x->set->ops->video(x->set->ud);
	if (!v) {
		session_close(x->s, "No screen to capture on the host");
		return;
	}
	sio__input_start(x, v);
}

static void sio__start_video(void *ud, enum video_codec codec)
{
	struct sio *x = ud;
	if (!x->logged_in)
		return;
	struct video *v = x->set->ops->video(x->set->ud);
	if (!v) {
		session_close(x->s, "No screen to capture on the host");
		return;
	}
	if (x->sub && x->sub_codec == codec) {
		video_request_keyframe(x->sub);
		return;
	}
	if (x->sub)
		video_unsubscribe(x->sub);
	x->sub = NULL;
	int rc = video_subscribe(v, codec, &sio_video_ops, x, &x->sub);
	if (rc < 0) {
		log_warn("%s: cannot start video: %s", x->peer, rd_strerror(rc));
		session_close(x->s, "Video encoder unavailable on the host");
		return;
	}
	x->sub_codec = codec;
	video_sub_set_ready(x->sub, sio__ready);
	sio__input_start(x, v);
	int fps, quality;
	session_video_rate(x->s, &fps, &quality);
	video_set_fps(x->sub, fps);
	video_set_quality(x->sub, quality);
	video_request_keyframe(x->sub);
}

static void sio__set_video_rate(void *ud, int fps, int quality)
{
	struct sio *x = ud;
	if (!x->sub)
		return;
	video_set_fps(x->sub, fps);
	video_set_quality(x->sub, quality);
}

static uint32_t sio__target_kbps(void *ud)
{
	struct sio *x = ud;
	return x->sub ? video_target_kbps(x->sub) : 0;
}

static bool sio__backed_up(void *ud)
{
	struct sio *x = ud;
	return rd_conn_queued(x->conn) > SIO_SNDQ_BACKED;
}

static void sio__video_ready(void *ud)
{
	struct sio *x = ud;
	if (x->sub)
		video_sub_kick(x->sub);
}

static void sio__keyframe(void *ud)
{
	struct sio *x = ud;
	if (x->sub)
		video_request_keyframe(x->sub);
}

static void sio__close(void *ud, int reason)
{
	struct sio *x = ud;
	(void)reason;
	rd_conn_close_after_flush(x->conn);
}

static void sio__pk_refresh(void *ud)
{
	struct sio *x = ud;
	x->set->ops->pk_refresh(x->set->ud);
}

static void sio__on_key(void *ud, const Hbb__KeyEvent *e)
{
	struct sio *x = ud;
	if (x->ip)
		input_peer_key(x->ip, e);
}

static void sio__on_mouse(void *ud, const Hbb__MouseEvent *e)
{
	struct sio *x = ud;
	struct video_display d = { 0 };
	sio__get_display(x, &d);
	if (x->ip)
		input_peer_mouse(x->ip, e, d.width, d.height);
}

static void sio__on_clipboard(void *ud, const Hbb__Clipboard *c)
{
	struct sio *x = ud;
	if (x->ip)
		input_peer_clipboard(x->ip, c);
}

static int64_t sio__clock_ms(void *ud)
{
	struct sio_set *set = ud;
	struct video *v = set->ops->video(set->ud);
	return v ? video_clock_ms(v) : (int64_t)(rd_now() * 1000.0);
}

static void sio__on_audio(const struct audio_packet *p, void *ud)
{
	struct sio *x = ud;
	if (rd_conn_closing(x->conn))
		return;
	if (!x->audio_format_sent) {
		log_debug("%s: sound starts at %lld ms (video clock now %lld ms)", x->peer,
			(long long)p->pts_ms, (long long)sio__clock_ms(x->set));
		if (audio_msg_send_format(sio__send_urgent, x, AUDIO_RATE, AUDIO_CHANNELS) < 0)
			return;
		x->audio_format_sent = true;
	}
	if (audio_msg_send_frame(sio__send_urgent, x, p->data, p->len, p->pts_ms) == 0)
		x->audio_sent++;
}

/* Sound on or off for this session (only ever after its login). */
static void sio__set_audio(void *ud, bool on)
{
	struct sio *x = ud;
	struct sio_set *set = x->set;
	if (!x->logged_in || !set->cfg.audio || on == (x->asub != NULL))
		return;
	if (!on) {
		audio_unsubscribe(x->asub);
		x->asub = NULL;
		log_info("%s: sound off (the controller asked)", x->peer);
		return;
	}
	if (!set->audio) {
		struct audio_config ac = *set->cfg.audio;
		ac.clock_ms = sio__clock_ms;
		ac.clock_ud = set;
		set->audio = audio_new(set->loop, &ac);
	}
	x->asub = audio_subscribe(set->audio, sio__on_audio, x);
}

static const struct session_ops sio_ops = {
	.send = sio__send,
	.set_crypto = sio__set_crypto,
	.get_display = sio__get_display,
	.logged_in = sio__logged_in,
	.start_video = sio__start_video,
	.request_keyframe = sio__keyframe,
	.close = sio__close,
	.pk_refresh = sio__pk_refresh,
	.on_key_event = sio__on_key,
	.on_mouse_event = sio__on_mouse,
	.on_clipboard = sio__on_clipboard,
	.set_video_rate = sio__set_video_rate,
	.target_kbps = sio__target_kbps,
	.backed_up = sio__backed_up,
	.video_ready = sio__video_ready,
	.set_audio = sio__set_audio,
};

static void sio__on_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	struct sio *x = ud;
	(void)c;
	session_on_frame(x->s, p, len, rd_now());
}

static void sio__on_close(struct rd_conn *c, int reason, void *ud)
{
	struct sio *x = ud;
	struct sio_set *set = x->set;
	const char *why = reason == RD_ERR_CRYPTO ? "decryption failed (tampered or out-of-order frame)"
		: rd_strerror(reason);
	uint64_t dropped = session_prelogin_dropped(x->s);
	char extra[64] = "";
	if (dropped)
		snprintf(extra, sizeof(extra), ", %" PRIu64 " messages dropped before login", dropped);
	log_notice("%s: session over (%s, %s), %" PRIu64 " bytes out, %" PRIu64 " frames sent, %" PRIu64
		" skipped%s", x->peer, session_path_name(session_path(x->s)),
		reason == RD_OK ? "closed" : why, rd_conn_bytes_out(c),
		session_frames_sent(x->s), session_frames_skipped(x->s), extra);
	set->prelogin_dropped += dropped;
	if (x->sub)
		video_unsubscribe(x->sub);
	audio_unsubscribe(x->asub);
	input_peer_free(x->ip);  /* releases keys and buttons still held */
	for (struct sio **pp = &set->list; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	set->count--;
	session_free(x->s);
	free(x);
}

static const struct rd_conn_ops sio_conn_ops = {
	.on_frame = sio__on_frame,
	.on_close = sio__on_close,
};

static unsigned sio__pending_from(const struct sio_set *set, const struct rd_sockaddr *peer)
{
	unsigned n = 0;
	for (const struct sio *x = set->list; x; x = x->next)
		if (!rd_conn_closing(x->conn) && session_state(x->s) < SESSION_ACTIVE &&
			login_same_source(session_peer(x->s), peer))
			n++;
	return n;
}

void sio_set_add(struct sio_set *set, struct rd_conn *c, enum session_path path,
	const struct rd_sockaddr *peer)
{
	struct sio *x = xcalloc(1, sizeof(*x));
	x->set = set;
	x->conn = c;
	if (!peer)
		peer = rd_conn_peer(c);
	unsigned pending = sio__pending_from(set, peer);
	rd_net_addr_str(peer, x->peer, sizeof(x->peer));
	x->s = session_new(set->cfg.host, peer, path, &sio_ops, x);
	session_set_video_limits(x->s, set->cfg.fps, set->cfg.quality);
	x->next = set->list;
	set->list = x;
	set->count++;
	/* Small until the login succeeds (sio__logged_in lifts them). */
	struct rd_conn_limits lim = { .max_frame = SIO_FRAME_MAX_PRELOGIN,
		.sndq_soft = SIO_SNDQ_SOFT_PRELOGIN, .sndq_hard = SIO_SNDQ_HARD_PRELOGIN, .first_msg_timeout = SESSION_HANDSHAKE_TIMEOUT + 30,
		.idle_timeout = SESSION_IDLE_TIMEOUT + 5 };
	rd_conn_set_limits(c, &lim);
	rd_conn_set_ops(c, &sio_conn_ops, x);
	if (set->count > SIO_MAX_SESSIONS || pending >= SIO_MAX_PENDING_PER_SOURCE) {
		if (pending >= SIO_MAX_PENDING_PER_SOURCE)
			log_warn("%s: %u connections from this address are not logged in yet; refused",
				x->peer, pending);
		else
			log_warn("%s: too many sessions (%u); refused", x->peer, SIO_MAX_SESSIONS);
		session_close(x->s, "Too many sessions on this host");
		rd_conn_close(c, RD_ERR_LIMIT);
		return;
	}
	x->started = rd_now();
	if (session_start(x->s, x->started) < 0)
		rd_conn_close(c, RD_ERR_INVAL);
}

void sio_set_tick(struct sio_set *set, double now)
{
	for (struct sio *x = set->list; x; x = x->next)
		if (!rd_conn_closing(x->conn))
			session_tick(x->s, now);
}

void sio_set_close_all(struct sio_set *set, const char *reason)
{
	for (struct sio *x = set->list; x; x = x->next)
		if (!rd_conn_closing(x->conn)) {
			session_close(x->s, reason);
			rd_conn_close_after_flush(x->conn);
		}
}

unsigned sio_set_count(const struct sio_set *set) { return set->count; }

uint64_t sio_set_prelogin_dropped(const struct sio_set *set)
{
	uint64_t n = set->prelogin_dropped;
	for (const struct sio *x = set->list; x; x = x->next)
		n += session_prelogin_dropped(x->s);
	return n;
}

void sio_set_status_json(const struct sio_set *set, struct rd_json *j)
{
	rd_json_arr(j, "sessions");
	for (const struct sio *x = set->list; x; x = x->next) {
		const struct session *s = x->s;
		const struct video_qos *q = session_qos(s);
		enum video_codec c = session_codec(s);
		rd_json_obj(j, NULL);
		rd_json_str(j, "peer", x->peer);
		rd_json_str(j, "path", session_path_name(session_path(s)));
		rd_json_str(j, "state", session_state_name(session_state(s)));
		rd_json_str(j, "codec", c == VIDEO_CODEC_H264 ? "h264" : c == VIDEO_CODEC_VP9 ? "vp9" : "");
		rd_json_str(j, "controller", session_peer_id(s));
		rd_json_bool(j, "encrypted", session_encrypted(s));
		rd_json_str(j, "key_mode", session_crypto_mode(s) == RD_CRYPTO_KDF ? "per-direction" : "shared");
		rd_json_uint(j, "rtt_ms", session_rtt_ms(s));
		rd_json_uint(j, "frames_sent", session_frames_sent(s));
		rd_json_uint(j, "frames_skipped", session_frames_skipped(s));
		rd_json_uint(j, "bytes_out", rd_conn_bytes_out(x->conn));
		rd_json_uint(j, "bytes_in", rd_conn_bytes_in(x->conn));
		rd_json_num(j, "seconds", rd_now() - x->started, 0);
		rd_json_int(j, "fps", qos_fps(q));
		rd_json_int(j, "quality", qos_quality(q));
		rd_json_int(j, "qos_level", q->level);
		rd_json_bool(j, "frame_acks", q->ack_required);
		rd_json_uint(j, "frames_in_flight", q->in_flight);
		rd_json_uint(j, "send_queue", rd_conn_queued(x->conn));
		rd_json_uint(j, "prelogin_dropped", session_prelogin_dropped(s));
		rd_json_bool(j, "audio", x->asub != NULL);
		rd_json_uint(j, "audio_packets", x->audio_sent);
		rd_json_end(j, '}');
	}
	rd_json_end(j, ']');
}

struct sio_set *sio_set_new(struct ev_loop *loop, const struct sio_set_config *cfg,
	const struct sio_set_ops *ops, void *ud)
{
	struct sio_set *set = xcalloc(1, sizeof(*set));
	set->loop = loop;
	set->cfg = *cfg;
	if (cfg->audio) {
		set->audio_cfg = *cfg->audio;
		set->cfg.audio = &set->audio_cfg;
	}
	set->ops = ops;
	set->ud = ud;
	return set;
}

void sio_set_free(struct sio_set *set)
{
	audio_free(set->audio);
	input_hub_free(set->hub);
	free(set);
}

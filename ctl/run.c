/* run: see run.h. All of it happens on the default loop; decoding runs on
 * the decoder's worker thread. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <libavutil/frame.h>
#include <sodium.h>

#define RD_LOG_SUBSYS "rdctl"
#include "args.h"
#include "err.h"
#include "log.h"
#include "password.h"
#include "run.h"
#include "known_peers.h"
#include "session.h"
#include "sink.h"
#include "util.h"

#define MEDIA_WAIT_SECS 15.0

struct run {
	struct ctl *c;
	struct ev_loop *loop;
	struct ctl_run_opts o;
	struct ctl_sink *sink;     /* NULL: handshake only */
	struct ctl_result *res;
	struct ctl_link link;
	struct ctl_connect *cc;
	struct ctl_session *s;
	struct ctl_decoder *dec;
	ev_timer deadline, media, stop;
	ev_signal sigint, sigterm;
	char password[256];
	char known[4096];
	enum ctl_codec codec;
	double t_ready, t_key, t_last_refresh;
	bool got_key, finished;
};

static void run_end(struct run *r)
{
	if (r->finished)
		return;
	r->finished = true;
	r->res->total_ms = (rd_now() - r->c->t0) * 1000.0;
	ev_break(r->loop, EVBREAK_ALL);
}

void ctl_run_fail(struct run *r, int exit_code, const char *code, const char *fmt, ...)
{
	char msg[CTL_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_result_fail(r->res, exit_code, code, "%s", msg);
	run_end(r);
}

void ctl_run_finish(struct run *r)
{
	run_end(r);
}

struct ev_loop *ctl_run_loop(struct run *r)
{
	return r->loop;
}

void ctl_run_stop_after(struct run *r, double secs)
{
	ev_timer_stop(r->loop, &r->stop);
	ev_timer_set(&r->stop, secs, 0);
	ev_timer_start(r->loop, &r->stop);
}

/* Hand the stop to the sink; what it leaves is done here. */
static void run_stop(struct run *r, enum ctl_sink_stop why)
{
	if (r->sink && r->sink->ops->finish && r->sink->ops->finish(r->sink, why))
		return;
	if (why == CTL_SINK_SIGNAL)
		ctl_result_fail(r->res, 130, "interrupted", "interrupted");
	else if (why == CTL_SINK_END && !r->res->error)
		ctl_result_fail(r->res, CTL_EXIT_FAIL, "peer_closed", "the session ended");
	run_end(r);
}

static void refresh(struct run *r)
{
	double now = rd_now();
	if (r->s && now - r->t_last_refresh > 0.5) {
		r->t_last_refresh = now;
		ctl_session_refresh_video(r->s);
	}
}

static void on_stop_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	run_stop(w->data, CTL_SINK_TIME);
}

/* ---- decoded frames ---- */

static void on_decoded(struct ctl_decoder *d, AVFrame *f, int64_t pts, double ms, void *ud)
{
	struct run *r = ud;
	(void)d;
	if (r->finished) {
		av_frame_free(&f);
		return;
	}
	if (!r->res->width) {
		r->res->width = f->width;
		r->res->height = f->height;
		ctl_result_phase(r->res, CTL_PH_DECODE, (rd_now() - r->t_key) * 1000.0);
		log_info("first frame %dx%d decoded (%.1f ms in the decoder)", f->width, f->height, ms);
	}
	f->pts = pts;	/* the agent's time of the frame, in ms */
	r->sink->ops->frame(r->sink, f);
	av_frame_free(&f);
}

static void on_need_key(struct ctl_decoder *d, int err, void *ud)
{
	(void)d;
	(void)err;
	refresh(ud);
}

static const struct ctl_decoder_ops dec_ops = { .on_frame = on_decoded, .on_need_keyframe = on_need_key };

/* ---- session ---- */

static void on_ready(struct ctl_session *s, int w, int h, void *ud)
{
	struct run *r = ud;
	r->t_ready = rd_now();
	r->res->connect_ms = (r->t_ready - r->c->t0) * 1000.0;
	ev_timer_stop(r->loop, &r->deadline);
	if (!r->sink) {
		run_end(r);
		return;
	}
	const struct ctl_sink_ops *ops = r->sink->ops;
	bool media = ops->flags & CTL_SINK_MEDIA;
	if (ops->frame && !(r->dec = ctl_decoder_new(r->loop, &dec_ops, r))) {
		ctl_run_fail(r, CTL_EXIT_FAIL, "internal", "cannot start the decoder");
		return;
	}
	/* The agent picks our preference, H.264 when we have none. */
	if (media)
		ctl_decoder_prepare(r->dec, r->c->vs.codec && !strcmp(r->c->vs.codec, "vp9") ?
			CTL_CODEC_VP9 : CTL_CODEC_H264);
	if (ops->open)
		ops->open(r->sink, s, w, h);
	if (r->finished)
		return;
	if (r->dec)
		refresh(r);	/* a keyframe now, not at the agent's next interval */
	if (media) {
		ev_timer_set(&r->media, MEDIA_WAIT_SECS, 0);
		ev_timer_start(r->loop, &r->media);
	}
}

/* The first keyframe: what the result says about the video. */
static void first_key(struct run *r, enum ctl_codec codec, size_t len)
{
	r->got_key = true;
	r->t_key = rd_now();
	r->codec = codec;
	r->res->codec = ctl_codec_name(codec);
	ctl_result_phase(r->res, CTL_PH_KEYFRAME, (r->t_key - r->t_ready) * 1000.0);
	ev_timer_stop(r->loop, &r->media);
	log_info("first keyframe: %s, %zu bytes", ctl_codec_name(codec), len);
}

static void on_video(struct ctl_session *s, enum ctl_codec codec, const uint8_t *data, size_t len,
	bool key, int64_t pts, void *ud)
{
	struct run *r = ud;
	(void)s;
	if (r->finished || !r->dec)
		return;
	if (!r->got_key) {
		if (!key) {
			refresh(r);
			return;
		}
		first_key(r, codec, len);
	}
	const struct ctl_sink_ops *ops = r->sink->ops;
	bool decode = !ops->packet || ops->packet(r->sink, codec, data, len, key, pts);
	if (r->finished)
		return;
	if (codec != r->codec) {
		r->codec = codec;
		r->res->codec = ctl_codec_name(codec);
	}
	if (decode)
		ctl_decoder_push(r->dec, codec, data, len, key, pts);
}

static void on_end(struct ctl_session *s, void *ud)
{
	(void)s;
	run_stop(ud, CTL_SINK_END);
}

static void on_message(struct ctl_session *s, const Hbb__Message *m, void *ud)
{
	struct run *r = ud;
	(void)s;
	if (r->sink && !r->finished && r->sink->ops->message)
		r->sink->ops->message(r->sink, m);
}

static const struct ctl_session_ops sess_ops = {
	.on_ready = on_ready, .on_video = on_video, .on_end = on_end, .on_message = on_message,
};

static void on_connected(struct ctl_connect *cc, int err, struct rd_conn *conn,
	const struct ctl_link *link, void *ud)
{
	struct run *r = ud;
	struct ctl_session_opts so = { 0 };
	(void)cc;
	if (err != RD_OK) {
		run_end(r);
		return;
	}
	r->link = *link;
	r->res->path = link->path;
	ctl_result_phase(r->res, CTL_PH_LOOKUP, link->lookup_ms);
	ctl_result_phase(r->res, CTL_PH_PUNCH, link->punch_ms);
	so.id = r->c->id;
	so.peer_pk = r->link.peer_pk;
	so.password = r->password;
	so.known_peers = r->known;
	so.prefer = r->c->vs.codec && !strcmp(r->c->vs.codec, "h264") ? CTL_CODEC_H264
		: r->c->vs.codec && !strcmp(r->c->vs.codec, "vp9") ? CTL_CODEC_VP9 : CTL_CODEC_NONE;
	so.handshake_only = !r->sink;
	so.fps = (int)r->c->vs.fps;
	ctl_args_quality(r->c->vs.quality, &so.image_quality, &so.custom_quality);
	/* The live viewer paces the agent with acks; files take what comes. */
	so.video_ack = r->sink && (r->sink->ops->flags & CTL_SINK_ACK);
	so.audio = r->sink && (r->sink->ops->flags & CTL_SINK_AUDIO) && !r->c->vs.no_audio;
	r->s = ctl_session_new(r->loop, conn, &so, r->res, &sess_ops, r);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;
	(void)loop;
	(void)revents;
	ctl_run_fail(r, CTL_EXIT_TIMEOUT, "timeout", "%s did not finish the handshake and login "
		"within %.1f s", r->c->id, r->c->set.timeout);
}

static void on_media_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;
	(void)loop;
	(void)revents;
	ctl_run_fail(r, CTL_EXIT_TIMEOUT, "timeout", "no keyframe from %s within %.0f s after login",
		r->c->id, MEDIA_WAIT_SECS);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	log_info("interrupted");
	run_stop(w->data, CTL_SINK_SIGNAL);
}

/* Settings and secrets the session needs; 0 when ready, else the exit code
 * (res says why). */
static int run_setup(struct run *r, struct ctl_connect_opts *co, char *relay, size_t relaysz)
{
	struct ctl *c = r->c;
	int iq, cq, rc;
	if (r->sink && ctl_args_quality(c->vs.quality, &iq, &cq) != RD_OK) {
		ctl_result_fail(r->res, CTL_EXIT_USAGE, "usage", "--quality takes low, balanced, best or "
			"a percentage from 10 to 2000");
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_prepare(c, r->res, co, relay, relaysz, r->known, sizeof(r->known))) != 0)
		return rc;
	if (r->sink && ctl_password_get(c, r->password, sizeof(r->password)) != RD_OK) {
		ctl_result_fail(r->res, CTL_EXIT_USAGE, "usage", "no password: use --password-file, "
			"RDESK_PASSWORD or run on a terminal");
		return CTL_EXIT_USAGE;
	}
	co->force_relay = r->o.force_relay || c->set.relay;
	co->no_relay = r->o.no_relay;
	co->deadline = rd_now() + c->set.timeout;
	return 0;
}

static void run_watchers(struct run *r, bool start)
{
	ev_timer *timers[] = { &r->deadline, &r->media, &r->stop };
	if (start) {
		ev_timer_init(&r->deadline, on_deadline, r->c->set.timeout, 0);
		ev_timer_init(&r->media, on_media_timeout, MEDIA_WAIT_SECS, 0);
		ev_timer_init(&r->stop, on_stop_timer, 1, 0);
		ev_signal_init(&r->sigint, on_signal, SIGINT);
		ev_signal_init(&r->sigterm, on_signal, SIGTERM);
		r->deadline.data = r->media.data = r->stop.data = r;
		r->sigint.data = r->sigterm.data = r;
		ev_signal_start(r->loop, &r->sigint);
		ev_signal_start(r->loop, &r->sigterm);
		ev_timer_start(r->loop, &r->deadline);
		return;
	}
	for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++)
		ev_timer_stop(r->loop, timers[i]);
	ev_signal_stop(r->loop, &r->sigint);
	ev_signal_stop(r->loop, &r->sigterm);
}

int ctl_run(struct ctl *c, const struct ctl_run_opts *o, struct ctl_result *res,
	struct ctl_link *link)
{
	struct run *r = xcalloc(1, sizeof(*r));
	struct ctl_connect_opts co = { 0 };
	char relay[160];
	int rc;
	r->c = c;
	r->o = *o;
	r->sink = o->sink;
	r->res = res;
	if (r->sink)
		r->sink->run = r;
	if (run_setup(r, &co, relay, sizeof(relay)) != 0)
		goto out;
	r->loop = ev_default_loop(0);
	run_watchers(r, true);
	r->cc = ctl_connect_start(r->loop, &co, res, on_connected, r);
	if (r->cc)
		ev_run(r->loop, 0);
	if (r->sink && (r->sink->ops->flags & CTL_SINK_GOODBYE) && r->s && !r->res->error)
		ctl_session_close(r->s);
	ctl_session_free(r->s);
	ctl_decoder_free(r->dec);
	if (r->sink && r->sink->ops->free)
		r->sink->ops->free(r->sink);
	r->sink = NULL;
	ctl_connect_free(r->cc);
	run_watchers(r, false);
	/* let deferred closes run */
	ev_run(r->loop, EVRUN_NOWAIT);
	if (link)
		*link = r->link;
out:
	if (r->sink && r->sink->ops->free)
		r->sink->ops->free(r->sink);
	res->total_ms = (rd_now() - c->t0) * 1000.0;
	rc = res->exit_code;
	sodium_memzero(r->password, sizeof(r->password));
	free(r);
	return rc;
}

int ctl_prepare(struct ctl *c, struct ctl_result *res, struct ctl_connect_opts *co, char *relay,
	size_t relaysz, char *known, size_t knownsz)
{
	if (!c->set.server || !c->set.server[0]) {
		ctl_result_fail(res, CTL_EXIT_USAGE, "usage", "no server: use --server, RDESK_SERVER or "
			"server= in rdctl.ini");
		return CTL_EXIT_USAGE;
	}
	if (!c->set.key || !c->set.key[0] || rd_pk_from_b64(c->set.key, c->server_pk) != RD_OK) {
		ctl_result_fail(res, CTL_EXIT_USAGE, "usage", "no valid server key: use --key, RDESK_KEY "
			"or key= in rdctl.ini (rd-rendezvous --print-key)");
		return CTL_EXIT_USAGE;
	}
	c->have_server_pk = true;
	if (ctl_server_parse(c->set.server, &co->server, relay, relaysz) != RD_OK) {
		ctl_result_fail(res, CTL_EXIT_USAGE, "usage", "cannot use the server address '%s'",
			c->set.server);
		return CTL_EXIT_USAGE;
	}
	if (ctl_path_expand(c->set.known_peers ? c->set.known_peers : "~/.config/rdesk/known_peers",
	    known, knownsz) != RD_OK) {
		ctl_result_fail(res, CTL_EXIT_USAGE, "usage", "cannot place known_peers (HOME unset?)");
		return CTL_EXIT_USAGE;
	}
	co->id = c->id;
	co->default_relay = relay;
	co->licence = c->set.key;
	co->server_pk = c->server_pk;
	co->force_relay = c->set.relay;
	co->nat_type = 0;
	co->deadline = c->t0 + c->set.timeout;
	return 0;
}

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
#include "media.h"
#include "password.h"
#include "run.h"
#include "known_peers.h"
#include "session.h"
#include "util.h"
#include "viewer.h"
#include "mpv_input.h"

#define MEDIA_WAIT_SECS 15.0
#define HELD_MAX 256

struct held_pkt {
	uint8_t *data;
	size_t len;
	bool key;
	int64_t pts;
};

struct run {
	struct ctl *c;
	struct ev_loop *loop;
	struct ctl_run_opts o;
	struct ctl_result *res;
	struct ctl_link link;
	struct ctl_connect *cc;
	struct ctl_session *s;
	struct ctl_decoder *dec;
	struct ctl_viewer *viewer;
	struct ctl_mpv_input *mpv_input;   /* keyboard and mouse from the mpv window */
	struct ctl_recorder *rec;
	ev_timer deadline, media, stop;
	ev_signal sigint, sigterm;
	char password[256];
	char known[4096];
	enum ctl_codec codec;
	double t_ready, t_key, t_last_refresh, rec_t0;
	int64_t rec_pts0, rec_last_pts;
	bool rec_full;          /* a frame at or past --duration arrived */
	bool got_key, finished, recording;
	struct held_pkt held[HELD_MAX];
	int nheld;
};

static void run_end(struct run *r)
{
	if (r->finished)
		return;
	r->finished = true;
	r->res->total_ms = (rd_now() - r->c->t0) * 1000.0;
	ev_break(r->loop, EVBREAK_ALL);
}

static void run_fail(struct run *r, int exit_code, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void run_fail(struct run *r, int exit_code, const char *code, const char *fmt, ...)
{
	char msg[CTL_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_result_fail(r->res, exit_code, code, "%s", msg);
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

/* ---- recording ---- */

static void rec_stop(struct run *r)
{
	double dur = 0;
	long frames = 0;
	/* The file covers the time recorded: all of --duration, or less when the
	 * session ended early; an idle screen at the end still counts. */
	double secs = r->rec_full ? r->c->vs.duration : RD_MIN(r->c->vs.duration, rd_now() - r->rec_t0);
	int64_t end = r->rec_pts0 + (int64_t)(secs * 1000.0);
	if (!r->rec)
		return;
	if (end < r->rec_last_pts)
		end = r->rec_last_pts + 1;
	int rc = ctl_recorder_finish(r->rec, end, &dur, &frames);
	r->rec = NULL;
	if (rc != RD_OK) {
		run_fail(r, CTL_EXIT_FAIL, "write_failed", "cannot finish %s: %s", r->c->vs.output,
			rd_strerror(rc));
		return;
	}
	r->res->duration_s = dur;
	r->res->frames = frames;
	r->res->output = r->c->vs.output;
	run_end(r);
}

static void rec_put(struct run *r, const uint8_t *data, size_t len, bool key, int64_t pts)
{
	if (ctl_recorder_write(r->rec, data, len, key, pts) != RD_OK) {
		run_fail(r, CTL_EXIT_FAIL, "write_failed", "cannot write %s", r->c->vs.output);
		return;
	}
	r->rec_last_pts = pts;
}

static void on_stop_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;
	(void)loop;
	(void)revents;
	if (r->o.mode == CTL_RUN_RECORD)
		rec_stop(r);
	else
		run_end(r);
}

static void rec_start(struct run *r, int w, int h)
{
	int rc = ctl_recorder_new(r->c->vs.output, r->codec, w, h, &r->rec);
	if (rc != RD_OK) {
		run_fail(r, CTL_EXIT_FAIL, "write_failed", "cannot record %s to %s: %s",
			ctl_codec_name(r->codec), r->c->vs.output, rd_strerror(rc));
		return;
	}
	ctl_recorder_set_result(r->rec, r->res);	/* the files, when the size changes */
	r->recording = true;
	for (int i = 0; i < r->nheld && !r->finished; i++)
		rec_put(r, r->held[i].data, r->held[i].len, r->held[i].key, r->held[i].pts);
	for (int i = 0; i < r->nheld; i++)
		free(r->held[i].data);
	r->nheld = 0;
	double left = r->c->vs.duration - (rd_now() - r->rec_t0);
	ev_timer_set(&r->stop, left > 0.001 ? left : 0.001, 0);
	ev_timer_start(r->loop, &r->stop);
}

/* ---- decoded frames ---- */

static void on_decoded(struct ctl_decoder *d, AVFrame *f, int64_t pts, double ms, void *ud)
{
	struct run *r = ud;
	(void)d;
	(void)pts;
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
	switch (r->o.mode) {
	case CTL_RUN_SCREENSHOT: {
		double t0 = rd_now();
		int rc = ctl_png_write(f, r->c->vs.output);
		ctl_result_phase(r->res, CTL_PH_WRITE, (rd_now() - t0) * 1000.0);
		if (rc != RD_OK)
			run_fail(r, CTL_EXIT_FAIL, "write_failed", "cannot write %s: %s", r->c->vs.output,
				rd_strerror(rc));
		else
			r->res->output = r->c->vs.output;
		r->res->frames = 1;
		run_end(r);
		break;
	}
	case CTL_RUN_RECORD:
		if (!r->recording && !r->rec)
			rec_start(r, f->width, f->height);
		break;
	case CTL_RUN_HOOKS:
		if (r->o.hooks->on_frame)
			r->o.hooks->on_frame(r, f, r->o.hooks->ud);
		break;
	case CTL_RUN_VIEW:
		if (r->viewer && ctl_viewer_frame(r->viewer, f) == RD_ERR_IO)
			run_fail(r, CTL_EXIT_FAIL, "no_viewer", "neither mpv nor ffplay could be started");
		r->res->frames++;
		break;
	default:
		break;
	}
	av_frame_free(&f);
}

static void on_need_key(struct ctl_decoder *d, int err, void *ud)
{
	(void)d;
	(void)err;
	refresh(ud);
}

static const struct ctl_decoder_ops dec_ops = { .on_frame = on_decoded, .on_need_keyframe = on_need_key };

static void on_viewer_closed(struct ctl_viewer *v, void *ud)
{
	struct run *r = ud;
	(void)v;
	log_info("the viewer was closed");
	run_end(r);
}

static const struct ctl_viewer_ops viewer_ops = { .on_closed = on_viewer_closed };

/* ---- session ---- */

static void on_ready(struct ctl_session *s, int w, int h, void *ud)
{
	struct run *r = ud;
	(void)s;
	r->t_ready = rd_now();
	r->res->connect_ms = (r->t_ready - r->c->t0) * 1000.0;
	ev_timer_stop(r->loop, &r->deadline);
	if (r->o.mode == CTL_RUN_ATTEMPT) {
		run_end(r);
		return;
	}
	if (r->o.mode == CTL_RUN_HOOKS) {
		if (r->o.hooks->on_frame && !(r->dec = ctl_decoder_new(r->loop, &dec_ops, r)))
			run_fail(r, CTL_EXIT_FAIL, "internal", "cannot start the decoder");
		else
			r->o.hooks->on_ready(r, s, w, h, r->o.hooks->ud);
		if (r->dec && !r->finished)
			refresh(r);
		return;
	}
	r->res->width = 0;
	(void)w;
	(void)h;
	refresh(r);	/* a keyframe now, not at the agent's next interval */
	if (!(r->dec = ctl_decoder_new(r->loop, &dec_ops, r))) {
		run_fail(r, CTL_EXIT_FAIL, "internal", "cannot start the decoder");
		return;
	}
	/* The agent picks our preference, H.264 when we have none. */
	ctl_decoder_prepare(r->dec, r->c->vs.codec && !strcmp(r->c->vs.codec, "vp9") ? CTL_CODEC_VP9
		: CTL_CODEC_H264);
	if (r->o.mode == CTL_RUN_VIEW) {
		char title[160];
		snprintf(title, sizeof(title), "rdctl %s", r->c->id);
		if (strcmp(r->c->vs.viewer, "none") != 0)
			r->viewer = ctl_viewer_new(r->loop, r->c->vs.viewer, title, &viewer_ops, r);
		if (r->viewer && strcmp(r->c->vs.viewer, "mpv") == 0) {
			r->mpv_input = ctl_mpv_input_new(r->loop, r->s);
			ctl_viewer_set_input(r->viewer, r->mpv_input);
		}
		if (r->c->vs.duration > 0) {
			ev_timer_set(&r->stop, r->c->vs.duration, 0);
			ev_timer_start(r->loop, &r->stop);
		}
	}
	ev_timer_set(&r->media, MEDIA_WAIT_SECS, 0);
	ev_timer_start(r->loop, &r->media);
}

static void on_video(struct ctl_session *s, enum ctl_codec codec, const uint8_t *data, size_t len,
	bool key, int64_t pts, void *ud)
{
	struct run *r = ud;
	(void)s;
	if (r->finished || (r->o.mode == CTL_RUN_HOOKS && !r->dec))
		return;
	if (!r->got_key) {
		if (!key) {
			refresh(r);
			return;
		}
		r->got_key = true;
		r->t_key = rd_now();
		r->codec = codec;
		r->res->codec = ctl_codec_name(codec);
		ctl_result_phase(r->res, CTL_PH_KEYFRAME, (r->t_key - r->t_ready) * 1000.0);
		ev_timer_stop(r->loop, &r->media);
		r->rec_pts0 = pts;
		r->rec_t0 = rd_now();
		log_info("first keyframe: %s, %zu bytes", ctl_codec_name(codec), len);
	}
	if (codec != r->codec) {
		if (r->o.mode == CTL_RUN_RECORD) {
			run_fail(r, CTL_EXIT_FAIL, "codec_changed", "the agent switched from %s to %s "
				"during the recording", ctl_codec_name(r->codec), ctl_codec_name(codec));
			return;
		}
		r->codec = codec;
		r->res->codec = ctl_codec_name(codec);
	}
	if (r->o.mode == CTL_RUN_RECORD) {
		/* The agent's clock decides what is in the file: frames that queued
		 * up behind a slow first keyframe arrive in a burst, and the file
		 * must not grow past --duration because of them. */
		if (r->c->vs.duration > 0 && pts - r->rec_pts0 >= (int64_t)(r->c->vs.duration * 1000.0)) {
			r->rec_full = true;
			if (r->rec)
				rec_stop(r);
			return;
		}
		if (r->rec) {
			rec_put(r, data, len, key, pts);
		} else if (r->nheld < HELD_MAX) {
			uint8_t *copy = malloc(len);
			if (copy) {
				memcpy(copy, data, len);
				r->held[r->nheld++] = (struct held_pkt){ copy, len, key, pts };
			}
		}
		if (r->recording)
			return;	/* the decoder was needed for the size only */
	}
	ctl_decoder_push(r->dec, codec, data, len, key, pts);
}

static void on_end(struct ctl_session *s, void *ud)
{
	struct run *r = ud;
	(void)s;
	if (r->o.mode == CTL_RUN_RECORD && r->rec && !r->res->error) {
		rec_stop(r);	/* keep what was recorded */
		return;
	}
	if (r->o.mode == CTL_RUN_VIEW && r->res->error && !strcmp(r->res->error, "peer_closed") &&
	    r->res->frames > 0) {
		run_end(r);
		return;
	}
	if (!r->res->error)
		ctl_result_fail(r->res, CTL_EXIT_FAIL, "peer_closed", "the session ended");
	run_end(r);
}

static void on_message(struct ctl_session *s, const Hbb__Message *m, void *ud)
{
	struct run *r = ud;
	(void)s;
	if (r->o.mode == CTL_RUN_HOOKS && !r->finished && r->o.hooks->on_message)
		r->o.hooks->on_message(r, m, r->o.hooks->ud);
}

void ctl_run_finish(struct run *r)
{
	run_end(r);
}

struct ev_loop *ctl_run_loop(struct run *r)
{
	return r->loop;
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
	so.handshake_only = r->o.mode == CTL_RUN_ATTEMPT;
	so.fps = (int)r->c->vs.fps;
	ctl_args_quality(r->c->vs.quality, &so.image_quality, &so.custom_quality);
	/* The live viewer paces the agent with acks; files take what comes. */
	so.video_ack = r->o.mode == CTL_RUN_VIEW;
	r->s = ctl_session_new(r->loop, conn, &so, r->res, &sess_ops, r);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;
	(void)loop;
	(void)revents;
	run_fail(r, CTL_EXIT_TIMEOUT, "timeout", "%s did not finish the handshake and login within "
		"%.1f s", r->c->id, r->c->set.timeout);
}

static void on_media_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;
	(void)loop;
	(void)revents;
	run_fail(r, CTL_EXIT_TIMEOUT, "timeout", "no keyframe from %s within %.0f s after login",
		r->c->id, MEDIA_WAIT_SECS);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct run *r = w->data;
	(void)loop;
	(void)revents;
	log_info("interrupted");
	if (r->o.mode == CTL_RUN_RECORD && r->rec) {
		rec_stop(r);
		return;
	}
	if (r->o.mode != CTL_RUN_VIEW || !r->got_key)
		ctl_result_fail(r->res, 130, "interrupted", "interrupted");
	run_end(r);
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
	r->res = res;
	int iq, cq;
	if (o->mode != CTL_RUN_ATTEMPT && ctl_args_quality(c->vs.quality, &iq, &cq) != RD_OK) {
		ctl_result_fail(res, CTL_EXIT_USAGE, "usage", "--quality takes low, balanced, best or a "
			"percentage from 10 to 2000");
		goto out;
	}
	if ((rc = ctl_prepare(c, res, &co, relay, sizeof(relay), r->known, sizeof(r->known))) != 0)
		goto out;
	if (o->mode != CTL_RUN_ATTEMPT && ctl_password_get(c, r->password, sizeof(r->password)) != RD_OK) {
		ctl_result_fail(res, CTL_EXIT_USAGE, "usage", "no password: use --password-file, "
			"RDESK_PASSWORD or run on a terminal");
		goto out;
	}
	co.force_relay = o->force_relay || c->set.relay;
	co.no_relay = o->no_relay;
	co.deadline = rd_now() + c->set.timeout;
	r->loop = ev_default_loop(0);
	ev_timer_init(&r->deadline, on_deadline, c->set.timeout, 0);
	r->deadline.data = r;
	ev_timer_init(&r->media, on_media_timeout, MEDIA_WAIT_SECS, 0);
	r->media.data = r;
	ev_timer_init(&r->stop, on_stop_timer, 1, 0);
	r->stop.data = r;
	ev_signal_init(&r->sigint, on_signal, SIGINT);
	r->sigint.data = r;
	ev_signal_init(&r->sigterm, on_signal, SIGTERM);
	r->sigterm.data = r;
	ev_signal_start(r->loop, &r->sigint);
	ev_signal_start(r->loop, &r->sigterm);
	ev_timer_start(r->loop, &r->deadline);
	r->cc = ctl_connect_start(r->loop, &co, res, on_connected, r);
	if (r->cc)
		ev_run(r->loop, 0);
	if ((r->o.mode == CTL_RUN_VIEW || r->o.mode == CTL_RUN_HOOKS) && r->s && !r->res->error)
		ctl_session_close(r->s);
	ctl_session_free(r->s);
	ctl_decoder_free(r->dec);
	ctl_viewer_free(r->viewer);
	ctl_mpv_input_free(r->mpv_input);
	if (r->rec)
		ctl_recorder_free(r->rec);
	ctl_connect_free(r->cc);
	for (int i = 0; i < r->nheld; i++)
		free(r->held[i].data);
	ev_timer_stop(r->loop, &r->deadline);
	ev_timer_stop(r->loop, &r->media);
	ev_timer_stop(r->loop, &r->stop);
	ev_signal_stop(r->loop, &r->sigint);
	ev_signal_stop(r->loop, &r->sigterm);
	/* let deferred closes run */
	ev_run(r->loop, EVRUN_NOWAIT);
	if (link)
		*link = r->link;
out:
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

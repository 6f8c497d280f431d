/* video: the agent's media pipeline (see video.h).
 *
 * Capture opens without blocking the loop (capture_open_start): until it has,
 * the pipeline exists with an unknown display, subscribers wait, and when it
 * opens they hear on_ready and capture starts (or on_error when it fails).
 *
 * Loop thread: a timer at the target rate grabs a frame when every active
 * worker has taken its previous job and the previous frame is back; the
 * capture descriptor (xcb) is watched so events never pile up. Each active
 * codec has one worker thread (video_worker.c) that converts the frame's
 * damage and encodes it; the frame is released as soon as every worker has
 * converted it, so capture of the next frame overlaps encoding. Packets come
 * back through one ev_async and go to the codec's subscribers; a subscriber
 * sees nothing until a keyframe. */
#define RD_LOG_SUBSYS "video"
#include "video.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "encoder.h"
#include "err.h"
#include "log.h"
#include "util.h"
#include "video_worker.h"

#define N_CODECS 3	/* indexed by enum video_codec */

struct video_sub {
	struct video *v;
	enum video_codec codec;
	struct video_sub_ops ops;
	void *ud;
	bool need_key;
	bool dead;
	int fps;                   /* asked rate, 0 = the pipeline's default */
	int quality;               /* asked quality, 0 = the pipeline's default */
	bool (*ready)(void *ud);   /* NULL: always ready */
	struct video_sub *next;
};

struct vcodec {
	struct video_worker *w;     /* while running */
	bool running;
	bool key_requested;
	bool needs_full;           /* its picture is empty: the next grab reads it all */
	int quality;
	struct video_sub *subs;
};

struct video {
	struct ev_loop *loop;
	struct capture *cap;       /* NULL while opening or after the open failed */
	struct capture_opening *opening;
	char display_arg[48];      /* the configured display, for disp.name */
	void (*on_opened)(int rc, void *ud);
	void *opened_ud;
	bool failed;               /* capture failed for good */
	struct video_display disp;
	int fps;                   /* capture rate now */
	int fps_default;           /* when no subscriber asks for one */
	int quality;               /* default quality */
	ev_timer tick;
	ev_io io;
	ev_async wake;
	bool capturing;
	double t0;
	struct capture_frame *frame;  /* out to the workers */
	int frame_users;
	struct vcodec codecs[N_CODECS];
	bool tick_missed;          /* a tick found the pipeline busy: grab once it frees */
	int in_callback;           /* depth of subscriber callbacks running */
	bool reap;                 /* dead subscribers to free */
	struct video_stats stats;
};

static void stop_capture(struct video *v);
static void grab_now(struct video *v);

static bool codec_index_ok(enum video_codec c)
{
	return c == VIDEO_CODEC_VP9 || c == VIDEO_CODEC_H264;
}

const char *video_backend_name(const struct video *v)
{
	return v->cap ? capture_name(v->cap) : v->opening ? "opening" : "none";
}

bool video_opening(const struct video *v)
{
	return v->opening != NULL;
}

bool video_failed(const struct video *v)
{
	return v->failed;
}

static void update_display(struct video *v)
{
	v->disp.width = v->cap->width;
	v->disp.height = v->cap->height;
	v->disp.cursor_embedded = v->cap->cursor_embedded;
}

int video_get_display(struct video *v, struct video_display *out)
{
	/* While capture is stopped nobody reads its events: a size change made
	 * meanwhile is still waiting there, and a login must not see the old size. */
	if (!v->capturing && v->cap && !v->failed && capture_dispatch(v->cap) == RD_CAPTURE_REINIT &&
	    capture_reinit(v->cap) == 0)
		update_display(v);
	*out = v->disp;
	return 0;
}

int64_t video_clock_ms(struct video *v)
{
	if (v->t0 == 0)
		v->t0 = rd_now();
	return (int64_t)((rd_now() - v->t0) * 1000.0);
}

void video_get_stats(const struct video *v, struct video_stats *out)
{
	*out = v->stats;
	out->capturing = v->capturing;
	out->encoders = 0;
	out->frames_encoded = 0;
	out->keyframes = 0;
	for (int c = 0; c < N_CODECS; c++) {
		if (!v->codecs[c].running)
			continue;
		out->encoders++;
		uint64_t encoded, keyframes;
		video_worker_counts(v->codecs[c].w, &encoded, &keyframes);
		out->frames_encoded += encoded;
		out->keyframes += keyframes;
	}
	out->frames_encoded += v->stats.frames_encoded;
	out->keyframes += v->stats.keyframes;
}

/* ---- subscribers ---- */

static void free_dead_subs(struct video *v)
{
	if (v->in_callback || !v->reap)
		return;
	v->reap = false;
	for (int c = 0; c < N_CODECS; c++) {
		struct video_sub **pp = &v->codecs[c].subs;
		while (*pp) {
			struct video_sub *s = *pp;
			if (s->dead) {
				*pp = s->next;
				free(s);
			} else {
				pp = &s->next;
			}
		}
	}
}

static void release_frame(struct video *v)
{
	if (v->frame && v->frame_users <= 0) {
		capture_frame_release(v->cap, v->frame);
		v->frame = NULL;
		v->frame_users = 0;
	}
}

static void codec_stop(struct video *v, struct vcodec *vc)
{
	if (!vc->running)
		return;
	uint64_t encoded, keyframes;
	video_worker_counts(vc->w, &encoded, &keyframes);
	v->stats.frames_encoded += encoded;
	v->stats.keyframes += keyframes;
	int owed = video_worker_stop(vc->w);
	vc->w = NULL;
	vc->running = false;
	v->frame_users -= owed;
	release_frame(v);
}

/* Several subscribers, one capture: the capture runs at the highest rate
 * any live subscriber asks for, and each codec's encoder at the best quality
 * its subscribers ask for. A subscriber that cannot keep up is held back by
 * its own pacing (ready op) and skips to the next keyframe, never slowing
 * the others (see video.h). */
static void update_rates(struct video *v)
{
	int fps = 0;
	for (int c = 0; c < N_CODECS; c++)
		for (struct video_sub *s = v->codecs[c].subs; s; s = s->next)
			if (!s->dead && s->fps > fps)
				fps = s->fps;
	if (!fps)
		fps = v->fps_default;
	bool fps_changed = fps != v->fps;
	if (fps_changed) {
		log_info("capture rate now %d fps (was %d)", fps, v->fps);
		v->fps = fps;
		v->tick.repeat = 1.0 / fps;
		if (v->capturing)
			ev_timer_again(v->loop, &v->tick);
	}
	for (int c = 0; c < N_CODECS; c++) {
		struct vcodec *vc = &v->codecs[c];
		int q = 0;
		for (struct video_sub *s = vc->subs; s; s = s->next)
			if (!s->dead && s->quality > q)
				q = s->quality;
		if (!q)
			q = v->quality;
		if (q == vc->quality && !fps_changed)
			continue;
		if (q != vc->quality && vc->running)
			log_info("%s quality now %d (was %d)", c == VIDEO_CODEC_H264 ? "H.264" : "VP9", q,
				vc->quality);
		vc->quality = q;
		if (vc->running)
			video_worker_set_rate(vc->w, v->fps, q);
	}
}

/* Stop workers without subscribers, and capture when nobody is left. */
static void prune(struct video *v)
{
	bool any = false;
	free_dead_subs(v);
	if (v->in_callback)
		return;
	for (int c = 0; c < N_CODECS; c++) {
		struct vcodec *vc = &v->codecs[c];
		bool live = false;
		for (struct video_sub *s = vc->subs; s; s = s->next)
			live |= !s->dead;
		if (!live)
			codec_stop(v, vc);
		any |= live;
	}
	if (!any)
		stop_capture(v);
	else
		update_rates(v);
}

static void deliver(struct video *v, struct vcodec *vc, struct video_packet *p)
{
	bool sent = false;
	/* Encoded before a size change: subscribers were told of the new size. */
	if (p->width != (v->disp.width & ~1) || p->height != (v->disp.height & ~1))
		return;
	v->in_callback++;
	for (struct video_sub *s = vc->subs; s; s = s->next) {
		if (s->dead || (s->need_key && !p->key))
			continue;
		s->need_key = false;
		sent = true;
		s->ops.on_packet(p, s->ud);
	}
	v->in_callback--;
	if (sent) {
		v->stats.packets++;
		v->stats.bytes += p->len;
	}
}

static void notify_error(struct video *v, struct vcodec *vc, int err)
{
	v->in_callback++;
	for (struct video_sub *s = vc->subs; s; s = s->next)
		if (!s->dead && s->ops.on_error)
			s->ops.on_error(err, s->ud);
	v->in_callback--;
}

static void notify_resize(struct video *v)
{
	v->in_callback++;
	for (int c = 0; c < N_CODECS; c++)
		for (struct video_sub *s = v->codecs[c].subs; s; s = s->next)
			if (!s->dead && s->ops.on_resize)
				s->ops.on_resize(&v->disp, s->ud);
	v->in_callback--;
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	struct video *v = w->data;
	bool freed = false;
	for (int c = 0; c < N_CODECS; c++) {
		struct vcodec *vc = &v->codecs[c];
		if (!vc->running)
			continue;
		bool done;
		struct video_packet *pkts;
		int err;
		video_worker_collect(vc->w, &done, &pkts, &err);
		if (done) {
			v->frame_users--;
			release_frame(v);
			freed = true;
		}
		while (pkts) {
			struct video_packet *n = video_worker_next(pkts);
			deliver(v, vc, pkts);
			video_packet_unref(pkts);
			pkts = n;
		}
		if (err) {
			log_err("%s encoder failed: %s", c == VIDEO_CODEC_H264 ? "H.264" : "VP9",
				rd_strerror(err));
			notify_error(v, vc, err);
		}
	}
	prune(v);
	if (freed && v->tick_missed && !v->frame)
		grab_now(v);
}

/* ---- capture ---- */

static void capture_failed(struct video *v, int err)
{
	v->failed = true;
	stop_capture(v);
	for (int c = 0; c < N_CODECS; c++)
		notify_error(v, &v->codecs[c], err);
	prune(v);
}

static void handle_reinit(struct video *v)
{
	int rc = capture_reinit(v->cap);
	if (rc < 0) {
		log_err("capture %s cannot follow the new screen size: %s", capture_name(v->cap),
			rd_strerror(rc));
		capture_failed(v, rc);
		return;
	}
	update_display(v);
	log_notice("display is now %dx%d; restarting the encoders", v->disp.width, v->disp.height);
	for (int c = 0; c < N_CODECS; c++)
		v->codecs[c].needs_full = true;
	notify_resize(v);
	prune(v);
}

/* Ask an idle worker for a keyframe of the picture it already has. */
static void post_keyframes(struct video *v, int64_t pts)
{
	for (int c = 0; c < N_CODECS; c++) {
		struct vcodec *vc = &v->codecs[c];
		if (!vc->running || !vc->key_requested || vc->needs_full)
			continue;
		struct video_job job = { .frame = NULL, .pts_ms = pts, .force_key = true };
		if (video_worker_post(vc->w, &job))
			vc->key_requested = false;
	}
}

/* Does any live subscriber take a frame now? (Those paced by frame
 * acknowledgements may not; capture waits for the first that does.) */
static bool anyone_ready(struct video *v)
{
	bool ready = false;
	v->in_callback++;
	for (int c = 0; c < N_CODECS && !ready; c++)
		for (struct video_sub *s = v->codecs[c].subs; s && !ready; s = s->next)
			if (!s->dead)
				ready = !s->ready || s->ready(s->ud);
	v->in_callback--;
	return ready;
}

/* Grab a frame and hand it to every worker, unless one is still busy with
 * the previous frame: then the damage waits in the backend, and the grab
 * happens as soon as the pipeline frees (wake_cb) rather than a tick later. */
static void grab_now(struct video *v)
{
	bool full = false;
	v->tick_missed = true;
	if (v->frame || !v->capturing || !anyone_ready(v))
		return;
	for (int c = 0; c < N_CODECS; c++) {
		struct vcodec *vc = &v->codecs[c];
		if (!vc->running)
			continue;
		if (!video_worker_idle(vc->w))
			return;
		full |= vc->needs_full;
	}
	v->tick_missed = false;
	int64_t pts = (int64_t)((rd_now() - v->t0) * 1000.0);
	struct capture_frame *f;
	int rc = capture_grab(v->cap, full, &f);
	switch (rc) {
	case RD_CAPTURE_RETRY:
		post_keyframes(v, pts);
		return;
	case RD_CAPTURE_REINIT:
		handle_reinit(v);
		return;
	case RD_CAPTURE_FATAL:
		log_err("capture %s failed for good", capture_name(v->cap));
		capture_failed(v, RD_ERR_IO);
		return;
	default:
		break;
	}
	v->stats.frames_captured++;
	v->frame = f;
	v->frame_users = 0;
	v->disp.cursor_embedded = f->cursor_embedded;
	for (int c = 0; c < N_CODECS; c++) {
		struct vcodec *vc = &v->codecs[c];
		if (!vc->running)
			continue;
		struct video_job job = { .frame = f, .pts_ms = pts,
			.force_key = vc->key_requested || vc->needs_full };
		if (video_worker_post(vc->w, &job)) {
			v->frame_users++;
			vc->key_requested = false;
			vc->needs_full = false;
		}
	}
	release_frame(v);
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct video *v = t->data;
	v->stats.ticks++;
	grab_now(v);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct video *v = w->data;
	if (capture_dispatch(v->cap) == RD_CAPTURE_FATAL)
		capture_failed(v, RD_ERR_IO);
}

static void start_capture(struct video *v)
{
	if (v->capturing || v->failed || !v->cap)
		return;
	if (v->t0 == 0)
		v->t0 = rd_now();
	int fd = capture_get_fd(v->cap);
	if (fd >= 0) {
		ev_io_init(&v->io, io_cb, fd, EV_READ);
		v->io.data = v;
		ev_io_start(v->loop, &v->io);
	}
	ev_timer_init(&v->tick, tick_cb, 0.0, 1.0 / v->fps);
	v->tick.data = v;
	ev_timer_again(v->loop, &v->tick);
	ev_feed_event(v->loop, &v->tick, EV_TIMER);
	v->capturing = true;
	log_info("capture %s started at %d fps", capture_name(v->cap), v->fps);
}

static void stop_capture(struct video *v)
{
	if (!v->capturing)
		return;
	ev_timer_stop(v->loop, &v->tick);
	ev_io_stop(v->loop, &v->io);
	v->capturing = false;
	log_info("capture %s stopped", capture_name(v->cap));
}

/* ---- the open ---- */

static void adopt(struct video *v, struct capture *cap)
{
	v->cap = cap;
	update_display(v);
	snprintf(v->disp.name, sizeof(v->disp.name), "%s %s", capture_name(cap),
		v->display_arg[0] ? v->display_arg : "default");
}

static bool anyone_live(const struct video *v)
{
	for (int c = 0; c < N_CODECS; c++)
		for (const struct video_sub *s = v->codecs[c].subs; s; s = s->next)
			if (!s->dead)
				return true;
	return false;
}

/* The open that was under way ended: subscribers that waited hear of it. */
static void on_opened(int rc, struct capture *cap, void *ud)
{
	struct video *v = ud;
	v->opening = NULL;
	if (rc < 0) {
		v->failed = true;
		for (int c = 0; c < N_CODECS; c++)
			notify_error(v, &v->codecs[c], rc);
	} else {
		adopt(v, cap);
		v->in_callback++;
		for (int c = 0; c < N_CODECS; c++)
			for (struct video_sub *s = v->codecs[c].subs; s; s = s->next)
				if (!s->dead && s->ops.on_ready)
					s->ops.on_ready(&v->disp, s->ud);
				else if (!s->dead && s->ops.on_resize)
					s->ops.on_resize(&v->disp, s->ud);
		v->in_callback--;
		if (anyone_live(v))
			start_capture(v);
	}
	prune(v);
	if (v->on_opened)
		v->on_opened(rc, v->opened_ud);
}

/* ---- public ---- */

int video_new(struct ev_loop *loop, const struct video_config *cfg, struct video **out)
{
	struct capture_config cc = { .backend = cfg->backend, .display = cfg->display,
		.state_dir = cfg->state_dir };
	struct video *v = xcalloc(1, sizeof(*v));
	struct capture *cap = NULL;
	*out = NULL;
	v->loop = loop;
	v->fps = RD_CLAMP(cfg->fps ? cfg->fps : 30, 1, 120);
	v->fps_default = v->fps;
	v->quality = RD_CLAMP(cfg->quality ? cfg->quality : 50, 1, 100);
	v->on_opened = cfg->on_opened;
	v->opened_ud = cfg->ud;
	rd_strlcpy(v->display_arg, cfg->display ? cfg->display : "", sizeof(v->display_arg));
	int rc = capture_open_start(loop, &cc, on_opened, v, &cap, &v->opening);
	if (rc < 0 && rc != RD_ERR_AGAIN) {
		free(v);
		return rc;
	}
	if (cap)
		adopt(v, cap);
	else
		snprintf(v->disp.name, sizeof(v->disp.name), "%s %s", cfg->backend ? cfg->backend :
			"auto", v->display_arg[0] ? v->display_arg : "default");
	ev_async_init(&v->wake, wake_cb);
	v->wake.data = v;
	ev_async_start(loop, &v->wake);
	ev_unref(loop);	/* the pipeline alone does not keep the loop running */
	*out = v;
	return 0;
}

void video_free(struct video *v)
{
	if (!v)
		return;
	for (int c = 0; c < N_CODECS; c++) {
		codec_stop(v, &v->codecs[c]);
		while (v->codecs[c].subs) {
			struct video_sub *s = v->codecs[c].subs;
			v->codecs[c].subs = s->next;
			free(s);
		}
	}
	stop_capture(v);
	v->frame_users = 0;
	release_frame(v);
	ev_ref(v->loop);
	ev_async_stop(v->loop, &v->wake);
	capture_open_cancel(v->opening);
	capture_close(v->cap);
	free(v);
}

int video_subscribe(struct video *v, enum video_codec codec, const struct video_sub_ops *ops,
	void *ud, struct video_sub **out)
{
	*out = NULL;
	if (!codec_index_ok(codec) || !ops || !ops->on_packet)
		return RD_ERR_INVAL;
	if (v->failed)
		return RD_ERR_CLOSED;
	struct vcodec *vc = &v->codecs[codec];
	if (!vc->running) {
		if (!vc->quality)
			vc->quality = v->quality;
		int rc = video_worker_start(codec, v->loop, &v->wake, v->fps, vc->quality, &vc->w);
		if (rc < 0)
			return rc;
		vc->running = true;
		vc->needs_full = true;
	}
	struct video_sub *s = xcalloc(1, sizeof(*s));
	s->v = v;
	s->codec = codec;
	s->ops = *ops;
	s->ud = ud;
	s->need_key = true;
	s->next = vc->subs;
	vc->subs = s;
	vc->key_requested = true;
	start_capture(v);
	*out = s;
	return 0;
}

bool video_sub_opened(const struct video_sub *s)
{
	return s->v->cap != NULL;
}

void video_unsubscribe(struct video_sub *s)
{
	if (!s || s->dead)
		return;
	struct video *v = s->v;
	s->dead = true;
	v->reap = true;
	prune(v);
}

void video_request_keyframe(struct video_sub *s)
{
	if (s && !s->dead)
		s->v->codecs[s->codec].key_requested = true;
}

void video_set_fps(struct video_sub *s, int fps)
{
	s->fps = RD_CLAMP(fps, 1, 120);
	update_rates(s->v);
}

void video_set_quality(struct video_sub *s, int quality)
{
	s->quality = RD_CLAMP(quality, 1, 100);
	update_rates(s->v);
}

void video_sub_set_ready(struct video_sub *s, bool (*ready)(void *ud))
{
	s->ready = ready;
}

void video_sub_kick(struct video_sub *s)
{
	struct video *v = s->v;
	/* From the next loop iteration, not inside the caller's callback. */
	if (!s->dead && v->capturing && v->tick_missed && !v->frame)
		ev_feed_event(v->loop, &v->tick, EV_TIMER);
}

uint32_t video_target_kbps(const struct video_sub *s)
{
	const struct video *v = s->v;
	int w = v->disp.width & ~1, h = v->disp.height & ~1;
	if (w < 16 || h < 16)
		return 0;
	return (uint32_t)encoder_quality_to_kbps(v->codecs[s->codec].quality, w, h, v->fps);
}

/* sink_view: connect's sink: the decoded picture in a player window (mpv,
 * or ffplay), keyboard and mouse from an mpv window back to the agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RD_LOG_SUBSYS "rdctl"
#include <ev.h>

#include "audio_rx.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "mpv_input.h"
#include "run.h"
#include "sink.h"
#include "util.h"
#include "viewer.h"

struct view {
	struct ctl_sink base;
	struct ctl *c;
	struct ctl_result *res;
	struct ctl_viewer *viewer;
	struct ctl_mpv_input *mi;  /* keyboard and mouse from the mpv window */
	bool input_args;           /* the next mpv gets mi's script and a socket */
	bool got_video;
	/* sound (unless --no-audio): into the player with the picture */
	struct ctl_audio_rx rx;
	bool audio_on;
	double offset;             /* agent ms minus ours at the newest sound packet */
	double last_real;          /* our clock at the newest packet the agent sent */
	ev_timer fill;             /* silence the agent skipped, in real time */
};

#define VIEW_FILL_PERIOD 0.05
#define VIEW_FILL_QUIET 0.25    /* the agent sent nothing this long: it skips silence */
#define VIEW_FILL_LAG_MS 150    /* then fill up to this far behind the agent's now */

/* The next mpv loads our input script and opens a socket of its own. */
static void view_input_args(struct view *k)
{
	char ipc[360], script[360];
	const char *path = ctl_mpv_input_script(k->mi);
	const char *sock = path ? ctl_mpv_input_next_socket(k->mi) : NULL;
	k->input_args = sock != NULL;
	if (!sock) {
		ctl_viewer_set_args(k->viewer, NULL, 0);
		return;
	}
	snprintf(ipc, sizeof(ipc), "--input-ipc-server=%s", sock);
	snprintf(script, sizeof(script), "--script=%s", path);
	const char *args[] = { ipc, script };
	ctl_viewer_set_args(k->viewer, args, 2);
}

static void view_on_closed(struct ctl_viewer *v, void *ud)
{
	struct view *k = ud;
	(void)v;
	log_info("the viewer was closed");
	ctl_run_finish(k->base.run);
}

static void view_on_started(struct ctl_viewer *v, const char *kind, int w, int h, void *ud)
{
	struct view *k = ud;
	(void)v;
	if (!k->input_args || strcmp(kind, "mpv") != 0)
		return;
	ctl_mpv_input_attach(k->mi, w, h);
	view_input_args(k);
}

static const struct ctl_viewer_ops viewer_ops = {
	.on_closed = view_on_closed, .on_started = view_on_started,
};

static void view_open(struct ctl_sink *base, struct ctl_session *s, int w, int h)
{
	struct view *k = (struct view *)base;
	struct ctl *c = k->c;
	char title[160];
	(void)w;
	(void)h;
	snprintf(title, sizeof(title), "rdctl %s", c->id);
	if (strcmp(c->vs.viewer, "none") != 0)
		k->viewer = ctl_viewer_new(ctl_run_loop(base->run), c->vs.viewer, title, &viewer_ops, k);
	if (k->viewer && strcmp(c->vs.viewer, "mpv") == 0) {
		k->mi = ctl_mpv_input_new(ctl_run_loop(base->run), s);
		view_input_args(k);
	}
	if (c->vs.duration > 0)
		ctl_run_stop_after(base->run, c->vs.duration);
}

static bool view_packet(struct ctl_sink *base, enum ctl_codec codec, const uint8_t *data,
	size_t len, bool key, int64_t pts)
{
	(void)codec;
	(void)data;
	(void)len;
	(void)key;
	(void)pts;
	((struct view *)base)->got_video = true;
	return true;
}

static void view_frame(struct ctl_sink *base, const struct AVFrame *f)
{
	struct view *k = (struct view *)base;
	if (k->viewer && ctl_viewer_frame(k->viewer, f) == RD_ERR_IO)
		ctl_run_fail(base->run, CTL_EXIT_FAIL, "no_viewer", "neither mpv nor ffplay could be "
			"started");
	k->res->frames++;
}

/* Ctrl+C once the picture showed is how a viewer ends: not a failure. */
static bool view_finish(struct ctl_sink *base, enum ctl_sink_stop why)
{
	struct view *k = (struct view *)base;
	if (why != CTL_SINK_SIGNAL || !k->got_video)
		return false;
	ctl_run_finish(base->run);
	return true;
}

static void view_audio(void *ud, const uint8_t *data, size_t len, int64_t pts, int dur)
{
	struct view *k = ud;
	if (k->viewer)
		ctl_viewer_audio(k->viewer, data, len, pts, dur);
}

/* The agent skips silence; the player needs sound to keep time: fill in. */
static void view_on_fill(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct view *k = w->data;
	(void)loop;
	(void)revents;
	/* While packets flow, late ones are only late: nothing is filled in. */
	if (rd_now() - k->last_real < VIEW_FILL_QUIET)
		return;
	double agent_now = rd_now() * 1000.0 + k->offset;
	ctl_audio_rx_fill_to(&k->rx, (int64_t)agent_now - VIEW_FILL_LAG_MS, view_audio, k);
}

static void view_message(struct ctl_sink *base, const Hbb__Message *m)
{
	struct view *k = (struct view *)base;
	uint64_t before = k->rx.packets;
	if (k->c->vs.no_audio || !k->viewer || !ctl_audio_rx_message(&k->rx, m, view_audio, k))
		return;
	if (k->rx.have_format && !k->audio_on) {
		k->audio_on = true;
		ctl_viewer_set_audio(k->viewer, k->rx.channels);
		ev_timer_start(ctl_run_loop(base->run), &k->fill);
		log_info("sound on: Opus, %u channels, played with the picture", k->rx.channels);
	}
	if (k->rx.packets > before) {	/* a real packet: where the agent's clock is now */
		k->last_real = rd_now();
		double off = (double)k->rx.next_pts - rd_now() * 1000.0;
		k->offset = before == 0 || off > k->offset ? off : k->offset + (off - k->offset) / 16;
	}
}

static void view_free(struct ctl_sink *base)
{
	struct view *k = (struct view *)base;
	if (base->run)
		ev_timer_stop(ctl_run_loop(base->run), &k->fill);
	ctl_viewer_free(k->viewer);
	ctl_mpv_input_free(k->mi);
	free(k);
}

static const struct ctl_sink_ops view_ops = {
	.flags = CTL_SINK_MEDIA | CTL_SINK_ACK | CTL_SINK_GOODBYE | CTL_SINK_AUDIO,
	.open = view_open, .packet = view_packet, .frame = view_frame, .message = view_message,
	.finish = view_finish, .free = view_free,
};

struct ctl_sink *ctl_sink_view_new(struct ctl *c, struct ctl_result *res)
{
	struct view *k = xcalloc(1, sizeof(*k));
	k->base.ops = &view_ops;
	k->c = c;
	k->res = res;
	ev_timer_init(&k->fill, view_on_fill, VIEW_FILL_PERIOD, VIEW_FILL_PERIOD);
	k->fill.data = k;
	return &k->base;
}

/* input-latency: input-to-photon latency through a real session. Connects
 * like rdctl (same settings: --server, --key, RDESK_PASSWORD), then N times:
 * sends a key press (Space), and measures until a decoded frame shows the
 * centre of the screen flipped (xflip on the agent's display turns black <->
 * white on each key). Prints one line per event: the latency in ms and the
 * monotonic time the key was sent (ms; xflip --log uses the same clock).
 *   input-latency --server H:P --key K --known-peers FILE [--count N]
 *                 [--codec h264|vp9|auto] ID */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <libavutil/frame.h>

#include "ctl/ctl.h"
#include "ctl/input.h"
#include "ctl/run.h"
#include "ctl/session.h"
#include "ctl/sink.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define MAX_EVENTS 1000
#define EVENT_TIMEOUT 3.0

struct lat {
	struct ctl_sink base;   /* first: the run's sink */
	struct run *r;
	struct ctl_session *s;
	ev_timer next, timeout;
	int count, done, lost;
	int level;        /* current centre luma class: 0 dark, 1 light, -1 unknown */
	double t_sent;
	bool waiting;
	double ms[MAX_EVENTS];
};

static int centre_level(const AVFrame *f)
{
	long sum = 0, n = 0;
	for (int y = f->height / 2 - 8; y < f->height / 2 + 8; y++)
		for (int x = f->width / 2 - 8; x < f->width / 2 + 8; x++, n++)
			sum += f->data[0][(size_t)y * (size_t)f->linesize[0] + (size_t)x];
	long mean = n ? sum / n : 0;
	return mean < 60 ? 0 : mean > 190 ? 1 : -1;
}

static void send_key(struct lat *l)
{
	struct ctl_key k = { .control = 30 /* Space */ };
	struct ctl_input_msg im;
	l->t_sent = rd_now();
	l->waiting = true;
	ctl_session_send(l->s, ctl_input_key(&im, &k, true, true));
	ev_timer_set(&l->timeout, EVENT_TIMEOUT, 0);
	ev_timer_start(ctl_run_loop(l->r), &l->timeout);
}

static void on_next(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	send_key(w->data);
}

static void finish_or_next(struct lat *l)
{
	ev_timer_stop(ctl_run_loop(l->r), &l->timeout);
	l->waiting = false;
	if (l->done + l->lost >= l->count) {
		ctl_run_finish(l->r);
		return;
	}
	/* A pause so each measurement starts from an idle pipeline. */
	ev_timer_set(&l->next, 0.15, 0);
	ev_timer_start(ctl_run_loop(l->r), &l->next);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lat *l = w->data;
	(void)loop;
	(void)revents;
	l->lost++;
	l->level = -1;
	fprintf(stderr, "input-latency: no change within %.0f s\n", EVENT_TIMEOUT);
	finish_or_next(l);
}

static void on_ready(struct ctl_sink *k, struct ctl_session *s, int w, int h)
{
	struct lat *l = (struct lat *)k;
	(void)w;
	(void)h;
	l->r = k->run;
	l->s = s;
	l->level = -1;
	ev_timer_init(&l->next, on_next, 1.0, 0);
	l->next.data = l;
	ev_timer_init(&l->timeout, on_timeout, EVENT_TIMEOUT, 0);
	l->timeout.data = l;
}

static void on_frame(struct ctl_sink *k, const AVFrame *f)
{
	struct lat *l = (struct lat *)k;
	int lv = centre_level(f);
	if (!l->waiting) {
		if (l->level < 0 && lv >= 0) {
			l->level = lv;
			/* First clear picture: start after a second of settling. */
			if (l->done + l->lost == 0 && !ev_is_active(&l->next)) {
				ev_timer_set(&l->next, 1.0, 0);
				ev_timer_start(ctl_run_loop(l->r), &l->next);
			}
		}
		return;
	}
	if (lv < 0 || lv == l->level)
		return;
	l->ms[l->done++] = (rd_now() - l->t_sent) * 1000.0;
	printf("%.2f %.3f\n", l->ms[l->done - 1], l->t_sent * 1000.0);
	fflush(stdout);
	l->level = lv;
	finish_or_next(l);
}

/* The run is over: no timer of ours stays on the loop. */
static void on_free(struct ctl_sink *k)
{
	struct lat *l = (struct lat *)k;
	if (!l->r)
		return;
	ev_timer_stop(ctl_run_loop(l->r), &l->next);
	ev_timer_stop(ctl_run_loop(l->r), &l->timeout);
}

int main(int argc, char **argv)
{
	static struct ctl c;
	static struct lat l;
	l.count = 50;
	c.set.timeout = 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--server") && i + 1 < argc) c.set.server = argv[++i];
		else if (!strcmp(argv[i], "--key") && i + 1 < argc) c.set.key = argv[++i];
		else if (!strcmp(argv[i], "--known-peers") && i + 1 < argc) c.set.known_peers = argv[++i];
		else if (!strcmp(argv[i], "--count") && i + 1 < argc) l.count = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--codec") && i + 1 < argc) c.vs.codec = argv[++i];
		else if (argv[i][0] != '-') c.id = argv[i];
		else { fprintf(stderr, "input-latency: unknown option %s\n", argv[i]); return 2; }
	}
	if (!c.id || l.count < 1 || l.count > MAX_EVENTS) {
		fprintf(stderr, "usage: input-latency --server H:P --key K --known-peers F [--count N] [--codec h264|vp9] ID\n");
		return 2;
	}
	static char codec[] = "auto";
	if (!c.vs.codec)
		c.vs.codec = codec;
	rd_log_init("input-latency");
	rd_log_set_level(RD_LOG_WARN);
	c.t0 = rd_now();
	ctl_result_init(&c.res, "input-latency", c.id);
	static const struct ctl_sink_ops ops = { .flags = CTL_SINK_GOODBYE, .open = on_ready,
		.frame = on_frame, .free = on_free };
	struct ctl_run_opts o = { .sink = &l.base };
	l.base.ops = &ops;
	ctl_run(&c, &o, &c.res, NULL);
	fprintf(stderr, "input-latency: %d measured, %d lost, codec %s%s%s\n", l.done, l.lost,
		c.res.codec ? c.res.codec : "?", c.res.error ? ", error: " : "", c.res.error ? c.res.message : "");
	return c.res.error || l.done == 0 ? 1 : 0;
}

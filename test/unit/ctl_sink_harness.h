/* Shared harness of the sink and viewer unit tests: the run a sink belongs
 * to is a fake (ctl_run_finish, ctl_run_fail, ctl_run_stop_after and
 * ctl_run_loop record what the sink asked for), so is the session mpv_input
 * would send through; a verb context and result for each test, and
 * pictures made on the spot. */
#ifndef RD_TEST_CTL_SINK_HARNESS_H
#define RD_TEST_CTL_SINK_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <libavutil/frame.h>

#include "ctl/ctl.h"
#include "ctl/run.h"
#include "ctl/session.h"
#include "ctl/sink.h"
#include "err.h"
#include "util.h"

#define W 320
#define H 240

/* ---- the fake run ---- */

struct run {
	struct ctl_result *res;
	struct ev_loop *loop;
	int finished;
	double stop_after;   /* < 0: not asked */
};

void ctl_run_finish(struct run *r)
{
	r->finished++;
}

void ctl_run_fail(struct run *r, int exit_code, const char *code, const char *fmt, ...)
{
	char msg[CTL_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_result_fail(r->res, exit_code, code, "%s", msg);
	r->finished++;
}

void ctl_run_stop_after(struct run *r, double secs)
{
	r->stop_after = secs;
}

struct ev_loop *ctl_run_loop(struct run *r)
{
	return r->loop;
}

/* mpv_input sends through the session; nothing is sent here. */
int ctl_session_send(struct ctl_session *s, Hbb__Message *m)
{
	(void)s;
	(void)m;
	return RD_ERR_CLOSED;
}

/* ---- fixtures ---- */

static char tmpdir[256];
static struct ctl c;
static struct ctl_result res;
static struct run run;

static void tmpdir_make(const char *name)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/rd-test-%s.XXXXXX", t ? t : "/tmp", name);
	assert_non_null(mkdtemp(tmpdir));
}

static int tmpdir_remove(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "/bin/rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh verb context, result and fake run for each test. */
static void harness_reset(void)
{
	memset(&c, 0, sizeof(c));
	c.id = "123456789";
	ctl_result_init(&res, "test", c.id);
	run = (struct run){ .res = &res, .loop = ev_default_loop(0), .stop_after = -1 };
}

/* A w x h picture in I420: a grey ramp from top to bottom. */
static AVFrame *picture(int w, int h)
{
	AVFrame *f = av_frame_alloc();
	assert_non_null(f);
	f->format = AV_PIX_FMT_YUV420P;
	f->width = w;
	f->height = h;
	assert_int_equal(av_frame_get_buffer(f, 0), 0);
	for (int y = 0; y < h; y++)
		memset(f->data[0] + y * f->linesize[0], 16 + (y * 200) / h, (size_t)w);
	for (int p = 1; p <= 2; p++)
		for (int y = 0; y < h / 2; y++)
			memset(f->data[p] + y * f->linesize[p], 128, (size_t)w / 2);
	return f;
}

/* The sink as ctl_run hands it the session: logged in to a W x H screen. */
static struct ctl_sink *sink_open(struct ctl_sink *k)
{
	k->run = &run;
	if (k->ops->open)
		k->ops->open(k, NULL, W, H);
	return k;
}

static void frame(struct ctl_sink *k, int w, int h)
{
	AVFrame *f = picture(w, h);
	k->ops->frame(k, f);
	av_frame_free(&f);
}

#endif

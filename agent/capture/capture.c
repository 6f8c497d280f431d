/* capture: backend selection (at once, or on the loop for a backend that has
 * to wait) and the calls that dispatch through the ops table. */
#define RD_LOG_SUBSYS "capture"
#include "capture.h"

#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "util.h"

/* Probe order for "auto": a console or kiosk without X first (drm), then a
 * compositor's stream (pipewire), then X. */
static const struct capture_ops *const auto_order[] = {
	&capture_drm_ops,
	&capture_pipewire_ops,
	&capture_x11_ops,
};

/* Every backend that may be named explicitly. */
static const struct capture_ops *const all_backends[] = {
	&capture_x11_ops,
	&capture_testsrc_ops,
	&capture_drm_ops,
	&capture_pipewire_ops,
};

/* An open that tries one backend after another, some of which finish later. */
struct capture_opening {
	struct ev_loop *loop;
	struct capture_config cfg;   /* strings below */
	char backend[32];
	char display[256];
	char state_dir[1024];
	bool has_display, has_state_dir;
	const struct capture_ops *const *order;
	size_t n, next;
	struct capture *pending;     /* the backend opening on the loop */
	const struct capture_ops *pending_ops;
	int pending_rc;
	char pending_reason[256];
	ev_timer step;               /* goes on outside the backend's callbacks */
	capture_opened_fn on_opened;
	void *ud;
};

static const char *opening__display(const struct capture_opening *o)
{
	return o->has_display ? rd_esc(o->cfg.display) : "(default)";
}

/* Log how one backend's open ended; 0 when it opened. */
static int opening__outcome(struct capture_opening *o, const struct capture_ops *ops, int rc,
	const char *reason, struct capture *c)
{
	const char *why = reason[0] ? reason : rd_strerror(rc);
	if (rc == 0)
		log_info("backend %s%s: %dx%d%s", ops->name, o->cfg.probing ? " (auto)" : "", c->width,
			c->height, c->cursor_embedded ? ", cursor embedded" : "");
	else if (o->cfg.probing)
		log_info("backend %s skipped: %s", ops->name, why);
	else
		log_err("backend %s: cannot open %s: %s", ops->name, opening__display(o), why);
	return rc;
}

static void opening__done(void *ud, int rc);

/* Try the backends left in order: 0 with *out open, RD_ERR_AGAIN while one
 * opens on the loop, or the final rd_err (rc when none is left to try). */
static int opening__run(struct capture_opening *o, int rc, struct capture **out)
{
	while (o->next < o->n) {
		const struct capture_ops *ops = o->order[o->next++];
		struct capture *c = NULL;
		rd_skip_reason_clear();
		rc = ops->open_async ? ops->open_async(o->loop, &o->cfg, opening__done, o, &c) :
			ops->open(&o->cfg, &c);
		if (rc == RD_ERR_AGAIN) {
			o->pending = c;
			o->pending_ops = ops;
			return rc;
		}
		if (opening__outcome(o, ops, rc, rc < 0 ? rd_skip_reason_or(rc) : "", c) == 0) {
			*out = c;
			return 0;
		}
	}
	if (o->cfg.probing) {
		log_err("no capture backend works here (tried drm, pipewire, x11 on %s); "
			"set [capture] backend and display", o->has_display ? rd_esc(o->cfg.display) :
			"$DISPLAY");
		rc = RD_ERR_NOTFOUND;
	}
	return rc;
}

static void opening__free(struct capture_opening *o)
{
	ev_timer_stop(o->loop, &o->step);
	capture_close(o->pending);
	free(o);
}

/* The pending backend finished (inside its own callbacks): go on from a
 * timer of ours, where it may be closed. */
static void opening__done(void *ud, int rc)
{
	struct capture_opening *o = ud;
	o->pending_rc = rc;
	rd_strlcpy(o->pending_reason, rc < 0 ? rd_skip_reason_or(rc) : "", sizeof(o->pending_reason));
	ev_timer_set(&o->step, 0.0, 0.0);
	ev_timer_start(o->loop, &o->step);
}

static void opening__on_step(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct capture_opening *o = t->data;
	struct capture *c = o->pending;
	o->pending = NULL;
	int rc = opening__outcome(o, o->pending_ops, o->pending_rc, o->pending_reason, c);
	if (rc < 0) {
		capture_close(c);
		c = NULL;
		rc = opening__run(o, rc, &c);
		if (rc == RD_ERR_AGAIN)
			return;
	}
	o->on_opened(rc, c, o->ud);
	opening__free(o);
}

int capture_open_start(struct ev_loop *loop, const struct capture_config *cfg,
	capture_opened_fn on_opened, void *ud, struct capture **out, struct capture_opening **op)
{
	const char *want = cfg->backend && cfg->backend[0] ? cfg->backend : "auto";
	*out = NULL;
	*op = NULL;
	struct capture_opening *o = xcalloc(1, sizeof(*o));
	o->loop = loop;
	o->on_opened = on_opened;
	o->ud = ud;
	rd_strlcpy(o->backend, want, sizeof(o->backend));
	o->cfg.backend = o->backend;
	if ((o->has_display = cfg->display != NULL)) {
		rd_strlcpy(o->display, cfg->display, sizeof(o->display));
		o->cfg.display = o->display;
	}
	if ((o->has_state_dir = cfg->state_dir != NULL)) {
		rd_strlcpy(o->state_dir, cfg->state_dir, sizeof(o->state_dir));
		o->cfg.state_dir = o->state_dir;
	}
	ev_timer_init(&o->step, opening__on_step, 0.0, 0.0);
	o->step.data = o;
	if (strcmp(want, "auto") == 0) {
		o->cfg.probing = true;
		o->order = auto_order;
		o->n = sizeof(auto_order) / sizeof(auto_order[0]);
	}
	for (size_t i = 0; !o->n && i < sizeof(all_backends) / sizeof(all_backends[0]); i++) {
		if (strcmp(all_backends[i]->name, want) == 0) {
			o->order = &all_backends[i];
			o->n = 1;
		}
	}
	if (!o->n) {
		log_err("unknown or unavailable capture backend %s", rd_esc(want));
		free(o);
		return RD_ERR_UNSUPPORTED;
	}
	int rc = opening__run(o, RD_ERR_NOTFOUND, out);
	if (rc == RD_ERR_AGAIN)
		*op = o;
	else
		free(o);
	return rc;
}

void capture_open_cancel(struct capture_opening *op)
{
	if (op)
		opening__free(op);
}

struct open_wait {
	bool done;
	int rc;
	struct capture *c;
};

static void open__waited(int rc, struct capture *c, void *ud)
{
	struct open_wait *w = ud;
	w->done = true;
	w->rc = rc;
	w->c = c;
}

int capture_open(const struct capture_config *cfg, struct capture **out)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct capture_opening *op;
	struct open_wait w = { 0 };
	if (!loop)
		return RD_ERR_NOMEM;
	int rc = capture_open_start(loop, cfg, open__waited, &w, out, &op);
	while (rc == RD_ERR_AGAIN && !w.done) {
		/* Every open ends within its timeout; a loop with nothing left
		 * to wait for would never end it. */
		if (!ev_run(loop, EVRUN_ONCE) && !w.done) {
			capture_open_cancel(op);
			w = (struct open_wait){ .done = true, .rc = RD_ERR_IO };
		}
	}
	if (rc == RD_ERR_AGAIN) {
		rc = w.rc;
		*out = w.c;
	}
	ev_loop_destroy(loop);
	return rc;
}

void capture_close(struct capture *c)
{
	if (c)
		c->ops->close(c);
}

const char *capture_name(const struct capture *c)
{
	return c->ops->name;
}

int capture_get_fd(struct capture *c)
{
	return c->ops->get_fd ? c->ops->get_fd(c) : -1;
}

int capture_dispatch(struct capture *c)
{
	return c->ops->dispatch ? c->ops->dispatch(c) : RD_CAPTURE_RETRY;
}

int capture_grab(struct capture *c, bool full, struct capture_frame **out)
{
	*out = NULL;
	if (c->frame_out)
		return RD_CAPTURE_RETRY;
	int rc = c->ops->grab(c, full, out);
	if (rc == RD_CAPTURE_DONE)
		c->frame_out = true;
	return rc;
}

void capture_frame_release(struct capture *c, struct capture_frame *f)
{
	if (!f)
		return;
	c->frame_out = false;
	if (f->release)
		f->release(f);
}

int capture_reinit(struct capture *c)
{
	if (c->frame_out)
		return RD_ERR_AGAIN;
	return c->ops->reinit ? c->ops->reinit(c) : RD_ERR_UNSUPPORTED;
}

void capture_rect_union(struct capture_rect *a, const struct capture_rect *b)
{
	if (b->w <= 0 || b->h <= 0)
		return;
	if (a->w <= 0 || a->h <= 0) {
		*a = *b;
		return;
	}
	int x0 = a->x < b->x ? a->x : b->x;
	int y0 = a->y < b->y ? a->y : b->y;
	int x1 = a->x + a->w > b->x + b->w ? a->x + a->w : b->x + b->w;
	int y1 = a->y + a->h > b->y + b->h ? a->y + a->h : b->y + b->h;
	a->x = x0;
	a->y = y0;
	a->w = x1 - x0;
	a->h = y1 - y0;
}

void capture_frame_add_damage(struct capture_frame *f, struct capture_rect r)
{
	if (r.x < 0) {
		r.w += r.x;
		r.x = 0;
	}
	if (r.y < 0) {
		r.h += r.y;
		r.y = 0;
	}
	if (r.x + r.w > f->width)
		r.w = f->width - r.x;
	if (r.y + r.h > f->height)
		r.h = f->height - r.y;
	if (r.w <= 0 || r.h <= 0)
		return;
	if (f->n_damage < RD_CAPTURE_MAX_DAMAGE) {
		f->damage[f->n_damage++] = r;
		return;
	}
	for (int i = 1; i < f->n_damage; i++)
		capture_rect_union(&f->damage[0], &f->damage[i]);
	capture_rect_union(&f->damage[0], &r);
	f->n_damage = 1;
}

/* capture: backend selection and the calls that dispatch through the ops table. */
#define RD_LOG_SUBSYS "capture"
#include "capture.h"

#include <string.h>

#include "err.h"
#include "log.h"

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

int capture_open(const struct capture_config *cfg, struct capture **out)
{
	const char *want = cfg->backend && cfg->backend[0] ? cfg->backend : "auto";
	*out = NULL;
	if (strcmp(want, "auto") != 0) {
		for (size_t i = 0; i < sizeof(all_backends) / sizeof(all_backends[0]); i++) {
			const struct capture_ops *ops = all_backends[i];
			if (strcmp(ops->name, want) != 0)
				continue;
			rd_skip_reason_clear();
			int rc = ops->open(cfg, out);
			if (rc < 0)
				log_err("backend %s: cannot open %s: %s", ops->name, cfg->display ?
					rd_esc(cfg->display) : "(default)", rd_skip_reason_or(rc));
			else
				log_info("backend %s: %dx%d%s", ops->name, (*out)->width, (*out)->height,
					(*out)->cursor_embedded ? ", cursor embedded" : "");
			return rc;
		}
		log_err("unknown or unavailable capture backend %s", rd_esc(want));
		return RD_ERR_UNSUPPORTED;
	}
	struct capture_config probe = *cfg;
	probe.probing = true;
	for (size_t i = 0; i < sizeof(auto_order) / sizeof(auto_order[0]); i++) {
		const struct capture_ops *ops = auto_order[i];
		rd_skip_reason_clear();
		int rc = ops->open(&probe, out);
		if (rc == 0) {
			log_info("backend %s (auto): %dx%d%s", ops->name, (*out)->width, (*out)->height,
				(*out)->cursor_embedded ? ", cursor embedded" : "");
			return 0;
		}
		log_info("backend %s skipped: %s", ops->name, rd_skip_reason_or(rc));
	}
	log_err("no capture backend works here (tried drm, pipewire, x11 on %s); "
		"set [capture] backend and display", cfg->display ? rd_esc(cfg->display) : "$DISPLAY");
	return RD_ERR_NOTFOUND;
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

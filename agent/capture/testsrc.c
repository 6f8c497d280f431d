/* testsrc: a deterministic moving pattern, for tests and the demo.
 *
 * A still background (colour bars over a gradient) with a checkered square
 * that moves a fixed step per frame and bounces off the edges. Frame N is a
 * function of N and the size only, so two sources agree byte for byte. Damage
 * is exactly the square's old and new place. Options after the size (see
 * capture.h): ",switch=N:WxH" changes the size after N frames, ",still=N"
 * stops the motion after N frames (an idle screen: no damage). */
#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

#define BOX 64

struct testsrc {
	struct capture base;
	struct capture_frame frame;
	uint8_t *pix;
	uint64_t seq;              /* frames produced */
	struct capture_rect box;   /* where the square is now */
	bool have_box;
	uint64_t switch_after;     /* 0 = never */
	int switch_w, switch_h;
	bool switched;
	uint64_t still_after;      /* 0 = moves forever */
};

static int parse_size(const char *s, int *w, int *h, const char **end)
{
	char *e;
	long a = strtol(s, &e, 10);
	if (e == s || *e != 'x')
		return RD_ERR_INVAL;
	const char *p = e + 1;
	long b = strtol(p, &e, 10);
	if (e == p || a < 16 || b < 16 || a > 8192 || b > 8192)
		return RD_ERR_INVAL;
	*w = (int)a;
	*h = (int)b;
	*end = e;
	return 0;
}

static void paint_background(struct testsrc *t, int x0, int y0, int w, int h)
{
	static const uint8_t bars[8][3] = {	/* B, G, R */
		{ 235, 235, 235 }, { 16, 235, 235 }, { 235, 235, 16 }, { 16, 235, 16 },
		{ 235, 16, 235 }, { 16, 16, 235 }, { 235, 16, 16 }, { 40, 40, 40 },
	};
	int W = t->base.width, H = t->base.height;
	for (int y = y0; y < y0 + h; y++) {
		uint8_t *row = t->pix + (size_t)y * t->frame.stride;
		for (int x = x0; x < x0 + w; x++) {
			uint8_t *p = row + 4 * x;
			if (y < H / 2) {
				const uint8_t *c = bars[x * 8 / W];
				p[0] = c[0];
				p[1] = c[1];
				p[2] = c[2];
			} else {
				p[0] = (uint8_t)(255 * x / W);
				p[1] = (uint8_t)(255 * (y - H / 2) / (H - H / 2));
				p[2] = (uint8_t)(255 - 255 * x / W);
			}
			p[3] = 0xff;
		}
	}
}

static void paint_box(struct testsrc *t, const struct capture_rect *r, uint64_t n)
{
	for (int y = r->y; y < r->y + r->h; y++) {
		uint8_t *row = t->pix + (size_t)y * t->frame.stride;
		for (int x = r->x; x < r->x + r->w; x++) {
			uint8_t *p = row + 4 * x;
			bool on = (((x - r->x) / 16) ^ ((y - r->y) / 16)) & 1;
			p[0] = on ? 20 : (uint8_t)(n * 3);
			p[1] = on ? 20 : 200;
			p[2] = on ? 20 : 250;
			p[3] = 0xff;
		}
	}
}

/* Position of the square in frame n: a triangle wave on each axis. */
static struct capture_rect box_at(const struct testsrc *t, uint64_t n)
{
	int bw = RD_MIN(BOX, t->base.width), bh = RD_MIN(BOX, t->base.height);
	int rx = t->base.width - bw, ry = t->base.height - bh;
	struct capture_rect r = { 0, 0, bw, bh };
	if (rx > 0) {
		uint64_t p = (n * 7) % (uint64_t)(2 * rx);
		r.x = (int)(p < (uint64_t)rx ? p : (uint64_t)(2 * rx) - p);
	}
	if (ry > 0) {
		uint64_t p = (n * 5) % (uint64_t)(2 * ry);
		r.y = (int)(p < (uint64_t)ry ? p : (uint64_t)(2 * ry) - p);
	}
	return r;
}

static int alloc_pixels(struct testsrc *t, int w, int h)
{
	uint8_t *pix = malloc((size_t)w * h * 4);
	if (!pix)
		return RD_ERR_NOMEM;
	free(t->pix);
	t->pix = pix;
	t->base.width = w;
	t->base.height = h;
	t->frame.width = w;
	t->frame.height = h;
	t->frame.stride = w * 4;
	t->frame.data = pix;
	t->have_box = false;
	paint_background(t, 0, 0, w, h);
	return 0;
}

static int testsrc_open(const struct capture_config *cfg, struct capture **out)
{
	int w = 640, h = 360, rc;
	const char *e = NULL;
	struct testsrc *t = xcalloc(1, sizeof(*t));
	t->base.ops = &capture_testsrc_ops;
	t->base.format = RD_CAPTURE_FMT_BGRX;
	t->base.cursor_embedded = true;	/* there is no pointer to draw */
	t->frame.format = RD_CAPTURE_FMT_BGRX;
	t->frame.cursor_embedded = true;
	if (cfg->display && cfg->display[0]) {
		rc = RD_ERR_INVAL;
		if (parse_size(cfg->display, &w, &h, &e) < 0)
			goto fail;
		while (*e) {
			char *n_end;
			if (strncmp(e, ",switch=", 8) == 0) {
				unsigned long long n = strtoull(e + 8, &n_end, 10);
				if (n_end == e + 8 || *n_end != ':' || n == 0)
					goto fail;
				if (parse_size(n_end + 1, &t->switch_w, &t->switch_h, &e) < 0)
					goto fail;
				t->switch_after = n;
			} else if (strncmp(e, ",still=", 7) == 0) {
				unsigned long long n = strtoull(e + 7, &n_end, 10);
				if (n_end == e + 7 || n == 0)
					goto fail;
				t->still_after = n;
				e = n_end;
			} else {
				goto fail;
			}
		}
	}
	rc = alloc_pixels(t, w, h);
	if (rc < 0)
		goto fail;
	*out = &t->base;
	return 0;
fail:
	free(t->pix);
	free(t);
	return rc;
}

static void testsrc_close(struct capture *c)
{
	struct testsrc *t = (struct testsrc *)c;
	free(t->pix);
	free(t);
}

static int testsrc_grab(struct capture *c, bool full, struct capture_frame **out)
{
	struct testsrc *t = (struct testsrc *)c;
	if (t->switch_after && !t->switched && t->seq >= t->switch_after)
		return RD_CAPTURE_REINIT;
	struct capture_frame *f = &t->frame;
	if (t->still_after && t->seq >= t->still_after && t->have_box && !full)
		return RD_CAPTURE_RETRY;
	f->n_damage = 0;
	uint64_t n = t->seq;
	if (t->still_after && n >= t->still_after)
		n = t->still_after - 1;	/* the last place it moved to */
	struct capture_rect nb = box_at(t, n);
	if (t->have_box) {
		paint_background(t, t->box.x, t->box.y, t->box.w, t->box.h);
		capture_frame_add_damage(f, t->box);
	}
	paint_box(t, &nb, n);
	capture_frame_add_damage(f, nb);
	if (full || !t->have_box) {
		f->n_damage = 0;
		capture_frame_add_damage(f, (struct capture_rect){ 0, 0, c->width, c->height });
	}
	t->box = nb;
	t->have_box = true;
	f->seq = t->seq++;
	*out = f;
	return RD_CAPTURE_DONE;
}

static int testsrc_reinit(struct capture *c)
{
	struct testsrc *t = (struct testsrc *)c;
	if (!t->switch_after || t->switched)
		return 0;
	t->switched = true;
	return alloc_pixels(t, t->switch_w, t->switch_h);
}

const struct capture_ops capture_testsrc_ops = {
	.name = "testsrc",
	.open = testsrc_open,
	.close = testsrc_close,
	.grab = testsrc_grab,
	.reinit = testsrc_reinit,
};

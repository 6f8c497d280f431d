/* tile_damage: tile compare of a framebuffer against a mirror, and conversion
 * of the changed tiles to BGRX (see tile_damage.h). */
#include "tile_damage.h"

#include <drm_fourcc.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

#define TILE RD_TILE_DAMAGE_TILE
#define MAX_RECTS 256

struct tile_damage {
	int w, h;
	uint32_t fourcc;
	int bpp;
	uint8_t *mirror;         /* the source's pixels as last seen */
	int mstride;
	uint8_t *out;            /* BGRX; == mirror for the 32-bit BGRX formats */
	int ostride;
	int tx, ty;              /* tiles across and down */
	uint8_t *dirty;          /* tx * ty flags */
	unsigned tick;           /* sampled updates so far: picks the rows read */
	unsigned idle;           /* updates in a row without a change */
	uint64_t bytes_read;
};

int tile_damage_bpp(uint32_t fourcc)
{
	switch (fourcc) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
		return 4;
	case DRM_FORMAT_RGB565:
		return 2;
	default:
		return 0;
	}
}

static bool is_bgrx(uint32_t fourcc)
{
	return fourcc == DRM_FORMAT_XRGB8888 || fourcc == DRM_FORMAT_ARGB8888;
}

int tile_damage_new(int w, int h, uint32_t fourcc, struct tile_damage **out)
{
	*out = NULL;
	int bpp = tile_damage_bpp(fourcc);
	if (!bpp)
		return RD_ERR_UNSUPPORTED;
	if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
		return RD_ERR_INVAL;
	struct tile_damage *s = calloc(1, sizeof(*s));
	if (!s)
		return RD_ERR_NOMEM;
	s->w = w;
	s->h = h;
	s->fourcc = fourcc;
	s->bpp = bpp;
	s->mstride = w * bpp;
	s->ostride = w * 4;
	s->tx = (w + TILE - 1) / TILE;
	s->ty = (h + TILE - 1) / TILE;
	s->mirror = calloc((size_t)h, (size_t)s->mstride);
	s->dirty = calloc((size_t)s->tx, (size_t)s->ty);
	s->out = is_bgrx(fourcc) ? s->mirror : calloc((size_t)h, (size_t)s->ostride);
	if (!s->mirror || !s->dirty || !s->out) {
		tile_damage_free(s);
		return RD_ERR_NOMEM;
	}
	*out = s;
	return 0;
}

void tile_damage_free(struct tile_damage *s)
{
	if (!s)
		return;
	if (s->out != s->mirror)
		free(s->out);
	free(s->mirror);
	free(s->dirty);
	free(s);
}

const uint8_t *tile_damage_pixels(const struct tile_damage *s, int *stride)
{
	*stride = s->ostride;
	return s->out;
}

uint64_t tile_damage_bytes_read(const struct tile_damage *s)
{
	return s->bytes_read;
}

/* Compare row y of the source with the mirror, tile by tile. */
static void compare_row(struct tile_damage *s, const uint8_t *src, int y)
{
	const uint8_t *m = s->mirror + (size_t)y * s->mstride;
	uint8_t *d = s->dirty + (size_t)(y / TILE) * s->tx;
	int tb = TILE * s->bpp;
	for (int t = 0; t < s->tx; t++) {
		if (d[t])
			continue;
		int off = t * tb;
		int len = off + tb > s->mstride ? s->mstride - off : tb;
		if (memcmp(src + off, m + off, (size_t)len) != 0)
			d[t] = 1;
	}
	s->bytes_read += (uint64_t)s->mstride;
}

static void convert(struct tile_damage *s, int x0, int x1, int y)
{
	const uint8_t *m = s->mirror + (size_t)y * s->mstride;
	uint8_t *o = s->out + (size_t)y * s->ostride;
	if (s->fourcc == DRM_FORMAT_RGB565) {
		for (int x = x0; x < x1; x++) {
			unsigned p = m[2 * x] | (unsigned)m[2 * x + 1] << 8;
			unsigned r = p >> 11, g = (p >> 5) & 63, b = p & 31;
			o[4 * x] = (uint8_t)(b << 3 | b >> 2);
			o[4 * x + 1] = (uint8_t)(g << 2 | g >> 4);
			o[4 * x + 2] = (uint8_t)(r << 3 | r >> 2);
			o[4 * x + 3] = 0xff;
		}
	} else {	/* XBGR8888 / ABGR8888: bytes R, G, B, X */
		for (int x = x0; x < x1; x++) {
			o[4 * x] = m[4 * x + 2];
			o[4 * x + 1] = m[4 * x + 1];
			o[4 * x + 2] = m[4 * x];
			o[4 * x + 3] = 0xff;
		}
	}
}

/* Copy the pixel columns [x0, x1) of tile row ty from the source. */
static void copy_span(struct tile_damage *s, const uint8_t *src, int pitch, int ty, int x0, int x1)
{
	int y1 = RD_MIN((ty + 1) * TILE, s->h);
	size_t off = (size_t)x0 * s->bpp, len = (size_t)(x1 - x0) * s->bpp;
	for (int y = ty * TILE; y < y1; y++) {
		memcpy(s->mirror + (size_t)y * s->mstride + off, src + (size_t)y * pitch + off, len);
		if (s->out != s->mirror)
			convert(s, x0, x1, y);
	}
	s->bytes_read += (uint64_t)len * (uint64_t)(y1 - ty * TILE);
}

/* Runs of dirty tiles become rectangles; a run with the same columns as one
 * ending just above extends it. */
static int collect(struct tile_damage *s, const uint8_t *src, int pitch, struct capture_frame *f)
{
	struct capture_rect r[MAX_RECTS];
	int nr = 0, tiles = 0;
	for (int ty = 0; ty < s->ty; ty++) {
		uint8_t *d = s->dirty + (size_t)ty * s->tx;
		for (int t = 0; t < s->tx; t++) {
			if (!d[t])
				continue;
			int t1 = t;
			while (t1 < s->tx && d[t1])
				d[t1++] = 0;
			tiles += t1 - t;
			int x0 = t * TILE, x1 = RD_MIN(t1 * TILE, s->w);
			int y0 = ty * TILE, y1 = RD_MIN(y0 + TILE, s->h);
			copy_span(s, src, pitch, ty, x0, x1);
			int i;
			for (i = 0; i < nr; i++)
				if (r[i].x == x0 && r[i].w == x1 - x0 && r[i].y + r[i].h == y0)
					break;
			if (i < nr) {
				r[i].h += y1 - y0;
			} else if (nr < MAX_RECTS) {
				r[nr++] = (struct capture_rect){ x0, y0, x1 - x0, y1 - y0 };
			} else {
				capture_rect_union(&r[MAX_RECTS - 1],
					&(struct capture_rect){ x0, y0, x1 - x0, y1 - y0 });
			}
			t = t1 - 1;
		}
	}
	for (int i = 0; i < nr; i++)
		capture_frame_add_damage(f, r[i]);
	return tiles;
}

int tile_damage_update(struct tile_damage *s, const uint8_t *src, int pitch, bool all_rows,
	bool copy_all, struct capture_frame *f)
{
	if (copy_all) {
		memset(s->dirty, 1, (size_t)s->tx * s->ty);
	} else if (all_rows) {
		for (int y = 0; y < s->h; y++)
			compare_row(s, src + (size_t)y * pitch, y);
	} else {
		/* Row offsets tick * 13 cover every residue of 8 within 8 ticks and
		 * of 32 within 32 (13 is odd), spread out rather than in order. */
		int step = s->idle >= RD_TILE_DAMAGE_IDLE_AFTER ? RD_TILE_DAMAGE_STEP_IDLE
			: RD_TILE_DAMAGE_STEP;
		int first = (int)((s->tick++ * 13u) % (unsigned)step);
		for (int y = first; y < s->h; y += step)
			compare_row(s, src + (size_t)y * pitch, y);
	}
	int tiles = collect(s, src, pitch, f);
	s->idle = tiles ? 0 : s->idle + 1;
	return tiles;
}

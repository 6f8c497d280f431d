/* drm: capture of the scanout framebuffer of a KMS device (/dev/dri/cardN).
 *
 * The backend is an ordinary client of the device: it never becomes DRM
 * master and never changes a mode. On every tick it asks which framebuffer
 * the chosen CRTC shows (GETCRTC), and when that is a new one it describes it
 * (GETFB2: size, format, pitch, modifier, GEM handle) and maps it, through
 * the dumb-buffer mmap offset or, failing that, a PRIME dma-buf. The kernel
 * hands out another client's GEM handle only to DRM master or to a process
 * with CAP_SYS_ADMIN; without it open fails with a clear message.
 *
 * Follows what the display does: a page flip to a buffer of the same
 * geometry is read at once (every row compared); a new size or format is
 * REINIT; a CRTC that goes dark makes the backend wait (RETRY, one log line)
 * and pick up the next active CRTC. Once a second the buffer's identity is
 * checked again (a framebuffer ID may be reused for another buffer).
 * Damage comes from tile_damage's tile compare, so an idle console costs one
 * ioctl and an eighth of the screen's rows per tick.
 *
 * display = "" picks the first card with a lit CRTC; "/dev/dri/cardN" or
 * "cardN" names one. */
#define RD_LOG_SUBSYS "drm"
#include "capture.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "drm_fb.h"
#include "tile_damage.h"
#include "err.h"
#include "log.h"
#include "privsep.h"
#include "util.h"

#define PLACEHOLDER_W 640
#define PLACEHOLDER_H 480
#define RECHECK_SECS 1.0
#define N_SPARE 2


struct drm {
	struct capture base;
	int fd;
	char path[64];
	uint32_t crtc_id;
	struct drm_fbinfo fb;     /* the adopted geometry (fb.fb_id 0: placeholder) */
	struct drm_scanout map;
	struct drm_scanout spare[N_SPARE];	/* buffers shown before, still mapped */
	struct tile_damage *scan;
	bool dark;                /* no lit CRTC right now */
	bool reinit_pending;
	bool first;
	bool flipped;             /* read every row at the next grab */
	double last_check;
	struct capture_frame frame;
	uint64_t seq;
};
/* The framebuffer a lit CRTC shows: d->crtc_id first, else the first lit one. */
static uint32_t find_scanout(struct drm *d, uint32_t *crtc_out)
{
	drmModeCrtcPtr c = d->crtc_id ? drmModeGetCrtc(d->fd, d->crtc_id) : NULL;
	if (c && c->mode_valid && c->buffer_id) {
		uint32_t fb = c->buffer_id;
		*crtc_out = c->crtc_id;
		drmModeFreeCrtc(c);
		return fb;
	}
	drmModeFreeCrtc(c);
	drmModeResPtr res = drmModeGetResources(d->fd);
	uint32_t fb = 0;
	for (int i = 0; res && i < res->count_crtcs && !fb; i++) {
		c = drmModeGetCrtc(d->fd, res->crtcs[i]);
		if (c && c->mode_valid && c->buffer_id) {
			fb = c->buffer_id;
			*crtc_out = c->crtc_id;
		}
		drmModeFreeCrtc(c);
	}
	drmModeFreeResources(res);
	return fb;
}

/* Take the framebuffer the display shows now as the geometry. With no lit
 * CRTC keep the last geometry (or make a black placeholder) and wait; a
 * framebuffer that cannot be read is sent as black at its size. */
static int adopt(struct drm *d)
{
	struct drm_fbinfo fi = { 0 };
	struct drm_scanout m = { .prime_fd = -1 };
	uint32_t handle = 0, crtc = 0;
	char why[200];
	uint32_t fb_id = find_scanout(d, &crtc);
	if (!fb_id || privsep_drm_fb(d->fd, fb_id, &fi, &handle) < 0) {
		if (d->scan) {
			d->dark = true;
			return 0;
		}
		fi = (struct drm_fbinfo){ 0, PLACEHOLDER_W, PLACEHOLDER_H, DRM_FORMAT_XRGB8888,
			PLACEHOLDER_W * 4, 0, DRM_FORMAT_MOD_LINEAR };
	} else {
		int rc = drm_fb_check(d->path, &fi, handle, why, sizeof(why));
		if (rc < 0) {
			log_warn("%s; sending black", why);
			if (handle)
				drmCloseBufferHandle(d->fd, handle);
		} else {
			rc = drm_fb_map(d->fd, d->path, &fi, handle, &m);	/* closes handle on failure */
		}
		if (rc < 0) {
			m.fb_id = fi.fb_id;	/* known, not readable: not followed again */
			fi.format = DRM_FORMAT_XRGB8888;
		}
	}
	if (fb_id)
		d->crtc_id = crtc;
	struct tile_damage *scan;
	int rc = tile_damage_new((int)fi.width, (int)fi.height, fi.format, &scan);
	if (rc < 0) {
		drm_scanout_release(d->fd, &m);
		return rc;
	}
	drm_scanout_release(d->fd, &d->map);
	for (int i = 0; i < N_SPARE; i++)
		drm_scanout_release(d->fd, &d->spare[i]);
	tile_damage_free(d->scan);
	d->map = m;
	d->scan = scan;
	d->fb = fi;
	d->dark = fi.fb_id == 0;
	d->base.width = (int)fi.width;
	d->base.height = (int)fi.height;
	d->first = true;
	d->flipped = false;
	d->last_check = rd_now();
	return 0;
}

/* cardN in /dev/dri/cardN or cardN, else -1. */
static int card_number(const char *path)
{
	const char *p = strncmp(path, "/dev/dri/", 9) == 0 ? path + 9 : path;
	char *end;
	if (strncmp(p, "card", 4) != 0 || !p[4])
		return -1;
	long n = strtol(p + 4, &end, 10);
	return *end || n < 0 || n > 15 ? -1 : (int)n;
}

/* Open through privsep (the helper, or here), which drops the master role a
 * first opener gets, so a compositor started later can still set modes. */
static int open_card(const char *path, struct drm *d)
{
	int card = card_number(path);
	if (card < 0) {
		rd_skip_reason("%s is not a DRM card (/dev/dri/card0 to card15)", rd_esc(path));
		return RD_ERR_NOTFOUND;
	}
	int rc = privsep_drm_open((unsigned)card, &d->fd);
	if (rc < 0) {
		d->fd = -1;
		rd_skip_reason("cannot open %s: %s", path, strerror(errno));
		return rc;
	}
	rd_strlcpy(d->path, path, sizeof(d->path));
	drmModeResPtr res = drmModeGetResources(d->fd);
	if (!res || res->count_crtcs == 0) {
		drmModeFreeResources(res);
		rd_skip_reason("%s has no display engine (render-only device)", path);
		close(d->fd);
		d->fd = -1;
		return RD_ERR_NOTFOUND;
	}
	drmModeFreeResources(res);
	return 0;
}

/* The configured card, or the first card with a lit CRTC (else the first
 * card with a display engine). */
static int choose_card(const char *want, struct drm *d)
{
	char path[64];
	if (want && want[0]) {
		if (strncmp(want, "card", 4) == 0)
			snprintf(path, sizeof(path), "/dev/dri/%s", want);
		else
			rd_strlcpy(path, want, sizeof(path));
		return open_card(path, d);
	}
	int first_rc = RD_ERR_NOTFOUND;
	char first_path[64] = "";
	for (int i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		int rc = open_card(path, d);
		if (rc == RD_ERR_NOTFOUND)
			continue;
		if (rc < 0) {
			first_rc = first_rc == RD_ERR_NOTFOUND ? rc : first_rc;
			continue;
		}
		uint32_t crtc;
		if (find_scanout(d, &crtc))
			return 0;
		if (!first_path[0])
			rd_strlcpy(first_path, path, sizeof(first_path));
		close(d->fd);
		d->fd = -1;
	}
	if (first_path[0])
		return open_card(first_path, d);
	if (first_rc == RD_ERR_NOTFOUND)
		rd_skip_reason("no KMS device (/dev/dri/card*) here");
	return first_rc;
}

/* At open: is there a lit CRTC with a framebuffer we may read? */
static int probe_readable(struct drm *d, bool probing)
{
	uint32_t crtc, handle;
	struct drm_fbinfo fi;
	char why[200];
	uint32_t fb_id = find_scanout(d, &crtc);
	if (!fb_id) {
		if (probing) {
			rd_skip_reason("%s: no active output (no CRTC shows a framebuffer)",
				d->path);
			return RD_ERR_NOTFOUND;
		}
		log_warn("%s: no active output (no CRTC shows a framebuffer); sending black "
			"%dx%d and looking again every frame", d->path, PLACEHOLDER_W, PLACEHOLDER_H);
		return 0;
	}
	int rc = privsep_drm_fb(d->fd, fb_id, &fi, &handle);
	if (rc < 0) {
		rd_skip_reason("%s: framebuffer %u: %s", d->path, fb_id, strerror(errno));
		return rc;
	}
	rc = drm_fb_check(d->path, &fi, handle, why, sizeof(why));
	if (handle)
		drmCloseBufferHandle(d->fd, handle);
	if (rc < 0)
		rd_skip_reason("%s", why);
	return rc;
}

static int drm_open(const struct capture_config *cfg, struct capture **out)
{
	const char *want = cfg->display;
	if (cfg->probing && want && want[0] && strncmp(want, "card", 4) != 0 &&
	    strncmp(want, "/dev/dri/", 9) != 0) {
		rd_skip_reason("display %s names no DRM card", rd_esc(want));
		return RD_ERR_NOTFOUND;
	}
	struct drm *d = xcalloc(1, sizeof(*d));
	d->base.ops = &capture_drm_ops;
	d->base.format = RD_CAPTURE_FMT_BGRX;
	d->map.prime_fd = -1;
	for (int i = 0; i < N_SPARE; i++)
		d->spare[i].prime_fd = -1;
	d->frame.format = RD_CAPTURE_FMT_BGRX;
	int rc = choose_card(want, d);
	if (rc < 0)
		goto fail;
	rc = probe_readable(d, cfg->probing);
	if (rc < 0)
		goto fail_fd;
	rc = adopt(d);
	if (rc < 0)
		goto fail_fd;
	char fs[8];
	if (!d->dark)
		log_info("%s: CRTC %u shows framebuffer %u, %ux%u %s, %s", d->path, d->crtc_id,
			d->fb.fb_id, d->fb.width, d->fb.height, drm_fourcc_str(d->fb.format, fs),
			d->map.prime_fd >= 0 ? "PRIME mapped" : "dumb mapped");
	*out = &d->base;
	return 0;
fail_fd:
	close(d->fd);
fail:
	free(d);
	return rc;
}

static void drm_close(struct capture *c)
{
	struct drm *d = (struct drm *)c;
	drm_scanout_release(d->fd, &d->map);
	for (int i = 0; i < N_SPARE; i++)
		drm_scanout_release(d->fd, &d->spare[i]);
	tile_damage_free(d->scan);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

/* A different framebuffer is on screen (or the buffer behind our ID
 * changed): same geometry -> map it and compare every row; else REINIT. */
static int follow(struct drm *d, uint32_t fb_id, uint32_t crtc)
{
	struct drm_fbinfo fi;
	uint32_t handle;
	if (fb_id == d->map.fb_id && !d->map.pix && d->fb.fb_id)
		return RD_CAPTURE_RETRY;	/* known unreadable: stays black */
	int rc = privsep_drm_fb(d->fd, fb_id, &fi, &handle);
	if (rc < 0)
		return RD_CAPTURE_RETRY;	/* removed meanwhile: look again next tick */
	if (fi.width != d->fb.width || fi.height != d->fb.height || fi.format != d->fb.format ||
	    d->fb.fb_id == 0) {
		if (handle)
			drmCloseBufferHandle(d->fd, handle);
		d->reinit_pending = true;
		return RD_CAPTURE_REINIT;
	}
	char why[200];
	if (drm_fb_check(d->path, &fi, handle, why, sizeof(why)) < 0) {
		if (handle)
			drmCloseBufferHandle(d->fd, handle);
		d->reinit_pending = true;
		return RD_CAPTURE_REINIT;
	}
	uint64_t ident;
	int pfd;
	if (drm_fb_ident(d->fd, handle, &ident, &pfd) == 0) {
		if (pfd >= 0)
			close(pfd);
		if (fb_id == d->map.fb_id && ident == d->map.ident) {	/* the same buffer after all */
			drmCloseBufferHandle(d->fd, handle);
			return RD_CAPTURE_RETRY;
		}
		for (int i = 0; i < N_SPARE; i++) {
			struct drm_scanout *sp = &d->spare[i];
			if (sp->base && sp->fb_id == fb_id && sp->ident == ident && sp->pitch == fi.pitch) {
				/* A buffer shown before (double or triple buffering). */
				drmCloseBufferHandle(d->fd, handle);
				struct drm_scanout t = d->map;
				d->map = *sp;
				*sp = t;
				goto flipped;
			}
		}
	}
	struct drm_scanout m;
	if (drm_fb_map(d->fd, d->path, &fi, handle, &m) < 0)
		return RD_CAPTURE_RETRY;
	drm_scanout_release(d->fd, &d->spare[N_SPARE - 1]);
	memmove(&d->spare[1], &d->spare[0], sizeof(d->spare[0]) * (N_SPARE - 1));
	d->spare[0] = d->map;
	d->map = m;
flipped:
	d->fb = fi;
	d->crtc_id = crtc;
	d->flipped = true;
	return RD_CAPTURE_RETRY;
}

/* What is on screen now? RETRY when grab may read d->map. */
static int track(struct drm *d)
{
	if (d->reinit_pending)
		return RD_CAPTURE_REINIT;
	uint32_t crtc = 0;
	uint32_t fb_id = find_scanout(d, &crtc);
	if (!fb_id) {
		if (!d->dark)
			log_warn("%s: no active output any more; waiting for one", d->path);
		d->dark = true;
		return RD_CAPTURE_RETRY;
	}
	if (d->dark) {
		log_info("%s: CRTC %u shows framebuffer %u again", d->path, crtc, fb_id);
		d->dark = false;
		if (d->fb.fb_id == 0)
			return d->reinit_pending = true, RD_CAPTURE_REINIT;
	}
	double now = rd_now();
	if (fb_id != d->map.fb_id || crtc != d->crtc_id || now - d->last_check >= RECHECK_SECS) {
		d->last_check = now;
		return follow(d, fb_id, crtc);
	}
	return RD_CAPTURE_RETRY;
}

static void dmabuf_sync(struct drm *d, uint64_t flags)
{
	if (d->map.prime_fd < 0)
		return;
	struct dma_buf_sync s = { .flags = flags | DMA_BUF_SYNC_READ };
	while (ioctl(d->map.prime_fd, DMA_BUF_IOCTL_SYNC, &s) < 0 && errno == EINTR)
		;
}

static int drm_grab(struct capture *c, bool full, struct capture_frame **out)
{
	struct drm *d = (struct drm *)c;
	struct capture_frame *f = &d->frame;
	int rc = track(d);
	if (rc != RD_CAPTURE_RETRY)
		return rc;
	f->n_damage = 0;
	f->width = c->width;
	f->height = c->height;
	f->data = tile_damage_pixels(d->scan, &f->stride);
	if (d->dark || !d->map.pix) {
		if (!d->first && !full)
			return RD_CAPTURE_RETRY;
		capture_frame_add_damage(f, (struct capture_rect){ 0, 0, c->width, c->height });
	} else {
		bool all = full || d->first;
		dmabuf_sync(d, DMA_BUF_SYNC_START);
		tile_damage_update(d->scan, d->map.pix, (int)d->map.pitch, d->flipped, all, f);
		dmabuf_sync(d, DMA_BUF_SYNC_END);
		d->flipped = false;
		if (all && f->n_damage == 0)
			capture_frame_add_damage(f, (struct capture_rect){ 0, 0, c->width, c->height });
	}
	if (f->n_damage == 0)
		return RD_CAPTURE_RETRY;
	d->first = false;
	f->cursor_embedded = false;
	f->seq = d->seq++;
	*out = f;
	return RD_CAPTURE_DONE;
}

static int drm_reinit(struct capture *c)
{
	struct drm *d = (struct drm *)c;
	uint32_t old_w = d->fb.width, old_h = d->fb.height, old_fmt = d->fb.format;
	d->reinit_pending = false;
	int rc = adopt(d);
	if (rc < 0)
		return rc;
	char a[8], b[8];
	log_info("%s: framebuffer %u, %ux%u %s -> %ux%u %s", d->path, d->fb.fb_id, old_w, old_h,
		drm_fourcc_str(old_fmt, a), d->fb.width, d->fb.height, drm_fourcc_str(d->fb.format, b));
	return 0;
}

const struct capture_ops capture_drm_ops = {
	.name = "drm",
	.open = drm_open,
	.close = drm_close,
	.get_fd = NULL,
	.dispatch = NULL,
	.grab = drm_grab,
	.reinit = drm_reinit,
};

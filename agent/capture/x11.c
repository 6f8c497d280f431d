/* x11: capture of an X screen (Xorg, Xvfb) over xcb.
 *
 * XDamage at the NonEmpty level sends one event when the screen stops being
 * clean; until then a tick costs one QueryPointer and nothing else. On a tick
 * with damage the region is taken (DamageSubtract into an XFixes region,
 * FetchRegion) and only the damaged rows are read, with MIT-SHM GetImage
 * straight into their place in a shared buffer (plain GetImage when the
 * server is remote). The pointer, which GetImage leaves out, is composited
 * from the XFixes cursor image, so frames carry it (cursor_embedded). */
#define RD_LOG_SUBSYS "x11"
#include "capture.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <xcb/damage.h>
#include <xcb/shm.h>
#include <xcb/xcb.h>
#include <xcb/xfixes.h>

#include "err.h"
#include "log.h"
#include "util.h"
#include "x11_auth.h"

struct x11_cursor {
	uint32_t *pix;             /* premultiplied ARGB */
	int w, h, xhot, yhot;
	int x, y;                  /* pointer position */
	bool shape_dirty;
	bool drawn;
	struct capture_rect drawn_at;  /* where the fb holds cursor pixels */
};

struct x11 {
	struct capture base;
	xcb_connection_t *conn;
	xcb_window_t root;
	bool use_shm;
	xcb_shm_seg_t seg;
	uint8_t *fb;
	size_t fb_size;
	int stride;
	xcb_damage_damage_t damage;
	xcb_xfixes_region_t region;
	uint8_t damage_ev;
	uint8_t xfixes_ev;
	bool damaged;
	bool resized;
	bool first;
	bool want_cursor;
	struct x11_cursor cur;
	struct capture_frame frame;
	uint64_t seq;
};

static bool has_ext(xcb_connection_t *c, xcb_extension_t *ext, uint8_t *ev_base)
{
	const xcb_query_extension_reply_t *r = xcb_get_extension_data(c, ext);
	if (!r || !r->present)
		return false;
	if (ev_base)
		*ev_base = r->first_event;
	return true;
}

static void fb_free(struct x11 *x)
{
	if (!x->fb)
		return;
	if (x->use_shm) {
		xcb_shm_detach(x->conn, x->seg);
		shmdt(x->fb);
	} else {
		free(x->fb);
	}
	x->fb = NULL;
}

/* Shared memory for the whole screen; falls back to a private buffer and
 * plain GetImage when the server cannot attach it (remote display). */
static int fb_alloc(struct x11 *x)
{
	x->stride = x->base.width * 4;
	x->fb_size = (size_t)x->stride * x->base.height;
	if (x->use_shm) {
		int id = shmget(IPC_PRIVATE, x->fb_size, IPC_CREAT | 0600);
		if (id >= 0) {
			void *p = shmat(id, NULL, 0);
			if (p != (void *)-1) {
				x->seg = xcb_generate_id(x->conn);
				xcb_generic_error_t *err = xcb_request_check(x->conn,
					xcb_shm_attach_checked(x->conn, x->seg, (uint32_t)id, 0));
				shmctl(id, IPC_RMID, NULL);
				if (!err) {
					x->fb = p;
					return 0;
				}
				free(err);
				shmdt(p);
			} else {
				shmctl(id, IPC_RMID, NULL);
			}
		}
		log_info("MIT-SHM not usable here; reading the screen with GetImage");
		x->use_shm = false;
	}
	x->fb = calloc(1, x->fb_size);
	return x->fb ? 0 : RD_ERR_NOMEM;
}

static int read_geometry(struct x11 *x)
{
	xcb_get_geometry_reply_t *g = xcb_get_geometry_reply(x->conn,
		xcb_get_geometry(x->conn, x->root), NULL);
	if (!g)
		return RD_ERR_IO;
	x->base.width = g->width;
	x->base.height = g->height;
	free(g);
	return 0;
}

static int check_format(xcb_connection_t *c, const xcb_screen_t *s)
{
	if (s->root_depth != 24 && s->root_depth != 32)
		return RD_ERR_UNSUPPORTED;
	const xcb_setup_t *setup = xcb_get_setup(c);
	if (setup->image_byte_order != XCB_IMAGE_ORDER_LSB_FIRST)
		return RD_ERR_UNSUPPORTED;
	xcb_format_iterator_t it = xcb_setup_pixmap_formats_iterator(setup);
	for (; it.rem; xcb_format_next(&it))
		if (it.data->depth == s->root_depth)
			return it.data->bits_per_pixel == 32 ? 0 : RD_ERR_UNSUPPORTED;
	return RD_ERR_UNSUPPORTED;
}

static int setup_extensions(struct x11 *x)
{
	xcb_connection_t *c = x->conn;
	xcb_prefetch_extension_data(c, &xcb_damage_id);
	xcb_prefetch_extension_data(c, &xcb_xfixes_id);
	xcb_prefetch_extension_data(c, &xcb_shm_id);
	if (!has_ext(c, &xcb_xfixes_id, &x->xfixes_ev) || !has_ext(c, &xcb_damage_id, &x->damage_ev)) {
		log_warn("server lacks XFIXES or DAMAGE");
		return RD_ERR_UNSUPPORTED;
	}
	/* Both extensions must hear our version before their first use. */
	free(xcb_xfixes_query_version_reply(c, xcb_xfixes_query_version(c, 5, 0), NULL));
	free(xcb_damage_query_version_reply(c, xcb_damage_query_version(c, 1, 1), NULL));
	x->use_shm = has_ext(c, &xcb_shm_id, NULL);
	if (x->use_shm) {
		xcb_shm_query_version_reply_t *r = xcb_shm_query_version_reply(c,
			xcb_shm_query_version(c), NULL);
		x->use_shm = r != NULL;
		free(r);
	}
	x->damage = xcb_generate_id(c);
	xcb_damage_create(c, x->damage, x->root, XCB_DAMAGE_REPORT_LEVEL_NON_EMPTY);
	x->region = xcb_generate_id(c);
	xcb_xfixes_create_region(c, x->region, 0, NULL);
	xcb_xfixes_select_cursor_input(c, x->root, XCB_XFIXES_CURSOR_NOTIFY_MASK_DISPLAY_CURSOR);
	uint32_t mask = XCB_EVENT_MASK_STRUCTURE_NOTIFY;
	xcb_change_window_attributes(c, x->root, XCB_CW_EVENT_MASK, &mask);
	return 0;
}

static int x11_open(const struct capture_config *cfg, struct capture **out)
{
	const char *name = cfg->display && cfg->display[0] ? cfg->display : getenv("DISPLAY");
	int screen = 0, rc;
	if (!name || !name[0])
		return RD_ERR_NOTFOUND;
	struct x11 *x = xcalloc(1, sizeof(*x));
	x->base.ops = &capture_x11_ops;
	x->base.format = RD_CAPTURE_FMT_BGRX;
	x->conn = x11_connect(name, &screen);
	if (xcb_connection_has_error(x->conn)) {
		rc = RD_ERR_NOTFOUND;
		goto fail_conn;
	}
	xcb_screen_iterator_t it = xcb_setup_roots_iterator(xcb_get_setup(x->conn));
	for (int i = 0; i < screen && it.rem; i++)
		xcb_screen_next(&it);
	rc = RD_ERR_NOTFOUND;
	if (!it.rem)
		goto fail_conn;
	x->root = it.data->root;
	rc = check_format(x->conn, it.data);
	if (rc < 0) {
		log_warn("display %s: depth %d is not 32-bit BGRX", rd_esc(name), it.data->root_depth);
		goto fail_conn;
	}
	rc = setup_extensions(x);
	if (rc < 0)
		goto fail_conn;
	rc = read_geometry(x);
	if (rc < 0)
		goto fail_conn;
	rc = fb_alloc(x);
	if (rc < 0)
		goto fail_conn;
	x->want_cursor = true;
	x->base.cursor_embedded = true;
	x->cur.shape_dirty = true;
	x->first = true;
	x->frame.format = RD_CAPTURE_FMT_BGRX;
	xcb_flush(x->conn);
	*out = &x->base;
	return 0;
fail_conn:
	xcb_disconnect(x->conn);
	free(x);
	return rc;
}

static void x11_close(struct capture *c)
{
	struct x11 *x = (struct x11 *)c;
	fb_free(x);
	if (!xcb_connection_has_error(x->conn)) {
		xcb_damage_destroy(x->conn, x->damage);
		xcb_xfixes_destroy_region(x->conn, x->region);
		xcb_flush(x->conn);
	}
	xcb_disconnect(x->conn);
	free(x->cur.pix);
	free(x);
}

static int x11_get_fd(struct capture *c)
{
	return xcb_get_file_descriptor(((struct x11 *)c)->conn);
}

static int x11_dispatch(struct capture *c)
{
	struct x11 *x = (struct x11 *)c;
	xcb_generic_event_t *ev;
	while ((ev = xcb_poll_for_event(x->conn))) {
		uint8_t type = ev->response_type & 0x7f;
		if (type == x->damage_ev + XCB_DAMAGE_NOTIFY) {
			x->damaged = true;
		} else if (type == x->xfixes_ev + XCB_XFIXES_CURSOR_NOTIFY) {
			x->cur.shape_dirty = true;
		} else if (type == XCB_CONFIGURE_NOTIFY) {
			xcb_configure_notify_event_t *cn = (xcb_configure_notify_event_t *)ev;
			if (cn->window == x->root &&
			    (cn->width != c->width || cn->height != c->height))
				x->resized = true;
		}
		free(ev);
	}
	if (xcb_connection_has_error(x->conn)) {
		log_err("connection to the X server lost");
		return RD_CAPTURE_FATAL;
	}
	return x->resized ? RD_CAPTURE_REINIT : RD_CAPTURE_RETRY;
}

static void fetch_cursor_shape(struct x11 *x)
{
	xcb_xfixes_get_cursor_image_reply_t *r = xcb_xfixes_get_cursor_image_reply(x->conn,
		xcb_xfixes_get_cursor_image(x->conn), NULL);
	x->cur.shape_dirty = false;
	if (!r)
		return;
	int n = r->width * r->height;
	uint32_t *pix = n > 0 && n <= 256 * 256 ? malloc((size_t)n * 4) : NULL;
	if (pix) {
		memcpy(pix, xcb_xfixes_get_cursor_image_cursor_image(r), (size_t)n * 4);
		free(x->cur.pix);
		x->cur.pix = pix;
		x->cur.w = r->width;
		x->cur.h = r->height;
		x->cur.xhot = r->xhot;
		x->cur.yhot = r->yhot;
	}
	free(r);
}

static struct capture_rect cursor_rect(const struct x11 *x)
{
	return (struct capture_rect){ x->cur.x - x->cur.xhot, x->cur.y - x->cur.yhot,
		x->cur.w, x->cur.h };
}

/* Blend the premultiplied cursor over the fb at the pointer. */
static void draw_cursor(struct x11 *x)
{
	struct capture_rect r = cursor_rect(x);
	x->cur.drawn = false;
	if (!x->cur.pix)
		return;
	for (int j = 0; j < r.h; j++) {
		int y = r.y + j;
		if (y < 0 || y >= x->base.height)
			continue;
		uint8_t *row = x->fb + (size_t)y * x->stride;
		const uint32_t *src = x->cur.pix + (size_t)j * x->cur.w;
		for (int i = 0; i < r.w; i++) {
			int px = r.x + i;
			uint32_t s = src[i], a = s >> 24;
			if (px < 0 || px >= x->base.width || a == 0)
				continue;
			uint8_t *d = row + 4 * px;
			for (int k = 0; k < 3; k++) {
				uint32_t sc = (s >> (8 * k)) & 0xff;
				uint32_t v = sc + (d[k] * (255 - a) + 127) / 255;
				d[k] = (uint8_t)(v > 255 ? 255 : v);
			}
		}
	}
	x->cur.drawn = true;
	x->cur.drawn_at = r;
}

/* Take the accumulated damage region from the server into f's list. */
static int take_damage(struct x11 *x, struct capture_frame *f)
{
	xcb_damage_subtract(x->conn, x->damage, XCB_NONE, x->region);
	xcb_xfixes_fetch_region_reply_t *r = xcb_xfixes_fetch_region_reply(x->conn,
		xcb_xfixes_fetch_region(x->conn, x->region), NULL);
	if (!r)
		return xcb_connection_has_error(x->conn) ? RD_CAPTURE_FATAL : RD_CAPTURE_RETRY;
	const xcb_rectangle_t *rects = xcb_xfixes_fetch_region_rectangles(r);
	int n = xcb_xfixes_fetch_region_rectangles_length(r);
	for (int i = 0; i < n; i++)
		capture_frame_add_damage(f, (struct capture_rect){ rects[i].x, rects[i].y,
			rects[i].width, rects[i].height });
	free(r);
	return RD_CAPTURE_DONE;
}

static int cmp_rect_y(const void *a, const void *b)
{
	const struct capture_rect *ra = a, *rb = b;
	return ra->y - rb->y;
}

/* Read rows [y0, y1) of the screen into their place in the fb. */
static void read_rows(struct x11 *x, int y0, int y1, xcb_shm_get_image_cookie_t *shm_ck,
	xcb_get_image_cookie_t *img_ck)
{
	uint16_t w = (uint16_t)x->base.width, h = (uint16_t)(y1 - y0);
	if (x->use_shm)
		*shm_ck = xcb_shm_get_image(x->conn, x->root, 0, (int16_t)y0, w, h, ~0u,
			XCB_IMAGE_FORMAT_Z_PIXMAP, x->seg, (uint32_t)((size_t)y0 * x->stride));
	else
		*img_ck = xcb_get_image(x->conn, XCB_IMAGE_FORMAT_Z_PIXMAP, x->root, 0, (int16_t)y0,
			w, h, ~0u);
}

/* Fetch full-width bands covering every rectangle: with the fb's stride equal
 * to a full row, SHM GetImage writes each band straight into place. Requests
 * are sent together and their replies collected after. */
static int fetch_bands(struct x11 *x, const struct capture_rect *in, int n)
{
	struct capture_rect r[RD_CAPTURE_MAX_DAMAGE + 2];
	int bands[RD_CAPTURE_MAX_DAMAGE + 2][2], nb = 0;
	if (n <= 0 || n > (int)RD_ARRAY_LEN(r))
		return RD_CAPTURE_DONE;
	memcpy(r, in, sizeof(r[0]) * (size_t)n);
	qsort(r, (size_t)n, sizeof(r[0]), cmp_rect_y);
	for (int i = 0; i < n; i++) {
		int y0 = r[i].y, y1 = r[i].y + r[i].h;
		if (nb && y0 <= bands[nb - 1][1]) {
			if (y1 > bands[nb - 1][1])
				bands[nb - 1][1] = y1;
		} else {
			bands[nb][0] = y0;
			bands[nb][1] = y1;
			nb++;
		}
	}
	xcb_shm_get_image_cookie_t shm_ck[RD_CAPTURE_MAX_DAMAGE + 2];
	xcb_get_image_cookie_t img_ck[RD_CAPTURE_MAX_DAMAGE + 2];
	for (int i = 0; i < nb; i++)
		read_rows(x, bands[i][0], bands[i][1], &shm_ck[i], &img_ck[i]);
	int rc = RD_CAPTURE_DONE;
	for (int i = 0; i < nb; i++) {
		xcb_generic_error_t *err = NULL;
		if (x->use_shm) {
			free(xcb_shm_get_image_reply(x->conn, shm_ck[i], &err));
		} else {
			xcb_get_image_reply_t *img = xcb_get_image_reply(x->conn, img_ck[i], &err);
			if (img) {
				size_t len = (size_t)xcb_get_image_data_length(img);
				size_t off = (size_t)bands[i][0] * x->stride;
				if (len > x->fb_size - off)
					len = x->fb_size - off;
				memcpy(x->fb + off, xcb_get_image_data(img), len);
				free(img);
			}
		}
		if (err) {
			/* BadMatch while the screen is being resized: REINIT follows. */
			free(err);
			rc = RD_CAPTURE_RETRY;
		}
	}
	if (xcb_connection_has_error(x->conn))
		return RD_CAPTURE_FATAL;
	return rc;
}

static int x11_grab(struct capture *c, bool full, struct capture_frame **out)
{
	struct x11 *x = (struct x11 *)c;
	struct capture_frame *f = &x->frame;
	int rc = x11_dispatch(c);
	if (rc != RD_CAPTURE_RETRY)
		return rc;
	xcb_query_pointer_cookie_t pck = xcb_query_pointer(x->conn, x->root);
	if (x->cur.shape_dirty && x->want_cursor)
		fetch_cursor_shape(x);
	f->n_damage = 0;
	f->width = c->width;
	f->height = c->height;
	f->stride = x->stride;
	f->data = x->fb;
	if (full || x->first) {
		/* The pending damage is covered by the full read. */
		xcb_damage_subtract(x->conn, x->damage, XCB_NONE, XCB_NONE);
		x->damaged = false;
		capture_frame_add_damage(f, (struct capture_rect){ 0, 0, c->width, c->height });
	} else if (x->damaged) {
		x->damaged = false;
		rc = take_damage(x, f);
		if (rc == RD_CAPTURE_FATAL)
			return rc;
	}
	xcb_query_pointer_reply_t *p = xcb_query_pointer_reply(x->conn, pck, NULL);
	bool moved = false;
	if (p) {
		moved = p->root_x != x->cur.x || p->root_y != x->cur.y;
		x->cur.x = p->root_x;
		x->cur.y = p->root_y;
		free(p);
	}
	struct capture_rect newcur = cursor_rect(x);
	bool cursor_changed = x->want_cursor && x->cur.pix &&
		(moved || !x->cur.drawn || memcmp(&newcur, &x->cur.drawn_at, sizeof(newcur)) != 0);
	if (f->n_damage == 0 && !cursor_changed)
		return RD_CAPTURE_RETRY;
	/* Rows read from the server lose the cursor drawn there: draw it again,
	 * and read back what lay under it before it moved. */
	struct capture_rect reads[RD_CAPTURE_MAX_DAMAGE + 2];
	int nr = f->n_damage;
	memcpy(reads, f->damage, sizeof(reads[0]) * (size_t)nr);
	if (x->cur.drawn) {
		reads[nr++] = x->cur.drawn_at;
		capture_frame_add_damage(f, x->cur.drawn_at);
	}
	for (int i = 0; i < nr; i++) {
		if (reads[i].y < 0) {
			reads[i].h += reads[i].y;
			reads[i].y = 0;
		}
		if (reads[i].y + reads[i].h > c->height)
			reads[i].h = c->height - reads[i].y;
		if (reads[i].h <= 0)
			reads[i--] = reads[--nr];
	}
	rc = nr ? fetch_bands(x, reads, nr) : RD_CAPTURE_DONE;
	if (rc != RD_CAPTURE_DONE)
		return rc;
	if (x->want_cursor) {
		draw_cursor(x);
		if (x->cur.drawn)
			capture_frame_add_damage(f, x->cur.drawn_at);
	}
	if (f->n_damage == 0)
		return RD_CAPTURE_RETRY;
	x->first = false;
	f->cursor_embedded = x->want_cursor;
	f->seq = x->seq++;
	*out = f;
	return RD_CAPTURE_DONE;
}

static int x11_reinit(struct capture *c)
{
	struct x11 *x = (struct x11 *)c;
	fb_free(x);
	x->use_shm = has_ext(x->conn, &xcb_shm_id, NULL);
	int rc = read_geometry(x);
	if (rc < 0)
		return rc;
	rc = fb_alloc(x);
	if (rc < 0)
		return rc;
	x->resized = false;
	x->first = true;
	x->cur.drawn = false;
	log_info("screen is now %dx%d", c->width, c->height);
	return 0;
}

const struct capture_ops capture_x11_ops = {
	.name = "x11",
	.open = x11_open,
	.close = x11_close,
	.get_fd = x11_get_fd,
	.dispatch = x11_dispatch,
	.grab = x11_grab,
	.reinit = x11_reinit,
};

/* capture: screen capture backends behind one ops table.
 *
 * A backend embeds struct capture first in its own struct and fills in an
 * ops table. capture_open_start() tries the backends named by the
 * configuration ("auto" = drm, pipewire, x11 in that order, each skipped when
 * not reachable; "testsrc" only when asked for by name). A backend that has to
 * wait for others to open (pipewire: its daemon, the desktop's portal) does
 * so on the caller's libev loop, never blocking it; the others open at once.
 *
 * capture_grab() returns what to do next:
 *   RD_CAPTURE_DONE    a frame is ready (damage says what changed since the
 *                      previous frame); give it back with capture_frame_release
 *   RD_CAPTURE_RETRY   nothing changed (or not ready yet): try at the next tick
 *   RD_CAPTURE_REINIT  the size or pixel format changed: call capture_reinit(),
 *                      read the new geometry, restart encoders
 *   RD_CAPTURE_FATAL   the source is gone (display closed): close it
 * All calls happen on the loop thread, except that a frame's pixels may be read
 * from any thread until it is released. Only one frame is out at a time. */
#ifndef RD_AGENT_CAPTURE_H
#define RD_AGENT_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum capture_result {
	RD_CAPTURE_DONE = 0,
	RD_CAPTURE_RETRY = 1,
	RD_CAPTURE_REINIT = 2,
	RD_CAPTURE_FATAL = 3,
};

enum capture_format {
	/* 32 bits per pixel, bytes B, G, R, X in memory (DRM XRGB8888, X11 depth 24
	 * on a little-endian host). */
	RD_CAPTURE_FMT_BGRX = 1,
};

struct capture_rect {
	int x, y, w, h;
};

/* More damage rectangles than this are merged into their bounding box. */
#define RD_CAPTURE_MAX_DAMAGE 16

struct capture_frame {
	enum capture_format format;
	int width;
	int height;
	int stride;               /* bytes per row */
	const uint8_t *data;      /* width x height pixels; valid until released */
	int n_damage;             /* >= 1 on a frame from capture_grab */
	struct capture_rect damage[RD_CAPTURE_MAX_DAMAGE];
	bool cursor_embedded;     /* the pointer is drawn into the pixels */
	uint64_t seq;             /* frame counter of the backend */
	/* Release callback: the backend's buffer may be reused afterwards. */
	void (*release)(struct capture_frame *f);
	void *release_ud;
};

struct capture_config {
	const char *backend;  /* "auto", "x11", "drm", "pipewire", "testsrc" */
	/* X display, DRM card, PipeWire node; for testsrc "WxH" (default 640x360),
	 * optionally ",switch=N:WxH": change size after N frames (resize tests), and
	 * ",still=N": stop moving after N frames (idle tests). */
	const char *display;
	/* The agent's data folder, for what a backend keeps between runs (the
	 * portal's restore token); NULL: $STATE_DIRECTORY, else nowhere. */
	const char *state_dir;
	/* Set by capture_open_start while "auto" tries backends: a backend then claims
	 * only a display it recognises as its own, and fails rather than wait. */
	bool probing;
};

struct capture;
struct ev_loop;

struct capture_ops {
	const char *name;
	/* Probe and open; RD_ERR_UNSUPPORTED/RD_ERR_NOTFOUND when the source is not
	 * here (the next backend is tried), another rd_err for a real failure. */
	int (*open)(const struct capture_config *cfg, struct capture **out);
	/* Instead of open, for a backend that waits for others: start opening on
	 * loop's watchers. RD_ERR_AGAIN: under way, *out is the capture being
	 * opened and done(ud, rc) follows once, from the loop (close() before it
	 * cancels the open; after a failure the caller closes *out); 0: open at
	 * once; another rd_err as for open. cfg's strings outlive the open. */
	int (*open_async)(struct ev_loop *loop, const struct capture_config *cfg,
		void (*done)(void *ud, int rc), void *ud, struct capture **out);
	void (*close)(struct capture *c);
	/* Descriptor the loop watches for readability (calls dispatch), or -1. */
	int (*get_fd)(struct capture *c);
	/* Read pending events (damage, resize) without blocking; returns a
	 * capture_result (RETRY when all is well, REINIT, FATAL). May be NULL. */
	int (*dispatch)(struct capture *c);
	/* full: report the whole screen as damaged (a new encoder needs it). */
	int (*grab)(struct capture *c, bool full, struct capture_frame **out);
	/* After REINIT: adopt the new geometry; an rd_err or 0. */
	int (*reinit)(struct capture *c);
};

/* Base struct, the first member of every backend's struct. */
struct capture {
	const struct capture_ops *ops;
	int width;
	int height;
	enum capture_format format;
	bool cursor_embedded;
	bool frame_out;           /* a grabbed frame is not released yet */
};

struct capture_opening;
/* The end of an open under way: rc 0 and c open, or the rd_err of the
 * failure (logged, c NULL). */
typedef void (*capture_opened_fn)(int rc, struct capture *c, void *ud);
/* Open the configured backend (see above) without blocking loop. Logs which
 * one was chosen, and why each earlier one was skipped. Returns 0 with *out
 * set when it opened at once; RD_ERR_AGAIN with *op set while opening goes
 * on: on_opened follows exactly once, from the loop, unless
 * capture_open_cancel(*op) comes first (the handle is gone once on_opened
 * runs); or the rd_err of a failure. cfg is copied. */
int capture_open_start(struct ev_loop *loop, const struct capture_config *cfg,
	capture_opened_fn on_opened, void *ud, struct capture **out, struct capture_opening **op);
/* Stop an open under way (what was opened so far is closed). Not from inside
 * on_opened. */
void capture_open_cancel(struct capture_opening *op);
/* The same, waiting for the result on a loop of its own (tools and tests;
 * the agent uses capture_open_start). */
int capture_open(const struct capture_config *cfg, struct capture **out);
void capture_close(struct capture *c);
const char *capture_name(const struct capture *c);
int capture_get_fd(struct capture *c);
int capture_dispatch(struct capture *c);
int capture_grab(struct capture *c, bool full, struct capture_frame **out);
void capture_frame_release(struct capture *c, struct capture_frame *f);
int capture_reinit(struct capture *c);

/* The backends, all built in; capture.c lists them in their probe order for
 * "auto" and for choosing one by name. */
extern const struct capture_ops capture_x11_ops;
extern const struct capture_ops capture_testsrc_ops;
extern const struct capture_ops capture_drm_ops;
extern const struct capture_ops capture_pipewire_ops;

/* Helpers for backends. Why an open failed goes to rd_skip_reason() (err.h),
 * which capture_open prints with the backend's name instead of the bare
 * rd_strerror text. */
/* a becomes the bounding box of a and b (an empty rectangle adds nothing). */
void capture_rect_union(struct capture_rect *a, const struct capture_rect *b);
/* Add r (clipped to w x h) to f's damage list, merging into the bounding box
 * when the list is full. */
void capture_frame_add_damage(struct capture_frame *f, struct capture_rect r);

#endif

/* input: keyboard and pointer injection behind one ops table, and the
 * per-session layer that turns KeyEvent/MouseEvent (PROTOCOL.md §4, §11)
 * into backend calls.
 *
 * Backends embed struct input first and fill in an ops table:
 *   xdo     libxdo/XTest on an X display (X11 capture)
 *   uinput  a virtual keyboard and absolute pointer made through /dev/uinput
 *           (DRM consoles, Wayland); text through a US keymap
 * input_open() with backend "auto" picks the one that matches the capture
 * backend in use (x11 -> xdo, anything else -> uinput) and falls back to the
 * other; "none" opens nothing (input refused, said so in the log).
 *
 * Coordinates arrive in captured-display pixels; the per-session layer scales
 * them to the backend's own space. Each session owns a struct input_client
 * that remembers which keys and buttons it holds down: freeing the client
 * releases them, so a session that ends mid-press leaves nothing stuck. */
#ifndef RD_AGENT_INPUT_H
#define RD_AGENT_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.pb-c.h"

enum input_key_kind {
	RD_INPUT_KEY_CONTROL = 1,  /* code is a ControlKey (HBB__CONTROL_KEY__*) */
	RD_INPUT_KEY_CHAR = 2,     /* code is a Unicode code point */
	RD_INPUT_KEY_CODE = 3,     /* code is an X11 keycode (evdev code + 8) */
};

/* Pointer buttons as in MouseEvent (mask >> 3). */
enum input_button {
	RD_INPUT_BTN_LEFT = 1,
	RD_INPUT_BTN_RIGHT = 2,
	RD_INPUT_BTN_MIDDLE = 4,
	RD_INPUT_BTN_BACK = 8,
	RD_INPUT_BTN_FORWARD = 16,
};

struct ev_loop;

/* Absolute pointer space of a backend: 0..max_x, 0..max_y. */
struct input_config {
	struct ev_loop *loop;  /* where a backend paces its events (xdo) */
	const char *backend;   /* "auto", "xdo", "uinput", "none" */
	const char *display;   /* X display for xdo (NULL = $DISPLAY) */
	const char *capture;   /* capture backend in use ("x11", "drm", ...) or NULL */
	const char *uinput_path; /* NULL: privsep_uinput(); else this node, opened here */
	bool probing;          /* set by input_open while "auto" tries backends */
};

struct input;

/* Events never wait on the loop thread: a backend that must pause (xdo, after
 * a keymap change) queues them, in order, and RD_OK then means accepted
 * (RD_ERR_LIMIT when its queue is full). */
struct input_ops {
	const char *name;
	/* RD_ERR_UNSUPPORTED / RD_ERR_NOTFOUND when not here; other rd_err on failure. */
	int (*open)(const struct input_config *cfg, struct input **out);
	void (*close)(struct input *in);
	/* A key down or up. RD_ERR_UNSUPPORTED when the backend cannot make it. */
	int (*key)(struct input *in, enum input_key_kind kind, uint32_t code, bool down);
	/* Type UTF-8 text (each character pressed and released). */
	int (*text)(struct input *in, const char *utf8, size_t len);
	/* Absolute move in the backend's space (0..max_x, 0..max_y). */
	int (*move)(struct input *in, int x, int y);
	int (*button)(struct input *in, enum input_button b, bool down);
	/* Wheel clicks: dy > 0 scrolls up (away from the user), dx > 0 right. */
	int (*wheel)(struct input *in, int dx, int dy);
	/* Push queued events out (optional). */
	void (*flush)(struct input *in);
};

/* Base struct, the first member of every backend's struct. */
struct input {
	const struct input_ops *ops;
	int max_x, max_y;      /* absolute pointer range */
	bool pixels;           /* that range is the screen's pixels (xdo), not a device scale */
	bool broken;           /* set by the backend when its device or display is gone */
};

int input_open(const struct input_config *cfg, struct input **out);
void input_close(struct input *in);
const char *input_name(const struct input *in);

extern const struct input_ops input_xdo_ops;
extern const struct input_ops input_uinput_ops;

/* Why open failed: rd_skip_reason() (err.h), logged by input_open. */

/* ---- per-session layer ---- */

#define RD_INPUT_MAX_HELD 32
#define RD_INPUT_TEXT_MAX 4096     /* longest KeyEvent.seq typed */

struct input_client;

/* in may be NULL (no backend): every event is then refused. */
struct input_client *input_client_new(struct input *in, const char *peer);
/* Releases every key and button this client holds, then frees it. */
void input_client_free(struct input_client *c);
/* Release what is held now (session ends or the controller lost focus). */
void input_client_release_all(struct input_client *c);
/* Display size the controller's coordinates refer to (the captured display). */
void input_client_set_display(struct input_client *c, int width, int height);
int input_client_key(struct input_client *c, const Hbb__KeyEvent *e);
int input_client_mouse(struct input_client *c, const Hbb__MouseEvent *e);
/* Counters: events injected and refused. */
uint64_t input_client_events(const struct input_client *c);
unsigned input_client_held(const struct input_client *c);

/* ---- the agent's input service: one backend and one clipboard shared by
 * every session; each session is a peer with its own held keys ---- */

struct input_hub;
struct input_peer;

struct input_hub_config {
	const char *backend;      /* [input] backend */
	const char *display;      /* [capture] display */
	const char *capture;      /* capture backend in use */
	bool view_only;           /* refuse all input and clipboard writes */
	size_t clipboard_max;     /* bytes; 0 = default */
};

typedef int (*input_send_fn)(void *ud, const uint8_t *payload, size_t len);

struct input_hub *input_hub_new(struct ev_loop *loop, const struct input_hub_config *cfg);
/* Only after every peer is freed. */
void input_hub_free(struct input_hub *h);
/* A logged-in session: send queues a Message to it. The peer is told at once
 * what it may do (Misc.permission_info for keyboard and clipboard when refused)
 * and gets the host's clipboard text. */
struct input_peer *input_peer_new(struct input_hub *h, const char *peer, input_send_fn send, void *ud);
/* Releases what the peer holds. */
void input_peer_free(struct input_peer *p);
void input_peer_key(struct input_peer *p, const Hbb__KeyEvent *e);
/* width x height: the captured display the coordinates refer to. */
void input_peer_mouse(struct input_peer *p, const Hbb__MouseEvent *e, int width, int height);
void input_peer_clipboard(struct input_peer *p, const Hbb__Clipboard *c);

/* Scale v in 0..src-1 to 0..dst_max (clamped). Pure; unit-tested. */
int input_scale(int v, int src, int dst_max);

#endif

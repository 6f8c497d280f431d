/* input/xdo: keyboard and pointer on an X display through libxdo (XTest).
 * Characters missing from the keymap are typed by binding their keysym to a
 * spare keycode for the moment of the press, as libxdo does for text.
 *
 * Clients need a moment to see such a keymap change before the key comes.
 * That moment is a timer, never a sleep: events go through a queue, in
 * order; an event whose keysym was just bound waits at its head, with
 * everything after it, until the timer lets the queue drain again. Events
 * that need no binding, with nothing queued before them, go out at once. */
#define RD_LOG_SUBSYS "input"
#include "input.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <xdo.h>

#include "err.h"
#include "log.h"
#include "util.h"
#include "x11_auth.h"

/* Seconds between binding a character to a spare keycode and typing it:
 * clients need a moment to see the keymap change. */
#define XDO_REMAP_DELAY 0.020
/* Seconds a spare keycode keeps its character after a key event on it: a
 * client reads the mapping when it handles the event, not when it was sent,
 * so it must not change before the client is done with the event. */
#define XDO_REUSE_AFTER 0.25
#define XDO_SCRATCH_MAX 48
/* Events waiting behind keymap changes: several whole texts (one event per
 * character); past this, events are refused until the queue drains. */
#define XDO_QUEUE_MAX (8 * RD_INPUT_TEXT_MAX)
/* How far one pause's bindings look ahead in the queue. */
#define XDO_BIND_AHEAD 1024

enum xdo_op_kind {
	XOP_SYM,       /* a = keysym, down */
	XOP_TYPE,      /* a = keysym, pressed and released */
	XOP_CODE,      /* a = keycode, down */
	XOP_CAD,       /* ctrl+alt+Delete */
	XOP_MOVE,      /* a, b = position */
	XOP_BUTTON,    /* a = X button, down */
	XOP_WHEEL,     /* a = dx, b = dy */
};

struct xdo_op {
	uint8_t kind;  /* enum xdo_op_kind */
	bool down;
	int32_t a, b;  /* keysyms fit: the largest is 0x0110ffff */
};

struct input_xdo {
	struct input base;
	xdo_t *xdo;
	struct ev_loop *loop;
	ev_timer pace;                 /* a keymap change settles */
	bool waiting;                  /* the queue's head waits for pace */
	bool closing;                  /* drain without waiting */
	struct xdo_op *q;              /* ring of XDO_QUEUE_MAX */
	unsigned q_head, q_len;
	/* Keycodes without symbols, bound to characters the keymap lacks. Each
	 * character keeps its own keycode while it may still be looked up: a
	 * client reads the mapping when it handles the event, not when it was sent. */
	KeyCode scratch[XDO_SCRATCH_MAX];
	KeySym scratch_sym[XDO_SCRATCH_MAX];
	bool pinned[XDO_SCRATCH_MAX];  /* bound for a queued event */
	double used_at[XDO_SCRATCH_MAX]; /* last event sent on it */
	int nscratch;
	int next;                      /* round-robin victim */
	int min_kc, max_kc;            /* the server's keycode range */
	bool dead;                     /* the X connection broke: refuse everything */
};

/* Xlib's defaults end the process on a protocol error (say a keycode the
 * server refuses) and on a broken connection; the agent must outlive both. */
static int xdo__on_error(Display *dpy, XErrorEvent *e)
{
	(void)dpy;
	log_warn("xdo: X error %d on request %d.%d ignored", e->error_code, e->request_code,
		e->minor_code);
	return 0;
}

/* Returns, so that Xlib calls the display's exit handler below instead of
 * ending the process. */
static int xdo__on_io_error(Display *dpy)
{
	(void)dpy;
	return 0;
}

static void xdo__on_io_exit(Display *dpy, void *ud)
{
	struct input_xdo *x = ud;
	(void)dpy;
	if (!x->dead)
		log_warn("xdo: the X connection broke; remote input is refused from now on");
	x->dead = true;
	x->base.broken = true;
}

static const struct {
	uint32_t ck;
	const char *sym;
} xdo_keys[] = {
	{ HBB__CONTROL_KEY__Alt, "Alt_L" }, { HBB__CONTROL_KEY__Backspace, "BackSpace" },
	{ HBB__CONTROL_KEY__CapsLock, "Caps_Lock" }, { HBB__CONTROL_KEY__Control, "Control_L" },
	{ HBB__CONTROL_KEY__Delete, "Delete" }, { HBB__CONTROL_KEY__DownArrow, "Down" },
	{ HBB__CONTROL_KEY__End, "End" }, { HBB__CONTROL_KEY__Escape, "Escape" },
	{ HBB__CONTROL_KEY__F1, "F1" }, { HBB__CONTROL_KEY__F2, "F2" }, { HBB__CONTROL_KEY__F3, "F3" },
	{ HBB__CONTROL_KEY__F4, "F4" }, { HBB__CONTROL_KEY__F5, "F5" }, { HBB__CONTROL_KEY__F6, "F6" },
	{ HBB__CONTROL_KEY__F7, "F7" }, { HBB__CONTROL_KEY__F8, "F8" }, { HBB__CONTROL_KEY__F9, "F9" },
	{ HBB__CONTROL_KEY__F10, "F10" }, { HBB__CONTROL_KEY__F11, "F11" },
	{ HBB__CONTROL_KEY__F12, "F12" }, { HBB__CONTROL_KEY__Home, "Home" },
	{ HBB__CONTROL_KEY__LeftArrow, "Left" }, { HBB__CONTROL_KEY__Meta, "Super_L" },
	{ HBB__CONTROL_KEY__Option, "Alt_R" }, { HBB__CONTROL_KEY__PageDown, "Next" },
	{ HBB__CONTROL_KEY__PageUp, "Prior" }, { HBB__CONTROL_KEY__Return, "Return" },
	{ HBB__CONTROL_KEY__RightArrow, "Right" }, { HBB__CONTROL_KEY__Shift, "Shift_L" },
	{ HBB__CONTROL_KEY__Space, "space" }, { HBB__CONTROL_KEY__Tab, "Tab" },
	{ HBB__CONTROL_KEY__UpArrow, "Up" }, { HBB__CONTROL_KEY__Numpad0, "KP_0" },
	{ HBB__CONTROL_KEY__Numpad1, "KP_1" }, { HBB__CONTROL_KEY__Numpad2, "KP_2" },
	{ HBB__CONTROL_KEY__Numpad3, "KP_3" }, { HBB__CONTROL_KEY__Numpad4, "KP_4" },
	{ HBB__CONTROL_KEY__Numpad5, "KP_5" }, { HBB__CONTROL_KEY__Numpad6, "KP_6" },
	{ HBB__CONTROL_KEY__Numpad7, "KP_7" }, { HBB__CONTROL_KEY__Numpad8, "KP_8" },
	{ HBB__CONTROL_KEY__Numpad9, "KP_9" }, { HBB__CONTROL_KEY__Cancel, "Cancel" },
	{ HBB__CONTROL_KEY__Clear, "Clear" }, { HBB__CONTROL_KEY__Menu, "Menu" },
	{ HBB__CONTROL_KEY__Pause, "Pause" }, { HBB__CONTROL_KEY__Kana, "Kana_Shift" },
	{ HBB__CONTROL_KEY__Hangul, "Hangul" }, { HBB__CONTROL_KEY__Hanja, "Hangul_Hanja" },
	{ HBB__CONTROL_KEY__Kanji, "Kanji" }, { HBB__CONTROL_KEY__Select, "Select" },
	{ HBB__CONTROL_KEY__Print, "Print" }, { HBB__CONTROL_KEY__Execute, "Execute" },
	{ HBB__CONTROL_KEY__Snapshot, "Print" }, { HBB__CONTROL_KEY__Insert, "Insert" },
	{ HBB__CONTROL_KEY__Help, "Help" }, { HBB__CONTROL_KEY__Sleep, "XF86Sleep" },
	{ HBB__CONTROL_KEY__Separator, "KP_Separator" }, { HBB__CONTROL_KEY__Scroll, "Scroll_Lock" },
	{ HBB__CONTROL_KEY__NumLock, "Num_Lock" }, { HBB__CONTROL_KEY__RWin, "Super_R" },
	{ HBB__CONTROL_KEY__Apps, "Menu" }, { HBB__CONTROL_KEY__Multiply, "KP_Multiply" },
	{ HBB__CONTROL_KEY__Add, "KP_Add" }, { HBB__CONTROL_KEY__Subtract, "KP_Subtract" },
	{ HBB__CONTROL_KEY__Decimal, "KP_Decimal" }, { HBB__CONTROL_KEY__Divide, "KP_Divide" },
	{ HBB__CONTROL_KEY__Equals, "KP_Equal" }, { HBB__CONTROL_KEY__NumpadEnter, "KP_Enter" },
	{ HBB__CONTROL_KEY__RShift, "Shift_R" }, { HBB__CONTROL_KEY__RControl, "Control_R" },
	{ HBB__CONTROL_KEY__RAlt, "Alt_R" }, { HBB__CONTROL_KEY__VolumeMute, "XF86AudioMute" },
	{ HBB__CONTROL_KEY__VolumeUp, "XF86AudioRaiseVolume" },
	{ HBB__CONTROL_KEY__VolumeDown, "XF86AudioLowerVolume" },
	{ HBB__CONTROL_KEY__Power, "XF86PowerOff" },
};

static const char *xdo__control_sym(uint32_t ck)
{
	for (size_t i = 0; i < RD_ARRAY_LEN(xdo_keys); i++)
		if (xdo_keys[i].ck == ck)
			return xdo_keys[i].sym;
	return NULL;
}

static KeySym xdo__char_keysym(uint32_t cp)
{
	if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff))
		return cp;
	switch (cp) {
	case '\n': case '\r': return XStringToKeysym("Return");
	case '\t': return XStringToKeysym("Tab");
	case '\b': return XStringToKeysym("BackSpace");
	case 0x1b: return XStringToKeysym("Escape");
	default: break;
	}
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp > 0x10ffff)
		return NoSymbol;
	return 0x01000000 | cp;
}

static bool xdo__is_scratch(const struct input_xdo *x, KeyCode kc)
{
	for (int i = 0; i < x->nscratch; i++)
		if (x->scratch[i] == kc)
			return true;
	return false;
}

/* The keycode that types sym without a binding of ours (Shift in *mods when
 * the symbol sits on the shifted level), or 0. */
static KeyCode xdo__keymap_code(struct input_xdo *x, KeySym sym, unsigned *mods)
{
	KeyCode kc = XKeysymToKeycode(x->xdo->xdpy, sym);
	*mods = 0;
	if (!kc || xdo__is_scratch(x, kc))
		return 0;
	if (XkbKeycodeToKeysym(x->xdo->xdpy, kc, 0, 0) == sym)
		return kc;
	if (XkbKeycodeToKeysym(x->xdo->xdpy, kc, 0, 1) == sym) {
		*mods = ShiftMask;
		return kc;
	}
	return 0;	/* on another group or level: bind it instead */
}

/* The index of the scratch keycode bound to sym now, or -1. */
static int xdo__scratch_of(const struct input_xdo *x, KeySym sym)
{
	for (int i = 0; i < x->nscratch; i++)
		if (x->scratch_sym[i] == sym)
			return i;
	return -1;
}

/* Bind sym to a scratch keycode that is neither pinned nor used lately (any
 * unpinned one when closing), and pin it (on both levels: one symbol alone
 * would be taken as a lower/upper case pair, and "Å" would come out as "å").
 * false when there is none now. */
static bool xdo__bind(struct input_xdo *x, KeySym sym, double now)
{
	int have = xdo__scratch_of(x, sym);
	if (have >= 0) {
		x->pinned[have] = true;
		return true;
	}
	for (int n = 0; n < x->nscratch; n++) {
		int i = (x->next + n) % x->nscratch;
		if (x->pinned[i] || (!x->closing && now - x->used_at[i] < XDO_REUSE_AFTER))
			continue;
		KeySym pair[2] = { sym, sym };
		XChangeKeyboardMapping(x->xdo->xdpy, x->scratch[i], 2, pair, 1);
		x->scratch_sym[i] = sym;
		x->pinned[i] = true;
		x->next = (i + 1) % x->nscratch;
		return true;
	}
	return false;
}

/* The head of the queue needs a binding: bind its keysym and those of the
 * queued keys after it, as far as free keycodes go (each keeps its keycode
 * until typed), so that one pause serves them all. Returns how long to wait:
 * the pause when the head is bound, else until a keycode is free again. */
static double xdo__bind_ahead(struct input_xdo *x)
{
	double now = rd_now(), wait = XDO_REMAP_DELAY;
	bool changed = false;
	memset(x->pinned, 0, sizeof(x->pinned));
	for (unsigned n = 0; n < x->q_len && n < XDO_BIND_AHEAD; n++) {
		const struct xdo_op *op = &x->q[(x->q_head + n) % XDO_QUEUE_MAX];
		unsigned mods;
		if ((op->kind != XOP_SYM && op->kind != XOP_TYPE) ||
		    xdo__keymap_code(x, (KeySym)op->a, &mods))
			continue;
		if (!xdo__bind(x, (KeySym)op->a, now)) {
			if (n == 0) {	/* the head itself: until the first keycode is free */
				wait = XDO_REUSE_AFTER;
				for (int i = 0; i < x->nscratch; i++)
					wait = RD_MIN(wait, x->used_at[i] + XDO_REUSE_AFTER - now);
			}
			break;
		}
		changed = true;
	}
	if (changed)
		XSync(x->xdo->xdpy, False);
	return RD_MAX(wait, 0.001);
}

/* Press or release the key for keysym sym: its keycode with Shift when the
 * symbol sits on the shifted level, or the scratch keycode bound to it.
 * RD_ERR_AGAIN when it is not bound yet (the caller binds and waits). */
static int xdo__sym(struct input_xdo *x, KeySym sym, bool down)
{
	charcodemap_t k;
	unsigned mods;
	memset(&k, 0, sizeof(k));
	k.symbol = sym;
	k.code = xdo__keymap_code(x, sym, &mods);
	k.modmask = (int)mods;
	if (!k.code) {
		int i = xdo__scratch_of(x, sym);
		if (i < 0)
			return x->nscratch ? RD_ERR_AGAIN : RD_ERR_UNSUPPORTED;
		k.code = x->scratch[i];
		x->used_at[i] = rd_now();
	}
	return xdo_send_keysequence_window_list_do(x->xdo, CURRENTWINDOW, &k, 1, down, NULL, 0)
		== XDO_SUCCESS ? RD_OK : RD_ERR_IO;
}

static int xdo__xbutton(enum input_button b)
{
	switch (b) {
	case RD_INPUT_BTN_LEFT: return 1;
	case RD_INPUT_BTN_MIDDLE: return 2;
	case RD_INPUT_BTN_RIGHT: return 3;
	case RD_INPUT_BTN_BACK: return 8;
	case RD_INPUT_BTN_FORWARD: return 9;
	}
	return 0;
}

/* One event to the X server: an rd_err, or RD_ERR_AGAIN (see xdo__sym). */
static int xdo__exec(struct input_xdo *x, const struct xdo_op *op)
{
	xdo_t *xdo = x->xdo;
	int rc = XDO_SUCCESS;
	switch ((enum xdo_op_kind)op->kind) {
	case XOP_SYM:
		return xdo__sym(x, (KeySym)op->a, op->down);
	case XOP_TYPE:
		rc = xdo__sym(x, (KeySym)op->a, true);
		return rc == RD_OK ? xdo__sym(x, (KeySym)op->a, false) : rc;
	case XOP_CODE: {
		charcodemap_t k;
		memset(&k, 0, sizeof(k));
		k.code = (KeyCode)op->a;
		rc = xdo_send_keysequence_window_list_do(xdo, CURRENTWINDOW, &k, 1, op->down, NULL, 0);
		break;
	}
	case XOP_CAD:
		rc = xdo_send_keysequence_window(xdo, CURRENTWINDOW, "ctrl+alt+Delete", 0);
		break;
	case XOP_MOVE:
		rc = xdo_move_mouse(xdo, op->a, op->b, 0);
		break;
	case XOP_BUTTON:
		rc = op->down ? xdo_mouse_down(xdo, CURRENTWINDOW, op->a) :
			xdo_mouse_up(xdo, CURRENTWINDOW, op->a);
		break;
	case XOP_WHEEL:
		for (int i = 0; i < abs(op->b) && rc == XDO_SUCCESS; i++)
			rc = xdo_click_window(xdo, CURRENTWINDOW, op->b > 0 ? 4 : 5);
		for (int i = 0; i < abs(op->a) && rc == XDO_SUCCESS; i++)
			rc = xdo_click_window(xdo, CURRENTWINDOW, op->a > 0 ? 7 : 6);
		break;
	}
	return rc == XDO_SUCCESS ? RD_OK : RD_ERR_IO;
}

/* Send what is queued, in order, until an event waits for a keymap change.
 * Returns the first failure among the events sent (they were accepted
 * already when queued behind a wait: their failures are only logged). */
static int xdo__drain(struct input_xdo *x)
{
	int first = RD_OK;
	while (x->q_len && !x->dead) {
		const struct xdo_op *op = &x->q[x->q_head];
		int rc = xdo__exec(x, op);
		if (rc == RD_ERR_AGAIN) {
			double wait = xdo__bind_ahead(x);
			if (!x->closing) {
				x->waiting = true;
				ev_timer_set(&x->pace, wait, 0.0);
				ev_timer_start(x->loop, &x->pace);
				break;
			}
			rc = xdo__exec(x, op);
		}
		x->q_head = (x->q_head + 1) % XDO_QUEUE_MAX;
		x->q_len--;
		if (rc != RD_OK && first == RD_OK)
			first = rc;
	}
	if (x->dead)
		x->q_len = 0;
	else
		XFlush(x->xdo->xdpy);
	return first;
}

static void xdo__on_pace(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct input_xdo *x = t->data;
	x->waiting = false;
	int rc = xdo__drain(x);
	if (rc != RD_OK)
		log_debug("xdo: a queued event failed: %s", rd_strerror(rc));
}

/* Queue n events (all or none) and send what may go now. */
static int xdo__submit(struct input_xdo *x, const struct xdo_op *ops, size_t n)
{
	if (x->dead)
		return RD_ERR_IO;
	if (n > XDO_QUEUE_MAX - x->q_len)
		return RD_ERR_LIMIT;
	for (size_t i = 0; i < n; i++)
		x->q[(x->q_head + x->q_len++) % XDO_QUEUE_MAX] = ops[i];
	return x->waiting ? RD_OK : xdo__drain(x);
}

static int xdo__key(struct input *in, enum input_key_kind kind, uint32_t code, bool down)
{
	struct input_xdo *x = (struct input_xdo *)in;
	struct xdo_op op = { .kind = XOP_SYM, .down = down };
	KeySym sym = NoSymbol;
	switch (kind) {
	case RD_INPUT_KEY_CONTROL: {
		const char *name = xdo__control_sym(code);
		if (code == HBB__CONTROL_KEY__CtrlAltDel) {
			op.kind = XOP_CAD;
			return down ? xdo__submit(x, &op, 1) : RD_OK;
		}
		if (name)
			sym = XStringToKeysym(name);
		break;
	}
	case RD_INPUT_KEY_CHAR:
		sym = xdo__char_keysym(code);
		break;
	case RD_INPUT_KEY_CODE:
		if ((int)code < x->min_kc || (int)code > x->max_kc)
			return RD_ERR_INVAL;
		op.kind = XOP_CODE;
		op.a = (int32_t)code;
		return xdo__submit(x, &op, 1);
	default:
		return RD_ERR_INVAL;
	}
	if (sym == NoSymbol)
		return RD_ERR_UNSUPPORTED;
	if (!x->nscratch && !xdo__keymap_code(x, sym, &(unsigned){ 0 }))
		return RD_ERR_UNSUPPORTED;
	op.a = (int32_t)sym;
	return xdo__submit(x, &op, 1);
}

static int xdo__text(struct input *in, const char *utf8, size_t len)
{
	struct input_xdo *x = (struct input_xdo *)in;
	struct xdo_op *ops = xcalloc(len ? len : 1, sizeof(*ops));
	size_t n = 0;
	int rc = RD_OK;
	/* All or nothing: check the whole text first. */
	for (size_t i = 0, used = 1; i < len && rc == RD_OK; i += used) {
		int32_t cp = rd_utf8_next(utf8 + i, len - i, &used);
		KeySym sym = cp < 0 ? NoSymbol : xdo__char_keysym((uint32_t)cp);
		unsigned mods;
		if (sym == NoSymbol)
			rc = RD_ERR_INVAL;
		else if (!x->nscratch && !xdo__keymap_code(x, sym, &mods))
			rc = RD_ERR_UNSUPPORTED;
		ops[n++] = (struct xdo_op){ .kind = XOP_TYPE, .a = (int32_t)sym };
	}
	if (rc == RD_OK)
		rc = xdo__submit(x, ops, n);
	free(ops);
	return rc;
}

static int xdo__move(struct input *in, int px, int py)
{
	struct xdo_op op = { .kind = XOP_MOVE, .a = px, .b = py };
	return xdo__submit((struct input_xdo *)in, &op, 1);
}

static int xdo__button(struct input *in, enum input_button b, bool down)
{
	struct xdo_op op = { .kind = XOP_BUTTON, .down = down, .a = xdo__xbutton(b) };
	if (!op.a)
		return RD_ERR_INVAL;
	return xdo__submit((struct input_xdo *)in, &op, 1);
}

static int xdo__wheel(struct input *in, int dx, int dy)
{
	struct xdo_op op = { .kind = XOP_WHEEL, .a = dx, .b = dy };
	return xdo__submit((struct input_xdo *)in, &op, 1);
}

static void xdo__flush(struct input *in)
{
	struct input_xdo *x = (struct input_xdo *)in;
	if (!x->dead && !x->q_len)
		XFlush(x->xdo->xdpy);
}

/* Keycodes without any symbol, highest first. */
static void xdo__find_scratch(struct input_xdo *x)
{
	Display *dpy = x->xdo->xdpy;
	int min = 0, max = 0, per = 0;
	XDisplayKeycodes(dpy, &min, &max);
	KeySym *map = XGetKeyboardMapping(dpy, (KeyCode)min, max - min + 1, &per);
	for (int kc = max; map && kc >= min && x->nscratch < XDO_SCRATCH_MAX; kc--) {
		bool empty = true;
		for (int i = 0; i < per; i++)
			empty &= map[(kc - min) * per + i] == NoSymbol;
		if (empty)
			x->scratch[x->nscratch++] = (KeyCode)kc;
	}
	if (map)
		XFree(map);
}

static int xdo__open(const struct input_config *cfg, struct input **out)
{
	const char *disp = cfg->display && cfg->display[0] == ':' ? cfg->display : getenv("DISPLAY");
	if (!cfg->loop) {
		rd_skip_reason("no event loop to pace typed text on");
		return RD_ERR_INVAL;
	}
	if (!disp || !disp[0]) {
		rd_skip_reason("no X display (DISPLAY unset, [capture] display not an X display)");
		return RD_ERR_NOTFOUND;
	}
	x11_xlib_auth(disp);
	xdo_t *xdo = xdo_new(disp);
	if (!xdo) {
		rd_skip_reason("cannot open X display %s", disp);
		return RD_ERR_NOTFOUND;
	}
	int ev, er, maj, min;
	if (!XQueryExtension(xdo->xdpy, "XTEST", &maj, &ev, &er)) {
		rd_skip_reason("X display %s has no XTEST extension", disp);
		xdo_free(xdo);
		return RD_ERR_UNSUPPORTED;
	}
	(void)min;
	struct input_xdo *x = xcalloc(1, sizeof(*x));
	x->xdo = xdo;
	x->loop = cfg->loop;
	x->q = xcalloc(XDO_QUEUE_MAX, sizeof(*x->q));
	ev_timer_init(&x->pace, xdo__on_pace, XDO_REMAP_DELAY, 0.0);
	x->pace.data = x;
	xdo__find_scratch(x);
	XDisplayKeycodes(xdo->xdpy, &x->min_kc, &x->max_kc);
	XSetErrorHandler(xdo__on_error);
	XSetIOErrorHandler(xdo__on_io_error);
	XSetIOErrorExitHandler(xdo->xdpy, xdo__on_io_exit, x);
	xdo->quiet = 1;
	x->base.max_x = DisplayWidth(xdo->xdpy, DefaultScreen(xdo->xdpy)) - 1;
	x->base.pixels = true;
	x->base.max_y = DisplayHeight(xdo->xdpy, DefaultScreen(xdo->xdpy)) - 1;
	log_info("xdo: X display %s, %dx%d, %d spare keycodes for other characters", disp,
		x->base.max_x + 1, x->base.max_y + 1, x->nscratch);
	*out = &x->base;
	return RD_OK;
}

static void xdo__close(struct input *in)
{
	struct input_xdo *x = (struct input_xdo *)in;
	/* What is still queued (key releases above all) goes out now. */
	ev_timer_stop(x->loop, &x->pace);
	x->closing = true;
	x->waiting = false;
	xdo__drain(x);
	for (int i = 0; i < x->nscratch && !x->dead; i++)
		if (x->scratch_sym[i]) {
			KeySym none[2] = { NoSymbol, NoSymbol };
			XChangeKeyboardMapping(x->xdo->xdpy, x->scratch[i], 2, none, 1);
		}
	XSync(x->xdo->xdpy, False);
	xdo_free(x->xdo);
	free(x->q);
	free(x);
}

const struct input_ops input_xdo_ops = {
	.name = "xdo",
	.open = xdo__open,
	.close = xdo__close,
	.key = xdo__key,
	.text = xdo__text,
	.move = xdo__move,
	.button = xdo__button,
	.wheel = xdo__wheel,
	.flush = xdo__flush,
};

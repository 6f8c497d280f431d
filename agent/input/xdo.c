/* input/xdo: keyboard and pointer on an X display through libxdo (XTest).
 * Characters missing from the keymap are typed by binding their keysym to a
 * spare keycode for the moment of the press, as libxdo does for text. */
#define RD_LOG_SUBSYS "input"
#include "input.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <xdo.h>

#include "err.h"
#include "log.h"
#include "util.h"

/* Microseconds between the characters of typed text: clients need a moment to
 * see a keymap change when a character is bound to a spare keycode. */
#define XDO_TEXT_DELAY 20000
#define XDO_SCRATCH_MAX 48

struct input_xdo {
	struct input base;
	xdo_t *xdo;
	/* Keycodes without symbols, bound to characters the keymap lacks. Each
	 * character keeps its own keycode while it may still be looked up: a
	 * client reads the mapping when it handles the event, not when it was sent. */
	KeyCode scratch[XDO_SCRATCH_MAX];
	KeySym scratch_sym[XDO_SCRATCH_MAX];
	bool pinned[XDO_SCRATCH_MAX];  /* in use by the text being typed */
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

/* The scratch keycode bound to sym, binding an unpinned one when needed (on
 * both levels: one symbol alone would be taken as a lower/upper case pair, and
 * "Å" would come out as "å"). 0 when every scratch keycode is pinned. */
static KeyCode xdo__bind(struct input_xdo *x, KeySym sym, bool pin, bool *changed)
{
	for (int i = 0; i < x->nscratch; i++)
		if (x->scratch_sym[i] == sym) {
			x->pinned[i] |= pin;
			return x->scratch[i];
		}
	for (int n = 0; n < x->nscratch; n++) {
		int i = (x->next + n) % x->nscratch;
		if (x->pinned[i])
			continue;
		KeySym pair[2] = { sym, sym };
		XChangeKeyboardMapping(x->xdo->xdpy, x->scratch[i], 2, pair, 1);
		x->scratch_sym[i] = sym;
		x->pinned[i] = pin;
		x->next = (i + 1) % x->nscratch;
		*changed = true;
		return x->scratch[i];
	}
	return 0;
}

static bool xdo__is_scratch(const struct input_xdo *x, KeyCode kc)
{
	for (int i = 0; i < x->nscratch; i++)
		if (x->scratch[i] == kc)
			return true;
	return false;
}

/* Press or release the key for keysym sym: its keycode with Shift when the
 * symbol sits on the shifted level, or the scratch keycode bound to it. */
static int xdo__sym(struct input_xdo *x, KeySym sym, bool down)
{
	charcodemap_t k;
	memset(&k, 0, sizeof(k));
	k.symbol = sym;
	k.code = XKeysymToKeycode(x->xdo->xdpy, sym);
	if (k.code && !xdo__is_scratch(x, k.code)) {
		if (XkbKeycodeToKeysym(x->xdo->xdpy, k.code, 0, 0) == sym)
			;
		else if (XkbKeycodeToKeysym(x->xdo->xdpy, k.code, 0, 1) == sym)
			k.modmask = ShiftMask;
		else
			k.code = 0; /* on another group or level: bind it instead */
	}
	if (!k.code || xdo__is_scratch(x, k.code)) {
		bool changed = false;
		if (!(k.code = xdo__bind(x, sym, false, &changed)))
			return RD_ERR_UNSUPPORTED;
		if (changed) {
			XSync(x->xdo->xdpy, False);
			usleep(XDO_TEXT_DELAY);
		}
	}
	return xdo_send_keysequence_window_list_do(x->xdo, CURRENTWINDOW, &k, 1, down, NULL, 0)
		== XDO_SUCCESS ? RD_OK : RD_ERR_IO;
}

static int xdo__key(struct input *in, enum input_key_kind kind, uint32_t code, bool down)
{
	struct input_xdo *x = (struct input_xdo *)in;
	if (x->dead)
		return RD_ERR_IO;
	switch (kind) {
	case RD_INPUT_KEY_CONTROL: {
		const char *name = xdo__control_sym(code);
		if (code == HBB__CONTROL_KEY__CtrlAltDel) {
			int rc = xdo_send_keysequence_window(x->xdo, CURRENTWINDOW, "ctrl+alt+Delete", 0);
			return down ? (rc == XDO_SUCCESS ? RD_OK : RD_ERR_IO) : RD_OK;
		}
		if (!name)
			return RD_ERR_UNSUPPORTED;
		KeySym sym = XStringToKeysym(name);
		return sym == NoSymbol ? RD_ERR_UNSUPPORTED : xdo__sym(x, sym, down);
	}
	case RD_INPUT_KEY_CHAR: {
		KeySym sym = xdo__char_keysym(code);
		return sym == NoSymbol ? RD_ERR_UNSUPPORTED : xdo__sym(x, sym, down);
	}
	case RD_INPUT_KEY_CODE: {
		if ((int)code < x->min_kc || (int)code > x->max_kc)
			return RD_ERR_INVAL;
		charcodemap_t k;
		memset(&k, 0, sizeof(k));
		k.code = (KeyCode)code;
		return xdo_send_keysequence_window_list_do(x->xdo, CURRENTWINDOW, &k, 1, down, NULL, 0)
			== XDO_SUCCESS ? RD_OK : RD_ERR_IO;
	}
	}
	return RD_ERR_INVAL;
}

static int xdo__text(struct input *in, const char *utf8, size_t len)
{
	struct input_xdo *x = (struct input_xdo *)in;
	if (x->dead)
		return RD_ERR_IO;
	/* All or nothing: check the whole text first. */
	for (size_t i = 0, used; i < len; i += used) {
		int32_t cp = rd_utf8_next(utf8 + i, len - i, &used);
		if (cp < 0 || xdo__char_keysym((uint32_t)cp) == NoSymbol)
			return RD_ERR_INVAL;
	}
	/* In chunks: bind every missing character of a chunk first (each to its
	 * own keycode), let clients see the new mapping once, then type it. */
	size_t i = 0, used;
	while (i < len) {
		bool changed = false;
		size_t end = i;
		memset(x->pinned, 0, sizeof(x->pinned));
		while (end < len) {
			KeySym sym = xdo__char_keysym((uint32_t)rd_utf8_next(utf8 + end, len - end, &used));
			KeyCode kc = XKeysymToKeycode(x->xdo->xdpy, sym);
			if ((!kc || xdo__is_scratch(x, kc)) && !xdo__bind(x, sym, true, &changed)) {
				if (end == i)
					return RD_ERR_UNSUPPORTED;
				break;
			}
			end += used;
		}
		if (changed) {
			XSync(x->xdo->xdpy, False);
			usleep(XDO_TEXT_DELAY);
		}
		for (; i < end; i += used) {
			KeySym sym = xdo__char_keysym((uint32_t)rd_utf8_next(utf8 + i, len - i, &used));
			int rc = xdo__sym(x, sym, true);
			if (rc == RD_OK)
				rc = xdo__sym(x, sym, false);
			if (rc != RD_OK)
				return rc;
		}
		XFlush(x->xdo->xdpy);
	}
	memset(x->pinned, 0, sizeof(x->pinned));
	return RD_OK;
}

static int xdo__move(struct input *in, int px, int py)
{
	struct input_xdo *x = (struct input_xdo *)in;
	if (x->dead)
		return RD_ERR_IO;
	return xdo_move_mouse(x->xdo, px, py, 0) == XDO_SUCCESS ? RD_OK : RD_ERR_IO;
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

static int xdo__button(struct input *in, enum input_button b, bool down)
{
	struct input_xdo *x = (struct input_xdo *)in;
	int xb = xdo__xbutton(b);
	if (!xb)
		return RD_ERR_INVAL;
	if (x->dead)
		return RD_ERR_IO;
	int rc = down ? xdo_mouse_down(x->xdo, CURRENTWINDOW, xb) : xdo_mouse_up(x->xdo, CURRENTWINDOW, xb);
	return rc == XDO_SUCCESS ? RD_OK : RD_ERR_IO;
}

static int xdo__wheel(struct input *in, int dx, int dy)
{
	struct input_xdo *x = (struct input_xdo *)in;
	int rc = XDO_SUCCESS;
	if (x->dead)
		return RD_ERR_IO;
	for (int i = 0; i < abs(dy) && rc == XDO_SUCCESS; i++)
		rc = xdo_click_window(x->xdo, CURRENTWINDOW, dy > 0 ? 4 : 5);
	for (int i = 0; i < abs(dx) && rc == XDO_SUCCESS; i++)
		rc = xdo_click_window(x->xdo, CURRENTWINDOW, dx > 0 ? 7 : 6);
	return rc == XDO_SUCCESS ? RD_OK : RD_ERR_IO;
}

static void xdo__flush(struct input *in)
{
	struct input_xdo *x = (struct input_xdo *)in;
	if (!x->dead)
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
	if (!disp || !disp[0]) {
		rd_skip_reason("no X display (DISPLAY unset, [capture] display not an X display)");
		return RD_ERR_NOTFOUND;
	}
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
	for (int i = 0; i < x->nscratch && !x->dead; i++)
		if (x->scratch_sym[i]) {
			KeySym none[2] = { NoSymbol, NoSymbol };
			XChangeKeyboardMapping(x->xdo->xdpy, x->scratch[i], 2, none, 1);
		}
	XSync(x->xdo->xdpy, False);
	xdo_free(x->xdo);
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

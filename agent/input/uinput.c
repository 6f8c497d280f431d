/* input/uinput: a virtual keyboard and a virtual absolute pointer made through
 * /dev/uinput, for DRM consoles and Wayland sessions where no X server takes
 * XTest. Text goes through a US keymap (ASCII only: the console's own keymap
 * decides what a key means, and a US layout is the usual default). */
#define RD_LOG_SUBSYS "input"
#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/uinput.h>

#include "err.h"
#include "log.h"
#include "privsep.h"
#include "uinput_dev.h"
#include "util.h"

#define UINPUT_ABS_MAX UINPUT_DEV_ABS_MAX

struct input_uinput {
	struct input base;
	int kbd;
	int ptr;
};

static const struct {
	uint32_t ck;
	uint16_t key;
} uinput_keys[] = {
	{ HBB__CONTROL_KEY__Alt, KEY_LEFTALT }, { HBB__CONTROL_KEY__Backspace, KEY_BACKSPACE },
	{ HBB__CONTROL_KEY__CapsLock, KEY_CAPSLOCK }, { HBB__CONTROL_KEY__Control, KEY_LEFTCTRL },
	{ HBB__CONTROL_KEY__Delete, KEY_DELETE }, { HBB__CONTROL_KEY__DownArrow, KEY_DOWN },
	{ HBB__CONTROL_KEY__End, KEY_END }, { HBB__CONTROL_KEY__Escape, KEY_ESC },
	{ HBB__CONTROL_KEY__F1, KEY_F1 }, { HBB__CONTROL_KEY__F2, KEY_F2 },
	{ HBB__CONTROL_KEY__F3, KEY_F3 }, { HBB__CONTROL_KEY__F4, KEY_F4 },
	{ HBB__CONTROL_KEY__F5, KEY_F5 }, { HBB__CONTROL_KEY__F6, KEY_F6 },
	{ HBB__CONTROL_KEY__F7, KEY_F7 }, { HBB__CONTROL_KEY__F8, KEY_F8 },
	{ HBB__CONTROL_KEY__F9, KEY_F9 }, { HBB__CONTROL_KEY__F10, KEY_F10 },
	{ HBB__CONTROL_KEY__F11, KEY_F11 }, { HBB__CONTROL_KEY__F12, KEY_F12 },
	{ HBB__CONTROL_KEY__Home, KEY_HOME }, { HBB__CONTROL_KEY__LeftArrow, KEY_LEFT },
	{ HBB__CONTROL_KEY__Meta, KEY_LEFTMETA }, { HBB__CONTROL_KEY__Option, KEY_RIGHTALT },
	{ HBB__CONTROL_KEY__PageDown, KEY_PAGEDOWN }, { HBB__CONTROL_KEY__PageUp, KEY_PAGEUP },
	{ HBB__CONTROL_KEY__Return, KEY_ENTER }, { HBB__CONTROL_KEY__RightArrow, KEY_RIGHT },
	{ HBB__CONTROL_KEY__Shift, KEY_LEFTSHIFT }, { HBB__CONTROL_KEY__Space, KEY_SPACE },
	{ HBB__CONTROL_KEY__Tab, KEY_TAB }, { HBB__CONTROL_KEY__UpArrow, KEY_UP },
	{ HBB__CONTROL_KEY__Numpad0, KEY_KP0 }, { HBB__CONTROL_KEY__Numpad1, KEY_KP1 },
	{ HBB__CONTROL_KEY__Numpad2, KEY_KP2 }, { HBB__CONTROL_KEY__Numpad3, KEY_KP3 },
	{ HBB__CONTROL_KEY__Numpad4, KEY_KP4 }, { HBB__CONTROL_KEY__Numpad5, KEY_KP5 },
	{ HBB__CONTROL_KEY__Numpad6, KEY_KP6 }, { HBB__CONTROL_KEY__Numpad7, KEY_KP7 },
	{ HBB__CONTROL_KEY__Numpad8, KEY_KP8 }, { HBB__CONTROL_KEY__Numpad9, KEY_KP9 },
	{ HBB__CONTROL_KEY__Cancel, KEY_CANCEL }, { HBB__CONTROL_KEY__Menu, KEY_COMPOSE },
	{ HBB__CONTROL_KEY__Pause, KEY_PAUSE }, { HBB__CONTROL_KEY__Hangul, KEY_HANGEUL },
	{ HBB__CONTROL_KEY__Hanja, KEY_HANJA }, { HBB__CONTROL_KEY__Select, KEY_SELECT },
	{ HBB__CONTROL_KEY__Print, KEY_PRINT }, { HBB__CONTROL_KEY__Snapshot, KEY_SYSRQ },
	{ HBB__CONTROL_KEY__Insert, KEY_INSERT }, { HBB__CONTROL_KEY__Help, KEY_HELP },
	{ HBB__CONTROL_KEY__Sleep, KEY_SLEEP }, { HBB__CONTROL_KEY__Scroll, KEY_SCROLLLOCK },
	{ HBB__CONTROL_KEY__NumLock, KEY_NUMLOCK }, { HBB__CONTROL_KEY__RWin, KEY_RIGHTMETA },
	{ HBB__CONTROL_KEY__Apps, KEY_COMPOSE }, { HBB__CONTROL_KEY__Multiply, KEY_KPASTERISK },
	{ HBB__CONTROL_KEY__Add, KEY_KPPLUS }, { HBB__CONTROL_KEY__Subtract, KEY_KPMINUS },
	{ HBB__CONTROL_KEY__Decimal, KEY_KPDOT }, { HBB__CONTROL_KEY__Divide, KEY_KPSLASH },
	{ HBB__CONTROL_KEY__Equals, KEY_KPEQUAL }, { HBB__CONTROL_KEY__NumpadEnter, KEY_KPENTER },
	{ HBB__CONTROL_KEY__RShift, KEY_RIGHTSHIFT }, { HBB__CONTROL_KEY__RControl, KEY_RIGHTCTRL },
	{ HBB__CONTROL_KEY__RAlt, KEY_RIGHTALT }, { HBB__CONTROL_KEY__VolumeMute, KEY_MUTE },
	{ HBB__CONTROL_KEY__VolumeUp, KEY_VOLUMEUP }, { HBB__CONTROL_KEY__VolumeDown, KEY_VOLUMEDOWN },
	{ HBB__CONTROL_KEY__Power, KEY_POWER },
};

/* US layout, ASCII 0x20..0x7e: key code, and whether Shift is needed. */
static const char us_lower[] = "1234567890-=qwertyuiop[]asdfghjkl;'`\\zxcvbnm,./";
static const char us_upper[] = "!@#$%^&*()_+QWERTYUIOP{}ASDFGHJKL:\"~|ZXCVBNM<>?";
static const uint16_t us_codes[] = {
	KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9, KEY_0, KEY_MINUS, KEY_EQUAL,
	KEY_Q, KEY_W, KEY_E, KEY_R, KEY_T, KEY_Y, KEY_U, KEY_I, KEY_O, KEY_P, KEY_LEFTBRACE,
	KEY_RIGHTBRACE, KEY_A, KEY_S, KEY_D, KEY_F, KEY_G, KEY_H, KEY_J, KEY_K, KEY_L, KEY_SEMICOLON,
	KEY_APOSTROPHE, KEY_GRAVE, KEY_BACKSLASH, KEY_Z, KEY_X, KEY_C, KEY_V, KEY_B, KEY_N, KEY_M,
	KEY_COMMA, KEY_DOT, KEY_SLASH,
};

static int us_key(uint32_t cp, uint16_t *key, bool *shift)
{
	*shift = false;
	switch (cp) {
	case ' ': *key = KEY_SPACE; return RD_OK;
	case '\n': case '\r': *key = KEY_ENTER; return RD_OK;
	case '\t': *key = KEY_TAB; return RD_OK;
	case '\b': *key = KEY_BACKSPACE; return RD_OK;
	case 0x1b: *key = KEY_ESC; return RD_OK;
	default: break;
	}
	if (cp == 0 || cp > 0x7e)
		return RD_ERR_UNSUPPORTED;
	const char *p = strchr(us_lower, (int)cp);
	if (!p && (p = strchr(us_upper, (int)cp)) != NULL) {
		*shift = true;
		*key = us_codes[p - us_upper];
		return RD_OK;
	}
	if (!p)
		return RD_ERR_UNSUPPORTED;
	*key = us_codes[p - us_lower];
	return RD_OK;
}

static int ui__emit(int fd, uint16_t type, uint16_t code, int32_t value)
{
	struct input_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.code = code;
	ev.value = value;
	return write(fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev) ? RD_OK : RD_ERR_IO;
}

static int ui__key_raw(struct input_uinput *u, uint16_t key, bool down)
{
	int rc = ui__emit(u->kbd, EV_KEY, key, down ? 1 : 0);
	if (rc == RD_OK)
		rc = ui__emit(u->kbd, EV_SYN, SYN_REPORT, 0);
	return rc;
}

static int ui__char(struct input_uinput *u, uint32_t cp, bool down)
{
	uint16_t key;
	bool shift;
	int rc = us_key(cp, &key, &shift);
	if (rc != RD_OK)
		return rc;
	if (shift && down)
		rc = ui__key_raw(u, KEY_LEFTSHIFT, true);
	if (rc == RD_OK)
		rc = ui__key_raw(u, key, down);
	if (shift && !down)
		rc = ui__key_raw(u, KEY_LEFTSHIFT, false);
	return rc;
}

static int ui__key(struct input *in, enum input_key_kind kind, uint32_t code, bool down)
{
	struct input_uinput *u = (struct input_uinput *)in;
	switch (kind) {
	case RD_INPUT_KEY_CONTROL:
		if (code == HBB__CONTROL_KEY__CtrlAltDel) {
			int rc = RD_OK;
			if (!down)
				return RD_OK;
			const uint16_t seq[] = { KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE };
			for (size_t i = 0; i < 3 && rc == RD_OK; i++)
				rc = ui__key_raw(u, seq[i], true);
			for (size_t i = 3; i-- > 0;)
				ui__key_raw(u, seq[i], false);
			return rc;
		}
		for (size_t i = 0; i < RD_ARRAY_LEN(uinput_keys); i++)
			if (uinput_keys[i].ck == code)
				return ui__key_raw(u, uinput_keys[i].key, down);
		return RD_ERR_UNSUPPORTED;
	case RD_INPUT_KEY_CHAR:
		return ui__char(u, code, down);
	case RD_INPUT_KEY_CODE:
		if (code < 9 || code > 255)
			return RD_ERR_INVAL;
		return ui__key_raw(u, (uint16_t)(code - 8), down);
	}
	return RD_ERR_INVAL;
}

static int ui__text(struct input *in, const char *utf8, size_t len)
{
	struct input_uinput *u = (struct input_uinput *)in;
	uint16_t key;
	bool shift;
	/* All or nothing: a character the keymap lacks refuses the whole text. */
	for (size_t i = 0, used; i < len; i += used) {
		int32_t cp = rd_utf8_next(utf8 + i, len - i, &used);
		if (cp < 0 || us_key((uint32_t)cp, &key, &shift) != RD_OK)
			return RD_ERR_UNSUPPORTED;
	}
	for (size_t i = 0, used; i < len; i += used) {
		int32_t cp = rd_utf8_next(utf8 + i, len - i, &used);
		int rc = ui__char(u, (uint32_t)cp, true);
		if (rc == RD_OK)
			rc = ui__char(u, (uint32_t)cp, false);
		if (rc != RD_OK)
			return rc;
	}
	return RD_OK;
}

static int ui__move(struct input *in, int x, int y)
{
	struct input_uinput *u = (struct input_uinput *)in;
	int rc = ui__emit(u->ptr, EV_ABS, ABS_X, x);
	if (rc == RD_OK)
		rc = ui__emit(u->ptr, EV_ABS, ABS_Y, y);
	if (rc == RD_OK)
		rc = ui__emit(u->ptr, EV_SYN, SYN_REPORT, 0);
	return rc;
}

static int ui__button(struct input *in, enum input_button b, bool down)
{
	struct input_uinput *u = (struct input_uinput *)in;
	uint16_t code;
	switch (b) {
	case RD_INPUT_BTN_LEFT: code = BTN_LEFT; break;
	case RD_INPUT_BTN_RIGHT: code = BTN_RIGHT; break;
	case RD_INPUT_BTN_MIDDLE: code = BTN_MIDDLE; break;
	case RD_INPUT_BTN_BACK: code = BTN_SIDE; break;
	case RD_INPUT_BTN_FORWARD: code = BTN_EXTRA; break;
	default: return RD_ERR_INVAL;
	}
	int rc = ui__emit(u->ptr, EV_KEY, code, down ? 1 : 0);
	if (rc == RD_OK)
		rc = ui__emit(u->ptr, EV_SYN, SYN_REPORT, 0);
	return rc;
}

static int ui__wheel(struct input *in, int dx, int dy)
{
	struct input_uinput *u = (struct input_uinput *)in;
	int rc = RD_OK;
	if (dy)
		rc = ui__emit(u->ptr, EV_REL, REL_WHEEL, dy);
	if (rc == RD_OK && dx)
		rc = ui__emit(u->ptr, EV_REL, REL_HWHEEL, dx);
	if (rc == RD_OK)
		rc = ui__emit(u->ptr, EV_SYN, SYN_REPORT, 0);
	return rc;
}

/* One device: from the privsep client (the helper, or /dev/uinput here), or
 * from an explicitly configured node (tests). */
static int ui__get(const struct input_config *cfg, bool pointer, int *fd)
{
	if (cfg->uinput_path)
		return uinput_dev_create(cfg->uinput_path, pointer, fd);
	return privsep_uinput(pointer ? PRIVSEP_UINPUT_POINTER : PRIVSEP_UINPUT_KEYBOARD, fd);
}

static int ui__open(const struct input_config *cfg, struct input **out)
{
	const char *path = cfg->uinput_path ? cfg->uinput_path
		: privsep_active() ? "rd-agent-helper's uinput" : "/dev/uinput";
	int kbd = -1, ptr = -1;
	int rc = ui__get(cfg, false, &kbd);
	bool pointer = rc == RD_OK;
	if (pointer)
		rc = ui__get(cfg, true, &ptr);
	if (rc != RD_OK) {
		if (rc == RD_ERR_NOTFOUND)
			rd_skip_reason("%s is missing (kernel module uinput not loaded?)", path);
		else if (rc == RD_ERR_PERM)
			rd_skip_reason("%s: permission denied", path);
		else
			rd_skip_reason("%s: cannot create the %s device: %s", path, pointer ? "pointer"
				: "keyboard", strerror(errno));
		if (kbd >= 0) {
			ioctl(kbd, UI_DEV_DESTROY);
			close(kbd);
		}
		return rc;
	}
	struct input_uinput *u = xcalloc(1, sizeof(*u));
	u->kbd = kbd;
	u->ptr = ptr;
	u->base.max_x = UINPUT_ABS_MAX;
	u->base.max_y = UINPUT_ABS_MAX;
	log_info("uinput: virtual keyboard and pointer created through %s", path);
	*out = &u->base;
	return RD_OK;
}

static void ui__close(struct input *in)
{
	struct input_uinput *u = (struct input_uinput *)in;
	ioctl(u->kbd, UI_DEV_DESTROY);
	ioctl(u->ptr, UI_DEV_DESTROY);
	close(u->kbd);
	close(u->ptr);
	free(u);
}

const struct input_ops input_uinput_ops = {
	.name = "uinput",
	.open = ui__open,
	.close = ui__close,
	.key = ui__key,
	.text = ui__text,
	.move = ui__move,
	.button = ui__button,
	.wheel = ui__wheel,
};

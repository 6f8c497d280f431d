/* keymap: see keymap.h. */
#include "keymap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "message.pb-c.h"
#include "util.h"

struct name {
	const char *name;
	int key;
};

/* Named keys: our own spellings first, then X11 keysym names and mpv's names
 * as aliases (matched without regard to case). */
static const struct name named_keys[] = {
	{ "Return", HBB__CONTROL_KEY__Return }, { "Enter", HBB__CONTROL_KEY__Return },
	{ "Escape", HBB__CONTROL_KEY__Escape }, { "Esc", HBB__CONTROL_KEY__Escape },
	{ "Tab", HBB__CONTROL_KEY__Tab }, { "BackSpace", HBB__CONTROL_KEY__Backspace },
	{ "BS", HBB__CONTROL_KEY__Backspace }, { "Delete", HBB__CONTROL_KEY__Delete },
	{ "Del", HBB__CONTROL_KEY__Delete }, { "Insert", HBB__CONTROL_KEY__Insert },
	{ "Ins", HBB__CONTROL_KEY__Insert }, { "Home", HBB__CONTROL_KEY__Home },
	{ "End", HBB__CONTROL_KEY__End }, { "PageUp", HBB__CONTROL_KEY__PageUp },
	{ "Prior", HBB__CONTROL_KEY__PageUp }, { "PgUp", HBB__CONTROL_KEY__PageUp },
	{ "PageDown", HBB__CONTROL_KEY__PageDown }, { "Next", HBB__CONTROL_KEY__PageDown },
	{ "PgDwn", HBB__CONTROL_KEY__PageDown }, { "PgDn", HBB__CONTROL_KEY__PageDown },
	{ "Up", HBB__CONTROL_KEY__UpArrow }, { "Down", HBB__CONTROL_KEY__DownArrow },
	{ "Left", HBB__CONTROL_KEY__LeftArrow }, { "Right", HBB__CONTROL_KEY__RightArrow },
	{ "Space", HBB__CONTROL_KEY__Space }, { "CapsLock", HBB__CONTROL_KEY__CapsLock },
	{ "Caps_Lock", HBB__CONTROL_KEY__CapsLock },
	{ "F1", HBB__CONTROL_KEY__F1 }, { "F2", HBB__CONTROL_KEY__F2 }, { "F3", HBB__CONTROL_KEY__F3 },
	{ "F4", HBB__CONTROL_KEY__F4 }, { "F5", HBB__CONTROL_KEY__F5 }, { "F6", HBB__CONTROL_KEY__F6 },
	{ "F7", HBB__CONTROL_KEY__F7 }, { "F8", HBB__CONTROL_KEY__F8 }, { "F9", HBB__CONTROL_KEY__F9 },
	{ "F10", HBB__CONTROL_KEY__F10 }, { "F11", HBB__CONTROL_KEY__F11 },
	{ "F12", HBB__CONTROL_KEY__F12 },
	{ "KP0", HBB__CONTROL_KEY__Numpad0 }, { "KP1", HBB__CONTROL_KEY__Numpad1 },
	{ "KP2", HBB__CONTROL_KEY__Numpad2 }, { "KP3", HBB__CONTROL_KEY__Numpad3 },
	{ "KP4", HBB__CONTROL_KEY__Numpad4 }, { "KP5", HBB__CONTROL_KEY__Numpad5 },
	{ "KP6", HBB__CONTROL_KEY__Numpad6 }, { "KP7", HBB__CONTROL_KEY__Numpad7 },
	{ "KP8", HBB__CONTROL_KEY__Numpad8 }, { "KP9", HBB__CONTROL_KEY__Numpad9 },
	{ "KP_0", HBB__CONTROL_KEY__Numpad0 }, { "KP_1", HBB__CONTROL_KEY__Numpad1 },
	{ "KP_2", HBB__CONTROL_KEY__Numpad2 }, { "KP_3", HBB__CONTROL_KEY__Numpad3 },
	{ "KP_4", HBB__CONTROL_KEY__Numpad4 }, { "KP_5", HBB__CONTROL_KEY__Numpad5 },
	{ "KP_6", HBB__CONTROL_KEY__Numpad6 }, { "KP_7", HBB__CONTROL_KEY__Numpad7 },
	{ "KP_8", HBB__CONTROL_KEY__Numpad8 }, { "KP_9", HBB__CONTROL_KEY__Numpad9 },
	{ "Numpad0", HBB__CONTROL_KEY__Numpad0 }, { "Numpad1", HBB__CONTROL_KEY__Numpad1 },
	{ "Numpad2", HBB__CONTROL_KEY__Numpad2 }, { "Numpad3", HBB__CONTROL_KEY__Numpad3 },
	{ "Numpad4", HBB__CONTROL_KEY__Numpad4 }, { "Numpad5", HBB__CONTROL_KEY__Numpad5 },
	{ "Numpad6", HBB__CONTROL_KEY__Numpad6 }, { "Numpad7", HBB__CONTROL_KEY__Numpad7 },
	{ "Numpad8", HBB__CONTROL_KEY__Numpad8 }, { "Numpad9", HBB__CONTROL_KEY__Numpad9 },
	{ "KP_Enter", HBB__CONTROL_KEY__NumpadEnter }, { "KP_Dec", HBB__CONTROL_KEY__Decimal },
	{ "KP_Decimal", HBB__CONTROL_KEY__Decimal }, { "KP_Add", HBB__CONTROL_KEY__Add },
	{ "KP_Subtract", HBB__CONTROL_KEY__Subtract }, { "KP_Multiply", HBB__CONTROL_KEY__Multiply },
	{ "KP_Divide", HBB__CONTROL_KEY__Divide }, { "KP_Del", HBB__CONTROL_KEY__Delete },
	{ "KP_Ins", HBB__CONTROL_KEY__Insert },
	{ "Menu", HBB__CONTROL_KEY__Menu }, { "Pause", HBB__CONTROL_KEY__Pause },
	{ "Print", HBB__CONTROL_KEY__Print }, { "PrintScreen", HBB__CONTROL_KEY__Snapshot },
	{ "NumLock", HBB__CONTROL_KEY__NumLock }, { "ScrollLock", HBB__CONTROL_KEY__Scroll },
	{ "Scroll_Lock", HBB__CONTROL_KEY__Scroll }, { "Help", HBB__CONTROL_KEY__Help },
	{ "Cancel", HBB__CONTROL_KEY__Cancel }, { "Clear", HBB__CONTROL_KEY__Clear },
	{ "Select", HBB__CONTROL_KEY__Select }, { "Execute", HBB__CONTROL_KEY__Execute },
	{ "Sleep", HBB__CONTROL_KEY__Sleep }, { "Power", HBB__CONTROL_KEY__Power },
	{ "VolumeUp", HBB__CONTROL_KEY__VolumeUp }, { "VolumeDown", HBB__CONTROL_KEY__VolumeDown },
	{ "VolumeMute", HBB__CONTROL_KEY__VolumeMute }, { "Mute", HBB__CONTROL_KEY__VolumeMute },
	{ "CtrlAltDel", HBB__CONTROL_KEY__CtrlAltDel }, { "LockScreen", HBB__CONTROL_KEY__LockScreen },
};

static const struct name modifiers[] = {
	{ "ctrl", HBB__CONTROL_KEY__Control }, { "control", HBB__CONTROL_KEY__Control },
	{ "alt", HBB__CONTROL_KEY__Alt }, { "shift", HBB__CONTROL_KEY__Shift },
	{ "meta", HBB__CONTROL_KEY__Meta }, { "super", HBB__CONTROL_KEY__Meta },
	{ "win", HBB__CONTROL_KEY__Meta }, { "cmd", HBB__CONTROL_KEY__Meta },
	{ "altgr", HBB__CONTROL_KEY__RAlt }, { "ralt", HBB__CONTROL_KEY__RAlt },
	{ "rctrl", HBB__CONTROL_KEY__RControl }, { "rshift", HBB__CONTROL_KEY__RShift },
};

/* Characters mpv names by word. */
static const struct { const char *name; uint32_t chr; } mpv_chars[] = {
	{ "SHARP", '#' }, { "PLUS", '+' }, { "IDEOGRAPHIC_SPACE", 0x3000 },
};

static int lookup(const struct name *t, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len && strncasecmp(t[i].name, s, len) == 0)
			return t[i].key;
	return 0;
}

int ctl_keymap_named(const char *name, size_t len)
{
	return lookup(named_keys, RD_ARRAY_LEN(named_keys), name, len);
}

int ctl_keymap_modifier(const char *name, size_t len)
{
	return lookup(modifiers, RD_ARRAY_LEN(modifiers), name, len);
}

/* Exactly one printable UTF-8 character: its code point, or -1. */
static int32_t one_char(const char *s, size_t len)
{
	size_t used;
	int32_t cp = rd_utf8_next(s, len, &used);
	if (cp < 0 || used != len || cp < 0x20 || cp == 0x7f)
		return -1;
	return cp;
}

static int add_mod(struct ctl_key *k, int m)
{
	for (int i = 0; i < k->nmods; i++)
		if (k->mods[i] == m)
			return RD_OK;
	if (k->nmods >= CTL_KEY_MAX_MODS)
		return RD_ERR_INVAL;
	k->mods[k->nmods++] = m;
	return RD_OK;
}

/* The last part of a combination: a named key, a modifier alone, or one character. */
static int parse_key(const char *s, size_t len, bool mpv, struct ctl_key *k)
{
	int c = ctl_keymap_named(s, len);
	if (!c && len > 0 && !mpv)
		c = ctl_keymap_modifier(s, len);
	if (!c && mpv && len > 1) {
		for (size_t i = 0; i < RD_ARRAY_LEN(mpv_chars); i++)
			if (strlen(mpv_chars[i].name) == len && !strncmp(mpv_chars[i].name, s, len)) {
				k->chr = mpv_chars[i].chr;
				return RD_OK;
			}
	}
	if (c) {
		k->control = c;
		return RD_OK;
	}
	int32_t cp = one_char(s, len);
	if (cp < 0)
		return mpv ? RD_ERR_NOTFOUND : RD_ERR_INVAL;
	if (cp == ' ') {
		k->control = HBB__CONTROL_KEY__Space;
		return RD_OK;
	}
	k->chr = (uint32_t)cp;
	return RD_OK;
}

static int parse(const char *s, bool mpv, struct ctl_key *out)
{
	memset(out, 0, sizeof(*out));
	size_t len = strlen(s);
	if (len == 0 || len > CTL_COMBO_MAX)
		return RD_ERR_INVAL;
	const char *p = s, *end = s + len;
	for (;;) {
		const char *plus = memchr(p, '+', (size_t)(end - p));
		/* "+" as the key itself: a trailing "+" right after a separator or alone. */
		if (!plus || plus == end - 1 || plus == p)
			break;
		int m = ctl_keymap_modifier(p, (size_t)(plus - p));
		if (!m)
			return RD_ERR_INVAL;
		if (add_mod(out, m) != RD_OK)
			return RD_ERR_INVAL;
		p = plus + 1;
	}
	int rc = parse_key(p, (size_t)(end - p), mpv, out);
	if (rc != RD_OK)
		return rc;
	/* A modifier key named alone ("ctrl") is the key, not a modifier of itself. */
	for (int i = 0; i < out->nmods; i++)
		if (out->mods[i] == out->control)
			return RD_ERR_INVAL;
	return RD_OK;
}

int ctl_keymap_parse_combo(const char *s, struct ctl_key *out)
{
	return parse(s, false, out);
}

int ctl_keymap_parse_mpv(const char *s, struct ctl_key *out)
{
	int rc = parse(s, true, out);
	/* mpv names a shifted letter by itself ("A"), with Shift only on named keys. */
	return rc;
}

static const char *name_of(int key)
{
	for (size_t i = 0; i < RD_ARRAY_LEN(named_keys); i++)
		if (named_keys[i].key == key)
			return named_keys[i].name;
	for (size_t i = 0; i < RD_ARRAY_LEN(modifiers); i++)
		if (modifiers[i].key == key)
			return modifiers[i].name;
	return "?";
}

void ctl_keymap_format(const struct ctl_key *k, char *out, size_t outsz)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < k->nmods && o < outsz; i++) {
		int n = snprintf(out + o, outsz - o, "%s+", name_of(k->mods[i]));
		if (n < 0)
			return;
		o += (size_t)n;
	}
	if (o >= outsz)
		return;
	if (k->control) {
		snprintf(out + o, outsz - o, "%s", name_of(k->control));
	} else if (k->chr >= 0x20 && k->chr < 0x7f) {
		snprintf(out + o, outsz - o, "%c", (char)k->chr);
	} else {
		snprintf(out + o, outsz - o, "U+%04X", (unsigned)k->chr);
	}
}

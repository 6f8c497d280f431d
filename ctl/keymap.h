/* keymap: key names and combinations for rdctl ("ctrl+alt+f2", "Return",
 * "shift+Tab", "a", "€") and mpv's key names ("Ctrl+a", "ENTER", "BS",
 * "KP_ENTER"), both turned into what a KeyEvent carries: a ControlKey or a
 * Unicode character, and the held modifiers (PROTOCOL.md §4). Pure; the unit
 * test and the fuzzer drive it directly. */
#ifndef RD_CTL_KEYMAP_H
#define RD_CTL_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_KEY_MAX_MODS 4
#define CTL_COMBO_MAX 128   /* longest combination text accepted */

struct ctl_key {
	int control;                  /* ControlKey (HBB__CONTROL_KEY__*), 0 = a character */
	uint32_t chr;                 /* Unicode code point when control == 0 */
	int mods[CTL_KEY_MAX_MODS];   /* ControlKey modifiers, in order */
	int nmods;
};

/* A key name alone, case-insensitive ("Return", "enter", "F2", "PgUp"):
 * the ControlKey, or 0 when the name is not a named key. */
int ctl_keymap_named(const char *name, size_t len);
/* A modifier name ("ctrl", "Alt", "shift", "super", "altgr"): ControlKey or 0. */
int ctl_keymap_modifier(const char *name, size_t len);
/* "ctrl+alt+f2", "Return", "a", "ctrl++": RD_OK or RD_ERR_INVAL. */
int ctl_keymap_parse_combo(const char *s, struct ctl_key *out);
/* An mpv key name as mpv reports it to a script ("Ctrl+Shift+LEFT", "A",
 * "SHARP", "MBTN_LEFT" is not a key): RD_OK, or RD_ERR_INVAL / RD_ERR_NOTFOUND. */
int ctl_keymap_parse_mpv(const char *s, struct ctl_key *out);
/* Human-readable form for messages ("ctrl+F2"). */
void ctl_keymap_format(const struct ctl_key *k, char *out, size_t outsz);

#endif

/* input: the KeyEvent, MouseEvent and Clipboard messages rdctl sends (the
 * scriptable verbs in input_verbs.c and the mpv viewer share them), and the
 * change test of wait-for-change. Pure: nothing here does I/O; the caller
 * hands the message to ctl_session_send(). */
#ifndef RD_CTL_INPUT_H
#define RD_CTL_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keymap.h"
#include "message.pb-c.h"

/* MouseEvent types and buttons (PROTOCOL.md §11). */
#define CTL_MOUSE_MOVE 0
#define CTL_MOUSE_DOWN 1
#define CTL_MOUSE_UP 2
#define CTL_MOUSE_WHEEL 3
#define CTL_BTN_LEFT 1
#define CTL_BTN_RIGHT 2
#define CTL_BTN_MIDDLE 4
#define CTL_BTN_BACK 8
#define CTL_BTN_FORWARD 16

/* Room for one message: the builders fill it and return &msg->m, which
 * points into msg and into the builder's text arguments (send it while
 * both live). */
struct ctl_input_msg {
	Hbb__Message m;
	union {
		Hbb__KeyEvent key;
		Hbb__MouseEvent mouse;
		Hbb__Clipboard clip;
	} u;
	Hbb__ControlKey mods[CTL_KEY_MAX_MODS];
};

/* One key: press (down+up) when press, else down or up. */
Hbb__Message *ctl_input_key(struct ctl_input_msg *msg, const struct ctl_key *k, bool press,
	bool down);
/* Text typed as it is (KeyEvent.seq, Translate mode). */
Hbb__Message *ctl_input_text(struct ctl_input_msg *msg, const char *utf8);
/* type CTL_MOUSE_*, buttons CTL_BTN_* (0 for a move), x/y remote pixels (or
 * wheel deltas); modifiers past CTL_KEY_MAX_MODS are dropped. */
Hbb__Message *ctl_input_mouse(struct ctl_input_msg *msg, int type, int buttons, int x, int y,
	const int *mods, int nmods);
/* Clipboard text. */
Hbb__Message *ctl_input_clipboard(struct ctl_input_msg *msg, const char *text, size_t len);

/* "X,Y,W,H" with W,H > 0: RD_OK or RD_ERR_INVAL. */
int ctl_input_parse_region(const char *s, int *x, int *y, int *w, int *h);
/* Do two luma planes differ inside the region (clipped to both)? A pixel
 * counts when it moves more than `level`; the region changed when more than
 * `share` of its pixels (and at least 4) did. Codec noise stays below. */
bool ctl_input_region_changed(const uint8_t *a, int astride, const uint8_t *b, int bstride,
	int x, int y, int w, int h, int level, double share);

#endif

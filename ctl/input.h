/* input: building the KeyEvent and MouseEvent messages rdctl sends (the
 * scriptable verbs and the mpv viewer share them), and the change test of
 * wait-for-change. Pure helpers; the verbs themselves are in input.c too. */
#ifndef RD_CTL_INPUT_H
#define RD_CTL_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keymap.h"
#include "message.pb-c.h"

struct ctl_session;

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

/* One key: press (down+up) when press, else down or up. */
int ctl_input_send_key(struct ctl_session *s, const struct ctl_key *k, bool press, bool down);
int ctl_input_send_text(struct ctl_session *s, const char *utf8);
/* type CTL_MOUSE_*, buttons CTL_BTN_* (0 for a move), x/y remote pixels (or wheel deltas). */
int ctl_input_send_mouse(struct ctl_session *s, int type, int buttons, int x, int y,
	const int *mods, int nmods);
int ctl_input_send_clipboard(struct ctl_session *s, const char *text, size_t len);

/* "X,Y,W,H" with W,H > 0: RD_OK or RD_ERR_INVAL. */
int ctl_input_parse_region(const char *s, int *x, int *y, int *w, int *h);
/* Do two luma planes differ inside the region (clipped to both)? A pixel
 * counts when it moves more than `level`; the region changed when more than
 * `share` of its pixels (and at least 4) did. Codec noise stays below. */
bool ctl_input_region_changed(const uint8_t *a, int astride, const uint8_t *b, int bstride,
	int x, int y, int w, int h, int level, double share);

#endif

/* clipboard: the X11 CLIPBOARD selection as text, both ways, through xcb on
 * the agent's loop. The agent reads the selection whenever another client
 * takes it (XFixes selection notify) and reports the text; it owns the
 * selection when a controller sets text, answering TARGETS, UTF8_STRING,
 * STRING and TEXT requests. Text longer than the limit is refused. Without an
 * X display (a console) there is no clipboard: clipboard_new fails with
 * RD_ERR_UNSUPPORTED and the caller says so to the controller. */
#ifndef RD_AGENT_CLIPBOARD_H
#define RD_AGENT_CLIPBOARD_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct clipboard;

#define RD_CLIPBOARD_MAX_DEFAULT (256u * 1024)
#define RD_CLIPBOARD_MAX_LIMIT (4u * 1024 * 1024)

struct clipboard_ops {
	/* Another client put new text on the clipboard (text is not NUL-terminated
	 * and valid during the call only). len 0: the clipboard is empty. */
	void (*on_change)(const char *text, size_t len, void *ud);
};

/* display: an X display name (":1"); NULL = $DISPLAY. */
int clipboard_new(struct ev_loop *loop, const char *display, size_t max, const struct clipboard_ops *ops,
	void *ud, struct clipboard **out);
void clipboard_free(struct clipboard *cb);
/* Own the CLIPBOARD selection with this text (copied). RD_ERR_TOOBIG over max. */
int clipboard_set(struct clipboard *cb, const char *text, size_t len);
/* The X connection broke (the display went away). */
bool clipboard_broken(const struct clipboard *cb);
/* The text last read or set; *known is false before the first read finished. */
const char *clipboard_text(const struct clipboard *cb, size_t *len, bool *known);

#endif

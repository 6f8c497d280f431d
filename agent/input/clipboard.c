/* clipboard: see clipboard.h. */
#define RD_LOG_SUBSYS "clipboard"
#include "clipboard.h"

#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <xcb/xcb.h>
#include <xcb/xfixes.h>

#include "err.h"
#include "log.h"
#include "util.h"
#include "x11_auth.h"

enum { A_CLIPBOARD, A_UTF8, A_TARGETS, A_PROP, A_INCR, A_TEXT, A_STRING, A_COUNT };
static const char *const atom_names[A_COUNT] = { "CLIPBOARD", "UTF8_STRING", "TARGETS",
	"RDESK_CLIPBOARD", "INCR", "TEXT", "STRING" };

struct clipboard {
	struct ev_loop *loop;
	xcb_connection_t *xc;
	xcb_window_t win;
	xcb_atom_t atom[A_COUNT];
	uint8_t xfixes_event;
	size_t max;
	ev_io io;
	const struct clipboard_ops *ops;
	void *ud;
	char *text;        /* last text read or set */
	size_t len;
	bool known;
	bool owner;        /* we own CLIPBOARD now */
};

static void cb__store(struct clipboard *cb, const char *text, size_t len)
{
	char *copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	free(cb->text);
	cb->text = copy;
	cb->len = len;
	cb->known = true;
}

static void cb__request(struct clipboard *cb, xcb_timestamp_t t)
{
	xcb_convert_selection(cb->xc, cb->win, cb->atom[A_CLIPBOARD], cb->atom[A_UTF8], cb->atom[A_PROP], t);
	xcb_flush(cb->xc);
}

static void cb__on_selection_notify(struct clipboard *cb, const xcb_selection_notify_event_t *e)
{
	if (e->selection != cb->atom[A_CLIPBOARD])
		return;
	if (e->property == XCB_NONE) {
		log_info("the clipboard owner offers no text");
		return;
	}
	uint32_t words = (uint32_t)(cb->max / 4 + 1);
	xcb_get_property_reply_t *r = xcb_get_property_reply(cb->xc,
		xcb_get_property(cb->xc, 1, cb->win, cb->atom[A_PROP], XCB_GET_PROPERTY_TYPE_ANY, 0, words),
		NULL);
	xcb_flush(cb->xc);
	if (!r)
		return;
	size_t len = (size_t)xcb_get_property_value_length(r);
	if (r->type == cb->atom[A_INCR] || r->bytes_after > 0 || len > cb->max) {
		log_warn("clipboard text over the %zu byte limit; not passed on", cb->max);
	} else if (r->format == 8) {
		cb__store(cb, xcb_get_property_value(r), len);
		log_info("clipboard changed on the host (%zu bytes)", len);
		if (cb->ops->on_change)
			cb->ops->on_change(cb->text, cb->len, cb->ud);
	}
	free(r);
}

static void cb__on_request(struct clipboard *cb, const xcb_selection_request_event_t *e)
{
	xcb_selection_notify_event_t n;
	memset(&n, 0, sizeof(n));
	n.response_type = XCB_SELECTION_NOTIFY;
	n.time = e->time;
	n.requestor = e->requestor;
	n.selection = e->selection;
	n.target = e->target;
	n.property = XCB_NONE;
	xcb_atom_t prop = e->property != XCB_NONE ? e->property : e->target;
	if (cb->owner && e->selection == cb->atom[A_CLIPBOARD]) {
		if (e->target == cb->atom[A_TARGETS]) {
			xcb_atom_t t[4] = { cb->atom[A_TARGETS], cb->atom[A_UTF8], cb->atom[A_STRING],
				cb->atom[A_TEXT] };
			xcb_change_property(cb->xc, XCB_PROP_MODE_REPLACE, e->requestor, prop, XCB_ATOM_ATOM,
				32, 4, t);
			n.property = prop;
		} else if (e->target == cb->atom[A_UTF8] || e->target == cb->atom[A_STRING] ||
		    e->target == cb->atom[A_TEXT]) {
			xcb_change_property(cb->xc, XCB_PROP_MODE_REPLACE, e->requestor, prop,
				e->target == cb->atom[A_STRING] ? XCB_ATOM_STRING : cb->atom[A_UTF8], 8,
				(uint32_t)cb->len, cb->text ? cb->text : "");
			n.property = prop;
		}
	}
	xcb_send_event(cb->xc, 0, e->requestor, XCB_EVENT_MASK_NO_EVENT, (const char *)&n);
	xcb_flush(cb->xc);
}

static void cb__dispatch(struct clipboard *cb)
{
	xcb_generic_event_t *ev;
	while ((ev = xcb_poll_for_event(cb->xc)) != NULL) {
		uint8_t type = ev->response_type & 0x7f;
		if (type == XCB_SELECTION_NOTIFY) {
			cb__on_selection_notify(cb, (xcb_selection_notify_event_t *)ev);
		} else if (type == XCB_SELECTION_REQUEST) {
			cb__on_request(cb, (xcb_selection_request_event_t *)ev);
		} else if (type == XCB_SELECTION_CLEAR) {
			cb->owner = false;
		} else if (type == cb->xfixes_event + XCB_XFIXES_SELECTION_NOTIFY) {
			xcb_xfixes_selection_notify_event_t *x = (xcb_xfixes_selection_notify_event_t *)ev;
			if (x->owner != cb->win && x->owner != XCB_NONE)
				cb__request(cb, x->selection_timestamp);
		}
		free(ev);
	}
	if (xcb_connection_has_error(cb->xc)) {
		log_warn("X connection for the clipboard lost");
		ev_io_stop(cb->loop, &cb->io);
	}
}

static void cb__on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	cb__dispatch(w->data);
}

int clipboard_new(struct ev_loop *loop, const char *display, size_t max, const struct clipboard_ops *ops,
	void *ud, struct clipboard **out)
{
	const char *disp = display && display[0] == ':' ? display : getenv("DISPLAY");
	*out = NULL;
	if (!disp || !disp[0])
		return RD_ERR_UNSUPPORTED;
	struct clipboard *cb = xcalloc(1, sizeof(*cb));
	int rc = RD_ERR_UNSUPPORTED;
	cb->loop = loop;
	cb->ops = ops;
	cb->ud = ud;
	cb->max = max ? max : RD_CLIPBOARD_MAX_DEFAULT;
	cb->xc = x11_connect(disp, NULL);
	if (xcb_connection_has_error(cb->xc)) {
		log_info("no clipboard: cannot open X display %s", disp);
		goto fail_conn;
	}
	/* Replies larger than a request can carry are not offered. */
	size_t maxreq = (size_t)xcb_get_maximum_request_length(cb->xc) * 4;
	if (maxreq > 1024 && cb->max > maxreq - 1024)
		cb->max = maxreq - 1024;
	const xcb_query_extension_reply_t *xf = xcb_get_extension_data(cb->xc, &xcb_xfixes_id);
	if (!xf || !xf->present) {
		log_info("no clipboard: X display %s lacks XFIXES", disp);
		goto fail_conn;
	}
	cb->xfixes_event = xf->first_event;
	free(xcb_xfixes_query_version_reply(cb->xc, xcb_xfixes_query_version(cb->xc, 5, 0), NULL));
	xcb_intern_atom_cookie_t ck[A_COUNT];
	for (int i = 0; i < A_COUNT; i++)
		ck[i] = xcb_intern_atom(cb->xc, 0, (uint16_t)strlen(atom_names[i]), atom_names[i]);
	for (int i = 0; i < A_COUNT; i++) {
		xcb_intern_atom_reply_t *r = xcb_intern_atom_reply(cb->xc, ck[i], NULL);
		if (!r)
			goto fail_conn;
		cb->atom[i] = r->atom;
		free(r);
	}
	const xcb_setup_t *setup = xcb_get_setup(cb->xc);
	xcb_screen_t *screen = xcb_setup_roots_iterator(setup).data;
	cb->win = xcb_generate_id(cb->xc);
	uint32_t mask = XCB_EVENT_MASK_PROPERTY_CHANGE;
	xcb_create_window(cb->xc, XCB_COPY_FROM_PARENT, cb->win, screen->root, 0, 0, 1, 1, 0,
		XCB_WINDOW_CLASS_INPUT_ONLY, XCB_COPY_FROM_PARENT, XCB_CW_EVENT_MASK, &mask);
	xcb_xfixes_select_selection_input(cb->xc, cb->win, cb->atom[A_CLIPBOARD],
		XCB_XFIXES_SELECTION_EVENT_MASK_SET_SELECTION_OWNER |
		XCB_XFIXES_SELECTION_EVENT_MASK_SELECTION_WINDOW_DESTROY |
		XCB_XFIXES_SELECTION_EVENT_MASK_SELECTION_CLIENT_CLOSE);
	/* What is on the clipboard now (empty when nobody owns it). */
	xcb_get_selection_owner_reply_t *o = xcb_get_selection_owner_reply(cb->xc,
		xcb_get_selection_owner(cb->xc, cb->atom[A_CLIPBOARD]), NULL);
	if (o && o->owner != XCB_NONE)
		cb__request(cb, XCB_CURRENT_TIME);
	else
		cb__store(cb, "", 0);
	free(o);
	xcb_flush(cb->xc);
	ev_io_init(&cb->io, cb__on_io, xcb_get_file_descriptor(cb->xc), EV_READ);
	cb->io.data = cb;
	ev_io_start(loop, &cb->io);
	log_info("clipboard on X display %s (text up to %zu bytes)", disp, cb->max);
	*out = cb;
	return RD_OK;
fail_conn:
	xcb_disconnect(cb->xc);
	free(cb);
	return rc;
}

void clipboard_free(struct clipboard *cb)
{
	if (!cb)
		return;
	ev_io_stop(cb->loop, &cb->io);
	xcb_disconnect(cb->xc);
	free(cb->text);
	free(cb);
}

int clipboard_set(struct clipboard *cb, const char *text, size_t len)
{
	if (len > cb->max)
		return RD_ERR_TOOBIG;
	cb__store(cb, text, len);
	xcb_set_selection_owner(cb->xc, cb->win, cb->atom[A_CLIPBOARD], XCB_CURRENT_TIME);
	xcb_get_selection_owner_reply_t *o = xcb_get_selection_owner_reply(cb->xc,
		xcb_get_selection_owner(cb->xc, cb->atom[A_CLIPBOARD]), NULL);
	cb->owner = o && o->owner == cb->win;
	free(o);
	cb__dispatch(cb);
	return cb->owner ? RD_OK : RD_ERR_IO;
}

bool clipboard_broken(const struct clipboard *cb)
{
	return xcb_connection_has_error(cb->xc) != 0;
}

const char *clipboard_text(const struct clipboard *cb, size_t *len, bool *known)
{
	*len = cb->len;
	*known = cb->known;
	return cb->text ? cb->text : "";
}

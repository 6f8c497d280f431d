/* input/hub: the agent's input service shared by its sessions (input.h). */
#define RD_LOG_SUBSYS "input"
#include "input.h"

#include <stdlib.h>
#include <string.h>

#include "clipboard.h"
#include "err.h"
#include "log.h"
#include "pb.h"
#include "util.h"

struct input_hub {
	struct ev_loop *loop;
	struct input_hub_config cfg;   /* strings borrowed from the agent's settings */
	struct input *in;          /* NULL: no backend, or view-only */
	struct clipboard *cb;      /* NULL: no clipboard here */
	bool view_only;
	struct input_peer *peers;
};

struct input_peer {
	struct input_hub *hub;
	struct input_peer *next;
	struct input_client *client;
	char peer[64];
	input_send_fn send;
	void *ud;
	bool warned_clip;
};

static int hub__send(struct input_peer *p, Hbb__Message *m)
{
	return rd_pb_send(&m->base, p->send, p->ud);
}

static void hub__send_clipboard(struct input_peer *p, const char *text, size_t len)
{
	Hbb__Clipboard c = HBB__CLIPBOARD__INIT;
	c.content.data = (uint8_t *)text;
	c.content.len = len;
	c.format = HBB__CLIPBOARD_FORMAT__Text;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_CLIPBOARD;
	m.clipboard = &c;
	hub__send(p, &m);
}

static void hub__send_permission(struct input_peer *p, Hbb__PermissionInfo__Permission what, bool on)
{
	Hbb__PermissionInfo pi = HBB__PERMISSION_INFO__INIT;
	pi.permission = what;
	pi.enabled = on;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_PERMISSION_INFO;
	misc.permission_info = &pi;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	hub__send(p, &m);
}

static void hub__on_clip_change(const char *text, size_t len, void *ud)
{
	struct input_hub *h = ud;
	for (struct input_peer *p = h->peers; p; p = p->next)
		hub__send_clipboard(p, text, len);
}

static const struct clipboard_ops hub_clip_ops = { .on_change = hub__on_clip_change };

/* X11 (or testsrc, drawn on an X display) capture: X selections exist. */
static bool hub__on_x11(const struct input_hub_config *cfg)
{
	return cfg->capture && (!strcmp(cfg->capture, "x11") || !strcmp(cfg->capture, "testsrc"));
}

/* Open (or, after the display went away, reopen) the backend and the
 * clipboard. Only while no session uses them. */
static void hub__open(struct input_hub *h)
{
	const struct input_hub_config *cfg = &h->cfg;
	input_close(h->in);
	h->in = NULL;
	clipboard_free(h->cb);
	h->cb = NULL;
	if (cfg->view_only) {
		log_notice("view-only: remote keyboard, mouse and clipboard writes are refused");
	} else {
		struct input_config ic = { .loop = h->loop, .backend = cfg->backend,
			.display = cfg->display, .capture = cfg->capture };
		input_open(&ic, &h->in);
	}
	bool console = cfg->capture && !hub__on_x11(cfg);
	if (console || cfg->view_only || clipboard_new(h->loop, cfg->display, cfg->clipboard_max,
	    &hub_clip_ops, h, &h->cb) != RD_OK) {
		h->cb = NULL;
		if (!cfg->view_only)
			log_notice("no clipboard on this host (%s capture has no X selections)",
				cfg->capture ? cfg->capture : "no");
	}
}

struct input_hub *input_hub_new(struct ev_loop *loop, const struct input_hub_config *cfg)
{
	struct input_hub *h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	h->cfg = *cfg;
	h->view_only = cfg->view_only;
	hub__open(h);
	return h;
}

void input_hub_free(struct input_hub *h)
{
	if (!h)
		return;
	clipboard_free(h->cb);
	input_close(h->in);
	free(h);
}

struct input_peer *input_peer_new(struct input_hub *h, const char *peer, input_send_fn send, void *ud)
{
	/* Nobody uses them: a display that went away (or was not there) may be
	 * back, so try again. */
	bool x11 = hub__on_x11(&h->cfg);
	bool none = h->cfg.backend && !strcmp(h->cfg.backend, "none");
	if (!h->peers && !h->view_only && ((!none && (!h->in || h->in->broken)) ||
	    (x11 && (!h->cb || clipboard_broken(h->cb)))))
		hub__open(h);
	struct input_peer *p = xcalloc(1, sizeof(*p));
	p->hub = h;
	rd_strlcpy(p->peer, peer ? peer : "", sizeof(p->peer));
	p->send = send;
	p->ud = ud;
	p->client = input_client_new(h->in, p->peer);
	p->next = h->peers;
	h->peers = p;
	/* Both permissions, always, clipboard first: a controller that waits for
	 * the keyboard one knows both then. */
	hub__send_permission(p, HBB__PERMISSION_INFO__PERMISSION__Clipboard, h->cb && !h->view_only);
	hub__send_permission(p, HBB__PERMISSION_INFO__PERMISSION__Keyboard, h->in != NULL);
	if (!h->in)
		log_info("%s: told the controller that input is refused (%s)", p->peer,
			h->view_only ? "view-only" : "no input backend");
	if (h->cb) {
		size_t len;
		bool known;
		const char *t = clipboard_text(h->cb, &len, &known);
		if (known)
			hub__send_clipboard(p, t, len);
	}
	return p;
}

void input_peer_free(struct input_peer *p)
{
	if (!p)
		return;
	for (struct input_peer **pp = &p->hub->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	input_client_free(p->client);
	free(p);
}

void input_peer_key(struct input_peer *p, const Hbb__KeyEvent *e)
{
	input_client_key(p->client, e);
}

void input_peer_mouse(struct input_peer *p, const Hbb__MouseEvent *e, int width, int height)
{
	input_client_set_display(p->client, width, height);
	input_client_mouse(p->client, e);
}

void input_peer_clipboard(struct input_peer *p, const Hbb__Clipboard *c)
{
	const char *why = NULL;
	if (p->hub->view_only)
		why = "view-only";
	else if (!p->hub->cb)
		why = "no clipboard on this host";
	else if (c->format != HBB__CLIPBOARD_FORMAT__Text)
		why = "only text is taken";
	else if (c->compress)
		why = "compressed clipboard data is not taken";
	if (!why) {
		int rc = clipboard_set(p->hub->cb, (const char *)c->content.data, c->content.len);
		if (rc == RD_OK) {
			log_info("%s: clipboard set (%zu bytes)", p->peer, c->content.len);
			return;
		}
		why = rc == RD_ERR_TOOBIG ? "over the size limit" : "cannot own the selection";
	}
	if (!p->warned_clip)
		log_warn("%s: clipboard text refused: %s", p->peer, why);
	p->warned_clip = true;
}

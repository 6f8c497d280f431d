/* portal: ScreenCast portal client over sd-bus (see portal.h).
 *
 * Each portal call that asks for something returns a Request object and
 * answers later with its Response signal. The request's path is predictable
 * (/org/freedesktop/portal/desktop/request/SENDER/TOKEN, SENDER being our
 * unique bus name without ':' and with '.' as '_', TOKEN our handle_token),
 * so the signal is subscribed before the call and no answer can be missed;
 * an older portal that returns another path gets a subscription on that one.
 *
 * Nothing waits: the bus is driven by the loop (sdbus_ev.c), each call is
 * sent with a reply callback, and each step starts the next from the
 * callback that ends it: the ScreenCast properties (version, source types,
 * cursor modes), CreateSession, SelectSources, Start, OpenPipeWireRemote.
 * One timer bounds the whole exchange. */
#define RD_LOG_SUBSYS "portal"
#include "portal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "portal_msg.h"
#include "sdbus_ev.h"
#include "util.h"

#define DESKTOP_NAME "org.freedesktop.portal.Desktop"
#define DESKTOP_PATH "/org/freedesktop/portal/desktop"
#define SCREENCAST_IF "org.freedesktop.portal.ScreenCast"
#define REQUEST_IF "org.freedesktop.portal.Request"
#define SESSION_IF "org.freedesktop.portal.Session"

#define SOURCE_MONITOR 1u
#define CURSOR_EMBEDDED 2u
#define PERSIST_UNTIL_REVOKED 2u

/* Where the exchange is; each step's answer starts the next. */
enum portal_step {
	PS_VERSION,
	PS_TYPES,
	PS_CURSORS,
	PS_CREATE,
	PS_SELECT,
	PS_START,
	PS_REMOTE,
	PS_DONE,
};

struct portal {
	sd_bus *bus;
	struct sdbus_ev w;         /* the bus on the loop, while the exchange runs */
	ev_timer deadline;
	double timeout;
	enum portal_step step;
	portal_done_fn done;
	void *ud;
	char why[256];
	char token_file[256];      /* "" = the token lives in memory */
	char restore[PORTAL_TOKEN_MAX]; /* the token offered */
	uint32_t types, cursor_modes;
	char sender[96];           /* unique name as used in request paths */
	unsigned counter;
	/* the pending call and request */
	sd_bus_slot *call_slot;
	sd_bus_slot *req_slot;     /* its Response */
	char req_path[256];
	const char *what;
	bool replied;
	bool answered;
	uint32_t response;
	struct portal_answer ans;
	struct portal_stream st;
	sd_bus_slot *closed_slot;  /* the session's Closed signal */
	bool closed;
	const char *err;           /* what went wrong inside the handler */
};

static void portal__advance(struct portal *p);

bool portal_bus_present(char *why, size_t whylen)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	if (addr && addr[0])
		return true;
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (rt && rt[0]) {
		char path[512];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/bus", rt);
		if (stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
			return true;
	}
	snprintf(why, whylen, "no session bus for the ScreenCast portal "
		"(DBUS_SESSION_BUS_ADDRESS unset, no $XDG_RUNTIME_DIR/bus)");
	return false;
}

static int on_response(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	(void)ret_error;
	struct portal *p = userdata;
	uint32_t code;
	if (p->answered || sd_bus_message_read(m, "u", &code) < 0)
		return 0;
	p->answered = true;
	p->response = code;
	if (code == 0 && portal_answer_read(&p->ans, m) < 0)
		p->err = "malformed Response";
	if (p->replied)
		portal__advance(p);
	return 0;
}

/* ---- the exchange ---- */

/* Tell the caller, once; the watchers stop (the bus stays for portal_poll). */
static void portal__finish(struct portal *p, int rc)
{
	if (p->step == PS_DONE)
		return;
	p->step = PS_DONE;
	sdbus_ev_detach(&p->w);
	ev_timer_stop(p->w.loop, &p->deadline);
	p->call_slot = sd_bus_slot_unref(p->call_slot);
	p->req_slot = sd_bus_slot_unref(p->req_slot);
	p->done(rc, rc == 0 ? &p->st : NULL, p->why, p->ud);
}

static void portal__fail(struct portal *p, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void portal__fail(struct portal *p, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	portal__finish(p, rc);
}

static void portal__on_bus_error(int err, void *ud)
{
	portal__fail(ud, RD_ERR_IO, "session bus: %s", strerror(-err));
}

/* A request the portal has not answered is withdrawn (its dialog goes). */
static void portal__close_request(struct portal *p)
{
	sd_bus_message *m = NULL;
	if (sd_bus_message_new_method_call(p->bus, &m, DESKTOP_NAME, p->req_path, REQUEST_IF,
	    "Close") >= 0 && sd_bus_message_set_expect_reply(m, 0) >= 0)
		sd_bus_send(p->bus, m, NULL);
	sd_bus_message_unref(m);
}

static void portal__on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct portal *p = t->data;
	if (p->step < PS_CREATE) {
		portal__fail(p, RD_ERR_NOTFOUND, "no ScreenCast portal on the session bus: no answer "
			"within %.0f s", p->timeout);
		return;
	}
	if (p->req_slot && !p->answered)
		portal__close_request(p);
	portal__fail(p, RD_ERR_TIMEOUT, "%s: no answer from the portal in time (a dialog waiting "
		"for someone at the screen?)", p->what ? p->what : "OpenPipeWireRemote");
}

/* The error of a method reply, or NULL. */
static const char *reply_error(sd_bus_message *m)
{
	if (!sd_bus_message_is_method_error(m, NULL))
		return NULL;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	return e && e->message ? e->message : e && e->name ? e->name : "error";
}

/* A method call on the ScreenCast interface whose options begin with a fresh
 * handle_token (written to token); the caller appends the rest and closes. */
static int new_call(struct portal *p, const char *method, sd_bus_message **m, char token[32])
{
	snprintf(token, 32, "rdesk%d_%u", (int)getpid(), ++p->counter);
	return sd_bus_message_new_method_call(p->bus, m, DESKTOP_NAME, DESKTOP_PATH,
		SCREENCAST_IF, method);
}

/* The reply to a request: its handle, where the Response will come. */
static int on_request_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	(void)ret_error;
	struct portal *p = userdata;
	const char *e = reply_error(m), *handle;
	p->call_slot = sd_bus_slot_unref(p->call_slot);
	if (e) {
		portal__fail(p, RD_ERR_IO, "%s: %s", p->what, e);
		return 0;
	}
	if (sd_bus_message_read(m, "o", &handle) < 0) {
		portal__fail(p, RD_ERR_PROTO, "%s: reply without a request handle", p->what);
		return 0;
	}
	p->replied = true;
	if (strcmp(handle, p->req_path) != 0 && !p->answered) {
		log_debug("%s: request at %s, not the predicted path", p->what, rd_esc(handle));
		rd_strlcpy(p->req_path, handle, sizeof(p->req_path));
		p->req_slot = sd_bus_slot_unref(p->req_slot);
		int r = sd_bus_match_signal_async(p->bus, &p->req_slot, NULL, p->req_path, REQUEST_IF,
			"Response", on_response, NULL, p);
		if (r < 0)
			portal__fail(p, RD_ERR_IO, "%s: cannot subscribe to the Response: %s", p->what,
				strerror(-r));
		return 0;
	}
	if (p->answered)
		portal__advance(p);
	return 0;
}

/* Subscribe to the predicted Response, then send m; consumes m. The answer
 * goes on in on_request_reply, on_response and portal__advance. */
static void portal__request(struct portal *p, sd_bus_message *m, int r, const char *token,
	const char *what)
{
	p->what = what;
	p->replied = p->answered = false;
	p->err = NULL;
	snprintf(p->req_path, sizeof(p->req_path), DESKTOP_PATH "/request/%s/%s", p->sender, token);
	p->req_slot = sd_bus_slot_unref(p->req_slot);
	if (r < 0) {
		portal__fail(p, RD_ERR_NOMEM, "%s: cannot build the call: %s", what, strerror(-r));
	} else if ((r = sd_bus_match_signal_async(p->bus, &p->req_slot, NULL, p->req_path,
		REQUEST_IF, "Response", on_response, NULL, p)) < 0) {
		portal__fail(p, RD_ERR_IO, "%s: cannot subscribe to the Response: %s", what,
			strerror(-r));
	} else if ((r = sd_bus_call_async(p->bus, &p->call_slot, m, on_request_reply, p, 0)) < 0) {
		portal__fail(p, RD_ERR_IO, "%s: %s", what, strerror(-r));
	}
	sd_bus_message_unref(m);
}

static int on_closed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	(void)m;
	(void)ret_error;
	struct portal *p = userdata;
	if (!p->closed)
		log_warn("the portal closed the screen cast session");
	p->closed = true;
	return 0;
}

bool portal_poll(struct portal *p)
{
	int r = 0;
	while (!p->closed && (r = sd_bus_process(p->bus, NULL)) > 0)
		;
	if (!p->closed && r < 0) {
		log_warn("session bus: %s; the screen cast session is gone", strerror(-r));
		p->closed = true;
	}
	return !p->closed;
}

/* ---- the steps ---- */

static void create_session(struct portal *p)
{
	sd_bus_message *m = NULL;
	char token[32], stoken[32];
	int r = new_call(p, "CreateSession", &m, token);
	snprintf(stoken, sizeof(stoken), "rdesk_s%d_%u", (int)getpid(), p->counter);
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 2, "handle_token", "s", token,
			"session_handle_token", "s", stoken);
	p->step = PS_CREATE;
	portal__request(p, m, r, token, "CreateSession");
}

static void select_sources(struct portal *p)
{
	sd_bus_message *m = NULL;
	char token[32];
	int r = new_call(p, "SelectSources", &m, token);
	if (r >= 0)
		r = sd_bus_message_append(m, "o", p->ans.session);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}{sv}", "handle_token", "s", token,
			"types", "u", SOURCE_MONITOR, "multiple", "b", 0);
	if (r >= 0 && (p->cursor_modes & CURSOR_EMBEDDED)) {
		r = sd_bus_message_append(m, "{sv}", "cursor_mode", "u", CURSOR_EMBEDDED);
		p->st.cursor_embedded = true;
	}
	if (r >= 0 && p->st.version >= 4)
		r = sd_bus_message_append(m, "{sv}", "persist_mode", "u", PERSIST_UNTIL_REVOKED);
	if (r >= 0 && p->st.version >= 4 && p->restore[0])
		r = sd_bus_message_append(m, "{sv}", "restore_token", "s", p->restore);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	p->step = PS_SELECT;
	portal__request(p, m, r, token, "SelectSources");
}

static void start_cast(struct portal *p)
{
	sd_bus_message *m = NULL;
	char token[32];
	int r = new_call(p, "Start", &m, token);
	if (r >= 0)
		r = sd_bus_message_append(m, "osa{sv}", p->ans.session, "", 1, "handle_token", "s", token);
	p->step = PS_START;
	portal__request(p, m, r, token, "Start");
}

static int on_remote(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	(void)ret_error;
	struct portal *p = userdata;
	const char *e = reply_error(m);
	int fd = -1;
	p->call_slot = sd_bus_slot_unref(p->call_slot);
	if (e || sd_bus_message_read(m, "h", &fd) < 0) {
		portal__fail(p, RD_ERR_IO, "OpenPipeWireRemote: %s", e ? e : "no descriptor in the reply");
		return 0;
	}
	/* The descriptor belongs to the message: keep a copy of our own. */
	p->st.pw_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (p->st.pw_fd < 0) {
		portal__fail(p, RD_ERR_IO, "OpenPipeWireRemote: %s", strerror(errno));
		return 0;
	}
	if (p->ans.restore_token[0])
		portal_token_store(p->token_file[0] ? p->token_file : NULL, p->ans.restore_token);
	p->st.node_id = p->ans.node_id;
	p->st.width = p->ans.width;
	p->st.height = p->ans.height;
	log_info("screen cast started: node %u, %dx%d, %d stream(s)%s", p->st.node_id, p->st.width,
		p->st.height, p->ans.n_streams, p->ans.restore_token[0] ? ", restore token kept" : "");
	portal__finish(p, 0);
	return 0;
}

static void open_remote(struct portal *p)
{
	sd_bus_message *m = NULL;
	int r = sd_bus_message_new_method_call(p->bus, &m, DESKTOP_NAME, DESKTOP_PATH, SCREENCAST_IF,
		"OpenPipeWireRemote");
	if (r >= 0)
		r = sd_bus_message_append(m, "oa{sv}", p->ans.session, 0);
	p->step = PS_REMOTE;
	p->what = NULL;
	if (r >= 0)
		r = sd_bus_call_async(p->bus, &p->call_slot, m, on_remote, p, 0);
	sd_bus_message_unref(m);
	if (r < 0)
		portal__fail(p, RD_ERR_IO, "OpenPipeWireRemote: %s", strerror(-r));
}

/* A request was answered: check the answer, then the next step. */
static void portal__advance(struct portal *p)
{
	if (p->response != 0) {
		portal__fail(p, RD_ERR_REFUSED, "%s: %s", p->what, p->response == 1 ?
			"cancelled at the screen" : "refused by the portal");
		return;
	}
	if (p->err) {
		portal__fail(p, RD_ERR_PROTO, "%s: %s", p->what, p->err);
		return;
	}
	p->req_slot = sd_bus_slot_unref(p->req_slot);
	switch (p->step) {
	case PS_CREATE:
		if (!p->ans.session[0]) {
			portal__fail(p, RD_ERR_PROTO, "CreateSession: no session handle in the answer");
			return;
		}
		if (sd_bus_match_signal_async(p->bus, &p->closed_slot, NULL, p->ans.session, SESSION_IF,
		    "Closed", on_closed, NULL, p) < 0)
			log_warn("cannot watch the session for its end");
		select_sources(p);
		break;
	case PS_SELECT:
		start_cast(p);
		break;
	case PS_START:
		if (p->ans.n_streams == 0)
			portal__fail(p, RD_ERR_PROTO, "Start: the portal granted no stream");
		else
			open_remote(p);
		break;
	default:
		break;
	}
}

/* ---- is the portal there, and what does it offer? ---- */

static void get_property(struct portal *p, const char *name);

/* Our unique name as request paths spell it: ":1.42" -> "1_42". The bus
 * answered already, so it is known without a wait. */
static int portal__sender(struct portal *p)
{
	const char *unique;
	int r = sd_bus_get_unique_name(p->bus, &unique);
	if (r < 0)
		return r;
	rd_strlcpy(p->sender, unique[0] == ':' ? unique + 1 : unique, sizeof(p->sender));
	for (char *c = p->sender; *c; c++)
		if (*c == '.')
			*c = '_';
	return 0;
}

/* The properties are all in: offer a token and create the session. */
static void portal__probed(struct portal *p, uint32_t types)
{
	if (!(types & SOURCE_MONITOR)) {
		portal__fail(p, RD_ERR_NOTFOUND, "the ScreenCast portal offers no monitor (source "
			"types %u)", types);
		return;
	}
	int r = portal__sender(p);
	if (r < 0) {
		portal__fail(p, RD_ERR_IO, "session bus: %s", strerror(-r));
		return;
	}
	portal_token_load(p->token_file[0] ? p->token_file : NULL, p->restore);
	p->st.restored = p->restore[0] && p->st.version >= 4;
	log_info("ScreenCast portal version %d, cursor modes %u%s", p->st.version, p->cursor_modes,
		p->st.restored ? ", offering a restore token" : "");
	create_session(p);
}

static int on_property(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	(void)ret_error;
	struct portal *p = userdata;
	const char *e = reply_error(m);
	uint32_t v = 0;
	p->call_slot = sd_bus_slot_unref(p->call_slot);
	if (!e && sd_bus_message_read(m, "v", "u", &v) < 0)
		e = "not an unsigned integer";
	if (e && p->step != PS_CURSORS) {	/* the cursor modes are optional */
		portal__fail(p, RD_ERR_NOTFOUND, "no ScreenCast portal on the session bus: %s", e);
		return 0;
	}
	switch (p->step) {
	case PS_VERSION:
		p->st.version = (int)v;
		p->step = PS_TYPES;
		get_property(p, "AvailableSourceTypes");
		break;
	case PS_TYPES:
		p->types = v;
		p->step = PS_CURSORS;
		get_property(p, "AvailableCursorModes");
		break;
	case PS_CURSORS:
		p->cursor_modes = e ? 0 : v;
		portal__probed(p, p->types);
		break;
	default:
		break;
	}
	return 0;
}

static void get_property(struct portal *p, const char *name)
{
	int r = sd_bus_call_method_async(p->bus, &p->call_slot, DESKTOP_NAME, DESKTOP_PATH,
		"org.freedesktop.DBus.Properties", "Get", on_property, p, "ss", SCREENCAST_IF, name);
	if (r < 0)
		portal__fail(p, RD_ERR_IO, "session bus: %s", strerror(-r));
}

/* ---- open and close ---- */

int portal_open_start(struct ev_loop *loop, const char *token_file, double timeout,
	portal_done_fn done, void *ud, struct portal **out, char *why, size_t whylen)
{
	*out = NULL;
	if (!portal_bus_present(why, whylen))
		return RD_ERR_NOTFOUND;
	struct portal *p = xcalloc(1, sizeof(*p));
	p->st.pw_fd = -1;
	p->done = done;
	p->ud = ud;
	if (token_file)
		rd_strlcpy(p->token_file, token_file, sizeof(p->token_file));
	int r = sd_bus_open_user(&p->bus);
	if (r < 0) {
		snprintf(why, whylen, "cannot connect to the session bus: %s", strerror(-r));
		free(p);
		return RD_ERR_NOTFOUND;
	}
	/* Our own timer ends the exchange; sd-bus's call timeout only backs it. */
	sd_bus_set_method_call_timeout(p->bus, (uint64_t)((timeout + 5.0) * 1e6));
	r = sdbus_ev_attach(&p->w, loop, p->bus, portal__on_bus_error, p);
	if (r < 0) {
		snprintf(why, whylen, "session bus: %s", strerror(-r));
		sd_bus_flush_close_unref(p->bus);
		free(p);
		return RD_ERR_IO;
	}
	p->timeout = timeout;
	ev_timer_init(&p->deadline, portal__on_deadline, timeout, 0.0);
	p->deadline.data = p;
	ev_timer_start(loop, &p->deadline);
	p->step = PS_VERSION;
	get_property(p, "version");
	*out = p;
	return 0;
}

void portal_close(struct portal *p)
{
	if (!p)
		return;
	if (p->step != PS_DONE) {	/* still asking */
		sdbus_ev_detach(&p->w);
		ev_timer_stop(p->w.loop, &p->deadline);
	}
	sd_bus_slot_unref(p->call_slot);
	sd_bus_slot_unref(p->req_slot);
	sd_bus_slot_unref(p->closed_slot);
	if (p->bus && p->ans.session[0] && !p->closed) {
		sd_bus_message *m = NULL;
		if (sd_bus_message_new_method_call(p->bus, &m, DESKTOP_NAME, p->ans.session, SESSION_IF,
			"Close") >= 0 && sd_bus_message_set_expect_reply(m, 0) >= 0)
			sd_bus_send(p->bus, m, NULL);
		sd_bus_message_unref(m);
		sd_bus_flush(p->bus);
	}
	sd_bus_flush_close_unref(p->bus);
	free(p);
}

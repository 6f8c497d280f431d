/* portal: ScreenCast portal client over sd-bus (see portal.h).
 *
 * Each portal call that asks for something returns a Request object and
 * answers later with its Response signal. The request's path is predictable
 * (/org/freedesktop/portal/desktop/request/SENDER/TOKEN, SENDER being our
 * unique bus name without ':' and with '.' as '_', TOKEN our handle_token),
 * so the signal is subscribed before the call and no answer can be missed;
 * an older portal that returns another path gets a subscription on that one.
 * Every call and every wait for a Response is bounded by the deadline. */
#define RD_LOG_SUBSYS "portal"
#include "portal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "util.h"

#define DESKTOP_NAME "org.freedesktop.portal.Desktop"
#define DESKTOP_PATH "/org/freedesktop/portal/desktop"
#define SCREENCAST_IF "org.freedesktop.portal.ScreenCast"
#define REQUEST_IF "org.freedesktop.portal.Request"
#define SESSION_IF "org.freedesktop.portal.Session"

#define SOURCE_MONITOR 1u
#define CURSOR_EMBEDDED 2u
#define PERSIST_UNTIL_REVOKED 2u
#define TOKEN_MAX 512

struct portal {
	sd_bus *bus;
	char sender[96];           /* unique name as used in request paths */
	char session[256];         /* session object path, "" until created */
	unsigned counter;
	/* the Response of the pending request */
	bool answered;
	uint32_t response;
	char restore_token[TOKEN_MAX];
	int n_streams;
	struct portal_stream st;
	sd_bus_slot *closed_slot;  /* the session's Closed signal */
	bool closed;
	const char *err;           /* what went wrong inside the handler */
};

/* The token of the last session when no file keeps it (loop thread only). */
static char mem_token[TOKEN_MAX];

static uint64_t usec_left(double deadline)
{
	double left = deadline - rd_now();
	return left > 0 ? (uint64_t)(left * 1e6) + 1 : 1;
}

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

/* ---- Response parsing ---- */

/* Walk an a{sv} dictionary whose container is already entered: on() reads
 * the value of each key it knows and returns 1 for a key it does not. */
static int read_vardict(sd_bus_message *m, int (*on)(sd_bus_message *m, const char *key, void *ctx),
	void *ctx)
{
	int r;
	const char *key;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &key)) < 0)
			return r;
		if ((r = on(m, key, ctx)) == 1)
			r = sd_bus_message_skip(m, "v");
		if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	return r;
}

static int on_stream_prop(sd_bus_message *m, const char *key, void *ctx)
{
	int *wh = ctx;
	if (strcmp(key, "size") == 0)
		return sd_bus_message_read(m, "v", "(ii)", &wh[0], &wh[1]);
	return 1;
}

static int read_stream_props(struct portal *p, sd_bus_message *m, uint32_t node)
{
	int wh[2] = { 0, 0 };
	int r = read_vardict(m, on_stream_prop, wh);
	if (r < 0)
		return r;
	if (p->n_streams++ == 0) {
		p->st.node_id = node;
		p->st.width = wh[0] > 0 && wh[0] <= 65535 ? wh[0] : 0;
		p->st.height = wh[1] > 0 && wh[1] <= 65535 ? wh[1] : 0;
	}
	return 0;
}

static int read_streams(struct portal *p, sd_bus_message *m)
{
	int r = sd_bus_message_enter_container(m, 'v', "a(ua{sv})");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	if ((r = sd_bus_message_enter_container(m, 'a', "(ua{sv})")) <= 0)
		return r < 0 ? r : -EBADMSG;
	while ((r = sd_bus_message_enter_container(m, 'r', "ua{sv}")) > 0) {
		uint32_t node;
		if ((r = sd_bus_message_read(m, "u", &node)) < 0 ||
		    (r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0 ||
		    (r = read_stream_props(p, m, node)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* A string (or object path) in a variant, copied into out. */
static int read_string_variant(sd_bus_message *m, char *out, size_t len)
{
	char type;
	const char *contents, *s;
	int r = sd_bus_message_peek_type(m, &type, &contents);
	if (r < 0)
		return r;
	if (type != 'v' || !contents || (strcmp(contents, "s") != 0 && strcmp(contents, "o") != 0))
		return -EBADMSG;
	if ((r = sd_bus_message_read(m, "v", contents, &s)) < 0)
		return r;
	if (strlen(s) >= len)
		return -E2BIG;
	rd_strlcpy(out, s, len);
	return 0;
}

static int on_result(sd_bus_message *m, const char *key, void *ctx)
{
	struct portal *p = ctx;
	if (strcmp(key, "session_handle") == 0)
		return read_string_variant(m, p->session, sizeof(p->session));
	if (strcmp(key, "restore_token") == 0)
		return read_string_variant(m, p->restore_token, sizeof(p->restore_token));
	if (strcmp(key, "streams") == 0)
		return read_streams(p, m);
	return 1;
}

static int read_results(struct portal *p, sd_bus_message *m)
{
	int r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	if ((r = read_vardict(m, on_result, p)) < 0)
		return r;
	return sd_bus_message_exit_container(m);
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
	if (code == 0 && read_results(p, m) < 0)
		p->err = "malformed Response";
	return 0;
}

/* ---- requests ---- */

/* A method call on the ScreenCast interface whose options begin with a fresh
 * handle_token (written to token); the caller appends the rest and closes. */
static int new_call(struct portal *p, const char *method, sd_bus_message **m, char token[32])
{
	snprintf(token, 32, "rdesk%d_%u", (int)getpid(), ++p->counter);
	return sd_bus_message_new_method_call(p->bus, m, DESKTOP_NAME, DESKTOP_PATH,
		SCREENCAST_IF, method);
}

static void close_request(struct portal *p, const char *path)
{
	sd_bus_message *m = NULL;
	if (sd_bus_message_new_method_call(p->bus, &m, DESKTOP_NAME, path, REQUEST_IF, "Close") >= 0 &&
	    sd_bus_message_set_expect_reply(m, 0) >= 0)
		sd_bus_send(p->bus, m, NULL);
	sd_bus_message_unref(m);
	sd_bus_flush(p->bus);
}

/* Wait, bounded, for the answer of the request at path. */
static int wait_response(struct portal *p, const char *path, const char *what, double deadline,
	char *why, size_t whylen)
{
	while (!p->answered) {
		int r = sd_bus_process(p->bus, NULL);
		if (r > 0)
			continue;
		if (r == 0) {
			if (rd_now() >= deadline)
				break;
			r = sd_bus_wait(p->bus, usec_left(deadline));
		}
		if (r < 0 && r != -EINTR) {
			snprintf(why, whylen, "%s: session bus: %s", what, strerror(-r));
			return RD_ERR_IO;
		}
	}
	if (!p->answered) {
		close_request(p, path);
		snprintf(why, whylen, "%s: no answer from the portal in time (a dialog waiting "
			"for someone at the screen?)", what);
		return RD_ERR_TIMEOUT;
	}
	if (p->response != 0) {
		snprintf(why, whylen, "%s: %s", what, p->response == 1 ?
			"cancelled at the screen" : "refused by the portal");
		return RD_ERR_REFUSED;
	}
	if (p->err) {
		snprintf(why, whylen, "%s: %s", what, p->err);
		return RD_ERR_PROTO;
	}
	return 0;
}

/* Subscribe to the predicted Response, send m, wait for the answer. */
static int run_request(struct portal *p, sd_bus_message *m, const char *token, const char *what,
	double deadline, char *why, size_t whylen)
{
	char path[256];
	snprintf(path, sizeof(path), DESKTOP_PATH "/request/%s/%s", p->sender, token);
	sd_bus_slot *slot = NULL;
	sd_bus_message *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	p->answered = false;
	p->err = NULL;
	int rc = RD_ERR_IO;
	int r = sd_bus_match_signal(p->bus, &slot, NULL, path, REQUEST_IF, "Response", on_response, p);
	if (r < 0) {
		snprintf(why, whylen, "%s: cannot subscribe to the Response: %s", what, strerror(-r));
		goto out;
	}
	r = sd_bus_call(p->bus, m, usec_left(deadline), &err, &reply);
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", what, err.message ? err.message : strerror(-r));
		rc = r == -ETIMEDOUT ? RD_ERR_TIMEOUT : RD_ERR_IO;
		goto out;
	}
	const char *handle;
	if (sd_bus_message_read(reply, "o", &handle) < 0) {
		snprintf(why, whylen, "%s: reply without a request handle", what);
		rc = RD_ERR_PROTO;
		goto out;
	}
	if (strcmp(handle, path) != 0 && !p->answered) {
		log_debug("%s: request at %s, not the predicted path", what, rd_esc(handle));
		rd_strlcpy(path, handle, sizeof(path));
		slot = sd_bus_slot_unref(slot);
		r = sd_bus_match_signal(p->bus, &slot, NULL, path, REQUEST_IF, "Response",
			on_response, p);
		if (r < 0) {
			snprintf(why, whylen, "%s: cannot subscribe to the Response: %s", what,
				strerror(-r));
			goto out;
		}
	}
	rc = wait_response(p, path, what, deadline, why, whylen);
out:
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	sd_bus_slot_unref(slot);
	return rc;
}

/* Bounded by the bus's method call timeout (the deadline, set in open_bus). */
static int get_u32_property(struct portal *p, const char *name, uint32_t *out, sd_bus_error *err)
{
	sd_bus_message *reply = NULL;
	int r = sd_bus_call_method(p->bus, DESKTOP_NAME, DESKTOP_PATH,
		"org.freedesktop.DBus.Properties", "Get", err, &reply, "ss", SCREENCAST_IF, name);
	if (r >= 0)
		r = sd_bus_message_read(reply, "v", "u", out);
	sd_bus_message_unref(reply);
	return r;
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

/* ---- the restore token ---- */

static bool token_ok(const char *t)
{
	if (!t[0])
		return false;
	for (; *t; t++)
		if (*t <= ' ' || *t > '~')
			return false;
	return true;
}

static void token_load(const char *file, char out[TOKEN_MAX])
{
	out[0] = 0;
	if (!file) {
		rd_strlcpy(out, mem_token, TOKEN_MAX);
		return;
	}
	char *buf = NULL;
	size_t len;
	if (rd_read_file(file, TOKEN_MAX - 1, &buf, &len) != RD_OK)
		return;
	buf[strcspn(buf, "\r\n")] = 0;
	if (token_ok(buf))
		rd_strlcpy(out, buf, TOKEN_MAX);
	else
		log_warn("ignoring a malformed restore token in %s", file);
	free(buf);
}

static void token_store(const char *file, const char *token)
{
	if (!token_ok(token))
		return;
	rd_strlcpy(mem_token, token, sizeof(mem_token));
	if (!file)
		return;
	char buf[TOKEN_MAX + 1];
	int n = snprintf(buf, sizeof(buf), "%s\n", token);
	int rc = rd_write_file_atomic(file, buf, (size_t)n, 0600);
	if (rc != RD_OK)
		log_warn("cannot keep the restore token in %s: %s", file,
			rc == RD_ERR_IO ? strerror(errno) : rd_strerror(rc));
}

/* ---- the session ---- */

static int open_bus(struct portal *p, double deadline, char *why, size_t whylen)
{
	int r = sd_bus_open_user(&p->bus);
	if (r < 0) {
		snprintf(why, whylen, "cannot connect to the session bus: %s", strerror(-r));
		return RD_ERR_NOTFOUND;
	}
	sd_bus_set_method_call_timeout(p->bus, usec_left(deadline));
	const char *unique;
	if ((r = sd_bus_get_unique_name(p->bus, &unique)) < 0) {
		snprintf(why, whylen, "session bus: %s", strerror(-r));
		return RD_ERR_IO;
	}
	/* ":1.42" -> "1_42" */
	rd_strlcpy(p->sender, unique[0] == ':' ? unique + 1 : unique, sizeof(p->sender));
	for (char *c = p->sender; *c; c++)
		if (*c == '.')
			*c = '_';
	return 0;
}

static int create_session(struct portal *p, double deadline, char *why, size_t whylen)
{
	sd_bus_message *m = NULL;
	char token[32], stoken[32];
	int r = new_call(p, "CreateSession", &m, token);
	snprintf(stoken, sizeof(stoken), "rdesk_s%d_%u", (int)getpid(), p->counter);
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 2, "handle_token", "s", token,
			"session_handle_token", "s", stoken);
	int rc = r < 0 ? RD_ERR_NOMEM : run_request(p, m, token, "CreateSession", deadline, why, whylen);
	sd_bus_message_unref(m);
	if (rc == 0 && !p->session[0]) {
		snprintf(why, whylen, "CreateSession: no session handle in the answer");
		rc = RD_ERR_PROTO;
	}
	return rc;
}

static int select_sources(struct portal *p, uint32_t cursor_modes, const char *restore,
	double deadline, char *why, size_t whylen)
{
	sd_bus_message *m = NULL;
	char token[32];
	int r = new_call(p, "SelectSources", &m, token);
	if (r >= 0)
		r = sd_bus_message_append(m, "o", p->session);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}{sv}", "handle_token", "s", token,
			"types", "u", SOURCE_MONITOR, "multiple", "b", 0);
	if (r >= 0 && (cursor_modes & CURSOR_EMBEDDED)) {
		r = sd_bus_message_append(m, "{sv}", "cursor_mode", "u", CURSOR_EMBEDDED);
		p->st.cursor_embedded = true;
	}
	if (r >= 0 && p->st.version >= 4)
		r = sd_bus_message_append(m, "{sv}", "persist_mode", "u", PERSIST_UNTIL_REVOKED);
	if (r >= 0 && p->st.version >= 4 && restore[0])
		r = sd_bus_message_append(m, "{sv}", "restore_token", "s", restore);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	int rc = r < 0 ? RD_ERR_NOMEM : run_request(p, m, token, "SelectSources", deadline, why, whylen);
	sd_bus_message_unref(m);
	return rc;
}

static int start_cast(struct portal *p, double deadline, char *why, size_t whylen)
{
	sd_bus_message *m = NULL;
	char token[32];
	int r = new_call(p, "Start", &m, token);
	if (r >= 0)
		r = sd_bus_message_append(m, "osa{sv}", p->session, "", 1, "handle_token", "s", token);
	int rc = r < 0 ? RD_ERR_NOMEM : run_request(p, m, token, "Start", deadline, why, whylen);
	sd_bus_message_unref(m);
	if (rc == 0 && p->n_streams == 0) {
		snprintf(why, whylen, "Start: the portal granted no stream");
		rc = RD_ERR_PROTO;
	}
	return rc;
}

static int open_remote(struct portal *p, double deadline, char *why, size_t whylen)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int fd = -1, rc = RD_ERR_IO;
	int r = sd_bus_message_new_method_call(p->bus, &m, DESKTOP_NAME, DESKTOP_PATH, SCREENCAST_IF,
		"OpenPipeWireRemote");
	if (r >= 0)
		r = sd_bus_message_append(m, "oa{sv}", p->session, 0);
	if (r >= 0)
		r = sd_bus_call(p->bus, m, usec_left(deadline), &err, &reply);
	if (r >= 0)
		r = sd_bus_message_read(reply, "h", &fd);
	if (r < 0) {
		snprintf(why, whylen, "OpenPipeWireRemote: %s", err.message ? err.message : strerror(-r));
		goto out;
	}
	/* The descriptor belongs to the message: keep a copy of our own. */
	p->st.pw_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (p->st.pw_fd < 0) {
		snprintf(why, whylen, "OpenPipeWireRemote: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return rc;
}

/* Is the portal there, and what does it offer? */
static int probe_portal(struct portal *p, uint32_t *cursor_modes, char *why, size_t whylen)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	uint32_t version = 0, types = 0;
	int r = get_u32_property(p, "version", &version, &err);
	if (r >= 0)
		r = get_u32_property(p, "AvailableSourceTypes", &types, &err);
	if (r >= 0 && get_u32_property(p, "AvailableCursorModes", cursor_modes, &err) < 0)
		*cursor_modes = 0;
	if (r < 0) {
		snprintf(why, whylen, "no ScreenCast portal on the session bus: %s",
			err.message ? err.message : strerror(-r));
		sd_bus_error_free(&err);
		return RD_ERR_NOTFOUND;
	}
	sd_bus_error_free(&err);
	if (!(types & SOURCE_MONITOR)) {
		snprintf(why, whylen, "the ScreenCast portal offers no monitor (source types %u)", types);
		return RD_ERR_NOTFOUND;
	}
	p->st.version = (int)version;
	return 0;
}

int portal_open(const char *token_file, double deadline, struct portal **out,
	struct portal_stream *st, char *why, size_t whylen)
{
	struct portal *p = xcalloc(1, sizeof(*p));
	p->st.pw_fd = -1;
	*out = NULL;
	uint32_t cursor_modes = 0;
	char restore[TOKEN_MAX];
	int rc = portal_bus_present(why, whylen) ? open_bus(p, deadline, why, whylen) :
		RD_ERR_NOTFOUND;
	if (rc == 0)
		rc = probe_portal(p, &cursor_modes, why, whylen);
	if (rc < 0)
		goto fail;
	token_load(token_file, restore);
	p->st.restored = restore[0] && p->st.version >= 4;
	log_info("ScreenCast portal version %d, cursor modes %u%s", p->st.version, cursor_modes,
		p->st.restored ? ", offering a restore token" : "");
	rc = create_session(p, deadline, why, whylen);
	if (rc == 0 && sd_bus_match_signal(p->bus, &p->closed_slot, NULL, p->session, SESSION_IF,
		"Closed", on_closed, p) < 0)
		log_warn("cannot watch the session for its end");
	if (rc == 0)
		rc = select_sources(p, cursor_modes, restore, deadline, why, whylen);
	if (rc == 0)
		rc = start_cast(p, deadline, why, whylen);
	if (rc == 0)
		rc = open_remote(p, deadline, why, whylen);
	if (rc < 0)
		goto fail;
	if (p->restore_token[0])
		token_store(token_file, p->restore_token);
	log_info("screen cast started: node %u, %dx%d, %d stream(s)%s", p->st.node_id, p->st.width,
		p->st.height, p->n_streams, p->restore_token[0] ? ", restore token kept" : "");
	*st = p->st;
	*out = p;
	return 0;
fail:
	portal_close(p);
	return rc;
}

void portal_close(struct portal *p)
{
	if (!p)
		return;
	sd_bus_slot_unref(p->closed_slot);
	if (p->bus && p->session[0] && !p->closed) {
		sd_bus_message *m = NULL;
		if (sd_bus_message_new_method_call(p->bus, &m, DESKTOP_NAME, p->session, SESSION_IF,
			"Close") >= 0 && sd_bus_message_set_expect_reply(m, 0) >= 0)
			sd_bus_send(p->bus, m, NULL);
		sd_bus_message_unref(m);
		sd_bus_flush(p->bus);
	}
	sd_bus_flush_close_unref(p->bus);
	free(p);
}

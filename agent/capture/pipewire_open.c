/* pipewire_open: the pipewire backend's open (see pipewire.c), on the
 * agent's loop. Each step waits for what the daemon (or the portal) sends:
 * the portal's answer, the registry (the node), our stream's node and ports,
 * the link, the format. open_advance goes as far as what has arrived allows,
 * after every iteration of PipeWire's loop; one timer bounds the whole. */
#define RD_LOG_SUBSYS "pipewire"
#include "pwcap.h"

#include <errno.h>
#include <spa/utils/result.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "portal.h"
#include "privsep.h"
#include "pw_buffer.h"
#include "util.h"

static int connect_stream(struct pwcap *p)
{
	bool autoconnect = p->portal != NULL;
	struct pw_properties *props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Video",
		PW_KEY_MEDIA_CATEGORY, "Capture", PW_KEY_MEDIA_ROLE, "Screen",
		PW_KEY_NODE_NAME, "rdesk-capture",
		PW_KEY_NODE_AUTOCONNECT, autoconnect ? "true" : "false", NULL);
	if (autoconnect)
		pw_properties_setf(props, PW_KEY_TARGET_OBJECT, "%u", p->target_id);
	p->stream = pw_stream_new(p->core, "rdesk capture", props);
	if (!p->stream)
		return RD_ERR_NOMEM;
	pw_stream_add_listener(p->stream, &p->stream_listener, &pwcap_stream_events, p);
	uint8_t buf[2048];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[2];
	params[0] = pw_buffer_enum_format(&b, false);
	params[1] = pw_buffer_enum_format(&b, true);
	int rc = pw_stream_connect(p->stream, PW_DIRECTION_INPUT,
		autoconnect ? p->target_id : PW_ID_ANY,
		PW_STREAM_FLAG_MAP_BUFFERS | (autoconnect ? PW_STREAM_FLAG_AUTOCONNECT : 0), params, 2);
	return rc < 0 ? RD_ERR_IO : 0;
}

/* Link the node's output to our stream's input (its ports are registered)
 * with the link factory. */
static int link_node(struct pwcap *p)
{
	struct pw_properties *lp = pw_properties_new(NULL, NULL);
	pw_properties_setf(lp, PW_KEY_LINK_OUTPUT_NODE, "%u", p->target_id);
	pw_properties_setf(lp, PW_KEY_LINK_INPUT_NODE, "%u", pw_stream_get_node_id(p->stream));
	pw_properties_set(lp, PW_KEY_OBJECT_LINGER, "false");
	p->link = pw_core_create_object(p->core, "link-factory", PW_TYPE_INTERFACE_Link,
		PW_VERSION_LINK, &lp->dict, 0);
	pw_properties_free(lp);
	if (!p->link)
		return RD_ERR_IO;
	p->linked = true;
	return 0;
}

/* Which node: out gets the node, or "portal" / "portal:FILE". */
static int parse_target(const struct capture_config *cfg, char *out, size_t len)
{
	const char *t = cfg->display ? cfg->display : "";
	bool any = cfg->probing && !t[0];
	if (strncmp(t, "pipewire:", 9) == 0)
		t += 9;
	else if (cfg->probing && strncmp(t, "portal", 6) != 0)
		t = "";
	char why[160];
	if (any && !portal_bus_present(why, sizeof(why))) {
		rd_skip_reason("no node configured (display = pipewire:NODE) and %s", why);
		return RD_ERR_NOTFOUND;
	}
	if (any)
		t = "portal";
	if (!t[0]) {
		rd_skip_reason("no node configured (display = pipewire:NODE or portal)");
		return RD_ERR_NOTFOUND;
	}
	rd_strlcpy(out, t, len);
	return 0;
}

static bool is_portal(const char *t)
{
	return strcmp(t, "portal") == 0 || strncmp(t, "portal:", 7) == 0;
}

static void pw_global_init(void)
{
	static bool done;
	if (!done) {
		pw_init(NULL, NULL);
		done = true;
	}
}

/* ---- the open, on the agent's loop ---- */

/* The open ended: its watchers stop and the caller hears rc. */
static void open_end(struct pwcap *p, int rc)
{
	if (p->step == PWO_DONE)
		return;
	p->step = PWO_DONE;
	ev_io_stop(p->evloop, &p->open_io);
	ev_timer_stop(p->evloop, &p->open_timer);
	p->evloop = NULL;
	p->open_done(p->open_ud, rc);
}

/* Go as far as what has arrived allows; 0 while waiting, else an rd_err. */
static int open_advance(struct pwcap *p)
{
	for (;;) {
		if (p->failed) {
			rd_skip_reason("node %s: the stream failed", rd_esc(p->target));
			return RD_ERR_IO;
		}
		int rc = 0;
		switch (p->step) {
		case PWO_REGISTRY:
			if (!p->synced)
				return 0;
			if (p->target_id == SPA_ID_INVALID) {
				rd_skip_reason("no PipeWire node %s", rd_esc(p->target));
				return RD_ERR_NOTFOUND;
			}
			rc = connect_stream(p);
			p->linked = p->portal != NULL;	/* the session manager links it */
			p->step = p->portal ? PWO_FORMAT : PWO_NODE;
			break;
		case PWO_NODE:
			if (pw_stream_get_node_id(p->stream) == SPA_ID_INVALID)
				return 0;
			pwcap_sync_start(p);
			p->step = PWO_PORTS;
			break;
		case PWO_PORTS:
			if (!p->synced)
				return 0;
			rc = link_node(p);
			p->step = PWO_FORMAT;
			break;
		case PWO_FORMAT:
			if (!p->have_format)
				return 0;
			rc = capture_reinit(&p->base);
			if (rc < 0)
				return rc;
			log_info("node %s (id %u) linked%s", rd_esc(p->target), p->target_id,
				p->portal ? " (from the ScreenCast portal)" : "");
			p->base.cursor_embedded = p->cursor_embedded;
			open_end(p, 0);
			return 0;
		default:
			return 0;
		}
		if (rc < 0)
			return rc;
		/* What was just asked goes out at the next iteration. */
		ev_feed_event(p->evloop, &p->open_io, EV_READ);
	}
}

static void on_open_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct pwcap *p = w->data;
	int r = pw_loop_iterate(p->loop, 0);
	if (r < 0 && r != -EINTR && r != -EAGAIN) {
		log_warn("PipeWire loop: %s", spa_strerror(r));
		p->failed = true;
	}
	int rc = open_advance(p);
	if (rc < 0)
		open_end(p, rc);
}

static void on_open_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct pwcap *p = t->data;
	if (p->step == PWO_REGISTRY)
		rd_skip_reason("the PipeWire daemon did not answer within %.0f s", OPEN_TIMEOUT_SECS);
	else if (p->step == PWO_FORMAT && p->portal)
		rd_skip_reason("node %s (id %u) was not linked, or negotiated no video format, "
			"within %.0f s (no session manager?)", rd_esc(p->target), p->target_id,
			OPEN_TIMEOUT_SECS);
	else
		rd_skip_reason("node %s (id %u) negotiated no video format within %.0f s",
			rd_esc(p->target), p->target_id, OPEN_TIMEOUT_SECS);
	open_end(p, RD_ERR_TIMEOUT);
}

/* The helper's connection to the user's PipeWire daemon, or -1 (connect here). */
static int pw_helper_fd(void)
{
	int fd;
	return privsep_pipewire(&fd) == RD_OK ? fd : -1;
}

/* Connect to the daemon (through fd, the portal's remote, when >= 0; it is
 * taken) and ask for the registry. */
static int pw_start(struct pwcap *p, int fd)
{
	pw_global_init();
	p->loop = pw_loop_new(NULL);
	if (!p->loop) {
		if (fd >= 0)
			close(fd);
		return RD_ERR_NOMEM;
	}
	pw_loop_enter(p->loop);
	p->entered = true;
	p->context = pw_context_new(p->loop, pw_properties_new(PW_KEY_CONFIG_NAME,
		"client-rt.conf", NULL), 0);
	if (p->context && fd >= 0)
		p->core = pw_context_connect_fd(p->context, fd, NULL, 0);
	else if (p->context)
		p->core = pw_context_connect(p->context, NULL, 0);
	else if (fd >= 0)
		close(fd);
	if (!p->core) {
		rd_skip_reason("no PipeWire daemon: %s", strerror(errno));
		return RD_ERR_NOTFOUND;
	}
	pw_core_add_listener(p->core, &p->core_listener, &pwcap_core_events, p);
	p->registry = pw_core_get_registry(p->core, PW_VERSION_REGISTRY, 0);
	pw_registry_add_listener(p->registry, &p->registry_listener, &pwcap_registry_events, p);
	pwcap_sync_start(p);
	p->step = PWO_REGISTRY;
	ev_io_set(&p->open_io, pw_loop_get_fd(p->loop), EV_READ);
	ev_io_start(p->evloop, &p->open_io);
	ev_feed_event(p->evloop, &p->open_io, EV_READ);
	ev_timer_set(&p->open_timer, OPEN_TIMEOUT_SECS, 0.0);
	ev_timer_start(p->evloop, &p->open_timer);
	return 0;
}

static void on_portal(int rc, const struct portal_stream *st, const char *why, void *ud)
{
	struct pwcap *p = ud;
	if (rc == 0) {
		p->cursor_embedded = st->cursor_embedded;
		snprintf(p->target, sizeof(p->target), "%u", st->node_id);
		rc = pw_start(p, st->pw_fd);
	} else {
		rd_skip_reason("%s", why);
	}
	if (rc < 0)
		open_end(p, rc);
}

/* Ask the portal for a screen cast; its node and PipeWire remote follow in
 * on_portal. */
static int open_portal(struct pwcap *p, const struct capture_config *cfg)
{
	char file[256];
	const char *token_file = NULL;
	const char *state = cfg->state_dir ? cfg->state_dir : getenv("STATE_DIRECTORY");
	if (p->target[6] == ':' && p->target[7]) {
		token_file = p->target + 7;
	} else if (state && state[0] && !strchr(state, ':')) {
		snprintf(file, sizeof(file), "%s/%s", state, PORTAL_TOKEN_FILE);
		token_file = file;
	}
	char why[256] = "";
	p->step = PWO_PORTAL;
	int rc = portal_open_start(p->evloop, token_file, cfg->probing ? PORTAL_PROBE_TIMEOUT_SECS :
		PORTAL_TIMEOUT_SECS, on_portal, p, &p->portal, why, sizeof(why));
	if (rc < 0)
		rd_skip_reason("%s", why);
	return rc;
}

int pwcap_open_async(struct ev_loop *loop, const struct capture_config *cfg,
	void (*done)(void *ud, int rc), void *ud, struct capture **out)
{
	struct pwcap *p = xcalloc(1, sizeof(*p));
	p->base.ops = &capture_pipewire_ops;
	p->base.format = RD_CAPTURE_FMT_BGRX;
	p->frame.format = RD_CAPTURE_FMT_BGRX;
	p->target_id = SPA_ID_INVALID;
	int rc = parse_target(cfg, p->target, sizeof(p->target));
	if (rc < 0) {
		free(p);
		return rc;
	}
	p->evloop = loop;
	p->open_done = done;
	p->open_ud = ud;
	ev_init(&p->open_io, on_open_io);
	ev_init(&p->open_timer, on_open_timeout);
	p->open_io.data = p->open_timer.data = p;
	rc = is_portal(p->target) ? open_portal(p, cfg) : pw_start(p, pw_helper_fd());
	if (rc < 0) {
		p->evloop = NULL;
		ev_io_stop(loop, &p->open_io);
		ev_timer_stop(loop, &p->open_timer);
		pwcap_close(&p->base);
		return rc;
	}
	*out = &p->base;
	return RD_ERR_AGAIN;
}

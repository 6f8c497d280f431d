/* mpv_input: see mpv_input.h. */
#include "mpv_input.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#define RD_LOG_SUBSYS "viewer"
#include "err.h"
#include "input.h"
#include "log.h"
#include "session.h"
#include "util.h"

static const char lua_script[] =
#include "rdesk_input_lua.h"
	;

/* ---- the IPC client ---- */

#define CONNECT_TRIES 100   /* every 50 ms: mpv makes its socket once it runs */

struct ctl_mpv_input {
	struct ev_loop *loop;
	struct ctl_session *s;
	char dir[256];
	char script[300];
	char sock[300];       /* the last socket handed out */
	char target[300];     /* the socket of the player attached to */
	unsigned seq;
	int fd;
	ev_io io;
	ev_timer retry;
	int tries;
	int rw, rh;
	struct ctl_mpv_osd osd;
	bool have_osd;
	int x, y;             /* last remote pointer position */
	char line[CTL_MPV_LINE_MAX];
	size_t len;
	bool overlong;
	unsigned long events;
};

static void mi_close(struct ctl_mpv_input *mi)
{
	if (mi->fd >= 0) {
		ev_io_stop(mi->loop, &mi->io);
		close(mi->fd);
		mi->fd = -1;
	}
	ev_timer_stop(mi->loop, &mi->retry);
	mi->len = 0;
	mi->have_osd = false;
}

static bool mi_point(struct ctl_mpv_input *mi, const char *sx, const char *sy)
{
	char *e1, *e2;
	long wx = strtol(sx, &e1, 10), wy = strtol(sy, &e2, 10);
	if (*e1 || *e2 || !mi->have_osd)
		return false;
	return ctl_mpv_map(&mi->osd, mi->rw, mi->rh, (int)wx, (int)wy, &mi->x, &mi->y);
}

static int mi_button(const char *name)
{
	if (!strcmp(name, "MBTN_LEFT")) return CTL_BTN_LEFT;
	if (!strcmp(name, "MBTN_RIGHT")) return CTL_BTN_RIGHT;
	if (!strcmp(name, "MBTN_MID")) return CTL_BTN_MIDDLE;
	if (!strcmp(name, "MBTN_BACK")) return CTL_BTN_BACK;
	if (!strcmp(name, "MBTN_FORWARD")) return CTL_BTN_FORWARD;
	return 0;
}

/* Modifiers written before a mouse name ("Ctrl+MBTN_LEFT"): strip them. */
static const char *mi_strip(const char *name, struct ctl_key *k)
{
	const char *plus;
	memset(k, 0, sizeof(*k));
	while ((plus = strchr(name, '+')) != NULL && plus[1]) {
		int m = ctl_keymap_modifier(name, (size_t)(plus - name));
		if (!m || k->nmods >= CTL_KEY_MAX_MODS)
			break;
		k->mods[k->nmods++] = m;
		name = plus + 1;
	}
	return name;
}

static void mi_message(struct ctl_mpv_input *mi, const struct ctl_mpv_event *ev)
{
	const char (*a)[CTL_MPV_ARG_MAX] = ev->args;
	struct ctl_input_msg im;
	struct ctl_key k;
	if (ev->nargs < 2 || strcmp(a[0], "rdesk") != 0)
		return;
	if (!strcmp(a[1], "move") && ev->nargs == 4) {
		if (mi_point(mi, a[2], a[3]) && ctl_session_send(mi->s, ctl_input_mouse(&im,
		    CTL_MOUSE_MOVE, 0, mi->x, mi->y, NULL, 0)) == RD_OK)
			mi->events++;
	} else if (!strcmp(a[1], "key") && ev->nargs == 4) {
		if (ctl_keymap_parse_mpv(a[3], &k) != RD_OK) {
			log_debug("mpv key %s has no remote equivalent", rd_esc(a[3]));
			return;
		}
		bool press = !strcmp(a[2], "press"), down = !strcmp(a[2], "down");
		if (ctl_session_send(mi->s, ctl_input_key(&im, &k, press, down)) == RD_OK)
			mi->events++;
	} else if (!strcmp(a[1], "btn") && ev->nargs == 6) {
		const char *name = mi_strip(a[3], &k);
		int b = mi_button(name);
		if (!b || !mi_point(mi, a[4], a[5]))
			return;
		bool press = !strcmp(a[2], "press");
		int rc = RD_OK;
		if (press || !strcmp(a[2], "down"))
			rc = ctl_session_send(mi->s, ctl_input_mouse(&im, CTL_MOUSE_DOWN, b, mi->x, mi->y,
				k.mods, k.nmods));
		if (rc == RD_OK && (press || !strcmp(a[2], "up")))
			rc = ctl_session_send(mi->s, ctl_input_mouse(&im, CTL_MOUSE_UP, b, mi->x, mi->y,
				k.mods, k.nmods));
		if (rc == RD_OK)
			mi->events++;
	} else if (!strcmp(a[1], "wheel") && ev->nargs == 5) {
		const char *name = mi_strip(a[2], &k);
		int dx = !strcmp(name, "WHEEL_RIGHT") - !strcmp(name, "WHEEL_LEFT");
		int dy = !strcmp(name, "WHEEL_UP") - !strcmp(name, "WHEEL_DOWN");
		if ((dx || dy) && ctl_session_send(mi->s, ctl_input_mouse(&im, CTL_MOUSE_WHEEL, 0, dx, dy,
		    k.mods, k.nmods)) == RD_OK)
			mi->events++;
	} else if (!strcmp(a[1], "ready")) {
		log_info("mpv input script ready");
	}
}

static void mi_line(struct ctl_mpv_input *mi, const char *line, size_t len)
{
	struct ctl_mpv_event ev;
	if (ctl_mpv_parse_event(line, len, &ev) != RD_OK) {
		log_debug("unreadable line from mpv (%zu bytes)", len);
		return;
	}
	if (ev.kind == CTL_MPV_OSD) {
		mi->osd = ev.osd;
		mi->have_osd = true;
		log_debug("mpv window %dx%d, margins l%d r%d t%d b%d", ev.osd.w, ev.osd.h, ev.osd.ml,
			ev.osd.mr, ev.osd.mt, ev.osd.mb);
	} else if (ev.kind == CTL_MPV_MESSAGE) {
		mi_message(mi, &ev);
	}
}

static void mi_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_mpv_input *mi = w->data;
	char buf[4096];
	(void)loop;
	(void)revents;
	ssize_t n = read(mi->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_info("mpv closed its input socket");
		mi_close(mi);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (!mi->overlong)
				mi_line(mi, mi->line, mi->len);
			mi->len = 0;
			mi->overlong = false;
		} else if (mi->len < sizeof(mi->line)) {
			mi->line[mi->len++] = buf[i];
		} else {
			mi->overlong = true;
		}
	}
}

static void mi_on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_mpv_input *mi = w->data;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	(void)revents;
	rd_strlcpy(sa.sun_path, mi->target, sizeof(sa.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		/* Follow the video's place in the window, and greet the script:
		 * its own "ready" may have gone out before we connected. */
		static const char observe[] = "{\"command\":[\"observe_property\",1,\"osd-dimensions\"]}\n"
			"{\"command\":[\"script-message\",\"rdesk-hello\"]}\n";
		ev_timer_stop(loop, w);
		if (write(fd, observe, sizeof(observe) - 1) != (ssize_t)sizeof(observe) - 1) {
			close(fd);
			return;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		mi->fd = fd;
		ev_io_init(&mi->io, mi_on_read, fd, EV_READ);
		mi->io.data = mi;
		ev_io_start(loop, &mi->io);
		log_info("connected to mpv's input socket");
		return;
	}
	if (fd >= 0)
		close(fd);
	if (++mi->tries >= CONNECT_TRIES) {
		ev_timer_stop(loop, w);
		log_warn("mpv did not open its input socket; keyboard and mouse stay local");
	}
}

struct ctl_mpv_input *ctl_mpv_input_new(struct ev_loop *loop, struct ctl_session *s)
{
	struct ctl_mpv_input *mi = xcalloc(1, sizeof(*mi));
	const char *base = getenv("XDG_RUNTIME_DIR");
	struct stat sb;
	mi->loop = loop;
	mi->s = s;
	mi->fd = -1;
	ev_timer_init(&mi->retry, mi_on_retry, 0.05, 0.05);
	mi->retry.data = mi;
	if (!base || stat(base, &sb) != 0 || !S_ISDIR(sb.st_mode))
		base = "/tmp";
	snprintf(mi->dir, sizeof(mi->dir), "%s/rdctl-mpv-XXXXXX", base);
	if (!mkdtemp(mi->dir)) {
		log_warn("cannot make a folder for mpv's input socket in %s", base);
		mi->dir[0] = '\0';
		return mi;
	}
	snprintf(mi->script, sizeof(mi->script), "%s/rdesk-input.lua", mi->dir);
	FILE *f = fopen(mi->script, "w");
	if (!f || fwrite(lua_script, 1, sizeof(lua_script) - 1, f) != sizeof(lua_script) - 1) {
		log_warn("cannot write %s", mi->script);
		mi->script[0] = '\0';
	}
	if (f && fclose(f) != 0)
		mi->script[0] = '\0';
	return mi;
}

const char *ctl_mpv_input_script(const struct ctl_mpv_input *mi)
{
	return mi->script[0] ? mi->script : NULL;
}

const char *ctl_mpv_input_next_socket(struct ctl_mpv_input *mi)
{
	if (!mi->dir[0])
		return NULL;
	snprintf(mi->sock, sizeof(mi->sock), "%s/ipc-%u", mi->dir, ++mi->seq);
	return mi->sock;
}

void ctl_mpv_input_attach(struct ctl_mpv_input *mi, int rw, int rh)
{
	mi_close(mi);
	rd_strlcpy(mi->target, mi->sock, sizeof(mi->target));
	mi->rw = rw;
	mi->rh = rh;
	mi->tries = 0;
	ev_timer_again(mi->loop, &mi->retry);
}

unsigned long ctl_mpv_input_events(const struct ctl_mpv_input *mi)
{
	return mi->events;
}

void ctl_mpv_input_free(struct ctl_mpv_input *mi)
{
	char p[320];
	if (!mi)
		return;
	mi_close(mi);
	if (mi->dir[0]) {
		for (unsigned i = 1; i <= mi->seq; i++) {
			snprintf(p, sizeof(p), "%s/ipc-%u", mi->dir, i);
			unlink(p);
		}
		if (mi->script[0])
			unlink(mi->script);
		rmdir(mi->dir);
	}
	free(mi);
}

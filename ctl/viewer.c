/* viewer: see viewer.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#define RD_LOG_SUBSYS "viewer"
#include "avmux.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "util.h"
#include "viewer.h"

extern char **environ;

#define VIEWER_MUX_BACKLOG (8u << 20)   /* Matroska bytes waiting: skip frames past this */

struct player {
	pid_t pid;
	int fd;            /* write end of its stdin, -1 once closed */
	int w, h;
	ev_child child;
	ev_io io;
	bool retired;      /* replaced by a player of another size: its exit is expected */
	struct ctl_viewer *v;
	struct ctl_avmux *mux;  /* with sound: Matroska of picture and sound */
};

struct ctl_viewer {
	struct ev_loop *loop;
	const struct ctl_viewer_ops *ops;
	void *ud;
	char kind[16];
	char title[128];
	struct player *cur, *old;
	uint8_t *buf;      /* frame being written */
	size_t len, off;
	uint8_t *next;     /* newest frame waiting */
	size_t next_len;
	int next_w, next_h;
	unsigned long frames;
	bool closed;
	char *args[CTL_VIEWER_MAX_ARGS];  /* extra mpv arguments */
	int nargs;
	unsigned audio_ch;                /* sound on: players get Matroska, not raw frames */
	struct rd_buf wq;                 /* Matroska bytes for the current player */
};

static void player_stop_io(struct player *p)
{
	ctl_avmux_free(p->mux);
	p->mux = NULL;
	if (p->fd >= 0) {
		ev_io_stop(p->v->loop, &p->io);
		close(p->fd);
		p->fd = -1;
	}
}

static void player_reap(struct player *p, double wait)
{
	int st;
	player_stop_io(p);
	ev_child_stop(p->v->loop, &p->child);
	for (double t = 0; t < wait; t += 0.05) {
		if (waitpid(p->pid, &st, WNOHANG) != 0)
			goto done;
		usleep(50000);
	}
	kill(p->pid, SIGTERM);
	waitpid(p->pid, &st, 0);
done:
	free(p);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct player *p = w->data;
	struct ctl_viewer *v = p->v;
	(void)revents;
	ev_child_stop(loop, w);
	player_stop_io(p);
	if (p == v->old) {
		v->old = NULL;
		free(p);
		return;
	}
	log_info("%s exited (status %d)", v->kind, w->rstatus);
	v->cur = NULL;
	free(p);
	if (!v->closed) {
		v->closed = true;
		if (v->ops && v->ops->on_closed)
			v->ops->on_closed(v, v->ud);
	}
}

static void start_write(struct ctl_viewer *v);

/* With sound: write what the muxer made; the watcher runs while bytes wait. */
static void mux_write(struct ctl_viewer *v, struct player *p)
{
	while (rd_buf_size(&v->wq) > 0) {
		ssize_t n = write(p->fd, rd_buf_ptr(&v->wq), rd_buf_size(&v->wq));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev_io_start(v->loop, &p->io);
			return;
		}
		if (n <= 0) {
			player_stop_io(p);
			return;
		}
		rd_buf_consume(&v->wq, (size_t)n);
	}
	rd_buf_reset(&v->wq);
	ev_io_stop(v->loop, &p->io);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct player *p = w->data;
	struct ctl_viewer *v = p->v;
	(void)loop;
	(void)revents;
	if (p->mux) {
		mux_write(v, p);
		return;
	}
	while (v->buf && v->off < v->len) {
		ssize_t n = write(p->fd, v->buf + v->off, v->len - v->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {	/* the player went away; its exit is reported by on_child */
			player_stop_io(p);
			return;
		}
		v->off += (size_t)n;
	}
	free(v->buf);
	v->buf = NULL;
	v->frames++;
	ev_io_stop(v->loop, &p->io);
	start_write(v);
}

/* mpv's command line for a w x h picture: ours, then the owner's extra
 * arguments, then the title and stdin. */
static void mpv_argv(const struct ctl_viewer *v, const char **argv, const char *wstr,
	const char *hstr, const char *title)
{
	const char *const ours[] = { "mpv", "--no-config", "--really-quiet", "--demuxer=rawvideo",
		wstr, hstr, "--demuxer-rawvideo-mp-format=yuv420p", "--demuxer-rawvideo-fps=60",
		"--untimed", "--cache=no", "--profile=low-latency", "--keep-open=no", "--osc=no",
		"--input-default-bindings=yes" };
	int n = 0;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		argv[n++] = ours[i];
	for (int i = 0; i < v->nargs; i++)
		argv[n++] = v->args[i];
	argv[n++] = title;
	/* Without a GPU render node mpv's OpenGL output runs on a software
	 * renderer that may show nothing (seen on Xvfb); plain X11 output works. */
	if (access("/dev/dri", F_OK) != 0)
		argv[n++] = "--vo=x11";
	argv[n++] = "-";
	argv[n] = NULL;
	if (v->audio_ch) {	/* Matroska with sound: timed by the player, not raw */
		const char *const mux[] = { "mpv", "--no-config", "--really-quiet", "--demuxer=lavf",
			"--demuxer-lavf-format=matroska", "--cache=no", "--profile=low-latency",
			"--keep-open=no", "--osc=no", "--input-default-bindings=yes" };
		int m = (int)(sizeof(mux) / sizeof(mux[0])), extra = n - (int)(sizeof(ours) / sizeof(ours[0]));
		memmove(argv + m, argv + sizeof(ours) / sizeof(ours[0]), sizeof(char *) * (size_t)(extra + 1));
		memcpy(argv, mux, sizeof(mux));
	}
}

static struct player *spawn(struct ctl_viewer *v, const char *kind, int w, int h)
{
	char geom[64], wstr[32], hstr[32], title[160];
	int pfd[2];
	posix_spawn_file_actions_t fa;
	struct player *p;
	const char *argv_mpv[20 + CTL_VIEWER_MAX_ARGS];	/* ours, the extra ones, title, vo, stdin */
	const char *argv_ffplay[] = { "ffplay", "-loglevel", "error", "-fflags", "nobuffer",
		"-framedrop", "-f", "rawvideo", "-pixel_format", "yuv420p", "-video_size", geom,
		"-window_title", v->title, "-i", "-", NULL };
	const char *argv_ffplay_mux[] = { "ffplay", "-loglevel", "error", "-fflags", "nobuffer",
		"-framedrop", "-f", "matroska", "-window_title", v->title, "-i", "-", NULL };
	const char *const *argv = strcmp(kind, "ffplay") != 0 ? argv_mpv : v->audio_ch ?
		argv_ffplay_mux : argv_ffplay;

	snprintf(geom, sizeof(geom), "%dx%d", w, h);
	snprintf(wstr, sizeof(wstr), "--demuxer-rawvideo-w=%d", w);
	snprintf(hstr, sizeof(hstr), "--demuxer-rawvideo-h=%d", h);
	snprintf(title, sizeof(title), "--title=%s", v->title);
	mpv_argv(v, argv_mpv, wstr, hstr, title);
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (rd_log_get_level() < RD_LOG_INFO)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	p = xcalloc(1, sizeof(*p));
	p->v = v;
	p->w = w;
	p->h = h;
	int r = posix_spawnp(&p->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[0]);
	if (r != 0) {
		log_info("cannot start %s: %s", argv[0], strerror(r));
		close(pfd[1]);
		free(p);
		return NULL;
	}
	p->fd = pfd[1];
	fcntl(p->fd, F_SETFL, O_NONBLOCK);
	fcntl(p->fd, F_SETPIPE_SZ, 1 << 20);
	ev_child_init(&p->child, on_child, p->pid, 0);
	p->child.data = p;
	ev_child_start(v->loop, &p->child);
	ev_io_init(&p->io, on_writable, p->fd, EV_WRITE);
	p->io.data = p;
	log_info("started %s (pid %d) for %dx%d", argv[0], (int)p->pid, w, h);
	return p;
}

/* A player for a w x h picture (and sound, when on): the current one, or a
 * new one in its place. false when none could be started (on_closed told). */
static bool player_ensure(struct ctl_viewer *v, int w, int h)
{
	bool mux = v->audio_ch != 0;
	if (v->cur && v->cur->w == w && v->cur->h == h && (v->cur->mux != NULL) == mux)
		return true;
	if (v->cur) {
		if (v->old)
			player_reap(v->old, 0);
		v->old = v->cur;
		v->old->retired = true;
		player_stop_io(v->old);	/* EOF: it shows what it has and exits */
	}
	rd_buf_reset(&v->wq);
	v->cur = spawn(v, v->kind, w, h);
	if (!v->cur && strcmp(v->kind, "mpv") == 0) {
		rd_strlcpy(v->kind, "ffplay", sizeof(v->kind));
		v->cur = spawn(v, v->kind, w, h);
	}
	if (v->cur && mux && ctl_avmux_new(w, h, v->audio_ch, &v->wq, &v->cur->mux) != RD_OK) {
		player_reap(v->cur, 0);
		v->cur = NULL;
	}
	if (!v->cur) {
		v->closed = true;
		if (v->ops && v->ops->on_closed)
			v->ops->on_closed(v, v->ud);
		return false;
	}
	if (v->ops && v->ops->on_started)
		v->ops->on_started(v, v->kind, w, h, v->ud);
	return true;
}

/* Move the newest waiting frame into the write slot, starting a player of the
 * right size first when needed. */
static void start_write(struct ctl_viewer *v)
{
	if (v->buf || !v->next || v->closed)
		return;
	if (!player_ensure(v, v->next_w, v->next_h))
		return;
	v->buf = v->next;
	v->len = v->next_len;
	v->off = 0;
	v->next = NULL;
	if (v->cur->fd >= 0)
		ev_io_start(v->loop, &v->cur->io);
}

/* With sound: the frame into the Matroska stream, unless the player lags. */
static int mux_frame(struct ctl_viewer *v, const AVFrame *f)
{
	if (!player_ensure(v, f->width, f->height))
		return RD_ERR_IO;
	if (rd_buf_size(&v->wq) > VIEWER_MUX_BACKLOG)
		return RD_OK;	/* a slow player skips frames, never sound */
	if (ctl_avmux_video(v->cur->mux, f, f->pts) != RD_OK)
		return RD_ERR_IO;
	v->frames++;
	mux_write(v, v->cur);
	return RD_OK;
}

int ctl_viewer_audio(struct ctl_viewer *v, const uint8_t *data, size_t len, int64_t pts_ms,
	int dur_ms)
{
	if (v->closed || !v->cur || !v->cur->mux)
		return RD_OK;	/* sound before the first picture is not played */
	if (ctl_avmux_audio(v->cur->mux, data, len, pts_ms, dur_ms) != RD_OK)
		return RD_ERR_IO;
	mux_write(v, v->cur);
	return RD_OK;
}

void ctl_viewer_set_audio(struct ctl_viewer *v, unsigned channels)
{
	v->audio_ch = channels ? (channels == 1 ? 1 : 2) : 0;
}

int ctl_viewer_frame(struct ctl_viewer *v, const AVFrame *f)
{
	if (v->closed)
		return RD_ERR_CLOSED;
	if (f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P)
		return RD_ERR_UNSUPPORTED;
	if (v->audio_ch)
		return mux_frame(v, f);
	int w = f->width, h = f->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	size_t len = (size_t)w * (size_t)h + 2 * (size_t)cw * (size_t)ch;
	uint8_t *b = malloc(len), *o = b;
	if (!b)
		return RD_ERR_NOMEM;
	for (int y = 0; y < h; y++, o += w)
		memcpy(o, f->data[0] + (size_t)y * (size_t)f->linesize[0], (size_t)w);
	for (int pl = 1; pl <= 2; pl++)
		for (int y = 0; y < ch; y++, o += cw)
			memcpy(o, f->data[pl] + (size_t)y * (size_t)f->linesize[pl], (size_t)cw);
	free(v->next);	/* a slow player skips the frame it did not take */
	v->next = b;
	v->next_len = len;
	v->next_w = w;
	v->next_h = h;
	start_write(v);
	return v->closed ? RD_ERR_IO : RD_OK;
}

static void viewer_clear_args(struct ctl_viewer *v)
{
	for (int i = 0; i < v->nargs; i++)
		free(v->args[i]);
	v->nargs = 0;
}

int ctl_viewer_set_args(struct ctl_viewer *v, const char *const *args, int n)
{
	if (n < 0 || n > CTL_VIEWER_MAX_ARGS)
		return RD_ERR_INVAL;
	viewer_clear_args(v);
	for (int i = 0; i < n; i++)
		v->args[v->nargs++] = xstrdup(args[i]);
	return RD_OK;
}

unsigned long ctl_viewer_frames(const struct ctl_viewer *v)
{
	return v->frames;
}

struct ctl_viewer *ctl_viewer_new(struct ev_loop *loop, const char *kind, const char *title,
	const struct ctl_viewer_ops *ops, void *ud)
{
	struct ctl_viewer *v = xcalloc(1, sizeof(*v));
	v->loop = loop;
	v->ops = ops;
	v->ud = ud;
	rd_strlcpy(v->kind, kind, sizeof(v->kind));
	rd_strlcpy(v->title, title, sizeof(v->title));
	rd_buf_init(&v->wq, 0);
	signal(SIGPIPE, SIG_IGN);
	return v;
}

void ctl_viewer_free(struct ctl_viewer *v)
{
	if (!v)
		return;
	v->closed = true;
	if (v->old)
		player_reap(v->old, 0);
	if (v->cur)
		player_reap(v->cur, 2.0);
	free(v->buf);
	free(v->next);
	rd_buf_free(&v->wq);
	viewer_clear_args(v);
	free(v);
}

/* pump: splice() forwarding of a pair with backpressure and half-close. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "err.h"
#include "util.h"

#include "limits.h"
#include "pump.h"

#define DIR_BUDGET 8          /* pipe loads per wakeup, so one pair cannot hog the loop */
#define DRAIN_CHUNK 65536
/* Pipes count against a per-user page budget (fs.pipe-user-pages-soft,
 * 64 MiB by default for unprivileged users); past it the kernel makes
 * two-page pipes. Only the first pairs get big pipes, so thousands of pairs
 * keep the default 64 KiB ones. */
#define RELAY_BIG_PIPE_PAIRS 32

struct pair;
struct side;

struct dir {
	struct pair *pair;
	struct side *src, *dst;
	int pr, pw;               /* pipe ends */
	size_t inpipe, cap;
	uint8_t *pre;             /* bytes read before pairing, sent first */
	size_t pre_len, pre_off;
	bool eof;                 /* nothing more will be read from src */
	bool eof_real;            /* src sent its FIN */
	bool shut;                /* shutdown(dst, SHUT_WR) done: direction complete */
	bool dead;                /* dst failed: nothing more goes this way */
	bool throttled;
	double throttle_start;
	uint64_t bytes;
	struct relay_waiter *w;
};

struct side {
	struct pair *pair;
	int fd;
	ev_io rio;                /* readable: feeds `out`, or drains while lingering */
	ev_io wio;                /* writable: empties `in` */
	struct dir *out, *in;
	bool failed;
	bool draining;
};

struct pair {
	struct relay_pump *pump;
	struct side s[2];
	struct dir d[2];          /* d[0]: s[0] -> s[1]; d[1]: s[1] -> s[0] */
	struct relay_bucket *bucket;
	ev_timer timer;           /* idle, then linger */
	double start, last;
	double throttled;
	bool linger;
	bool ended;
	void *user;
	struct pair *prev, *next; /* active list */
	struct pair *reap_next;
};

struct relay_pump {
	struct relay_pump_opts o;
	struct ev_loop *loop;
	struct pair *active;
	size_t nactive;
	uint64_t bytes;
	struct pair *reap;
	ev_prepare reaper;
	bool limited;
};

static uint8_t drain_buf[DRAIN_CHUNK];

static void dir_run(struct dir *d);
static void pair_check(struct pair *p);
static void pair_end(struct pair *p, const char *reason);

static void dir_watch(struct dir *d)
{
	struct pair *p = d->pair;
	struct ev_loop *loop = p->pump->loop;
	bool pending = d->inpipe > 0 || d->pre_off < d->pre_len;
	bool want_read = !p->ended && !d->eof && !d->dead && !d->throttled && !pending &&
		!d->src->failed;
	bool want_write = !p->ended && !d->dead && pending && !d->dst->failed;

	if (d->src->draining)
		want_read = !p->ended;
	if (want_read != (bool)ev_is_active(&d->src->rio)) {
		if (want_read)
			ev_io_start(loop, &d->src->rio);
		else
			ev_io_stop(loop, &d->src->rio);
	}
	if (want_write != (bool)ev_is_active(&d->dst->wio)) {
		if (want_write)
			ev_io_start(loop, &d->dst->wio);
		else
			ev_io_stop(loop, &d->dst->wio);
	}
}

/* 1: everything delivered; 0: dst would block; -1: dst failed. */
static int dir_flush(struct dir *d)
{
	while (d->pre_off < d->pre_len) {
		ssize_t n = send(d->dst->fd, d->pre + d->pre_off, d->pre_len - d->pre_off,
			MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			d->pre_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	while (d->inpipe > 0) {
		ssize_t n = splice(d->pr, NULL, d->dst->fd, NULL, d->inpipe,
			SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->inpipe -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	return 1;
}

/* A socket failed (reset, error): what it sent is all there is, what goes to
 * it is dropped; the other side still gets the pipe's bytes and a FIN. */
static void side_fail(struct side *x)
{
	if (x->failed)
		return;
	x->failed = true;
	x->draining = false;
	x->out->eof = true;
	x->in->dead = true;
	ev_io_stop(x->pair->pump->loop, &x->rio);
	ev_io_stop(x->pair->pump->loop, &x->wio);
	dir_watch(x->in);
	dir_run(x->out);
}

static size_t dir_grant(struct dir *d, size_t want, double now)
{
	struct relay_pump *pump = d->pair->pump;
	if (!pump->limited)
		return want;
	size_t g = relay_limits_grant(d->w, want, now);
	if (g == 0) {
		d->throttled = true;
		d->throttle_start = now;
	}
	return g;
}

static void dir_run(struct dir *d)
{
	struct pair *p = d->pair;
	struct relay_pump *pump = p->pump;
	if (p->ended)
		return;
	if (d->dead || d->src->draining) {
		dir_watch(d);
		pair_check(p);
		return;
	}
	double now = ev_now(pump->loop);
	for (int i = 0; i < DIR_BUDGET; i++) {
		int r = dir_flush(d);
		if (r < 0) {
			side_fail(d->dst);
			return;
		}
		if (r == 0)
			break;
		if (d->eof) {
			if (!d->shut) {
				shutdown(d->dst->fd, SHUT_WR);
				d->shut = true;
			}
			break;
		}
		if (d->throttled)
			break;
		size_t want = dir_grant(d, d->cap, now);
		if (want == 0)
			break;
		ssize_t n = splice(d->src->fd, NULL, d->pw, NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->inpipe += (size_t)n;
			d->bytes += (uint64_t)n;
			pump->bytes += (uint64_t)n;
			p->last = now;
			if (pump->limited)
				relay_limits_used(d->w, (size_t)n);
			if (pump->o.on_bytes)
				pump->o.on_bytes((size_t)n, pump->o.ud);
			continue;
		}
		if (n == 0) {
			d->eof = d->eof_real = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		side_fail(d->src);
		return;
	}
	/* The budget may run out right after the EOF was read. */
	if (d->eof && !d->shut && d->inpipe == 0 && d->pre_off == d->pre_len) {
		shutdown(d->dst->fd, SHUT_WR);
		d->shut = true;
	}
	dir_watch(d);
	pair_check(p);
}

static void drain(struct side *y)
{
	struct pair *p = y->pair;
	for (int i = 0; i < DIR_BUDGET; i++) {
		ssize_t n = recv(y->fd, drain_buf, sizeof(drain_buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		pair_end(p, "reset");
		return;
	}
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct side *s = w->data;
	if (s->draining)
		drain(s);
	else
		dir_run(s->out);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct side *s = w->data;
	dir_run(s->in);
}

static void on_resume(void *ud)
{
	struct dir *d = ud;
	struct pair *p = d->pair;
	if (p->ended)
		return;
	double now = ev_now(p->pump->loop);
	if (d->throttled) {
		d->throttled = false;
		p->throttled += now - d->throttle_start;
	}
	dir_run(d);
}

static void pair_check(struct pair *p)
{
	if (p->ended)
		return;
	bool done0 = p->d[0].shut || p->d[0].dead;
	bool done1 = p->d[1].shut || p->d[1].dead;
	if (!done0 || !done1)
		return;
	struct side *a = &p->s[0], *b = &p->s[1];
	if (!a->failed && !b->failed) {
		pair_end(p, "closed");
		return;
	}
	if (a->failed && b->failed) {
		pair_end(p, "reset");
		return;
	}
	/* One side failed; the survivor got its bytes and a FIN. Close it once
	 * it closes too, so no reset destroys what it has not read yet. */
	struct side *y = a->failed ? b : a;
	if (y->out->eof_real) {
		pair_end(p, "reset");
		return;
	}
	if (!p->linger) {
		p->linger = true;
		y->draining = true;
		ev_timer_stop(p->pump->loop, &p->timer);
		ev_timer_set(&p->timer, RELAY_LINGER, 0.);
		ev_timer_start(p->pump->loop, &p->timer);
		dir_watch(y->out);
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct pair *p = w->data;
	if (p->linger) {
		pair_end(p, "reset");
		return;
	}
	double idle = p->pump->o.idle_timeout;
	double quiet = ev_now(loop) - p->last;
	if (quiet >= idle) {
		pair_end(p, "idle");
		return;
	}
	w->repeat = idle - quiet;
	ev_timer_again(loop, w);
}

static void on_reap(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	struct relay_pump *pump = w->data;
	double now = ev_now(loop);
	while (pump->reap) {
		struct pair *p = pump->reap;
		pump->reap = p->reap_next;
		for (int i = 0; i < 2; i++) {
			relay_waiter_free(p->d[i].w, now);
			free(p->d[i].pre);
		}
		relay_bucket_free(p->bucket);
		free(p);
	}
	ev_prepare_stop(loop, w);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pair_end(struct pair *p, const char *reason)
{
	struct relay_pump *pump = p->pump;
	if (p->ended)
		return;
	p->ended = true;
	for (int i = 0; i < 2; i++) {
		ev_io_stop(pump->loop, &p->s[i].rio);
		ev_io_stop(pump->loop, &p->s[i].wio);
		close_fd(&p->s[i].fd);
		close_fd(&p->d[i].pr);
		close_fd(&p->d[i].pw);
	}
	ev_timer_stop(pump->loop, &p->timer);
	double now = ev_now(pump->loop);
	for (int i = 0; i < 2; i++)
		if (p->d[i].throttled)
			p->throttled += now - p->d[i].throttle_start;
	if (p->prev)
		p->prev->next = p->next;
	else
		pump->active = p->next;
	if (p->next)
		p->next->prev = p->prev;
	pump->nactive--;

	struct relay_pair_end e = {
		.bytes_ab = p->d[0].bytes,
		.bytes_ba = p->d[1].bytes,
		.duration = now - p->start,
		.throttled = p->throttled,
		.reason = reason,
	};
	if (pump->o.on_end)
		pump->o.on_end(p->user, &e, pump->o.ud);
	p->reap_next = pump->reap;
	pump->reap = p;
	ev_prepare_start(pump->loop, &pump->reaper);
}

struct relay_pump *relay_pump_new(const struct relay_pump_opts *o)
{
	struct relay_pump *pump = xcalloc(1, sizeof(*pump));
	pump->o = *o;
	pump->loop = o->loop;
	pump->limited = o->limits && relay_limits_enabled(o->limits);
	ev_prepare_init(&pump->reaper, on_reap);
	pump->reaper.data = pump;
	return pump;
}

void relay_pump_free(struct relay_pump *pump)
{
	if (!pump)
		return;
	while (pump->active)
		pair_end(pump->active, "shutdown");
	on_reap(pump->loop, &pump->reaper, 0);
	free(pump);
}

static int make_pipe(struct dir *d, size_t want)
{
	int fds[2];
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return RD_ERR_IO;
	d->pr = fds[0];
	d->pw = fds[1];
	if (want)
		(void)fcntl(d->pw, F_SETPIPE_SZ, (int)want);
	int cap = fcntl(d->pw, F_GETPIPE_SZ);
	d->cap = cap > 0 ? (size_t)cap : 65536;
	return RD_OK;
}

static void dir_init(struct pair *p, int i, const uint8_t *pre, size_t len)
{
	struct dir *d = &p->d[i];
	d->pair = p;
	d->src = &p->s[i];
	d->dst = &p->s[1 - i];
	d->pr = d->pw = -1;
	if (len) {
		d->pre = xmalloc(len);
		memcpy(d->pre, pre, len);
		d->pre_len = len;
		d->bytes = len;
	}
}

int relay_pump_start(struct relay_pump *pump, int fd_a, int fd_b, const uint8_t *pre_a, size_t len_a,
	const uint8_t *pre_b, size_t len_b, void *user)
{
	struct pair *p = xcalloc(1, sizeof(*p));
	int fds[2] = { fd_a, fd_b };
	p->pump = pump;
	p->user = user;
	dir_init(p, 0, pre_a, len_a);
	dir_init(p, 1, pre_b, len_b);
	for (int i = 0; i < 2; i++) {
		struct side *s = &p->s[i];
		s->pair = p;
		s->fd = fds[i];
		s->out = &p->d[i];
		s->in = &p->d[1 - i];
		ev_io_init(&s->rio, on_read, s->fd, EV_READ);
		ev_io_init(&s->wio, on_write, s->fd, EV_WRITE);
		s->rio.data = s->wio.data = s;
	}
	int err = RD_OK;
	for (int i = 0; i < 2 && err == RD_OK; i++)
		err = make_pipe(&p->d[i], pump->nactive < RELAY_BIG_PIPE_PAIRS ? pump->o.pipe_size : 0);
	if (err != RD_OK) {
		int saved = errno;
		for (int i = 0; i < 2; i++) {
			close_fd(&p->s[i].fd);
			close_fd(&p->d[i].pr);
			close_fd(&p->d[i].pw);
			free(p->d[i].pre);
		}
		free(p);
		errno = saved;
		return err;
	}
	p->start = p->last = ev_now(pump->loop);
	if (pump->limited) {
		p->bucket = relay_bucket_new(pump->o.limits, p->start);
		for (int i = 0; i < 2; i++)
			p->d[i].w = relay_waiter_new(p->bucket, on_resume, &p->d[i]);
	}
	if (len_a + len_b) {
		pump->bytes += len_a + len_b;
		if (pump->o.on_bytes)
			pump->o.on_bytes(len_a + len_b, pump->o.ud);
	}
	ev_init(&p->timer, on_timer);
	p->timer.data = p;
	if (pump->o.idle_timeout > 0) {
		p->timer.repeat = pump->o.idle_timeout;
		ev_timer_again(pump->loop, &p->timer);
	}
	p->next = pump->active;
	if (pump->active)
		pump->active->prev = p;
	pump->active = p;
	pump->nactive++;
	/* The first moves happen from the loop, never inside the caller. */
	dir_watch(&p->d[0]);
	dir_watch(&p->d[1]);
	return RD_OK;
}

size_t relay_pump_active(const struct relay_pump *pump)
{
	return pump->nactive;
}

uint64_t relay_pump_bytes(const struct relay_pump *pump)
{
	return pump->bytes;
}

/* sdbus_ev: sd-bus on libev (see sdbus_ev.h). */
#include "sdbus_ev.h"

#include <poll.h>
#include <stdint.h>
#include <time.h>

static void sdbus_ev__process(struct sdbus_ev *w)
{
	int r = 0;
	while (w->attached && (r = sd_bus_process(w->bus, NULL)) > 0)
		;
	if (w->attached && r < 0 && w->on_error)
		w->on_error(r, w->ud);
}

static void sdbus_ev__on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	sdbus_ev__process(io->data);
}

static void sdbus_ev__on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	sdbus_ev__process(t->data);
}

/* What the bus waits for now: its descriptor's events and its next timeout
 * (CLOCK_MONOTONIC microseconds, UINT64_MAX for none). */
static void sdbus_ev__on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
	(void)revents;
	struct sdbus_ev *w = p->data;
	int ev = sd_bus_get_events(w->bus);
	int want = ev < 0 ? EV_READ : ((ev & POLLIN) ? EV_READ : 0) | ((ev & POLLOUT) ? EV_WRITE : 0);
	if ((w->io.events & (EV_READ | EV_WRITE)) != want) {
		ev_io_stop(loop, &w->io);
		ev_io_set(&w->io, w->io.fd, want);
		ev_io_start(loop, &w->io);
	}
	uint64_t until = UINT64_MAX;
	ev_timer_stop(loop, &w->timer);
	if (sd_bus_get_timeout(w->bus, &until) < 0 || until == UINT64_MAX)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	ev_timer_set(&w->timer, until > now ? (double)(until - now) / 1e6 : 0.0, 0.0);
	ev_timer_start(loop, &w->timer);
}

int sdbus_ev_attach(struct sdbus_ev *w, struct ev_loop *loop, sd_bus *bus,
	void (*on_error)(int err, void *ud), void *ud)
{
	int fd = sd_bus_get_fd(bus);
	if (fd < 0)
		return fd;
	w->loop = loop;
	w->bus = bus;
	w->on_error = on_error;
	w->ud = ud;
	ev_io_init(&w->io, sdbus_ev__on_io, fd, EV_READ);
	ev_prepare_init(&w->prep, sdbus_ev__on_prepare);
	ev_timer_init(&w->timer, sdbus_ev__on_timer, 0.0, 0.0);
	w->io.data = w->prep.data = w->timer.data = w;
	ev_io_start(loop, &w->io);
	ev_prepare_start(loop, &w->prep);
	w->attached = true;
	/* Whatever sd-bus read while connecting is dispatched at once. */
	ev_feed_event(loop, &w->io, EV_READ);
	return 0;
}

void sdbus_ev_detach(struct sdbus_ev *w)
{
	if (!w->attached)
		return;
	w->attached = false;
	ev_io_stop(w->loop, &w->io);
	ev_prepare_stop(w->loop, &w->prep);
	ev_timer_stop(w->loop, &w->timer);
}

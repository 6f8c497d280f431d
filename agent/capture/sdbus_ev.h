/* sdbus_ev: an sd-bus connection driven by the agent's libev loop.
 *
 * The bus's descriptor is an ev_io; before each sleep an ev_prepare asks the
 * bus which events and which timeout it wants, and an ev_timer stands for
 * the timeout. Messages are dispatched (sd_bus_process) from those watchers,
 * so replies and signals reach their callbacks without any wait of our own.
 * on_error runs when processing fails (the connection broke); it may call
 * sdbus_ev_detach but must not free the attachment. */
#ifndef RD_AGENT_SDBUS_EV_H
#define RD_AGENT_SDBUS_EV_H

#include <ev.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

struct sdbus_ev {
	struct ev_loop *loop;
	sd_bus *bus;
	ev_io io;
	ev_prepare prep;
	ev_timer timer;
	bool attached;
	void (*on_error)(int err, void *ud);   /* err: a negative errno */
	void *ud;
};

/* Start the watchers (w is the caller's, e.g. embedded in its struct); a
 * negative errno when the bus has no descriptor. */
int sdbus_ev_attach(struct sdbus_ev *w, struct ev_loop *loop, sd_bus *bus,
	void (*on_error)(int err, void *ud), void *ud);
/* Stop them; the bus stays open. Safe when not attached. */
void sdbus_ev_detach(struct sdbus_ev *w);

#endif

/* run: one session from ID to the verb's goal on the default loop: connect,
 * handshake, login, then the session goes to the verb's sink (sink.h). */
#ifndef RD_CTL_RUN_H
#define RD_CTL_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "connect.h"
#include "ctl.h"

struct ev_loop;
struct run;
struct ctl_sink;

struct ctl_run_opts {
	/* Taken over: ctl_run frees it. NULL: stop once the handshake is done
	 * (doctor). */
	struct ctl_sink *sink;
	bool force_relay;
	bool no_relay;
};

/* For sinks, on the loop. End the run (queued messages are flushed before
 * the session closes); a failure goes to the result first with
 * ctl_run_fail. */
void ctl_run_finish(struct run *r);
void ctl_run_fail(struct run *r, int exit_code, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Stop after secs from now: the sink's finish(CTL_SINK_TIME). */
void ctl_run_stop_after(struct run *r, double secs);
struct ev_loop *ctl_run_loop(struct run *r);

/* Common checks and settings (server, key, known_peers). Fills res on error
 * and returns its exit code; 0 when ready. */
int ctl_prepare(struct ctl *c, struct ctl_result *res, struct ctl_connect_opts *co, char *relay,
	size_t relaysz, char *known, size_t knownsz);
/* Run one session; the outcome goes to res (and link, when not NULL). */
int ctl_run(struct ctl *c, const struct ctl_run_opts *o, struct ctl_result *res,
	struct ctl_link *link);

#endif

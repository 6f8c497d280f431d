/* run: one session from ID to the verb's goal on the default loop: connect,
 * handshake, login, then video to the verb's sink (PNG, recorder, viewer). */
#ifndef RD_CTL_RUN_H
#define RD_CTL_RUN_H

#include <stdbool.h>

#include "connect.h"
#include "ctl.h"

enum ctl_run_mode {
	CTL_RUN_ATTEMPT,     /* doctor: stop once the handshake is done */
	CTL_RUN_SCREENSHOT,
	CTL_RUN_RECORD,
	CTL_RUN_VIEW,
};

struct ctl_run_opts {
	enum ctl_run_mode mode;
	bool force_relay;
	bool no_relay;
};

/* Common checks and settings (server, key, known_peers). Fills res on error
 * and returns its exit code; 0 when ready. */
int ctl_prepare(struct ctl *c, struct ctl_result *res, struct ctl_connect_opts *co, char *relay,
	size_t relaysz, char *known, size_t knownsz);
/* Run one session; the outcome goes to res (and link, when not NULL). */
int ctl_run(struct ctl *c, const struct ctl_run_opts *o, struct ctl_result *res,
	struct ctl_link *link);

#endif

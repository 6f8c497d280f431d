/* run: one session from ID to the verb's goal on the default loop: connect,
 * handshake, login, then video to the verb's sink (PNG, recorder, viewer). */
#ifndef RD_CTL_RUN_H
#define RD_CTL_RUN_H

#include <stdbool.h>

#include "connect.h"
#include "ctl.h"
#include "message.pb-c.h"

enum ctl_run_mode {
	CTL_RUN_ATTEMPT,     /* doctor: stop once the handshake is done */
	CTL_RUN_SCREENSHOT,
	CTL_RUN_RECORD,
	CTL_RUN_VIEW,
	CTL_RUN_HOOKS,       /* a verb drives the live session through hooks */
};

/* CTL_RUN_HOOKS (input verbs): called on the loop. A verb ends the run with
 * ctl_run_finish (a failure goes to res first); queued messages are flushed
 * before the session closes. */
struct run;
struct ctl_session;
struct AVFrame;
struct ctl_run_hooks {
	void (*on_ready)(struct run *r, struct ctl_session *s, int width, int height, void *ud);
	/* Decoded frames; NULL = the video is not decoded. */
	void (*on_frame)(struct run *r, const struct AVFrame *f, void *ud);
	void (*on_message)(struct run *r, const Hbb__Message *m, void *ud);
	void *ud;
};
void ctl_run_finish(struct run *r);
struct ev_loop *ctl_run_loop(struct run *r);

struct ctl_run_opts {
	enum ctl_run_mode mode;
	bool force_relay;
	bool no_relay;
	const struct ctl_run_hooks *hooks;  /* CTL_RUN_HOOKS */
};

/* Common checks and settings (server, key, known_peers). Fills res on error
 * and returns its exit code; 0 when ready. */
int ctl_prepare(struct ctl *c, struct ctl_result *res, struct ctl_connect_opts *co, char *relay,
	size_t relaysz, char *known, size_t knownsz);
/* Run one session; the outcome goes to res (and link, when not NULL). */
int ctl_run(struct ctl *c, const struct ctl_run_opts *o, struct ctl_result *res,
	struct ctl_link *link);

#endif

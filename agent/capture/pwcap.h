/* pwcap: the pipewire capture backend's state, shared by pipewire.c (the
 * stream, frames, close) and pipewire_open.c (the open on the agent's loop).
 * See pipewire.c. */
#ifndef RD_AGENT_PWCAP_H
#define RD_AGENT_PWCAP_H

#include <ev.h>
#include <pipewire/pipewire.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

#define OPEN_TIMEOUT_SECS 5.0
/* The portal may show a dialog the first time: give someone time to answer
 * when the portal was asked for; a probe under auto does not wait for one. */
#define PORTAL_TIMEOUT_SECS 25.0
#define PORTAL_PROBE_TIMEOUT_SECS 5.0
#define PORTAL_TOKEN_FILE "portal-restore-token"

/* What the open waits for now. */
enum pw_open_step {
	PWO_PORTAL,     /* the portal's answer */
	PWO_REGISTRY,   /* the registry listed (core sync) */
	PWO_NODE,       /* our stream has its node */
	PWO_PORTS,      /* its ports are registered (core sync) */
	PWO_FORMAT,     /* the link negotiated a format */
	PWO_DONE,
};

struct pwcap {
	struct capture base;
	/* opening (evloop is NULL once it ended) */
	struct ev_loop *evloop;
	ev_io open_io;
	ev_timer open_timer;
	enum pw_open_step step;
	void (*open_done)(void *ud, int rc);
	void *open_ud;
	struct pw_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct spa_hook core_listener;
	struct pw_registry *registry;
	struct spa_hook registry_listener;
	struct pw_stream *stream;
	struct spa_hook stream_listener;
	struct pw_proxy *link;
	struct portal *portal;    /* the ScreenCast session, when from the portal */
	bool cursor_embedded;
	char target[128];
	uint32_t target_id;       /* SPA_ID_INVALID until found */
	int sync_seq;
	bool synced;
	bool linked;
	bool failed;
	bool entered;
	/* negotiated */
	bool have_format;
	int fmt_w, fmt_h;
	uint32_t fmt_fourcc;
	/* adopted */
	uint32_t fourcc;
	struct tile_damage *scan;
	bool reinit_pending;
	bool first;
	struct pw_buffer *held;   /* newest buffer, not copied yet */
	struct capture_frame frame;
	uint64_t seq;
};

extern const struct pw_registry_events pwcap_registry_events;
extern const struct pw_core_events pwcap_core_events;
extern const struct pw_stream_events pwcap_stream_events;

/* Ask the daemon for a sync; p->synced is set when it answers. */
void pwcap_sync_start(struct pwcap *p);
void pwcap_close(struct capture *c);
int pwcap_open_async(struct ev_loop *loop, const struct capture_config *cfg,
	void (*done)(void *ud, int rc), void *ud, struct capture **out);

#endif

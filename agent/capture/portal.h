/* portal: a screen cast session from the desktop's ScreenCast portal
 * (org.freedesktop.portal.ScreenCast on the session bus), for the pipewire
 * capture backend.
 *
 * portal_open_start asks for one monitor (cursor embedded when the portal
 * offers it), starts the cast and opens the PipeWire remote the portal
 * grants: the caller connects PipeWire through that descriptor
 * (pw_context_connect_fd) and captures the node it names. The exchange runs
 * on the caller's libev loop (the bus is a watched descriptor, every answer
 * a callback), so a portal that takes its time, or never answers, holds up
 * nothing else; the whole exchange is bounded by its timeout.
 *
 * Restore token (ScreenCast version 4): with token_file set, a token kept
 * there is offered so the portal does not ask again, and the token the portal
 * hands back replaces it; without a file it is kept in memory for the next
 * session of this process. The session lives until portal_close (the portal
 * ends it, and the node, when the bus connection goes). */
#ifndef RD_AGENT_PORTAL_H
#define RD_AGENT_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct portal;

struct portal_stream {
	uint32_t node_id;
	int width, height;       /* 0 when the portal does not say */
	int pw_fd;               /* the PipeWire remote; the caller owns it */
	int version;             /* of the portal's ScreenCast interface */
	bool restored;           /* a restore token was offered */
	bool cursor_embedded;    /* the pointer is drawn into the picture */
};

/* Is there a session bus to ask? Fills why (for the log) when not. */
bool portal_bus_present(char *why, size_t whylen);
/* The outcome of portal_open_start: rc 0 with st (the caller owns
 * st->pw_fd); else RD_ERR_NOTFOUND when there is no portal, RD_ERR_REFUSED
 * when the user or the portal declined, RD_ERR_TIMEOUT when the portal did
 * not answer in time, or another rd_err, with why saying what happened. */
typedef void (*portal_done_fn)(int rc, const struct portal_stream *st, const char *why, void *ud);
/* Start asking, on loop's watchers: returns 0 with *out set, and done follows
 * exactly once from the loop (within timeout seconds) unless portal_close
 * comes first; or an rd_err at once (no session bus: RD_ERR_NOTFOUND), with
 * why filled and nothing to close. */
int portal_open_start(struct ev_loop *loop, const char *token_file, double timeout,
	portal_done_fn done, void *ud, struct portal **out, char *why, size_t whylen);
/* Reads what the bus has (without blocking): false once the portal has
 * closed the session (revoked at the screen, the output gone). */
bool portal_poll(struct portal *p);
/* Closes the portal session and the bus connection (an exchange under way
 * ends without done). NULL is fine. Not from inside done. */
void portal_close(struct portal *p);

#endif

/* portal: a screen cast session from the desktop's ScreenCast portal
 * (org.freedesktop.portal.ScreenCast on the session bus), for the pipewire
 * capture backend.
 *
 * portal_open asks for one monitor (cursor embedded when the portal offers
 * it), starts the cast and opens the PipeWire remote the portal grants: the
 * caller connects PipeWire through that descriptor (pw_context_connect_fd) and
 * captures the node it names. Every wait is bounded by the deadline.
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
/* RD_ERR_NOTFOUND when there is no bus or no portal (why says which),
 * RD_ERR_REFUSED when the user or the portal declined, RD_ERR_TIMEOUT, or
 * another rd_err. */
int portal_open(const char *token_file, double deadline, struct portal **out,
	struct portal_stream *st, char *why, size_t whylen);
/* Reads what the bus has (without blocking): false once the portal has
 * closed the session (revoked at the screen, the output gone). */
bool portal_poll(struct portal *p);
/* Closes the portal session and the bus connection. NULL is fine. */
void portal_close(struct portal *p);

#endif

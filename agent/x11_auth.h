/* x11_auth: connections to the X display with the cookie rd-agent-helper
 * read for us (the bytes, never the Xauthority file), or, with no helper,
 * the way xcb and Xlib find it themselves ($XAUTHORITY). */
#ifndef RD_AGENT_X11_AUTH_H
#define RD_AGENT_X11_AUTH_H

#include <xcb/xcb.h>

/* xcb_connect(name, screen) with the helper's cookie when there is one. */
xcb_connection_t *x11_connect(const char *name, int *screen);
/* Before XOpenDisplay (libxdo): hand Xlib the helper's cookie for name. */
void x11_xlib_auth(const char *name);

#endif

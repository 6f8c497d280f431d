/* x11_auth: X connections with the helper's cookie (see x11_auth.h). */
#define RD_LOG_SUBSYS "x11"
#include "x11_auth.h"

#include <X11/Xlib.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "privsep.h"

#define X11_AUTH_NAME "MIT-MAGIC-COOKIE-1"

xcb_connection_t *x11_connect(const char *name, int *screen)
{
	uint8_t cookie[PRIVSEP_COOKIE_LEN];
	const char *disp = name && name[0] ? name : getenv("DISPLAY");
	if (!disp || privsep_x11_cookie(disp, cookie) != RD_OK)
		return xcb_connect(name, screen);
	xcb_auth_info_t auth = { .namelen = (int)strlen(X11_AUTH_NAME), .name = X11_AUTH_NAME,
		.datalen = PRIVSEP_COOKIE_LEN, .data = (char *)cookie };
	xcb_connection_t *c = xcb_connect_to_display_with_auth_info(disp, &auth, screen);
	sodium_memzero(cookie, sizeof(cookie));
	return c;
}

void x11_xlib_auth(const char *name)
{
	/* Xlib keeps the pointers until the next call: a static copy. */
	static uint8_t cookie[PRIVSEP_COOKIE_LEN];
	static char auth_name[] = X11_AUTH_NAME;
	const char *disp = name && name[0] ? name : getenv("DISPLAY");
	if (!disp || privsep_x11_cookie(disp, cookie) != RD_OK) {
		XSetAuthorization(NULL, 0, NULL, 0);	/* back to $XAUTHORITY */
		return;
	}
	XSetAuthorization(auth_name, (int)strlen(auth_name), (char *)cookie, PRIVSEP_COOKIE_LEN);
}

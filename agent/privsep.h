/* privsep: the agent's side of rd-agent-helper, the small privileged process
 * that opens what needs privilege and passes descriptors over one AF_UNIX
 * SOCK_SEQPACKET socket (SCM_RIGHTS). Capture and input code call these
 * instead of opening devices themselves; with no helper configured (or its
 * socket absent at start) each call opens directly in this process, as an
 * agent on Xvfb or a reachable PipeWire node needs no privilege.
 *
 * Every call is a blocking round trip of a few microseconds, safe from any
 * thread (one at a time). A helper that died is reconnected on the next call;
 * a refusal or a dead helper is an RD_ERR_* with errno set and one log line,
 * never a crash. */
#ifndef RD_AGENT_PRIVSEP_H
#define RD_AGENT_PRIVSEP_H

#include <stdbool.h>
#include <stdint.h>

struct drm_fbinfo;

/* The helper's default socket. */
#define PRIVSEP_DEFAULT_SOCKET "/run/rd-agent-helper/helper.sock"

/* Choose the mode: path NULL or "" is direct; a path whose socket exists
 * (or that the operator named explicitly, required) is helper mode. Logs
 * which, once. Returns RD_OK, or an error when required and unreachable. */
int privsep_init(const char *path, bool required);
bool privsep_active(void);
/* Close the connection (at exit). */
void privsep_close(void);

/* /dev/dri/cardN opened read-write, the DRM master role dropped. */
int privsep_drm_open(unsigned card, int *fd);
/* GETFB2 of fb_id on drm_fd (a descriptor from privsep_drm_open): with the
 * helper, the helper runs it on the same open file, so *handle is valid on
 * drm_fd; the caller closes it. */
int privsep_drm_fb(int drm_fd, uint32_t fb_id, struct drm_fbinfo *fi, uint32_t *handle);
/* A uinput device already created: the rdesk virtual keyboard or pointer. */
enum privsep_uinput { PRIVSEP_UINPUT_KEYBOARD = 1, PRIVSEP_UINPUT_POINTER = 2 };
int privsep_uinput(enum privsep_uinput kind, int *fd);
/* The MIT-MAGIC-COOKIE-1 of X display ":N" (or "N", ":N.S") from the
 * Xauthority file the helper was configured with. RD_ERR_NOTFOUND: no cookie
 * (connect without one). Direct mode: RD_ERR_NOTFOUND too, as xcb and Xlib
 * read $XAUTHORITY themselves. */
#define PRIVSEP_COOKIE_LEN 16
int privsep_x11_cookie(const char *display, uint8_t cookie[PRIVSEP_COOKIE_LEN]);
/* A socket connected to the PipeWire daemon of the helper's configured user
 * (its runtime directory). Direct mode: RD_ERR_NOTFOUND (the caller connects
 * itself with pw_context_connect). */
int privsep_pipewire(int *fd);

#endif

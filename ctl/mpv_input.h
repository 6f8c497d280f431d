/* mpv_input: keyboard and mouse from the mpv viewer to the agent. rdctl runs
 * mpv with our Lua script (ctl/rdesk-input.lua, built into rdctl) and an IPC
 * socket; the script turns every key and mouse event in the window into a
 * script message, which arrives here as a JSON line
 *   {"event":"client-message","args":["rdesk","key","down","Ctrl+a"]}
 * and goes to the agent as a KeyEvent or MouseEvent. Window coordinates map
 * to remote pixels through mpv's osd-dimensions (window size and the margins
 * around the video), observed live, so a resized window still maps right.
 * A new remote size starts a new mpv: attach() follows it to its socket.
 * The viewer knows nothing of this: whoever starts mpv gives it the script
 * and a socket as arguments and attaches when it started. */
#ifndef RD_CTL_MPV_INPUT_H
#define RD_CTL_MPV_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "keymap.h"

struct ev_loop;
struct ctl_session;
struct ctl_mpv_input;

#define CTL_MPV_MAX_ARGS 6
#define CTL_MPV_ARG_MAX 64
#define CTL_MPV_LINE_MAX 4096

enum ctl_mpv_kind {
	CTL_MPV_OTHER = 0,
	CTL_MPV_MESSAGE,   /* client-message with args */
	CTL_MPV_OSD,       /* property-change of osd-dimensions */
};

struct ctl_mpv_osd {
	int w, h;             /* window (OSD) size */
	int ml, mr, mt, mb;   /* margins around the video */
};

struct ctl_mpv_event {
	enum ctl_mpv_kind kind;
	char args[CTL_MPV_MAX_ARGS][CTL_MPV_ARG_MAX];
	int nargs;
	struct ctl_mpv_osd osd;
};

/* One JSON line from mpv's IPC. RD_OK (kind may be OTHER) or RD_ERR_PROTO. */
int ctl_mpv_parse_event(const char *line, size_t len, struct ctl_mpv_event *out);
/* Window point -> remote pixel (clamped), for a remote screen rw x rh.
 * false when the OSD size is not known yet. */
bool ctl_mpv_map(const struct ctl_mpv_osd *osd, int rw, int rh, int wx, int wy, int *rx, int *ry);

/* Script file and socket folder are private to this process (removed by free). */
struct ctl_mpv_input *ctl_mpv_input_new(struct ev_loop *loop, struct ctl_session *s);
/* The script's path for mpv's --script (NULL when it could not be written). */
const char *ctl_mpv_input_script(const struct ctl_mpv_input *mi);
/* A socket path for the next player's --input-ipc-server. */
const char *ctl_mpv_input_next_socket(struct ctl_mpv_input *mi);
/* The player given the last socket started, showing a rw x rh remote
 * screen: connect to it (asking for the next socket does not disturb this). */
void ctl_mpv_input_attach(struct ctl_mpv_input *mi, int rw, int rh);
/* Events passed on so far. */
unsigned long ctl_mpv_input_events(const struct ctl_mpv_input *mi);
void ctl_mpv_input_free(struct ctl_mpv_input *mi);

#endif

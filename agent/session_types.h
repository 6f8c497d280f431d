/* session_types: what the session core (session.c) and the messages it
 * builds (session_msg.c) both use: states, paths and the host's share. */
#ifndef RD_AGENT_SESSION_TYPES_H
#define RD_AGENT_SESSION_TYPES_H

#include <stdbool.h>

#include "crypto.h"
#include "login.h"
#include "video.h"

enum session_state {
	SESSION_HANDSHAKE = 1,
	SESSION_LOGIN = 2,
	SESSION_ACTIVE = 3,
	SESSION_CLOSED = 4,
};

enum session_path {
	SESSION_PATH_PUNCH = 1,
	SESSION_PATH_LOCAL = 2,
	SESSION_PATH_RELAY = 3,
	SESSION_PATH_DIRECT = 4,
};

/* What the agent shares with every session (borrowed; must outlive it). */
struct session_host {
	const char *id;
	const struct rd_keypair *kp;
	const struct login_password *pw;
	struct login_guard *guard;
	const char *hostname;
	bool allow_plain;        /* accept a controller that declines encryption */
	enum video_codec codec_pref; /* 0 = follow the controller, else forced */
};

const char *session_path_name(enum session_path p);
const char *session_state_name(enum session_state st);

#endif

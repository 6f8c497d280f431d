/* session: the controller side of a session on an open stream: the secure
 * handshake (common/handshake), the pin check in known_peers, login (§10),
 * then video frames out to the verb, TestDelay echoed, keyframes on request. */
#ifndef RD_CTL_SESSION_H
#define RD_CTL_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "ctl.h"
#include "decode.h"
#include "message.pb-c.h"

struct ev_loop;
struct rd_conn;
struct ctl_session;

struct ctl_session_opts {
	const char *id;
	const uint8_t *peer_pk;      /* server-vouched long-term key */
	const char *password;
	const char *known_peers;     /* file, already expanded */
	enum ctl_codec prefer;       /* CTL_CODEC_NONE = auto */
	/* Video options for LoginRequest.option; 0 = not asked. */
	int fps;                     /* custom_fps */
	int image_quality;           /* ImageQuality: 2 low, 3 balanced, 4 best */
	int custom_quality;          /* custom_image_quality (q << 8) */
	bool video_ack;              /* video_ack_required: ack every frame */
	bool handshake_only;         /* doctor: stop after the handshake */
	bool audio;                  /* ask for sound (else disable_audio = Yes) */
};

struct ctl_session_ops {
	/* Logged in (or, handshake_only, the handshake is done). */
	void (*on_ready)(struct ctl_session *s, int width, int height, void *ud);
	void (*on_video)(struct ctl_session *s, enum ctl_codec codec, const uint8_t *data, size_t len,
		bool key, int64_t pts_ms, void *ud);
	/* The session ended; a failure is in res (ctl_result_fail) unless the verb
	 * itself closed it. Never free the session inside this callback. */
	void (*on_end)(struct ctl_session *s, void *ud);
	/* Optional: other messages once logged in (Clipboard, Misc.permission_info). */
	void (*on_message)(struct ctl_session *s, const Hbb__Message *m, void *ud);
};

/* Takes over conn. Checks the pin first: a different pinned key ends the
 * session at once (on_end from the loop) with exit code 6. */
struct ctl_session *ctl_session_new(struct ev_loop *loop, struct rd_conn *conn,
	const struct ctl_session_opts *o, struct ctl_result *res, const struct ctl_session_ops *ops,
	void *ud);
/* Ask the agent for a keyframe (Misc.refresh_video). */
void ctl_session_refresh_video(struct ctl_session *s);
/* Queue one message to the agent (input, clipboard). RD_ERR_CLOSED unless
 * logged in. */
int ctl_session_send(struct ctl_session *s, Hbb__Message *m);
/* Say goodbye (Misc.close_reason) and close; on_end follows from the loop. */
void ctl_session_close(struct ctl_session *s);
bool ctl_session_logged_in(const struct ctl_session *s);
/* The agreed key mode ("kdf" or "compat"). */
const char *ctl_session_key_mode(const struct ctl_session *s);
void ctl_session_free(struct ctl_session *s);

#endif

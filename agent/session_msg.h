/* session_msg: building the messages the controlled side sends after login
 * (PeerInfo, VideoFrame, SwitchDisplay). I/O free. */
#ifndef RD_AGENT_SESSION_MSG_H
#define RD_AGENT_SESSION_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "video.h"

struct session_host;
typedef int (*session_send_fn)(void *ud, const uint8_t *payload, size_t len);

/* LoginResponse{peer_info}. */
int session_msg_send_login_ok(session_send_fn send, void *ud, const struct session_host *host,
	const struct video_display *d);
/* VideoFrame{vp9s|h264s{frames[{data, key, pts}]}, display 0}. */
int session_msg_send_video(session_send_fn send, void *ud, const struct video_packet *pkt);
/* Misc.switch_display, then Message.peer_info with the new geometry. */
int session_msg_send_display(session_send_fn send, void *ud, const struct session_host *host,
	const struct video_display *d);

#endif

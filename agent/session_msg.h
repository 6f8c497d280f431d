/* session_msg: building the messages the controlled side sends after login
 * (PeerInfo, VideoFrame, SwitchDisplay). I/O free. */
#ifndef RD_AGENT_SESSION_MSG_H
#define RD_AGENT_SESSION_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.pb-c.h"
#include "session_types.h"
#include "video.h"

typedef int (*session_send_fn)(void *ud, const uint8_t *payload, size_t len);

/* LoginResponse{peer_info}. */
int session_msg_send_login_ok(session_send_fn send, void *ud, const struct session_host *host,
	const struct video_display *d);
/* VideoFrame{vp9s|h264s{frames[{data, key, pts}]}, display 0}. */
int session_msg_send_video(session_send_fn send, void *ud, const struct video_packet *pkt);
/* Misc.switch_display, then Message.peer_info with the new geometry. */
int session_msg_send_display(session_send_fn send, void *ud, const struct session_host *host,
	const struct video_display *d);

/* What OptionMessage.disable_audio asks: 1 sound, 0 none, -1 not said. */
int session_msg_audio_option(const Hbb__OptionMessage *o);

/* Codec for a controller's SupportedDecoding (NULL = absent: VP9 only), given
 * what this agent can encode. 0 when nothing fits. */
enum video_codec session_choose_codec(const Hbb__SupportedDecoding *sd);

#endif

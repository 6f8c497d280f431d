/* audio_msg: the messages that carry sound to a controller, as RustDesk
 * sends them: Misc.audio_format{48000, 2} once, then one AudioFrame per Opus
 * packet (with rdesk's pts extension). I/O free. */
#ifndef RD_AGENT_AUDIO_MSG_H
#define RD_AGENT_AUDIO_MSG_H

#include <stddef.h>
#include <stdint.h>

typedef int (*audio_msg_send_fn)(void *ud, const uint8_t *payload, size_t len);

int audio_msg_send_format(audio_msg_send_fn send, void *ud, uint32_t rate, uint32_t channels);
int audio_msg_send_frame(audio_msg_send_fn send, void *ud, const uint8_t *data, size_t len,
	int64_t pts_ms);

#endif

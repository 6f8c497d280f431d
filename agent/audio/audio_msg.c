/* audio_msg: Misc.audio_format and AudioFrame (see audio_msg.h). */
#include "audio_msg.h"

#include <stdlib.h>

#include "err.h"
#include "message.pb-c.h"
#include "pb.h"

int audio_msg_send_format(audio_msg_send_fn send, void *ud, uint32_t rate, uint32_t channels)
{
	Hbb__AudioFormat af = HBB__AUDIO_FORMAT__INIT;
	af.sample_rate = rate;
	af.channels = channels;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_AUDIO_FORMAT;
	misc.audio_format = &af;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	return rd_pb_send(&m.base, send, ud);
}

int audio_msg_send_frame(audio_msg_send_fn send, void *ud, const uint8_t *data, size_t len,
	int64_t pts_ms)
{
	Hbb__AudioFrame af = HBB__AUDIO_FRAME__INIT;
	af.data.data = (uint8_t *)data;
	af.data.len = len;
	af.rdesk_pts = pts_ms;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_AUDIO_FRAME;
	m.audio_frame = &af;
	return rd_pb_send(&m.base, send, ud);
}

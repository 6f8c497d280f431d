/* decode: H.264 and VP9 decoding with libavcodec on a worker thread. Packets
 * go in from the loop; decoded frames come back on the loop through ev_async.
 * After a decoder error or a dropped packet the worker skips to the next
 * keyframe and reports it, so the caller can ask the agent for one. */
#ifndef RD_CTL_DECODE_H
#define RD_CTL_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct AVFrame;
struct ctl_decoder;

enum ctl_codec {
	CTL_CODEC_NONE = 0,
	CTL_CODEC_VP9 = 1,
	CTL_CODEC_H264 = 2,
};
const char *ctl_codec_name(enum ctl_codec c);

struct ctl_decoder_ops {
	/* A decoded frame; the callee owns it (av_frame_free). decode_ms is the
	 * time the worker spent on it. */
	void (*on_frame)(struct ctl_decoder *d, struct AVFrame *f, int64_t pts_ms, double decode_ms,
		void *ud);
	/* The stream broke (decoder error or a packet dropped): a keyframe is needed. */
	void (*on_need_keyframe)(struct ctl_decoder *d, int err, void *ud);
};

struct ctl_decoder *ctl_decoder_new(struct ev_loop *loop, const struct ctl_decoder_ops *ops, void *ud);
/* Queue a copy of one encoded frame. RD_ERR_LIMIT when the queue is full (the
 * packet is dropped and the decoder waits for a keyframe). */
int ctl_decoder_push(struct ctl_decoder *d, enum ctl_codec codec, const uint8_t *data, size_t len,
	bool key, int64_t pts_ms);
/* Open the decoder for codec on the worker now (while the first keyframe is
 * on its way), so the first frame does not wait for the decoder's setup. */
void ctl_decoder_prepare(struct ctl_decoder *d, enum ctl_codec codec);
/* Stops the worker and frees everything; not from inside a callback. */
void ctl_decoder_free(struct ctl_decoder *d);

#endif

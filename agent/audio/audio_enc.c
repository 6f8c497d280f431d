/* audio_enc: libopus behind a frame gatherer (see audio_enc.h). */
#define RD_LOG_SUBSYS "audio"
#include "audio_enc.h"

#include <math.h>
#include <opus/opus.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "util.h"

struct audio_enc {
	OpusEncoder *opus;
	int frame;                 /* samples per channel in one frame */
	float *pcm;                /* frame * AUDIO_CHANNELS */
	int have;                  /* samples per channel gathered */
	bool stamped;              /* pts0 is valid */
	int64_t pts0;              /* the time of pcm[0] */
	uint8_t out[AUDIO_ENC_MAX_PACKET];
	struct audio_enc_stats st;
};

int audio_enc_new(const struct audio_enc_config *cfg, struct audio_enc **out)
{
	if (cfg->frame_ms != 10 && cfg->frame_ms != 20)
		return RD_ERR_INVAL;
	if (cfg->bitrate_kbps < 6 || cfg->bitrate_kbps > 510)
		return RD_ERR_INVAL;
	int err = 0;
	int app = cfg->lowdelay ? OPUS_APPLICATION_RESTRICTED_LOWDELAY : OPUS_APPLICATION_AUDIO;
	OpusEncoder *o = opus_encoder_create(AUDIO_RATE, AUDIO_CHANNELS, app, &err);
	if (!o || err != OPUS_OK) {
		log_err("opus encoder: %s", opus_strerror(err));
		return RD_ERR_UNSUPPORTED;
	}
	opus_encoder_ctl(o, OPUS_SET_BITRATE(cfg->bitrate_kbps * 1000));
	opus_encoder_ctl(o, OPUS_SET_DTX(1));
	opus_encoder_ctl(o, OPUS_SET_SIGNAL(OPUS_SIGNAL_MUSIC));
	struct audio_enc *e = xcalloc(1, sizeof(*e));
	e->opus = o;
	e->frame = AUDIO_RATE / 1000 * cfg->frame_ms;
	e->pcm = xcalloc((size_t)e->frame * AUDIO_CHANNELS, sizeof(float));
	*out = e;
	return RD_OK;
}

void audio_enc_free(struct audio_enc *e)
{
	if (!e)
		return;
	opus_encoder_destroy(e->opus);
	free(e->pcm);
	free(e);
}

void audio_enc_reset(struct audio_enc *e)
{
	e->have = 0;
	e->stamped = false;
}

int audio_enc_frame_samples(const struct audio_enc *e)
{
	return e->frame;
}

void audio_enc_get_stats(const struct audio_enc *e, struct audio_enc_stats *out)
{
	*out = e->st;
}

static bool enc__silent(const float *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fabsf(pcm[i]) >= AUDIO_ENC_SILENCE)
			return false;
	return true;
}

/* A whole frame is gathered: encode it (unless silent) and hand it on. */
static void enc__frame(struct audio_enc *e, audio_enc_packet_fn fn, void *ud)
{
	int64_t pts = e->pts0;
	e->st.frames++;
	e->have = 0;
	e->pts0 += e->frame / (AUDIO_RATE / 1000);
	if (enc__silent(e->pcm, (size_t)e->frame * AUDIO_CHANNELS)) {
		e->st.silent++;
		return;
	}
	int n = opus_encode_float(e->opus, e->pcm, e->frame, e->out, sizeof(e->out));
	if (n < 0) {
		log_warn("opus encode: %s", opus_strerror(n));
		return;
	}
	if (n <= 2) {	/* DTX: nothing worth sending */
		e->st.silent++;
		return;
	}
	e->st.packets++;
	e->st.bytes += (uint64_t)n;
	fn(e->out, (size_t)n, pts, ud);
}

void audio_enc_push(struct audio_enc *e, const float *pcm, size_t nframes, int64_t pts_ms,
	audio_enc_packet_fn fn, void *ud)
{
	int64_t expect = e->pts0 + (int64_t)e->have * 1000 / AUDIO_RATE;
	if (!e->stamped || llabs(pts_ms - expect) > AUDIO_ENC_RESYNC_MS) {
		/* Start the count again at this buffer (gathered samples go). */
		e->have = 0;
		e->pts0 = pts_ms;
		e->stamped = true;
	}
	while (nframes > 0) {
		size_t take = (size_t)(e->frame - e->have);
		if (take > nframes)
			take = nframes;
		memcpy(e->pcm + (size_t)e->have * AUDIO_CHANNELS, pcm, take * AUDIO_CHANNELS * sizeof(float));
		e->have += (int)take;
		pcm += take * AUDIO_CHANNELS;
		nframes -= take;
		if (e->have == e->frame)
			enc__frame(e, fn, ud);
	}
}

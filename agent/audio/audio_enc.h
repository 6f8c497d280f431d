/* audio_enc: PCM (48 kHz stereo, interleaved float) in, Opus packets out.
 * Samples are gathered into whole frames (10 or 20 ms); each frame is
 * encoded with libopus and handed to a callback with its time stamp. Silence
 * costs next to nothing: a frame whose peak is under AUDIO_ENC_SILENCE is
 * neither encoded nor sent, and with DTX on the encoder's own "nothing to
 * send" packets (two bytes or less) are dropped too. I/O free. */
#ifndef RD_AGENT_AUDIO_ENC_H
#define RD_AGENT_AUDIO_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIO_RATE 48000
#define AUDIO_CHANNELS 2
#define AUDIO_ENC_SILENCE 1.0e-4f     /* peak under -80 dBFS: a silent frame */
#define AUDIO_ENC_MAX_PACKET 1500

struct audio_enc_config {
	int bitrate_kbps;   /* 6..510 */
	int frame_ms;       /* 10 or 20 */
	bool lowdelay;      /* OPUS_APPLICATION_RESTRICTED_LOWDELAY, else _AUDIO */
};

/* One packet: data is valid during the call only. pts_ms is the time of the
 * frame's first sample. */
typedef void (*audio_enc_packet_fn)(const uint8_t *data, size_t len, int64_t pts_ms, void *ud);

struct audio_enc_stats {
	uint64_t frames;        /* whole frames gathered */
	uint64_t packets;       /* packets handed on */
	uint64_t bytes;
	uint64_t silent;        /* frames skipped as silent (or DTX) */
};

struct audio_enc;

int audio_enc_new(const struct audio_enc_config *cfg, struct audio_enc **out);
void audio_enc_free(struct audio_enc *e);
/* nframes interleaved stereo samples whose first one was heard at pts_ms
 * (on the caller's clock). Stamps follow the sample count; a stamp more
 * than AUDIO_ENC_RESYNC_MS away from the count's (a gap in the stream, a
 * drifting clock) starts the count again there. */
#define AUDIO_ENC_RESYNC_MS 60
void audio_enc_push(struct audio_enc *e, const float *pcm, size_t nframes, int64_t pts_ms,
	audio_enc_packet_fn fn, void *ud);
/* Forget gathered samples (the stream stopped). */
void audio_enc_reset(struct audio_enc *e);
int audio_enc_frame_samples(const struct audio_enc *e);
void audio_enc_get_stats(const struct audio_enc *e, struct audio_enc_stats *out);

#endif

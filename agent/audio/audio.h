/* audio: the host's sound for every session that wants it. One PipeWire
 * capture stream (audio_pw.h) and one Opus encoder (audio_enc.h) run while at
 * least one subscriber is there; packets go to every subscriber on the loop.
 * Where no PipeWire daemon is reachable, audio is off: the reason is logged
 * once, and a later subscriber tries again (every AUDIO_RETRY_SECS at most).
 * A stream that fails later (daemon gone) is reopened on the same timer. */
#ifndef RD_AGENT_AUDIO_H
#define RD_AGENT_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio_enc.h"

struct ev_loop;
struct audio;
struct audio_sub;

#define AUDIO_RETRY_SECS 5.0

struct audio_config {
	const char *source;        /* PipeWire node (name or id); NULL or "": default sink's monitor */
	int bitrate_kbps;          /* 6..510 */
	int frame_ms;              /* 10 or 20 */
	bool lowdelay;             /* restricted low delay, else the general audio mode */
	/* The clock of the time stamps, in ms (the video's, so both line up). */
	int64_t (*clock_ms)(void *ud);
	void *clock_ud;
};

struct audio_packet {
	const uint8_t *data;       /* one Opus packet, valid during the call */
	size_t len;
	int64_t pts_ms;            /* its first sample, on cfg->clock_ms */
	int frame_ms;
};

/* cfg's strings are copied. Nothing is opened until the first subscriber. */
struct audio *audio_new(struct ev_loop *loop, const struct audio_config *cfg);
/* Only when no subscriber is left. */
void audio_free(struct audio *a);
/* on_packet is called for every packet while subscribed. */
struct audio_sub *audio_subscribe(struct audio *a, void (*on_packet)(const struct audio_packet *p,
	void *ud), void *ud);
/* Not from inside on_packet. */
void audio_unsubscribe(struct audio_sub *s);
unsigned audio_subscribers(const struct audio *a);

struct audio_stats {
	bool capturing;            /* a stream is open */
	const char *stream;        /* its state ("streaming", "paused"...) */
	struct audio_enc_stats enc;
};
void audio_get_stats(const struct audio *a, struct audio_stats *out);

#endif

/* audio_pw: a PipeWire capture stream of the host's sound, on the agent's
 * loop (the PipeWire loop's descriptor is watched by libev; no thread of our
 * own). By default the stream asks the session manager for the monitor of
 * the default sink (stream.capture.sink); a source names a node (name or
 * id) instead. Samples arrive as 48 kHz stereo interleaved float, whatever
 * the node's format (the stream converts). */
#ifndef RD_AGENT_AUDIO_PW_H
#define RD_AGENT_AUDIO_PW_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct audio_pw;

struct audio_pw_ops {
	/* nframes stereo samples; the first was heard at about now_ms minus
	 * their duration, on the caller's clock (see audio_pw_open). */
	void (*on_pcm)(const float *pcm, size_t nframes, void *ud);
	/* The connection or the stream failed for good (logged). The owner
	 * closes the stream later, never inside this call. */
	void (*on_failed)(void *ud);
};

/* Connect and start the stream. why gets the reason on failure (no daemon,
 * no stream). */
int audio_pw_open(struct ev_loop *loop, const char *source, const struct audio_pw_ops *ops,
	void *ud, struct audio_pw **out, char *why, size_t whylen);
void audio_pw_close(struct audio_pw *a);
/* The node the stream is linked to ("" until linked), for status. */
const char *audio_pw_state(const struct audio_pw *a);

#endif

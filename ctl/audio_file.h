/* audio_file: sound alone into a file, for `rdctl listen`: Ogg Opus (.opus,
 * .ogg; the packets as they came, no re-encoding) with libavformat, or WAV
 * (.wav; decoded with libopus to 16-bit 48 kHz stereo). Times are the
 * agent's, in ms, from the first packet on. */
#ifndef RD_CTL_AUDIO_FILE_H
#define RD_CTL_AUDIO_FILE_H

#include <stddef.h>
#include <stdint.h>

struct ctl_audio_file;

/* RD_OK when the extension is one of .opus, .ogg, .wav. */
int ctl_audio_file_check_path(const char *path);
int ctl_audio_file_new(const char *path, unsigned channels, struct ctl_audio_file **out);
/* One Opus packet at pts_ms, dur_ms long. */
int ctl_audio_file_write(struct ctl_audio_file *f, const uint8_t *data, size_t len, int64_t pts_ms,
	int dur_ms);
/* Seconds written so far. */
double ctl_audio_file_duration(const struct ctl_audio_file *f);
/* Finish and free; the duration written in *dur. */
int ctl_audio_file_finish(struct ctl_audio_file *f, double *dur);
void ctl_audio_file_free(struct ctl_audio_file *f);
/* OpusHead for Ogg and Matroska (19 bytes, pre-skip 0, family 0). */
#define CTL_OPUS_HEAD_LEN 19
void ctl_opus_head(uint8_t out[CTL_OPUS_HEAD_LEN], unsigned channels);

#endif

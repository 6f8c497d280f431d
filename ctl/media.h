/* media: writing what rdctl receives: a decoded frame as PNG (libavcodec's PNG
 * encoder), and the encoded stream into a container without re-encoding
 * (libavformat: Matroska, WebM, MP4 by the file name's extension). */
#ifndef RD_CTL_MEDIA_H
#define RD_CTL_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

struct AVFrame;
struct ctl_recorder;
struct ctl_result;

/* Convert f to RGB and write path as PNG. */
int ctl_png_write(const struct AVFrame *f, const char *path);

/* A recorder for one codec and size; timestamps in ms. Checks the extension
 * (mkv, webm, mp4) and that the container takes the codec (WebM: VP9 only). */
int ctl_recorder_new(const char *path, enum ctl_codec codec, int width, int height,
	struct ctl_recorder **out);
/* One encoded frame; the first must be a keyframe (for H.264 it carries the
 * SPS/PPS that become the container's codec header). A keyframe of another
 * size than the file's finishes that file and starts the next one: FILE.EXT,
 * then FILE-2.EXT, FILE-3.EXT... (one size per file, each from time 0). */
int ctl_recorder_write(struct ctl_recorder *r, const uint8_t *data, size_t len, bool key,
	int64_t pts_ms);
/* Where the list of files goes: "segments" in res->extra_json (output, width,
 * height, start and duration in seconds, frames) and lines in extra_text. */
void ctl_recorder_set_result(struct ctl_recorder *r, struct ctl_result *res);
/* Flush; the last frame lasts until end_pts_ms. Returns the media duration in
 * seconds (all files together) through *dur. Frees r. */
int ctl_recorder_finish(struct ctl_recorder *r, int64_t end_pts_ms, double *dur, long *frames);
/* An Opus track (48 kHz, channels) beside the picture, in every file: before
 * the first write. Its packets carry the agent's time, as the video's do;
 * sound from before the first keyframe of a file is left out. Matroska, WebM
 * and MP4. */
int ctl_recorder_add_audio(struct ctl_recorder *r, unsigned channels);
/* RD_ERR_AGAIN until the first keyframe was written. */
int ctl_recorder_write_audio(struct ctl_recorder *r, const uint8_t *data, size_t len,
	int64_t pts_ms, int dur_ms);
/* Seconds of sound written (files finished). Valid until finish frees r. */
double ctl_recorder_audio_duration(const struct ctl_recorder *r);
/* Drop r without finishing (error path). */
void ctl_recorder_free(struct ctl_recorder *r);
/* RD_OK when path has an extension the recorder knows. */
int ctl_recorder_check_path(const char *path, enum ctl_codec codec);

#endif

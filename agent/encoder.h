/* encoder: video encoders behind one ops table (x264 for H.264, libvpx for VP9).
 *
 * A backend embeds struct encoder first. Input is an I420 picture of the size
 * the encoder was opened with; output is one packet per picture (H.264 as
 * Annex B with SPS/PPS repeated before every IDR; VP9 as one frame or
 * superframe). encoder_encode() returns:
 *   RD_ENC_DONE    *out holds a packet (valid until the next call)
 *   RD_ENC_RETRY   no packet this time (the encoder holds the picture back)
 *   RD_ENC_REINIT  the picture size differs from the encoder's: reopen it
 *   RD_ENC_FATAL   the encoder failed; close it
 * An encoder is used by one thread at a time (the pipeline's worker). */
#ifndef RD_AGENT_ENCODER_H
#define RD_AGENT_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The codecs there are encoders for. */
enum encoder_codec {
	ENCODER_CODEC_VP9 = 1,
	ENCODER_CODEC_H264 = 2,
};

enum encoder_result {
	RD_ENC_DONE = 0,
	RD_ENC_RETRY = 1,
	RD_ENC_REINIT = 2,
	RD_ENC_FATAL = 3,
};

struct encoder_config {
	enum encoder_codec codec;
	int width;             /* even, >= 16 */
	int height;
	int fps;               /* nominal rate, for rate control (1..120) */
	int quality;           /* 1..100 */
	int bitrate_kbps;      /* ceiling; 0 = derived from quality, size and fps */
	int threads;           /* 0 = number of CPUs (at most 4) */
};

struct encoder_image {
	int width;
	int height;
	const uint8_t *planes[3];  /* Y, U, V */
	int strides[3];
};

struct encoder_packet {
	const uint8_t *data;
	size_t len;
	bool key;
	int64_t pts_ms;
};

struct encoder;

struct encoder_ops {
	const char *name;
	enum encoder_codec codec;
	int (*open)(const struct encoder_config *cfg, struct encoder **out);
	void (*close)(struct encoder *e);
	int (*encode)(struct encoder *e, const struct encoder_image *img, int64_t pts_ms,
		bool force_key, struct encoder_packet *out);
	/* Apply cfg.quality and cfg.bitrate_kbps (already stored in the base).
	 * fps (> 0) is the rate pictures come at now: the backend takes it into
	 * cfg.fps or keeps the rate it was opened with, as its rate control
	 * needs; 0 leaves cfg.fps as it is. */
	int (*set_rate)(struct encoder *e, int fps);
};

/* Base struct, first member of every backend's struct. */
struct encoder {
	const struct encoder_ops *ops;
	struct encoder_config cfg;
	uint64_t frames;
};

/* Open an encoder for cfg->codec; RD_ERR_UNSUPPORTED when no backend has it. */
int encoder_open(const struct encoder_config *cfg, struct encoder **out);
void encoder_close(struct encoder *e);
const char *encoder_name(const struct encoder *e);
int encoder_encode(struct encoder *e, const struct encoder_image *img, int64_t pts_ms,
	bool force_key, struct encoder_packet *out);
/* Change the rate live: fps is the picture rate now (0 = unchanged; whether
 * the ceiling follows it is the backend's choice, see set_rate), quality
 * 1..100, the bitrate ceiling in kbit/s (0 = from quality). */
int encoder_set_rate(struct encoder *e, int fps, int quality, int bitrate_kbps);
/* The bitrate ceiling the encoder runs with (kbit/s). */
int encoder_bitrate_kbps(const struct encoder *e);

/* Quality 1..100 to a bitrate for w x h at fps (kbit/s): bits per pixel per
 * frame grow geometrically from 0.005 at quality 1 to 0.3 at 100. */
int encoder_quality_to_kbps(int quality, int width, int height, int fps);
/* Quality 1..100 to a constant-quality level: H.264 CRF 40..18, VP9 min quantizer 31..1. */
int encoder_quality_to_level(enum encoder_codec codec, int quality);
int encoder_default_threads(void);

/* I420 pictures owned by the pipeline, filled from captured BGRX frames with
 * libyuv (BT.601, limited range). The size is the frame's rounded down to even. */
struct capture_frame;
struct capture_rect;
int encoder_image_alloc(struct encoder_image *img, int width, int height);
void encoder_image_free(struct encoder_image *img);
/* Convert the given rectangles of f (or all of it when they cover most of the
 * picture) into img; img must be f's size rounded down to even. */
void encoder_image_convert(struct encoder_image *img, const struct capture_frame *f,
	const struct capture_rect *rects, int n_rects);

extern const struct encoder_ops encoder_x264_ops;
extern const struct encoder_ops encoder_vpx_ops;

#endif

/* encoder: x264 and VP9 encode testsrc pictures that libavcodec decodes back
 * within codec error; keyframes on request; live rate changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libavcodec/avcodec.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/capture.h"
#include "agent/encoder.h"
#include "err.h"
#include "log.h"

struct dec {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame;
};

static void dec_open(struct dec *d, enum encoder_codec codec)
{
	const AVCodec *c = avcodec_find_decoder(codec == ENCODER_CODEC_H264 ? AV_CODEC_ID_H264 :
		AV_CODEC_ID_VP9);
	assert_non_null(c);
	d->ctx = avcodec_alloc_context3(c);
	d->ctx->thread_count = 1;
	assert_int_equal(avcodec_open2(d->ctx, c, NULL), 0);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
}

static void dec_close(struct dec *d)
{
	av_frame_free(&d->frame);
	av_packet_free(&d->pkt);
	avcodec_free_context(&d->ctx);
}

/* Decode one packet; true when it gave a picture (in d->frame). */
static bool dec_packet(struct dec *d, const uint8_t *data, size_t len)
{
	assert_int_equal(av_new_packet(d->pkt, (int)len), 0);
	memcpy(d->pkt->data, data, len);
	int rc = avcodec_send_packet(d->ctx, d->pkt);
	av_packet_unref(d->pkt);
	if (rc < 0)
		return false;
	return avcodec_receive_frame(d->ctx, d->frame) == 0;
}

static double psnr_plane(const uint8_t *a, int sa, const uint8_t *b, int sb, int w, int h)
{
	double se = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int dv = a[(size_t)y * sa + x] - b[(size_t)y * sb + x];
			se += dv * dv;
		}
	double mse = se / ((double)w * h);
	return mse < 1e-9 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

/* PSNR of the decoded picture against the encoder's input, Y and chroma. */
static double psnr(const struct dec *d, const struct encoder_image *img)
{
	const AVFrame *f = d->frame;
	assert_int_equal(f->width, img->width);
	assert_int_equal(f->height, img->height);
	double y = psnr_plane(f->data[0], f->linesize[0], img->planes[0], img->strides[0],
		img->width, img->height);
	double u = psnr_plane(f->data[1], f->linesize[1], img->planes[1], img->strides[1],
		img->width / 2, img->height / 2);
	double v = psnr_plane(f->data[2], f->linesize[2], img->planes[2], img->strides[2],
		img->width / 2, img->height / 2);
	return (4 * y + u + v) / 6;
}

struct rig {
	struct capture *src;
	struct encoder *enc;
	struct encoder_image img;
	int64_t pts;
};

static void rig_open(struct rig *r, enum encoder_codec codec, const char *size, int quality)
{
	struct capture_config cc = { .backend = "testsrc", .display = size };
	memset(r, 0, sizeof(*r));
	assert_int_equal(capture_open(&cc, &r->src), 0);
	assert_int_equal(encoder_image_alloc(&r->img, r->src->width, r->src->height), 0);
	/* One thread: with sliced threads x264's row-level VBV control reads the
	 * other slices' progress, so sizes near the ceiling vary with the load
	 * of the machine; the threaded encoders run in the system tests. */
	struct encoder_config ec = { .codec = codec, .width = r->img.width,
		.height = r->img.height, .fps = 30, .quality = quality, .threads = 1 };
	assert_int_equal(encoder_open(&ec, &r->enc), 0);
}

static void rig_close(struct rig *r)
{
	encoder_close(r->enc);
	encoder_image_free(&r->img);
	capture_close(r->src);
}

/* Next testsrc frame through conversion (damage only) and the encoder. */
static int rig_step(struct rig *r, bool key, struct encoder_packet *p)
{
	struct capture_frame *f;
	assert_int_equal(capture_grab(r->src, false, &f), RD_CAPTURE_DONE);
	encoder_image_convert(&r->img, f, f->damage, f->n_damage);
	capture_frame_release(r->src, f);
	r->pts += 33;
	return encoder_encode(r->enc, &r->img, r->pts, key, p);
}

static void roundtrip(enum encoder_codec codec)
{
	struct rig r;
	struct dec d;
	struct encoder_packet p;
	rig_open(&r, codec, "352x288", 50);
	dec_open(&d, codec);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(rig_step(&r, false, &p), RD_ENC_DONE);
		assert_true(p.len > 0);
		assert_int_equal(p.key, i == 0);	/* the first is a keyframe, no others */
		assert_int_equal(p.pts_ms, r.pts);
		if (codec == ENCODER_CODEC_H264) {
			/* Annex B start code. */
			assert_memory_equal(p.data, "\0\0\0\1", 4);
		}
		assert_true(dec_packet(&d, p.data, p.len));
		double q = psnr(&d, &r.img);
		if (q <= 30.0)
			fail_msg("frame %d: PSNR %.1f dB", i, q);
	}
	dec_close(&d);
	rig_close(&r);
}

static void test_h264_roundtrip(void **state)
{
	(void)state;
	roundtrip(ENCODER_CODEC_H264);
}

static void test_vp9_roundtrip(void **state)
{
	(void)state;
	roundtrip(ENCODER_CODEC_VP9);
}

/* A keyframe asked for mid-stream decodes on a decoder that saw nothing else. */
static void keyframe(enum encoder_codec codec)
{
	struct rig r;
	struct encoder_packet p;
	rig_open(&r, codec, "320x240", 50);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(rig_step(&r, i == 5, &p), RD_ENC_DONE);
		assert_int_equal(p.key, i == 0 || i == 5);
		if (i == 5) {
			struct dec d;
			dec_open(&d, codec);
			assert_true(dec_packet(&d, p.data, p.len));
			assert_true(psnr(&d, &r.img) > 30.0);
			dec_close(&d);
		}
	}
	rig_close(&r);
}

static void test_h264_keyframe(void **state)
{
	(void)state;
	keyframe(ENCODER_CODEC_H264);
}

static void test_vp9_keyframe(void **state)
{
	(void)state;
	keyframe(ENCODER_CODEC_VP9);
}

/* Full-frame noise that changes every picture: hard content for the rate
 * (mild enough that the coarsest quantizer brings it under any ceiling). */
static void noise(struct encoder_image *img, uint32_t *seed)
{
	for (int p = 0; p < 3; p++) {
		int w = p ? img->width / 2 : img->width, h = p ? img->height / 2 : img->height;
		for (int y = 0; y < h; y++) {
			uint8_t *row = (uint8_t *)img->planes[p] + (size_t)y * img->strides[p];
			for (int x = 0; x < w; x++) {
				*seed = *seed * 1664525u + 1013904223u;
				row[x] = (uint8_t)(100 + (*seed >> 24) % 40);
			}
		}
	}
}

static size_t bytes_for(struct rig *r, int frames, uint32_t *seed)
{
	size_t total = 0;
	struct encoder_packet p;
	for (int i = 0; i < frames; i++) {
		noise(&r->img, seed);
		r->pts += 33;
		assert_int_equal(encoder_encode(r->enc, &r->img, r->pts, false, &p), RD_ENC_DONE);
		total += p.len;
	}
	return total;
}

/* The bitrate ceiling holds on noise, and raising it live lets more through. */
static void rate(enum encoder_codec codec)
{
	struct rig r;
	uint32_t seed = 1;
	rig_open(&r, codec, "320x240", 100);
	assert_int_equal(encoder_set_rate(r.enc, 0, 100, 200), 0);
	assert_int_equal(encoder_bitrate_kbps(r.enc), 200);
	bytes_for(&r, 60, &seed);	/* settle after the keyframe */
	size_t low = bytes_for(&r, 30, &seed);
	assert_int_equal(encoder_set_rate(r.enc, 0, 100, 2000), 0);
	bytes_for(&r, 10, &seed);
	size_t high = bytes_for(&r, 30, &seed);
	/* 30 frames at 30 fps = 1 s: 200 kbit/s is 25 kB, with VBV slack. */
	print_message("%s: %zu bytes/s at 200 kbit/s, %zu at 2000\n", encoder_name(r.enc), low, high);
	if (low > 25000 * 2)
		fail_msg("%s: %zu bytes in 1 s at a 200 kbit/s ceiling", encoder_name(r.enc), low);
	if (high < low * 4)
		fail_msg("%s: %zu bytes at 2000 kbit/s vs %zu at 200", encoder_name(r.enc), high, low);
	/* Quality alone (ceiling from quality) changes the size of easy content too. */
	rig_close(&r);
}

static void test_h264_rate(void **state)
{
	(void)state;
	rate(ENCODER_CODEC_H264);
}

static void test_vp9_rate(void **state)
{
	(void)state;
	rate(ENCODER_CODEC_VP9);
}

static size_t key_size(enum encoder_codec codec, int quality)
{
	struct rig r;
	struct encoder_packet p;
	uint32_t seed = 7;
	rig_open(&r, codec, "640x360", 50);
	assert_int_equal(encoder_set_rate(r.enc, 0, quality, 0), 0);
	noise(&r.img, &seed);
	assert_int_equal(encoder_encode(r.enc, &r.img, 0, true, &p), RD_ENC_DONE);
	size_t n = p.len;
	rig_close(&r);
	return n;
}

static void test_quality_changes_size(void **state)
{
	(void)state;
	for (int c = ENCODER_CODEC_VP9; c <= ENCODER_CODEC_H264; c++) {
		size_t lo = key_size((enum encoder_codec)c, 5), hi = key_size((enum encoder_codec)c, 95);
		if (hi <= lo * 3 / 2)
			fail_msg("codec %d: keyframe %zu bytes at quality 95, %zu at 5", c, hi, lo);
	}
}

static void test_size_mismatch(void **state)
{
	(void)state;
	struct rig r;
	struct encoder_image other;
	struct encoder_packet p;
	rig_open(&r, ENCODER_CODEC_H264, "320x240", 50);
	assert_int_equal(encoder_image_alloc(&other, 321, 241), 0);
	assert_int_equal(other.width, 320);	/* rounded down to even */
	encoder_image_free(&other);
	assert_int_equal(encoder_image_alloc(&other, 160, 120), 0);
	assert_int_equal(encoder_encode(r.enc, &other, 0, false, &p), RD_ENC_REINIT);
	encoder_image_free(&other);
	rig_close(&r);
	struct encoder_config bad = { .codec = ENCODER_CODEC_VP9, .width = 321, .height = 240 };
	struct encoder *e;
	assert_int_equal(encoder_open(&bad, &e), RD_ERR_INVAL);
	bad.codec = (enum encoder_codec)7;
	bad.width = 320;
	assert_int_equal(encoder_open(&bad, &e), RD_ERR_UNSUPPORTED);
}

/* A new picture rate: VP9's ceiling follows it (libvpx times pictures by
 * pts), H.264's stays the one of the rate x264 was opened with. */
static void test_rate_follows_fps(void **state)
{
	(void)state;
	struct rig r;
	int at10 = encoder_quality_to_kbps(80, 640, 360, 10);
	int at30 = encoder_quality_to_kbps(80, 640, 360, 30);
	assert_true(at10 < at30);
	rig_open(&r, ENCODER_CODEC_VP9, "640x360", 80);
	assert_int_equal(encoder_set_rate(r.enc, 10, 80, 0), 0);
	assert_int_equal(encoder_bitrate_kbps(r.enc), at10);
	rig_close(&r);
	rig_open(&r, ENCODER_CODEC_H264, "640x360", 80);
	assert_int_equal(encoder_set_rate(r.enc, 10, 80, 0), 0);
	assert_int_equal(encoder_bitrate_kbps(r.enc), at30);
	rig_close(&r);
}

static void test_quality_mapping(void **state)
{
	(void)state;
	int prev = 0;
	for (int q = 1; q <= 100; q++) {
		int k = encoder_quality_to_kbps(q, 1920, 1080, 30);
		assert_true(k >= prev);
		prev = k;
	}
	/* 1080p30: about 0.3 Mbit/s at the bottom, 2-3 at 50, near 19 at the top. */
	assert_in_range(encoder_quality_to_kbps(1, 1920, 1080, 30), 250, 400);
	assert_in_range(encoder_quality_to_kbps(50, 1920, 1080, 30), 2000, 3500);
	assert_in_range(encoder_quality_to_kbps(100, 1920, 1080, 30), 15000, 20000);
	assert_int_equal(encoder_quality_to_level(ENCODER_CODEC_H264, 1), 40);
	assert_int_equal(encoder_quality_to_level(ENCODER_CODEC_H264, 100), 18);
	assert_int_equal(encoder_quality_to_level(ENCODER_CODEC_VP9, 100), 1);
	assert_true(encoder_quality_to_level(ENCODER_CODEC_VP9, 1) > encoder_quality_to_level(ENCODER_CODEC_VP9, 50));
}

/* Converting only the damage gives the same picture as converting it all. */
static void test_convert_damage_only(void **state)
{
	(void)state;
	struct capture_config cc = { .backend = "testsrc", .display = "200x120" };
	struct capture *a;
	struct encoder_image inc, whole;
	assert_int_equal(capture_open(&cc, &a), 0);
	assert_int_equal(encoder_image_alloc(&inc, 200, 120), 0);
	assert_int_equal(encoder_image_alloc(&whole, 200, 120), 0);
	for (int i = 0; i < 12; i++) {
		struct capture_frame *f;
		assert_int_equal(capture_grab(a, false, &f), RD_CAPTURE_DONE);
		encoder_image_convert(&inc, f, f->damage, f->n_damage);
		encoder_image_convert(&whole, f, NULL, 0);
		capture_frame_release(a, f);
	}
	for (int p = 0; p < 3; p++) {
		int w = p ? 100 : 200, h = p ? 60 : 120;
		for (int y = 0; y < h; y++)
			assert_memory_equal(inc.planes[p] + (size_t)y * inc.strides[p],
				whole.planes[p] + (size_t)y * whole.strides[p], (size_t)w);
	}
	encoder_image_free(&inc);
	encoder_image_free(&whole);
	capture_close(a);
}

int main(void)
{
	rd_log_set_level(RD_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_h264_roundtrip),
		cmocka_unit_test(test_vp9_roundtrip),
		cmocka_unit_test(test_h264_keyframe),
		cmocka_unit_test(test_vp9_keyframe),
		cmocka_unit_test(test_h264_rate),
		cmocka_unit_test(test_vp9_rate),
		cmocka_unit_test(test_quality_changes_size),
		cmocka_unit_test(test_size_mismatch),
		cmocka_unit_test(test_rate_follows_fps),
		cmocka_unit_test(test_quality_mapping),
		cmocka_unit_test(test_convert_damage_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

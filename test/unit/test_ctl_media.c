/* ctl media: real H.264 and VP9 streams (made here with libavcodec's libx264
 * and libvpx encoders) through rdctl's decoder worker, PNG writer and
 * recorder; the results are read back with libavcodec/libavformat. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>

#include "ctl/decode.h"
#include "ctl/media.h"
#include "err.h"
#include "util.h"
#include "testutil.h"

#define W 320
#define H 240
#define NFRAMES 30
#define FPS 10

struct pkt {
	uint8_t *data;
	size_t len;
	bool key;
	int64_t pts;
};

static struct pkt pkts[NFRAMES + 8];
static int npkts;
static char tmpdir[256];

/* Frame i: a gradient with a bright square that moves; Y only matters for the checks. */
static void fill(AVFrame *f, int i)
{
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int in = x >= 20 + i * 4 && x < 84 + i * 4 && y >= 60 && y < 124;
			f->data[0][y * f->linesize[0] + x] = (uint8_t)(in ? 235 : 16 + (x * 200) / W);
		}
	for (int y = 0; y < H / 2; y++)
		for (int x = 0; x < W / 2; x++) {
			f->data[1][y * f->linesize[1] + x] = (uint8_t)(100 + y / 2);
			f->data[2][y * f->linesize[2] + x] = (uint8_t)(160 - x / 4);
		}
}

static void encode_stream(const char *encoder)
{
	const AVCodec *c = avcodec_find_encoder_by_name(encoder);
	AVCodecContext *ctx;
	AVFrame *f = av_frame_alloc();
	AVPacket *p = av_packet_alloc();
	assert_non_null(c);
	ctx = avcodec_alloc_context3(c);
	ctx->width = W;
	ctx->height = H;
	ctx->pix_fmt = AV_PIX_FMT_YUV420P;
	ctx->time_base = (AVRational){ 1, 1000 };
	ctx->framerate = (AVRational){ FPS, 1 };
	ctx->gop_size = 1000;
	ctx->max_b_frames = 0;
	ctx->bit_rate = 2000000;
	if (!strcmp(encoder, "libx264")) {
		av_opt_set(ctx->priv_data, "preset", "ultrafast", 0);
		av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
	} else {
		av_opt_set(ctx->priv_data, "deadline", "realtime", 0);
		av_opt_set_int(ctx->priv_data, "cpu-used", 8, 0);
		av_opt_set_int(ctx->priv_data, "lag-in-frames", 0, 0);
	}
	assert_int_equal(avcodec_open2(ctx, c, NULL), 0);
	f->format = AV_PIX_FMT_YUV420P;
	f->width = W;
	f->height = H;
	assert_int_equal(av_frame_get_buffer(f, 0), 0);
	npkts = 0;
	for (int i = 0; i <= NFRAMES; i++) {
		if (i < NFRAMES) {
			av_frame_make_writable(f);
			fill(f, i);
			f->pts = (int64_t)i * 1000 / FPS + 5000;	/* capture clocks do not start at 0 */
			assert_true(avcodec_send_frame(ctx, f) >= 0);
		} else {
			avcodec_send_frame(ctx, NULL);
		}
		while (avcodec_receive_packet(ctx, p) == 0) {
			struct pkt *k = &pkts[npkts++];
			k->data = xmalloc((size_t)p->size);
			memcpy(k->data, p->data, (size_t)p->size);
			k->len = (size_t)p->size;
			k->key = p->flags & AV_PKT_FLAG_KEY;
			k->pts = p->pts;
			av_packet_unref(p);
		}
	}
	assert_int_equal(npkts, NFRAMES);
	assert_true(pkts[0].key);
	av_packet_free(&p);
	av_frame_free(&f);
	avcodec_free_context(&ctx);
}

static void free_stream(void)
{
	for (int i = 0; i < npkts; i++)
		free(pkts[i].data);
	npkts = 0;
}

struct dec_state {
	int frames, need_key;
	AVFrame *first;
	struct ev_loop *loop;
	struct ctl_decoder *d;
	enum ctl_codec codec;
	int next;	/* next packet to feed (0 = feed nothing from callbacks) */
};

static void on_frame(struct ctl_decoder *d, AVFrame *f, int64_t pts, double ms, void *ud)
{
	struct dec_state *s = ud;
	(void)d; (void)pts;
	assert_true(ms >= 0);
	if (!s->first)
		s->first = f;
	else
		av_frame_free(&f);
	/* feed the next packet when the previous one came out, as a paced stream does */
	if (s->next > 0 && s->next < npkts) {
		struct pkt *k = &pkts[s->next++];
		assert_int_equal(ctl_decoder_push(s->d, s->codec, k->data, k->len, k->key, k->pts), RD_OK);
	}
	if (++s->frames == NFRAMES)
		ev_break(s->loop, EVBREAK_ALL);
}

static void on_need_key(struct ctl_decoder *d, int err, void *ud)
{
	struct dec_state *s = ud;
	(void)d; (void)err;
	s->need_key++;
}

static const struct ctl_decoder_ops ops = { on_frame, on_need_key };

static void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w; (void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Decode the stream on the worker; check the first picture through the PNG round trip. */
static void decode_and_png(enum ctl_codec codec)
{
	struct dec_state s = { 0 };
	struct ev_loop *loop = ev_loop_new(0);
	ev_timer guard;
	char png[300];
	s.loop = loop;
	struct ctl_decoder *d = ctl_decoder_new(loop, &ops, &s);
	assert_non_null(d);
	s.d = d;
	s.codec = codec;
	s.next = 1;
	/* a delta frame before any keyframe is skipped, not an error */
	assert_int_equal(ctl_decoder_push(d, codec, pkts[1].data, pkts[1].len, false, pkts[1].pts), RD_OK);
	assert_int_equal(ctl_decoder_push(d, codec, pkts[0].data, pkts[0].len, true, pkts[0].pts), RD_OK);
	ev_timer_init(&guard, on_guard, 20, 0);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	assert_int_equal(s.frames, NFRAMES);
	assert_int_equal(s.need_key, 0);
	assert_non_null(s.first);
	assert_int_equal(s.first->width, W);
	assert_int_equal(s.first->height, H);

	snprintf(png, sizeof(png), "%s/shot-%d.png", tmpdir, (int)codec);
	assert_int_equal(ctl_png_write(s.first, png), RD_OK);
	/* read it back and compare with the source picture (luma vs grey level) */
	AVFormatContext *ic = NULL;
	assert_int_equal(avformat_open_input(&ic, png, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	AVCodecParameters *par = ic->streams[0]->codecpar;
	assert_int_equal(par->codec_id, AV_CODEC_ID_PNG);
	assert_int_equal(par->width, W);
	assert_int_equal(par->height, H);
	const AVCodec *pc = avcodec_find_decoder(AV_CODEC_ID_PNG);
	AVCodecContext *pctx = avcodec_alloc_context3(pc);
	avcodec_parameters_to_context(pctx, par);
	assert_int_equal(avcodec_open2(pctx, pc, NULL), 0);
	AVPacket *p = av_packet_alloc();
	AVFrame *rgb = av_frame_alloc();
	assert_int_equal(av_read_frame(ic, p), 0);
	assert_int_equal(avcodec_send_packet(pctx, p), 0);
	assert_int_equal(avcodec_receive_frame(pctx, rgb), 0);
	assert_int_equal(rgb->format, AV_PIX_FMT_RGB24);
	/* inside the square (white) and at the dark left edge */
	const uint8_t *sq = rgb->data[0] + 90 * rgb->linesize[0] + 50 * 3;
	const uint8_t *edge = rgb->data[0] + 200 * rgb->linesize[0] + 2 * 3;
	assert_true(sq[0] > 200 && sq[1] > 200);
	assert_true(edge[1] < 80);
	av_frame_free(&rgb);
	av_packet_free(&p);
	avcodec_free_context(&pctx);
	avformat_close_input(&ic);

	av_frame_free(&s.first);
	ctl_decoder_free(d);
	ev_loop_destroy(loop);
}

/* Record the stream and probe the file. */
static void record(enum ctl_codec codec, const char *ext, enum AVCodecID want)
{
	char path[300];
	struct ctl_recorder *r;
	double dur;
	long frames;
	snprintf(path, sizeof(path), "%s/rec-%d.%s", tmpdir, (int)codec, ext);
	assert_int_equal(ctl_recorder_new(path, codec, W, H, &r), RD_OK);
	/* a delta frame first is refused until the keyframe came */
	assert_int_equal(ctl_recorder_write(r, pkts[1].data, pkts[1].len, false, pkts[1].pts), RD_ERR_AGAIN);
	for (int i = 0; i < npkts; i++)
		assert_int_equal(ctl_recorder_write(r, pkts[i].data, pkts[i].len, pkts[i].key, pkts[i].pts), RD_OK);
	/* asked for 5 s: the idle end is part of the recording */
	assert_int_equal(ctl_recorder_finish(r, pkts[0].pts + 5000, &dur, &frames), RD_OK);
	assert_int_equal(frames, NFRAMES);
	assert_true(dur > 4.99 && dur < 5.01);

	AVFormatContext *ic = NULL;
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	AVCodecParameters *par = ic->streams[0]->codecpar;
	assert_int_equal(par->codec_id, want);
	assert_int_equal(par->width, W);
	assert_int_equal(par->height, H);
	double fdur = (double)ic->duration / AV_TIME_BASE;
	assert_true(fdur > 4.5 && fdur < 5.5);
	int n = 0;
	AVPacket *p = av_packet_alloc();
	while (av_read_frame(ic, p) == 0) {
		n++;
		av_packet_unref(p);
	}
	assert_int_equal(n, NFRAMES);
	av_packet_free(&p);
	avformat_close_input(&ic);
}

static void test_h264(void **state)
{
	(void)state;
	encode_stream("libx264");
	decode_and_png(CTL_CODEC_H264);
	record(CTL_CODEC_H264, "mkv", AV_CODEC_ID_H264);
	record(CTL_CODEC_H264, "mp4", AV_CODEC_ID_H264);
	char path[300];
	struct ctl_recorder *r;
	snprintf(path, sizeof(path), "%s/x.webm", tmpdir);
	assert_int_equal(ctl_recorder_new(path, CTL_CODEC_H264, W, H, &r), RD_ERR_UNSUPPORTED);
	free_stream();
}

static void test_vp9(void **state)
{
	(void)state;
	encode_stream("libvpx-vp9");
	decode_and_png(CTL_CODEC_VP9);
	record(CTL_CODEC_VP9, "webm", AV_CODEC_ID_VP9);
	record(CTL_CODEC_VP9, "mkv", AV_CODEC_ID_VP9);
	free_stream();
}

static void test_paths(void **state)
{
	(void)state;
	assert_int_equal(ctl_recorder_check_path("a.MKV", CTL_CODEC_H264), RD_OK);
	assert_int_equal(ctl_recorder_check_path("a.avi", CTL_CODEC_H264), RD_ERR_INVAL);
	assert_int_equal(ctl_recorder_check_path("noext", CTL_CODEC_VP9), RD_ERR_INVAL);
	assert_int_equal(ctl_recorder_check_path("a.webm", CTL_CODEC_H264), RD_ERR_UNSUPPORTED);
}

/* Garbage after a keyframe: the decoder reports it and waits for the next keyframe. */
static void test_decoder_error(void **state)
{
	struct dec_state s = { 0 };
	struct ev_loop *loop = ev_loop_new(0);
	ev_timer guard;
	uint8_t junk[4096];
	(void)state;
	encode_stream("libx264");
	s.loop = loop;
	struct ctl_decoder *d = ctl_decoder_new(loop, &ops, &s);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	junk[0] = 0; junk[1] = 0; junk[2] = 1; junk[3] = 0x65;	/* an IDR slice header that lies */
	ctl_decoder_push(d, CTL_CODEC_H264, junk, sizeof(junk), true, 0);
	ctl_decoder_push(d, CTL_CODEC_H264, pkts[0].data, pkts[0].len, true, pkts[0].pts);
	ev_timer_init(&guard, on_guard, 2, 0);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	assert_true(s.need_key >= 1);	/* the junk was reported */
	assert_int_equal(s.frames, 1);	/* and the real keyframe after it decoded */
	av_frame_free(&s.first);
	ctl_decoder_free(d);
	ev_loop_destroy(loop);
	free_stream();
}

static int setup(void **state)
{
	(void)state;
	return tu_tmpdir_make(tmpdir, sizeof(tmpdir), "media") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tu_tmpdir_remove(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_h264),
		cmocka_unit_test(test_vp9),
		cmocka_unit_test(test_decoder_error),
	};
	av_log_set_level(AV_LOG_QUIET);
	return cmocka_run_group_tests(tests, setup, teardown);
}

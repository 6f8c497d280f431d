/* video: the pipeline on a real libev loop with the testsrc backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <libavcodec/avcodec.h>
#include <stdlib.h>
#include <string.h>

#include "agent/video.h"
#include "err.h"
#include "log.h"

#define MAX_PKTS 256

struct sub_rec {
	struct ev_loop *loop;
	struct video_sub *sub;
	int n;
	int keys;
	bool first_key;
	int64_t last_pts;
	int width, height;
	int resizes;
	int resize_w, resize_h;
	int packets_after_resize;
	bool key_after_resize;
	int errors;
	int stop_at;               /* ev_break after this many packets */
	int unsubscribe_at;        /* unsubscribe inside the callback */
	struct video_packet *kept; /* a packet held past its callback */
	AVCodecContext *dec;       /* decode everything when set */
	int decoded;
};

static void on_packet(struct video_packet *p, void *ud)
{
	struct sub_rec *r = ud;
	if (r->n == 0)
		r->first_key = p->key;
	r->n++;
	r->keys += p->key;
	assert_true(p->len > 0);
	assert_true(p->pts_ms >= r->last_pts);
	assert_true(p->refs >= 1);
	r->last_pts = p->pts_ms;
	r->width = p->width;
	r->height = p->height;
	if (r->resizes && r->packets_after_resize++ == 0)
		r->key_after_resize = p->key && p->width == r->resize_w && p->height == r->resize_h;
	if (r->dec) {
		AVPacket *pkt = av_packet_alloc();
		AVFrame *fr = av_frame_alloc();
		assert_int_equal(av_new_packet(pkt, (int)p->len), 0);
		memcpy(pkt->data, p->data, p->len);
		if (avcodec_send_packet(r->dec, pkt) == 0 && avcodec_receive_frame(r->dec, fr) == 0) {
			assert_int_equal(fr->width, p->width);
			assert_int_equal(fr->height, p->height);
			r->decoded++;
		}
		av_frame_free(&fr);
		av_packet_free(&pkt);
	}
	if (r->n == 2 && !r->kept) {
		video_packet_ref(p);
		r->kept = p;
	}
	if (r->unsubscribe_at && r->n == r->unsubscribe_at) {
		video_unsubscribe(r->sub);
		r->sub = NULL;
	}
	if (r->stop_at && r->n >= r->stop_at)
		ev_break(r->loop, EVBREAK_ALL);
}

static void on_resize(const struct video_display *d, void *ud)
{
	struct sub_rec *r = ud;
	r->resizes++;
	r->resize_w = d->width;
	r->resize_h = d->height;
	r->packets_after_resize = 0;
}

static void on_error(int err, void *ud)
{
	struct sub_rec *r = ud;
	(void)err;
	r->errors++;
}

static const struct video_sub_ops ops = { on_packet, on_resize, on_error, NULL };

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(bool *)w->data = true;
	ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until something breaks it or secs pass; true on timeout. */
static bool run_for(struct ev_loop *loop, double secs)
{
	bool expired = false;
	ev_timer t;
	ev_timer_init(&t, on_deadline, secs, 0);
	t.data = &expired;
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
	return expired;
}

static struct video *open_video(struct ev_loop *loop, const char *spec, int fps)
{
	struct video_config cfg = { .backend = "testsrc", .display = spec, .fps = fps,
		.quality = 50 };
	struct video *v = NULL;
	assert_int_equal(video_new(loop, &cfg, &v), 0);
	return v;
}

static void rec_init(struct sub_rec *r, struct ev_loop *loop)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->last_pts = -1;
}

static void rec_free(struct sub_rec *r)
{
	if (r->kept)
		video_packet_unref(r->kept);
	if (r->dec)
		avcodec_free_context(&r->dec);
}

static AVCodecContext *decoder(enum video_codec c)
{
	const AVCodec *codec = avcodec_find_decoder(c == VIDEO_CODEC_H264 ? AV_CODEC_ID_H264 :
		AV_CODEC_ID_VP9);
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	assert_int_equal(avcodec_open2(ctx, codec, NULL), 0);
	return ctx;
}

static void test_probe(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	struct video *v = open_video(loop, "320x240", 30);
	struct video_display d;
	assert_int_equal(video_get_display(v, &d), 0);
	assert_int_equal(d.width, 320);
	assert_int_equal(d.height, 240);
	assert_string_equal(video_backend_name(v), "testsrc");
	struct video_stats st;
	video_get_stats(v, &st);
	assert_false(st.capturing);	/* nothing until someone subscribes */
	/* The pipeline alone does not keep the loop running. */
	ev_run(loop, 0);
	video_get_stats(v, &st);
	assert_int_equal(st.ticks, 0);
	video_free(v);
	struct video_config bad = { .backend = "nosuch" };
	assert_true(video_new(loop, &bad, &v) < 0);
	ev_loop_destroy(loop);
}

/* Each codec's subscriber starts at a keyframe; its stream decodes. */
static void stream(enum video_codec codec)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct video *v = open_video(loop, "320x240", 60);
	struct sub_rec r;
	rec_init(&r, loop);
	r.stop_at = 20;
	r.dec = decoder(codec);
	assert_int_equal(video_subscribe(v, codec, &ops, &r, &r.sub), 0);
	assert_false(run_for(loop, 10));
	assert_int_equal(r.n, 20);
	assert_true(r.first_key);
	assert_int_equal(r.keys, 1);
	assert_int_equal(r.decoded, 20);
	assert_int_equal(r.width, 320);
	assert_int_equal(r.height, 240);
	/* A packet kept past its callback is still intact. */
	assert_non_null(r.kept);
	assert_int_equal(r.kept->codec, codec);
	assert_false(r.kept->key);
	video_unsubscribe(r.sub);
	video_free(v);
	rec_free(&r);
	ev_loop_destroy(loop);
}

static void test_stream_h264(void **state)
{
	(void)state;
	stream(VIDEO_CODEC_H264);
}

static void test_stream_vp9(void **state)
{
	(void)state;
	stream(VIDEO_CODEC_VP9);
}

/* A late subscriber and a second codec get a keyframe first too; asking for
 * a keyframe brings one. */
static void test_late_and_two_codecs(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	struct video *v = open_video(loop, "256x144", 60);
	struct sub_rec a, b, c;
	rec_init(&a, loop);
	rec_init(&b, loop);
	rec_init(&c, loop);
	a.stop_at = 10;
	assert_int_equal(video_subscribe(v, VIDEO_CODEC_H264, &ops, &a, &a.sub), 0);
	assert_false(run_for(loop, 10));
	a.stop_at = 0;
	b.stop_at = 10;
	c.dec = decoder(VIDEO_CODEC_VP9);
	assert_int_equal(video_subscribe(v, VIDEO_CODEC_H264, &ops, &b, &b.sub), 0);
	assert_int_equal(video_subscribe(v, VIDEO_CODEC_VP9, &ops, &c, &c.sub), 0);
	assert_false(run_for(loop, 10));
	assert_true(b.first_key);
	assert_true(c.n > 0);
	assert_true(c.first_key);
	assert_int_equal(c.decoded, c.n);
	/* The first subscriber saw the keyframe made for the second. */
	assert_true(a.keys >= 2);
	struct video_stats st;
	video_get_stats(v, &st);
	assert_int_equal(st.encoders, 2);
	int before = b.keys;
	b.stop_at = b.n + 8;
	video_request_keyframe(b.sub);
	assert_false(run_for(loop, 10));
	assert_true(b.keys > before);
	video_unsubscribe(a.sub);
	video_unsubscribe(b.sub);
	video_get_stats(v, &st);
	assert_int_equal(st.encoders, 1);
	assert_true(st.capturing);
	video_unsubscribe(c.sub);
	video_free(v);
	rec_free(&a);
	rec_free(&b);
	rec_free(&c);
	ev_loop_destroy(loop);
}

/* The last unsubscribe stops capture and the workers; nothing comes after. */
static void test_unsubscribe_stops(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	struct video *v = open_video(loop, "160x120", 60);
	struct sub_rec r;
	struct video_stats st;
	rec_init(&r, loop);
	r.unsubscribe_at = 5;	/* from inside its own callback */
	r.stop_at = 5;
	assert_int_equal(video_subscribe(v, VIDEO_CODEC_VP9, &ops, &r, &r.sub), 0);
	video_get_stats(v, &st);
	assert_true(st.capturing);
	assert_int_equal(st.encoders, 1);
	assert_false(run_for(loop, 5));
	assert_int_equal(r.n, 5);
	assert_null(r.sub);
	video_get_stats(v, &st);
	assert_false(st.capturing);
	assert_int_equal(st.encoders, 0);
	uint64_t ticks = st.ticks;
	assert_true(run_for(loop, 0.3));
	video_get_stats(v, &st);
	assert_int_equal(st.ticks, ticks);
	assert_int_equal(r.n, 5);
	/* Subscribing again starts over with a keyframe. */
	struct sub_rec r2;
	rec_init(&r2, loop);
	r2.stop_at = 3;
	assert_int_equal(video_subscribe(v, VIDEO_CODEC_VP9, &ops, &r2, &r2.sub), 0);
	assert_false(run_for(loop, 10));
	assert_true(r2.first_key);
	video_free(v);	/* with a subscriber still there */
	rec_free(&r);
	rec_free(&r2);
	ev_loop_destroy(loop);
}

/* A size change: on_resize, then a keyframe of the new size that decodes. */
static void resize(enum video_codec codec)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct video *v = open_video(loop, "320x240,switch=8:176x144", 60);
	struct sub_rec r;
	rec_init(&r, loop);
	r.stop_at = 16;
	r.dec = decoder(codec);
	assert_int_equal(video_subscribe(v, codec, &ops, &r, &r.sub), 0);
	assert_false(run_for(loop, 10));
	assert_int_equal(r.resizes, 1);
	assert_int_equal(r.resize_w, 176);
	assert_int_equal(r.resize_h, 144);
	assert_true(r.key_after_resize);
	assert_int_equal(r.width, 176);
	assert_int_equal(r.keys, 2);
	assert_int_equal(r.decoded, r.n);
	struct video_display d;
	video_get_display(v, &d);
	assert_int_equal(d.width, 176);
	assert_int_equal(d.height, 144);
	assert_int_equal(r.errors, 0);
	video_unsubscribe(r.sub);
	video_free(v);
	rec_free(&r);
	ev_loop_destroy(loop);
}

static void test_resize_h264(void **state)
{
	(void)state;
	resize(VIDEO_CODEC_H264);
}

static void test_resize_vp9(void **state)
{
	(void)state;
	resize(VIDEO_CODEC_VP9);
}

/* No damage, no encode: a still screen sends nothing after the first frames,
 * yet a keyframe asked for (or a new subscriber) still comes. */
static void test_idle_sends_nothing(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	struct video *v = open_video(loop, "200x100,still=3", 60);
	struct sub_rec r;
	struct video_stats st;
	rec_init(&r, loop);
	assert_int_equal(video_subscribe(v, VIDEO_CODEC_H264, &ops, &r, &r.sub), 0);
	assert_true(run_for(loop, 0.5));
	assert_int_equal(r.n, 3);
	video_get_stats(v, &st);
	assert_true(st.ticks >= 15);
	assert_int_equal(st.frames_captured, 3);
	assert_int_equal(st.frames_encoded, 3);
	r.stop_at = 4;
	video_request_keyframe(r.sub);
	assert_false(run_for(loop, 5));
	assert_int_equal(r.keys, 2);
	video_get_stats(v, &st);
	assert_int_equal(st.frames_captured, 3);	/* re-encoded, not captured again */
	struct sub_rec late;
	r.stop_at = 0;
	rec_init(&late, loop);
	late.stop_at = 1;
	late.dec = decoder(VIDEO_CODEC_VP9);
	assert_int_equal(video_subscribe(v, VIDEO_CODEC_VP9, &ops, &late, &late.sub), 0);
	assert_false(run_for(loop, 5));
	assert_true(late.first_key);
	assert_int_equal(late.decoded, 1);
	video_unsubscribe(late.sub);
	video_unsubscribe(r.sub);
	video_free(v);
	rec_free(&r);
	rec_free(&late);
	ev_loop_destroy(loop);
}

/* fps and quality change live without a hiccup. */
static void test_live_settings(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	struct video *v = open_video(loop, "320x240", 10);
	struct sub_rec r;
	struct video_stats st;
	rec_init(&r, loop);
	assert_int_equal(video_subscribe(v, VIDEO_CODEC_H264, &ops, &r, &r.sub), 0);
	assert_true(run_for(loop, 0.55));
	int at10 = r.n;
	assert_in_range(at10, 3, 8);
	video_set_fps(r.sub, 60);
	video_set_quality(r.sub, 90);
	r.n = 0;
	assert_true(run_for(loop, 0.55));
	assert_true(r.n > at10 * 2);
	assert_int_equal(r.errors, 0);
	video_get_stats(v, &st);
	assert_int_equal(st.keyframes, 1);
	video_unsubscribe(r.sub);
	video_free(v);
	rec_free(&r);
	ev_loop_destroy(loop);
}

int main(void)
{
	rd_log_set_level(RD_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_stream_h264),
		cmocka_unit_test(test_stream_vp9),
		cmocka_unit_test(test_late_and_two_codecs),
		cmocka_unit_test(test_unsubscribe_stops),
		cmocka_unit_test(test_resize_h264),
		cmocka_unit_test(test_resize_vp9),
		cmocka_unit_test(test_idle_sends_nothing),
		cmocka_unit_test(test_live_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

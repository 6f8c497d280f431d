/* Unit tests of rdctl's screenshot and record sinks (ctl/sink_shot.c,
 * ctl/sink_record.c), each linked alone with a fake run
 * (ctl_sink_harness.h); the video is a real H.264 stream made with libx264,
 * the files are read back with libavformat. */
#include "ctl_sink_harness.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "ctl/media.h"

#define NPKTS 20
#define FPS 10
#define PTS0 5000     /* capture clocks do not start at 0 */

struct pkt {
	uint8_t *data;
	size_t len;
	bool key;
	int64_t pts;
};

static struct pkt pkts[NPKTS];

/* NPKTS H.264 frames, 100 ms apart; the first one a keyframe. */
static void encode_stream(void)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	AVFrame *f = picture(W, H);
	AVPacket *p = av_packet_alloc();
	int n = 0;
	ctx->width = W;
	ctx->height = H;
	ctx->pix_fmt = AV_PIX_FMT_YUV420P;
	ctx->time_base = (AVRational){ 1, 1000 };
	ctx->framerate = (AVRational){ FPS, 1 };
	ctx->gop_size = 1000;
	ctx->max_b_frames = 0;
	av_opt_set(ctx->priv_data, "preset", "ultrafast", 0);
	av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
	assert_int_equal(avcodec_open2(ctx, codec, NULL), 0);
	for (int i = 0; i <= NPKTS; i++) {
		if (i < NPKTS) {
			av_frame_make_writable(f);
			f->data[0][(i * 8) % (H * f->linesize[0])] ^= 0xff;
			f->pts = PTS0 + (int64_t)i * 1000 / FPS;
			assert_true(avcodec_send_frame(ctx, f) >= 0);
		} else {
			avcodec_send_frame(ctx, NULL);
		}
		while (avcodec_receive_packet(ctx, p) == 0) {
			assert_true(n < NPKTS);
			pkts[n] = (struct pkt){ xmalloc((size_t)p->size), (size_t)p->size,
				p->flags & AV_PKT_FLAG_KEY, p->pts };
			memcpy(pkts[n].data, p->data, (size_t)p->size);
			n++;
			av_packet_unref(p);
		}
	}
	assert_int_equal(n, NPKTS);
	assert_true(pkts[0].key);
	av_packet_free(&p);
	av_frame_free(&f);
	avcodec_free_context(&ctx);
}

static int group_setup(void **state)
{
	(void)state;
	tmpdir_make("sink");
	av_log_set_level(AV_LOG_QUIET);
	encode_stream();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NPKTS; i++)
		free(pkts[i].data);
	return tmpdir_remove();
}

static int setup(void **state)
{
	(void)state;
	harness_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ctl_result_free(&res);
	return 0;
}

static bool put(struct ctl_sink *k, int i)
{
	return k->ops->packet(k, CTL_CODEC_H264, pkts[i].data, pkts[i].len, pkts[i].key, pkts[i].pts);
}

/* Packets in a media file, and its duration in seconds. */
static int probe(const char *path, double *dur)
{
	AVFormatContext *ic = NULL;
	AVPacket *p = av_packet_alloc();
	int n = 0;
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	assert_int_equal(ic->streams[0]->codecpar->codec_id, AV_CODEC_ID_H264);
	assert_int_equal(ic->streams[0]->codecpar->width, W);
	*dur = (double)ic->duration / AV_TIME_BASE;
	while (av_read_frame(ic, p) == 0) {
		n++;
		av_packet_unref(p);
	}
	av_packet_free(&p);
	avformat_close_input(&ic);
	return n;
}

/* ---- screenshot ---- */

static void test_shot(void **state)
{
	char path[300], head[8] = { 0 };
	(void)state;
	snprintf(path, sizeof(path), "%s/shot.png", tmpdir);
	c.vs.output = path;
	struct ctl_sink *k = sink_open(ctl_sink_shot_new(&c, &res));
	assert_true(k->ops->flags & CTL_SINK_MEDIA);
	assert_false(k->ops->flags & (CTL_SINK_ACK | CTL_SINK_GOODBYE));
	frame(k, W, H);
	assert_int_equal(run.finished, 1);
	assert_null(res.error);
	assert_string_equal(res.output, path);
	assert_int_equal(res.frames, 1);
	assert_true(res.phase_set[CTL_PH_WRITE]);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
	k->ops->free(k);
}

static void test_shot_unwritable(void **state)
{
	(void)state;
	c.vs.output = "/nonexistent-folder/shot.png";
	struct ctl_sink *k = sink_open(ctl_sink_shot_new(&c, &res));
	frame(k, W, H);
	assert_int_equal(run.finished, 1);
	assert_string_equal(res.error, "write_failed");
	assert_int_equal(res.exit_code, CTL_EXIT_FAIL);
	assert_null(res.output);
	k->ops->free(k);
}

/* ---- record ---- */

/* Packets before the first decoded frame are held; the frame gives the
 * size, the held ones go into the file, the rest follow undecoded; the
 * time left of --duration is asked for. */
static void test_record(void **state)
{
	char path[300];
	double dur;
	(void)state;
	snprintf(path, sizeof(path), "%s/rec.mkv", tmpdir);
	c.vs.output = path;
	c.vs.duration = 10;
	struct ctl_sink *k = sink_open(ctl_sink_record_new(&c, &res));
	assert_true(k->ops->flags & CTL_SINK_MEDIA);
	assert_false(k->ops->flags & CTL_SINK_ACK);
	for (int i = 0; i < 5; i++)
		assert_true(put(k, i));	/* to the decoder, for the size */
	assert_true(run.stop_after < 0);
	frame(k, W, H);
	assert_true(run.stop_after > 9 && run.stop_after <= 10);
	for (int i = 5; i < NPKTS; i++)
		assert_false(put(k, i));	/* the decoder is done with */
	frame(k, W, H);	/* a frame still in the decoder changes nothing */
	assert_int_equal(run.finished, 0);
	assert_true(k->ops->finish(k, CTL_SINK_TIME));
	assert_int_equal(run.finished, 1);
	assert_null(res.error);
	assert_string_equal(res.output, path);
	assert_int_equal(res.frames, NPKTS);
	assert_int_equal(probe(path, &dur), NPKTS);
	k->ops->free(k);
}

/* Frames at or past --duration on the agent's clock end the file there,
 * however fast they arrive. */
static void test_record_duration(void **state)
{
	char path[300];
	double dur;
	(void)state;
	snprintf(path, sizeof(path), "%s/cut.mkv", tmpdir);
	c.vs.output = path;
	c.vs.duration = 1.0;
	struct ctl_sink *k = sink_open(ctl_sink_record_new(&c, &res));
	assert_true(put(k, 0));
	frame(k, W, H);
	for (int i = 1; i < 10; i++)
		assert_false(put(k, i));
	assert_int_equal(run.finished, 0);
	assert_false(put(k, 10));	/* 1000 ms after the first */
	assert_int_equal(run.finished, 1);
	assert_null(res.error);
	assert_int_equal(res.frames, 10);
	assert_true(res.duration_s > 0.99 && res.duration_s < 1.01);
	assert_int_equal(probe(path, &dur), 10);
	assert_true(dur > 0.9 && dur < 1.1);
	k->ops->free(k);
}

/* --duration passed before the first frame was decoded: the held packets
 * still make the file, which covers all of --duration. */
static void test_record_full_before_size(void **state)
{
	char path[300];
	double dur;
	(void)state;
	snprintf(path, sizeof(path), "%s/held.mp4", tmpdir);
	c.vs.output = path;
	c.vs.duration = 0.5;
	struct ctl_sink *k = sink_open(ctl_sink_record_new(&c, &res));
	for (int i = 0; i < 5; i++)
		assert_true(put(k, i));
	assert_false(put(k, 5));
	assert_int_equal(run.finished, 0);
	frame(k, W, H);
	assert_true(run.stop_after > 0 && run.stop_after <= 0.5);
	assert_true(k->ops->finish(k, CTL_SINK_TIME));
	assert_int_equal(run.finished, 1);
	assert_int_equal(res.frames, 5);
	assert_true(res.duration_s > 0.49 && res.duration_s < 0.51);
	assert_int_equal(probe(path, &dur), 5);
	k->ops->free(k);
}

static void test_record_codec_change(void **state)
{
	char path[300];
	(void)state;
	snprintf(path, sizeof(path), "%s/switch.mkv", tmpdir);
	c.vs.output = path;
	c.vs.duration = 10;
	struct ctl_sink *k = sink_open(ctl_sink_record_new(&c, &res));
	assert_true(put(k, 0));
	frame(k, W, H);
	assert_false(k->ops->packet(k, CTL_CODEC_VP9, pkts[1].data, pkts[1].len, true, pkts[1].pts));
	assert_int_equal(run.finished, 1);
	assert_string_equal(res.error, "codec_changed");
	assert_int_equal(res.exit_code, CTL_EXIT_FAIL);
	k->ops->free(k);
}

/* How each kind of stop ends a recording. */
static void test_record_stops(void **state)
{
	char path[300];
	double dur;
	(void)state;
	snprintf(path, sizeof(path), "%s/stop.mkv", tmpdir);
	c.vs.output = path;
	c.vs.duration = 10;
	/* Nothing recorded yet: a signal or the session's end is run.c's to report. */
	struct ctl_sink *k = sink_open(ctl_sink_record_new(&c, &res));
	assert_false(k->ops->finish(k, CTL_SINK_SIGNAL));
	assert_false(k->ops->finish(k, CTL_SINK_END));
	assert_true(put(k, 0));
	frame(k, W, H);
	/* The session failed: its end keeps nothing; a signal keeps what came. */
	ctl_result_fail(&res, CTL_EXIT_FAIL, "peer_closed", "gone");
	assert_false(k->ops->finish(k, CTL_SINK_END));
	assert_int_equal(run.finished, 0);
	assert_true(k->ops->finish(k, CTL_SINK_SIGNAL));
	assert_int_equal(run.finished, 1);
	assert_int_equal(res.frames, 1);
	assert_int_equal(probe(path, &dur), 1);
	k->ops->free(k);
	/* An ended session keeps the file. */
	teardown(state);
	setup(state);
	c.vs.output = path;
	c.vs.duration = 10;
	k = sink_open(ctl_sink_record_new(&c, &res));
	assert_true(put(k, 0));
	frame(k, W, H);
	assert_false(put(k, 1));
	assert_true(k->ops->finish(k, CTL_SINK_END));
	assert_null(res.error);
	assert_int_equal(res.frames, 2);
	k->ops->free(k);
	/* Freed while recording (a failed run): nothing is left behind in memory. */
	teardown(state);
	setup(state);
	c.vs.output = path;
	c.vs.duration = 10;
	k = sink_open(ctl_sink_record_new(&c, &res));
	for (int i = 0; i < 3; i++)
		put(k, i);
	k->ops->free(k);
}

static void test_record_unwritable(void **state)
{
	(void)state;
	c.vs.output = "/nonexistent-folder/rec.mkv";
	c.vs.duration = 10;
	struct ctl_sink *k = sink_open(ctl_sink_record_new(&c, &res));
	assert_true(put(k, 0));
	frame(k, W, H);
	assert_int_equal(run.finished, 1);
	assert_string_equal(res.error, "write_failed");
	k->ops->free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shot_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_duration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_full_before_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_codec_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_unwritable, setup, teardown),
	};
	return cmocka_run_group_tests_name("ctl_sink", tests, group_setup, group_teardown);
}

/* decode: see decode.h. One worker thread; a bounded packet queue in, a
 * bounded frame queue out (the oldest frame is dropped when the loop lags). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#define RD_LOG_SUBSYS "decode"
#include "decode.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define DEC_INQ_MAX 64
#define DEC_OUTQ_MAX 4

struct dec_pkt {
	enum ctl_codec codec;
	uint8_t *data;
	size_t len;
	bool key;
	int64_t pts;
};

struct dec_out {
	AVFrame *f;
	int64_t pts;
	double ms;
};

struct ctl_decoder {
	struct ev_loop *loop;
	ev_async async;
	const struct ctl_decoder_ops *ops;
	void *ud;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct dec_pkt in[DEC_INQ_MAX];
	size_t in_head, in_n;
	struct dec_out out[DEC_OUTQ_MAX];
	size_t out_head, out_n;
	int pending_err;        /* reported on the loop */
	enum ctl_codec warm;    /* open this decoder before the first packet */
	bool wait_key_loop;     /* loop side: drop until a keyframe (queue overflow) */
	/* worker only */
	AVCodecContext *ctx;
	enum ctl_codec cur;
	bool wait_key;
	AVPacket *pkt;
};

const char *ctl_codec_name(enum ctl_codec c)
{
	switch (c) {
	case CTL_CODEC_VP9: return "vp9";
	case CTL_CODEC_H264: return "h264";
	default: return NULL;
	}
}

static int ctx_open(struct ctl_decoder *d, enum ctl_codec codec)
{
	const AVCodec *cd = avcodec_find_decoder(codec == CTL_CODEC_H264 ? AV_CODEC_ID_H264
		: AV_CODEC_ID_VP9);
	avcodec_free_context(&d->ctx);
	d->cur = CTL_CODEC_NONE;
	if (!cd)
		return RD_ERR_UNSUPPORTED;
	d->ctx = avcodec_alloc_context3(cd);
	if (!d->ctx)
		return RD_ERR_NOMEM;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	d->ctx->thread_count = 2;
	d->ctx->thread_type = FF_THREAD_SLICE;
	if (avcodec_open2(d->ctx, cd, NULL) < 0) {
		avcodec_free_context(&d->ctx);
		return RD_ERR_UNSUPPORTED;
	}
	d->cur = codec;
	return RD_OK;
}

static void post_err(struct ctl_decoder *d, int err)
{
	pthread_mutex_lock(&d->mu);
	d->pending_err = err;
	pthread_mutex_unlock(&d->mu);
	ev_async_send(d->loop, &d->async);
}

static void post_frame(struct ctl_decoder *d, AVFrame *f, int64_t pts, double ms)
{
	pthread_mutex_lock(&d->mu);
	if (d->out_n == DEC_OUTQ_MAX) {	/* the loop lags: drop the oldest */
		av_frame_free(&d->out[d->out_head].f);
		d->out_head = (d->out_head + 1) % DEC_OUTQ_MAX;
		d->out_n--;
	}
	struct dec_out *o = &d->out[(d->out_head + d->out_n) % DEC_OUTQ_MAX];
	o->f = f;
	o->pts = pts;
	o->ms = ms;
	d->out_n++;
	pthread_mutex_unlock(&d->mu);
	ev_async_send(d->loop, &d->async);
}

static void decode_one(struct ctl_decoder *d, struct dec_pkt *p)
{
	double t0 = rd_now();
	int r;
	if (d->cur != p->codec) {
		if (ctx_open(d, p->codec) != RD_OK) {
			log_err("no %s decoder", ctl_codec_name(p->codec));
			post_err(d, RD_ERR_UNSUPPORTED);
			return;
		}
		d->wait_key = true;
	}
	if (d->wait_key && !p->key)
		return;
	d->wait_key = false;
	d->pkt->data = p->data;
	d->pkt->size = (int)p->len;
	d->pkt->pts = p->pts;
	d->pkt->flags = p->key ? AV_PKT_FLAG_KEY : 0;
	r = avcodec_send_packet(d->ctx, d->pkt);
	if (r < 0 && r != AVERROR(EAGAIN))
		goto fail;
	for (;;) {
		AVFrame *f = av_frame_alloc();
		if (!f)
			return;
		r = avcodec_receive_frame(d->ctx, f);
		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) {
			av_frame_free(&f);
			return;
		}
		if (r < 0 || (f->decode_error_flags & 0xff)) {
			av_frame_free(&f);
			goto fail;
		}
		post_frame(d, f, f->pts == AV_NOPTS_VALUE ? p->pts : f->pts, (rd_now() - t0) * 1000.0);
	}
fail:
	log_warn("%s decoder error (%d), waiting for a keyframe", ctl_codec_name(p->codec), r);
	avcodec_flush_buffers(d->ctx);
	d->wait_key = true;
	post_err(d, RD_ERR_PROTO);
}

static void *worker(void *arg)
{
	struct ctl_decoder *d = arg;
	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		if (d->warm && d->in_n == 0) {
			enum ctl_codec w = d->warm;
			d->warm = CTL_CODEC_NONE;
			pthread_mutex_unlock(&d->mu);
			if (d->cur != w && ctx_open(d, w) == RD_OK)
				d->wait_key = true;
			pthread_mutex_lock(&d->mu);
			continue;
		}
		if (d->in_n == 0) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		struct dec_pkt p = d->in[d->in_head];
		d->in_head = (d->in_head + 1) % DEC_INQ_MAX;
		d->in_n--;
		pthread_mutex_unlock(&d->mu);
		decode_one(d, &p);
		free(p.data);
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void on_async(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ctl_decoder *d = w->data;
	(void)loop;
	(void)revents;
	for (;;) {
		struct dec_out o = { 0 };
		int err;
		pthread_mutex_lock(&d->mu);
		err = d->pending_err;
		d->pending_err = 0;
		if (d->out_n) {
			o = d->out[d->out_head];
			d->out_head = (d->out_head + 1) % DEC_OUTQ_MAX;
			d->out_n--;
		}
		pthread_mutex_unlock(&d->mu);
		if (err && d->ops->on_need_keyframe)
			d->ops->on_need_keyframe(d, err, d->ud);
		if (!o.f)
			break;
		d->ops->on_frame(d, o.f, o.pts, o.ms, d->ud);
	}
}

struct ctl_decoder *ctl_decoder_new(struct ev_loop *loop, const struct ctl_decoder_ops *ops, void *ud)
{
	struct ctl_decoder *d = xcalloc(1, sizeof(*d));
	d->loop = loop;
	d->ops = ops;
	d->ud = ud;
	d->pkt = av_packet_alloc();
	if (!d->pkt)
		goto fail_pkt;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	ev_async_init(&d->async, on_async);
	d->async.data = d;
	ev_async_start(loop, &d->async);
	ev_unref(loop);	/* the decoder alone does not keep the loop alive */
	if (pthread_create(&d->thread, NULL, worker, d) != 0)
		goto fail_thread;
	return d;
fail_thread:
	ev_ref(loop);
	ev_async_stop(loop, &d->async);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	av_packet_free(&d->pkt);
fail_pkt:
	free(d);
	return NULL;
}

int ctl_decoder_push(struct ctl_decoder *d, enum ctl_codec codec, const uint8_t *data, size_t len,
	bool key, int64_t pts_ms)
{
	int rc = RD_OK;
	if (d->wait_key_loop && !key)
		return RD_ERR_AGAIN;
	uint8_t *copy = malloc(len + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!copy)
		return RD_ERR_NOMEM;
	memcpy(copy, data, len);
	memset(copy + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	pthread_mutex_lock(&d->mu);
	if (d->in_n == DEC_INQ_MAX) {
		rc = RD_ERR_LIMIT;
	} else {
		d->in[(d->in_head + d->in_n) % DEC_INQ_MAX] = (struct dec_pkt){ codec, copy, len, key, pts_ms };
		d->in_n++;
		pthread_cond_signal(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	if (rc != RD_OK) {
		free(copy);
		d->wait_key_loop = true;
		if (d->ops->on_need_keyframe)
			d->ops->on_need_keyframe(d, rc, d->ud);
		return rc;
	}
	d->wait_key_loop = false;
	return RD_OK;
}

void ctl_decoder_prepare(struct ctl_decoder *d, enum ctl_codec codec)
{
	pthread_mutex_lock(&d->mu);
	d->warm = codec;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void ctl_decoder_free(struct ctl_decoder *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	ev_ref(d->loop);
	ev_async_stop(d->loop, &d->async);
	for (size_t i = 0; i < d->in_n; i++)
		free(d->in[(d->in_head + i) % DEC_INQ_MAX].data);
	for (size_t i = 0; i < d->out_n; i++)
		av_frame_free(&d->out[(d->out_head + i) % DEC_OUTQ_MAX].f);
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

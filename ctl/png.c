/* png: one decoded frame -> RGB24 (libswscale) -> PNG (libavcodec). */
#include <stdio.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>

#define RD_LOG_SUBSYS "png"
#include "err.h"
#include "log.h"
#include "media.h"
#include "util.h"

static int encode(const AVFrame *rgb, AVPacket *pkt)
{
	const AVCodec *enc = avcodec_find_encoder(AV_CODEC_ID_PNG);
	AVCodecContext *ctx;
	int rc = RD_ERR_UNSUPPORTED;
	if (!enc)
		return RD_ERR_UNSUPPORTED;
	if (!(ctx = avcodec_alloc_context3(enc)))
		return RD_ERR_NOMEM;
	ctx->width = rgb->width;
	ctx->height = rgb->height;
	ctx->pix_fmt = AV_PIX_FMT_RGB24;
	ctx->time_base = (AVRational){ 1, 25 };
	ctx->compression_level = 1;	/* fast: screenshots are for tools, not archives */
	if (avcodec_open2(ctx, enc, NULL) < 0)
		goto out;
	if (avcodec_send_frame(ctx, rgb) < 0 || avcodec_receive_packet(ctx, pkt) < 0) {
		rc = RD_ERR_IO;
		goto out;
	}
	rc = RD_OK;
out:
	avcodec_free_context(&ctx);
	return rc;
}

int ctl_png_write(const AVFrame *f, const char *path)
{
	AVFrame *rgb = av_frame_alloc();
	AVPacket *pkt = av_packet_alloc();
	struct SwsContext *sws = NULL;
	int rc = RD_ERR_NOMEM;
	if (!rgb || !pkt)
		goto out;
	rgb->format = AV_PIX_FMT_RGB24;
	rgb->width = f->width;
	rgb->height = f->height;
	if (av_frame_get_buffer(rgb, 0) < 0)
		goto out;
	sws = sws_getContext(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_RGB24,
		SWS_BILINEAR, NULL, NULL, NULL);
	if (!sws) {
		rc = RD_ERR_UNSUPPORTED;
		goto out;
	}
	sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, rgb->data,
		rgb->linesize);
	if ((rc = encode(rgb, pkt)) != RD_OK)
		goto out;
	rc = rd_write_file_atomic(path, pkt->data, (size_t)pkt->size, 0644);
out:
	sws_freeContext(sws);
	av_packet_free(&pkt);
	av_frame_free(&rgb);
	return rc;
}

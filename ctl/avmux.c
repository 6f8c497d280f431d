/* avmux: live Matroska of raw video and Opus (see avmux.h). */
#define RD_LOG_SUBSYS "viewer"
#include "avmux.h"

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <string.h>

#include "audio_file.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define AVMUX_IO_BUF 65536

struct ctl_avmux {
	AVFormatContext *oc;
	AVStream *vs, *as;
	AVPacket *pkt;
	struct rd_buf *out;
	int w, h;
	int64_t vlast, alast;       /* last pts written per track (ms), -1 before */
	bool failed;
};

static int avmux__write(void *opaque, uint8_t *buf, int size)
{
	struct ctl_avmux *m = opaque;
	if (rd_buf_put(m->out, buf, (size_t)size) != RD_OK) {
		m->failed = true;
		return AVERROR(ENOMEM);
	}
	return size;
}

static int avmux__streams(struct ctl_avmux *m, unsigned channels)
{
	if (!(m->vs = avformat_new_stream(m->oc, NULL)) || !(m->as = avformat_new_stream(m->oc, NULL)))
		return RD_ERR_NOMEM;
	AVCodecParameters *vp = m->vs->codecpar;
	vp->codec_type = AVMEDIA_TYPE_VIDEO;
	vp->codec_id = AV_CODEC_ID_RAWVIDEO;
	vp->codec_tag = MKTAG('I', '4', '2', '0');
	vp->width = m->w;
	vp->height = m->h;
	vp->format = AV_PIX_FMT_YUV420P;
	m->vs->time_base = (AVRational){ 1, 1000 };
	AVCodecParameters *ap = m->as->codecpar;
	ap->codec_type = AVMEDIA_TYPE_AUDIO;
	ap->codec_id = AV_CODEC_ID_OPUS;
	ap->sample_rate = 48000;
	av_channel_layout_default(&ap->ch_layout, (int)channels);
	if (!(ap->extradata = av_mallocz(CTL_OPUS_HEAD_LEN + AV_INPUT_BUFFER_PADDING_SIZE)))
		return RD_ERR_NOMEM;
	ctl_opus_head(ap->extradata, channels);
	ap->extradata_size = CTL_OPUS_HEAD_LEN;
	m->as->time_base = (AVRational){ 1, 1000 };
	return RD_OK;
}

int ctl_avmux_new(int w, int h, unsigned channels, struct rd_buf *out, struct ctl_avmux **mout)
{
	struct ctl_avmux *m = xcalloc(1, sizeof(*m));
	AVDictionary *opt = NULL;
	int rc = RD_ERR_NOMEM;
	m->out = out;
	m->w = w;
	m->h = h;
	m->vlast = m->alast = -1;
	if (avformat_alloc_output_context2(&m->oc, NULL, "matroska", NULL) < 0 || !m->oc)
		goto fail;
	uint8_t *iobuf = av_malloc(AVMUX_IO_BUF);
	if (!iobuf)
		goto fail;
	m->oc->pb = avio_alloc_context(iobuf, AVMUX_IO_BUF, 1, m, NULL, avmux__write, NULL);
	if (!m->oc->pb) {
		av_free(iobuf);
		goto fail;
	}
	m->oc->flags |= AVFMT_FLAG_FLUSH_PACKETS;
	if (!(m->pkt = av_packet_alloc()) || (rc = avmux__streams(m, channels == 1 ? 1 : 2)) != RD_OK)
		goto fail;
	av_dict_set(&opt, "live", "1", 0);
	rc = avformat_write_header(m->oc, &opt) < 0 ? RD_ERR_IO : RD_OK;
	av_dict_free(&opt);
	if (rc != RD_OK)
		goto fail;
	avio_flush(m->oc->pb);
	*mout = m;
	return RD_OK;
fail:
	ctl_avmux_free(m);
	return rc;
}

/* Write pkt on stream st at pts (made monotonic per track) and push it out. */
static int avmux__put(struct ctl_avmux *m, AVStream *st, int64_t *last, int64_t pts, int64_t dur)
{
	if (pts <= *last)
		pts = *last + 1;
	*last = pts;
	m->pkt->pts = m->pkt->dts = pts;
	m->pkt->duration = dur;
	m->pkt->stream_index = st->index;
	av_packet_rescale_ts(m->pkt, (AVRational){ 1, 1000 }, st->time_base);
	if (av_write_frame(m->oc, m->pkt) < 0 || av_write_frame(m->oc, NULL) < 0)
		return RD_ERR_IO;
	avio_flush(m->oc->pb);
	return m->failed ? RD_ERR_NOMEM : RD_OK;
}

int ctl_avmux_video(struct ctl_avmux *m, const AVFrame *f, int64_t pts_ms)
{
	if (f->width != m->w || f->height != m->h)
		return RD_ERR_INVAL;
	int size = av_image_get_buffer_size(AV_PIX_FMT_YUV420P, m->w, m->h, 1);
	av_packet_unref(m->pkt);
	if (size <= 0 || av_new_packet(m->pkt, size) < 0)
		return RD_ERR_NOMEM;
	if (av_image_copy_to_buffer(m->pkt->data, size, (const uint8_t *const *)f->data, f->linesize,
		AV_PIX_FMT_YUV420P, m->w, m->h, 1) < 0)
		return RD_ERR_INVAL;
	m->pkt->flags = AV_PKT_FLAG_KEY;
	return avmux__put(m, m->vs, &m->vlast, pts_ms, 1);
}

int ctl_avmux_audio(struct ctl_avmux *m, const uint8_t *data, size_t len, int64_t pts_ms,
	int dur_ms)
{
	av_packet_unref(m->pkt);
	if (len > INT32_MAX || av_new_packet(m->pkt, (int)len) < 0)
		return RD_ERR_NOMEM;
	memcpy(m->pkt->data, data, len);
	m->pkt->flags = AV_PKT_FLAG_KEY;
	return avmux__put(m, m->as, &m->alast, pts_ms, dur_ms);
}

void ctl_avmux_free(struct ctl_avmux *m)
{
	if (!m)
		return;
	if (m->oc) {
		if (m->oc->pb) {
			av_freep(&m->oc->pb->buffer);
			avio_context_free(&m->oc->pb);
		}
		avformat_free_context(m->oc);
	}
	av_packet_free(&m->pkt);
	free(m);
}

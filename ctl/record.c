/* record: encoded frames into Matroska, WebM or MP4 with libavformat, no
 * re-encoding. Each packet is held until the next one arrives so its
 * duration is known; the last one lasts until the end of the recording, so
 * the container's duration is the time recorded even when the screen was idle. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavformat/avformat.h>

#define RD_LOG_SUBSYS "record"
#include "err.h"
#include "log.h"
#include "media.h"
#include "util.h"

struct ctl_recorder {
	AVFormatContext *oc;
	AVStream *st;
	AVPacket *held;
	bool have_held;
	bool header;
	enum ctl_codec codec;
	int64_t pts0, last;
	long frames;
};

static const char *container_for(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (!dot)
		return NULL;
	if (strcasecmp(dot, ".mkv") == 0)
		return "matroska";
	if (strcasecmp(dot, ".webm") == 0)
		return "webm";
	if (strcasecmp(dot, ".mp4") == 0)
		return "mp4";
	return NULL;
}

int ctl_recorder_check_path(const char *path, enum ctl_codec codec)
{
	const char *fmt = container_for(path);
	if (!fmt)
		return RD_ERR_INVAL;
	if (strcmp(fmt, "webm") == 0 && codec == CTL_CODEC_H264)
		return RD_ERR_UNSUPPORTED;
	return RD_OK;
}

/* Offset of the next 00 00 01 at or after i, or len. */
static size_t next_sc(const uint8_t *p, size_t len, size_t i)
{
	for (; i + 3 <= len; i++)
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
			return i;
	return len;
}

/* The SPS and PPS NAL units of an Annex B access unit, with start codes. */
static int h264_extradata(const uint8_t *p, size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *x = av_mallocz(2 * len + 4 + AV_INPUT_BUFFER_PADDING_SIZE);
	size_t n = 0, sc = next_sc(p, len, 0);
	if (!x)
		return RD_ERR_NOMEM;
	while (sc < len) {
		size_t start = sc + 3, nsc = next_sc(p, len, start), end = nsc;
		while (end > start && p[end - 1] == 0)
			end--;
		if (end > start && ((p[start] & 0x1f) == 7 || (p[start] & 0x1f) == 8)) {
			static const uint8_t code[4] = { 0, 0, 0, 1 };
			memcpy(x + n, code, 4);
			memcpy(x + n + 4, p + start, end - start);
			n += 4 + end - start;
		}
		sc = nsc;
	}
	if (n == 0) {
		av_free(x);
		return RD_ERR_PROTO;
	}
	*out = x;
	*outlen = n;
	return RD_OK;
}

int ctl_recorder_new(const char *path, enum ctl_codec codec, int width, int height,
	struct ctl_recorder **out)
{
	const char *fmt = container_for(path);
	struct ctl_recorder *r;
	int rc;
	if ((rc = ctl_recorder_check_path(path, codec)) != RD_OK)
		return rc;
	r = xcalloc(1, sizeof(*r));
	r->codec = codec;
	if (avformat_alloc_output_context2(&r->oc, NULL, fmt, path) < 0 || !r->oc) {
		rc = RD_ERR_UNSUPPORTED;
		goto fail;
	}
	if (!(r->st = avformat_new_stream(r->oc, NULL)) || !(r->held = av_packet_alloc())) {
		rc = RD_ERR_NOMEM;
		goto fail;
	}
	r->st->time_base = (AVRational){ 1, 1000 };
	r->st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
	r->st->codecpar->codec_id = codec == CTL_CODEC_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP9;
	r->st->codecpar->width = width;
	r->st->codecpar->height = height;
	r->st->codecpar->format = AV_PIX_FMT_YUV420P;
	if (avio_open(&r->oc->pb, path, AVIO_FLAG_WRITE) < 0) {
		rc = RD_ERR_IO;
		goto fail;
	}
	*out = r;
	return RD_OK;
fail:
	ctl_recorder_free(r);
	return rc;
}

static int write_header(struct ctl_recorder *r, const uint8_t *data, size_t len)
{
	if (r->codec == CTL_CODEC_H264) {
		uint8_t *x;
		size_t n;
		if (h264_extradata(data, len, &x, &n) != RD_OK)
			return RD_ERR_PROTO;
		r->st->codecpar->extradata = x;
		r->st->codecpar->extradata_size = (int)n;
	}
	if (avformat_write_header(r->oc, NULL) < 0)
		return RD_ERR_IO;
	r->header = true;
	return RD_OK;
}

static int flush_held(struct ctl_recorder *r, int64_t next_pts)
{
	if (!r->have_held)
		return RD_OK;
	r->held->duration = next_pts > r->held->pts ? next_pts - r->held->pts : 1;
	av_packet_rescale_ts(r->held, (AVRational){ 1, 1000 }, r->st->time_base);
	r->have_held = false;
	r->frames++;
	return av_write_frame(r->oc, r->held) < 0 ? RD_ERR_IO : RD_OK;
}

int ctl_recorder_write(struct ctl_recorder *r, const uint8_t *data, size_t len, bool key,
	int64_t pts_ms)
{
	int rc;
	if (!r->header) {
		if (!key)
			return RD_ERR_AGAIN;
		if ((rc = write_header(r, data, len)) != RD_OK)
			return rc;
		r->pts0 = pts_ms;
		r->last = -1;
	}
	int64_t pts = pts_ms - r->pts0;
	if (pts <= r->last)
		pts = r->last + 1;
	if ((rc = flush_held(r, pts)) != RD_OK)
		return rc;
	av_packet_unref(r->held);
	if (av_new_packet(r->held, (int)len) < 0)
		return RD_ERR_NOMEM;
	memcpy(r->held->data, data, len);
	r->held->pts = r->held->dts = pts;
	r->held->flags = key ? AV_PKT_FLAG_KEY : 0;
	r->held->stream_index = r->st->index;
	r->have_held = true;
	r->last = pts;
	return RD_OK;
}

int ctl_recorder_finish(struct ctl_recorder *r, int64_t end_pts_ms, double *dur, long *frames)
{
	int rc = RD_OK;
	if (!r->header) {
		ctl_recorder_free(r);
		return RD_ERR_NOTFOUND;
	}
	int64_t end = end_pts_ms - r->pts0;
	if (end <= r->last)
		end = r->last + 1;
	if (flush_held(r, end) != RD_OK || av_write_trailer(r->oc) < 0)
		rc = RD_ERR_IO;
	if (dur)
		*dur = (double)end / 1000.0;
	if (frames)
		*frames = r->frames;
	ctl_recorder_free(r);
	return rc;
}

void ctl_recorder_free(struct ctl_recorder *r)
{
	if (!r)
		return;
	if (r->oc) {
		if (r->oc->pb)
			avio_closep(&r->oc->pb);
		avformat_free_context(r->oc);
	}
	av_packet_free(&r->held);
	free(r);
}

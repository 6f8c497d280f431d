/* record: encoded frames into Matroska, WebM or MP4 with libavformat, no
 * re-encoding. Each packet is held until the next one arrives so its
 * duration is known; the last one lasts until the end of the recording, so
 * the container's duration is the time recorded even when the screen was idle.
 *
 * A container holds one picture size, so when a keyframe of another size
 * arrives (the remote screen changed mode) the file is finished there and the
 * recording goes on in the next one: out.mkv, out-2.mkv, out-3.mkv... Each
 * file starts with a keyframe at time 0 and says its own size; the result
 * lists them with where each starts in the recording. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#define RD_LOG_SUBSYS "record"
#include "audio_file.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "media.h"
#include "util.h"

#define SEG_PATH_MAX 4096

struct ctl_recorder {
	char path[SEG_PATH_MAX];   /* as asked for: the first file */
	char cur[SEG_PATH_MAX];    /* the file being written */
	const char *fmt;
	AVFormatContext *oc;
	AVStream *st;
	AVPacket *held;
	bool have_held;
	bool header;
	bool started;              /* the first keyframe came: pts0 is set */
	enum ctl_codec codec;
	int width, height;         /* of the file being written */
	int64_t pts0, last;        /* pts0: the recording's start; last: relative */
	int64_t seg_start;         /* where the current file starts, relative */
	long frames, seg_frames;
	int nseg;
	bool seg_listed;        /* the result's "segments" array is open */
	/* sound beside the picture (ctl_recorder_add_audio) */
	unsigned audio_ch;         /* 0: none */
	AVStream *ast;
	AVPacket *apkt;
	int64_t audio_last;        /* end of the last sound packet, relative (ms) */
	int64_t audio_first;       /* its first, relative; -1 before */
	double audio_dur;          /* seconds of sound in the files finished so far */
	AVCodecParserContext *h264;
	AVCodecContext *h264ctx;
	struct ctl_result *res;
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

/* ---- the size a keyframe codes ---- */

struct bits {
	const uint8_t *p;
	size_t len, pos;   /* in bits */
};

static unsigned bits_get(struct bits *b, int n)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++, b->pos++) {
		unsigned bit = b->pos < b->len ? (b->p[b->pos / 8] >> (7 - b->pos % 8)) & 1 : 0;
		v = (v << 1) | bit;
	}
	return v;
}

/* The frame size of a VP9 keyframe (uncompressed header, VP9 spec 6.2); a
 * superframe starts with its first frame, which is the keyframe. */
static bool vp9_size(const uint8_t *p, size_t len, int *w, int *h)
{
	struct bits b = { p, len * 8, 0 };
	if (len < 10 || bits_get(&b, 2) != 2)
		return false;
	unsigned profile = bits_get(&b, 1);
	profile |= bits_get(&b, 1) << 1;
	if (profile == 3)
		bits_get(&b, 1);
	if (bits_get(&b, 1) || bits_get(&b, 1))   /* show_existing_frame, non-key */
		return false;
	bits_get(&b, 2);                           /* show_frame, error_resilient */
	if (bits_get(&b, 24) != 0x498342)
		return false;
	if (profile >= 2)
		bits_get(&b, 1);
	unsigned cs = bits_get(&b, 3);
	if (cs != 7) {                             /* not sRGB */
		bits_get(&b, 1);
		if (profile == 1 || profile == 3)
			bits_get(&b, 3);
	} else if (profile == 1 || profile == 3) {
		bits_get(&b, 1);
	}
	*w = (int)bits_get(&b, 16) + 1;
	*h = (int)bits_get(&b, 16) + 1;
	return b.pos <= b.len;
}

/* The size a keyframe codes (H.264: its SPS through libavcodec's parser). */
static bool key_size(struct ctl_recorder *r, const uint8_t *p, size_t len, int *w, int *h)
{
	if (r->codec == CTL_CODEC_VP9)
		return vp9_size(p, len, w, h);
	if (!r->h264) {
		r->h264 = av_parser_init(AV_CODEC_ID_H264);
		r->h264ctx = avcodec_alloc_context3(NULL);
		if (!r->h264 || !r->h264ctx)
			return false;
		r->h264->flags |= PARSER_FLAG_COMPLETE_FRAMES;
	}
	if (len > INT32_MAX)
		return false;
	uint8_t *out;
	int outlen;
	r->h264->width = r->h264->height = 0;
	av_parser_parse2(r->h264, r->h264ctx, &out, &outlen, p, (int)len, AV_NOPTS_VALUE,
		AV_NOPTS_VALUE, 0);
	*w = r->h264->width;
	*h = r->h264->height;
	return *w > 0 && *h > 0;
}

/* ---- files ---- */

/* The name of file n (1 = the path asked for): out.mkv, out-2.mkv, ... */
static void seg_name(const char *path, int n, char *out, size_t outsz)
{
	const char *dot = strrchr(path, '.');
	if (n <= 1 || !dot)
		snprintf(out, outsz, "%s", path);
	else
		snprintf(out, outsz, "%.*s-%d%s", (int)(dot - path), path, n, dot);
}

static void file_close(struct ctl_recorder *r)
{
	if (r->oc) {
		if (r->oc->pb)
			avio_closep(&r->oc->pb);
		avformat_free_context(r->oc);
	}
	r->oc = NULL;
	r->st = NULL;
	r->ast = NULL;
	r->header = false;
}

/* The Opus track of the file being opened. */
static int audio_stream(struct ctl_recorder *r)
{
	if (!(r->ast = avformat_new_stream(r->oc, NULL)))
		return RD_ERR_NOMEM;
	AVCodecParameters *par = r->ast->codecpar;
	par->codec_type = AVMEDIA_TYPE_AUDIO;
	par->codec_id = AV_CODEC_ID_OPUS;
	par->sample_rate = 48000;
	av_channel_layout_default(&par->ch_layout, (int)r->audio_ch);
	if (!(par->extradata = av_mallocz(CTL_OPUS_HEAD_LEN + AV_INPUT_BUFFER_PADDING_SIZE)))
		return RD_ERR_NOMEM;
	ctl_opus_head(par->extradata, r->audio_ch);
	par->extradata_size = CTL_OPUS_HEAD_LEN;
	r->ast->time_base = (AVRational){ 1, 48000 };
	r->audio_last = r->seg_start;
	r->audio_first = -1;
	return RD_OK;
}

static int file_open(struct ctl_recorder *r, const char *path, int width, int height)
{
	int rc = RD_ERR_UNSUPPORTED;
	if (avformat_alloc_output_context2(&r->oc, NULL, r->fmt, path) < 0 || !r->oc)
		goto fail;
	rc = RD_ERR_NOMEM;
	if (!(r->st = avformat_new_stream(r->oc, NULL)))
		goto fail;
	r->st->time_base = (AVRational){ 1, 1000 };
	r->st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
	r->st->codecpar->codec_id = r->codec == CTL_CODEC_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP9;
	r->st->codecpar->width = width;
	r->st->codecpar->height = height;
	r->st->codecpar->format = AV_PIX_FMT_YUV420P;
	if (r->audio_ch && (rc = audio_stream(r)) != RD_OK)
		goto fail;
	rc = RD_ERR_IO;
	if (avio_open(&r->oc->pb, path, AVIO_FLAG_WRITE) < 0)
		goto fail;
	rd_strlcpy(r->cur, path, sizeof(r->cur));
	r->width = width;
	r->height = height;
	return RD_OK;
fail:
	file_close(r);
	return rc;
}

int ctl_recorder_new(const char *path, enum ctl_codec codec, int width, int height,
	struct ctl_recorder **out)
{
	struct ctl_recorder *r;
	int rc;
	if ((rc = ctl_recorder_check_path(path, codec)) != RD_OK)
		return rc;
	if (strlen(path) + 16 >= SEG_PATH_MAX)
		return RD_ERR_INVAL;
	r = xcalloc(1, sizeof(*r));
	r->codec = codec;
	r->fmt = container_for(path);
	rd_strlcpy(r->path, path, sizeof(r->path));
	r->nseg = 1;
	if (!(r->held = av_packet_alloc())) {
		rc = RD_ERR_NOMEM;
		goto fail;
	}
	if ((rc = file_open(r, path, width, height)) != RD_OK)
		goto fail;
	*out = r;
	return RD_OK;
fail:
	ctl_recorder_free(r);
	return rc;
}

void ctl_recorder_set_result(struct ctl_recorder *r, struct ctl_result *res)
{
	r->res = res;
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

/* With sound the two tracks are interleaved by time (libavformat buffers
 * what runs ahead); the picture alone goes straight out. */
static int write_pkt(struct ctl_recorder *r, AVPacket *p)
{
	int rc = r->ast ? av_interleaved_write_frame(r->oc, p) : av_write_frame(r->oc, p);
	return rc < 0 ? RD_ERR_IO : RD_OK;
}

/* Write the held packet; it lasts until next_pts (relative to the recording). */
static int flush_held(struct ctl_recorder *r, int64_t next_pts)
{
	if (!r->have_held)
		return RD_OK;
	r->held->duration = next_pts > r->held->pts ? next_pts - r->held->pts : 1;
	r->held->pts -= r->seg_start;
	r->held->dts = r->held->pts;
	av_packet_rescale_ts(r->held, (AVRational){ 1, 1000 }, r->st->time_base);
	r->have_held = false;
	r->frames++;
	r->seg_frames++;
	return write_pkt(r, r->held);
}

/* One member of the segment list in the result. */
static void report_segment(struct ctl_recorder *r, int64_t end, bool text)
{
	double start = (double)r->seg_start / 1000.0, dur = (double)(end - r->seg_start) / 1000.0;
	if (!r->res)
		return;
	struct rd_json *j = &r->res->extra;
	if (!r->seg_listed)
		rd_json_arr(j, "segments");
	r->seg_listed = true;
	rd_json_obj(j, NULL);
	rd_json_str(j, "output", r->cur);
	rd_json_int(j, "width", r->width);
	rd_json_int(j, "height", r->height);
	rd_json_num(j, "start", start, 3);
	rd_json_num(j, "duration", dur, 3);
	rd_json_int(j, "frames", r->seg_frames);
	rd_json_end(j, '}');
	char *t = r->res->extra_text;
	size_t tn = strlen(t);
	if (text)	/* the text form names files only when there are several */
		snprintf(t + tn, sizeof(r->res->extra_text) - tn, "segment %d: %s (%dx%d, from %.2f s, "
		"%.2f s)\n", r->nseg, r->cur, r->width, r->height, start, dur);
}

static void report_close(struct ctl_recorder *r)
{
	if (r->seg_listed)
		rd_json_end(&r->res->extra, ']');
	r->seg_listed = false;
}

/* Finish the current file at end (relative to the recording). */
static int seg_finish(struct ctl_recorder *r, int64_t end, bool more)
{
	int rc = RD_OK;
	if (r->ast && r->audio_first >= 0)
		r->audio_dur += (double)(RD_MIN(r->audio_last, end) - r->audio_first) / 1000.0;
	if (flush_held(r, end) != RD_OK || av_write_trailer(r->oc) < 0)
		rc = RD_ERR_IO;
	report_segment(r, end, more || r->nseg > 1);
	file_close(r);
	return rc;
}

/* A keyframe of another size at pts: this file ends, the next begins. */
static int seg_next(struct ctl_recorder *r, int64_t pts, int w, int h)
{
	char next[SEG_PATH_MAX];
	int old_w = r->width, old_h = r->height, rc;
	seg_name(r->path, r->nseg + 1, next, sizeof(next));
	log_notice("the screen is now %dx%d: %s ends after %.2f s at %dx%d; going on in %s", w, h,
		r->cur, (double)(pts - r->seg_start) / 1000.0, old_w, old_h, next);
	if ((rc = seg_finish(r, pts, true)) != RD_OK)
		return rc;
	r->nseg++;
	r->seg_start = pts;
	r->seg_frames = 0;
	return file_open(r, next, w, h);
}

int ctl_recorder_write(struct ctl_recorder *r, const uint8_t *data, size_t len, bool key,
	int64_t pts_ms)
{
	int rc, w = 0, h = 0;
	if (!r->oc || !r->st)	/* the next file could not be opened */
		return RD_ERR_IO;
	bool sized = key && key_size(r, data, len, &w, &h);
	if (!r->started) {
		if (!key)
			return RD_ERR_AGAIN;
		r->pts0 = pts_ms;
		r->last = -1;
		r->started = true;
	}
	int64_t pts = pts_ms - r->pts0;
	if (pts <= r->last)
		pts = r->last + 1;
	if (sized && r->header && (w != r->width || h != r->height)) {
		if ((rc = seg_next(r, pts, w, h)) != RD_OK)
			return rc;
	}
	if (!r->header) {
		if (sized) {   /* the size the stream codes wins over the one given */
			r->st->codecpar->width = r->width = w;
			r->st->codecpar->height = r->height = h;
		}
		if ((rc = write_header(r, data, len)) != RD_OK)
			return rc;
	}
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
	rc = seg_finish(r, end, false);
	if (r->res && r->audio_ch) {
		report_close(r);
		rd_json_str(&r->res->extra, "audio_codec", "opus");
		rd_json_int(&r->res->extra, "audio_rate", 48000);
		rd_json_int(&r->res->extra, "audio_channels", (int)r->audio_ch);
		rd_json_num(&r->res->extra, "audio_duration", r->audio_dur, 3);
	}
	if (dur)
		*dur = (double)end / 1000.0;
	if (frames)
		*frames = r->frames;
	ctl_recorder_free(r);
	return rc;
}

int ctl_recorder_add_audio(struct ctl_recorder *r, unsigned channels)
{
	if (r->header || r->audio_ch)
		return RD_ERR_AGAIN;
	if (strcmp(r->fmt, "mp4") != 0 && strcmp(r->fmt, "matroska") != 0 && strcmp(r->fmt, "webm") != 0)
		return RD_ERR_UNSUPPORTED;
	r->audio_ch = channels == 1 ? 1 : 2;
	return audio_stream(r);
}

int ctl_recorder_write_audio(struct ctl_recorder *r, const uint8_t *data, size_t len,
	int64_t pts_ms, int dur_ms)
{
	if (!r->ast || !r->header)
		return RD_ERR_AGAIN;
	int64_t pts = pts_ms - r->pts0;
	if (pts < r->seg_start || len > INT32_MAX)
		return RD_OK;	/* before the picture of this file: not kept */
	if (pts < r->audio_last)
		pts = r->audio_last;
	if (!r->apkt && !(r->apkt = av_packet_alloc()))
		return RD_ERR_NOMEM;
	AVPacket *p = r->apkt;
	av_packet_unref(p);
	if (av_new_packet(p, (int)len) < 0)
		return RD_ERR_NOMEM;
	memcpy(p->data, data, len);
	p->pts = p->dts = pts - r->seg_start;
	p->duration = dur_ms;
	p->stream_index = r->ast->index;
	/* The muxer may have chosen another time base than the one asked for. */
	av_packet_rescale_ts(p, (AVRational){ 1, 1000 }, r->ast->time_base);
	if (r->audio_first < 0)
		r->audio_first = pts;
	r->audio_last = pts + dur_ms;
	return write_pkt(r, p);
}

double ctl_recorder_audio_duration(const struct ctl_recorder *r)
{
	return r->audio_dur;
}

void ctl_recorder_free(struct ctl_recorder *r)
{
	if (!r)
		return;
	report_close(r);
	file_close(r);
	av_packet_free(&r->held);
	av_packet_free(&r->apkt);
	av_parser_close(r->h264);
	avcodec_free_context(&r->h264ctx);
	free(r);
}

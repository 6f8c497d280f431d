/* audio_file: Ogg Opus or WAV from received Opus packets (see audio_file.h). */
#define RD_LOG_SUBSYS "audio"
#include "audio_file.h"

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "util.h"

#define WAV_HDR 44
#define MAX_SAMPLES (48 * 120)

struct ctl_audio_file {
	/* Ogg */
	AVFormatContext *oc;
	AVStream *st;
	AVPacket *pkt;
	/* WAV */
	FILE *wav;
	OpusDecoder *dec;
	uint64_t wav_bytes;
	unsigned channels;
	bool started;
	int64_t pts0, end;     /* first packet, end of the last (ms) */
};

static const char *ext_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot && !strchr(dot, '/') ? dot + 1 : "";
}

int ctl_audio_file_check_path(const char *path)
{
	const char *e = ext_of(path);
	return !strcasecmp(e, "opus") || !strcasecmp(e, "ogg") || !strcasecmp(e, "wav") ? RD_OK
		: RD_ERR_INVAL;
}

void ctl_opus_head(uint8_t h[CTL_OPUS_HEAD_LEN], unsigned channels)
{
	memset(h, 0, CTL_OPUS_HEAD_LEN);
	memcpy(h, "OpusHead", 8);
	h[8] = 1;                     /* version */
	h[9] = (uint8_t)channels;
	/* pre-skip 0: the agent's times are kept as they are */
	h[12] = 0x80;                 /* 48000, little-endian */
	h[13] = 0xbb;
}

static void put_le(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int wav_header(struct ctl_audio_file *f)
{
	uint8_t h[WAV_HDR];
	uint32_t data = f->wav_bytes > 0xffffff00u ? 0xffffff00u : (uint32_t)f->wav_bytes;
	memcpy(h, "RIFF", 4);
	put_le(h + 4, 36 + data, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le(h + 16, 16, 4);
	put_le(h + 20, 1, 2);                        /* PCM */
	put_le(h + 22, f->channels, 2);
	put_le(h + 24, 48000, 4);
	put_le(h + 28, 48000 * 2 * f->channels, 4);
	put_le(h + 32, 2 * f->channels, 2);
	put_le(h + 34, 16, 2);
	memcpy(h + 36, "data", 4);
	put_le(h + 40, data, 4);
	if (fseek(f->wav, 0, SEEK_SET) != 0 || fwrite(h, 1, WAV_HDR, f->wav) != WAV_HDR)
		return RD_ERR_IO;
	return RD_OK;
}

static int ogg_open(struct ctl_audio_file *f, const char *path)
{
	const char *fmt = !strcasecmp(ext_of(path), "opus") ? "opus" : "ogg";
	if (avformat_alloc_output_context2(&f->oc, NULL, fmt, path) < 0 || !f->oc)
		return RD_ERR_UNSUPPORTED;
	if (!(f->st = avformat_new_stream(f->oc, NULL)) || !(f->pkt = av_packet_alloc()))
		return RD_ERR_NOMEM;
	AVCodecParameters *par = f->st->codecpar;
	par->codec_type = AVMEDIA_TYPE_AUDIO;
	par->codec_id = AV_CODEC_ID_OPUS;
	par->sample_rate = 48000;
	av_channel_layout_default(&par->ch_layout, (int)f->channels);
	par->extradata = av_mallocz(CTL_OPUS_HEAD_LEN + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!par->extradata)
		return RD_ERR_NOMEM;
	ctl_opus_head(par->extradata, f->channels);
	par->extradata_size = CTL_OPUS_HEAD_LEN;
	f->st->time_base = (AVRational){ 1, 48000 };
	if (avio_open(&f->oc->pb, path, AVIO_FLAG_WRITE) < 0)
		return RD_ERR_IO;
	return avformat_write_header(f->oc, NULL) < 0 ? RD_ERR_IO : RD_OK;
}

int ctl_audio_file_new(const char *path, unsigned channels, struct ctl_audio_file **out)
{
	if (ctl_audio_file_check_path(path) != RD_OK)
		return RD_ERR_INVAL;
	struct ctl_audio_file *f = xcalloc(1, sizeof(*f));
	f->channels = channels == 1 ? 1 : 2;
	int rc = RD_OK, err = 0;
	if (!strcasecmp(ext_of(path), "wav")) {
		f->dec = opus_decoder_create(48000, (int)f->channels, &err);
		f->wav = fopen(path, "wb");
		if (!f->dec || !f->wav)
			rc = f->dec ? RD_ERR_IO : RD_ERR_NOMEM;
		else
			rc = wav_header(f);
	} else {
		rc = ogg_open(f, path);
	}
	if (rc != RD_OK) {
		ctl_audio_file_free(f);
		return rc;
	}
	*out = f;
	return RD_OK;
}

static int wav_write(struct ctl_audio_file *f, const uint8_t *data, size_t len)
{
	int16_t pcm[MAX_SAMPLES * 2];
	int n = opus_decode(f->dec, data, (opus_int32)len, pcm, MAX_SAMPLES, 0);
	if (n < 0)
		return RD_OK;	/* a packet the decoder refuses: skipped */
	size_t bytes = (size_t)n * f->channels * sizeof(int16_t);
	if (fwrite(pcm, 1, bytes, f->wav) != bytes)
		return RD_ERR_IO;
	f->wav_bytes += bytes;
	return RD_OK;
}

int ctl_audio_file_write(struct ctl_audio_file *f, const uint8_t *data, size_t len, int64_t pts_ms,
	int dur_ms)
{
	if (!f->started) {
		f->started = true;
		f->pts0 = pts_ms;
	}
	if (pts_ms < f->end)
		pts_ms = f->end;
	f->end = pts_ms + dur_ms;
	if (f->wav)
		return wav_write(f, data, len);
	AVPacket *p = f->pkt;
	av_packet_unref(p);
	if (av_new_packet(p, (int)len) < 0)
		return RD_ERR_NOMEM;
	memcpy(p->data, data, len);
	p->pts = p->dts = pts_ms - f->pts0;
	p->duration = dur_ms;
	p->stream_index = 0;
	av_packet_rescale_ts(p, (AVRational){ 1, 1000 }, f->st->time_base);
	return av_write_frame(f->oc, p) < 0 ? RD_ERR_IO : RD_OK;
}

double ctl_audio_file_duration(const struct ctl_audio_file *f)
{
	return f->started ? (double)(f->end - f->pts0) / 1000.0 : 0.0;
}

int ctl_audio_file_finish(struct ctl_audio_file *f, double *dur)
{
	int rc = RD_OK;
	*dur = ctl_audio_file_duration(f);
	if (f->oc && av_write_trailer(f->oc) < 0)
		rc = RD_ERR_IO;
	if (f->wav && wav_header(f) != RD_OK)
		rc = RD_ERR_IO;
	if (f->wav && fclose(f->wav) != 0)
		rc = RD_ERR_IO;
	f->wav = NULL;
	ctl_audio_file_free(f);
	return rc;
}

void ctl_audio_file_free(struct ctl_audio_file *f)
{
	if (!f)
		return;
	if (f->oc) {
		if (f->oc->pb)
			avio_closep(&f->oc->pb);
		avformat_free_context(f->oc);
	}
	av_packet_free(&f->pkt);
	if (f->wav)
		fclose(f->wav);
	if (f->dec)
		opus_decoder_destroy(f->dec);
	free(f);
}

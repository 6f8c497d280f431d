/* sink_record: record's sink: the encoded stream into a file as it comes
 * (no re-encoding). The file's size comes from the first decoded frame;
 * packets that arrive before it are held. The agent's clock decides what is
 * in the file: it covers --duration from the first keyframe. */
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>

#define RD_LOG_SUBSYS "record"
#include "audio_rx.h"
#include "log.h"
#include "ctl.h"
#include "err.h"
#include "media.h"
#include "run.h"
#include "sink.h"
#include "util.h"

#define HELD_MAX 256
#define AUDIO_HELD_MAX 512      /* sound before the file opens: 10 s of 20 ms packets */

struct held_pkt {
	uint8_t *data;
	size_t len;
	bool key;
	int64_t pts;
};

struct rec {
	struct ctl_sink base;
	struct ctl *c;
	struct ctl_result *res;
	struct ctl_recorder *rec;
	enum ctl_codec codec;
	double t0;              /* the first keyframe, our clock */
	int64_t pts0, last_pts; /* the first keyframe's and the last written pts */
	bool started;           /* the first keyframe came */
	bool full;              /* a frame at or past --duration arrived */
	bool recording;
	bool done;              /* the run was ended from here */
	struct held_pkt held[HELD_MAX];
	int nheld;
	/* sound (unless --no-audio) */
	struct ctl_audio_rx rx;
	bool audio_track;       /* the recorder has an Opus track */
	struct held_pkt aheld[AUDIO_HELD_MAX];   /* key = unused, len, pts; dur in adur */
	int adur[AUDIO_HELD_MAX];
	int naheld;
};

static void rec_audio_fill(void *ud, const uint8_t *data, size_t len, int64_t pts, int dur);

static void rec_stop(struct rec *k)
{
	double dur = 0;
	long frames = 0;
	double duration = k->c->vs.duration;
	/* The file covers the time recorded: all of --duration, or less when the
	 * session ended early; an idle screen at the end still counts. */
	double secs = k->full ? duration : RD_MIN(duration, rd_now() - k->t0);
	int64_t end = k->pts0 + (int64_t)(secs * 1000.0);
	if (!k->rec)
		return;
	if (end < k->last_pts)
		end = k->last_pts + 1;
	/* Silence at the end that the agent did not send is sound too: the
	 * track lasts as long as the picture. */
	if (k->audio_track && !k->done)
		ctl_audio_rx_fill_to(&k->rx, end, rec_audio_fill, k);
	int rc = ctl_recorder_finish(k->rec, end, &dur, &frames);
	k->rec = NULL;
	if (rc != RD_OK) {
		k->done = true;
		ctl_run_fail(k->base.run, CTL_EXIT_FAIL, "write_failed", "cannot finish %s: %s",
			k->c->vs.output, rd_strerror(rc));
		return;
	}
	k->res->duration_s = dur;
	k->res->frames = frames;
	k->res->output = k->c->vs.output;
	k->done = true;
	ctl_run_finish(k->base.run);
}

static void rec_put(struct rec *k, const uint8_t *data, size_t len, bool key, int64_t pts)
{
	if (ctl_recorder_write(k->rec, data, len, key, pts) != RD_OK) {
		k->done = true;
		ctl_run_fail(k->base.run, CTL_EXIT_FAIL, "write_failed", "cannot write %s",
			k->c->vs.output);
		return;
	}
	k->last_pts = pts;
}

static void rec_audio_put(struct rec *k, const uint8_t *data, size_t len, int64_t pts, int dur)
{
	if (ctl_recorder_write_audio(k->rec, data, len, pts, dur) == RD_ERR_IO) {
		k->done = true;
		ctl_run_fail(k->base.run, CTL_EXIT_FAIL, "write_failed", "cannot write %s",
			k->c->vs.output);
	}
}

/* Silence filled in when the recording ends. */
static void rec_audio_fill(void *ud, const uint8_t *data, size_t len, int64_t pts, int dur)
{
	struct rec *k = ud;
	if (k->rec && !k->done)
		rec_audio_put(k, data, len, pts, dur);
}

/* One sound packet on the agent's time line: into the file, or held until it opens. */
static void rec_audio(void *ud, const uint8_t *data, size_t len, int64_t pts, int dur)
{
	struct rec *k = ud;
	if (k->rx.packets + k->rx.filled == 1)
		log_debug("first sound at %lld ms (first keyframe at %lld ms)", (long long)pts,
			(long long)k->pts0);
	if (k->done || k->full || (k->started && k->c->vs.duration > 0 &&
	    pts - k->pts0 >= (int64_t)(k->c->vs.duration * 1000.0)))
		return;
	if (k->rec && k->recording) {
		if (k->audio_track)
			rec_audio_put(k, data, len, pts, dur);
		return;
	}
	if (k->naheld == AUDIO_HELD_MAX) {	/* keep the newest */
		free(k->aheld[0].data);
		memmove(k->aheld, k->aheld + 1, sizeof(k->aheld[0]) * (AUDIO_HELD_MAX - 1));
		memmove(k->adur, k->adur + 1, sizeof(k->adur[0]) * (AUDIO_HELD_MAX - 1));
		k->naheld--;
	}
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, data, len);
	k->aheld[k->naheld] = (struct held_pkt){ copy, len, false, pts };
	k->adur[k->naheld++] = dur;
}

static void rec_message(struct ctl_sink *base, const Hbb__Message *m)
{
	struct rec *k = (struct rec *)base;
	if (!k->c->vs.no_audio)
		ctl_audio_rx_message(&k->rx, m, rec_audio, k);
}

static void rec_start(struct rec *k, int w, int h)
{
	int rc = ctl_recorder_new(k->c->vs.output, k->codec, w, h, &k->rec);
	if (rc == RD_OK && !k->c->vs.no_audio) {
		rc = ctl_recorder_add_audio(k->rec, k->rx.channels ? k->rx.channels : 2);
		k->audio_track = rc == RD_OK;
		if (rc != RD_OK) {
			ctl_recorder_free(k->rec);
			k->rec = NULL;
		}
	}
	if (rc != RD_OK) {
		k->done = true;
		ctl_run_fail(k->base.run, CTL_EXIT_FAIL, "write_failed", "cannot record %s to %s: %s",
			ctl_codec_name(k->codec), k->c->vs.output, rd_strerror(rc));
		return;
	}
	ctl_recorder_set_result(k->rec, k->res);	/* the files, when the size changes */
	k->recording = true;
	for (int i = 0; i < k->nheld && !k->done; i++)
		rec_put(k, k->held[i].data, k->held[i].len, k->held[i].key, k->held[i].pts);
	for (int i = 0; i < k->nheld; i++)
		free(k->held[i].data);
	k->nheld = 0;
	for (int i = 0; i < k->naheld && !k->done; i++)
		rec_audio_put(k, k->aheld[i].data, k->aheld[i].len, k->aheld[i].pts, k->adur[i]);
	for (int i = 0; i < k->naheld; i++)
		free(k->aheld[i].data);
	k->naheld = 0;
	double left = k->c->vs.duration - (rd_now() - k->t0);
	ctl_run_stop_after(k->base.run, left > 0.001 ? left : 0.001);
}

static bool rec_packet(struct ctl_sink *base, enum ctl_codec codec, const uint8_t *data, size_t len,
	bool key, int64_t pts)
{
	struct rec *k = (struct rec *)base;
	double duration = k->c->vs.duration;
	if (!k->started) {
		k->started = true;
		k->codec = codec;
		k->pts0 = pts;
		k->t0 = rd_now();
	}
	if (codec != k->codec) {
		k->done = true;
		ctl_run_fail(base->run, CTL_EXIT_FAIL, "codec_changed", "the agent switched from %s to %s "
			"during the recording", ctl_codec_name(k->codec), ctl_codec_name(codec));
		return false;
	}
	/* Frames that queued up behind a slow first keyframe arrive in a burst,
	 * and the file must not grow past --duration because of them. */
	if (duration > 0 && pts - k->pts0 >= (int64_t)(duration * 1000.0)) {
		k->full = true;
		if (k->rec)
			rec_stop(k);
		return false;
	}
	if (k->rec) {
		rec_put(k, data, len, key, pts);
	} else if (k->nheld < HELD_MAX) {
		uint8_t *copy = malloc(len);
		if (copy) {
			memcpy(copy, data, len);
			k->held[k->nheld++] = (struct held_pkt){ copy, len, key, pts };
		}
	}
	return !k->recording;	/* once recording, the decoder is not needed */
}

static void rec_frame(struct ctl_sink *base, const struct AVFrame *f)
{
	struct rec *k = (struct rec *)base;
	if (!k->recording && !k->rec)
		rec_start(k, f->width, f->height);
}

static bool rec_finish(struct ctl_sink *base, enum ctl_sink_stop why)
{
	struct rec *k = (struct rec *)base;
	/* Keep what was recorded, unless the session failed. */
	if (why == CTL_SINK_TIME || (k->rec && (why == CTL_SINK_SIGNAL || !k->res->error))) {
		rec_stop(k);
		return true;
	}
	return false;
}

static void rec_free(struct ctl_sink *base)
{
	struct rec *k = (struct rec *)base;
	if (k->rec)
		ctl_recorder_free(k->rec);
	for (int i = 0; i < k->nheld; i++)
		free(k->held[i].data);
	for (int i = 0; i < k->naheld; i++)
		free(k->aheld[i].data);
	free(k);
}

static const struct ctl_sink_ops rec_ops = {
	.flags = CTL_SINK_MEDIA | CTL_SINK_AUDIO, .packet = rec_packet, .frame = rec_frame,
	.message = rec_message, .finish = rec_finish, .free = rec_free,
};

struct ctl_sink *ctl_sink_record_new(struct ctl *c, struct ctl_result *res)
{
	struct rec *k = xcalloc(1, sizeof(*k));
	k->base.ops = &rec_ops;
	k->c = c;
	k->res = res;
	return &k->base;
}

/* sink_listen: listen's sink: the host's sound alone into a file (Ogg Opus
 * or WAV), --duration seconds on the agent's clock from the first packet.
 * Silence the agent skipped is filled in, also at the end, so a file asked
 * for 5 s holds 5 s. No picture is decoded. */
#include <stdlib.h>
#include <string.h>

#include "audio_file.h"
#include "audio_rx.h"
#include "ctl.h"
#include "err.h"
#include "run.h"
#include "sink.h"
#include "util.h"

#define LISTEN_DEFAULT_TOC 0xfc   /* CELT fullband 20 ms stereo, for silence only */

struct listen {
	struct ctl_sink base;
	struct ctl *c;
	struct ctl_result *res;
	struct ctl_audio_rx rx;
	struct ctl_audio_file *f;
	double opened;             /* our clock at login */
	bool done;
	bool failed;
};

static void listen_fail(struct listen *k, int rc, const char *what)
{
	if (k->failed)
		return;
	k->failed = true;
	k->done = true;
	ctl_run_fail(k->base.run, CTL_EXIT_FAIL, "write_failed", "cannot %s %s: %s", what,
		k->c->vs.output, rd_strerror(rc));
}

static void listen_end_at(struct listen *k, int64_t end);

static void listen_packet(void *ud, const uint8_t *data, size_t len, int64_t pts_ms, int dur_ms)
{
	struct listen *k = ud;
	if (k->done)
		return;
	int rc;
	if (!k->f) {
		if ((rc = ctl_audio_file_new(k->c->vs.output, k->rx.channels, &k->f)) != RD_OK) {
			listen_fail(k, rc, "create");
			return;
		}
		/* Time from the first packet: trailing silence is waited for a little. */
		ctl_run_stop_after(k->base.run, k->c->vs.duration + 0.5);
	}
	if ((rc = ctl_audio_file_write(k->f, data, len, pts_ms, dur_ms)) != RD_OK) {
		listen_fail(k, rc, "write");
		return;
	}
	if (ctl_audio_file_duration(k->f) >= k->c->vs.duration - 0.0005)
		listen_end_at(k, -1);
}

static void listen_message(struct ctl_sink *base, const Hbb__Message *m)
{
	struct listen *k = (struct listen *)base;
	ctl_audio_rx_message(&k->rx, m, listen_packet, k);
}

static void listen_open(struct ctl_sink *base, struct ctl_session *s, int w, int h)
{
	struct listen *k = (struct listen *)base;
	(void)s, (void)w, (void)h;
	k->opened = rd_now();
	ctl_run_stop_after(base->run, k->c->vs.duration + 0.5);
}

static void listen_report(struct listen *k, double dur)
{
	struct ctl_result *res = k->res;
	res->output = k->c->vs.output;
	res->duration_s = dur;
	rd_json_str(&res->extra, "audio_codec", "opus");
	rd_json_int(&res->extra, "audio_rate", 48000);
	rd_json_int(&res->extra, "audio_channels", k->rx.channels ? (int)k->rx.channels : 2);
	rd_json_num(&res->extra, "audio_duration", dur, 3);
	rd_json_uint(&res->extra, "audio_packets", k->rx.packets);
	rd_json_uint(&res->extra, "audio_silence_filled", k->rx.filled);
	snprintf(res->extra_text, sizeof(res->extra_text), "audio: Opus 48000 Hz, %u channels, "
		"%.2f s (%llu packets, %llu of silence filled in)", k->rx.channels ? k->rx.channels : 2,
		dur, (unsigned long long)k->rx.packets, (unsigned long long)k->rx.filled);
}

/* Fill silence up to end (agent ms; -1: the file is full), finish, end the run. */
static void listen_end_at(struct listen *k, int64_t end)
{
	if (k->done)
		return;
	k->done = true;
	int rc;
	if (!k->f) {	/* nothing came: a file of silence */
		k->rx.have_format = true;
		k->rx.channels = k->rx.channels ? k->rx.channels : 2;
		if ((rc = ctl_audio_file_new(k->c->vs.output, k->rx.channels, &k->f)) != RD_OK) {
			k->done = false;
			listen_fail(k, rc, "create");
			return;
		}
		k->rx.started = true;
		k->rx.next_pts = 0;
		k->rx.toc = k->rx.channels == 1 ? 0xf8 : LISTEN_DEFAULT_TOC;
		k->rx.last_ms = 20;
		end = (int64_t)(RD_MIN(k->c->vs.duration, rd_now() - k->opened) * 1000.0);
	}
	uint8_t filler = (uint8_t)(k->rx.toc & 0xfc);
	int ms = k->rx.last_ms ? k->rx.last_ms : 20;
	for (int i = 0; end >= 0 && i < 100000 && k->rx.next_pts + ms <= end; i++) {
		if (ctl_audio_file_write(k->f, &filler, 1, k->rx.next_pts, ms) != RD_OK)
			break;
		k->rx.next_pts += ms;
		k->rx.filled++;
	}
	double dur = 0;
	rc = ctl_audio_file_finish(k->f, &dur);
	k->f = NULL;
	if (rc != RD_OK) {
		k->done = false;
		listen_fail(k, rc, "finish");
		return;
	}
	listen_report(k, dur);
	ctl_run_finish(k->base.run);
}

static bool listen_finish(struct ctl_sink *base, enum ctl_sink_stop why)
{
	struct listen *k = (struct listen *)base;
	if (k->done)
		return true;
	if (why == CTL_SINK_END && k->res->error)
		return false;
	/* The first packet's time plus what was asked (or what passed, when stopped early). */
	int64_t first = k->f ? k->rx.next_pts - (int64_t)(ctl_audio_file_duration(k->f) * 1000.0) : 0;
	double secs = why == CTL_SINK_TIME ? k->c->vs.duration : RD_MIN(k->c->vs.duration,
		rd_now() - k->opened);
	listen_end_at(k, first + (int64_t)(secs * 1000.0));
	return true;
}

static void listen_free(struct ctl_sink *base)
{
	struct listen *k = (struct listen *)base;
	ctl_audio_file_free(k->f);
	free(k);
}

static const struct ctl_sink_ops listen_ops = {
	.flags = CTL_SINK_AUDIO | CTL_SINK_GOODBYE, .open = listen_open, .message = listen_message,
	.finish = listen_finish, .free = listen_free,
};

struct ctl_sink *ctl_sink_listen_new(struct ctl *c, struct ctl_result *res)
{
	struct listen *k = xcalloc(1, sizeof(*k));
	k->base.ops = &listen_ops;
	k->c = c;
	k->res = res;
	return &k->base;
}

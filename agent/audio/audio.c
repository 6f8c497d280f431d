/* audio: capture, encode and fan out the host's sound (see audio.h). */
#define RD_LOG_SUBSYS "audio"
#include "audio.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "audio_pw.h"
#include "err.h"
#include "log.h"
#include "util.h"

struct audio_sub {
	struct audio *a;
	struct audio_sub *next;
	void (*on_packet)(const struct audio_packet *p, void *ud);
	void *ud;
};

struct audio {
	struct ev_loop *loop;
	struct audio_config cfg;
	char *source;
	struct audio_pw *pw;
	struct audio_enc *enc;
	struct audio_enc_stats done;    /* of encoders already gone */
	ev_timer retry;                 /* reopen after a failure */
	bool failed;                    /* the stream failed: close and retry */
	bool said_off;                  /* "audio off" was logged */
	double epoch;                   /* clock when cfg.clock_ms is NULL */
	struct audio_sub *subs;
	unsigned nsubs;
};

static int64_t audio__now_ms(struct audio *a)
{
	if (a->cfg.clock_ms)
		return a->cfg.clock_ms(a->cfg.clock_ud);
	return (int64_t)((rd_now() - a->epoch) * 1000.0);
}

static void audio__on_encoded(const uint8_t *data, size_t len, int64_t pts_ms, void *ud)
{
	struct audio *a = ud;
	struct audio_packet p = { .data = data, .len = len, .pts_ms = pts_ms,
		.frame_ms = a->cfg.frame_ms };
	for (struct audio_sub *s = a->subs; s; s = s->next)
		s->on_packet(&p, s->ud);
}

static void audio__on_pcm(const float *pcm, size_t nframes, void *ud)
{
	struct audio *a = ud;
	if (!a->enc)
		return;
	int64_t pts = audio__now_ms(a) - (int64_t)(nframes * 1000 / AUDIO_RATE);
	audio_enc_push(a->enc, pcm, nframes, pts, audio__on_encoded, a);
}

static void audio__close(struct audio *a)
{
	audio_pw_close(a->pw);
	a->pw = NULL;
	if (a->enc) {
		struct audio_enc_stats st;
		audio_enc_get_stats(a->enc, &st);
		a->done.frames += st.frames;
		a->done.packets += st.packets;
		a->done.bytes += st.bytes;
		a->done.silent += st.silent;
	}
	audio_enc_free(a->enc);
	a->enc = NULL;
}

static void audio__on_failed(void *ud)
{
	struct audio *a = ud;
	a->failed = true;
	ev_timer_set(&a->retry, 0.0, 0.0);
	ev_timer_start(a->loop, &a->retry);
}

static const struct audio_pw_ops audio_pw_ops = {
	.on_pcm = audio__on_pcm,
	.on_failed = audio__on_failed,
};

/* Open the stream and the encoder; on failure, try again later. */
static void audio__open(struct audio *a)
{
	char why[160];
	struct audio_enc_config ec = { .bitrate_kbps = a->cfg.bitrate_kbps,
		.frame_ms = a->cfg.frame_ms, .lowdelay = a->cfg.lowdelay };
	int rc = audio_enc_new(&ec, &a->enc);
	if (rc < 0) {
		log_err("audio off: the Opus encoder did not open (%s)", rd_strerror(rc));
		a->said_off = true;
		return;
	}
	rc = audio_pw_open(a->loop, a->source, &audio_pw_ops, a, &a->pw, why, sizeof(why));
	if (rc < 0) {
		audio__close(a);
		if (!a->said_off)
			log_warn("audio off: %s", why);
		else
			log_debug("audio still off: %s", why);
		a->said_off = true;
		ev_timer_set(&a->retry, AUDIO_RETRY_SECS, 0.0);
		ev_timer_start(a->loop, &a->retry);
		return;
	}
	log_info("audio on: %s, Opus %d kbit/s, %d ms frames, %s", a->source ? a->source :
		"monitor of the default sink", a->cfg.bitrate_kbps, a->cfg.frame_ms,
		a->cfg.lowdelay ? "restricted low delay" : "audio");
	a->said_off = false;
}

static void audio__on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct audio *a = t->data;
	if (a->failed) {
		a->failed = false;
		audio__close(a);
		ev_timer_set(&a->retry, AUDIO_RETRY_SECS, 0.0);
		ev_timer_start(a->loop, &a->retry);
		return;
	}
	if (!a->pw && a->nsubs > 0)
		audio__open(a);
}

struct audio *audio_new(struct ev_loop *loop, const struct audio_config *cfg)
{
	struct audio *a = xcalloc(1, sizeof(*a));
	a->loop = loop;
	a->cfg = *cfg;
	if (cfg->source && cfg->source[0])
		a->source = xstrdup(cfg->source);
	a->cfg.source = a->source;
	a->epoch = rd_now();
	ev_init(&a->retry, audio__on_retry);
	a->retry.data = a;
	return a;
}

void audio_free(struct audio *a)
{
	if (!a)
		return;
	ev_timer_stop(a->loop, &a->retry);
	audio__close(a);
	free(a->source);
	free(a);
}

struct audio_sub *audio_subscribe(struct audio *a, void (*on_packet)(const struct audio_packet *p,
	void *ud), void *ud)
{
	struct audio_sub *s = xcalloc(1, sizeof(*s));
	s->a = a;
	s->on_packet = on_packet;
	s->ud = ud;
	s->next = a->subs;
	a->subs = s;
	if (a->nsubs++ == 0 && !a->pw && !ev_is_active(&a->retry))
		audio__open(a);
	return s;
}

void audio_unsubscribe(struct audio_sub *s)
{
	if (!s)
		return;
	struct audio *a = s->a;
	for (struct audio_sub **pp = &a->subs; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	free(s);
	if (--a->nsubs == 0) {
		ev_timer_stop(a->loop, &a->retry);
		a->failed = false;
		struct audio_enc_stats st = { 0 };
		if (a->enc)
			audio_enc_get_stats(a->enc, &st);
		if (a->pw)
			log_info("audio stopped: no session listens (%llu frames, %llu sent, %llu silent)",
				(unsigned long long)st.frames, (unsigned long long)st.packets,
				(unsigned long long)st.silent);
		audio__close(a);
	}
}

unsigned audio_subscribers(const struct audio *a)
{
	return a->nsubs;
}

void audio_get_stats(const struct audio *a, struct audio_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->capturing = a->pw != NULL;
	out->stream = audio_pw_state(a->pw);
	out->enc = a->done;
	if (a->enc) {
		struct audio_enc_stats st;
		audio_enc_get_stats(a->enc, &st);
		out->enc.frames += st.frames;
		out->enc.packets += st.packets;
		out->enc.bytes += st.bytes;
		out->enc.silent += st.silent;
	}
}

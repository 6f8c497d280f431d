/* Unit tests of the agent's sound path without PipeWire: the Opus frame
 * gatherer (a tone in, the same tone decoded out; silence costs nothing;
 * time stamps), the AudioFormat/AudioFrame messages, and the session core's
 * handling of OptionMessage.disable_audio (sound only after login). */
#include <math.h>
#include <opus/opus.h>

#include "agent_session_harness.h"
#include "agent/audio/audio_enc.h"
#include "agent/audio/audio_msg.h"

#define TONE_HZ 1000.0
#define TONE_AMP 0.5

struct got {
	int n;
	int64_t pts[200];
	float pcm[AUDIO_RATE * AUDIO_CHANNELS * 2];
	size_t samples;      /* per channel, decoded */
	OpusDecoder *dec;
};

static void got_packet(const uint8_t *data, size_t len, int64_t pts_ms, void *ud)
{
	struct got *g = ud;
	assert_true(g->n < 200);
	g->pts[g->n++] = pts_ms;
	int room = (int)(sizeof(g->pcm) / sizeof(float) / AUDIO_CHANNELS - g->samples);
	int n = opus_decode_float(g->dec, data, (opus_int32)len, g->pcm + g->samples * AUDIO_CHANNELS,
		room, 0);
	assert_true(n > 0);
	g->samples += (size_t)n;
}

/* secs of a stereo sine (or silence) pushed in 7 ms pieces from pts 1000. */
static void push_tone(struct audio_enc *e, struct got *g, double secs, double amp)
{
	const size_t piece = AUDIO_RATE * 7 / 1000;
	float buf[piece * AUDIO_CHANNELS];
	size_t total = (size_t)(secs * AUDIO_RATE);
	for (size_t done = 0; done < total; done += piece) {
		for (size_t i = 0; i < piece; i++) {
			float v = (float)(amp * sin(2 * M_PI * TONE_HZ * (double)(done + i) / AUDIO_RATE));
			buf[i * 2] = buf[i * 2 + 1] = v;
		}
		audio_enc_push(e, buf, piece, 1000 + (int64_t)(done * 1000 / AUDIO_RATE), got_packet, g);
	}
}

/* Frequency by counting upward zero crossings of the left channel. */
static double tone_freq(const struct got *g, size_t from)
{
	int up = 0;
	size_t first = 0, last = 0;
	for (size_t i = from + 1; i < g->samples; i++)
		if (g->pcm[(i - 1) * 2] < 0 && g->pcm[i * 2] >= 0) {
			if (!up)
				first = i;
			last = i;
			up++;
		}
	assert_true(up > 10);
	return (double)(up - 1) * AUDIO_RATE / (double)(last - first);
}

static double tone_rms(const struct got *g, size_t from)
{
	double sum = 0;
	for (size_t i = from; i < g->samples; i++)
		sum += (double)g->pcm[i * 2] * g->pcm[i * 2];
	return sqrt(sum / (double)(g->samples - from));
}

static void test_enc_tone(void **state)
{
	(void)state;
	int err;
	for (int lowdelay = 0; lowdelay <= 1; lowdelay++) {
		struct got *g = calloc(1, sizeof(*g));
		g->dec = opus_decoder_create(AUDIO_RATE, AUDIO_CHANNELS, &err);
		struct audio_enc *e;
		struct audio_enc_config cfg = { .bitrate_kbps = 64, .frame_ms = 20, .lowdelay = lowdelay };
		assert_int_equal(audio_enc_new(&cfg, &e), RD_OK);
		push_tone(e, g, 1.0, TONE_AMP);
		assert_int_equal(g->n, 50);
		for (int i = 0; i < g->n; i++)
			assert_int_equal(g->pts[i], 1000 + 20 * i);
		double f = tone_freq(g, AUDIO_RATE / 10);
		assert_true(fabs(f - TONE_HZ) / TONE_HZ < 0.02);
		double db = 20 * log10(tone_rms(g, AUDIO_RATE / 10) / (TONE_AMP / sqrt(2)));
		assert_true(fabs(db) < 1.0);
		struct audio_enc_stats st;
		audio_enc_get_stats(e, &st);
		assert_int_equal(st.frames, 50);
		assert_int_equal(st.packets, 50);
		assert_true(st.bytes > 50 * 100 && st.bytes < 50 * 260); /* ~64 kbit/s */
		audio_enc_free(e);
		opus_decoder_destroy(g->dec);
		free(g);
	}
}

static void test_enc_silence_and_gaps(void **state)
{
	(void)state;
	int err;
	struct got *g = calloc(1, sizeof(*g));
	g->dec = opus_decoder_create(AUDIO_RATE, AUDIO_CHANNELS, &err);
	struct audio_enc *e;
	struct audio_enc_config cfg = { .bitrate_kbps = 64, .frame_ms = 10, .lowdelay = true };
	assert_int_equal(audio_enc_new(&cfg, &e), RD_OK);
	assert_int_equal(audio_enc_frame_samples(e), 480);
	push_tone(e, g, 2.0, 0.0);
	assert_int_equal(g->n, 0);          /* silence: nothing sent */
	struct audio_enc_stats st;
	audio_enc_get_stats(e, &st);
	assert_int_equal(st.silent, 200);
	assert_int_equal(st.bytes, 0);
	/* Sound after a gap: its stamp is the buffer's, not the old count's. */
	float one[480 * 2];
	for (int i = 0; i < 480; i++)
		one[2 * i] = one[2 * i + 1] = (float)(0.3 * sin(2 * M_PI * TONE_HZ * i / AUDIO_RATE));
	audio_enc_push(e, one, 480, 9000, got_packet, g);
	audio_enc_push(e, one, 480, 9010, got_packet, g);
	audio_enc_push(e, one, 480, 9021, got_packet, g); /* jitter stays on the count */
	assert_int_equal(g->n, 3);
	assert_int_equal(g->pts[0], 9000);
	assert_int_equal(g->pts[1], 9010);
	assert_int_equal(g->pts[2], 9020);
	/* A bad configuration is refused. */
	struct audio_enc *bad;
	cfg.frame_ms = 15;
	assert_int_equal(audio_enc_new(&cfg, &bad), RD_ERR_INVAL);
	audio_enc_free(e);
	opus_decoder_destroy(g->dec);
	free(g);
}

struct wire {
	uint8_t *p[4];
	size_t len[4];
	int n;
};

static int wire_send(void *ud, const uint8_t *p, size_t len)
{
	struct wire *w = ud;
	assert_true(w->n < 4);
	w->p[w->n] = malloc(len);
	memcpy(w->p[w->n], p, len);
	w->len[w->n++] = len;
	return RD_OK;
}

static void test_messages(void **state)
{
	(void)state;
	struct wire w = { 0 };
	const uint8_t pkt[] = { 0xfc, 1, 2, 3, 4 };
	assert_int_equal(audio_msg_send_format(wire_send, &w, 48000, 2), RD_OK);
	assert_int_equal(audio_msg_send_frame(wire_send, &w, pkt, sizeof(pkt), 123456), RD_OK);
	Hbb__Message *m = rd_pb_message_unpack(w.p[0], w.len[0]);
	assert_non_null(m);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_MISC);
	assert_int_equal(m->misc->union_case, HBB__MISC__UNION_AUDIO_FORMAT);
	assert_int_equal(m->misc->audio_format->sample_rate, 48000);
	assert_int_equal(m->misc->audio_format->channels, 2);
	hbb__message__free_unpacked(m, NULL);
	m = rd_pb_message_unpack(w.p[1], w.len[1]);
	assert_non_null(m);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_AUDIO_FRAME);
	assert_memory_equal(m->audio_frame->data.data, pkt, sizeof(pkt));
	assert_int_equal(m->audio_frame->rdesk_pts, 123456);
	hbb__message__free_unpacked(m, NULL);
	/* On the wire: Message.audio_frame is field 11, AudioFrame.data field 1. */
	assert_int_equal(w.p[1][0], (11 << 3) | 2);
	assert_int_equal(w.p[1][2], (1 << 3) | 2);
	for (int i = 0; i < w.n; i++)
		free(w.p[i]);
}

/* A plaintext session (allowed by the host) up to login with opt. */
static void login(struct harness *h, Hbb__OptionMessage *opt)
{
	h->host.allow_plain = true;
	h->s = session_new(&h->host, &h->peer, SESSION_PATH_PUNCH, &h_ops, h);
	assert_int_equal(session_start(h->s, 0.0), RD_OK);
	Hbb__PublicKey pk = HBB__PUBLIC_KEY__INIT;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_PUBLIC_KEY;
	m.public_key = &pk;
	h_feed(h, &m, 0.1);
	assert_int_equal(session_state(h->s), SESSION_LOGIN);
	/* Before login an option asking for sound does nothing. */
	Hbb__OptionMessage on = HBB__OPTION_MESSAGE__INIT;
	on.disable_audio = HBB__OPTION_MESSAGE__BOOL_OPTION__No;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_OPTION;
	misc.option = &on;
	h_feed_misc(h, &misc, 0.15);
	assert_int_equal(h->audio_calls, 0);
	assert_false(session_audio_wanted(h->s));
	h_login_request(h, h_last(h), PASSWORD, opt, false, 0.2);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
}

static void misc_audio(struct harness *h, Hbb__OptionMessage__BoolOption v, double now)
{
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.disable_audio = v;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_OPTION;
	misc.option = &opt;
	h_feed_misc(h, &misc, now);
}

static void test_session_audio_default_on(void **state)
{
	struct harness *h = *state;
	login(h, NULL);
	assert_int_equal(h->audio_calls, 1);
	assert_true(h->audio_on);
	assert_true(session_audio_wanted(h->s));
	misc_audio(h, HBB__OPTION_MESSAGE__BOOL_OPTION__Yes, 1.0);
	assert_int_equal(h->audio_calls, 2);
	assert_false(h->audio_on);
	misc_audio(h, HBB__OPTION_MESSAGE__BOOL_OPTION__Yes, 1.1);  /* no change */
	misc_audio(h, HBB__OPTION_MESSAGE__BOOL_OPTION__NotSet, 1.2);
	assert_int_equal(h->audio_calls, 2);
	misc_audio(h, HBB__OPTION_MESSAGE__BOOL_OPTION__No, 1.3);
	assert_int_equal(h->audio_calls, 3);
	assert_true(h->audio_on);
}

static void test_session_audio_refused_at_login(void **state)
{
	struct harness *h = *state;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.disable_audio = HBB__OPTION_MESSAGE__BOOL_OPTION__Yes;
	login(h, &opt);
	assert_int_equal(h->audio_calls, 1);
	assert_false(h->audio_on);
	assert_false(session_audio_wanted(h->s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enc_tone),
		cmocka_unit_test(test_enc_silence_and_gaps),
		cmocka_unit_test(test_messages),
		cmocka_unit_test_setup_teardown(test_session_audio_default_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_audio_refused_at_login, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

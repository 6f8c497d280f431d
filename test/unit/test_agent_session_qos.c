/* Unit tests for the video controls of agent/session: the controller's
 * options at login and mid-session, frame acknowledgements, TestDelay's
 * target bitrate and the rate steps from its round trips, all through the
 * session core without sockets (a plaintext session, allowed by the host,
 * keeps the harness short; encryption is covered by test_agent_session). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/login.h"
#include "agent/session.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "pb.h"

#define HOST_ID "1234567890"
#define PASSWORD "video pw"
#define MAXF 128

struct h {
	struct rd_keypair kp;
	struct login_password pw;
	struct login_guard *guard;
	struct session_host host;
	struct session *s;
	struct rd_sockaddr peer;
	Hbb__Message *out[MAXF];
	size_t n_out;
	int rate_calls, fps, quality;
	int ready_calls, keyframes;
	bool backed;
	bool closed;
};

static int h_send(void *ud, const uint8_t *p, size_t len)
{
	struct h *h = ud;
	assert_true(h->n_out < MAXF);
	h->out[h->n_out] = rd_pb_message_unpack(p, len);
	if (h->out[h->n_out])
		h->n_out++;
	return RD_OK;
}

static void h_set_crypto(void *ud, const struct rd_crypto_stream *cs) { (void)ud; (void)cs; fail(); }
static void h_get_display(void *ud, struct video_display *d)
{
	(void)ud;
	memset(d, 0, sizeof(*d));
	d->width = 640;
	d->height = 480;
}
static void h_start_video(void *ud, enum video_codec c) { (void)ud; (void)c; }
static void h_keyframe(void *ud) { ((struct h *)ud)->keyframes++; }
static void h_close(void *ud, int reason) { (void)reason; ((struct h *)ud)->closed = true; }
static void h_rate(void *ud, int fps, int quality)
{
	struct h *h = ud;
	h->rate_calls++;
	h->fps = fps;
	h->quality = quality;
}
static uint32_t h_kbps(void *ud) { (void)ud; return 1234; }
static bool h_backed(void *ud) { return ((struct h *)ud)->backed; }
static void h_ready(void *ud) { ((struct h *)ud)->ready_calls++; }

static const struct session_ops ops = {
	.send = h_send, .set_crypto = h_set_crypto, .get_display = h_get_display,
	.start_video = h_start_video, .request_keyframe = h_keyframe, .close = h_close,
	.set_video_rate = h_rate, .target_kbps = h_kbps, .backed_up = h_backed, .video_ready = h_ready,
};

static char tmpdir[256];

static int setup(void **state)
{
	assert_int_equal(rd_crypto_init(), RD_OK);
	rd_log_set_level(RD_LOG_ERR);
	struct h *h = calloc(1, sizeof(*h));
	assert_int_equal(rd_key_generate(&h->kp, false), RD_OK);
	const char *td = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/rd-qos-unit.XXXXXX", td && *td ? td : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	assert_int_equal(login_password_store(tmpdir, PASSWORD), RD_OK);
	assert_int_equal(login_password_load(tmpdir, &h->pw), RD_OK);
	h->guard = login_guard_new();
	h->host = (struct session_host){ .id = HOST_ID, .kp = &h->kp, .pw = &h->pw, .guard = h->guard,
		.hostname = "t", .allow_plain = true, .have_vp9 = true, .have_h264 = true };
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.9:40000", 0, &h->peer), RD_OK);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct h *h = *state;
	session_free(h->s);
	for (size_t i = 0; i < h->n_out; i++)
		hbb__message__free_unpacked(h->out[i], NULL);
	login_guard_free(h->guard);
	char path[320];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, LOGIN_PW_FILE);
	unlink(path);
	rmdir(tmpdir);
	free(h);
	return 0;
}

static void feed(struct h *h, const Hbb__Message *m, double now)
{
	uint8_t *p = NULL;
	size_t len = 0;
	assert_int_equal(rd_pb_pack(&m->base, &p, &len), RD_OK);
	session_on_frame(h->s, p, len, now, 60000 + now);
	free(p);
}

static const Hbb__Message *last(struct h *h)
{
	assert_true(h->n_out > 0);
	return h->out[h->n_out - 1];
}

/* Handshake in plaintext and log in with opt (and video_ack_required). */
static void login(struct h *h, Hbb__OptionMessage *opt, bool ack)
{
	h->s = session_new(&h->host, &h->peer, SESSION_PATH_PUNCH, &ops, h);
	session_set_video_limits(h->s, 30, 50);
	assert_int_equal(session_start(h->s, 0.0, 60000.0), RD_OK);
	Hbb__PublicKey pk = HBB__PUBLIC_KEY__INIT;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_PUBLIC_KEY;
	m.public_key = &pk;
	feed(h, &m, 0.1);
	assert_int_equal(session_state(h->s), SESSION_LOGIN);
	const Hbb__Message *hash = last(h);
	assert_int_equal(hash->union_case, HBB__MESSAGE__UNION_HASH);
	uint8_t h1[32], resp[32];
	rd_pw_hash1(PASSWORD, hash->hash->salt, h1);
	rd_pw_response(h1, hash->hash->challenge, resp);
	Hbb__LoginRequest lr = HBB__LOGIN_REQUEST__INIT;
	lr.username = (char *)HOST_ID;
	lr.my_id = (char *)"ctl-qos";
	lr.password.data = resp;
	lr.password.len = 32;
	lr.option = opt;
	lr.video_ack_required = ack;
	Hbb__Message lm = HBB__MESSAGE__INIT;
	lm.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
	lm.login_request = &lr;
	feed(h, &lm, 0.2);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
}

static void misc_option(struct h *h, Hbb__OptionMessage *opt, double now)
{
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_OPTION;
	misc.option = opt;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	feed(h, &m, now);
}

static void video_received(struct h *h, double now)
{
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_VIDEO_RECEIVED;
	misc.video_received = true;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	feed(h, &m, now);
}

static void test_options_login_and_live(void **state)
{
	struct h *h = *state;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.custom_fps = 10;
	opt.image_quality = HBB__IMAGE_QUALITY__Low;
	login(h, &opt, false);
	int fps, q;
	session_video_rate(h->s, &fps, &q);
	assert_int_equal(fps, 10);
	assert_int_equal(q, qos_ratio_to_quality(50, QOS_RATIO_LOW));
	/* mid-session: a new rate in Misc.option reaches the owner */
	Hbb__OptionMessage live = HBB__OPTION_MESSAGE__INIT;
	live.custom_fps = 25;
	misc_option(h, &live, 1.0);
	assert_int_equal(h->rate_calls, 1);
	assert_int_equal(h->fps, 25);
	assert_int_equal(h->quality, qos_ratio_to_quality(50, QOS_RATIO_LOW));
	live.custom_fps = 0;
	live.custom_image_quality = 150 << 8;   /* ratio 3 */
	misc_option(h, &live, 1.1);
	assert_int_equal(h->rate_calls, 2);
	assert_int_equal(h->fps, 25);
	assert_int_equal(h->quality, qos_ratio_to_quality(50, 3.0));
	/* only a codec preference: the rate is left alone */
	Hbb__SupportedDecoding sd = HBB__SUPPORTED_DECODING__INIT;
	sd.ability_vp9 = 1;
	Hbb__OptionMessage codec_only = HBB__OPTION_MESSAGE__INIT;
	codec_only.supported_decoding = &sd;
	misc_option(h, &codec_only, 1.2);
	assert_int_equal(h->rate_calls, 2);
	assert_false(h->closed);
}

static void test_defaults_without_options(void **state)
{
	struct h *h = *state;
	login(h, NULL, false);
	int fps, q;
	session_video_rate(h->s, &fps, &q);
	assert_int_equal(fps, 30);
	assert_int_equal(q, 50);
	/* no acks asked: any number of frames goes out */
	uint8_t data[4] = { 1, 2, 3, 4 };
	struct video_packet pkt = { .codec = session_codec(h->s), .data = data, .len = 4, .key = true };
	for (int i = 0; i < 20; i++) {
		assert_int_equal(session_video_packet_at(h->s, &pkt, true, 1.0), SESSION_VIDEO_SENT);
		assert_true(session_video_ready(h->s, 1.0));
		pkt.key = false;
	}
}

static void test_ack_pacing(void **state)
{
	struct h *h = *state;
	login(h, NULL, true);
	uint8_t data[4] = { 1, 2, 3, 4 };
	struct video_packet pkt = { .codec = session_codec(h->s), .data = data, .len = 4, .key = true };
	for (int i = 0; i < QOS_ACK_WINDOW; i++) {
		assert_true(session_video_ready(h->s, 1.0));
		assert_int_equal(session_video_packet_at(h->s, &pkt, true, 1.0), SESSION_VIDEO_SENT);
		pkt.key = false;
	}
	assert_false(session_video_ready(h->s, 1.0));   /* capture waits for an ack */
	for (int i = 0; i < QOS_ACK_SLACK; i++)
		assert_int_equal(session_video_packet_at(h->s, &pkt, true, 1.0), SESSION_VIDEO_SENT);
	int kf = h->keyframes;
	assert_int_equal(session_video_packet_at(h->s, &pkt, true, 1.0), SESSION_VIDEO_SKIPPED);
	assert_int_equal(h->keyframes, kf + 1);         /* it must restart from a keyframe */
	assert_int_equal(session_frames_skipped(h->s), 1);
	/* acks open the window and tell the owner once */
	for (int i = 0; i < QOS_ACK_SLACK; i++)
		video_received(h, 1.2);
	assert_int_equal(h->ready_calls, 0);            /* still full */
	video_received(h, 1.2);
	assert_int_equal(h->ready_calls, 1);
	assert_true(session_video_ready(h->s, 1.2));
	video_received(h, 1.3);
	assert_int_equal(h->ready_calls, 1);
	/* after a skip, only a keyframe goes */
	assert_int_equal(session_video_packet_at(h->s, &pkt, true, 1.3), SESSION_VIDEO_SKIPPED);
	pkt.key = true;
	assert_int_equal(session_video_packet_at(h->s, &pkt, true, 1.3), SESSION_VIDEO_SENT);
}

/* Probe, answer after rtt seconds, at time *t; returns the probe's target. */
static uint32_t probe(struct h *h, double *t, double rtt)
{
	size_t n = h->n_out;
	session_tick(h->s, *t);
	assert_int_equal(h->n_out, n + 1);
	const Hbb__Message *m = last(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_TEST_DELAY);
	assert_false(m->test_delay->from_client);
	uint32_t target = m->test_delay->target_bitrate;
	Hbb__Message echo = HBB__MESSAGE__INIT;
	echo.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
	echo.test_delay = m->test_delay;
	feed(h, &echo, *t + rtt);
	*t += 1.0;
	return target;
}

static void test_rtt_adaptation(void **state)
{
	struct h *h = *state;
	login(h, NULL, false);
	double t = 1.0;
	for (int i = 0; i < 5; i++)
		assert_int_equal(probe(h, &t, 0.01), 1234);
	assert_in_range(session_rtt_ms(h->s), 9, 11);
	assert_int_equal(h->rate_calls, 0);
	/* 400 ms round trips: down one step per two seconds */
	probe(h, &t, 0.4);
	assert_int_equal(h->rate_calls, 0);
	probe(h, &t, 0.4);
	assert_int_equal(h->rate_calls, 1);
	assert_int_equal(h->fps, 30);
	assert_true(h->quality < 50);
	for (int i = 0; i < 6; i++)
		probe(h, &t, 0.4);
	assert_true(h->fps < 30);
	assert_int_equal(session_qos(h->s)->level, 4);
	/* a probe left unanswered counts as slow too */
	int lvl = session_qos(h->s)->level;
	session_tick(h->s, t);
	for (int i = 1; i <= 4; i++)
		session_tick(h->s, t + i);
	assert_true(session_qos(h->s)->level > lvl);
	Hbb__TestDelay td = HBB__TEST_DELAY__INIT;
	Hbb__Message echo = HBB__MESSAGE__INIT;
	echo.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
	echo.test_delay = &td;
	t += 5;
	feed(h, &echo, t);
	/* fast again: back up, slowly */
	int low_fps = h->fps;
	t += 1;
	for (int i = 0; i < QOS_GOOD_SAMPLES - 1; i++)
		probe(h, &t, 0.005);
	assert_int_equal(h->fps, low_fps);
	for (int i = 0; i < QOS_GOOD_SAMPLES * QOS_LEVELS; i++)
		probe(h, &t, 0.005);
	assert_int_equal(h->fps, 30);
	assert_int_equal(h->quality, 50);
	/* a backed-up queue with short round trips steps down as well */
	h->backed = true;
	int calls = h->rate_calls;
	for (int i = 0; i < 4; i++)
		probe(h, &t, 0.005);
	assert_true(h->rate_calls > calls);
	assert_true(h->quality < 50);
	assert_false(h->closed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_options_login_and_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_without_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_pacing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtt_adaptation, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

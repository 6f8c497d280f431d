/* Unit tests for the video controls of agent/session: the controller's
 * options at login and mid-session, frame acknowledgements, TestDelay's
 * target bitrate and the rate steps from its round trips, all through the
 * session core without sockets (a plaintext session, allowed by the host,
 * keeps the harness short; encryption is covered by test_agent_session). */
#include "agent_session_harness.h"

/* The harness's host, with plaintext allowed. */
static int setup_plain(void **state)
{
	setup(state);
	((struct harness *)*state)->host.allow_plain = true;
	return 0;
}

/* Handshake in plaintext and log in with opt (and video_ack_required). */
static void login(struct harness *h, Hbb__OptionMessage *opt, bool ack)
{
	h->s = session_new(&h->host, &h->peer, SESSION_PATH_PUNCH, &h_ops, h);
	session_set_video_limits(h->s, 30, 50);
	assert_int_equal(session_start(h->s, 0.0), RD_OK);
	Hbb__PublicKey pk = HBB__PUBLIC_KEY__INIT;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_PUBLIC_KEY;
	m.public_key = &pk;
	h_feed(h, &m, 0.1);
	assert_int_equal(session_state(h->s), SESSION_LOGIN);
	h_login_request(h, h_last(h), PASSWORD, opt, ack, 0.2);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
	assert_false(h->crypto_on);
}

static void misc_option(struct harness *h, Hbb__OptionMessage *opt, double now)
{
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_OPTION;
	misc.option = opt;
	h_feed_misc(h, &misc, now);
}

static void video_received(struct harness *h, double now)
{
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_VIDEO_RECEIVED;
	misc.video_received = true;
	h_feed_misc(h, &misc, now);
}

static void test_options_login_and_live(void **state)
{
	struct harness *h = *state;
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
	struct harness *h = *state;
	login(h, NULL, false);
	int fps, q;
	session_video_rate(h->s, &fps, &q);
	assert_int_equal(fps, 30);
	assert_int_equal(q, 50);
	/* no acks asked: any number of frames goes out */
	uint8_t data[4] = { 1, 2, 3, 4 };
	struct video_packet pkt = { .codec = session_codec(h->s), .data = data, .len = 4, .key = true };
	for (int i = 0; i < 20; i++) {
		assert_int_equal(session_video_packet(h->s, &pkt, true, 1.0), SESSION_VIDEO_SENT);
		assert_true(session_video_ready(h->s, 1.0));
		pkt.key = false;
	}
}

static void test_ack_pacing(void **state)
{
	struct harness *h = *state;
	login(h, NULL, true);
	uint8_t data[4] = { 1, 2, 3, 4 };
	struct video_packet pkt = { .codec = session_codec(h->s), .data = data, .len = 4, .key = true };
	for (int i = 0; i < QOS_ACK_WINDOW; i++) {
		assert_true(session_video_ready(h->s, 1.0));
		assert_int_equal(session_video_packet(h->s, &pkt, true, 1.0), SESSION_VIDEO_SENT);
		pkt.key = false;
	}
	assert_false(session_video_ready(h->s, 1.0));   /* capture waits for an ack */
	for (int i = 0; i < QOS_ACK_SLACK; i++)
		assert_int_equal(session_video_packet(h->s, &pkt, true, 1.0), SESSION_VIDEO_SENT);
	int kf = h->keyframe_requests;
	assert_int_equal(session_video_packet(h->s, &pkt, true, 1.0), SESSION_VIDEO_SKIPPED);
	assert_int_equal(h->keyframe_requests, kf + 1);         /* it must restart from a keyframe */
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
	assert_int_equal(session_video_packet(h->s, &pkt, true, 1.3), SESSION_VIDEO_SKIPPED);
	pkt.key = true;
	assert_int_equal(session_video_packet(h->s, &pkt, true, 1.3), SESSION_VIDEO_SENT);
}

/* Probe, answer after rtt seconds, at time *t; returns the probe's target. */
static uint32_t probe(struct harness *h, double *t, double rtt)
{
	size_t n = h->n_out;
	session_tick(h->s, *t);
	assert_int_equal(h->n_out, n + 1);
	const Hbb__Message *m = h_last(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_TEST_DELAY);
	assert_false(m->test_delay->from_client);
	uint32_t target = m->test_delay->target_bitrate;
	Hbb__Message echo = HBB__MESSAGE__INIT;
	echo.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
	echo.test_delay = m->test_delay;
	h_feed(h, &echo, *t + rtt);
	*t += 1.0;
	return target;
}

static void test_rtt_adaptation(void **state)
{
	struct harness *h = *state;
	login(h, NULL, false);
	double t = 1.0;
	for (int i = 0; i < 5; i++)
		assert_int_equal(probe(h, &t, 0.01), TARGET_KBPS);
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
	h_feed(h, &echo, t);
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
		cmocka_unit_test_setup_teardown(test_options_login_and_live, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_without_options, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_ack_pacing, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_rtt_adaptation, setup_plain, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

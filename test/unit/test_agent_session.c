/* Unit tests for agent/session: the controlled side's state machine driven
 * without sockets. The test plays the controller with common/handshake and
 * real crypto streams, exactly as rd_conn would frame and encrypt. */
#include "agent_session_harness.h"
#include "handshake.h"
#include "session_msg.h"

/* Start and finish the handshake; returns the Hash the host sent. */
static Hbb__Message *h_handshake(struct harness *h, unsigned ctl_features, enum session_path path)
{
	h->s = session_new(&h->host, &h->peer, path, &h_ops, h);
	assert_int_equal(session_start(h->s, 0.0), RD_OK);
	assert_int_equal(session_state(h->s), SESSION_HANDSHAKE);
	assert_int_equal(h->n_out, 1);
	struct rd_handshake *ctl = rd_handshake_ctl_new(HOST_ID, h->kp.pk, ctl_features);
	uint8_t *reply = NULL;
	size_t rlen = 0;
	h->n_read = 1;
	assert_int_equal(rd_handshake_ctl_on_signed_id(ctl, h->out[0], h->out_len[0], &reply, &rlen), RD_OK);
	assert_int_equal(rd_handshake_stream(ctl, &h->ctl_cs), RD_OK);
	rd_handshake_free(ctl);
	session_on_frame(h->s, reply, rlen, 0.1);
	free(reply);
	h->ctl_crypto = true;
	assert_true(h->crypto_on);
	assert_int_equal(session_state(h->s), SESSION_LOGIN);
	Hbb__Message *m = h_next(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_HASH);
	assert_string_equal(m->hash->salt, h->pw.salt);
	assert_int_equal(strlen(m->hash->challenge), 6);
	return m;
}

static void h_login(struct harness *h, const Hbb__Message *hash, const char *password,
	int prefer, int ability_h264, double now)
{
	Hbb__SupportedDecoding sd = HBB__SUPPORTED_DECODING__INIT;
	sd.ability_vp9 = 1;
	sd.ability_h264 = ability_h264;
	sd.prefer = prefer;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.supported_decoding = &sd;
	h_login_request(h, hash, password, &opt, false, now);
}

static void test_login_ok_kdf(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
	assert_int_equal(session_crypto_mode(h->s), RD_CRYPTO_KDF);
	h_login(h, hash, PASSWORD, HBB__SUPPORTED_DECODING__PREFER_CODEC__H264, 1, 0.5);
	hbb__message__free_unpacked(hash, NULL);
	assert_false(h->closed);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
	Hbb__Message *m = h_next(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_LOGIN_RESPONSE);
	assert_int_equal(m->login_response->union_case, HBB__LOGIN_RESPONSE__UNION_PEER_INFO);
	Hbb__PeerInfo *pi = m->login_response->peer_info;
	assert_string_equal(pi->platform, "Linux");
	assert_string_equal(pi->hostname, "testhost");
	assert_int_equal(pi->n_displays, 1);
	assert_int_equal(pi->displays[0]->width, 1280);
	assert_int_equal(pi->displays[0]->height, 720);
	assert_true(pi->encoding->h264);
	hbb__message__free_unpacked(m, NULL);
	assert_int_equal(h->start_calls, 1);
	assert_int_equal(h->started_codec, VIDEO_CODEC_H264);
	assert_string_equal(session_peer_id(h->s), CTL_ID);

	/* Video: the first packet must be a keyframe; a delta before it is skipped. */
	uint8_t data[] = { 0, 0, 0, 1, 0x65, 1, 2, 3 };
	struct video_packet pkt = { .codec = VIDEO_CODEC_H264, .data = data, .len = sizeof(data),
		.key = false, .pts_ms = 40, .width = 1280, .height = 720 };
	assert_int_equal(session_video_packet(h->s, &pkt, true, 1.0), SESSION_VIDEO_SKIPPED);
	assert_int_equal(h->keyframe_requests, 1);
	pkt.key = true;
	assert_int_equal(session_video_packet(h->s, &pkt, true, 1.0), SESSION_VIDEO_SENT);
	m = h_next(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_VIDEO_FRAME);
	assert_int_equal(m->video_frame->union_case, HBB__VIDEO_FRAME__UNION_H264S);
	assert_int_equal(m->video_frame->display, 0);
	assert_int_equal(m->video_frame->h264s->n_frames, 1);
	assert_true(m->video_frame->h264s->frames[0]->key);
	assert_int_equal(m->video_frame->h264s->frames[0]->pts, 40);
	assert_memory_equal(m->video_frame->h264s->frames[0]->data.data, data, sizeof(data));
	hbb__message__free_unpacked(m, NULL);
	/* Another codec's packets are not for this session. */
	pkt.codec = VIDEO_CODEC_VP9;
	assert_int_equal(session_video_packet(h->s, &pkt, true, 1.0), SESSION_VIDEO_IGNORED);
	/* Input hook reaches the ops. */
	Hbb__KeyEvent ke = HBB__KEY_EVENT__INIT;
	Hbb__Message km = HBB__MESSAGE__INIT;
	km.union_case = HBB__MESSAGE__UNION_KEY_EVENT;
	km.key_event = &ke;
	h_feed(h, &km, 0.6);
	assert_int_equal(h->key_events, 1);
}

static void test_login_ok_compat(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = h_handshake(h, 0, SESSION_PATH_RELAY);
	assert_int_equal(session_crypto_mode(h->s), RD_CRYPTO_COMPAT);
	assert_true(session_encrypted(h->s));
	h_login(h, hash, PASSWORD, HBB__SUPPORTED_DECODING__PREFER_CODEC__VP9, 1, 0.5);
	hbb__message__free_unpacked(hash, NULL);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
	assert_int_equal(h->started_codec, VIDEO_CODEC_VP9);
	Hbb__Message *m = h_next(h);
	assert_int_equal(m->login_response->union_case, HBB__LOGIN_RESPONSE__UNION_PEER_INFO);
	hbb__message__free_unpacked(m, NULL);
}

static void test_plain_refused(void **state)
{
	struct harness *h = *state;
	h->s = session_new(&h->host, &h->peer, SESSION_PATH_PUNCH, &h_ops, h);
	assert_int_equal(session_start(h->s, 0.0), RD_OK);
	session_on_frame(h->s, NULL, 0, 0.1); /* an empty Message: no key */
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_REFUSED);
	assert_false(h->crypto_on);
	h->n_read = 1;
	Hbb__Message *m = h_next(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_MISC);
	assert_int_equal(m->misc->union_case, HBB__MISC__UNION_CLOSE_REASON);
	hbb__message__free_unpacked(m, NULL);
}

static void test_plain_allowed_when_configured(void **state)
{
	struct harness *h = *state;
	h->host.allow_plain = true;
	h->s = session_new(&h->host, &h->peer, SESSION_PATH_PUNCH, &h_ops, h);
	assert_int_equal(session_start(h->s, 0.0), RD_OK);
	uint8_t *p = NULL;
	size_t len = 0;
	assert_int_equal(rd_handshake_plain_reply(true, &p, &len), RD_OK);
	session_on_frame(h->s, p, len, 0.1);
	free(p);
	assert_false(h->closed);
	assert_int_equal(h->pk_refresh, 1);
	assert_int_equal(session_state(h->s), SESSION_LOGIN);
	h->n_read = 1;
	Hbb__Message *m = h_next(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_HASH);
	hbb__message__free_unpacked(m, NULL);
	/* ... but never through a relay. */
	session_free(h->s);
	h_reset_wire(h);
	h->s = session_new(&h->host, &h->peer, SESSION_PATH_RELAY, &h_ops, h);
	assert_int_equal(session_start(h->s, 0.0), RD_OK);
	session_on_frame(h->s, NULL, 0, 0.1);
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_REFUSED);
}

static void test_bad_public_key_closes(void **state)
{
	struct harness *h = *state;
	h->s = session_new(&h->host, &h->peer, SESSION_PATH_PUNCH, &h_ops, h);
	assert_int_equal(session_start(h->s, 0.0), RD_OK);
	static const uint8_t junk[] = { 0x22, 0x03, 0x0a, 0x01, 0x05 };
	session_on_frame(h->s, junk, sizeof(junk), 0.1);
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_PROTO);
}

/* A fresh session from the harness's source, up to its Hash. */
static Hbb__Message *h_again(struct harness *h)
{
	session_free(h->s);
	h_reset_wire(h);
	h->closed = false;
	h->crypto_on = h->ctl_crypto = false;
	h->logged_in_calls = h->start_calls = 0;
	return h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
}

static void expect_login_error(struct harness *h, const char *text)
{
	Hbb__Message *m = h_next(h);
	assert_int_equal(m->login_response->union_case, HBB__LOGIN_RESPONSE__UNION_ERROR);
	assert_string_equal(m->login_response->error, text);
	hbb__message__free_unpacked(m, NULL);
}

static void test_wrong_password_and_lockout(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
	/* Three wrong tries are answered at once, then the connection is closed. */
	for (int i = 0; i < SESSION_LOGIN_TRIES; i++) {
		h_login(h, hash, "wrong", 0, 1, 0.5 + i);
		expect_login_error(h, "Wrong Password");
	}
	hbb__message__free_unpacked(hash, NULL);
	assert_true(h->closed);
	assert_int_equal(h->start_calls, 0);
	/* The fourth waits 1 s after the third failure (at 2.5): held, answered
	 * on the session's timer. */
	hash = h_again(h);
	h_login(h, hash, "wrong", 0, 1, 3.0);
	assert_int_equal(h->n_read, h->n_out);
	session_tick(h->s, 3.4);
	assert_int_equal(h->n_read, h->n_out);
	session_tick(h->s, 3.6);
	expect_login_error(h, "Wrong Password");
	/* The right password waits too (2 s after 3.6), and then gets in. */
	h_login(h, hash, PASSWORD, 0, 1, 3.7);
	session_tick(h->s, 5.5);
	assert_int_equal(h->n_read, h->n_out);
	assert_int_equal(session_state(h->s), SESSION_LOGIN);
	session_tick(h->s, 5.7);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
	hbb__message__free_unpacked(hash, NULL);
	/* Eight failures in a row block the source: refused unchecked, even the
	 * right password, until 20 s after the last failure. */
	double t = 10.0;
	for (int i = 0; i < 8; i++) {
		hash = h_again(h);
		h_login(h, hash, "wrong", 0, 1, t);
		for (int k = 0; k < 40 && h->n_read == h->n_out; k++)
			session_tick(h->s, t += 0.5);
		expect_login_error(h, "Wrong Password");
		hbb__message__free_unpacked(hash, NULL);
	}
	double last = t;
	hash = h_again(h);
	h_login(h, hash, PASSWORD, 0, 1, t + 1);
	expect_login_error(h, "Please try 1 minute later");
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_LIMIT);
	hbb__message__free_unpacked(hash, NULL);
	hash = h_again(h);
	h_login(h, hash, PASSWORD, 0, 1, last + 20.5);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
	hbb__message__free_unpacked(hash, NULL);
	/* Another source was never concerned. */
	session_free(h->s);
	h_reset_wire(h);
	h->closed = false;
	h->crypto_on = h->ctl_crypto = false;
	h->logged_in_calls = h->start_calls = 0;
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.8:40000", 0, &h->peer), RD_OK);
	hash = h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
	h_login(h, hash, PASSWORD, 0, 1, last + 21);
	hbb__message__free_unpacked(hash, NULL);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
}

/* The login lines carry the socket's address first and the controller's words last, escaped. */
static void test_login_lines(void **state)
{
	struct harness *h = *state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	rd_log_set_stream(f);
	rd_log_set_level(RD_LOG_INFO);
	for (int i = 0; i < 3; i++) {
		Hbb__Message *hash = i ? h_again(h) : h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
		Hbb__LoginRequest lr = HBB__LOGIN_REQUEST__INIT;
		uint8_t resp[32] = { 0 };
		lr.username = (char *)(i == 2 ? "x session: login failed src=10.9.8.7 port=1" : HOST_ID);
		lr.my_id = (char *)"e\" port=1: x\n";
		lr.password.data = resp;
		lr.password.len = 32;
		Hbb__Message m = HBB__MESSAGE__INIT;
		m.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
		m.login_request = &lr;
		h_feed(h, &m, 0.5 + i);
		hbb__message__free_unpacked(hash, NULL);
	}
	fflush(f);
	rd_log_set_stream(NULL);
	rd_log_set_level(RD_LOG_ERR);
	fclose(f);
	assert_non_null(strstr(buf, "WARN session: login failed src=127.0.0.7 port=40000: wrong password; "
		"controller id=\"e\\x22\\x20port=1:\\x20x\\x0a\"\n"));
	assert_non_null(strstr(buf, "WARN session: 127.0.0.7:40000: login for another ID "
		"\"x\\x20session:\\x20login\\x20failed\\x20src=10.9.8.7\\x20port=1\"\n"));
	free(buf);
}

static void test_wrong_id_and_kind(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = h_handshake(h, RD_FEAT_KDF, SESSION_PATH_RELAY);
	hbb__message__free_unpacked(hash, NULL);
	Hbb__LoginRequest lr = HBB__LOGIN_REQUEST__INIT;
	lr.username = (char *)"999999999";
	lr.my_id = (char *)"x";
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
	m.login_request = &lr;
	h_feed(h, &m, 0.5);
	Hbb__Message *r = h_next(h);
	assert_string_equal(r->login_response->error, "Offline");
	hbb__message__free_unpacked(r, NULL);
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_MISMATCH);
}

static void test_codec_choice(void **state)
{
	(void)state;
	Hbb__SupportedDecoding sd = HBB__SUPPORTED_DECODING__INIT;
	/* Absent: VP9 only. */
	assert_int_equal(session_choose_codec(NULL), VIDEO_CODEC_VP9);
	/* Prefer H264 and able. */
	sd.ability_vp9 = 1;
	sd.ability_h264 = 1;
	sd.prefer = HBB__SUPPORTED_DECODING__PREFER_CODEC__H264;
	assert_int_equal(session_choose_codec(&sd), VIDEO_CODEC_H264);
	/* Prefer VP9. */
	sd.prefer = HBB__SUPPORTED_DECODING__PREFER_CODEC__VP9;
	assert_int_equal(session_choose_codec(&sd), VIDEO_CODEC_VP9);
	/* Prefer H264 but cannot decode it. */
	sd.prefer = HBB__SUPPORTED_DECODING__PREFER_CODEC__H264;
	sd.ability_h264 = 0;
	assert_int_equal(session_choose_codec(&sd), VIDEO_CODEC_VP9);
	/* Auto: H.264 first when both work. */
	sd.prefer = HBB__SUPPORTED_DECODING__PREFER_CODEC__Auto;
	sd.ability_h264 = 1;
	assert_int_equal(session_choose_codec(&sd), VIDEO_CODEC_H264);
	/* Prefer AV1 (not encodable here): falls back to H.264 first, then VP9. */
	sd.prefer = HBB__SUPPORTED_DECODING__PREFER_CODEC__AV1;
	assert_int_equal(session_choose_codec(&sd), VIDEO_CODEC_H264);
	sd.ability_h264 = 0;
	assert_int_equal(session_choose_codec(&sd), VIDEO_CODEC_VP9);
}

static void test_slow_peer_and_refresh(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
	h_login(h, hash, PASSWORD, HBB__SUPPORTED_DECODING__PREFER_CODEC__VP9, 0, 0.5);
	hbb__message__free_unpacked(hash, NULL);
	uint8_t data[16] = { 0 };
	struct video_packet key = { .codec = VIDEO_CODEC_VP9, .data = data, .len = 16, .key = true };
	struct video_packet delta = key;
	delta.key = false;
	assert_int_equal(session_video_packet(h->s, &key, true, 1.0), SESSION_VIDEO_SENT);
	assert_int_equal(session_video_packet(h->s, &delta, true, 1.0), SESSION_VIDEO_SENT);
	/* Queue full: skip, ask for a keyframe once, then skip deltas even when
	 * there is room again, until the keyframe. */
	assert_int_equal(session_video_packet(h->s, &delta, false, 1.0), SESSION_VIDEO_SKIPPED);
	assert_int_equal(h->keyframe_requests, 1);
	assert_int_equal(session_video_packet(h->s, &delta, false, 1.0), SESSION_VIDEO_SKIPPED);
	assert_int_equal(session_video_packet(h->s, &delta, true, 1.0), SESSION_VIDEO_SKIPPED);
	assert_int_equal(h->keyframe_requests, 1);
	assert_int_equal(session_video_packet(h->s, &key, true, 1.0), SESSION_VIDEO_SENT);
	assert_int_equal(session_video_packet(h->s, &delta, true, 1.0), SESSION_VIDEO_SENT);
	assert_int_equal(session_frames_sent(h->s), 4);
	assert_int_equal(session_frames_skipped(h->s), 3);
	/* Misc.refresh_video asks for a keyframe. */
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_REFRESH_VIDEO;
	misc.refresh_video = 1;
	h_feed_misc(h, &misc, 0.7);
	assert_int_equal(h->keyframe_requests, 2);
	assert_int_equal(session_video_packet(h->s, &delta, true, 1.0), SESSION_VIDEO_SKIPPED);
	/* A resize sends SwitchDisplay and PeerInfo. */
	size_t before = h->n_out;
	struct video_display d = { .width = 800, .height = 600 };
	session_display_changed(h->s, &d);
	assert_int_equal(h->n_out, before + 2);
}

static void test_delay_and_idle(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
	h_login(h, hash, PASSWORD, 0, 1, 0.5);
	hbb__message__free_unpacked(hash, NULL);
	Hbb__Message *m = h_next(h); /* login response */
	hbb__message__free_unpacked(m, NULL);
	session_tick(h->s, 1.0);
	m = h_next(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_TEST_DELAY);
	assert_false(m->test_delay->from_client);
	h_feed(h, m, 1.25); /* the controller echoes it unchanged */
	hbb__message__free_unpacked(m, NULL);
	assert_int_equal(session_rtt_ms(h->s), 250);
	/* No second probe while... the next is due a second after the first. */
	session_tick(h->s, 1.5);
	assert_int_equal(h->n_read, h->n_out);
	session_tick(h->s, 2.1);
	m = h_next(h);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_TEST_DELAY);
	assert_int_equal(m->test_delay->last_delay, 250);
	hbb__message__free_unpacked(m, NULL);
	/* Controller probes are echoed. */
	Hbb__TestDelay td = HBB__TEST_DELAY__INIT;
	td.from_client = 1;
	td.time = 777;
	Hbb__Message tm = HBB__MESSAGE__INIT;
	tm.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
	tm.test_delay = &td;
	h_feed(h, &tm, 2.2);
	m = h_next(h);
	assert_int_equal(m->test_delay->time, 777);
	assert_true(m->test_delay->from_client);
	hbb__message__free_unpacked(m, NULL);
	/* Silence for 30 s: closed with a reason. */
	session_tick(h->s, 2.2 + SESSION_IDLE_TIMEOUT + 0.5);
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_TIMEOUT);
}

static void test_garbage_after_handshake(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
	hbb__message__free_unpacked(hash, NULL);
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	session_on_frame(h->s, junk, sizeof(junk), 0.5);
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_PROTO);
}

static void test_login_deadline(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = h_handshake(h, RD_FEAT_KDF, SESSION_PATH_PUNCH);
	hbb__message__free_unpacked(hash, NULL);
	/* Heartbeats keep it alive but the login must still come in time. */
	for (double t = 1; t < SESSION_LOGIN_TIMEOUT; t += 5) {
		session_on_frame(h->s, NULL, 0, t);
		session_tick(h->s, t);
	}
	assert_false(h->closed);
	session_tick(h->s, SESSION_LOGIN_TIMEOUT + 1);
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_TIMEOUT);
}

static void test_password_file(void **state)
{
	struct harness *h = *state;
	struct login_password pw;
	assert_int_equal(login_password_load(tmpdir, &pw), RD_OK);
	assert_true(pw.set);
	uint8_t h1[32], resp[32];
	rd_pw_hash1(PASSWORD, pw.salt, h1);
	rd_pw_response(h1, "abcdef", resp);
	assert_true(login_password_check(&pw, "abcdef", resp, 32));
	assert_false(login_password_check(&pw, "abcdeg", resp, 32));
	assert_false(login_password_check(&pw, "abcdef", resp, 31));
	(void)h;
	char path[320];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, LOGIN_PW_FILE);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(login_password_load(tmpdir, &pw), RD_ERR_PERM);
	assert_int_equal(login_password_load("/nonexistent-dir-rdesk", &pw), RD_ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login_ok_kdf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_ok_compat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_allowed_when_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_public_key_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_password_and_lockout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_id_and_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_codec_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_peer_and_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_and_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_after_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_file, setup, teardown),
	};
	return cmocka_run_group_tests_name("agent_session", tests, NULL, NULL);
}

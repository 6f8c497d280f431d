/* Unit tests for agent/session before login: the allowlist. Until the login
 * succeeded only the handshake, LoginRequest, TestDelay and Misc.close_reason
 * have an effect; every other message (every other Misc too) is dropped with
 * no call to the owner and nothing sent, counted, and logged once per
 * session. The session runs in plaintext (allowed by the host) to keep the
 * harness short; the system test plays the same over an encrypted session. */
#include "agent_session_harness.h"

#define DROPPED_LINE "before login dropped"

static int setup_plain(void **state)
{
	setup(state);
	((struct harness *)*state)->host.allow_plain = true;
	return 0;
}

/* A new session up to the Hash, which is returned (caller frees). */
static Hbb__Message *to_login(struct harness *h)
{
	h->s = session_new(&h->host, &h->peer, SESSION_PATH_PUNCH, &h_ops, h);
	assert_int_equal(session_start(h->s, 0.0), RD_OK);
	Hbb__PublicKey pk = HBB__PUBLIC_KEY__INIT;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_PUBLIC_KEY;
	m.public_key = &pk;
	h_feed(h, &m, 0.1);
	assert_int_equal(session_state(h->s), SESSION_LOGIN);
	assert_int_equal(h->n_out, 2);
	h->n_read = 1;
	Hbb__Message *hash = h_next(h);
	assert_int_equal(hash->union_case, HBB__MESSAGE__UNION_HASH);
	return hash;
}

/* Nothing happened for the messages fed since the counts were zero. */
static void assert_inert(const struct harness *h, size_t n_out)
{
	assert_int_equal(h->n_out, n_out);
	assert_false(h->closed);
	assert_int_equal(session_state(h->s), SESSION_LOGIN);
	assert_int_equal(h->logged_in_calls, 0);
	assert_int_equal(h->start_calls, 0);
	assert_int_equal(h->keyframe_requests, 0);
	assert_int_equal(h->key_events, 0);
	assert_int_equal(h->mouse_events, 0);
	assert_int_equal(h->clipboards, 0);
	assert_int_equal(h->rate_calls, 0);
	assert_int_equal(h->ready_calls, 0);
}

/* Set the oneof of msg (of descriptor d) to field f with an empty or zero
 * value; returns the sub-message it made (caller frees) or NULL. */
static void *set_case(void *msg, const ProtobufCFieldDescriptor *f)
{
	void *sub = NULL;
	*(uint32_t *)((char *)msg + f->quantifier_offset) = f->id;
	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		sub = calloc(1, sd->sizeof_message);
		protobuf_c_message_init(sd, sub);
		*(void **)((char *)msg + f->offset) = sub;
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		*(const char **)((char *)msg + f->offset) = "x";
		break;
	default:
		break; /* numbers, bools, enums and bytes: zero as initialised */
	}
	return sub;
}

static bool allowed_case(unsigned id)
{
	return id == HBB__MESSAGE__UNION_LOGIN_REQUEST || id == HBB__MESSAGE__UNION_TEST_DELAY ||
		id == HBB__MESSAGE__UNION_MISC;
}

/* Every kind of Message but the allowed ones, and every Misc but
 * close_reason; returns how many were fed. */
static unsigned feed_every_kind(struct harness *h, double now)
{
	unsigned n = 0;
	const ProtobufCMessageDescriptor *md = &hbb__message__descriptor;
	for (unsigned i = 0; i < md->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &md->fields[i];
		if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || allowed_case(f->id))
			continue;
		Hbb__Message m = HBB__MESSAGE__INIT;
		void *sub = set_case(&m, f);
		h_feed(h, &m, now);
		free(sub);
		n++;
	}
	const ProtobufCMessageDescriptor *dd = &hbb__misc__descriptor;
	for (unsigned i = 0; i < dd->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &dd->fields[i];
		if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->id == HBB__MISC__UNION_CLOSE_REASON)
			continue;
		Hbb__Misc misc = HBB__MISC__INIT;
		void *sub = set_case(&misc, f);
		h_feed_misc(h, &misc, now);
		free(sub);
		n++;
	}
	return n;
}

/* The messages a controller sends to get video, input and the clipboard,
 * with real content; returns how many were fed. */
static unsigned feed_attack(struct harness *h, double now)
{
	Hbb__SupportedDecoding sd = HBB__SUPPORTED_DECODING__INIT;
	sd.ability_vp9 = 1;
	sd.ability_h264 = 1;
	sd.prefer = HBB__SUPPORTED_DECODING__PREFER_CODEC__H264;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.supported_decoding = &sd;
	opt.custom_fps = 60;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_OPTION;
	misc.option = &opt;
	h_feed_misc(h, &misc, now);
	misc = (Hbb__Misc)HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_REFRESH_VIDEO;
	misc.refresh_video = 1;
	h_feed_misc(h, &misc, now);
	misc = (Hbb__Misc)HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_VIDEO_RECEIVED;
	misc.video_received = 1;
	h_feed_misc(h, &misc, now);

	Hbb__KeyEvent ke = HBB__KEY_EVENT__INIT;
	ke.union_case = HBB__KEY_EVENT__UNION_CHR;
	ke.chr = 'a';
	ke.press = 1;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_KEY_EVENT;
	m.key_event = &ke;
	h_feed(h, &m, now);
	Hbb__MouseEvent me = HBB__MOUSE_EVENT__INIT;
	me.x = 100;
	me.y = 200;
	m = (Hbb__Message)HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MOUSE_EVENT;
	m.mouse_event = &me;
	h_feed(h, &m, now);
	Hbb__Clipboard cb = HBB__CLIPBOARD__INIT;
	cb.content.data = (uint8_t *)"stolen";
	cb.content.len = 6;
	m = (Hbb__Message)HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_CLIPBOARD;
	m.clipboard = &cb;
	h_feed(h, &m, now);
	return 6;
}

static void login_attempt(struct harness *h, const Hbb__Message *hash, const char *pw, double now)
{
	Hbb__SupportedDecoding sd = HBB__SUPPORTED_DECODING__INIT;
	sd.ability_vp9 = 1;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.supported_decoding = &sd;
	h_login_request(h, hash, pw, &opt, false, now);
}

/* Lines of the log stream f that contain text. */
static int count_lines(FILE *f, const char *text)
{
	char line[1024];
	int n = 0;
	fflush(f);
	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, text))
			n++;
	return n;
}

static void test_attack_before_and_after_wrong_password(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = to_login(h);
	unsigned n = feed_attack(h, 0.2);
	assert_inert(h, 2);
	assert_int_equal(session_prelogin_dropped(h->s), n);

	login_attempt(h, hash, "wrong", 0.3);
	assert_int_equal(h->n_out, 3);
	const Hbb__Message *m = h_last(h);
	assert_int_equal(m->login_response->union_case, HBB__LOGIN_RESPONSE__UNION_ERROR);
	n += feed_attack(h, 0.4);
	assert_inert(h, 3);
	assert_int_equal(session_prelogin_dropped(h->s), n);

	/* The right password: logged_in once, then video; no more drops. */
	login_attempt(h, hash, PASSWORD, 0.5);
	hbb__message__free_unpacked(hash, NULL);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
	assert_int_equal(h->logged_in_calls, 1);
	assert_int_equal(h->start_calls, 1);
	feed_attack(h, 0.6);
	assert_int_equal(session_prelogin_dropped(h->s), n);
	assert_int_equal(h->key_events, 1);
	assert_int_equal(h->mouse_events, 1);
	assert_int_equal(h->clipboards, 1);
	assert_true(h->keyframe_requests >= 1);
}

static void test_every_kind_is_inert(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = to_login(h);
	unsigned n = feed_every_kind(h, 0.2);
	assert_true(n > 40);
	assert_inert(h, 2);
	assert_int_equal(session_prelogin_dropped(h->s), n);
	/* Heartbeats are neither acted on nor counted. */
	session_on_frame(h->s, NULL, 0, 0.3);
	assert_int_equal(session_prelogin_dropped(h->s), n);
	/* The same after a wrong password. */
	login_attempt(h, hash, "wrong", 0.4);
	n += feed_every_kind(h, 0.5);
	assert_inert(h, 3);
	assert_int_equal(session_prelogin_dropped(h->s), n);
	hbb__message__free_unpacked(hash, NULL);
}

static void test_allowed_before_login(void **state)
{
	struct harness *h = *state;
	Hbb__Message *hash = to_login(h);
	hbb__message__free_unpacked(hash, NULL);
	/* TestDelay from the controller is echoed. */
	Hbb__TestDelay td = HBB__TEST_DELAY__INIT;
	td.from_client = 1;
	td.time = 4242;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
	m.test_delay = &td;
	h_feed(h, &m, 0.2);
	assert_int_equal(h->n_out, 3);
	assert_int_equal(h_last(h)->test_delay->time, 4242);
	/* A TestDelay that is not the controller's has nothing to answer. */
	td.from_client = 0;
	h_feed(h, &m, 0.3);
	assert_int_equal(h->n_out, 3);
	assert_inert(h, 3);
	assert_int_equal(session_prelogin_dropped(h->s), 0);
	/* Misc.close_reason closes. */
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_CLOSE_REASON;
	misc.close_reason = (char *)"bye";
	h_feed_misc(h, &misc, 0.4);
	assert_true(h->closed);
	assert_int_equal(h->close_reason, RD_ERR_EOF);
	assert_int_equal(session_prelogin_dropped(h->s), 0);
	assert_int_equal(h->logged_in_calls, 0);
}

static void test_logged_once_per_session(void **state)
{
	struct harness *h = *state;
	FILE *log = tmpfile();
	assert_non_null(log);
	rd_log_set_stream(log);
	rd_log_set_level(RD_LOG_WARN);
	Hbb__Message *hash = to_login(h);
	hbb__message__free_unpacked(hash, NULL);
	unsigned n = feed_attack(h, 0.2) + feed_every_kind(h, 0.3);
	assert_int_equal(session_prelogin_dropped(h->s), n);
	assert_int_equal(count_lines(log, DROPPED_LINE), 1);
	/* The one line names the first message dropped. */
	assert_int_equal(count_lines(log, "misc.option " DROPPED_LINE), 1);
	/* A new session logs its own first drop. */
	session_free(h->s);
	h_reset_wire(h);
	hash = to_login(h);
	hbb__message__free_unpacked(hash, NULL);
	feed_attack(h, 0.2);
	assert_int_equal(count_lines(log, DROPPED_LINE), 2);
	rd_log_set_stream(NULL);
	rd_log_set_level(RD_LOG_ERR);
	fclose(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attack_before_and_after_wrong_password, setup_plain,
			teardown),
		cmocka_unit_test_setup_teardown(test_every_kind_is_inert, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_allowed_before_login, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_logged_once_per_session, setup_plain, teardown),
	};
	return cmocka_run_group_tests_name("agent_session_prelogin", tests, NULL, NULL);
}

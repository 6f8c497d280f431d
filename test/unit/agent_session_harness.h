/* Shared harness of the agent/session unit tests: the session core driven
 * without sockets. The harness is the conn and the agent around one session:
 * its ops record every frame the host sends (sealed as the conn would once
 * crypto is on) and every call the session makes, and the test plays the
 * controller with h_feed (sealing when the controller's crypto is on) and
 * h_next / h_last (opening likewise). setup makes a host with a key pair, a
 * password in a fresh temp folder and a login guard; teardown removes them. */
#ifndef RD_TEST_AGENT_SESSION_HARNESS_H
#define RD_TEST_AGENT_SESSION_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/login.h"
#include "agent/session.h"
#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "pb.h"

#define MAXF 128
#define HOST_ID "1234567890"
#define PASSWORD "correct horse"
#define CTL_ID "ctl-unit"
#define TARGET_KBPS 1234

struct harness {
	struct rd_keypair kp;
	struct login_password pw;
	struct login_guard *guard;
	struct session_host host;
	struct session *s;
	struct rd_sockaddr peer;
	/* conn emulation */
	bool crypto_on;
	struct rd_crypto_stream host_cs;  /* what the conn would hold */
	struct rd_crypto_stream ctl_cs;   /* the controller's */
	bool ctl_crypto;
	uint8_t *out[MAXF];               /* frames on the wire, in order */
	size_t out_len[MAXF];
	size_t n_out, n_read;
	Hbb__Message *last;               /* h_last's, freed by the harness */
	/* events */
	bool closed;
	int close_reason;
	enum video_codec started_codec;
	int logged_in_calls;
	int start_calls;
	int keyframe_requests;
	int pk_refresh;
	int key_events;
	int mouse_events;
	int clipboards;
	/* video rate control */
	int rate_calls, fps, quality;     /* set_video_rate: count, last values */
	int ready_calls;                  /* video_ready */
	bool backed;                      /* what backed_up answers */
	int audio_calls;                  /* set_audio: count, last value */
	bool audio_on;
};

static inline int h_send(void *ud, const uint8_t *p, size_t len)
{
	struct harness *h = ud;
	assert_true(h->n_out < MAXF);
	struct rd_buf b;
	rd_buf_init(&b, 0);
	if (h->crypto_on)
		assert_int_equal(rd_crypto_seal(&h->host_cs, p, len, &b), RD_OK);
	else
		assert_int_equal(rd_buf_put(&b, p, len), RD_OK);
	h->out_len[h->n_out] = rd_buf_size(&b);
	h->out[h->n_out] = malloc(h->out_len[h->n_out] + 1);
	memcpy(h->out[h->n_out], rd_buf_ptr(&b), h->out_len[h->n_out]);
	h->n_out++;
	rd_buf_free(&b);
	return RD_OK;
}

static inline void h_set_crypto(void *ud, const struct rd_crypto_stream *cs)
{
	struct harness *h = ud;
	h->host_cs = *cs;
	h->crypto_on = true;
}

static inline void h_get_display(void *ud, struct video_display *d)
{
	(void)ud;
	memset(d, 0, sizeof(*d));
	d->width = 1280;
	d->height = 720;
	strcpy(d->name, ":99");
}

static inline void h_logged_in(void *ud)
{
	struct harness *h = ud;
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
	h->logged_in_calls++;
}

static inline void h_start_video(void *ud, enum video_codec c)
{
	struct harness *h = ud;
	assert_int_equal(h->logged_in_calls, 1);
	h->started_codec = c;
	h->start_calls++;
}

static inline void h_keyframe(void *ud) { ((struct harness *)ud)->keyframe_requests++; }
static inline void h_pk_refresh(void *ud) { ((struct harness *)ud)->pk_refresh++; }
static inline void h_key_event(void *ud, const Hbb__KeyEvent *e) { (void)e; ((struct harness *)ud)->key_events++; }
static inline void h_mouse_event(void *ud, const Hbb__MouseEvent *e) { (void)e; ((struct harness *)ud)->mouse_events++; }
static inline void h_clipboard(void *ud, const Hbb__Clipboard *c) { (void)c; ((struct harness *)ud)->clipboards++; }

static inline void h_close(void *ud, int reason)
{
	struct harness *h = ud;
	assert_false(h->closed);
	h->closed = true;
	h->close_reason = reason;
}

static inline void h_rate(void *ud, int fps, int quality)
{
	struct harness *h = ud;
	h->rate_calls++;
	h->fps = fps;
	h->quality = quality;
}

static inline uint32_t h_kbps(void *ud) { (void)ud; return TARGET_KBPS; }
static inline bool h_backed(void *ud) { return ((struct harness *)ud)->backed; }
static inline void h_ready(void *ud) { ((struct harness *)ud)->ready_calls++; }

static inline void h_set_audio(void *ud, bool on)
{
	struct harness *h = ud;
	/* Sound exists only for a session that logged in. */
	assert_int_equal(h->logged_in_calls, 1);
	assert_int_equal(session_state(h->s), SESSION_ACTIVE);
	h->audio_calls++;
	h->audio_on = on;
}

static const struct session_ops h_ops = {
	.send = h_send,
	.set_crypto = h_set_crypto,
	.get_display = h_get_display,
	.logged_in = h_logged_in,
	.start_video = h_start_video,
	.request_keyframe = h_keyframe,
	.close = h_close,
	.pk_refresh = h_pk_refresh,
	.on_key_event = h_key_event,
	.on_mouse_event = h_mouse_event,
	.on_clipboard = h_clipboard,
	.set_video_rate = h_rate,
	.target_kbps = h_kbps,
	.backed_up = h_backed,
	.video_ready = h_ready,
	.set_audio = h_set_audio,
};

static char tmpdir[256];

static inline int setup(void **state)
{
	assert_int_equal(rd_crypto_init(), RD_OK);
	rd_log_set_level(RD_LOG_ERR);
	struct harness *h = calloc(1, sizeof(*h));
	assert_int_equal(rd_key_generate(&h->kp, false), RD_OK);
	const char *td = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/rd-agent-unit.XXXXXX", td && *td ? td : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	assert_int_equal(login_password_store(tmpdir, PASSWORD), RD_OK);
	assert_int_equal(login_password_load(tmpdir, &h->pw), RD_OK);
	h->guard = login_guard_new();
	h->host = (struct session_host){ .id = HOST_ID, .kp = &h->kp, .pw = &h->pw, .guard = h->guard,
		.hostname = "testhost" };
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.7:40000", 0, &h->peer), RD_OK);
	*state = h;
	return 0;
}

/* Forget the frames sent so far (before a new session on the same host). */
static inline void h_reset_wire(struct harness *h)
{
	for (size_t i = 0; i < h->n_out; i++)
		free(h->out[i]);
	h->n_out = h->n_read = 0;
}

static inline int teardown(void **state)
{
	struct harness *h = *state;
	session_free(h->s);
	h_reset_wire(h);
	if (h->last)
		hbb__message__free_unpacked(h->last, NULL);
	login_guard_free(h->guard);
	char path[320];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, LOGIN_PW_FILE);
	unlink(path);
	rmdir(tmpdir);
	free(h);
	return 0;
}

/* Next frame the host sent, decrypted as the controller would (caller frees). */
static inline Hbb__Message *h_next(struct harness *h)
{
	assert_true(h->n_read < h->n_out);
	size_t i = h->n_read++;
	struct rd_buf b;
	rd_buf_init(&b, 0);
	if (h->ctl_crypto)
		assert_int_equal(rd_crypto_open(&h->ctl_cs, h->out[i], h->out_len[i], &b), RD_OK);
	else
		assert_int_equal(rd_buf_put(&b, h->out[i], h->out_len[i]), RD_OK);
	Hbb__Message *m = rd_pb_message_unpack(rd_buf_ptr(&b), rd_buf_size(&b));
	rd_buf_free(&b);
	assert_non_null(m);
	return m;
}

/* The newest frame the host sent, not read yet, all before it passed over
 * (plaintext only: an opened stream must be read in order, with h_next);
 * the harness frees it at the next call or at teardown. */
static inline const Hbb__Message *h_last(struct harness *h)
{
	assert_false(h->ctl_crypto);
	assert_true(h->n_read < h->n_out);
	if (h->last)
		hbb__message__free_unpacked(h->last, NULL);
	h->n_read = h->n_out - 1;
	h->last = h_next(h);
	return h->last;
}

/* Controller -> host: pack, encrypt if on, feed. */
static inline void h_feed(struct harness *h, const Hbb__Message *m, double now)
{
	uint8_t *p = NULL;
	size_t len = 0;
	assert_int_equal(rd_pb_pack(&m->base, &p, &len), RD_OK);
	struct rd_buf b, pt;
	rd_buf_init(&b, 0);
	rd_buf_init(&pt, 0);
	if (h->ctl_crypto)
		assert_int_equal(rd_crypto_seal(&h->ctl_cs, p, len, &b), RD_OK);
	else
		assert_int_equal(rd_buf_put(&b, p, len), RD_OK);
	/* The host's conn decrypts. */
	if (h->crypto_on)
		assert_int_equal(rd_crypto_open(&h->host_cs, rd_buf_ptr(&b), rd_buf_size(&b), &pt), RD_OK);
	else
		assert_int_equal(rd_buf_put(&pt, rd_buf_ptr(&b), rd_buf_size(&b)), RD_OK);
	session_on_frame(h->s, rd_buf_ptr(&pt), rd_buf_size(&pt), now);
	rd_buf_free(&b);
	rd_buf_free(&pt);
	free(p);
}

/* Answer the host's Hash with a LoginRequest for HOST_ID from CTL_ID:
 * password, options (may be NULL) and whether video frames are acknowledged. */
static inline void h_login_request(struct harness *h, const Hbb__Message *hash, const char *password,
	Hbb__OptionMessage *opt, bool ack, double now)
{
	assert_int_equal(hash->union_case, HBB__MESSAGE__UNION_HASH);
	uint8_t h1[32], resp[32];
	rd_pw_hash1(password, hash->hash->salt, h1);
	rd_pw_response(h1, hash->hash->challenge, resp);
	Hbb__LoginRequest lr = HBB__LOGIN_REQUEST__INIT;
	lr.username = (char *)HOST_ID;
	lr.my_id = (char *)CTL_ID;
	lr.password.data = resp;
	lr.password.len = 32;
	lr.option = opt;
	lr.video_ack_required = ack;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
	m.login_request = &lr;
	h_feed(h, &m, now);
}

/* Controller -> host: a Misc message (its union case and member set by the caller). */
static inline void h_feed_misc(struct harness *h, Hbb__Misc *misc, double now)
{
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = misc;
	h_feed(h, &m, now);
}

#endif

/* Fuzz the agent's session state machine with arbitrary frames.
 *
 * Input: byte 0 picks the starting state: odd, the harness completes a
 * plaintext handshake and a correct login first, so the frames hit the
 * logged-in state; even with bit 1 set, the harness completes the handshake
 * only (and with bit 2 also sends a wrong password), so the frames hit the
 * pre-login state; otherwise the fuzzer's first frame is the handshake reply.
 * Bit 3 puts the session behind a relay (where a plaintext handshake is
 * refused, so the harness gets no further).
 * Then frames as [u16 little-endian length][bytes], each fed to
 * session_on_frame with a growing clock; session_tick and a video packet are
 * interleaved.
 *
 * Checked on every input: before ops->logged_in no other op of a logged-in
 * session is called, and the host sends nothing but the handshake and login
 * traffic (Hash, LoginResponse error, TestDelay, Misc.close_reason); ops->
 * logged_in comes only with the right password and only once (sound,
 * set_audio, included: no audio state before the login). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/login.h"
#include "agent/session.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "pb.h"

#define PASSWORD "fuzz-password"

struct fz {
	bool closed;
	char challenge[16];
	bool have_challenge;
	bool may_log_in;     /* the harness sends the right password */
	bool logged_in;      /* ops->logged_in was called */
	unsigned sent;
};

static void fz_fail(const char *what)
{
	fprintf(stderr, "session invariant broken: %s\n", what);
	abort();
}

/* An op only a logged-in session may see. */
static void fz_need_login(const void *ud, const char *op)
{
	if (!((const struct fz *)ud)->logged_in)
		fz_fail(op);
}

/* What the host may send before the login succeeded. */
static bool fz_prelogin_ok(const Hbb__Message *m)
{
	switch (m->union_case) {
	case HBB__MESSAGE__UNION_SIGNED_ID:
	case HBB__MESSAGE__UNION_HASH:
	case HBB__MESSAGE__UNION_TEST_DELAY:
		return true;
	case HBB__MESSAGE__UNION_LOGIN_RESPONSE:
		return true; /* error, or the peer_info that ends this state */
	case HBB__MESSAGE__UNION_MISC:
		return m->misc->union_case == HBB__MISC__UNION_CLOSE_REASON;
	default:
		return false;
	}
}

static int fz_send(void *ud, const uint8_t *p, size_t len)
{
	struct fz *f = ud;
	f->sent++;
	if (f->logged_in)
		return RD_OK;
	Hbb__Message *m = rd_pb_message_unpack(p, len);
	if (!m)
		fz_fail("the host sent something that is not a Message");
	if (!fz_prelogin_ok(m))
		fz_fail("the host sent more than login traffic before the login");
	if (m->union_case == HBB__MESSAGE__UNION_LOGIN_RESPONSE &&
	    m->login_response->union_case == HBB__LOGIN_RESPONSE__UNION_PEER_INFO && !f->may_log_in)
		fz_fail("login without the password");
	if (!f->have_challenge && m->union_case == HBB__MESSAGE__UNION_HASH &&
	    strlen(m->hash->challenge) < 16) {
		strcpy(f->challenge, m->hash->challenge);
		f->have_challenge = true;
	}
	hbb__message__free_unpacked(m, NULL);
	return RD_OK;
}

static void fz_set_crypto(void *ud, const struct rd_crypto_stream *cs) { (void)ud, (void)cs; }
static void fz_get_display(void *ud, struct video_display *d)
{
	(void)ud;
	memset(d, 0, sizeof(*d));
	d->width = 64;
	d->height = 48;
}
static void fz_logged_in(void *ud)
{
	struct fz *f = ud;
	if (f->logged_in || !f->may_log_in)
		fz_fail("logged_in twice, or without the password");
	f->logged_in = true;
}
static void fz_start_video(void *ud, enum video_codec c) { (void)c; fz_need_login(ud, "start_video"); }
static void fz_keyframe(void *ud) { fz_need_login(ud, "request_keyframe"); }
static void fz_close(void *ud, int reason) { (void)reason; ((struct fz *)ud)->closed = true; }
static void fz_key(void *ud, const Hbb__KeyEvent *e) { (void)e; fz_need_login(ud, "on_key_event"); }
static void fz_mouse(void *ud, const Hbb__MouseEvent *e) { (void)e; fz_need_login(ud, "on_mouse_event"); }
static void fz_clip(void *ud, const Hbb__Clipboard *c) { (void)c; fz_need_login(ud, "on_clipboard"); }
static void fz_rate(void *ud, int fps, int q) { (void)fps, (void)q; fz_need_login(ud, "set_video_rate"); }
static uint32_t fz_kbps(void *ud) { fz_need_login(ud, "target_kbps"); return 1000; }
static bool fz_backed(void *ud) { fz_need_login(ud, "backed_up"); return false; }
static void fz_ready(void *ud) { fz_need_login(ud, "video_ready"); }
static void fz_audio(void *ud, bool on) { (void)on; fz_need_login(ud, "set_audio"); }

static const struct session_ops fz_ops = {
	.send = fz_send, .set_crypto = fz_set_crypto, .get_display = fz_get_display,
	.logged_in = fz_logged_in, .start_video = fz_start_video, .request_keyframe = fz_keyframe,
	.close = fz_close, .on_key_event = fz_key, .on_mouse_event = fz_mouse, .on_clipboard = fz_clip,
	.set_video_rate = fz_rate, .target_kbps = fz_kbps, .backed_up = fz_backed, .video_ready = fz_ready,
	.set_audio = fz_audio,
};

static struct rd_keypair kp;
static struct login_password pw;

static void fz_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	rd_crypto_init();
	rd_log_set_level(RD_LOG_ERR);
	rd_log_set_stream(fopen("/dev/null", "w"));
	rd_key_generate(&kp, false);
	pw.set = true;
	memcpy(pw.salt, "abcdefghijkmnpqrstuvwxyz23456789", LOGIN_SALT_LEN + 1);
	rd_pw_hash1(PASSWORD, pw.salt, pw.h1);
}

static void fz_login(struct session *s, struct fz *f, double now, bool right)
{
	uint8_t resp[32];
	rd_pw_response(pw.h1, f->challenge, resp);
	if (!right)
		resp[0] ^= 1;
	f->may_log_in = right;
	Hbb__LoginRequest lr = HBB__LOGIN_REQUEST__INIT;
	lr.username = (char *)"fuzzhost01";
	lr.my_id = (char *)"fuzzer";
	lr.password.data = resp;
	lr.password.len = 32;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
	m.login_request = &lr;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rd_pb_pack(&m.base, &buf, &len) == RD_OK)
		session_on_frame(s, buf, len, now);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_init();
	if (size < 1)
		return 0;
	struct login_guard *guard = login_guard_new();
	struct session_host host = { .id = "fuzzhost01", .kp = &kp, .pw = &pw, .guard = guard,
		.hostname = "fuzz", .allow_plain = true };
	struct rd_sockaddr peer;
	rd_net_addr_parse_numeric("127.0.0.1:5000", 0, &peer);
	struct fz f = { 0 };
	/* Bit 3: through a relay, where plaintext is refused. */
	struct session *s = session_new(&host, &peer, (data[0] & 8) ? SESSION_PATH_RELAY : SESSION_PATH_PUNCH,
		&fz_ops, &f);
	double now = 1.0;
	session_start(s, now);
	if (data[0] & 3) {
		session_on_frame(s, NULL, 0, now); /* plaintext, allowed here */
		if (f.have_challenge && (data[0] & 1)) {
			fz_login(s, &f, now, true);
			if (!f.logged_in)
				fz_fail("the right password did not log in");
		} else if (f.have_challenge && (data[0] & 4))
			fz_login(s, &f, now, false);
	}
	size_t off = 1;
	uint8_t vdata[8] = { 0, 0, 0, 1, 0x65, 0, 0, 0 };
	while (off + 2 <= size && !f.closed) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (len > size - off)
			len = size - off;
		session_on_frame(s, data + off, len, now);
		off += len;
		now += 0.4;
		session_tick(s, now);
		struct video_packet pkt = { .codec = (len & 1) ? VIDEO_CODEC_H264 : VIDEO_CODEC_VP9,
			.data = vdata, .len = sizeof(vdata), .key = (len & 2) != 0, .pts_ms = (int64_t)(now * 1000) };
		session_video_packet(s, &pkt, (len & 4) != 0, now);
	}
	session_free(s);
	login_guard_free(guard);
	return 0;
}

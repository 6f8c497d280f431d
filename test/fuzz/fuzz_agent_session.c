/* Fuzz the agent's session state machine with arbitrary frames.
 *
 * Input: byte 0 picks the starting state (even: the fuzzer's first frame is
 * the handshake reply; odd: the harness completes a plaintext handshake and a
 * correct login first, so the frames hit the logged-in state), then frames as
 * [u16 little-endian length][bytes], each fed to session_on_frame with a
 * growing clock; session_tick and a video packet are interleaved. */
#include <stdint.h>
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
};

static int fz_send(void *ud, const uint8_t *p, size_t len)
{
	struct fz *f = ud;
	if (f->have_challenge)
		return RD_OK;
	Hbb__Message *m = rd_pb_message_unpack(p, len);
	if (m && m->union_case == HBB__MESSAGE__UNION_HASH && strlen(m->hash->challenge) < 16) {
		strcpy(f->challenge, m->hash->challenge);
		f->have_challenge = true;
	}
	if (m)
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
static void fz_start_video(void *ud, enum video_codec c) { (void)ud, (void)c; }
static void fz_keyframe(void *ud) { (void)ud; }
static void fz_close(void *ud, int reason) { (void)reason; ((struct fz *)ud)->closed = true; }

static const struct session_ops fz_ops = {
	.send = fz_send, .set_crypto = fz_set_crypto, .get_display = fz_get_display,
	.start_video = fz_start_video, .request_keyframe = fz_keyframe, .close = fz_close,
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

static void fz_login(struct session *s, struct fz *f, double now)
{
	uint8_t resp[32];
	rd_pw_response(pw.h1, f->challenge, resp);
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
		session_on_frame(s, buf, len, now, now);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_init();
	if (size < 1)
		return 0;
	struct login_guard *guard = login_guard_new();
	struct session_host host = { .id = "fuzzhost01", .kp = &kp, .pw = &pw, .guard = guard,
		.hostname = "fuzz", .allow_plain = true, .have_vp9 = true, .have_h264 = true };
	struct rd_sockaddr peer;
	rd_net_addr_parse_numeric("127.0.0.1:5000", 0, &peer);
	struct fz f = { 0 };
	struct session *s = session_new(&host, &peer, SESSION_PATH_RELAY, &fz_ops, &f);
	double now = 1.0;
	session_start(s, now, now);
	if (data[0] & 1) {
		session_on_frame(s, NULL, 0, now, now); /* plaintext, allowed here */
		if (f.have_challenge)
			fz_login(s, &f, now);
	}
	size_t off = 1;
	uint8_t vdata[8] = { 0, 0, 0, 1, 0x65, 0, 0, 0 };
	while (off + 2 <= size && !f.closed) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (len > size - off)
			len = size - off;
		session_on_frame(s, data + off, len, now, now);
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

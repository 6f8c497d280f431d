/* session-peer: a raw controller for tests. It connects straight to an
 * agent's session socket (the direct listener), does the secure handshake of
 * PROTOCOL.md §9 through common/handshake, then plays a script of steps and
 * prints every message the agent sends, one line each, so a shell test can
 * say exactly what a controller got and when.
 *
 *   session-peer ADDR:PORT ID PK_B64 STEP...
 *     option           Misc.option{supported_decoding: VP9 and H.264, prefer H.264}
 *     refresh          Misc.refresh_video
 *     clip TEXT        Clipboard{text}
 *     key              KeyEvent: press (down and up) Caps Lock
 *     mouse X Y        MouseEvent: move to X,Y
 *     login PASSWORD   LoginRequest answering the agent's Hash
 *     big N            one well-formed encrypted frame of about N bytes (a Clipboard)
 *     flood N          N TestDelay probes of the controller, reading none of the
 *                      echoes (the socket's receive buffer is kept small); prints
 *                      flood_sent= (fewer than N when the agent closed)
 *     wait SECS        read for SECS
 *     until FILE SECS  read until FILE exists (the test's checks are done), at most SECS
 *     video N SECS     read until N video frames came; exit 3 when they do not in SECS
 *
 * Output: "step NAME" before each step; "rx KIND" for each message received,
 * KIND being the Message case, with the LoginResponse or Misc case after a
 * dot (rx login_response.error, rx misc.permission_info); "clip_text=TEXT"
 * after an rx clipboard; "eof" when the agent closed (later steps are then
 * skipped). TestDelay probes of the agent are answered, as a controller
 * does. Exit 0 when the script ran, 1 on a handshake failure, 2 on usage. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "handshake.h"
#include "net.h"
#include "pb.h"
#include "util.h"

struct sp {
	int fd;
	const char *id;
	struct rd_buf in;
	struct rd_crypto_stream cs;
	bool crypto;
	bool eof;
	bool write_failed;
	char salt[64];
	char challenge[64];
	unsigned video_frames;
};

static void sp_die(const char *what, const char *detail)
{
	fprintf(stderr, "session-peer: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static void sp_write(struct sp *p, const uint8_t *payload, size_t len)
{
	if (p->eof)
		return;
	struct rd_buf sealed, framed;
	rd_buf_init(&sealed, 0);
	rd_buf_init(&framed, 0);
	if (p->crypto) {
		if (rd_crypto_seal(&p->cs, payload, len, &sealed) != RD_OK)
			sp_die("seal", NULL);
		payload = rd_buf_ptr(&sealed);
		len = rd_buf_size(&sealed);
	}
	if (rd_frame_append(&framed, payload, len) != RD_OK)
		sp_die("frame", NULL);
	const uint8_t *q = rd_buf_ptr(&framed);
	size_t left = rd_buf_size(&framed);
	while (left > 0) {
		ssize_t n = write(p->fd, q, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->write_failed = true; /* the agent closed, or stopped reading */
			break;
		}
		q += n;
		left -= (size_t)n;
	}
	rd_buf_free(&sealed);
	rd_buf_free(&framed);
}

static void sp_send(struct sp *p, const Hbb__Message *m)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rd_pb_pack(&m->base, &buf, &len) != RD_OK)
		sp_die("pack", NULL);
	sp_write(p, buf, len);
	free(buf);
}

/* Next frame payload (decrypted) into out within secs: 1 got one, 0 timeout, -1 closed. */
static int sp_read_frame(struct sp *p, double secs, struct rd_buf *out)
{
	double until = rd_now() + secs;
	for (;;) {
		const uint8_t *pl;
		size_t plen, used;
		int rc = rd_frame_next(rd_buf_ptr(&p->in), rd_buf_size(&p->in), RD_FRAME_MAX_SESSION,
			&pl, &plen, &used);
		if (rc == RD_OK) {
			rd_buf_reset(out);
			if (p->crypto)
				rc = rd_crypto_open(&p->cs, pl, plen, out);
			else
				rc = rd_buf_put(out, pl, plen);
			if (rc != RD_OK)
				sp_die("a frame from the agent does not open", rd_strerror(rc));
			rd_buf_consume(&p->in, used);
			return 1;
		}
		if (rc != RD_ERR_TRUNCATED)
			sp_die("bad frame from the agent", rd_strerror(rc));
		double left = until - rd_now();
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			return 0;
		uint8_t *dst = rd_buf_reserve(&p->in, 1 << 16);
		if (!dst)
			sp_die("out of memory", NULL);
		ssize_t n = read(p->fd, dst, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		rd_buf_commit(&p->in, (size_t)n);
	}
}

static void sp_note_message(struct sp *p, const Hbb__Message *m)
{
	const char *sub = NULL;
	if (m->union_case == HBB__MESSAGE__UNION_LOGIN_RESPONSE)
		sub = m->login_response->union_case == HBB__LOGIN_RESPONSE__UNION_PEER_INFO ? "peer_info" :
			m->login_response->union_case == HBB__LOGIN_RESPONSE__UNION_ERROR ? "error" : "other";
	if (m->union_case == HBB__MESSAGE__UNION_MISC) {
		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
			&hbb__misc__descriptor, m->misc->union_case);
		sub = f ? f->name : "empty";
	}
	printf("rx %s%s%s\n", rd_pb_message_name(m), sub ? "." : "", sub ? sub : "");
	switch (m->union_case) {
	case HBB__MESSAGE__UNION_HASH:
		rd_strlcpy(p->salt, m->hash->salt, sizeof(p->salt));
		rd_strlcpy(p->challenge, m->hash->challenge, sizeof(p->challenge));
		break;
	case HBB__MESSAGE__UNION_CLIPBOARD:
		printf("clip_text=%.*s\n", (int)m->clipboard->content.len, (const char *)m->clipboard->content.data);
		break;
	case HBB__MESSAGE__UNION_VIDEO_FRAME:
		p->video_frames++;
		break;
	case HBB__MESSAGE__UNION_TEST_DELAY:
		if (!m->test_delay->from_client)
			sp_send(p, m);
		break;
	default:
		break;
	}
}

/* Read and print for secs (or until want video frames came, when want > 0). */
static void sp_pump(struct sp *p, double secs, unsigned want)
{
	double until = rd_now() + secs;
	struct rd_buf f;
	rd_buf_init(&f, 0);
	while (!p->eof && (want == 0 || p->video_frames < want)) {
		double left = until - rd_now();
		if (left <= 0)
			break;
		int rc = sp_read_frame(p, left, &f);
		if (rc < 0) {
			p->eof = true;
			printf("eof\n");
			break;
		}
		if (rc == 0)
			break;
		if (rd_buf_size(&f) == 0)
			continue; /* heartbeat */
		Hbb__Message *m = rd_pb_message_unpack(rd_buf_ptr(&f), rd_buf_size(&f));
		if (!m) {
			printf("rx unparsable\n");
			continue;
		}
		sp_note_message(p, m);
		hbb__message__free_unpacked(m, NULL);
	}
	rd_buf_free(&f);
	fflush(stdout);
}

static void sp_handshake(struct sp *p, const uint8_t pk[RD_PK_LEN])
{
	struct rd_buf f;
	rd_buf_init(&f, 0);
	if (sp_read_frame(p, 10, &f) != 1)
		sp_die("no SignedId from the agent", NULL);
	struct rd_handshake *h = rd_handshake_ctl_new(p->id, pk, RD_FEAT_KDF);
	uint8_t *reply = NULL;
	size_t rlen = 0;
	int rc = rd_handshake_ctl_on_signed_id(h, rd_buf_ptr(&f), rd_buf_size(&f), &reply, &rlen);
	if (rc != RD_OK)
		sp_die("SignedId refused", rd_strerror(rc));
	printf("rx signed_id\n");
	sp_write(p, reply, rlen);
	free(reply);
	rd_handshake_stream(h, &p->cs);
	rd_handshake_free(h);
	p->crypto = true;
	rd_buf_free(&f);
	/* The Hash follows at once. */
	sp_pump(p, 5, 0);
	if (!p->challenge[0])
		sp_die("no Hash from the agent", NULL);
}

static void sp_misc(struct sp *p, Hbb__Misc *misc)
{
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = misc;
	sp_send(p, &m);
}

static void sp_option(struct sp *p)
{
	Hbb__SupportedDecoding sd = HBB__SUPPORTED_DECODING__INIT;
	sd.ability_vp9 = 1;
	sd.ability_h264 = 1;
	sd.prefer = HBB__SUPPORTED_DECODING__PREFER_CODEC__H264;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.supported_decoding = &sd;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_OPTION;
	misc.option = &opt;
	sp_misc(p, &misc);
}

static void sp_clip(struct sp *p, const char *text, size_t len)
{
	Hbb__Clipboard c = HBB__CLIPBOARD__INIT;
	c.content.data = (uint8_t *)text;
	c.content.len = len;
	c.format = HBB__CLIPBOARD_FORMAT__Text;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_CLIPBOARD;
	m.clipboard = &c;
	sp_send(p, &m);
}

static void sp_key(struct sp *p)
{
	Hbb__KeyEvent k = HBB__KEY_EVENT__INIT;
	k.union_case = HBB__KEY_EVENT__UNION_CONTROL_KEY;
	k.control_key = HBB__CONTROL_KEY__CapsLock;
	k.press = 1;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_KEY_EVENT;
	m.key_event = &k;
	sp_send(p, &m);
}

static void sp_mouse(struct sp *p, int x, int y)
{
	Hbb__MouseEvent e = HBB__MOUSE_EVENT__INIT;
	e.mask = 0; /* move */
	e.x = x;
	e.y = y;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MOUSE_EVENT;
	m.mouse_event = &e;
	sp_send(p, &m);
}

static void sp_login(struct sp *p, const char *password)
{
	uint8_t h1[32], resp[32];
	rd_pw_hash1(password, p->salt, h1);
	rd_pw_response(h1, p->challenge, resp);
	Hbb__SupportedDecoding sd = HBB__SUPPORTED_DECODING__INIT;
	sd.ability_vp9 = 1;
	sd.ability_h264 = 1;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.supported_decoding = &sd;
	Hbb__LoginRequest lr = HBB__LOGIN_REQUEST__INIT;
	lr.username = (char *)p->id;
	lr.my_id = (char *)"session-peer";
	lr.my_name = (char *)"session-peer";
	lr.password.data = resp;
	lr.password.len = sizeof(resp);
	lr.option = &opt;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
	m.login_request = &lr;
	sp_send(p, &m);
	sodium_memzero(h1, sizeof(h1));
}

static void sp_flood(struct sp *p, unsigned long n)
{
	Hbb__TestDelay td = HBB__TEST_DELAY__INIT;
	td.from_client = 1;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_TEST_DELAY;
	m.test_delay = &td;
	unsigned long i;
	for (i = 0; i < n && !p->write_failed; i++) {
		td.time = (int64_t)i + 1;
		sp_send(p, &m);
	}
	printf("flood_sent=%lu\n", p->write_failed ? i - 1 : i);
}

static void usage(void)
{
	fprintf(stderr, "usage: session-peer ADDR:PORT ID PK_B64 STEP...\n"
		"steps: option | refresh | clip TEXT | key | mouse X Y | login PASSWORD | big N | flood N |\n"
		"       wait SECS | until FILE SECS | video N SECS\n");
	exit(2);
}

/* One step at argv[0]; returns how many arguments it used, 0 on a bad step. */
static int sp_step(struct sp *p, int argc, char **argv)
{
	const char *s = argv[0];
	int need = !strcmp(s, "mouse") || !strcmp(s, "video") || !strcmp(s, "until") ? 2 :
		!strcmp(s, "clip") || !strcmp(s, "login") || !strcmp(s, "big") || !strcmp(s, "wait") ||
		!strcmp(s, "flood") ? 1 : 0;
	if (argc < need + 1)
		return 0;
	if (p->eof) {
		printf("skip %s\n", s);
		return need + 1;
	}
	printf("step %s\n", s);
	fflush(stdout);
	if (!strcmp(s, "option")) {
		sp_option(p);
	} else if (!strcmp(s, "refresh")) {
		Hbb__Misc misc = HBB__MISC__INIT;
		misc.union_case = HBB__MISC__UNION_REFRESH_VIDEO;
		misc.refresh_video = 1;
		sp_misc(p, &misc);
	} else if (!strcmp(s, "clip")) {
		sp_clip(p, argv[1], strlen(argv[1]));
	} else if (!strcmp(s, "key")) {
		sp_key(p);
	} else if (!strcmp(s, "mouse")) {
		sp_mouse(p, atoi(argv[1]), atoi(argv[2]));
	} else if (!strcmp(s, "login")) {
		sp_login(p, argv[1]);
	} else if (!strcmp(s, "big")) {
		size_t n = strtoul(argv[1], NULL, 10);
		char *text = malloc(n + 1);
		if (!text)
			sp_die("out of memory", NULL);
		memset(text, 'x', n);
		sp_clip(p, text, n);
		free(text);
	} else if (!strcmp(s, "flood")) {
		sp_flood(p, strtoul(argv[1], NULL, 10));
	} else if (!strcmp(s, "wait")) {
		sp_pump(p, atof(argv[1]), 0);
	} else if (!strcmp(s, "until")) {
		double until = rd_now() + atof(argv[2]);
		while (!p->eof && access(argv[1], F_OK) != 0 && rd_now() < until)
			sp_pump(p, 0.1, 0);
	} else if (!strcmp(s, "video")) {
		unsigned want = (unsigned)atoi(argv[1]);
		sp_pump(p, atof(argv[2]), want);
		printf("video_frames=%u\n", p->video_frames);
		if (p->video_frames < want)
			exit(3);
	} else {
		return 0;
	}
	/* Whatever the agent answered at once, before the next step. */
	if (strcmp(s, "wait") && strcmp(s, "video") && strcmp(s, "until"))
		sp_pump(p, 0.3, 0);
	return need + 1;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rd_crypto_init() != RD_OK)
		sp_die("libsodium", NULL);
	struct rd_sockaddr a;
	uint8_t pk[RD_PK_LEN];
	if (rd_net_addr_parse_numeric(argv[1], 0, &a) != RD_OK)
		usage();
	if (rd_pk_from_b64(argv[3], pk) != RD_OK)
		sp_die("bad public key", argv[3]);
	struct sp p = { .id = argv[2] };
	rd_buf_init(&p.in, 0);
	/* For a flood, a small receive buffer, so that the echoes the agent
	 * queues stay with it; writes give up after a while when the agent
	 * stops reading. */
	bool flood = false;
	for (int i = 4; i < argc; i++)
		flood |= !strcmp(argv[i], "flood");
	p.fd = socket(a.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rcvbuf = 4096;
	struct timeval tv = { .tv_sec = 5 };
	if (p.fd < 0 || (flood && setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) ||
	    setsockopt(p.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 || connect(p.fd, &a.u.sa, a.len) < 0)
		sp_die("connect", strerror(errno));
	sp_handshake(&p, pk);
	for (int i = 4; i < argc;) {
		int used = sp_step(&p, argc - i, argv + i);
		if (!used)
			usage();
		i += used;
	}
	close(p.fd);
	rd_buf_free(&p.in);
	rd_crypto_stream_wipe(&p.cs);
	return 0;
}

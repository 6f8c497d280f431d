/* session-peer: a raw controller for tests. It connects straight to an
 * agent's session socket (the direct listener), from a chosen source address
 * if asked, does the secure handshake of PROTOCOL.md §9 through
 * common/handshake, then plays a script of steps and prints every message the
 * agent sends, one line each, so a shell test can say exactly what a
 * controller got and when.
 *
 *   session-peer [-l SRC_IP] [-m MY_ID] [-u USERNAME] [-t SECS] ADDR:PORT ID PK_B64 STEP...
 *     -l SRC_IP        connect from this local address
 *     -m MY_ID         LoginRequest.my_id (default session-peer)
 *     -u USERNAME      LoginRequest.username (default ID)
 *     -t SECS          how long a login waits for its answer (default 30)
 *   steps:
 *     option           Misc.option{supported_decoding: VP9 and H.264, prefer H.264}
 *     refresh          Misc.refresh_video
 *     clip TEXT        Clipboard{text}
 *     key              KeyEvent: press (down and up) Caps Lock
 *     mouse X Y        MouseEvent: move to X,Y
 *     login PASSWORD   LoginRequest answering the agent's Hash; waits for the
 *                      answer and prints result=ok|error|no-answer, error=TEXT
 *                      (the agent's) or why=TEXT (no answer), secs= (to the answer)
 *     close REASON     Misc.close_reason, then no more writes; reads until the
 *                      agent closed (2 s at most); later steps are skipped
 *     big N            one well-formed encrypted frame of about N bytes (a Clipboard)
 *     flood N          N TestDelay probes of the controller, reading none of the
 *                      echoes (the socket's receive buffer is kept small); prints
 *                      flood_sent= (fewer than N when the agent closed)
 *     spam PASSWORD SECS  logins with PASSWORD for SECS on connections of its
 *                      own (the script's is closed first), three per connection
 *                      while they are answered "Wrong Password", quietly; prints
 *                      answered=, refused=, sessions=, slowest= (s); later
 *                      steps are skipped
 *     wait SECS        read for SECS
 *     until FILE SECS  read until FILE exists (the test's checks are done), at most SECS
 *     video N SECS     read until N video frames came; exit 3 when they do not in SECS
 *
 * The connection is made before the first step (but spam). Output: "step
 * NAME" before each step; "rx KIND" for each message received, KIND being the
 * Message case, with the LoginResponse or Misc case after a dot (rx
 * login_response.error, rx misc.permission_info); "clip_text=TEXT" after an
 * rx clipboard; "eof" when the agent closed (later steps are then skipped).
 * TestDelay probes of the agent are answered, as a controller does. Exit 0
 * when the script ran, 1 on a handshake failure, 2 on usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "net.h"
#include "pb.h"
#include "util.h"

#include "session-peer.h"

/* What a read loop waits for, besides the time running out or the agent closing. */
enum sp_until { SP_FOR_TIME, SP_UNTIL_HASH, SP_UNTIL_ANSWER, SP_UNTIL_VIDEO };

static void sp_note_login_response(struct sp *p, const Hbb__LoginResponse *r)
{
	p->answered = true;
	free(p->login_error);
	p->login_error = NULL;
	if (r->union_case != HBB__LOGIN_RESPONSE__UNION_PEER_INFO)
		p->login_error = xstrdup(r->union_case == HBB__LOGIN_RESPONSE__UNION_ERROR && r->error ?
			r->error : "?");
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
		p->agent_closed |= m->misc->union_case == HBB__MISC__UNION_CLOSE_REASON;
	}
	sp_out(p, "rx %s%s%s\n", rd_pb_message_name(m), sub ? "." : "", sub ? sub : "");
	switch (m->union_case) {
	case HBB__MESSAGE__UNION_HASH:
		rd_strlcpy(p->salt, m->hash->salt ? m->hash->salt : "", sizeof(p->salt));
		rd_strlcpy(p->challenge, m->hash->challenge ? m->hash->challenge : "", sizeof(p->challenge));
		break;
	case HBB__MESSAGE__UNION_LOGIN_RESPONSE:
		sp_note_login_response(p, m->login_response);
		break;
	case HBB__MESSAGE__UNION_CLIPBOARD:
		sp_out(p, "clip_text=%.*s\n", (int)m->clipboard->content.len,
			(const char *)m->clipboard->content.data);
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

static bool sp_done(const struct sp *p, enum sp_until until, unsigned want)
{
	switch (until) {
	case SP_UNTIL_HASH:
		return p->challenge[0] != '\0';
	case SP_UNTIL_ANSWER:
		return p->answered || p->agent_closed;
	case SP_UNTIL_VIDEO:
		return p->video_frames >= want;
	case SP_FOR_TIME:
	default:
		return false;
	}
}

/* Read and print for secs, or until what until says came (want: video frames). */
static void sp_pump(struct sp *p, double secs, enum sp_until until, unsigned want)
{
	double end = rd_now() + secs;
	struct rd_buf f;
	rd_buf_init(&f, 0);
	while (!p->eof && !sp_done(p, until, want)) {
		double left = end - rd_now();
		if (left <= 0)
			break;
		int rc = sp_read_frame(p, left, &f);
		if (rc < 0) {
			p->eof = true;
			sp_out(p, "eof\n");
			break;
		}
		if (rc == 0)
			break;
		if (rd_buf_size(&f) == 0)
			continue; /* heartbeat */
		Hbb__Message *m = rd_pb_message_unpack(rd_buf_ptr(&f), rd_buf_size(&f));
		if (!m) {
			sp_out(p, "rx unparsable\n");
			continue;
		}
		sp_note_message(p, m);
		hbb__message__free_unpacked(m, NULL);
	}
	rd_buf_free(&f);
	fflush(stdout);
}

/* Connect, run the handshake and wait for the Hash. */
static int sp_open(struct sp *p)
{
	int rc = sp_handshake(p);
	if (rc != RD_OK)
		return rc;
	/* The Hash follows at once. */
	sp_pump(p, 10, SP_UNTIL_HASH, 0);
	return p->challenge[0] ? RD_OK : RD_ERR_PROTO;
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

/* One LoginRequest, then read until its answer (p->timeout at most). RD_OK
 * when answered (p->login_error NULL: logged in; else the agent's error);
 * RD_ERR_EOF when the agent closed first, RD_ERR_TIMEOUT when nothing came. */
static int sp_login(struct sp *p, const char *password)
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
	lr.username = (char *)(p->username ? p->username : p->id);
	lr.my_id = (char *)p->my_id;
	lr.my_name = (char *)"session-peer";
	lr.password.data = resp;
	lr.password.len = sizeof(resp);
	lr.option = &opt;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
	m.login_request = &lr;
	free(p->login_error);
	p->login_error = NULL;
	p->answered = p->agent_closed = false;
	sp_send(p, &m);
	sodium_memzero(h1, sizeof(h1));
	sp_pump(p, p->timeout, SP_UNTIL_ANSWER, 0);
	if (p->answered)
		return RD_OK;
	return p->eof || p->agent_closed ? RD_ERR_EOF : RD_ERR_TIMEOUT;
}

static void sp_login_step(struct sp *p, const char *password)
{
	double t0 = rd_now();
	int rc = sp_login(p, password);
	if (rc != RD_OK)
		printf("result=no-answer\nwhy=%s\n", rd_strerror(rc));
	else if (p->login_error)
		printf("result=error\nerror=%s\n", p->login_error);
	else
		printf("result=ok\n");
	printf("secs=%.2f\n", rd_now() - t0);
}

static void sp_close(struct sp *p, const char *reason)
{
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_CLOSE_REASON;
	misc.close_reason = (char *)reason;
	sp_misc(p, &misc);
	/* Let it arrive: closing with unread video would reset the connection. */
	shutdown(p->fd, SHUT_WR);
	p->write_failed = true;
	sp_pump(p, 2, SP_FOR_TIME, 0);
	p->eof = true;
}

static void sp_spam(struct sp *p, const char *password, double secs)
{
	double end = rd_now() + secs, slowest = 0;
	unsigned answered = 0, refused = 0, sessions = 0;
	p->quiet = true;
	while (rd_now() < end) {
		if (sp_open(p) != RD_OK) {
			refused++;
			usleep(100 * 1000);
			continue;
		}
		sessions++;
		for (int i = 0; i < 3 && rd_now() < end; i++) {
			double t0 = rd_now();
			int rc = sp_login(p, password);
			if (rd_now() - t0 > slowest)
				slowest = rd_now() - t0;
			answered += rc == RD_OK;
			if (rc == RD_OK && p->login_error && !strcmp(p->login_error, "Wrong Password"))
				continue;
			refused += rc != RD_OK || p->login_error;
			usleep(200 * 1000); /* refused: do not spin */
			break;
		}
	}
	sp_disconnect(p);
	p->eof = true;
	p->quiet = false;
	printf("answered=%u\nrefused=%u\nsessions=%u\nslowest=%.1f\n", answered, refused, sessions, slowest);
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
	fprintf(stderr, "usage: session-peer [-l SRC_IP] [-m MY_ID] [-u USERNAME] [-t SECS] ADDR:PORT ID PK_B64 STEP...\n"
		"steps: option | refresh | clip TEXT | key | mouse X Y | login PASSWORD | close REASON |\n"
		"       big N | flood N | spam PASSWORD SECS | wait SECS | until FILE SECS | video N SECS\n");
	exit(2);
}

static const struct {
	const char *name;
	int args;
	bool pump; /* read what the agent answers at once, before the next step */
} sp_steps[] = {
	{ "option", 0, true }, { "refresh", 0, true }, { "key", 0, true }, { "clip", 1, true },
	{ "mouse", 2, true }, { "big", 1, true }, { "flood", 1, true }, { "login", 1, false },
	{ "close", 1, false }, { "spam", 2, false }, { "wait", 1, false }, { "until", 2, false },
	{ "video", 2, false },
};

/* Play step s with its arguments a. */
static void sp_play(struct sp *p, const char *s, char **a)
{
	if (!strcmp(s, "option")) {
		sp_option(p);
	} else if (!strcmp(s, "refresh")) {
		Hbb__Misc misc = HBB__MISC__INIT;
		misc.union_case = HBB__MISC__UNION_REFRESH_VIDEO;
		misc.refresh_video = 1;
		sp_misc(p, &misc);
	} else if (!strcmp(s, "clip")) {
		sp_clip(p, a[0], strlen(a[0]));
	} else if (!strcmp(s, "key")) {
		sp_key(p);
	} else if (!strcmp(s, "mouse")) {
		sp_mouse(p, atoi(a[0]), atoi(a[1]));
	} else if (!strcmp(s, "login")) {
		sp_login_step(p, a[0]);
	} else if (!strcmp(s, "close")) {
		sp_close(p, a[0]);
	} else if (!strcmp(s, "big")) {
		size_t n = strtoul(a[0], NULL, 10);
		char *text = malloc(n + 1);
		if (!text)
			sp_die("out of memory", NULL);
		memset(text, 'x', n);
		sp_clip(p, text, n);
		free(text);
	} else if (!strcmp(s, "flood")) {
		sp_flood(p, strtoul(a[0], NULL, 10));
	} else if (!strcmp(s, "spam")) {
		sp_spam(p, a[0], atof(a[1]));
	} else if (!strcmp(s, "wait")) {
		sp_pump(p, atof(a[0]), SP_FOR_TIME, 0);
	} else if (!strcmp(s, "until")) {
		double until = rd_now() + atof(a[1]);
		while (!p->eof && access(a[0], F_OK) != 0 && rd_now() < until)
			sp_pump(p, 0.1, SP_FOR_TIME, 0);
	} else if (!strcmp(s, "video")) {
		unsigned want = (unsigned)atoi(a[0]);
		sp_pump(p, atof(a[1]), want ? SP_UNTIL_VIDEO : SP_FOR_TIME, want);
		printf("video_frames=%u\n", p->video_frames);
		if (p->video_frames < want)
			exit(3);
	}
}

/* One step at argv[0]; returns how many arguments it used, 0 on a bad step. */
static int sp_step(struct sp *p, int argc, char **argv)
{
	size_t k = 0;
	while (k < sizeof(sp_steps) / sizeof(sp_steps[0]) && strcmp(sp_steps[k].name, argv[0]))
		k++;
	if (k == sizeof(sp_steps) / sizeof(sp_steps[0]) || argc < sp_steps[k].args + 1)
		return 0;
	if (p->eof) {
		printf("skip %s\n", argv[0]);
		return sp_steps[k].args + 1;
	}
	if (p->fd < 0 && strcmp(argv[0], "spam")) {
		int rc = sp_open(p);
		if (rc != RD_OK)
			sp_die("no session with the agent", rd_strerror(rc));
	}
	printf("step %s\n", argv[0]);
	fflush(stdout);
	sp_play(p, argv[0], argv + 1);
	if (sp_steps[k].pump)
		sp_pump(p, 0.3, SP_FOR_TIME, 0);
	return sp_steps[k].args + 1;
}

int main(int argc, char **argv)
{
	struct sp p = { .fd = -1, .my_id = "session-peer", .timeout = 30 };
	int o;
	while ((o = getopt(argc, argv, "+l:m:u:t:")) != -1) {
		switch (o) {
		case 'l':
			if (rd_net_addr_parse_numeric(optarg, 0, &p.local) != RD_OK)
				usage();
			p.have_local = true;
			break;
		case 'm': p.my_id = optarg; break;
		case 'u': p.username = optarg; break;
		case 't': p.timeout = atof(optarg); break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 4)
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rd_crypto_init() != RD_OK)
		sp_die("libsodium", NULL);
	if (rd_net_addr_parse_numeric(argv[0], 0, &p.addr) != RD_OK)
		usage();
	if (rd_pk_from_b64(argv[2], p.pk) != RD_OK)
		sp_die("bad public key", argv[2]);
	p.id = argv[1];
	for (int i = 3; i < argc; i++)
		p.small_rcvbuf |= !strcmp(argv[i], "flood");
	rd_buf_init(&p.in, 0);
	for (int i = 3; i < argc;) {
		int used = sp_step(&p, argc - i, argv + i);
		if (!used)
			usage();
		i += used;
	}
	sp_disconnect(&p);
	rd_buf_free(&p.in);
	free(p.login_error);
	return 0;
}

/* agent-peer: a controller for tests that talks to rd-agent's direct port
 * from a chosen source address, with the strings a hostile peer would pick.
 * It runs the real handshake (common/handshake) and password login; results
 * go to stdout as key=value lines.
 *
 *   agent-peer -a ADDR:PORT -i AGENT_ID -K AGENT_DATA_DIR [-l LOCAL_IP]
 *              [-m MY_ID] [-u USERNAME] [-t SECS] COMMAND ...
 *     login PASSWORD [CLOSE_REASON]  one LoginRequest; prints result=ok|error,
 *                                    error=TEXT, secs= (time to the answer);
 *                                    after it sends Misc.close_reason if given
 *     spam PASSWORD SECS             logins with PASSWORD, three per
 *                                    connection, for SECS; prints answered=,
 *                                    refused=, slowest= (s)
 *     close REASON                   Misc.close_reason right after the handshake
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "handshake.h"
#include "net.h"
#include "pb.h"
#include "util.h"

struct peer {
	int fd;
	struct rd_crypto_stream cs;
	bool crypto;
	uint8_t in[1 << 16];
	size_t have;
	char salt[64], challenge[16];
};

static struct rd_sockaddr agent_addr, local_ip;
static bool have_local;
static const char *agent_id, *my_id = "agent-peer", *username;
static uint8_t agent_pk[RD_PK_LEN];
static double timeout_secs = 30;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "agent-peer: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
	exit(2);
}

static int send_payload(struct peer *p, const uint8_t *data, size_t len)
{
	struct rd_buf sealed, framed;
	rd_buf_init(&sealed, 0);
	rd_buf_init(&framed, 0);
	int rc = p->crypto ? rd_crypto_seal(&p->cs, data, len, &sealed) : rd_buf_put(&sealed, data, len);
	if (rc == RD_OK)
		rc = rd_frame_append(&framed, rd_buf_ptr(&sealed), rd_buf_size(&sealed));
	if (rc == RD_OK && write(p->fd, rd_buf_ptr(&framed), rd_buf_size(&framed)) != (ssize_t)rd_buf_size(&framed))
		rc = RD_ERR_IO;
	rd_buf_free(&sealed);
	rd_buf_free(&framed);
	return rc;
}

static int send_msg(struct peer *p, const Hbb__Message *m)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = rd_pb_pack(&m->base, &buf, &len);
	if (rc == RD_OK)
		rc = send_payload(p, buf, len);
	free(buf);
	return rc;
}

/* Next frame payload (decrypted) into out within secs; RD_ERR_TIMEOUT, RD_ERR_EOF. */
static int recv_payload(struct peer *p, struct rd_buf *out, double secs)
{
	double end = rd_now() + secs;
	for (;;) {
		const uint8_t *pl;
		size_t plen, used;
		int rc = rd_frame_next(p->in, p->have, sizeof(p->in) - 8, &pl, &plen, &used);
		if (rc == RD_OK) {
			rd_buf_reset(out);
			rc = p->crypto ? rd_crypto_open(&p->cs, pl, plen, out) : rd_buf_put(out, pl, plen);
			memmove(p->in, p->in + used, p->have - used);
			p->have -= used;
			return rc;
		}
		if (rc != RD_ERR_TRUNCATED)
			return rc;
		double left = end - rd_now();
		if (left <= 0)
			return RD_ERR_TIMEOUT;
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		ssize_t n = read(p->fd, p->in + p->have, sizeof(p->in) - p->have);
		if (n <= 0)
			return RD_ERR_EOF;
		p->have += (size_t)n;
	}
}

/* Next Message that is not a TestDelay, Misc.permission_info or the like. */
static Hbb__Message *recv_msg(struct peer *p, double secs)
{
	struct rd_buf b;
	rd_buf_init(&b, 0);
	Hbb__Message *m = NULL;
	double end = rd_now() + secs;
	while (!m && rd_now() < end) {
		if (recv_payload(p, &b, end - rd_now()) != RD_OK)
			break;
		m = rd_pb_message_unpack(rd_buf_ptr(&b), rd_buf_size(&b));
		if (m && m->union_case != HBB__MESSAGE__UNION_HASH &&
			m->union_case != HBB__MESSAGE__UNION_LOGIN_RESPONSE &&
			m->union_case != HBB__MESSAGE__UNION_MISC) {
			hbb__message__free_unpacked(m, NULL);
			m = NULL;
		}
	}
	rd_buf_free(&b);
	return m;
}

/* Connect, run the handshake and wait for the Hash. */
static int peer_open(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = rd_net_tcp_connect_wait(&agent_addr, have_local ? &local_ip : NULL, 5);
	if (p->fd < 0)
		return RD_ERR_IO;
	struct rd_buf b;
	rd_buf_init(&b, 0);
	int rc = recv_payload(p, &b, 10);
	struct rd_handshake *h = rd_handshake_ctl_new(agent_id, agent_pk, RD_FEAT_KDF);
	uint8_t *reply = NULL;
	size_t rlen = 0;
	if (rc == RD_OK)
		rc = rd_handshake_ctl_on_signed_id(h, rd_buf_ptr(&b), rd_buf_size(&b), &reply, &rlen);
	if (rc == RD_OK)
		rc = send_payload(p, reply, rlen);
	if (rc == RD_OK)
		rc = rd_handshake_stream(h, &p->cs);
	p->crypto = rc == RD_OK;
	free(reply);
	rd_handshake_free(h);
	rd_buf_free(&b);
	if (rc != RD_OK)
		return rc;
	Hbb__Message *m = recv_msg(p, 10);
	if (!m || m->union_case != HBB__MESSAGE__UNION_HASH) {
		if (m)
			hbb__message__free_unpacked(m, NULL);
		return RD_ERR_PROTO;
	}
	rd_strlcpy(p->salt, m->hash->salt ? m->hash->salt : "", sizeof(p->salt));
	rd_strlcpy(p->challenge, m->hash->challenge ? m->hash->challenge : "", sizeof(p->challenge));
	hbb__message__free_unpacked(m, NULL);
	return RD_OK;
}

static void peer_close(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	rd_crypto_stream_wipe(&p->cs);
}

static int send_close_reason(struct peer *p, const char *reason)
{
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_CLOSE_REASON;
	misc.close_reason = (char *)reason;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	return send_msg(p, &m);
}

/* One LoginRequest; *error gets the agent's error text (malloc'd) or NULL on
 * success. RD_ERR_TIMEOUT / RD_ERR_EOF when no answer came. */
static int do_login(struct peer *p, const char *password, char **error)
{
	uint8_t h1[32], resp[32];
	rd_pw_hash1(password, p->salt, h1);
	rd_pw_response(h1, p->challenge, resp);
	Hbb__SupportedDecoding dec = HBB__SUPPORTED_DECODING__INIT;
	dec.ability_vp9 = 1;
	Hbb__OptionMessage opt = HBB__OPTION_MESSAGE__INIT;
	opt.supported_decoding = &dec;
	Hbb__LoginRequest lr = HBB__LOGIN_REQUEST__INIT;
	lr.username = (char *)(username ? username : agent_id);
	lr.my_id = (char *)my_id;
	lr.my_name = (char *)"agent-peer";
	lr.password.data = resp;
	lr.password.len = sizeof(resp);
	lr.option = &opt;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_LOGIN_REQUEST;
	m.login_request = &lr;
	*error = NULL;
	int rc = send_msg(p, &m);
	if (rc != RD_OK)
		return rc;
	for (;;) {
		Hbb__Message *r = recv_msg(p, timeout_secs);
		if (!r)
			return RD_ERR_TIMEOUT;
		if (r->union_case == HBB__MESSAGE__UNION_LOGIN_RESPONSE) {
			const Hbb__LoginResponse *lrsp = r->login_response;
			if (lrsp->union_case != HBB__LOGIN_RESPONSE__UNION_PEER_INFO)
				*error = xstrdup(lrsp->union_case == HBB__LOGIN_RESPONSE__UNION_ERROR && lrsp->error
					? lrsp->error : "?");
			hbb__message__free_unpacked(r, NULL);
			return RD_OK;
		}
		bool closed = r->union_case == HBB__MESSAGE__UNION_MISC &&
			r->misc->union_case == HBB__MISC__UNION_CLOSE_REASON;
		hbb__message__free_unpacked(r, NULL);
		if (closed)
			return RD_ERR_EOF;
	}
}

static int cmd_login(const char *password, const char *close_reason)
{
	struct peer p;
	int rc = peer_open(&p);
	if (rc != RD_OK) {
		printf("result=no-session\nwhy=%s\n", rd_strerror(rc));
		return 1;
	}
	double t0 = rd_now();
	char *err = NULL;
	rc = do_login(&p, password, &err);
	if (rc != RD_OK)
		printf("result=no-answer\nwhy=%s\n", rd_strerror(rc));
	else if (err)
		printf("result=error\nerror=%s\n", err);
	else
		printf("result=ok\n");
	printf("secs=%.2f\n", rd_now() - t0);
	if (close_reason && rc == RD_OK && send_close_reason(&p, close_reason) == RD_OK) {
		/* Let it arrive: closing with unread video would reset the connection. */
		shutdown(p.fd, SHUT_WR);
		char sink[4096];
		double end = rd_now() + 2;
		struct pollfd pf = { .fd = p.fd, .events = POLLIN };
		while (rd_now() < end && poll(&pf, 1, 100) >= 0)
			if ((pf.revents & POLLIN) && read(p.fd, sink, sizeof(sink)) <= 0)
				break;
	}
	free(err);
	peer_close(&p);
	return rc == RD_OK && !err ? 0 : 1;
}

static int cmd_spam(const char *password, double secs)
{
	double end = rd_now() + secs, slowest = 0;
	unsigned answered = 0, refused = 0, sessions = 0;
	while (rd_now() < end) {
		struct peer p;
		if (peer_open(&p) != RD_OK) {
			peer_close(&p);
			refused++;
			usleep(100 * 1000);
			continue;
		}
		sessions++;
		for (int i = 0; i < 3 && rd_now() < end; i++) {
			char *err = NULL;
			double t0 = rd_now();
			int rc = do_login(&p, password, &err);
			if (rd_now() - t0 > slowest)
				slowest = rd_now() - t0;
			bool wrong = rc == RD_OK && err && !strcmp(err, "Wrong Password");
			if (rc == RD_OK)
				answered++;
			if (!wrong)
				refused += rc != RD_OK || err;
			free(err);
			if (!wrong) {
				usleep(200 * 1000); /* refused: do not spin */
				break;
			}
		}
		peer_close(&p);
	}
	printf("answered=%u\nrefused=%u\nsessions=%u\nslowest=%.1f\n", answered, refused, sessions, slowest);
	return 0;
}

static int cmd_close(const char *reason)
{
	struct peer p;
	int rc = peer_open(&p);
	if (rc == RD_OK)
		rc = send_close_reason(&p, reason);
	usleep(200 * 1000);
	peer_close(&p);
	printf("result=%s\n", rc == RD_OK ? "sent" : rd_strerror(rc));
	return rc == RD_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *data_dir = NULL;
	int o;
	signal(SIGPIPE, SIG_IGN);
	if (rd_crypto_init() != RD_OK)
		die("libsodium", NULL);
	while ((o = getopt(argc, argv, "a:i:K:l:m:u:t:")) != -1) {
		switch (o) {
		case 'a':
			if (rd_net_addr_parse_numeric(optarg, 0, &agent_addr) != RD_OK)
				die("bad -a", optarg);
			break;
		case 'i': agent_id = optarg; break;
		case 'K': data_dir = optarg; break;
		case 'l':
			if (rd_net_addr_parse_numeric(optarg, 0, &local_ip) != RD_OK)
				die("bad -l", optarg);
			have_local = true;
			break;
		case 'm': my_id = optarg; break;
		case 'u': username = optarg; break;
		case 't': timeout_secs = atof(optarg); break;
		default: die("usage: see the comment at the top of test/tools/agent-peer.c", NULL);
		}
	}
	if (!agent_id || !data_dir || optind >= argc)
		die("need -a, -i, -K and a command", NULL);
	struct rd_keypair kp;
	if (rd_key_load(data_dir, &kp) != RD_OK)
		die("cannot load the agent's key from", data_dir);
	memcpy(agent_pk, kp.pk, RD_PK_LEN);
	rd_keypair_wipe(&kp);
	const char *cmd = argv[optind];
	int n = argc - optind - 1;
	char **a = argv + optind + 1;
	if (!strcmp(cmd, "login") && n >= 1)
		return cmd_login(a[0], n >= 2 ? a[1] : NULL);
	if (!strcmp(cmd, "spam") && n == 2)
		return cmd_spam(a[0], atof(a[1]));
	if (!strcmp(cmd, "close") && n == 1)
		return cmd_close(a[0]);
	die("unknown command", cmd);
}

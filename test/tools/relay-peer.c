/* relay-peer: a test client for rd-relay. It plays both peers of many pairs
 * and checks every byte that comes through.
 *
 *   relay-peer [-a ADDR:PORT] [-l LOCAL_IP] [-k KEY] [-s SK [-R ROLE] [-e SECS] [-U UUID]]
 *              [-t SECS] COMMAND ...
 *   -l LOCAL_IP: source address of every connection
 *   -s SK: sign a relay token for each connection with this base64 secret key
 *   (the rendezvous server's, or another one for a forgery); the two sides of
 *   a pair get roles 1 and 2, `request` gets -R (default 1); -e sets the
 *   expiry, in seconds from now (default 60; negative: expired); -U signs for
 *   another uuid than the one sent.
 *   pairs N BYTES [C]   N pairs (C at once, default all); each side sends BYTES
 *                       of a seeded pseudo-random stream right after its
 *                       RequestRelay, then shuts down writing; each side must
 *                       receive exactly the peer's stream and then EOF.
 *   halfclose BYTES     A sends BYTES and shuts down writing; B must see all of
 *                       it and EOF before it answers with BYTES and closes; A
 *                       must receive them and EOF.
 *   request UUID        send one RequestRelay (with -k's key, or none, and
 *                       -s's token) and wait
 *                       up to -t seconds: prints "closed SECS" or "open".
 *   raw HEX             send these bytes (may be empty), then wait like request.
 *   garbage N           send N random bytes, then wait like request.
 *   third               pair A and B on a uuid, then a third connection on the
 *                       same uuid must be closed while A and B still talk.
 *   abort               pair; A resets its connection; B must be closed
 *                       promptly: prints "closed SECS" or "open".
 *   stall SECS          pair; A writes as fast as it can for SECS seconds while
 *                       B never reads; prints the bytes A got rid of.
 * Exit status 0 when the command's check passed, 1 otherwise, 2 on usage. */
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
#include "err.h"
#include "net.h"
#include "pb.h"
#include "relaytoken.h"
#include "util.h"

#include "relay-peer.h"

struct rd_sockaddr relay_addr;
static struct rd_sockaddr local_addr; /* -l: source address of every connection */
static bool have_local;
const char *licence_key;
bool have_sign_key;
static struct rd_keypair sign_kp;
static int request_role = RD_RELAY_ROLE_CONTROLLER;
static double token_expiry = 60;
static const char *token_uuid;
double timeout_secs = 30;
char run_id[16];

/* ---- the data: xorshift64* streams, one per (pair, side) ---- */


void stream_init(struct stream *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
	if (!s->state)
		s->state = 1;
}

static uint64_t stream_next(struct stream *s)
{
	s->state ^= s->state >> 12;
	s->state ^= s->state << 25;
	s->state ^= s->state >> 27;
	return s->state * 0x2545F4914F6CDD1Dull;
}

/* Fill p with the next n bytes of the stream. */
void stream_fill(struct stream *s, uint8_t *p, size_t n)
{
	while (n && s->nspare) {
		*p++ = s->spare[8 - s->nspare--];
		n--;
	}
	while (n >= 8) {
		uint64_t v = stream_next(s);
		memcpy(p, &v, 8);
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = stream_next(s);
		memcpy(s->spare, &v, 8);
		s->nspare = 8;
		while (n--)
			*p++ = s->spare[8 - s->nspare--];
	}
}

void sum_update(uint64_t *sum, const uint8_t *p, size_t n)
{
	uint64_t h = *sum;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001B3ull;
	*sum = h;
}

/* ---- connections ---- */

static int send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	double deadline = rd_now() + timeout_secs;
	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k > 0) {
			b += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && rd_now() < deadline) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			poll(&pf, 1, 100);
			continue;
		}
		return -1;
	}
	return 0;
}

size_t request_frame(const char *uuid, const char *key, int role, uint8_t *out, size_t outsz)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RequestRelay rr = HBB__REQUEST_RELAY__INIT;
	uint8_t tok[RD_RELAY_TOKEN_LEN];
	struct rd_buf b;
	rr.uuid = (char *)uuid;
	rr.id = (char *)"123456789";
	if (key)
		rr.licence_key = (char *)key;
	if (have_sign_key) {
		int64_t expiry = rd_wall_ms() / 1000 + (int64_t)token_expiry;
		if (rd_relay_token_sign(token_uuid ? token_uuid : uuid, (enum rd_relay_role)role, expiry,
			sign_kp.sk, tok) != RD_OK)
			return 0;
		rr.rdesk_relay_token = (ProtobufCBinaryData){ sizeof(tok), tok };
	}
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rr;
	uint8_t *payload;
	size_t plen, n = 0;
	if (rd_pb_pack(&m.base, &payload, &plen) != RD_OK)
		return 0;
	rd_buf_init(&b, 0);
	if (rd_frame_append(&b, payload, plen) == RD_OK && rd_buf_size(&b) <= outsz) {
		n = rd_buf_size(&b);
		memcpy(out, rd_buf_ptr(&b), n);
	}
	rd_buf_free(&b);
	free(payload);
	return n;
}

int connect_relay(void)
{
	int fd = rd_net_tcp_connect_wait(&relay_addr, have_local ? &local_addr : NULL, timeout_secs);
	if (fd < 0) {
		fprintf(stderr, "relay-peer: connect: %s\n", strerror(errno));
		return -1;
	}
	rd_net_set_nodelay(fd);
	return fd;
}

/* Connect and send RequestRelay(uuid); blocking socket. */
static int connect_request(const char *uuid, int role)
{
	uint8_t frame[1024];
	size_t n = request_frame(uuid, licence_key, role, frame, sizeof(frame));
	int fd = connect_relay();
	if (fd < 0)
		return -1;
	rd_net_set_nonblock(fd, false);
	if (send_all(fd, frame, n) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait until the relay closes fd (EOF or reset), reading and dropping data.
 * Returns seconds waited, or a negative value when still open after secs. */
static double wait_closed(int fd, double secs)
{
	double t0 = rd_now(), end = t0 + secs;
	uint8_t buf[4096];
	for (;;) {
		double left = end - rd_now();
		if (left <= 0)
			return -1;
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int r = poll(&pf, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			return rd_now() - t0;
	}
}

static int report_wait(int fd)
{
	double w = wait_closed(fd, timeout_secs);
	close(fd);
	if (w < 0) {
		printf("open\n");
		return 1;
	}
	printf("closed %.2f\n", w);
	return 0;
}

/* ---- single scenarios ---- */

static int cmd_third(void)
{
	char uuid[64], buf[8];
	snprintf(uuid, sizeof(uuid), "%s-third", run_id);
	int a = connect_request(uuid, RD_RELAY_ROLE_CONTROLLER);
	int b = connect_request(uuid, RD_RELAY_ROLE_AGENT);
	if (a < 0 || b < 0)
		return 1;
	struct timeval tv = { .tv_sec = (time_t)timeout_secs };
	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send_all(a, "ping", 4) < 0 || recv(b, buf, 4, MSG_WAITALL) != 4 || memcmp(buf, "ping", 4)) {
		printf("pair did not work\n");
		return 1;
	}
	int c = connect_request(uuid, RD_RELAY_ROLE_AGENT);
	double w = c >= 0 ? wait_closed(c, timeout_secs) : -1;
	if (c >= 0)
		close(c);
	if (w < 0) {
		printf("third connection stayed open\n");
		return 1;
	}
	if (send_all(b, "pong", 4) < 0 || recv(a, buf, 4, MSG_WAITALL) != 4 || memcmp(buf, "pong", 4)) {
		printf("pair broken after the third connection\n");
		return 1;
	}
	printf("third closed %.2f, pair still works\n", w);
	close(a);
	close(b);
	return 0;
}

/* A resets its connection (SO_LINGER 0) after B got its bytes: B must be
 * told (FIN) at once, not after the idle timeout. */
static int cmd_abort(void)
{
	char uuid[64], buf[5];
	snprintf(uuid, sizeof(uuid), "%s-abort", run_id);
	int a = connect_request(uuid, RD_RELAY_ROLE_CONTROLLER);
	int b = connect_request(uuid, RD_RELAY_ROLE_AGENT);
	if (a < 0 || b < 0)
		return 1;
	struct timeval tv = { .tv_sec = (time_t)timeout_secs };
	setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send_all(a, "hello", 5) < 0 || recv(b, buf, 5, MSG_WAITALL) != 5) {
		printf("pair did not work\n");
		return 1;
	}
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(a);
	return report_wait(b);
}

static int cmd_stall(double secs)
{
	char uuid[64];
	static uint8_t chunk[65536];
	snprintf(uuid, sizeof(uuid), "%s-stall", run_id);
	int a = connect_request(uuid, RD_RELAY_ROLE_CONTROLLER);
	int b = connect_request(uuid, RD_RELAY_ROLE_AGENT);
	if (a < 0 || b < 0)
		return 1;
	rd_net_set_nonblock(a, true);
	uint64_t sent = 0;
	double end = rd_now() + secs, last_report = 0;
	while (rd_now() < end) {
		ssize_t k = send(a, chunk, sizeof(chunk), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			sent += (uint64_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			printf("send failed: %s\n", strerror(errno));
			return 1;
		}
		struct pollfd pf = { .fd = a, .events = POLLOUT };
		poll(&pf, 1, 100);
		if (rd_now() - last_report >= 1) {
			printf("sent %llu\n", (unsigned long long)sent);
			fflush(stdout);
			last_report = rd_now();
		}
	}
	printf("sent %llu\n", (unsigned long long)sent);
	close(a);
	close(b);
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int cmd_raw(const uint8_t *p, size_t n)
{
	int fd = connect_relay();
	if (fd < 0)
		return 1;
	rd_net_set_nonblock(fd, false);
	if (n && send_all(fd, p, n) < 0) {
		printf("closed 0.00\n");
		close(fd);
		return 0;
	}
	return report_wait(fd);
}

static void usage(void)
{
	fprintf(stderr, "usage: relay-peer [-a ADDR:PORT] [-l LOCAL_IP] [-k KEY] "
		"[-s SK [-R 1|2] [-e SECS] [-U UUID]] [-t SECS] "
		"pairs N BYTES [C] | halfclose BYTES | request UUID | raw HEX | garbage N | "
		"third | abort | stall SECS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1:21117";
	int i = 1;
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "-a"))
			addr = argv[++i];
		else if (!strcmp(argv[i], "-k"))
			licence_key = argv[++i];
		else if (!strcmp(argv[i], "-l")) {
			if (rd_net_addr_parse_numeric(argv[++i], 0, &local_addr) != RD_OK)
				usage();
			rd_net_addr_set_port(&local_addr, 0);
			have_local = true;
		}
		else if (!strcmp(argv[i], "-t"))
			timeout_secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "-s")) {
			if (rd_key_from_b64_sk(argv[++i], &sign_kp) != RD_OK)
				usage();
			have_sign_key = true;
		} else if (!strcmp(argv[i], "-R"))
			request_role = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-e"))
			token_expiry = atof(argv[++i]);
		else if (!strcmp(argv[i], "-U"))
			token_uuid = argv[++i];
		else
			usage();
	}
	if (i >= argc || rd_net_addr_parse_numeric(addr, 21117, &relay_addr) != RD_OK)
		usage();
	{
		uint8_t r[6];
		randombytes_buf(r, sizeof(r));
		for (int k = 0; k < 6; k++)
			snprintf(run_id + 2 * k, 3, "%02x", r[k]);
	}
	const char *cmd = argv[i++];
	int left = argc - i;
	if (!strcmp(cmd, "pairs") && (left == 2 || left == 3))
		return run_pairs((unsigned)atoi(argv[i]), strtoull(argv[i + 1], NULL, 0),
			left == 3 ? (unsigned)atoi(argv[i + 2]) : 0, false);
	if (!strcmp(cmd, "halfclose") && left == 1)
		return run_pairs(1, strtoull(argv[i], NULL, 0), 0, true);
	if (!strcmp(cmd, "request") && left == 1) {
		int fd = connect_request(argv[i], request_role);
		return fd < 0 ? 1 : report_wait(fd);
	}
	if (!strcmp(cmd, "raw") && left == 1) {
		size_t n = strlen(argv[i]) / 2;
		uint8_t *p = xmalloc(n + 1);
		for (size_t k = 0; k < n; k++) {
			int hi = hexval(argv[i][2 * k]), lo = hexval(argv[i][2 * k + 1]);
			if (hi < 0 || lo < 0)
				usage();
			p[k] = (uint8_t)(hi << 4 | lo);
		}
		int rc = cmd_raw(p, n);
		free(p);
		return rc;
	}
	if (!strcmp(cmd, "garbage") && left == 1) {
		size_t n = (size_t)atoi(argv[i]);
		struct rd_buf b;
		uint8_t *junk = xmalloc(n + 1);
		randombytes_buf(junk, n);
		rd_buf_init(&b, 0);
		rd_frame_append(&b, junk, n);
		int rc = cmd_raw(rd_buf_ptr(&b), rd_buf_size(&b));
		rd_buf_free(&b);
		free(junk);
		return rc;
	}
	if (!strcmp(cmd, "abort") && left == 0)
		return cmd_abort();
	if (!strcmp(cmd, "third") && left == 0)
		return cmd_third();
	if (!strcmp(cmd, "stall") && left == 1)
		return cmd_stall(atof(argv[i]));
	usage();
	return 2;
}

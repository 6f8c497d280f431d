/* conn-hold: many slow TCP connections from one source address, for the
 * tests of the servers' per-source limits.
 *
 *   conn-hold [-l LOCAL_IP] [-n N] [-t SECS] [-m MODE] [-r RATE] [-k KEY] ADDR:PORT
 *
 * N connections (default 1000) are opened at once, non-blocking, from
 * LOCAL_IP (default: the kernel's choice) and held for SECS (default 10).
 * What each one sends depends on MODE:
 *   silent   nothing
 *   hb       an empty frame (a heartbeat) every second
 *   relay    one RequestRelay with a uuid of its own (and KEY as licence_key
 *            when given), then nothing
 * A connection the server closes is opened again one second later while
 * RATE (default 0: never) allows, at most RATE reopenings per second in
 * total, so the pressure lasts. One status line a second on stdout:
 *   t=SECS attempts=A connected=C open=O closed=X failed=F
 * and, once all of the first N connects have finished one way or the other,
 *   round1 connected=C failed=F t=SECS
 * Exit status 0, 2 on usage. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "err.h"
#include "net.h"
#include "pb.h"
#include "util.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum mode { MODE_SILENT, MODE_HB, MODE_RELAY };
enum slot_state { S_IDLE, S_CONNECTING, S_OPEN };

struct slot {
	int fd;
	enum slot_state st;
	unsigned gen;
	double reopen_at;   /* 0: not scheduled */
};

struct hold {
	struct rd_sockaddr dst, local;
	bool have_local;
	enum mode mode;
	const char *key;
	unsigned n;
	double rate;
	int ep;
	struct slot *s;
	unsigned long attempts, connected, closed, failed;
	unsigned open, first_pending, first_connected, first_failed;
	bool round1_done;
	double tokens;
};

static void usage(void)
{
	fprintf(stderr, "usage: conn-hold [-l LOCAL_IP] [-n N] [-t SECS] [-m silent|hb|relay] "
		"[-r RATE] [-k KEY] ADDR:PORT\n");
	exit(2);
}

static void raise_nofile(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want + 64) {
		rl.rlim_cur = rl.rlim_max < want + 64 ? rl.rlim_max : want + 64;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static size_t relay_frame(const struct hold *h, unsigned i, uint8_t *out, size_t outsz)
{
	char uuid[64];
	snprintf(uuid, sizeof(uuid), "hold-%d-%u-%u", (int)getpid(), i, h->s[i].gen);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RequestRelay rr = HBB__REQUEST_RELAY__INIT;
	rr.uuid = uuid;
	rr.id = (char *)"123456789";
	rr.licence_key = (char *)h->key;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rr;
	uint8_t *payload;
	size_t plen, n = 0;
	if (rd_pb_pack(&m.base, &payload, &plen) != RD_OK)
		return 0;
	struct rd_buf b;
	rd_buf_init(&b, 0);
	if (rd_frame_append(&b, payload, plen) == RD_OK && rd_buf_size(&b) <= outsz) {
		n = rd_buf_size(&b);
		memcpy(out, rd_buf_ptr(&b), n);
	}
	rd_buf_free(&b);
	free(payload);
	return n;
}

static void slot_close(struct hold *h, unsigned i, double now, bool was_open)
{
	struct slot *s = &h->s[i];
	if (s->fd >= 0)
		close(s->fd);
	if (s->st == S_CONNECTING && s->gen == 0 && h->first_pending) {
		h->first_pending--;
		h->first_failed++;
	}
	if (was_open) {
		h->open--;
		h->closed++;
	} else {
		h->failed++;
	}
	s->fd = -1;
	s->st = S_IDLE;
	s->gen++;
	s->reopen_at = h->rate > 0 ? now + 1.0 : 0;
}

static void slot_opened(struct hold *h, unsigned i, double now)
{
	struct slot *s = &h->s[i];
	if (s->gen == 0 && h->first_pending) {
		h->first_pending--;
		h->first_connected++;
	}
	s->st = S_OPEN;
	h->open++;
	h->connected++;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = i };
	epoll_ctl(h->ep, EPOLL_CTL_MOD, s->fd, &ev);
	if (h->mode == MODE_RELAY) {
		uint8_t f[512];
		size_t n = relay_frame(h, i, f, sizeof(f));
		if (!n || send(s->fd, f, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n)
			slot_close(h, i, now, true);
	}
}

static void slot_open(struct hold *h, unsigned i, double now)
{
	struct slot *s = &h->s[i];
	int one = 1;
	h->attempts++;
	s->reopen_at = 0;
	s->fd = socket(h->dst.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		s->st = S_CONNECTING; /* so that slot_close counts the first round */
		slot_close(h, i, now, false);
		return;
	}
	if (h->have_local) {
		/* The port is picked at connect time, so three holders from one
		 * address to three ports do not share one range of ports. */
		(void)setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(s->fd, &h->local.u.sa, h->local.len) != 0) {
			s->st = S_CONNECTING;
			slot_close(h, i, now, false);
			return;
		}
	}
	s->st = S_CONNECTING;
	int rc = connect(s->fd, &h->dst.u.sa, h->dst.len);
	if (rc != 0 && errno != EINPROGRESS) {
		slot_close(h, i, now, false);
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
	epoll_ctl(h->ep, EPOLL_CTL_ADD, s->fd, &ev);
	if (rc == 0)
		slot_opened(h, i, now);
}

static void on_event(struct hold *h, unsigned i, uint32_t events, double now)
{
	struct slot *s = &h->s[i];
	if (s->st == S_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err)
			slot_close(h, i, now, false);
		else
			slot_opened(h, i, now);
		return;
	}
	if (s->st != S_OPEN)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		uint8_t buf[4096];
		ssize_t k = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			slot_close(h, i, now, true);
	}
}

static void heartbeat(struct hold *h, double now)
{
	static const uint8_t zero = 0;
	for (unsigned i = 0; i < h->n; i++) {
		struct slot *s = &h->s[i];
		if (s->st == S_OPEN && send(s->fd, &zero, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN)
			slot_close(h, i, now, true);
	}
}

static void reopen(struct hold *h, double now, double dt)
{
	h->tokens += dt * h->rate;
	if (h->tokens > h->rate)
		h->tokens = h->rate;
	for (unsigned i = 0; i < h->n && h->tokens >= 1; i++) {
		struct slot *s = &h->s[i];
		if (s->st == S_IDLE && s->reopen_at > 0 && s->reopen_at <= now) {
			h->tokens -= 1;
			slot_open(h, i, now);
		}
	}
}

static void status(const struct hold *h, double t)
{
	printf("t=%.1f attempts=%lu connected=%lu open=%u closed=%lu failed=%lu\n", t, h->attempts,
		h->connected, h->open, h->closed, h->failed);
	fflush(stdout);
}

static void parse_args(struct hold *h, double *secs, int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (i + 1 >= argc)
			usage();
		const char *o = argv[i], *v = argv[++i];
		if (!strcmp(o, "-l")) {
			if (rd_net_addr_parse_numeric(v, 0, &h->local) != RD_OK)
				usage();
			rd_net_addr_set_port(&h->local, 0);
			h->have_local = true;
		} else if (!strcmp(o, "-n")) {
			h->n = (unsigned)atoi(v);
		} else if (!strcmp(o, "-t")) {
			*secs = atof(v);
		} else if (!strcmp(o, "-r")) {
			h->rate = atof(v);
		} else if (!strcmp(o, "-k")) {
			h->key = v;
		} else if (!strcmp(o, "-m")) {
			if (!strcmp(v, "silent"))
				h->mode = MODE_SILENT;
			else if (!strcmp(v, "hb"))
				h->mode = MODE_HB;
			else if (!strcmp(v, "relay"))
				h->mode = MODE_RELAY;
			else
				usage();
		} else {
			usage();
		}
	}
	if (i + 1 != argc || rd_net_addr_parse_numeric(argv[i], 0, &h->dst) != RD_OK ||
	    !rd_net_addr_port(&h->dst) || h->n == 0 || h->n > 1000000 || *secs <= 0 || *secs > 3600)
		usage();
}

int main(int argc, char **argv)
{
	struct hold h = { .n = 1000 };
	double secs = 10;
	signal(SIGPIPE, SIG_IGN);
	parse_args(&h, &secs, argc, argv);
	raise_nofile(h.n);
	h.ep = epoll_create1(EPOLL_CLOEXEC);
	h.s = xcalloc(h.n, sizeof(*h.s));
	double t0 = rd_now(), now = t0, last = t0, next_hb = t0 + 1, next_status = t0 + 1;
	h.first_pending = h.n;
	for (unsigned i = 0; i < h.n; i++) {
		h.s[i].fd = -1;
		slot_open(&h, i, now);
	}
	struct epoll_event evs[256];
	while ((now = rd_now()) < t0 + secs) {
		if (!h.round1_done && h.first_pending == 0) {
			h.round1_done = true;
			printf("round1 connected=%u failed=%u t=%.2f\n", h.first_connected, h.first_failed,
				now - t0);
			fflush(stdout);
		}
		int k = epoll_wait(h.ep, evs, 256, 50);
		now = rd_now();
		for (int e = 0; e < k; e++)
			on_event(&h, evs[e].data.u32, evs[e].events, now);
		if (h.mode == MODE_HB && now >= next_hb) {
			heartbeat(&h, now);
			next_hb = now + 1;
		}
		if (h.rate > 0)
			reopen(&h, now, now - last);
		last = now;
		if (now >= next_status) {
			status(&h, now - t0);
			next_status = now + 1;
		}
	}
	status(&h, rd_now() - t0);
	for (unsigned i = 0; i < h.n; i++)
		if (h.s[i].fd >= 0)
			close(h.s[i].fd);
	free(h.s);
	close(h.ep);
	return 0;
}

/* relay-bench: traffic for the relay benchmark. P sender sockets each push
 * BYTES to P receiver sockets, one thread sending and one receiving, through
 * rd-relay (--mode relay: both ends connect with RequestRelay) or through any
 * TCP forwarder or none (--mode proxy: senders connect to --connect, the
 * forwarder connects to our --listen port; point --connect at --listen for a
 * direct loopback connection). Prints bytes, seconds and Gbit/s of the
 * transfer, measured after every connection is set up.
 *
 *   relay-bench --mode relay|proxy --connect ADDR:PORT [--listen PORT]
 *               [--pairs P] [--bytes N] [-k KEY] */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "codec.h"
#include "err.h"
#include "net.h"
#include "pb.h"
#include "util.h"

#define CHUNK (256 * 1024)
#define TIMEOUT 120.0

static int npairs = 1;
static uint64_t nbytes = 1ull << 30;
static int *senders, *receivers;

static void die(const char *what)
{
	fprintf(stderr, "relay-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("send");
		b += k;
		n -= (size_t)k;
	}
}

static void send_request(int fd, const char *uuid, const char *key)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RequestRelay rr = HBB__REQUEST_RELAY__INIT;
	struct rd_buf b;
	uint8_t *payload;
	size_t plen;
	rr.uuid = (char *)uuid;
	if (key)
		rr.licence_key = (char *)key;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rr;
	if (rd_pb_pack(&m.base, &payload, &plen) != RD_OK)
		die("pack");
	rd_buf_init(&b, 0);
	rd_frame_append(&b, payload, plen);
	send_all(fd, rd_buf_ptr(&b), rd_buf_size(&b));
	rd_buf_free(&b);
	free(payload);
}

static int dial(const struct rd_sockaddr *a)
{
	int fd = rd_net_tcp_connect_wait(a, NULL, 10);
	if (fd < 0)
		die("connect");
	rd_net_set_nonblock(fd, false);
	return fd;
}

/* One byte end to end proves the path is up before the clock starts. */
static void probe(int a, int b)
{
	char c;
	send_all(a, "x", 1);
	if (recv(b, &c, 1, MSG_WAITALL) != 1)
		die("probe");
}

static void *sender(void *arg)
{
	(void)arg;
	static uint8_t buf[CHUNK];
	uint64_t *left = calloc((size_t)npairs, sizeof(*left));
	int ep = epoll_create1(EPOLL_CLOEXEC), active = npairs;
	memset(buf, 0x5a, sizeof(buf));
	for (int i = 0; i < npairs; i++) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)i };
		left[i] = nbytes;
		rd_net_set_nonblock(senders[i], true);
		epoll_ctl(ep, EPOLL_CTL_ADD, senders[i], &ev);
	}
	while (active > 0) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 1000);
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			while (left[i]) {
				size_t want = left[i] < CHUNK ? (size_t)left[i] : CHUNK;
				ssize_t w = send(senders[i], buf, want, MSG_NOSIGNAL | MSG_DONTWAIT);
				if (w < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (w <= 0)
					die("send data");
				left[i] -= (uint64_t)w;
			}
			if (!left[i]) {
				epoll_ctl(ep, EPOLL_CTL_DEL, senders[i], NULL);
				shutdown(senders[i], SHUT_WR);
				active--;
			}
		}
	}
	close(ep);
	free(left);
	return NULL;
}

static uint64_t receive_all(double deadline)
{
	static uint8_t buf[CHUNK];
	int ep = epoll_create1(EPOLL_CLOEXEC), active = npairs;
	uint64_t total = 0;
	for (int i = 0; i < npairs; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		rd_net_set_nonblock(receivers[i], true);
		epoll_ctl(ep, EPOLL_CTL_ADD, receivers[i], &ev);
	}
	while (active > 0 && rd_now() < deadline) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 1000);
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			for (;;) {
				ssize_t r = recv(receivers[i], buf, sizeof(buf), MSG_DONTWAIT);
				if (r > 0) {
					total += (uint64_t)r;
					continue;
				}
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				epoll_ctl(ep, EPOLL_CTL_DEL, receivers[i], NULL);
				active--;
				break;
			}
		}
	}
	close(ep);
	return total;
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *connect_to = NULL, *key = NULL;
	int listen_port = 0;
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mode"))
			mode = argv[i + 1];
		else if (!strcmp(argv[i], "--connect"))
			connect_to = argv[i + 1];
		else if (!strcmp(argv[i], "--listen"))
			listen_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--pairs"))
			npairs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--bytes"))
			nbytes = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "-k"))
			key = argv[i + 1];
	}
	struct rd_sockaddr dst;
	if (!mode || !connect_to || npairs < 1 ||
		rd_net_addr_parse_numeric(connect_to, 0, &dst) != RD_OK ||
		(strcmp(mode, "relay") && (strcmp(mode, "proxy") || listen_port <= 0))) {
		fprintf(stderr, "usage: relay-bench --mode relay|proxy --connect ADDR:PORT "
			"[--listen PORT] [--pairs P] [--bytes N] [-k KEY]\n");
		return 2;
	}
	senders = calloc((size_t)npairs, sizeof(int));
	receivers = calloc((size_t)npairs, sizeof(int));
	int lfd = -1;
	if (!strcmp(mode, "proxy")) {
		struct rd_sockaddr la;
		rd_net_addr_parse_numeric("127.0.0.1", (uint16_t)listen_port, &la);
		if ((lfd = rd_net_tcp_listen(&la, 1024, 0)) < 0)
			die("listen");
		rd_net_set_nonblock(lfd, false);
	}
	char tag[13];
	uint8_t r[6];
	randombytes_buf(r, sizeof(r));
	for (int k = 0; k < 6; k++)
		snprintf(tag + 2 * k, 3, "%02x", r[k]);
	for (int i = 0; i < npairs; i++) {
		if (lfd >= 0) {
			senders[i] = dial(&dst);
			receivers[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (receivers[i] < 0)
				die("accept");
		} else {
			char uuid[48];
			snprintf(uuid, sizeof(uuid), "bench-%s-%d", tag, i);
			senders[i] = dial(&dst);
			send_request(senders[i], uuid, key);
			receivers[i] = dial(&dst);
			send_request(receivers[i], uuid, key);
		}
		rd_net_set_nodelay(senders[i]);
		rd_net_set_nodelay(receivers[i]);
		probe(senders[i], receivers[i]);
	}
	pthread_t th;
	double t0 = rd_now();
	if (pthread_create(&th, NULL, sender, NULL) != 0)
		die("thread");
	uint64_t got = receive_all(t0 + TIMEOUT);
	double secs = rd_now() - t0;
	pthread_join(th, NULL);
	uint64_t want = nbytes * (uint64_t)npairs;
	printf("bytes %llu secs %.3f gbps %.2f\n", (unsigned long long)got, secs,
		(double)got * 8 / secs / 1e9);
	return got == want ? 0 : 1;
}

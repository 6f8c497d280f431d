/* rv-peer-hostile: clients that misbehave on purpose (malformed datagrams
 * and frames, oversized frames, silence, connection floods, bursts), and
 * the checks tests run beside a server (database, NOTIFY_SOCKET). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "codec.h"
#include "err.h"
#include "util.h"
#include "rendezvous-server/store.h"
#include "rv-peer.h"

static size_t garbage(uint8_t *buf, size_t max, unsigned i)
{
	static const uint8_t fixed[][8] = {
		{ 0x32, 0x05, 0x0a }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x0b },
		{ 0x32, 0x80, 0x80, 0x80, 0x80, 0x10 }, { 0x7a, 0x03, 0x0a, 0x09, 0x41 },
	};
	if (i % 4 == 0) {
		memcpy(buf, fixed[(i / 4) % RD_ARRAY_LEN(fixed)], 8);
		return 6;
	}
	size_t n = 1 + randombytes_uniform((uint32_t)max);
	randombytes_buf(buf, n);
	buf[0] = (uint8_t)(buf[0] | 0x07); /* wire type 7 does not exist: never valid */
	return n;
}

static int cmd_garbage_udp(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)atoi(argv[0]) : 1000;
	int fd = peer_udp_socket();
	uint8_t buf[1400];
	for (unsigned i = 0; i < n; i++) {
		size_t len = garbage(buf, sizeof(buf), i);
		sendto(fd, buf, len, 0, &peer_srv.u.sa, peer_srv.len);
		if (i % 256 == 255)
			usleep(1000);
	}
	printf("sent=%u\n", n);
	close(fd);
	return 0;
}

static int cmd_garbage_tcp(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)atoi(argv[0]) : 20, closed_n = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rd_sockaddr a = i % 3 == 2 ? peer_port_minus_one() : peer_srv;
		int fd = peer_tcp_dial(&a);
		uint8_t buf[600];
		struct rd_buf b;
		rd_buf_init(&b, 0);
		rd_frame_append(&b, buf, garbage(buf, sizeof(buf), i));
		(void)!write(fd, rd_buf_ptr(&b), rd_buf_size(&b));
		rd_buf_free(&b);
		bool closed;
		Hbb__RendezvousMessage *m = peer_tcp_recv(fd, 3, &closed);
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
		closed_n += closed;
		close(fd);
	}
	printf("closed=%u\n", closed_n);
	return 0;
}

static int cmd_big_tcp(void)
{
	int fd = peer_tcp_dial(&peer_srv);
	uint8_t hdr[RD_FRAME_HDR_MAX], fill[4096] = { 0 };
	size_t h = rd_frame_header_encode(hdr, 100000);
	(void)!write(fd, hdr, h);
	(void)!write(fd, fill, sizeof(fill));
	bool closed;
	Hbb__RendezvousMessage *m = peer_tcp_recv(fd, 5, &closed);
	printf("closed=%d reply=%d\n", closed, m != NULL);
	close(fd);
	return closed ? 0 : 1;
}

static int cmd_silent_tcp(int argc, char **argv)
{
	double secs = argc > 0 ? atof(argv[0]) : 5, t0 = rd_now();
	struct rd_sockaddr nat = peer_port_minus_one();
	int fd = peer_tcp_dial(argc > 1 && !strcmp(argv[1], "nat") ? &nat : &peer_srv);
	bool hb = argc > 2, closed = false;
	double until = t0 + secs;
	/* With hb, a heartbeat (an empty frame) every 0.2 s: not a first message. */
	for (double left = secs; left > 0 && !closed; left = until - rd_now()) {
		if (hb) {
			uint8_t zero = 0;
			(void)!send(fd, &zero, 1, MSG_NOSIGNAL);
		}
		Hbb__RendezvousMessage *m = peer_tcp_recv(fd, hb ? RD_MIN(left, 0.2) : left, &closed);
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
	}
	printf("closed=%d closed_after=%.1f\n", closed, rd_now() - t0);
	close(fd);
	return 0;
}

/* Hold N connections for SECS and count the ones the server closed. Every
 * open one sends a heartbeat (an empty frame) each 0.2 s, so no idle deadline
 * closes it; heartbeats are no first message, so keep SECS under the
 * first-message deadline: what is closed then was refused. */
static int cmd_conns(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)atoi(argv[0]) : 10, closed_n = 0;
	double secs = argc > 1 ? atof(argv[1]) : 3;
	int *fds = xcalloc(n, sizeof(int));
	struct pollfd *p = xcalloc(n, sizeof(*p));
	for (unsigned i = 0; i < n; i++)
		fds[i] = peer_tcp_dial(&peer_srv);
	double end = rd_now() + secs, next_hb = 0;
	for (double now = rd_now(); now < end; now = rd_now()) {
		if (now >= next_hb) {
			uint8_t zero = 0;
			for (unsigned i = 0; i < n; i++)
				if (fds[i] >= 0)
					(void)!send(fds[i], &zero, 1, MSG_NOSIGNAL);
			next_hb = now + 0.2;
		}
		for (unsigned i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(p, n, (int)((RD_MIN(next_hb, end) - now) * 1000) + 1) <= 0)
			continue;
		for (unsigned i = 0; i < n; i++) {
			char c[64];
			if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = recv(fds[i], c, sizeof(c), MSG_DONTWAIT);
			if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
				close(fds[i]);
				fds[i] = -1;
				closed_n++;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(p);
	free(fds);
	printf("opened=%u refused=%u\n", n, closed_n);
	return 0;
}

static int cmd_burst_register(int argc, char **argv)
{
	if (argc < 2)
		peer_die("burst-register ID N", NULL);
	unsigned n = (unsigned)atoi(argv[1]), got = 0;
	int fd = peer_udp_socket();
	for (unsigned i = 0; i < n; i++)
		peer_send_register_peer(fd, argv[0]);
	Hbb__RendezvousMessage *m;
	while ((m = peer_udp_recv(fd, 1))) {
		got++;
		hbb__rendezvous_message__free_unpacked(m, NULL);
	}
	printf("answered=%u\n", got);
	close(fd);
	return 0;
}

static int cmd_many_ids(int argc, char **argv)
{
	if (argc < 2)
		peer_die("many-ids PREFIX N", NULL);
	unsigned n = (unsigned)atoi(argv[1]), counts[16] = { 0 };
	int fd = peer_udp_socket();
	for (unsigned i = 0; i < n; i++) {
		char id[64], uuid[80];
		snprintf(id, sizeof(id), "%s%05u", argv[0], i);
		snprintf(uuid, sizeof(uuid), "uuid-%s", id);
		peer_send_register_pk(fd, id, uuid, id);
		Hbb__RendezvousMessage *m = peer_udp_recv(fd, 2);
		if (m && m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE)
			counts[m->register_pk_response->result & 15]++;
		if (m)
			hbb__rendezvous_message__free_unpacked(m, NULL);
	}
	printf("ok=%u too_frequent=%u\n", counts[0], counts[4]);
	close(fd);
	return 0;
}

static int cmd_db_check(int argc, char **argv)
{
	struct rv_store *st;
	size_t count = 0;
	if (argc < 1 || rv_store_open(argv[0], &st) != RD_OK)
		return 1;
	int rc = rv_store_check(st, &count);
	printf("db=%s count=%zu\n", rc == RD_OK ? "ok" : "bad", count);
	rv_store_close(st);
	return rc == RD_OK ? 0 : 1;
}

/* A NOTIFY_SOCKET for a server under test: print each notification. */
static int cmd_notify_listen(int argc, char **argv)
{
	if (argc < 2)
		peer_die("notify-listen PATH SECS", NULL);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	rd_strlcpy(sun.sun_path, argv[0], sizeof(sun.sun_path));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		peer_die("notify socket", strerror(errno));
	double until = rd_now() + atof(argv[1]);
	char buf[4096];
	while (rd_now() < until) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			printf("%.3f %s\n", rd_now(), line);
	}
	close(fd);
	unlink(argv[0]);
	return 0;
}

int peer_hostile_command(const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "garbage-udp"))
		return cmd_garbage_udp(argc, argv);
	if (!strcmp(cmd, "garbage-tcp"))
		return cmd_garbage_tcp(argc, argv);
	if (!strcmp(cmd, "big-tcp"))
		return cmd_big_tcp();
	if (!strcmp(cmd, "silent-tcp"))
		return cmd_silent_tcp(argc, argv);
	if (!strcmp(cmd, "conns"))
		return cmd_conns(argc, argv);
	if (!strcmp(cmd, "burst-register"))
		return cmd_burst_register(argc, argv);
	if (!strcmp(cmd, "many-ids"))
		return cmd_many_ids(argc, argv);
	if (!strcmp(cmd, "db-check"))
		return cmd_db_check(argc, argv);
	if (!strcmp(cmd, "notify-listen"))
		return cmd_notify_listen(argc, argv);
	return -1;
}

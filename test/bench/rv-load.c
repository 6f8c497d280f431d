/* rv-load: UDP load generator for the rendezvous benchmark. Bounded in
 * count and time. Many UDP sockets each keep a window of requests in flight
 * and match replies in order (one server, loopback: in-order delivery);
 * a request unanswered for 1 s counts as lost and resets its socket.
 *
 *   rv-load fill  ADDR:PORT N [PREFIX]      RegisterPk for N new IDs; prints rate
 *   rv-load reg   ADDR:PORT N COUNT SECS    RegisterPeer for IDs 0..N-1 (filled
 *                                           before), COUNT requests at most
 *   rv-load stun  ADDR:PORT COUNT SECS      STUN Binding requests (RFC 5389)
 *   rv-load probe ADDR:PORT ID SECS         RegisterPeer until a reply; prints
 *                                           the seconds it took
 * RV_LOAD_WINDOW sets the requests in flight per socket (default 64, fill 8;
 * 32 sockets). Output: key=value lines (rate=, p50_us=, p99_us=, answered=,
 * lost=). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "net.h"
#include "pb.h"
#include "util.h"

#define NSOCK 32
#define WINDOW 256
#define BATCH 64

enum mode { M_FILL, M_REG, M_STUN };

struct sock {
	int fd;
	double sent[WINDOW];   /* FIFO of send times */
	unsigned head, n;
};

struct load {
	enum mode mode;
	struct rd_sockaddr srv;
	const char *prefix;
	uint64_t nids, next_id;
	unsigned window;          /* requests in flight per socket (<= WINDOW) */
	uint64_t budget, sent, answered, lost, bad;
	double *lat;
	size_t nlat, maxlat;
	struct sock s[NSOCK];
};

static size_t build(struct load *L, uint8_t *buf, size_t max)
{
	uint64_t i = L->next_id++ % L->nids;
	if (L->mode == M_STUN) {
		/* Binding Request: type 0x0001, length 0, magic cookie, 96-bit id */
		static const uint8_t hdr[8] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
		memcpy(buf, hdr, 8);
		memcpy(buf + 8, &i, 8);
		memset(buf + 16, 0x5a, 4);
		return 20;
	}
	char id[48];
	snprintf(id, sizeof(id), "%s%09llu", L->prefix, (unsigned long long)i);
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	Hbb__RegisterPk rk = HBB__REGISTER_PK__INIT;
	uint8_t pk[32];
	if (L->mode == M_REG) {
		rp.id = id;
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
		m.register_peer = &rp;
	} else {
		memset(pk, 0x11, sizeof(pk));
		memcpy(pk, &i, sizeof(i));
		rk.id = id;
		rk.uuid = (ProtobufCBinaryData){ strlen(id), (uint8_t *)id };
		rk.pk = (ProtobufCBinaryData){ 32, pk };
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK;
		m.register_pk = &rk;
	}
	size_t n = protobuf_c_message_get_packed_size(&m.base);
	if (n > max)
		return 0;
	return protobuf_c_message_pack(&m.base, buf);
}

static bool reply_ok(const struct load *L, const uint8_t *p, size_t n)
{
	if (L->mode == M_STUN)
		return n >= 20 && p[0] == 0x01 && p[1] == 0x01;
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(p, n);
	bool ok = m && (L->mode == M_REG ?
		m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER_RESPONSE :
		(m->union_case == HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PK_RESPONSE &&
		 m->register_pk_response->result == 0));
	if (m)
		hbb__rendezvous_message__free_unpacked(m, NULL);
	return ok;
}

static void send_some(struct load *L, struct sock *s, unsigned k)
{
	struct mmsghdr msg[WINDOW];
	struct iovec iov[WINDOW];
	uint8_t buf[WINDOW][256];
	unsigned n = 0;
	while (n < k && s->n + n < L->window && L->sent + n < L->budget) {
		size_t len = build(L, buf[n], sizeof(buf[n]));
		iov[n] = (struct iovec){ buf[n], len };
		memset(&msg[n], 0, sizeof(msg[n]));
		msg[n].msg_hdr.msg_iov = &iov[n];
		msg[n].msg_hdr.msg_iovlen = 1;
		n++;
	}
	if (!n)
		return;
	int r = sendmmsg(s->fd, msg, n, 0);
	double now = rd_now();
	for (int i = 0; i < r; i++) {
		s->sent[(s->head + s->n) % WINDOW] = now;
		s->n++;
	}
	if (r > 0)
		L->sent += (uint64_t)r;
}

static void recv_some(struct load *L, struct sock *s)
{
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	static uint8_t buf[BATCH][2048];
	for (unsigned i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	int r = recvmmsg(s->fd, msg, BATCH, MSG_DONTWAIT, NULL);
	double now = rd_now();
	for (int i = 0; i < r; i++) {
		if (!s->n)
			break; /* a late reply after a reset */
		double t = s->sent[s->head];
		s->head = (s->head + 1) % WINDOW;
		s->n--;
		if (!reply_ok(L, buf[i], msg[i].msg_len)) {
			L->bad++;
			continue;
		}
		L->answered++;
		if (L->nlat < L->maxlat)
			L->lat[L->nlat++] = now - t;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run(struct load *L, double secs)
{
	for (int i = 0; i < NSOCK; i++) {
		struct rd_sockaddr any;
		rd_net_addr_any(&any, rd_net_addr_family(&L->srv), 0);
		L->s[i].fd = rd_net_udp_bind(&any, 0);
		if (L->s[i].fd < 0 || connect(L->s[i].fd, &L->srv.u.sa, L->srv.len) < 0) {
			perror("rv-load: socket");
			return 1;
		}
		int sz = 1 << 20;
		setsockopt(L->s[i].fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	L->maxlat = L->budget < 4000000 ? L->budget : 4000000;
	L->lat = xmalloc(L->maxlat * sizeof(double));
	double t0 = rd_now(), until = t0 + secs;
	struct pollfd pfd[NSOCK];
	for (int i = 0; i < NSOCK; i++)
		send_some(L, &L->s[i], WINDOW);
	while (rd_now() < until && (L->answered + L->lost + L->bad < L->sent || L->sent < L->budget)) {
		for (int i = 0; i < NSOCK; i++)
			pfd[i] = (struct pollfd){ .fd = L->s[i].fd, .events = POLLIN };
		int r = poll(pfd, NSOCK, 100);
		double now = rd_now();
		for (int i = 0; i < NSOCK; i++) {
			struct sock *s = &L->s[i];
			if (r > 0 && (pfd[i].revents & POLLIN))
				recv_some(L, s);
			if (s->n && now - s->sent[s->head] > 1.0) {
				L->lost += s->n; /* give up on this window */
				s->n = 0;
				s->head = 0;
			}
			send_some(L, s, WINDOW);
		}
		if (L->sent >= L->budget && L->answered + L->lost + L->bad >= L->sent)
			break;
	}
	double dt = rd_now() - t0;
	qsort(L->lat, L->nlat, sizeof(double), cmp_double);
	double p50 = L->nlat ? L->lat[L->nlat / 2] : 0, p99 = L->nlat ? L->lat[(L->nlat * 99) / 100] : 0;
	printf("sent=%llu\nanswered=%llu\nlost=%llu\nbad=%llu\nsecs=%.3f\nrate=%.0f\np50_us=%.0f\np99_us=%.0f\n",
		(unsigned long long)L->sent, (unsigned long long)L->answered, (unsigned long long)L->lost,
		(unsigned long long)L->bad, dt, L->answered / dt, p50 * 1e6, p99 * 1e6);
	free(L->lat);
	for (int i = 0; i < NSOCK; i++)
		close(L->s[i].fd);
	return L->answered ? 0 : 1;
}

static int probe(struct load *L, double secs)
{
	struct rd_sockaddr any;
	rd_net_addr_any(&any, rd_net_addr_family(&L->srv), 0);
	int fd = rd_net_udp_bind(&any, 0);
	if (fd < 0 || connect(fd, &L->srv.u.sa, L->srv.len) < 0)
		return 1;
	double t0 = rd_now();
	L->mode = M_REG;
	while (rd_now() - t0 < secs) {
		uint8_t buf[256];
		size_t n = build(L, buf, sizeof(buf));
		L->next_id = 0;
		(void)!send(fd, buf, n, 0);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 20) == 1 && recv(fd, buf, sizeof(buf), 0) > 0) {
			printf("ready_after=%.3f\n", rd_now() - t0);
			close(fd);
			return 0;
		}
	}
	printf("ready_after=timeout\n");
	close(fd);
	return 1;
}

int main(int argc, char **argv)
{
	struct load L = { .prefix = "load", .window = 64 };
	const char *w = getenv("RV_LOAD_WINDOW");
	if (w && atoi(w) > 0 && atoi(w) <= WINDOW)
		L.window = (unsigned)atoi(w);
	if (argc < 4 || rd_net_addr_parse_numeric(argv[2], 0, &L.srv) != RD_OK) {
		fprintf(stderr, "usage: see the top of rv-load.c\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 2;
	if (!strcmp(argv[1], "fill")) {
		L.mode = M_FILL;
		if (!w)
			L.window = 8; /* every request is a database write: keep the queue short */
		L.nids = L.budget = strtoull(argv[3], NULL, 10);
		if (argc > 4)
			L.prefix = argv[4];
		return run(&L, 600);
	}
	if (!strcmp(argv[1], "reg") && argc >= 6) {
		L.mode = M_REG;
		L.nids = strtoull(argv[3], NULL, 10);
		L.budget = strtoull(argv[4], NULL, 10);
		return run(&L, atof(argv[5]));
	}
	if (!strcmp(argv[1], "stun") && argc >= 5) {
		L.mode = M_STUN;
		L.nids = 1u << 30;
		L.budget = strtoull(argv[3], NULL, 10);
		return run(&L, atof(argv[4]));
	}
	if (!strcmp(argv[1], "probe") && argc >= 5) {
		L.prefix = argv[3];
		L.nids = 1;
		return probe(&L, atof(argv[4]));
	}
	fprintf(stderr, "usage: see the top of rv-load.c\n");
	return 2;
}

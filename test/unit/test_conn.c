/* conn: framed streams on a real libev loop over socketpairs and loopback
 * TCP: frame sizes both ways, split writes, the frame size limit, outgoing
 * connects, encryption with tampering, protobuf sends. Timers, queue limits
 * and closing are in test_conn_limits.c. */
#include "conn_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "rendezvous.pb-c.h"

static const size_t sizes[] = { 0, 1, 63, 64, 16384, MIB };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* a sends every size to b, b echoes each frame back; overhead is what
 * encryption adds to each payload. */
static void exchange(struct peer *a, struct peer *b, size_t overhead)
{
	uint8_t *buf = malloc(MIB), hdr[RD_FRAME_HDR_MAX];
	size_t total = 0, wire = 0;
	uint64_t a_out = rd_conn_bytes_out(a->c), a_in = rd_conn_bytes_in(a->c);
	uint64_t b_out = rd_conn_bytes_out(b->c), b_in = rd_conn_bytes_in(b->c);
	struct want_frames w = { a, NSIZES };

	rd_buf_reset(&a->got);
	rd_buf_reset(&b->got);
	a->nframes = b->nframes = 0;
	b->echo = true;
	for (size_t i = 0; i < NSIZES; i++) {
		fill(buf, sizes[i], (unsigned)i);
		assert_int_equal(rd_conn_send(a->c, buf, sizes[i]), RD_OK);
		total += sizes[i];
		wire += rd_frame_header_encode(hdr, sizes[i] + overhead) + sizes[i] + overhead;
	}
	assert_true(run_until(has_frames, &w, 10));
	assert_int_equal(b->nframes, NSIZES);
	assert_int_equal(a->nframes, NSIZES);
	assert_int_equal(rd_buf_size(&a->got), total);
	assert_int_equal(rd_buf_size(&b->got), total);
	for (size_t i = 0, off = 0; i < NSIZES; off += sizes[i], i++) {
		fill(buf, sizes[i], (unsigned)i);
		assert_int_equal(a->lens[i], sizes[i]);
		assert_int_equal(b->lens[i], sizes[i]);
		assert_memory_equal(rd_buf_ptr(&b->got) + off, buf, sizes[i]);
		assert_memory_equal(rd_buf_ptr(&a->got) + off, buf, sizes[i]);
	}
	assert_int_equal(rd_conn_bytes_out(a->c) - a_out, wire);
	assert_int_equal(rd_conn_bytes_in(b->c) - b_in, wire);
	assert_int_equal(rd_conn_bytes_out(b->c) - b_out, wire);
	assert_int_equal(rd_conn_bytes_in(a->c) - a_in, wire);
	assert_int_equal(rd_conn_queued(a->c), 0);
	assert_int_equal(rd_conn_queued(b->c), 0);
	free(buf);
}

static void test_sizes_socketpair(void **state)
{
	struct peer a, b;
	int sv[2];
	(void)state;

	peers_connect(&a, &b, sv);
	assert_int_equal(rd_conn_fd(a.c), sv[0]);
	assert_ptr_equal(rd_conn_userdata(b.c), &b);
	exchange(&a, &b, 0);
	/* closing one end: the other sees EOF */
	rd_conn_close(a.c, RD_OK);
	assert_int_equal(a.closed, 0); /* deferred */
	assert_true(run_until(is_closed, &b, 2));
	assert_int_equal(a.closed, 1);
	assert_int_equal(a.reason, RD_OK);
	assert_int_equal(b.reason, RD_ERR_EOF);
	peer_done(&a);
	peer_done(&b);
}

struct accept_ctx {
	int lfd, fd;
	struct rd_sockaddr peer;
};

static void on_accept(struct ev_loop *l, ev_io *w, int revents)
{
	struct accept_ctx *ac = w->data;
	(void)l, (void)revents;
	if (ac->fd < 0) /* plain accept4: the conn must normalize by itself */
		ac->fd = accept4(ac->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static bool accepted(void *arg)
{
	return ((struct accept_ctx *)arg)->fd >= 0;
}

static bool connected_and_accepted(void *arg)
{
	void **v = arg;
	return accepted(v[0]) && (((struct peer *)v[1])->connected || ((struct peer *)v[1])->closed);
}

/* An IPv6 listener on ::ffff:127.0.0.1 (IPv4 if this host has no IPv6):
 * the client's IPv4 address arrives v4-mapped at the socket, and the conn
 * reports it as plain IPv4. */
static int listen_mapped(struct rd_sockaddr *bound)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0;

	if (fd >= 0) {
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == 0 &&
		    bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0 && listen(fd, 16) == 0)
			goto out;
		close(fd);
	}
	struct rd_sockaddr lo;
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &lo), RD_OK);
	fd = rd_net_tcp_listen(&lo, 16, 0);
out:
	assert_true(fd >= 0);
	assert_int_equal(rd_net_local_addr(fd, bound), RD_OK);
	return fd;
}

static void test_tcp_connect(void **state)
{
	struct rd_sockaddr dst, lname;
	struct accept_ctx ac = { .fd = -1 };
	struct peer cl, sv;
	char s1[RD_ADDRSTRLEN], s2[RD_ADDRSTRLEN];
	ev_io aw;
	int fd;
	(void)state;

	peer_init(&cl);
	peer_init(&sv);
	ac.lfd = listen_mapped(&lname);
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1", rd_net_addr_port(&lname), &dst), RD_OK);
	ev_io_init(&aw, on_accept, ac.lfd, EV_READ);
	aw.data = &ac;
	ev_io_start(loop, &aw);

	fd = rd_net_tcp_connect(&dst, NULL);
	assert_true(fd >= 0);
	cl.c = rd_conn_new(loop, fd, true, NULL, &ops, &cl);
	/* queued before the connect completes, sent after */
	assert_int_equal(rd_conn_send(cl.c, "early", 5), RD_OK);
	assert_true(run_until(connected_and_accepted, (void *[]){ &ac, &cl }, 5));
	assert_int_equal(cl.connected, 1);
	assert_int_equal(cl.closed, 0);
	sv.c = rd_conn_new(loop, ac.fd, false, NULL, &ops, &sv);
	assert_true(run_until(has_frames, &(struct want_frames){ &sv, 1 }, 5));
	assert_int_equal(sv.lens[0], 5);
	assert_memory_equal(rd_buf_ptr(&sv.got), "early", 5);

	/* addresses: each side's peer is the other's local, all plain IPv4 */
	assert_int_equal(rd_net_addr_family(rd_conn_peer(sv.c)), AF_INET);
	assert_int_equal(rd_net_addr_family(rd_conn_local(sv.c)), AF_INET);
	assert_true(rd_net_addr_equal(rd_conn_peer(cl.c), &dst));
	assert_true(rd_net_addr_equal(rd_conn_peer(sv.c), rd_conn_local(cl.c)));
	assert_string_equal(rd_net_addr_str(rd_conn_local(sv.c), s1, sizeof(s1)),
		rd_net_addr_str(&dst, s2, sizeof(s2)));

	exchange(&cl, &sv, 0);
	rd_conn_close(sv.c, RD_OK);
	assert_true(run_until(is_closed, &cl, 2));
	assert_int_equal(cl.reason, RD_ERR_EOF);
	ev_io_stop(loop, &aw);
	close(ac.lfd);
	peer_done(&cl);
	peer_done(&sv);
}

static void test_connect_refused(void **state)
{
	struct rd_sockaddr lo, bound;
	struct peer cl;
	int hold, fd;
	(void)state;

	/* a bound socket that does not listen: connects to it are refused */
	peer_init(&cl);
	hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(hold >= 0);
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &lo), RD_OK);
	assert_int_equal(bind(hold, &lo.u.sa, lo.len), 0);
	assert_int_equal(rd_net_local_addr(hold, &bound), RD_OK);
	fd = rd_net_tcp_connect(&bound, NULL);
	assert_true(fd >= 0);
	cl.c = rd_conn_new(loop, fd, true, NULL, &ops, &cl);
	assert_true(run_until(is_closed, &cl, 5));
	assert_int_equal(cl.reason, RD_ERR_REFUSED);
	assert_int_equal(cl.connected, 0);
	close(hold);
	peer_done(&cl);
}

/* Every byte in its own write(): frames still arrive whole, and only once
 * their last byte is in. */
static void test_split_writes(void **state)
{
	static const size_t lens[] = { 0, 1, 63, 64, 300, 5000 };
	struct rd_buf wire;
	struct peer b;
	int sv[2];
	size_t pos = 0, ends[6], k = 0;
	(void)state;

	peer_init(&b);
	rd_buf_init(&wire, 0);
	for (size_t i = 0; i < 6; i++) {
		uint8_t tmp[5000];
		fill(tmp, lens[i], (unsigned)i + 7);
		assert_int_equal(rd_frame_append(&wire, tmp, lens[i]), RD_OK);
		ends[i] = rd_buf_size(&wire);
	}
	pair(sv);
	b.c = rd_conn_new(loop, sv[1], false, NULL, &ops, &b);
	for (pos = 0; pos < rd_buf_size(&wire); pos++) {
		assert_int_equal(write(sv[0], rd_buf_ptr(&wire) + pos, 1), 1);
		ev_run(loop, EVRUN_NOWAIT);
		ev_run(loop, EVRUN_NOWAIT);
		if (k < 6 && pos + 1 == ends[k])
			k++;
		assert_int_equal(b.nframes, (int)k);
	}
	for (size_t i = 0, off = 0; i < 6; off += lens[i], i++) {
		uint8_t tmp[5000];
		fill(tmp, lens[i], (unsigned)i + 7);
		assert_int_equal(b.lens[i], lens[i]);
		assert_memory_equal(rd_buf_ptr(&b.got) + off, tmp, lens[i]);
	}
	close(sv[0]);
	assert_true(run_until(is_closed, &b, 2));
	assert_int_equal(b.reason, RD_ERR_EOF);
	rd_buf_free(&wire);
	peer_done(&b);
}

static void test_toobig(void **state)
{
	struct rd_conn_limits lim = { .max_frame = 1000 };
	uint8_t buf[1004] = { 0 }, hdr[RD_FRAME_HDR_MAX];
	struct peer b;
	int sv[2];
	size_t hl;
	(void)state;

	peer_init(&b);
	pair(sv);
	b.c = rd_conn_new(loop, sv[1], false, &lim, &ops, &b);
	/* exactly the limit passes */
	hl = rd_frame_header_encode(hdr, 1000);
	memcpy(buf, hdr, hl);
	assert_int_equal(write(sv[0], buf, hl + 1000), (ssize_t)(hl + 1000));
	assert_true(run_until(has_frames, &(struct want_frames){ &b, 1 }, 2));
	assert_int_equal(b.lens[0], 1000);
	/* one more byte is refused as soon as the header is in */
	hl = rd_frame_header_encode(hdr, 1001);
	assert_int_equal(write(sv[0], hdr, hl), (ssize_t)hl);
	assert_true(run_until(is_closed, &b, 2));
	assert_int_equal(b.reason, RD_ERR_TOOBIG);
	assert_int_equal(b.nframes, 1);
	close(sv[0]);
	peer_done(&b);
}

static void make_streams(struct rd_crypto_stream *ctl, struct rd_crypto_stream *agent)
{
	uint8_t key[RD_SESSION_KEY_LEN];

	randombytes_buf(key, sizeof(key));
	rd_crypto_stream_init(ctl, key, RD_CRYPTO_KDF, true);
	rd_crypto_stream_init(agent, key, RD_CRYPTO_KDF, false);
}

static void test_crypto_roundtrip(void **state)
{
	struct rd_crypto_stream ctl, agent;
	struct peer a, b;
	int sv[2];
	(void)state;

	make_streams(&ctl, &agent);
	peers_connect(&a, &b, sv);
	assert_false(rd_conn_encrypted(a.c));
	/* b turns crypto on inside on_frame for the plain first frame; the
	 * encrypted second frame is sent at once and arrives in the same read */
	b.crypto_at_first = &agent;
	assert_int_equal(rd_conn_send(a.c, "plain", 5), RD_OK);
	rd_conn_set_crypto(a.c, &ctl);
	assert_true(rd_conn_encrypted(a.c));
	sodium_memzero(&ctl, sizeof(ctl)); /* the conn keeps its own copy */
	assert_int_equal(rd_conn_send(a.c, "sealed", 6), RD_OK);
	assert_true(run_until(has_frames, &(struct want_frames){ &b, 2 }, 2));
	assert_int_equal(b.closed, 0);
	assert_true(rd_conn_encrypted(b.c));
	assert_memory_equal(rd_buf_ptr(&b.got), "plainsealed", 11);
	b.crypto_at_first = NULL;
	exchange(&a, &b, RD_SECRETBOX_MAC_LEN);
	/* a raw 1-byte heartbeat passes through without decryption */
	assert_int_equal(rd_conn_send_raw(a.c, "\x00", 1), RD_OK);
	assert_true(run_until(has_frames, &(struct want_frames){ &b, NSIZES + 1 }, 2));
	assert_int_equal(b.lens[NSIZES], 0);
	assert_int_equal(b.closed, 0);
	peer_done(&a);
	peer_done(&b);
}

/* The raw side seals frames itself; one flipped bit ends the stream. */
static void test_crypto_tamper(void **state)
{
	struct rd_crypto_stream ctl, agent;
	struct rd_buf sealed, wire;
	uint8_t rx[256];
	struct peer b;
	int sv[2];
	ssize_t n;
	(void)state;

	peer_init(&b);
	make_streams(&ctl, &agent);
	pair(sv);
	b.c = rd_conn_new(loop, sv[1], false, NULL, &ops, &b);
	rd_conn_set_crypto(b.c, &agent);
	rd_buf_init(&sealed, 0);
	rd_buf_init(&wire, 0);

	/* what b sends is ciphertext on the wire */
	assert_int_equal(rd_conn_send(b.c, "secret words", 12), RD_OK);
	run_for(0.05);
	n = read(sv[0], rx, sizeof(rx));
	assert_int_equal(n, 1 + RD_SECRETBOX_MAC_LEN + 12);
	assert_null(memmem(rx, (size_t)n, "secret", 6));

	for (int i = 0; i < 3; i++) {
		rd_buf_reset(&sealed);
		assert_int_equal(rd_crypto_seal(&ctl, (const uint8_t *)"hello", 5, &sealed), RD_OK);
		assert_int_equal(rd_frame_append(&wire, rd_buf_ptr(&sealed), rd_buf_size(&sealed)), RD_OK);
	}
	/* flip one bit in the second frame's ciphertext (frames are 22 bytes) */
	wire.data[wire.off + 22 + 1 + RD_SECRETBOX_MAC_LEN + 2] ^= 0x10;
	assert_int_equal(write(sv[0], rd_buf_ptr(&wire), rd_buf_size(&wire)), (ssize_t)rd_buf_size(&wire));
	assert_true(run_until(is_closed, &b, 2));
	assert_int_equal(b.reason, RD_ERR_CRYPTO);
	assert_int_equal(b.nframes, 1);
	assert_memory_equal(rd_buf_ptr(&b.got), "hello", 5);
	close(sv[0]);
	rd_buf_free(&sealed);
	rd_buf_free(&wire);
	peer_done(&b);
}

static void test_send_pb(void **state)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT, *got;
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	struct peer a, b;
	int sv[2];
	(void)state;

	peers_connect(&a, &b, sv);
	rp.id = "123456789";
	rp.serial = 7;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	assert_int_equal(rd_conn_send_pb(a.c, (const struct ProtobufCMessage *)&m), RD_OK);
	assert_true(run_until(has_frames, &(struct want_frames){ &b, 1 }, 2));
	got = hbb__rendezvous_message__unpack(NULL, b.lens[0], rd_buf_ptr(&b.got));
	assert_non_null(got);
	assert_int_equal(got->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER);
	assert_string_equal(got->register_peer->id, "123456789");
	assert_int_equal(got->register_peer->serial, 7);
	hbb__rendezvous_message__free_unpacked(got, NULL);
	peer_done(&a);
	peer_done(&b);
}

/* Two lanes: with a backlog of large frames waiting (the reader paused), an
 * urgent frame goes out ahead of the held ones, every frame arrives sealed in
 * order, and the large ones keep their order. */
static void test_urgent_lane(void **state)
{
	struct rd_crypto_stream ctl, agent;
	struct peer a, b;
	int sv[2], i;
	static uint8_t big[16384];
	const int nbig = 40;
	(void)state;

	make_streams(&ctl, &agent);
	peers_connect(&a, &b, sv);
	rd_conn_set_crypto(a.c, &ctl);
	rd_conn_set_crypto(b.c, &agent);
	rd_conn_enable_urgent(a.c);
	rd_conn_pause_read(b.c, true);
	for (i = 0; i < nbig; i++) {
		big[0] = 'V';
		big[1] = (uint8_t)i;
		assert_int_equal(rd_conn_send(a.c, big, sizeof(big)), RD_OK);
		ev_run(loop, EVRUN_NOWAIT);
	}
	/* What the socket did not take is queued, and counted. */
	assert_true(rd_conn_queued(a.c) > 64 * 1024);
	assert_int_equal(rd_conn_send_urgent(a.c, "A123", 4), RD_OK);
	rd_conn_pause_read(b.c, false);
	assert_true(run_until(has_frames, &(struct want_frames){ &b, nbig + 1 }, 5));
	assert_int_equal(b.nframes, nbig + 1);
	int at = -1, next = 0;
	const uint8_t *p = rd_buf_ptr(&b.got);
	for (i = 0; i < b.nframes; i++) {
		if (b.lens[i] == 4) {
			assert_memory_equal(p, "A123", 4);
			at = i;
		} else {
			assert_int_equal(b.lens[i], sizeof(big));
			assert_int_equal(p[0], 'V');
			assert_int_equal(p[1], next++);
		}
		p += b.lens[i];
	}
	assert_int_equal(next, nbig);
	/* Ahead of the held frames: only what the socket and the short wire
	 * queue had taken came before it. */
	assert_true(at >= 0 && at < nbig);
	assert_int_equal(rd_conn_queued(a.c), 0);
	peer_done(&a);
	peer_done(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sizes_socketpair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_toobig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crypto_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crypto_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_pb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_urgent_lane, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

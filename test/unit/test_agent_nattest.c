/* Unit tests for common/nattest (the agent's NAT type test, shared with rdctl
 * doctor): the message helpers, and the test on a loop (rd_nattest_start)
 * and on its private loop (rd_nattest_run) against a small server on
 * loopback that answers like rd-rendezvous on PORT and PORT-1, or like a
 * symmetric NAT (another port for the second probe), or with garbage, or
 * not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <poll.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "codec.h"
#include "err.h"
#include "nattest.h"
#include "net.h"
#include "pb.h"
#include "util.h"

enum srv_mode { SRV_CONE, SRV_SYMMETRIC, SRV_GARBAGE };

struct srv {
	int lfd[2];            /* [0] main port P, [1] NAT port P-1 */
	uint16_t port;         /* P */
	enum srv_mode mode;
	int answered;
	pthread_t th;
};

static void srv_reply(struct srv *s, int fd, int which)
{
	uint8_t buf[512];
	size_t have = 0;
	for (int i = 0; i < 50 && have < sizeof(buf); i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		const uint8_t *pl;
		size_t pl_len, used;
		if (rd_frame_next(buf, have, 4096, &pl, &pl_len, &used) == RD_OK)
			break;
	}
	struct rd_sockaddr peer;
	rd_net_peer_addr(fd, &peer);
	struct rd_buf out;
	rd_buf_init(&out, 0);
	if (s->mode == SRV_GARBAGE) {
		rd_frame_append(&out, "\xff\xff\xff", 3);
	} else {
		Hbb__TestNatResponse r = HBB__TEST_NAT_RESPONSE__INIT;
		r.port = rd_net_addr_port(&peer) + (s->mode == SRV_SYMMETRIC && which == 1 ? 7 : 0);
		Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
		m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_RESPONSE;
		m.test_nat_response = &r;
		rd_pb_append(&out, &m.base);
		/* rd_pb_append adds the bare message: frame it */
		struct rd_buf fr;
		rd_buf_init(&fr, 0);
		rd_frame_append(&fr, rd_buf_ptr(&out), rd_buf_size(&out));
		rd_buf_free(&out);
		out = fr;
	}
	rd_net_set_nonblock(fd, false);
	if (write(fd, rd_buf_ptr(&out), rd_buf_size(&out)) < 0)
		fail_msg("server write failed");
	rd_buf_free(&out);
	s->answered++;
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	for (int served = 0; served < 2;) {
		struct pollfd p[2] = { { .fd = s->lfd[0], .events = POLLIN }, { .fd = s->lfd[1], .events = POLLIN } };
		if (poll(p, 2, 10000) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			struct rd_sockaddr peer;
			int fd = rd_net_accept(s->lfd[i], &peer);
			if (fd < 0)
				continue;
			srv_reply(s, fd, i);
			close(fd);
			served++;
		}
	}
	return NULL;
}

/* Two listeners on consecutive loopback ports P-1 and P, below the
 * ephemeral range (outgoing connections elsewhere on the machine may hold
 * every other port there). */
static void srv_start(struct srv *s, enum srv_mode mode)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	for (int tries = 0; tries < 200; tries++) {
		struct rd_sockaddr a;
		uint16_t p = (uint16_t)(20000 + (unsigned)rand() % 12000);
		rd_net_addr_parse_numeric("127.0.0.1", p, &a);
		rd_net_addr_set_port(&a, p);
		int lo = rd_net_tcp_listen(&a, 4, 0);
		if (lo < 0)
			continue;
		struct rd_sockaddr b = a;
		rd_net_addr_set_port(&b, (uint16_t)(p + 1));
		int hi = rd_net_tcp_listen(&b, 4, 0);
		if (hi < 0) {
			close(lo);
			continue;
		}
		s->lfd[0] = hi;
		s->lfd[1] = lo;
		s->port = (uint16_t)(p + 1);
		assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
		return;
	}
	fail_msg("no two consecutive free ports");
}

static void srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd[0]);
	close(s->lfd[1]);
}

static void server_addr(const struct srv *s, struct rd_sockaddr *a)
{
	rd_net_addr_parse_numeric("127.0.0.1", s->port, a);
	rd_net_addr_set_port(a, s->port);
}

static void test_helpers(void **state)
{
	(void)state;
	assert_int_equal(rd_nattest_classify(4000, 4000), RD_NAT_ASYMMETRIC);
	assert_int_equal(rd_nattest_classify(4000, 4001), RD_NAT_SYMMETRIC);
	assert_string_equal(rd_nat_type_name(RD_NAT_SYMMETRIC), "symmetric");
	struct rd_buf b;
	rd_buf_init(&b, 0);
	assert_int_equal(rd_nattest_request(&b, 3), RD_OK);
	const uint8_t *pl;
	size_t len, used;
	assert_int_equal(rd_frame_next(rd_buf_ptr(&b), rd_buf_size(&b), 4096, &pl, &len, &used), RD_OK);
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(pl, len);
	assert_non_null(m);
	assert_int_equal(m->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_TEST_NAT_REQUEST);
	assert_int_equal(m->test_nat_request->serial, 3);
	hbb__rendezvous_message__free_unpacked(m, NULL);
	uint16_t port = 0;
	/* A request is not a response. */
	assert_int_equal(rd_nattest_parse(pl, len, &port), RD_ERR_PROTO);
	assert_int_equal(rd_nattest_parse((const uint8_t *)"\xff", 1, &port), RD_ERR_PROTO);
	rd_buf_free(&b);
}

static void test_run_cone(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, SRV_CONE);
	struct rd_sockaddr a;
	server_addr(&s, &a);
	struct rd_nattest_result r;
	assert_int_equal(rd_nattest_run(&a, 5.0, &r), RD_OK);
	srv_stop(&s);
	assert_int_equal(r.nat_type, RD_NAT_ASYMMETRIC);
	assert_int_equal(r.port_main, r.local_port);
	assert_int_equal(r.port_nat, r.local_port);
	assert_int_equal(s.answered, 2);
}

static void test_run_symmetric(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, SRV_SYMMETRIC);
	struct rd_sockaddr a;
	server_addr(&s, &a);
	struct rd_nattest_result r;
	assert_int_equal(rd_nattest_run(&a, 5.0, &r), RD_OK);
	srv_stop(&s);
	assert_int_equal(r.nat_type, RD_NAT_SYMMETRIC);
	assert_int_equal(r.port_nat, r.port_main + 7);
}

static void test_run_garbage_and_refused(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, SRV_GARBAGE);
	struct rd_sockaddr a;
	server_addr(&s, &a);
	struct rd_nattest_result r;
	assert_int_equal(rd_nattest_run(&a, 5.0, &r), RD_ERR_PROTO);
	/* The server thread waits for a second probe that never comes: poke it. */
	struct rd_sockaddr nat = a;
	rd_net_addr_set_port(&nat, (uint16_t)(s.port - 1));
	int fd = rd_net_tcp_connect_wait(&nat, NULL, 2.0);
	if (fd >= 0)
		close(fd);
	srv_stop(&s);
	/* Nothing listens there any more. */
	assert_true(rd_nattest_run(&a, 2.0, &r) < 0);
}

/* A server that takes the connection and never answers: each probe ends at
 * its timeout, and rd_nattest_run with it. */
static void test_run_silent(void **state)
{
	(void)state;
	struct rd_sockaddr a;
	rd_net_addr_parse_numeric("127.0.0.1:0", 0, &a);
	int lfd = rd_net_tcp_listen(&a, 4, 0);
	assert_true(lfd >= 0);
	rd_net_local_addr(lfd, &a);
	struct rd_nattest_result r;
	double t0 = rd_now();
	assert_int_equal(rd_nattest_run(&a, 0.3, &r), RD_ERR_TIMEOUT);
	double took = rd_now() - t0;
	assert_true(took >= 0.25 && took < 2.0);
	assert_int_equal(r.nat_type, RD_NAT_UNKNOWN);
	close(lfd);
}

struct async_out {
	int rc;
	int calls;
	struct rd_nattest_result res;
	struct ev_loop *loop;
};

static void async_cb(int rc, const struct rd_nattest_result *res, void *ud)
{
	struct async_out *o = ud;
	o->rc = rc;
	o->calls++;
	if (res)
		o->res = *res;
	ev_break(o->loop, EVBREAK_ALL);
}

static void run_async(enum srv_mode mode, struct async_out *o)
{
	struct srv s;
	srv_start(&s, mode);
	struct rd_sockaddr a;
	server_addr(&s, &a);
	memset(o, 0, sizeof(*o));
	o->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(rd_nattest_start(o->loop, &a, 5.0, async_cb, o));
	ev_run(o->loop, 0);
	/* let the closed conns run their on_close (and the test free itself) */
	for (int i = 0; i < 10; i++)
		ev_run(o->loop, EVRUN_NOWAIT);
	ev_loop_destroy(o->loop);
	srv_stop(&s);
}

static void test_async(void **state)
{
	(void)state;
	struct async_out o;
	run_async(SRV_CONE, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.rc, RD_OK);
	assert_int_equal(o.res.nat_type, RD_NAT_ASYMMETRIC);
	assert_int_equal(o.res.port_main, o.res.local_port);
	run_async(SRV_SYMMETRIC, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.res.nat_type, RD_NAT_SYMMETRIC);
}

int main(void)
{
	srand((unsigned)getpid() ^ (unsigned)(rd_now() * 1000));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_run_cone),
		cmocka_unit_test(test_run_symmetric),
		cmocka_unit_test(test_run_garbage_and_refused),
		cmocka_unit_test(test_run_silent),
		cmocka_unit_test(test_async),
	};
	return cmocka_run_group_tests_name("agent_nattest", tests, NULL, NULL);
}

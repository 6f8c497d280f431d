/* relay pump on a real libev loop with TCP sockets on loopback: leftover bytes
 * first, half-close both ways, backpressure (a side that does not read stops
 * its peer), reset of one side, idle timeout, the end report. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <ev.h>

#include "err.h"
#include "net.h"
#include "util.h"
#include "relay-server/pump.h"

struct fixture {
	struct ev_loop *loop;
	struct relay_pump *pump;
	int lfd;
	int a, b;            /* the clients */
	int ra, rb;          /* the relay's sides */
	int ended;
	struct relay_pair_end end;
	char reason[32];
};

static void on_end(void *user, const struct relay_pair_end *e, void *ud)
{
	struct fixture *f = ud;
	(void)user;
	f->ended++;
	f->end = *e;
	rd_strlcpy(f->reason, e->reason, sizeof(f->reason));
}

static void tcp_pair(struct fixture *f, int *client, int *server)
{
	struct rd_sockaddr a;
	assert_int_equal(rd_net_local_addr(f->lfd, &a), 0);
	*client = rd_net_tcp_connect_wait(&a, NULL, 5);
	assert_true(*client >= 0);
	rd_net_set_nonblock(*client, false);
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	*server = rd_net_accept(f->lfd, NULL);
	assert_true(*server >= 0);
}

static struct fixture *setup(double idle)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct rd_sockaddr la;
	f->loop = ev_loop_new(EVFLAG_AUTO);
	rd_net_addr_parse_numeric("127.0.0.1", 0, &la);
	f->lfd = rd_net_tcp_listen(&la, 16, 0);
	assert_true(f->lfd >= 0);
	struct relay_pump_opts o = {
		.loop = f->loop, .idle_timeout = idle, .pipe_size = 65536, .on_end = on_end, .ud = f,
	};
	f->pump = relay_pump_new(&o);
	tcp_pair(f, &f->a, &f->ra);
	tcp_pair(f, &f->b, &f->rb);
	return f;
}

static void teardown(struct fixture *f)
{
	relay_pump_free(f->pump);
	ev_loop_destroy(f->loop);
	close(f->lfd);
	if (f->a >= 0)
		close(f->a);
	if (f->b >= 0)
		close(f->b);
	free(f);
}

/* Run the loop until fd is readable (or for secs when fd < 0). */
static void spin(struct fixture *f, int fd, double secs)
{
	double end = rd_now() + secs;
	while (rd_now() < end) {
		ev_run(f->loop, EVRUN_NOWAIT);
		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, 1) == 1)
				return;
		} else {
			usleep(1000);
		}
	}
}

static void spin_until_end(struct fixture *f, double secs)
{
	double end = rd_now() + secs;
	while (!f->ended && rd_now() < end) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

/* Read exactly n bytes from fd while the loop runs. */
static void read_n(struct fixture *f, int fd, char *out, size_t n)
{
	size_t got = 0;
	double end = rd_now() + 5;
	while (got < n && rd_now() < end) {
		spin(f, fd, 0.1);
		ssize_t k = recv(fd, out + got, n - got, MSG_DONTWAIT);
		if (k > 0)
			got += (size_t)k;
	}
	assert_int_equal(got, n);
}

static bool at_eof(struct fixture *f, int fd)
{
	char c;
	spin(f, fd, 3);
	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void test_leftover_first_and_half_close(void **state)
{
	(void)state;
	struct fixture *f = setup(0);
	char buf[16];
	assert_int_equal(send(f->a, "DATA", 4, 0), 4);
	assert_int_equal(relay_pump_start(f->pump, f->ra, f->rb, (const uint8_t *)"PRE-", 4,
		(const uint8_t *)"pre-", 4, NULL), RD_OK);
	assert_int_equal(relay_pump_active(f->pump), 1);
	read_n(f, f->b, buf, 8);
	assert_memory_equal(buf, "PRE-DATA", 8);
	read_n(f, f->a, buf, 4);
	assert_memory_equal(buf, "pre-", 4);
	/* A stops sending: B sees EOF, and can still answer. */
	shutdown(f->a, SHUT_WR);
	assert_true(at_eof(f, f->b));
	assert_int_equal(send(f->b, "back", 4, 0), 4);
	read_n(f, f->a, buf, 4);
	assert_memory_equal(buf, "back", 4);
	assert_int_equal(f->ended, 0);
	shutdown(f->b, SHUT_WR);
	assert_true(at_eof(f, f->a));
	spin_until_end(f, 3);
	assert_int_equal(f->ended, 1);
	assert_string_equal(f->reason, "closed");
	assert_int_equal(f->end.bytes_ab, 8);
	assert_int_equal(f->end.bytes_ba, 8);
	assert_int_equal(relay_pump_active(f->pump), 0);
	teardown(f);
}

/* B does not read: A can only fill the buffers on the way, then it is held. */
static void test_backpressure(void **state)
{
	(void)state;
	struct fixture *f = setup(0);
	static char chunk[65536];
	assert_int_equal(relay_pump_start(f->pump, f->ra, f->rb, NULL, 0, NULL, 0, NULL), RD_OK);
	rd_net_set_nonblock(f->a, true);
	size_t sent = 0, last = 0;
	for (int round = 0; round < 4; round++) {
		last = sent;
		for (int i = 0; i < 300; i++) {
			ssize_t k = send(f->a, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k > 0)
				sent += (size_t)k;
			spin(f, -1, 0.001);
		}
	}
	print_message("held after %zu bytes\n", sent);
	assert_true(sent < 128u * 1024 * 1024);
	assert_int_equal(sent, last); /* the last round moved nothing */
	/* Now B reads everything, and A may go on. */
	shutdown(f->a, SHUT_WR);
	size_t got = 0;
	double end = rd_now() + 10;
	rd_net_set_nonblock(f->b, true);
	for (;;) {
		ssize_t k = recv(f->b, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		if (k == 0 || rd_now() > end)
			break;
		spin(f, f->b, 0.05);
	}
	assert_int_equal(got, sent);
	teardown(f);
}

static void test_reset_closes_other_side(void **state)
{
	(void)state;
	struct fixture *f = setup(0);
	char buf[8];
	assert_int_equal(relay_pump_start(f->pump, f->ra, f->rb, NULL, 0, NULL, 0, NULL), RD_OK);
	assert_int_equal(send(f->a, "abc", 3, 0), 3);
	read_n(f, f->b, buf, 3);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(f->a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(f->a);
	f->a = -1;
	assert_true(at_eof(f, f->b));
	close(f->b);
	f->b = -1;
	spin_until_end(f, 3);
	assert_int_equal(f->ended, 1);
	assert_string_equal(f->reason, "reset");
	teardown(f);
}

static void test_idle(void **state)
{
	(void)state;
	struct fixture *f = setup(0.3);
	assert_int_equal(relay_pump_start(f->pump, f->ra, f->rb, NULL, 0, NULL, 0, NULL), RD_OK);
	double t0 = rd_now();
	spin_until_end(f, 3);
	assert_int_equal(f->ended, 1);
	assert_string_equal(f->reason, "idle");
	assert_true(rd_now() - t0 >= 0.25);
	assert_true(at_eof(f, f->a));
	teardown(f);
}

static void test_shutdown_ends_pairs(void **state)
{
	(void)state;
	struct fixture *f = setup(0);
	assert_int_equal(relay_pump_start(f->pump, f->ra, f->rb, NULL, 0, NULL, 0, NULL), RD_OK);
	spin(f, -1, 0.05);
	relay_pump_free(f->pump);
	assert_int_equal(f->ended, 1);
	assert_string_equal(f->reason, "shutdown");
	struct relay_pump_opts o = { .loop = f->loop };
	f->pump = relay_pump_new(&o);
	teardown(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leftover_first_and_half_close),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_reset_closes_other_side),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_shutdown_ends_pairs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

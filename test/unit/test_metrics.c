/* metrics: exposition format, and the endpoint served on 127.0.0.1 and
 * fetched over a real socket from another thread. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "err.h"
#include "metrics.h"
#include "net.h"
#include "util.h"

static double computed(void *ud)
{
	return *(double *)ud * 2;
}

static char *render(struct rd_metrics *m)
{
	struct rd_buf b;
	rd_buf_init(&b, 0);
	assert_int_equal(rd_metrics_render(m, &b), RD_OK);
	char *s = xmalloc(rd_buf_size(&b) + 1);
	memcpy(s, rd_buf_ptr(&b), rd_buf_size(&b));
	s[rd_buf_size(&b)] = 0;
	rd_buf_free(&b);
	return s;
}

static void test_render_format(void **state)
{
	(void)state;
	struct rd_metrics *m = rd_metrics_new();
	double base = 1.25;
	struct rd_metric *reg = rd_metrics_counter(m, "rd_registrations_total", "Registrations.", NULL);
	struct rd_metric *ok = rd_metrics_counter(m, "rd_punch_total", "Punch requests.", "outcome=\"ok\"");
	struct rd_metric *off = rd_metrics_counter(m, "rd_punch_total", "Punch requests.", "outcome=\"offline\"");
	struct rd_metric *g = rd_metrics_gauge(m, "rd_online", "Online peers.", NULL);
	assert_non_null(rd_metrics_gauge_fn(m, "rd_computed", "Computed.", "a=\"1\",b=\"x y\"", computed, &base));
	assert_non_null(reg);
	assert_non_null(ok);
	assert_non_null(off);
	assert_non_null(g);
	rd_metric_inc(reg);
	rd_metric_add(reg, 41);
	rd_metric_add(reg, -5); /* counters never go down */
	rd_metric_inc(off);
	rd_metric_set(g, 7);
	rd_metric_add(g, -2);
	assert_true(rd_metric_value(reg) == 42);
	assert_true(rd_metric_value(g) == 5);
	char *s = render(m);
	assert_string_equal(s,
		"# HELP rd_registrations_total Registrations.\n"
		"# TYPE rd_registrations_total counter\n"
		"rd_registrations_total 42\n"
		"# HELP rd_punch_total Punch requests.\n"
		"# TYPE rd_punch_total counter\n"
		"rd_punch_total{outcome=\"ok\"} 0\n"
		"rd_punch_total{outcome=\"offline\"} 1\n"
		"# HELP rd_online Online peers.\n"
		"# TYPE rd_online gauge\n"
		"rd_online 5\n"
		"# HELP rd_computed Computed.\n"
		"# TYPE rd_computed gauge\n"
		"rd_computed{a=\"1\",b=\"x y\"} 2.5\n");
	free(s);
	rd_metrics_free(m);
}

static void test_register_rejects(void **state)
{
	(void)state;
	struct rd_metrics *m = rd_metrics_new();
	assert_null(rd_metrics_counter(m, "9bad", "h", NULL));
	assert_null(rd_metrics_counter(m, "bad-name", "h", NULL));
	assert_null(rd_metrics_counter(m, "", "h", NULL));
	assert_null(rd_metrics_counter(m, "ok_name", "two\nlines", NULL));
	assert_null(rd_metrics_counter(m, "ok_name", "h", "k=v"));
	assert_null(rd_metrics_counter(m, "ok_name", "h", "k=\"v"));
	assert_null(rd_metrics_counter(m, "ok_name", "h", "k=\"a\\\"\""));
	assert_null(rd_metrics_counter(m, "ok_name", "h", "k=\"a\nb\""));
	assert_null(rd_metrics_counter(m, "ok_name", "h", "1k=\"a\""));
	assert_null(rd_metrics_counter(m, "ok_name", "h", "k=\"a\","));
	assert_null(rd_metrics_gauge_fn(m, "ok_name", "h", NULL, NULL, NULL));
	assert_non_null(rd_metrics_counter(m, "ok_name", "h", NULL));
	assert_null(rd_metrics_counter(m, "ok_name", "h", NULL));       /* same series */
	assert_null(rd_metrics_gauge(m, "ok_name", "h", "k=\"v\""));    /* other type */
	assert_non_null(rd_metrics_counter(m, "ok_name", "h", "k=\"v\""));
	rd_metrics_free(m);
}

/* ---- a server on its own thread ---- */

struct server {
	struct ev_loop *loop;
	struct rd_metrics *m;
	struct rd_metric *hits;
	ev_async stop;
	pthread_t thread;
	struct rd_sockaddr addr;
	bool healthy;
};

static void stop_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	ev_run(s->loop, 0);
	return NULL;
}

static bool health_cb(void *ud, char *msg, size_t msgsz)
{
	struct server *s = ud;
	if (!s->healthy)
		snprintf(msg, msgsz, "database closed");
	return s->healthy;
}

static int server_setup(void **state)
{
	struct server *s = xcalloc(1, sizeof(*s));
	s->loop = ev_loop_new(EVFLAG_AUTO);
	s->m = rd_metrics_new();
	s->healthy = true;
	s->hits = rd_metrics_counter(s->m, "test_hits_total", "Hits.", NULL);
	rd_metric_add(s->hits, 3);
	rd_metrics_set_health(s->m, health_cb, s);
	rd_metrics_set_timeout(s->m, 0.5);
	struct rd_sockaddr a;
	assert_int_equal(rd_net_addr_parse_numeric("127.0.0.1:0", 0, &a), RD_OK);
	assert_int_equal(rd_metrics_listen(s->m, s->loop, &a), RD_OK);
	assert_int_equal(rd_metrics_listen(s->m, s->loop, &a), RD_ERR_EXISTS);
	assert_int_equal(rd_metrics_local_addr(s->m, &s->addr), RD_OK);
	assert_int_not_equal(rd_net_addr_port(&s->addr), 0);
	ev_async_init(&s->stop, stop_cb);
	ev_async_start(s->loop, &s->stop);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	*state = s;
	return 0;
}

static int server_teardown(void **state)
{
	struct server *s = *state;
	ev_async_send(s->loop, &s->stop);
	pthread_join(s->thread, NULL);
	rd_metrics_free(s->m);
	ev_loop_destroy(s->loop);
	free(s);
	return 0;
}

static int dial(struct server *s)
{
	int fd = rd_net_tcp_connect_wait(&s->addr, NULL, 2.0);
	assert_true(fd >= 0);
	rd_net_set_nonblock(fd, false);
	return fd;
}

/* Read until EOF (bounded by 3 s); returns a malloc'd string, *closed set
 * when the peer closed. */
static char *read_all(int fd, bool *closed)
{
	size_t cap = 65536, len = 0;
	char *out = xmalloc(cap);
	*closed = false;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 3000) <= 0)
			break;
		ssize_t n = read(fd, out + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*closed = true;
			break;
		}
		len += (size_t)n;
		if (len == cap - 1)
			break;
	}
	out[len] = 0;
	return out;
}

static char *fetch(struct server *s, const char *request)
{
	int fd = dial(s);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	bool closed;
	char *r = read_all(fd, &closed);
	assert_true(closed);
	close(fd);
	return r;
}

static void test_get_metrics(void **state)
{
	struct server *s = *state;
	char *r = fetch(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	size_t clen = 0;
	const char *cl = strstr(r, "Content-Length: ");
	assert_non_null(cl);
	clen = strtoul(cl + 16, NULL, 10);
	assert_int_equal(clen, strlen(body));
	assert_non_null(strstr(body, "# TYPE test_hits_total counter\ntest_hits_total 3\n"));
	free(r);
	/* query strings are ignored, bare LF line ends accepted */
	r = fetch(s, "GET /metrics?x=1 HTTP/1.0\n\n");
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	free(r);
}

static void test_healthz(void **state)
{
	struct server *s = *state;
	char *r = fetch(s, "GET /healthz HTTP/1.0\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	assert_non_null(strstr(r, "\r\n\r\nok\n"));
	free(r);
	s->healthy = false; /* read by the server thread only during the next request */
	r = fetch(s, "GET /healthz HTTP/1.0\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 503 ", 13));
	assert_non_null(strstr(r, "database closed"));
	free(r);
	s->healthy = true;
}

static void test_errors(void **state)
{
	struct server *s = *state;
	char *r = fetch(s, "GET /nothing HTTP/1.0\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 404 ", 13));
	free(r);
	r = fetch(s, "POST /metrics HTTP/1.0\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 405 ", 13));
	free(r);
	r = fetch(s, "garbage\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 400 ", 13));
	free(r);
	r = fetch(s, "GET /metrics SPDY/9\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 400 ", 13));
	free(r);
}

static void test_oversized_request(void **state)
{
	struct server *s = *state;
	int fd = dial(s);
	char big[8192];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
	/* The server answers 431 once RD_METRICS_REQ_MAX bytes are in, and closes. */
	ssize_t w = write(fd, big, sizeof(big));
	assert_true(w > 0);
	bool closed;
	char *r = read_all(fd, &closed);
	assert_true(closed);
	assert_true(!strncmp(r, "HTTP/1.0 431 ", 13));
	free(r);
	close(fd);
}

static void test_split_request(void **state)
{
	struct server *s = *state;
	int fd = dial(s);
	const char *parts[] = { "GE", "T /metr", "ics HTTP/1.0\r", "\n\r", "\n" };
	for (size_t i = 0; i < RD_ARRAY_LEN(parts); i++) {
		assert_int_equal(write(fd, parts[i], strlen(parts[i])), (ssize_t)strlen(parts[i]));
		usleep(20000);
	}
	bool closed;
	char *r = read_all(fd, &closed);
	assert_true(closed);
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	free(r);
	close(fd);
}

static void test_silent_client_times_out(void **state)
{
	struct server *s = *state;
	int fd = dial(s);
	assert_int_equal(write(fd, "GET /metrics", 12), 12);
	double t0 = rd_now();
	bool closed;
	char *r = read_all(fd, &closed);
	double dt = rd_now() - t0;
	assert_true(closed);
	assert_string_equal(r, "");
	assert_true(dt >= 0.3 && dt < 2.9); /* the 0.5 s request deadline, not read_all's 3 s */
	free(r);
	close(fd);
}

static void test_many_clients_bounded(void **state)
{
	struct server *s = *state;
	int fds[RD_METRICS_CLIENTS_MAX + 4];
	for (size_t i = 0; i < RD_ARRAY_LEN(fds); i++)
		fds[i] = dial(s);
	/* the extra connections are closed at once, the first ones are served */
	usleep(100000);
	char *r = NULL;
	bool closed;
	const char *req = "GET /healthz HTTP/1.0\r\n\r\n";
	assert_int_equal(write(fds[0], req, strlen(req)), (ssize_t)strlen(req));
	r = read_all(fds[0], &closed);
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	free(r);
	size_t refused = 0;
	for (size_t i = RD_METRICS_CLIENTS_MAX; i < RD_ARRAY_LEN(fds); i++) {
		(void)!write(fds[i], req, strlen(req));
		r = read_all(fds[i], &closed);
		if (closed && !*r)
			refused++;
		free(r);
	}
	assert_true(refused >= 3);
	for (size_t i = 0; i < RD_ARRAY_LEN(fds); i++)
		close(fds[i]);
	/* once they are gone the server takes new scrapers again */
	usleep(100000);
	r = fetch(s, req);
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_format),
		cmocka_unit_test(test_register_rejects),
		cmocka_unit_test_setup_teardown(test_get_metrics, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_healthz, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_errors, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_oversized_request, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_split_request, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_silent_client_times_out, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_many_clients_bounded, server_setup, server_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

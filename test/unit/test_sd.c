/* sd: notifications reach a real unix datagram socket named by NOTIFY_SOCKET;
 * watchdog pings come from the event loop; JOURNAL_STREAM detection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "sd.h"

static char dir[64];
static char sock_path[100];
static int sock_fd = -1;

static int setup(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rd-test-sd.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/notify", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock_fd < 0 || bind(sock_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -1;
	setenv("NOTIFY_SOCKET", sock_path, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	close(sock_fd);
	unlink(sock_path);
	rmdir(dir);
	return 0;
}

/* Next datagram within timeout_ms, or "" on timeout. */
static const char *next_msg(int timeout_ms)
{
	static char buf[1024];
	struct pollfd p = { .fd = sock_fd, .events = POLLIN };
	buf[0] = '\0';
	if (poll(&p, 1, timeout_ms) == 1) {
		ssize_t n = recv(sock_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
	}
	return buf;
}

static void test_ready_stopping_status(void **state)
{
	(void)state;
	rd_sd_ready();
	assert_string_equal(next_msg(2000), "READY=1");
	rd_sd_status("serving %d peers", 3);
	assert_string_equal(next_msg(2000), "STATUS=serving 3 peers");
	rd_sd_status("two\nlines");
	assert_string_equal(next_msg(2000), "STATUS=two");
	rd_sd_stopping();
	assert_string_equal(next_msg(2000), "STOPPING=1");
	assert_string_equal(next_msg(50), "");
}

static void test_no_socket_is_noop(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	rd_sd_ready();
	rd_sd_status("x");
	rd_sd_stopping();
	assert_string_equal(next_msg(50), "");
}

static void stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int run_loop_count_pings(struct ev_loop *loop, double secs)
{
	ev_timer stop;
	int n = 0;
	ev_timer_init(&stop, stop_cb, secs, 0.);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	ev_timer_stop(loop, &stop);
	for (;;) {
		const char *m = next_msg(0);
		if (!*m)
			break;
		assert_string_equal(m, "WATCHDOG=1");
		n++;
	}
	return n;
}

static void test_watchdog(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char pid[32];
	assert_non_null(loop);

	/* WatchdogSec=200ms: pings every 100 ms */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_USEC", "200000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	rd_sd_watchdog_start(loop);
	int n = run_loop_count_pings(loop, 0.55);
	assert_true(n >= 3);
	assert_true(n <= 8);
	rd_sd_watchdog_stop(loop);
	n = run_loop_count_pings(loop, 0.25);
	assert_int_equal(n, 0);

	/* the watchdog is meant for another process: nothing */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	rd_sd_watchdog_start(loop);
	assert_int_equal(run_loop_count_pings(loop, 0.25), 0);
	rd_sd_watchdog_stop(loop);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	rd_sd_watchdog_start(loop);
	assert_int_equal(run_loop_count_pings(loop, 0.25), 0);
	ev_loop_destroy(loop);
}

static void test_journal_stderr(void **state)
{
	(void)state;
	struct stat st;
	char env[64];
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	unsetenv("JOURNAL_STREAM");
	assert_false(rd_sd_journal_stderr());
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_true(rd_sd_journal_stderr());
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev + 1,
		(unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_false(rd_sd_journal_stderr());
	snprintf(env, sizeof(env), "%llu:%llux", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_false(rd_sd_journal_stderr());
	setenv("JOURNAL_STREAM", "", 1);
	assert_false(rd_sd_journal_stderr());
	unsetenv("JOURNAL_STREAM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ready_stopping_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_socket_is_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
		cmocka_unit_test(test_journal_stderr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

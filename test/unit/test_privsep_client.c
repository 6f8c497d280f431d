/* privsep client (agent/privsep.c): direct mode, and helper mode against a
 * scripted fake helper that answers right, wrong (another type, extra or
 * missing descriptors, odd sizes) or not at all: the client returns an error
 * with errno set, closes every unexpected descriptor, and reconnects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/capture/drm_fb.h"
#include "agent/helper/privsep_proto.h"
#include "agent/privsep.h"
#include "err.h"

enum act { GOOD, WRONG_TYPE, TWO_FDS, REFUSE_WITH_FD, LONG, SILENT, HANG_UP, REFUSE };

static char sock_path[108];
static int listener = -1;
/* Shared with the fake helper, a child process (so the descriptors counted
 * in /proc/self/fd are the client's alone). */
static struct shared {
	volatile enum act next_act;
	volatile int got_type, got_nfds, connections;
} *sh;
#define next_act (sh->next_act)
#define got_type (sh->got_type)
#define got_nfds (sh->got_nfds)
#define connections (sh->connections)

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void send_rep(int s, const void *rep, size_t len, int nfds)
{
	int fds[2] = { open("/dev/null", O_RDONLY | O_CLOEXEC), open("/dev/null", O_RDONLY | O_CLOEXEC) };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(fds))]; } cb;
	struct iovec iov = { (void *)rep, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		m.msg_control = cb.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	sendmsg(s, &m, MSG_NOSIGNAL);
	close(fds[0]);
	close(fds[1]);
}

/* One request on s, answered as next_act says. false: s was closed. */
static bool fake_serve(int s)
{
	struct privsep_wire_req w;
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int) * 4)]; } cb;
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
		.msg_controllen = sizeof(cb.b) };
	if (recvmsg(s, &m, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(w))
		return false;
	got_type = w.type;
	got_nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, got_nfds++)
			close(((int *)CMSG_DATA(c))[i]);
	uint8_t raw[sizeof(struct privsep_wire_rep) + 8] = { 0 };
	struct privsep_wire_rep rep;
	privsep_rep_init(&rep, w.type);
	int nfds = privsep_rep_nfds(w.type, 0);
	memcpy(rep.cookie, "0123456789abcdef", 16);
	rep.width = 640, rep.height = 480, rep.handle = 7, rep.fb_id = w.arg;
	switch (next_act) {
	case GOOD: break;
	case WRONG_TYPE: rep.type = (uint16_t)(w.type % 5 + 1); break;
	case TWO_FDS: nfds = 2; break;
	case REFUSE_WITH_FD: rep.status = EACCES; nfds = 1; break;
	case REFUSE: rep.status = EACCES; nfds = 0; break;
	case LONG:
		memcpy(raw, &rep, sizeof(rep));
		send_rep(s, raw, sizeof(raw), nfds);
		return true;
	case SILENT: return true;
	case HANG_UP: return false;
	}
	send_rep(s, &rep, sizeof(rep), nfds);
	return true;
}

static void fake_helper(void)
{
	for (;;) {
		int s = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0)
			_exit(0);
		connections++;
		while (fake_serve(s))
			;
		close(s);
	}
}

static void test_direct(void **state)
{
	(void)state;
	uint8_t c[16];
	int fd;
	assert_int_equal(privsep_init(NULL, false), RD_OK);
	assert_false(privsep_active());
	assert_int_equal(privsep_x11_cookie(":0", c), RD_ERR_NOTFOUND);
	assert_int_equal(privsep_x11_cookie("otherhost:0", c), RD_ERR_INVAL);
	assert_int_equal(privsep_x11_cookie(":10000", c), RD_ERR_INVAL);
	assert_int_equal(privsep_x11_cookie(NULL, c), RD_ERR_INVAL);
	assert_int_equal(privsep_pipewire(&fd), RD_ERR_NOTFOUND);
	assert_int_equal(privsep_uinput((enum privsep_uinput)7, &fd), RD_ERR_INVAL);
	assert_int_equal(privsep_drm_open(16, &fd), RD_ERR_INVAL);
	/* No socket there: direct unless required. */
	assert_int_equal(privsep_init("/nonexistent/helper.sock", false), RD_OK);
	assert_false(privsep_active());
	assert_int_not_equal(privsep_init("/nonexistent/helper.sock", true), RD_OK);
	assert_true(privsep_active());
	assert_int_equal(privsep_pipewire(&fd), RD_ERR_IO);
	assert_int_equal(fd, -1);
}

static void test_helper(void **state)
{
	(void)state;
	uint8_t c[16];
	int fd, before = open_fds();
	assert_int_equal(privsep_init(sock_path, true), RD_OK);
	assert_true(privsep_active());
	next_act = GOOD;
	assert_int_equal(privsep_x11_cookie(":57.0", c), RD_OK);
	assert_memory_equal(c, "0123456789abcdef", 16);
	assert_int_equal(got_type, PRIVSEP_X11_COOKIE);
	assert_int_equal(privsep_pipewire(&fd), RD_OK);
	assert_true(fd >= 0);
	close(fd);
	/* DRM_FB carries the caller's descriptor, and only that. */
	struct drm_fbinfo fi;
	uint32_t handle;
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_int_equal(privsep_drm_fb(nul, 42, &fi, &handle), RD_OK);
	assert_int_equal(got_nfds, 1);
	assert_int_equal(fi.fb_id, 42);
	assert_int_equal(fi.width, 640);
	assert_int_equal(handle, 7);
	close(nul);
	next_act = REFUSE;
	errno = 0;
	assert_int_equal(privsep_uinput(PRIVSEP_UINPUT_POINTER, &fd), RD_ERR_PERM);
	assert_int_equal(errno, EACCES);
	assert_int_equal(fd, -1);
	assert_int_equal(connections, 1);
	privsep_close();
	assert_int_equal(open_fds(), before);
}

static void test_bad_replies(void **state)
{
	(void)state;
	static const struct { enum act act; int err; } cases[] = {
		{ WRONG_TYPE, EPROTO }, { TWO_FDS, EPROTO }, { REFUSE_WITH_FD, EPROTO },
		{ LONG, EPROTO }, { HANG_UP, ECONNRESET }, { SILENT, ETIMEDOUT },
	};
	int fd, before = open_fds();
	assert_int_equal(privsep_init(sock_path, true), RD_OK);
	next_act = GOOD;
	assert_int_equal(privsep_drm_open(3, &fd), RD_OK);	/* the fake helper has accepted */
	close(fd);
	int conns = connections;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		next_act = cases[i].act;
		errno = 0;
		assert_int_equal(privsep_uinput(PRIVSEP_UINPUT_KEYBOARD, &fd), RD_ERR_IO);
		assert_int_equal(errno, cases[i].err);
		assert_int_equal(fd, -1);
		/* The next call is on a new connection, and works. */
		next_act = GOOD;
		assert_int_equal(privsep_drm_open(3, &fd), RD_OK);
		close(fd);
		assert_int_equal(connections, conns + (int)i + 1);
	}
	privsep_close();
	assert_int_equal(open_fds(), before);
}

int main(void)
{
	snprintf(sock_path, sizeof(sock_path), "%s/rd-test-privsep.%d",
		getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, sock_path, sizeof(sock_path));
	listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	unlink(sock_path);
	if (bind(listener, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(listener, 4) != 0)
		return 1;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	pid_t child = fork();
	if (child == 0)
		fake_helper();
	close(listener);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_helper),
		cmocka_unit_test(test_bad_replies),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	unlink(sock_path);
	return rc;
}

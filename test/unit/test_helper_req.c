/* helper_req: rd-agent-helper's request table on test folders: what is not a
 * DRM primary node is refused before any ioctl, missing things are ENOENT,
 * a cookie and a PipeWire socket come back, and no descriptor leaks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/helper/helper.h"
#include "agent/privsep.h"
#include "err.h"

static char tmpdir[256];
static struct helper_config cfg;
static int pw_listener = -1;

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

static char *in_tmp(const char *name)
{
	static char path[8][512];
	static int i;
	i = (i + 1) % 8;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	return path[i];
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/rd-test-helper.XXXXXX",
		getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	/* card0 a plain file, card1 a link to /dev/null, card2 missing. */
	mkdir(in_tmp("dri"), 0755);
	close(open(in_tmp("dri/card0"), O_CREAT | O_WRONLY, 0600));
	if (symlink("/dev/null", in_tmp("dri/card1")) != 0)
		return -1;
	/* An Xauthority with one entry for this host's display 57. */
	char host[HOST_NAME_MAX + 1];
	uint8_t b[256];
	gethostname(host, sizeof(host));
	size_t hl = strlen(host), n = 0;
	b[n++] = 1, b[n++] = 0, b[n++] = (uint8_t)(hl >> 8), b[n++] = (uint8_t)hl;
	memcpy(b + n, host, hl), n += hl;
	memcpy(b + n, "\0\00257\0\022MIT-MAGIC-COOKIE-1\0\020", 26), n += 26;
	memcpy(b + n, "0123456789abcdef", 16), n += 16;
	FILE *f = fopen(in_tmp("Xauthority"), "wb");
	fwrite(b, 1, n, f);
	fclose(f);
	/* A listening stream socket for PipeWire. */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", in_tmp("pipewire-0"));
	pw_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(pw_listener, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(pw_listener, 4) != 0)
		return -1;
	cfg = (struct helper_config){ .n_uids = 1, .xauthority = in_tmp("Xauthority"),
		.runtime_dir = tmpdir, .pw_remote = "pipewire-0", .uinput = in_tmp("no-uinput"),
		.dri_dir = in_tmp("dri") };
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	close(pw_listener);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *call(unsigned type, uint32_t arg, int in_fd, struct privsep_wire_rep *rep,
	int *out_fd)
{
	struct privsep_req r = { (enum privsep_type)type, arg };
	const char *why = helper_handle(&cfg, &r, in_fd, rep, out_fd);
	assert_int_equal(rep->magic, PRIVSEP_MAGIC);
	assert_int_equal(rep->type, type);
	if (rep->status)
		assert_int_equal(*out_fd, -1);
	return why;
}

static void test_drm(void **state)
{
	(void)state;
	struct privsep_wire_rep rep;
	int fd, before = open_fds();
	assert_non_null(call(PRIVSEP_DRM_OPEN, 0, -1, &rep, &fd));
	assert_int_equal(rep.status, ENODEV);
	assert_non_null(call(PRIVSEP_DRM_OPEN, 1, -1, &rep, &fd));
	assert_int_equal(rep.status, ENODEV);
	assert_null(call(PRIVSEP_DRM_OPEN, 2, -1, &rep, &fd));
	assert_int_equal(rep.status, ENOENT);
	/* DRM_FB on anything but a DRM node: refused, whatever the fd is. */
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC), sv[2];
	assert_non_null(call(PRIVSEP_DRM_FB, 1, nul, &rep, &fd));
	assert_int_equal(rep.status, ENODEV);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_non_null(call(PRIVSEP_DRM_FB, 1, sv[0], &rep, &fd));
	assert_int_equal(rep.status, ENODEV);
	close(nul);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(open_fds(), before);
}

static void test_uinput(void **state)
{
	(void)state;
	struct privsep_wire_rep rep;
	int fd, before = open_fds();
	assert_null(call(PRIVSEP_UINPUT, PRIVSEP_UINPUT_KEYBOARD, -1, &rep, &fd));
	assert_int_equal(rep.status, ENOENT);
	/* A node that is no uinput: the ioctls fail, the descriptor is closed. */
	cfg.uinput = "/dev/null";
	assert_null(call(PRIVSEP_UINPUT, PRIVSEP_UINPUT_POINTER, -1, &rep, &fd));
	assert_int_not_equal(rep.status, 0);
	cfg.uinput = in_tmp("no-uinput");
	assert_int_equal(open_fds(), before);
}

static void test_cookie(void **state)
{
	(void)state;
	struct privsep_wire_rep rep;
	int fd;
	assert_null(call(PRIVSEP_X11_COOKIE, 57, -1, &rep, &fd));
	assert_int_equal(rep.status, 0);
	assert_memory_equal(rep.cookie, "0123456789abcdef", 16);
	assert_null(call(PRIVSEP_X11_COOKIE, 58, -1, &rep, &fd));
	assert_int_equal(rep.status, ENOENT);
	for (int i = 0; i < 16; i++)
		assert_int_equal(rep.cookie[i], 0);
	const char *x = cfg.xauthority;
	cfg.xauthority = NULL;
	assert_null(call(PRIVSEP_X11_COOKIE, 57, -1, &rep, &fd));
	assert_int_equal(rep.status, ENOENT);
	cfg.xauthority = in_tmp("dri");	/* a folder */
	call(PRIVSEP_X11_COOKIE, 57, -1, &rep, &fd);
	assert_int_not_equal(rep.status, 0);
	cfg.xauthority = x;
}

static void test_pipewire(void **state)
{
	(void)state;
	struct privsep_wire_rep rep;
	int fd, before = open_fds();
	assert_null(call(PRIVSEP_PIPEWIRE, 0, -1, &rep, &fd));
	assert_int_equal(rep.status, 0);
	assert_true(fd >= 0);
	int peer = accept(pw_listener, NULL, NULL);
	assert_true(peer >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	char c;
	assert_int_equal(read(peer, &c, 1), 1);
	close(peer);
	close(fd);
	cfg.pw_remote = "pipewire-1";
	assert_null(call(PRIVSEP_PIPEWIRE, 0, -1, &rep, &fd));
	assert_int_equal(rep.status, ENOENT);
	cfg.pw_remote = "pipewire-0";
	cfg.runtime_dir = NULL;
	assert_null(call(PRIVSEP_PIPEWIRE, 0, -1, &rep, &fd));
	assert_int_equal(rep.status, ENOENT);
	cfg.runtime_dir = tmpdir;
	assert_int_equal(open_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drm),
		cmocka_unit_test(test_uinput),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_pipewire),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

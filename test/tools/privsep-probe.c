/* privsep-probe: call one privsep_* function (agent/privsep.h) and print what
 * came back, so tests drive rd-agent-helper without the whole agent.
 *
 *   privsep-probe [--socket PATH] [--required] [--repeat N] [--pause SECS] VERB ARG...
 *
 * Without --socket the client is in direct mode. VERBs:
 *   drm-open CARD             the card's node:  "ok drm-open: char 226:N"
 *   drm-fb CARD [FB_ID]       DRM_FB on a card opened through privsep (FB_ID 0 or
 *                             none: the first lit CRTC's), then map it as rd-agent
 *                             does: "ok drm-fb: WxH FOURCC pitch P handle H sum S"
 *   drm-fb-fd PATH FB_ID      DRM_FB on PATH opened here (any file)
 *   uinput keyboard|pointer   "ok uinput: inputN "NAME"", after a key or a move
 *                             written through the descriptor
 *   cookie DISPLAY            "ok cookie: HEX"
 *   pipewire                  "ok pipewire: unix stream socket, connected to "NAME""
 *                             (a PipeWire client connected on it, core info came)
 *   raw HEX [NFDS [COUNT]]    send the bytes (with NFDS descriptors of /dev/null)
 *                             COUNT times on one connection, without the client,
 *                             and print each answer: "reply status N type T" or
 *                             "closed"
 * A failure prints "error VERB: TEXT (errno NAME)". --repeat runs the verb N
 * times, SECS apart (default 1). Exit status 0 when every call succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <linux/uinput.h>
#include <pipewire/pipewire.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "agent/capture/drm_fb.h"
#include "agent/helper/privsep_proto.h"
#include "agent/privsep.h"
#include "err.h"
#include "log.h"
#include "util.h"

static const char *sock_path;

static int fail(const char *verb, int rc)
{
	int e = errno;
	printf("error %s: %s (errno %s)\n", verb, rd_strerror(rc), e ? strerrorname_np(e) : "0");
	return 1;
}

static int do_drm_open(const char *arg)
{
	int fd;
	errno = 0;
	int rc = privsep_drm_open((unsigned)atoi(arg), &fd);
	if (rc != RD_OK)
		return fail("drm-open", rc);
	struct stat st;
	fstat(fd, &st);
	printf("ok drm-open: %s %u:%u\n", S_ISCHR(st.st_mode) ? "char" : "not-a-device",
		major(st.st_rdev), minor(st.st_rdev));
	close(fd);
	return 0;
}

/* The framebuffer the first lit CRTC shows. */
static uint32_t first_fb(int fd)
{
	uint32_t fb = 0;
	drmModeResPtr res = drmModeGetResources(fd);
	for (int i = 0; res && i < res->count_crtcs && !fb; i++) {
		drmModeCrtcPtr c = drmModeGetCrtc(fd, res->crtcs[i]);
		fb = c ? c->buffer_id : 0;
		drmModeFreeCrtc(c);
	}
	drmModeFreeResources(res);
	return fb;
}

static int drm_fb_on(int fd, const char *verb, uint32_t fb_id, bool map)
{
	struct drm_fbinfo fi;
	uint32_t handle;
	char fs[8], why[200];
	errno = 0;
	int rc = privsep_drm_fb(fd, fb_id, &fi, &handle);
	if (rc != RD_OK)
		return fail(verb, rc);
	printf("ok %s: %ux%u %s pitch %u handle %u", verb, fi.width, fi.height,
		drm_fourcc_str(fi.format, fs), fi.pitch, handle);
	if (map && drm_fb_check("probe", &fi, handle, why, sizeof(why)) == RD_OK) {
		struct drm_scanout m;
		if (drm_fb_map(fd, "probe", &fi, handle, &m) == RD_OK) {
			uint64_t sum = 0;
			for (uint32_t y = 0; y < fi.height; y++)
				for (uint32_t x = 0; x < fi.pitch; x += 4)
					sum += m.pix[(size_t)y * fi.pitch + x];
			printf(" mapped sum %llu", (unsigned long long)sum);
			drm_scanout_release(fd, &m);
		} else {
			printf(" map failed");
		}
	} else if (handle) {
		drmCloseBufferHandle(fd, handle);
	}
	printf("\n");
	return 0;
}

static int do_drm_fb(const char *card, const char *fb)
{
	int fd;
	errno = 0;
	int rc = privsep_drm_open((unsigned)atoi(card), &fd);
	if (rc != RD_OK)
		return fail("drm-fb", rc);
	uint32_t id = fb ? (uint32_t)strtoul(fb, NULL, 0) : 0;
	if (!id && !(id = first_fb(fd))) {
		printf("error drm-fb: no lit CRTC\n");
		close(fd);
		return 1;
	}
	rc = drm_fb_on(fd, "drm-fb", id, true);
	close(fd);
	return rc;
}

static int do_drm_fb_fd(const char *path, const char *fb)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("error drm-fb-fd: %s: %s\n", path, strerror(errno));
		return 1;
	}
	int rc = drm_fb_on(fd, "drm-fb-fd", (uint32_t)strtoul(fb, NULL, 0), false);
	close(fd);
	return rc;
}

static int emit(int fd, uint16_t type, uint16_t code, int32_t v)
{
	struct input_event ev = { .type = type, .code = code, .value = v };
	return write(fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev) ? 0 : -1;
}

static int do_uinput(const char *kind)
{
	bool ptr = !strcmp(kind, "pointer");
	int fd;
	errno = 0;
	int rc = privsep_uinput(ptr ? PRIVSEP_UINPUT_POINTER : PRIVSEP_UINPUT_KEYBOARD, &fd);
	if (rc != RD_OK)
		return fail("uinput", rc);
	char sys[64] = "", path[128], name[128] = "";
	ioctl(fd, UI_GET_SYSNAME(sizeof(sys)), sys);
	snprintf(path, sizeof(path), "/sys/devices/virtual/input/%s/name", sys);
	FILE *f = fopen(path, "r");
	if (f && fgets(name, sizeof(name), f))
		name[strcspn(name, "\n")] = '\0';
	if (f)
		fclose(f);
	int wr = ptr ? emit(fd, EV_ABS, ABS_X, 100) : emit(fd, EV_KEY, KEY_A, 1) |
		emit(fd, EV_SYN, SYN_REPORT, 0) | emit(fd, EV_KEY, KEY_A, 0);
	wr |= emit(fd, EV_SYN, SYN_REPORT, 0);
	printf("ok uinput: %s \"%s\"%s\n", sys, name, wr ? " (write failed)" : "");
	ioctl(fd, UI_DEV_DESTROY);
	close(fd);
	return 0;
}

static int do_cookie(const char *display)
{
	uint8_t c[PRIVSEP_COOKIE_LEN];
	errno = 0;
	int rc = privsep_x11_cookie(display, c);
	if (rc != RD_OK)
		return fail("cookie", rc);
	printf("ok cookie: ");
	for (size_t i = 0; i < sizeof(c); i++)
		printf("%02x", c[i]);
	printf("\n");
	return 0;
}

struct pw_probe {
	struct pw_main_loop *loop;
	char name[64];
	int done;
};

static void pw_info(void *data, const struct pw_core_info *info)
{
	struct pw_probe *p = data;
	rd_strlcpy(p->name, info->name ? info->name : "?", sizeof(p->name));
}

static void pw_done(void *data, uint32_t id, int seq)
{
	struct pw_probe *p = data;
	(void)id;
	(void)seq;
	p->done = 1;
	pw_main_loop_quit(p->loop);
}

static void pw_error(void *data, uint32_t id, int seq, int res, const char *msg)
{
	struct pw_probe *p = data;
	(void)id;
	(void)seq;
	(void)res;
	printf("# pipewire error: %s\n", msg);
	p->done = -1;
	pw_main_loop_quit(p->loop);
}

static void pw_timeout(void *data, uint64_t expirations)
{
	struct pw_probe *p = data;
	(void)expirations;
	pw_main_loop_quit(p->loop);
}

/* A PipeWire client on fd: core info and a sync answered within 5 s. */
static bool pw_client_on(int fd, char *name, size_t nlen)
{
	static const struct pw_core_events ev = { PW_VERSION_CORE_EVENTS, .info = pw_info,
		.done = pw_done, .error = pw_error };
	struct pw_probe p = { 0 };
	struct spa_hook hook;
	pw_init(NULL, NULL);
	p.loop = pw_main_loop_new(NULL);
	struct pw_context *ctx = pw_context_new(pw_main_loop_get_loop(p.loop), NULL, 0);
	struct pw_core *core = ctx ? pw_context_connect_fd(ctx, fd, NULL, 0) : NULL;
	if (core) {
		struct spa_source *t = pw_loop_add_timer(pw_main_loop_get_loop(p.loop), pw_timeout, &p);
		struct timespec ts = { 5, 0 };
		pw_loop_update_timer(pw_main_loop_get_loop(p.loop), t, &ts, NULL, false);
		pw_core_add_listener(core, &hook, &ev, &p);
		pw_core_sync(core, PW_ID_CORE, 0);
		pw_main_loop_run(p.loop);
		pw_core_disconnect(core);
	}
	if (ctx)
		pw_context_destroy(ctx);
	pw_main_loop_destroy(p.loop);
	rd_strlcpy(name, p.name, nlen);
	return p.done == 1;
}

static int do_pipewire(void)
{
	int fd, type = 0;
	errno = 0;
	int rc = privsep_pipewire(&fd);
	if (rc != RD_OK)
		return fail("pipewire", rc);
	struct sockaddr_un peer;
	socklen_t tl = sizeof(type), pl = sizeof(peer);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
	bool connected = getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 &&
		peer.sun_family == AF_UNIX;
	char name[64];
	if (!connected || type != SOCK_STREAM || !pw_client_on(fd, name, sizeof(name))) {
		printf("error pipewire: %s\n", !connected || type != SOCK_STREAM ?
			"not a connected unix stream socket" : "no PipeWire client connected on it");
		return 1;
	}
	printf("ok pipewire: unix stream socket, connected to \"%s\"\n", name);
	return 0;	/* pw_core_disconnect closed fd */
}

static int raw_send(int s, const uint8_t *msg, size_t len, int nfds)
{
	int fds[8];
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(fds))]; } cb;
	struct iovec iov = { (void *)msg, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	nfds = RD_CLAMP(nfds, 0, 8);
	for (int i = 0; i < nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nfds) {
		m.msg_control = cb.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	int rc = sendmsg(s, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return rc;
}

static int do_raw(const char *hex, int nfds, int count)
{
	uint8_t msg[256];
	size_t len = 0;
	for (const char *h = hex; h[0] && h[1] && len < sizeof(msg); h += 2)
		sscanf(h, "%2hhx", &msg[len++]);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	rd_strlcpy(sa.sun_path, sock_path ? sock_path : "", sizeof(sa.sun_path));
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct timeval tv = { 2, 0 };	/* a helper that reads nothing must not hang us */
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		printf("error raw: connect: %s\n", strerror(errno));
		close(s);
		return 1;
	}
	int bad = 0;
	for (int i = 0; i < count; i++) {
		struct privsep_wire_rep rep;
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t n = 0;	/* a send refused (EPIPE) is a closed connection too */
		if (raw_send(s, msg, len, nfds) == 0)
			n = poll(&p, 1, 2000) == 1 ? recv(s, &rep, sizeof(rep), 0) : -1;
		if (n == (ssize_t)sizeof(rep))
			printf("reply status %d type %u\n", rep.status, rep.type);
		else
			printf(n == 0 || (n < 0 && errno == ECONNRESET) ? "closed\n"
				: "no reply (%zd bytes)\n", n);
		bad |= n != (ssize_t)sizeof(rep);
	}
	close(s);
	return bad;
}

static int run_verb(int argc, char **argv)
{
	const char *v = argv[0], *a1 = argc > 1 ? argv[1] : NULL, *a2 = argc > 2 ? argv[2] : NULL;
	if (!strcmp(v, "drm-open") && a1)
		return do_drm_open(a1);
	if (!strcmp(v, "drm-fb") && a1)
		return do_drm_fb(a1, a2);
	if (!strcmp(v, "drm-fb-fd") && a2)
		return do_drm_fb_fd(a1, a2);
	if (!strcmp(v, "uinput") && a1)
		return do_uinput(a1);
	if (!strcmp(v, "cookie") && a1)
		return do_cookie(a1);
	if (!strcmp(v, "pipewire"))
		return do_pipewire();
	if (!strcmp(v, "raw") && a1)
		return do_raw(a1, a2 ? atoi(a2) : 0, argc > 3 ? atoi(argv[3]) : 1);
	fprintf(stderr, "privsep-probe: unknown verb or missing argument: %s\n", v);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "socket", 1, NULL, 's' }, { "required", 0, NULL, 'r' },
		{ "repeat", 1, NULL, 'n' }, { "pause", 1, NULL, 'p' }, { NULL, 0, NULL, 0 } };
	bool required = false;
	int repeat = 1, c;
	double pause = 1.0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	rd_log_init("privsep-probe");
	rd_log_set_level(RD_LOG_DEBUG);
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 's': sock_path = optarg; break;
		case 'r': required = true; break;
		case 'n': repeat = atoi(optarg); break;
		case 'p': pause = atof(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: privsep-probe [--socket PATH] [--required] [--repeat N] "
			"[--pause SECS] VERB ARG...\n");
		return 2;
	}
	if (strcmp(argv[optind], "raw") != 0 && privsep_init(sock_path, required) != RD_OK) {
		printf("error init: helper unreachable\n");
		return 1;
	}
	int rc = 0;
	for (int i = 0; i < repeat; i++) {
		if (i) {
			struct timespec ts = { (time_t)pause, (long)((pause - (time_t)pause) * 1e9) };
			nanosleep(&ts, NULL);
		}
		rc |= run_verb(argc - optind, argv + optind);
	}
	privsep_close();
	return rc;
}

/* drm-pattern: show known pictures on a KMS device, changing modes and
 * formats on request, so a capture of the screen can be checked.
 *
 *   drm-pattern [--card PATH] [--truth PREFIX] [--ready FILE] [--timeout S] STEP...
 *
 * STEP is WxH[:FORMAT] with FORMAT xrgb8888 (default) or rgb565, or "off"
 * (the CRTC is switched off: no active output). The program
 * becomes DRM master, sets the first mode the connected connector offers at
 * WxH with a dumb buffer holding a picture of that size (colour bars with a
 * step-specific order, a white frame and a checker square), then waits. On
 * SIGUSR1 it moves to the next STEP; on SIGTERM, or after the last STEP's
 * SIGUSR1, it restores what the CRTC showed before and exits.
 *
 * --truth PREFIX writes PREFIX-N.ppm, the picture of step N as the screen
 * shows it (RGB565 expanded the way a display does: high bits repeated).
 * --ready FILE: after each step is on screen, "N WxH\n" is appended to FILE.
 * --timeout S (default 60): restore and exit after S seconds whatever happens.
 * --flip HZ: flip HZ times a second between the step's picture and the next
 * step's picture at the same size (every pixel of the bars changes), for
 * benchmarks of a screen that changes completely. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

struct step {
	int w, h;
	uint32_t format;
};

struct buffer {
	uint32_t handle, fb_id, pitch;
	uint64_t size;
	uint8_t *map;
};

static volatile sig_atomic_t next_step, quit;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		next_step = 1;
	else
		quit = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "drm-pattern: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The colour at (x, y) of step n's picture, as 8-bit R, G, B. */
static void pattern_rgb(int n, int w, int h, int x, int y, uint8_t rgb[3])
{
	static const uint8_t bars[8][3] = {
		{ 255, 255, 255 }, { 255, 255, 0 }, { 0, 255, 255 }, { 0, 255, 0 },
		{ 255, 0, 255 }, { 255, 0, 0 }, { 0, 0, 255 }, { 0, 0, 0 },
	};
	int b = (x * 8 / w + n * 3) % 8;	/* the bar order depends on the step */
	memcpy(rgb, bars[b], 3);
	if (x < 4 || y < 4 || x >= w - 4 || y >= h - 4) {	/* white frame */
		rgb[0] = rgb[1] = rgb[2] = 255;
		return;
	}
	int bx = w / 4 + n * 16, by = h / 3;	/* checker square, 128x128 */
	if (x >= bx && x < bx + 128 && y >= by && y < by + 128) {
		int on = ((x - bx) / 16 + (y - by) / 16) % 2;
		rgb[0] = rgb[1] = rgb[2] = on ? 240 : 16;
	}
	if (y >= h - 64 && y < h - 4) {	/* a grey ramp along the bottom */
		uint8_t v = (uint8_t)(x * 255 / (w - 1));
		rgb[0] = rgb[1] = rgb[2] = v;
	}
}

static void draw(struct buffer *b, const struct step *s, int n, FILE *truth)
{
	if (truth)
		fprintf(truth, "P6\n%d %d\n255\n", s->w, s->h);
	for (int y = 0; y < s->h; y++) {
		uint8_t *row = b->map + (size_t)y * b->pitch;
		for (int x = 0; x < s->w; x++) {
			uint8_t c[3];
			pattern_rgb(n, s->w, s->h, x, y, c);
			if (s->format == DRM_FORMAT_RGB565) {
				unsigned r = c[0] >> 3, g = c[1] >> 2, bl = c[2] >> 3;
				uint16_t p = (uint16_t)(r << 11 | g << 5 | bl);
				memcpy(row + 2 * x, &p, 2);
				c[0] = (uint8_t)(r << 3 | r >> 2);
				c[1] = (uint8_t)(g << 2 | g >> 4);
				c[2] = (uint8_t)(bl << 3 | bl >> 2);
			} else {
				row[4 * x] = c[2];
				row[4 * x + 1] = c[1];
				row[4 * x + 2] = c[0];
				row[4 * x + 3] = 0;
			}
			if (truth)
				fwrite(c, 1, 3, truth);
		}
	}
}

static void make_buffer(int fd, const struct step *s, struct buffer *b)
{
	struct drm_mode_create_dumb cd = { .width = (uint32_t)s->w, .height = (uint32_t)s->h,
		.bpp = s->format == DRM_FORMAT_RGB565 ? 16 : 32 };
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd) != 0)
		die("create dumb buffer");
	b->handle = cd.handle;
	b->pitch = cd.pitch;
	b->size = cd.size;
	uint32_t handles[4] = { cd.handle }, pitches[4] = { cd.pitch }, offsets[4] = { 0 };
	if (drmModeAddFB2(fd, (uint32_t)s->w, (uint32_t)s->h, s->format, handles, pitches, offsets,
		&b->fb_id, 0) != 0)
		die("add framebuffer");
	struct drm_mode_map_dumb md = { .handle = cd.handle };
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md) != 0)
		die("map dumb buffer");
	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)md.offset);
	if (b->map == MAP_FAILED)
		die("mmap");
}

static void free_buffer(int fd, struct buffer *b)
{
	if (!b->fb_id)
		return;
	munmap(b->map, b->size);
	drmModeRmFB(fd, b->fb_id);
	struct drm_mode_destroy_dumb dd = { .handle = b->handle };
	drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	memset(b, 0, sizeof(*b));
}

/* Alternate between b and a second buffer with the next step's picture
 * until a signal comes. */
static void flip_loop(int fd, uint32_t crtc_id, const struct step *s, int n, struct buffer *b,
	int hz)
{
	struct buffer other = { 0 };
	make_buffer(fd, s, &other);
	draw(&other, s, n + 1, NULL);
	uint32_t fbs[2] = { b->fb_id, other.fb_id };
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	long step_ns = 1000000000L / hz;
	for (unsigned k = 1; !next_step && !quit; k++) {
		next.tv_nsec += step_ns;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		drmModePageFlip(fd, crtc_id, fbs[k % 2], 0, NULL);
	}
	drmModePageFlip(fd, crtc_id, b->fb_id, 0, NULL);
	usleep(50000);
	free_buffer(fd, &other);
}

static int parse_step(const char *a, struct step *s)
{
	char fmt[16] = "xrgb8888";
	if (strcmp(a, "off") == 0) {
		s->w = s->h = 0;
		return 0;
	}
	if (sscanf(a, "%dx%d:%15s", &s->w, &s->h, fmt) < 2)
		return -1;
	if (strcmp(fmt, "xrgb8888") == 0)
		s->format = DRM_FORMAT_XRGB8888;
	else if (strcmp(fmt, "rgb565") == 0)
		s->format = DRM_FORMAT_RGB565;
	else
		return -1;
	return s->w > 64 && s->h > 64 ? 0 : -1;
}

/* The first connected connector with modes, and the CRTC that drives it. */
static drmModeConnectorPtr find_output(int fd, drmModeResPtr res, uint32_t *crtc_id)
{
	drmModeConnectorPtr conn = NULL;
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		conn = drmModeGetConnector(fd, res->connectors[i]);
		if (conn && (conn->connection != DRM_MODE_CONNECTED || !conn->count_modes)) {
			drmModeFreeConnector(conn);
			conn = NULL;
		}
	}
	if (!conn)
		die("no connected connector");
	*crtc_id = res->crtcs[0];
	drmModeEncoderPtr enc = conn->encoder_id ? drmModeGetEncoder(fd, conn->encoder_id) : NULL;
	if (enc && enc->crtc_id)
		*crtc_id = enc->crtc_id;
	drmModeFreeEncoder(enc);
	return conn;
}

/* Draw step n into a new buffer (and its truth file) and put it on screen;
 * the previous buffer is freed. */
static int show_step(int fd, drmModeConnectorPtr conn, uint32_t crtc_id, const struct step *s,
	int n, const char *truth, struct buffer *cur)
{
	if (s->w == 0) {	/* off */
		if (drmModeSetCrtc(fd, crtc_id, 0, 0, 0, NULL, 0, NULL) != 0)
			die("switch the CRTC off");
		struct buffer old = *cur;
		memset(cur, 0, sizeof(*cur));
		free_buffer(fd, &old);
		return 0;
	}
	drmModeModeInfoPtr mode = NULL;
	for (int i = 0; i < conn->count_modes && !mode; i++)
		if (conn->modes[i].hdisplay == s->w && conn->modes[i].vdisplay == s->h)
			mode = &conn->modes[i];
	if (!mode) {
		fprintf(stderr, "drm-pattern: the connector has no mode %dx%d\n", s->w, s->h);
		return -1;
	}
	struct buffer old = *cur;
	make_buffer(fd, s, cur);
	FILE *tf = NULL;
	if (truth) {
		char path[512];
		snprintf(path, sizeof(path), "%s-%d.ppm", truth, n);
		tf = fopen(path, "wb");
	}
	draw(cur, s, n, tf);
	if (tf)
		fclose(tf);
	if (drmModeSetCrtc(fd, crtc_id, cur->fb_id, 0, 0, &conn->connector_id, 1, mode) != 0)
		die("set mode");
	free_buffer(fd, &old);
	return 0;
}

static void append_line(const char *path, int n, const struct step *s)
{
	FILE *f = path ? fopen(path, "a") : NULL;
	if (f) {
		fprintf(f, "%d %dx%d\n", n, s->w, s->h);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	const char *card = "/dev/dri/card0", *truth = NULL, *ready = NULL;
	struct step steps[8];
	int n_steps = 0, limit = 60, flip_hz = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--card") == 0 && i + 1 < argc)
			card = argv[++i];
		else if (strcmp(argv[i], "--truth") == 0 && i + 1 < argc)
			truth = argv[++i];
		else if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc)
			ready = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			limit = atoi(argv[++i]);
		else if (strcmp(argv[i], "--flip") == 0 && i + 1 < argc)
			flip_hz = atoi(argv[++i]);
		else if (n_steps < 8 && parse_step(argv[i], &steps[n_steps]) == 0)
			n_steps++;
		else {
			fprintf(stderr, "usage: drm-pattern [--card PATH] [--truth PREFIX] "
				"[--ready FILE] [--timeout S] [--flip HZ] WxH[:xrgb8888|rgb565]...\n");
			return 2;
		}
	}
	if (!n_steps)
		return 2;
	int fd = open(card, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(card);
	if (!drmIsMaster(fd) && drmSetMaster(fd) != 0)
		die("become DRM master");
	drmModeResPtr res = drmModeGetResources(fd);
	if (!res)
		die("get resources");
	uint32_t crtc_id;
	drmModeConnectorPtr conn = find_output(fd, res, &crtc_id);
	drmModeCrtcPtr saved = drmModeGetCrtc(fd, crtc_id);
	/* Signals stay blocked except inside sigsuspend: none is lost. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, wait_mask;
	sigemptyset(&block);
	int sigs[] = { SIGUSR1, SIGTERM, SIGINT, SIGALRM };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	alarm(limit > 0 ? (unsigned)limit : 60);
	struct buffer cur = { 0 };
	for (int n = 0; n < n_steps && !quit; n++) {
		if (show_step(fd, conn, crtc_id, &steps[n], n, truth, &cur) < 0)
			break;
		append_line(ready, n, &steps[n]);
		if (flip_hz > 0 && steps[n].w) {
			sigprocmask(SIG_SETMASK, &wait_mask, NULL);
			flip_loop(fd, crtc_id, &steps[n], n, &cur, flip_hz);
			sigprocmask(SIG_BLOCK, &block, NULL);
		}
		while (!next_step && !quit)
			sigsuspend(&wait_mask);
		next_step = 0;
	}
	/* Give the screen back as it was (the console's framebuffer and mode). */
	if (saved && saved->buffer_id && saved->mode_valid)
		drmModeSetCrtc(fd, crtc_id, saved->buffer_id, saved->x, saved->y, &conn->connector_id,
			1, &saved->mode);
	free_buffer(fd, &cur);
	drmModeFreeCrtc(saved);
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	close(fd);
	return 0;
}

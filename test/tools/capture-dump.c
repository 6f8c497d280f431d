/* capture-dump: run a capture backend (and optionally an encoder, or the whole
 * video pipeline) for a while and report what it produced.
 *
 *   capture-dump [--backend B] [--display D] [--frames N] [--seconds S]
 *                [--fps F] [--ppm FILE] [--encode h264|vp9] [--out FILE]
 *                [--quality Q] [--pipeline] [--state-dir DIR] [--helper PATH]
 *   capture-dump --rate-info [--quality Q] [--fps F] [--size WxH]
 *
 * Direct mode grabs at F per second and prints one line per frame:
 *   frame SEQ WxH rects N area A bbox X,Y,W,H [bytes B key K]
 * --ppm writes the last frame (P6); --out writes the encoded stream (raw, or
 * IVF when the name ends in .ivf).
 * --helper PATH opens the card, the X cookie or the PipeWire socket through
 * rd-agent-helper at PATH, as rd-agent does when split; without it, this
 * process opens them itself.
 * --pipeline runs video.h on a libev loop instead (what rd-agent runs) and
 * prints packets as they come. Both end with one line:
 *   summary frames N encoded N bytes N keyframes N seconds S cpu_ms C fps F
 * where cpu_ms is the process CPU time (user + system). --rate-info prints
 * what the encoders derive from the quality: "KBPS H264_CRF VP9_MIN_Q". */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "agent/capture.h"
#include "agent/encoder.h"
#include "agent/privsep.h"
#include "agent/video.h"
#include "err.h"
#include "log.h"
#include "util.h"

struct opts {
	const char *backend, *display, *ppm, *out;
	const char *state_dir;     /* --state-dir: the agent's data folder */
	const char *helper;        /* --helper: rd-agent-helper's socket */
	int frames, fps, quality;
	double seconds;
	enum video_codec codec;
	bool encode, pipeline, rate_info;
	int width, height;
};

struct totals {
	uint64_t frames, encoded, bytes, keys;
	FILE *out;
	bool ivf;                  /* --out FILE.ivf: VP9 in an IVF container */
	bool ivf_header;
	double t0;
	const struct opts *o;
	struct ev_loop *loop;
};

static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int write_ppm(const char *path, const struct capture_frame *f)
{
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return RD_ERR_IO;
	fprintf(fp, "P6\n%d %d\n255\n", f->width, f->height);
	uint8_t *row = malloc((size_t)f->width * 3);
	for (int y = 0; row && y < f->height; y++) {
		const uint8_t *s = f->data + (size_t)y * f->stride;
		for (int x = 0; x < f->width; x++) {
			row[3 * x] = s[4 * x + 2];
			row[3 * x + 1] = s[4 * x + 1];
			row[3 * x + 2] = s[4 * x];
		}
		fwrite(row, 3, (size_t)f->width, fp);
	}
	free(row);
	return fclose(fp) == 0 && row ? 0 : RD_ERR_IO;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Raw stream (Annex B H.264) or, for .ivf, the IVF container ffmpeg reads. */
static void write_packet(struct totals *t, const uint8_t *data, size_t len, int64_t pts,
	int w, int h)
{
	if (!t->out)
		return;
	if (t->ivf && !t->ivf_header) {
		uint8_t hd[32] = { 'D', 'K', 'I', 'F' };
		put_le(hd + 6, 32, 2);
		memcpy(hd + 8, "VP90", 4);
		put_le(hd + 12, (uint64_t)w, 2);
		put_le(hd + 14, (uint64_t)h, 2);
		put_le(hd + 16, 1000, 4);	/* timebase 1/1000 */
		put_le(hd + 20, 1, 4);
		fwrite(hd, 1, sizeof(hd), t->out);
		t->ivf_header = true;
	}
	if (t->ivf) {
		uint8_t fh[12];
		put_le(fh, len, 4);
		put_le(fh + 4, (uint64_t)pts, 8);
		fwrite(fh, 1, sizeof(fh), t->out);
	}
	fwrite(data, 1, len, t->out);
}

static void print_summary(const struct totals *t, double cpu0)
{
	double secs = rd_now() - t->t0;
	printf("summary frames %llu encoded %llu bytes %llu keyframes %llu seconds %.3f "
		"cpu_ms %.1f fps %.2f\n", (unsigned long long)t->frames,
		(unsigned long long)t->encoded, (unsigned long long)t->bytes,
		(unsigned long long)t->keys, secs, cpu_ms() - cpu0,
		secs > 0 ? (t->encoded ? t->encoded : t->frames) / secs : 0.0);
}

static void sleep_until(double when)
{
	double d = when - rd_now();
	if (d <= 0)
		return;
	struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run_direct(const struct opts *o)
{
	struct capture_config cc = { .backend = o->backend, .display = o->display,
		.state_dir = o->state_dir };
	struct capture *cap;
	struct encoder *enc = NULL;
	struct encoder_image img = { 0 };
	struct totals t = { .t0 = rd_now(), .o = o };
	double cpu0 = cpu_ms();
	int rc = capture_open(&cc, &cap);
	if (rc < 0)
		return rc;
	t.ivf = o->out && strlen(o->out) > 4 && strcmp(o->out + strlen(o->out) - 4, ".ivf") == 0;
	if (o->out && !(t.out = fopen(o->out, "wb"))) {
		rc = RD_ERR_IO;
		goto out;
	}
	double next = rd_now();
	for (;;) {
		if (o->frames && t.frames >= (uint64_t)o->frames)
			break;
		if (o->seconds > 0 && rd_now() - t.t0 >= o->seconds)
			break;
		sleep_until(next);
		next += 1.0 / o->fps;
		struct capture_frame *f;
		rc = capture_grab(cap, false, &f);
		if (rc == RD_CAPTURE_RETRY)
			continue;
		if (rc == RD_CAPTURE_REINIT) {
			rc = capture_reinit(cap);
			printf("reinit %dx%d\n", cap->width, cap->height);
			if (rc < 0)
				goto out;
			encoder_close(enc);
			enc = NULL;
			continue;
		}
		if (rc != RD_CAPTURE_DONE) {
			rc = RD_ERR_IO;
			goto out;
		}
		struct capture_rect bb = f->damage[0];
		long long area = 0;
		for (int i = 0; i < f->n_damage; i++) {
			capture_rect_union(&bb, &f->damage[i]);
			area += (long long)f->damage[i].w * f->damage[i].h;
		}
		printf("frame %llu %dx%d rects %d area %lld bbox %d,%d,%d,%d",
			(unsigned long long)f->seq, f->width, f->height, f->n_damage, area, bb.x, bb.y,
			bb.w, bb.h);
		t.frames++;
		if (o->encode) {
			bool fresh = !enc;
			if (fresh) {
				encoder_image_free(&img);
				struct encoder_config ec = { .codec = (enum encoder_codec)o->codec, .fps = o->fps,
					.quality = o->quality };
				rc = encoder_image_alloc(&img, f->width, f->height);
				ec.width = img.width;
				ec.height = img.height;
				if (rc == 0)
					rc = encoder_open(&ec, &enc);
				if (rc < 0) {
					capture_frame_release(cap, f);
					goto out;
				}
			}
			encoder_image_convert(&img, f, fresh ? NULL : f->damage, fresh ? 0 : f->n_damage);
			struct encoder_packet p;
			rc = encoder_encode(enc, &img, (int64_t)((rd_now() - t.t0) * 1000), false, &p);
			if (rc == RD_ENC_DONE) {
				printf(" bytes %zu key %d", p.len, p.key);
				t.encoded++;
				t.bytes += p.len;
				t.keys += p.key;
				write_packet(&t, p.data, p.len, p.pts_ms, img.width, img.height);
			}
		}
		printf("\n");
		if (o->ppm && (!o->frames || t.frames == (uint64_t)o->frames))
			write_ppm(o->ppm, f);
		capture_frame_release(cap, f);
	}
	rc = 0;
	print_summary(&t, cpu0);
out:
	if (t.out)
		fclose(t.out);
	encoder_close(enc);
	encoder_image_free(&img);
	capture_close(cap);
	return rc;
}

static void on_packet(struct video_packet *p, void *ud)
{
	struct totals *t = ud;
	t->encoded++;
	t->frames++;
	t->bytes += p->len;
	t->keys += p->key;
	printf("packet %llu %dx%d bytes %zu key %d pts %lld\n", (unsigned long long)t->encoded,
		p->width, p->height, p->len, p->key, (long long)p->pts_ms);
	write_packet(t, p->data, p->len, p->pts_ms, p->width, p->height);
	if (t->o->frames && t->encoded >= (uint64_t)t->o->frames)
		ev_break(t->loop, EVBREAK_ALL);
}

static void on_resize(const struct video_display *d, void *ud)
{
	(void)ud;
	printf("resize %dx%d\n", d->width, d->height);
}

static void on_error(int err, void *ud)
{
	struct totals *t = ud;
	printf("error %s\n", rd_strerror(err));
	ev_break(t->loop, EVBREAK_ALL);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int run_pipeline(const struct opts *o)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct video_config vc = { .backend = o->backend, .display = o->display, .fps = o->fps,
		.quality = o->quality, .state_dir = o->state_dir };
	struct video *v;
	struct video_sub *sub;
	struct totals t = { .o = o, .loop = loop };
	static const struct video_sub_ops ops = { on_packet, on_resize, on_error, NULL };
	int rc = video_new(loop, &vc, &v);
	if (rc < 0)
		return rc;
	t.ivf = o->out && strlen(o->out) > 4 && strcmp(o->out + strlen(o->out) - 4, ".ivf") == 0;
	if (o->out && !(t.out = fopen(o->out, "wb"))) {
		video_free(v);
		return RD_ERR_IO;
	}
	double cpu0 = cpu_ms();
	t.t0 = rd_now();
	rc = video_subscribe(v, o->codec, &ops, &t, &sub);
	if (rc == 0) {
		ev_timer stop;
		ev_timer_init(&stop, on_timeout, o->seconds > 0 ? o->seconds : 3600, 0);
		ev_timer_start(loop, &stop);
		ev_run(loop, 0);
		ev_timer_stop(loop, &stop);
		struct video_stats st;
		video_get_stats(v, &st);
		print_summary(&t, cpu0);
		printf("stats ticks %llu captured %llu encoded %llu\n", (unsigned long long)st.ticks,
			(unsigned long long)st.frames_captured, (unsigned long long)st.frames_encoded);
		video_unsubscribe(sub);
	}
	video_free(v);
	if (t.out)
		fclose(t.out);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: capture-dump [--backend B] [--display D] [--frames N] "
		"[--seconds S] [--fps F] [--ppm FILE] [--encode h264|vp9] [--out FILE] "
		"[--quality Q] [--pipeline] [--state-dir DIR] [--helper PATH]\n"
		"       capture-dump --rate-info [--quality Q] [--fps F] "
		"[--size WxH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "backend", 1, 0, 'b' }, { "display", 1, 0, 'd' }, { "frames", 1, 0, 'n' },
		{ "seconds", 1, 0, 's' }, { "fps", 1, 0, 'f' }, { "ppm", 1, 0, 'p' },
		{ "encode", 1, 0, 'e' }, { "out", 1, 0, 'o' }, { "quality", 1, 0, 'q' },
		{ "pipeline", 0, 0, 'P' }, { "rate-info", 0, 0, 'R' }, { "size", 1, 0, 'S' },
		{ "state-dir", 1, 0, 'D' }, { "helper", 1, 0, 'H' },
		{ 0, 0, 0, 0 },
	};
	struct opts o = { .backend = "auto", .fps = 30, .quality = 50, .codec = VIDEO_CODEC_H264,
		.width = 1920, .height = 1080 };
	int c;
	rd_log_init("capture-dump");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': o.backend = optarg; break;
		case 'd': o.display = optarg; break;
		case 'n': o.frames = atoi(optarg); break;
		case 's': o.seconds = atof(optarg); break;
		case 'f': o.fps = atoi(optarg); break;
		case 'p': o.ppm = optarg; break;
		case 'o': o.out = optarg; break;
		case 'q': o.quality = atoi(optarg); break;
		case 'P': o.pipeline = true; break;
		case 'D': o.state_dir = optarg; break;
		case 'H': o.helper = optarg; break;
		case 'R': o.rate_info = true; break;
		case 'S':
			if (sscanf(optarg, "%dx%d", &o.width, &o.height) != 2)
				usage();
			break;
		case 'e':
			o.encode = true;
			if (strcmp(optarg, "h264") == 0)
				o.codec = VIDEO_CODEC_H264;
			else if (strcmp(optarg, "vp9") == 0)
				o.codec = VIDEO_CODEC_VP9;
			else
				usage();
			break;
		default: usage();
		}
	}
	if (o.rate_info) {
		printf("%d %d %d\n", encoder_quality_to_kbps(o.quality, o.width, o.height, o.fps),
			encoder_quality_to_level(ENCODER_CODEC_H264, o.quality),
			encoder_quality_to_level(ENCODER_CODEC_VP9, o.quality));
		return 0;
	}
	if (o.fps < 1 || o.fps > 120 || (!o.frames && o.seconds <= 0))
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	int rc = o.helper ? privsep_init(o.helper, true) : RD_OK;
	if (rc == RD_OK)
		rc = o.pipeline ? run_pipeline(&o) : run_direct(&o);
	privsep_close();
	if (rc < 0) {
		fprintf(stderr, "capture-dump: %s\n", rd_strerror(rc));
		return 1;
	}
	return 0;
}

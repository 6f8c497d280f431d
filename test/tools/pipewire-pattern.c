/* pipewire-pattern: a PipeWire Video/Source node that changes size on
 * request, so a capture can be checked to follow format changes.
 *
 *   pipewire-pattern NAME WxH [WxH...]
 *
 * Publishes node NAME (BGRx, 10 fps, driving its own graph) showing a
 * picture that depends on the step: vertical bars in a step-specific order.
 * SIGUSR1 moves to the next size (the format is offered again, so the link
 * renegotiates); SIGTERM ends it. Prints "ready" once connected and
 * "step N WxH" when a step's format is negotiated. The stream, its loop and
 * timer are pw-src-common's. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pw-src-common.h"

struct app {
	struct pw_src src;
	int sizes[8][2];
	int n_sizes, step;
	int w, h, stride;
};

static void draw(struct app *a, uint8_t *p)
{
	static const uint8_t bars[4][3] = {	/* B, G, R */
		{ 0, 0, 255 }, { 0, 255, 0 }, { 255, 0, 0 }, { 255, 255, 255 },
	};
	for (int y = 0; y < a->h; y++) {
		uint8_t *row = p + (size_t)y * a->stride;
		for (int x = 0; x < a->w; x++) {
			const uint8_t *c = bars[(x * 4 / a->w + a->step) % 4];
			row[4 * x] = c[0];
			row[4 * x + 1] = c[1];
			row[4 * x + 2] = c[2];
			row[4 * x + 3] = 255;
		}
	}
}

static void on_process(void *data)
{
	struct app *a = data;
	struct pw_buffer *b = pw_stream_dequeue_buffer(a->src.stream);
	if (!b)
		return;
	struct spa_data *d = &b->buffer->datas[0];
	if (d->data && a->w > 0 && (uint32_t)(a->stride * a->h) <= d->maxsize) {
		draw(a, d->data);
		d->chunk->offset = 0;
		d->chunk->stride = a->stride;
		d->chunk->size = (uint32_t)(a->stride * a->h);
	}
	pw_stream_queue_buffer(a->src.stream, b);
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param)
{
	struct app *a = data;
	struct spa_video_info_raw info;
	if (!pw_src_format_parse(id, param, &info))
		return;
	a->w = (int)info.size.width;
	a->h = (int)info.size.height;
	a->stride = a->w * 4;
	pw_src_buffers(&a->src, SPA_DATA_MemFd, (uint32_t)(a->stride * a->h), (uint32_t)a->stride);
	printf("step %d %dx%d\n", a->step, a->w, a->h);
	fflush(stdout);
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.param_changed = on_param_changed,
	.process = on_process,
};

static void on_next(void *data, int sig)
{
	struct app *a = data;
	(void)sig;
	if (a->step + 1 >= a->n_sizes)
		return;
	a->step++;
	pw_src_reoffer(&a->src, a->sizes[a->step][0], a->sizes[a->step][1], false);
}

int main(int argc, char **argv)
{
	struct app a = { 0 };
	if (argc < 3) {
		fprintf(stderr, "usage: pipewire-pattern NAME WxH [WxH...]\n");
		return 2;
	}
	for (int i = 2; i < argc && a.n_sizes < 8; i++) {
		if (sscanf(argv[i], "%dx%d", &a.sizes[a.n_sizes][0], &a.sizes[a.n_sizes][1]) != 2 ||
		    a.sizes[a.n_sizes][0] < 16 || a.sizes[a.n_sizes][1] < 16)
			return 2;
		a.n_sizes++;
	}
	if (pw_src_init(&a.src, "pipewire-pattern") < 0)
		return 1;
	pw_loop_add_signal(pw_main_loop_get_loop(a.src.loop), SIGUSR1, on_next, &a);
	if (pw_src_stream(&a.src, "rdesk pattern", argv[1], &stream_events, &a) < 0 ||
	    pw_src_connect(&a.src, a.sizes[0][0], a.sizes[0][1], false, PW_STREAM_FLAG_MAP_BUFFERS) < 0)
		return 1;
	pw_src_run(&a.src);
	return 0;
}

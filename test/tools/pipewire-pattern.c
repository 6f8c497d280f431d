/* pipewire-pattern: a PipeWire Video/Source node that changes size on
 * request, so a capture can be checked to follow format changes.
 *
 *   pipewire-pattern NAME WxH [WxH...]
 *
 * Publishes node NAME (BGRx, 10 fps, driving its own graph) showing a
 * picture that depends on the step: vertical bars in a step-specific order.
 * SIGUSR1 moves to the next size (the format is offered again, so the link
 * renegotiates); SIGTERM ends it. Prints "step N WxH" when a step's format
 * is negotiated. */
#include <pipewire/pipewire.h>
#include <signal.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct app {
	struct pw_main_loop *loop;
	struct pw_stream *stream;
	struct spa_hook listener;
	struct spa_source *timer;
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
	struct pw_buffer *b = pw_stream_dequeue_buffer(a->stream);
	if (!b)
		return;
	struct spa_data *d = &b->buffer->datas[0];
	if (d->data && a->w > 0 && (uint32_t)(a->stride * a->h) <= d->maxsize) {
		draw(a, d->data);
		d->chunk->offset = 0;
		d->chunk->stride = a->stride;
		d->chunk->size = (uint32_t)(a->stride * a->h);
	}
	pw_stream_queue_buffer(a->stream, b);
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param)
{
	struct app *a = data;
	struct spa_video_info_raw info;
	if (id != SPA_PARAM_Format || !param || spa_format_video_raw_parse(param, &info) < 0)
		return;
	a->w = (int)info.size.width;
	a->h = (int)info.size.height;
	a->stride = a->w * 4;
	uint8_t buf[256];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1];
	params[0] = spa_pod_builder_add_object(&b, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
		SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(4, 2, 8),
		SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(1),
		SPA_PARAM_BUFFERS_size, SPA_POD_Int(a->stride * a->h),
		SPA_PARAM_BUFFERS_stride, SPA_POD_Int(a->stride),
		SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int(1 << SPA_DATA_MemFd));
	pw_stream_update_params(a->stream, params, 1);
	printf("step %d %dx%d\n", a->step, a->w, a->h);
	fflush(stdout);
}

static void on_state(void *data, enum pw_stream_state old, enum pw_stream_state state,
	const char *error)
{
	struct app *a = data;
	(void)old;
	if (state == PW_STREAM_STATE_ERROR) {
		fprintf(stderr, "pipewire-pattern: %s\n", error ? error : "stream error");
		pw_main_loop_quit(a->loop);
	}
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state,
	.param_changed = on_param_changed,
	.process = on_process,
};

static const struct spa_pod *format_param(struct spa_pod_builder *b, int w, int h)
{
	return spa_pod_builder_add_object(b, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_Id(SPA_VIDEO_FORMAT_BGRx),
		SPA_FORMAT_VIDEO_size, SPA_POD_Rectangle(&SPA_RECTANGLE((uint32_t)w, (uint32_t)h)),
		SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&SPA_FRACTION(10, 1)));
}

static void on_timer(void *data, uint64_t expirations)
{
	struct app *a = data;
	(void)expirations;
	pw_stream_trigger_process(a->stream);
}

static void on_next(void *data, int sig)
{
	struct app *a = data;
	(void)sig;
	if (a->step + 1 >= a->n_sizes)
		return;
	a->step++;
	uint8_t buf[512];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1] = {
		format_param(&b, a->sizes[a->step][0], a->sizes[a->step][1]),
	};
	pw_stream_update_params(a->stream, params, 1);
}

static void on_quit(void *data, int sig)
{
	struct app *a = data;
	(void)sig;
	pw_main_loop_quit(a->loop);
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
	pw_init(&argc, &argv);
	a.loop = pw_main_loop_new(NULL);
	struct pw_loop *l = pw_main_loop_get_loop(a.loop);
	pw_loop_add_signal(l, SIGUSR1, on_next, &a);
	pw_loop_add_signal(l, SIGTERM, on_quit, &a);
	pw_loop_add_signal(l, SIGINT, on_quit, &a);
	a.stream = pw_stream_new_simple(l, "rdesk pattern", pw_properties_new(
		PW_KEY_MEDIA_CLASS, "Video/Source", PW_KEY_NODE_NAME, argv[1], NULL),
		&stream_events, &a);
	uint8_t buf[512];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1] = { format_param(&b, a.sizes[0][0], a.sizes[0][1]) };
	if (pw_stream_connect(a.stream, PW_DIRECTION_OUTPUT, PW_ID_ANY,
		PW_STREAM_FLAG_DRIVER | PW_STREAM_FLAG_MAP_BUFFERS, params, 1) < 0) {
		fprintf(stderr, "pipewire-pattern: cannot connect\n");
		return 1;
	}
	a.timer = pw_loop_add_timer(l, on_timer, &a);
	struct timespec period = { 0, 100000000 };
	pw_loop_update_timer(l, a.timer, &period, &period, false);
	pw_main_loop_run(a.loop);
	pw_stream_destroy(a.stream);
	pw_main_loop_destroy(a.loop);
	pw_deinit();
	return 0;
}

/* The PipeWire test producers' shared stream: see pw-src-common.h. */
#include "pw-src-common.h"

#include <drm_fourcc.h>
#include <signal.h>
#include <stdio.h>

static void on_state(void *data, enum pw_stream_state old, enum pw_stream_state state,
	const char *error)
{
	struct pw_src *s = data;
	if (state == PW_STREAM_STATE_PAUSED && old == PW_STREAM_STATE_CONNECTING) {
		printf("ready\n");
		fflush(stdout);
	}
	if (state == PW_STREAM_STATE_ERROR) {
		fprintf(stderr, "%s: %s\n", s->prog, error ? error : "stream error");
		pw_main_loop_quit(s->loop);
	}
}

static const struct pw_stream_events state_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state,
};

static void on_timer(void *data, uint64_t expirations)
{
	struct pw_src *s = data;
	(void)expirations;
	if (s->negotiated)
		pw_stream_trigger_process(s->stream);
}

static void on_quit(void *data, int sig)
{
	struct pw_src *s = data;
	(void)sig;
	pw_main_loop_quit(s->loop);
}

int pw_src_init(struct pw_src *s, const char *prog)
{
	*s = (struct pw_src){ .prog = prog };
	pw_init(NULL, NULL);
	s->loop = pw_main_loop_new(NULL);
	if (!s->loop) {
		fprintf(stderr, "%s: no main loop\n", prog);
		return -1;
	}
	struct pw_loop *l = pw_main_loop_get_loop(s->loop);
	pw_loop_add_signal(l, SIGTERM, on_quit, s);
	pw_loop_add_signal(l, SIGINT, on_quit, s);
	return 0;
}

int pw_src_stream(struct pw_src *s, const char *desc, const char *node,
	const struct pw_stream_events *events, void *ud)
{
	s->stream = pw_stream_new_simple(pw_main_loop_get_loop(s->loop), desc, pw_properties_new(
		PW_KEY_MEDIA_CLASS, "Video/Source", PW_KEY_NODE_NAME, node, NULL), events, ud);
	if (!s->stream) {
		fprintf(stderr, "%s: no stream\n", s->prog);
		return -1;
	}
	pw_stream_add_listener(s->stream, &s->listener, &state_events, s);
	return 0;
}

const struct spa_pod *pw_src_format(struct spa_pod_builder *b, int w, int h, bool linear)
{
	struct spa_pod_frame f;
	spa_pod_builder_push_object(b, &f, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
	spa_pod_builder_add(b,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_Id(SPA_VIDEO_FORMAT_BGRx),
		SPA_FORMAT_VIDEO_size, SPA_POD_Rectangle(&SPA_RECTANGLE((uint32_t)w, (uint32_t)h)),
		SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&SPA_FRACTION(10, 1)), 0);
	if (linear) {
		spa_pod_builder_prop(b, SPA_FORMAT_VIDEO_modifier, SPA_POD_PROP_FLAG_MANDATORY);
		spa_pod_builder_long(b, (int64_t)DRM_FORMAT_MOD_LINEAR);
	}
	return spa_pod_builder_pop(b, &f);
}

int pw_src_connect(struct pw_src *s, int w, int h, bool linear, enum pw_stream_flags flags)
{
	uint8_t buf[512];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1] = { pw_src_format(&b, w, h, linear) };
	if (pw_stream_connect(s->stream, PW_DIRECTION_OUTPUT, PW_ID_ANY,
		PW_STREAM_FLAG_DRIVER | flags, params, 1) < 0) {
		fprintf(stderr, "%s: cannot connect\n", s->prog);
		return -1;
	}
	struct pw_loop *l = pw_main_loop_get_loop(s->loop);
	s->timer = pw_loop_add_timer(l, on_timer, s);
	struct timespec period = { 0, 100000000 };
	pw_loop_update_timer(l, s->timer, &period, &period, false);
	return 0;
}

void pw_src_reoffer(struct pw_src *s, int w, int h, bool linear)
{
	uint8_t buf[512];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1] = { pw_src_format(&b, w, h, linear) };
	pw_stream_update_params(s->stream, params, 1);
}

bool pw_src_format_parse(uint32_t id, const struct spa_pod *param, struct spa_video_info_raw *info)
{
	return id == SPA_PARAM_Format && param && spa_format_video_raw_parse(param, info) >= 0;
}

void pw_src_buffers(struct pw_src *s, uint32_t data_type, uint32_t size, uint32_t stride)
{
	uint8_t buf[256];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	struct spa_pod_frame f;
	spa_pod_builder_push_object(&b, &f, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers);
	spa_pod_builder_add(&b,
		SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(4, 2, 8),
		SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(1),
		SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int(1 << data_type), 0);
	if (size)
		spa_pod_builder_add(&b, SPA_PARAM_BUFFERS_size, SPA_POD_Int((int32_t)size), 0);
	if (stride)
		spa_pod_builder_add(&b, SPA_PARAM_BUFFERS_stride, SPA_POD_Int((int32_t)stride), 0);
	const struct spa_pod *params[1] = { spa_pod_builder_pop(&b, &f) };
	pw_stream_update_params(s->stream, params, 1);
	s->negotiated = true;
}

void pw_src_run(struct pw_src *s)
{
	pw_main_loop_run(s->loop);
	spa_hook_remove(&s->listener);
	pw_stream_destroy(s->stream);
	pw_main_loop_destroy(s->loop);
	pw_deinit();
}

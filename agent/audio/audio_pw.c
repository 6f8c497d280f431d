/* audio_pw: the host's sound from PipeWire (see audio_pw.h). */
#define RD_LOG_SUBSYS "audio"
#include "audio_pw.h"

#include <errno.h>
#include <ev.h>
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/utils/result.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio_enc.h"
#include "err.h"
#include "log.h"
#include "privsep.h"
#include "util.h"

struct audio_pw {
	struct ev_loop *evloop;
	ev_io io;
	const struct audio_pw_ops *ops;
	void *ud;
	struct pw_loop *loop;
	bool entered;
	struct pw_context *context;
	struct pw_core *core;
	struct spa_hook core_listener;
	struct pw_stream *stream;
	struct spa_hook stream_listener;
	bool failed;
	bool reported;
	enum pw_stream_state state;
};

static void apw__fail(struct audio_pw *a)
{
	a->failed = true;
	if (!a->reported) {
		a->reported = true;
		a->ops->on_failed(a->ud);
	}
}

static void apw__on_core_error(void *data, uint32_t id, int seq, int res, const char *message)
{
	struct audio_pw *a = data;
	(void)seq;
	if (id != PW_ID_CORE)
		return;
	log_warn("PipeWire connection lost: %s (%s)", spa_strerror(res),
		rd_esc(message ? message : ""));
	apw__fail(a);
}

static const struct pw_core_events apw_core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = apw__on_core_error,
};

static void apw__on_state(void *data, enum pw_stream_state old, enum pw_stream_state state,
	const char *error)
{
	struct audio_pw *a = data;
	a->state = state;
	log_debug("audio stream %s -> %s", pw_stream_state_as_string(old),
		pw_stream_state_as_string(state));
	if (state == PW_STREAM_STATE_ERROR) {
		log_warn("audio stream error: %s", rd_esc(error ? error : "unknown"));
		apw__fail(a);
	}
}

static void apw__on_process(void *data)
{
	struct audio_pw *a = data;
	struct pw_buffer *b;
	while ((b = pw_stream_dequeue_buffer(a->stream))) {
		struct spa_data *d = b->buffer->n_datas >= 1 ? &b->buffer->datas[0] : NULL;
		if (d && d->data && d->chunk && d->chunk->size > 0 &&
		    !(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED)) {
			uint32_t off = d->chunk->offset % (d->maxsize ? d->maxsize : 1);
			uint32_t size = d->chunk->size;
			if (off + size > d->maxsize)
				size = d->maxsize - off;
			size_t n = size / (sizeof(float) * AUDIO_CHANNELS);
			if (n > 0)
				a->ops->on_pcm((const float *)((const uint8_t *)d->data + off), n, a->ud);
		}
		pw_stream_queue_buffer(a->stream, b);
	}
}

static const struct pw_stream_events apw_stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = apw__on_state,
	.process = apw__on_process,
};

static void apw__on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct audio_pw *a = w->data;
	if (a->failed)
		return;
	int r = pw_loop_iterate(a->loop, 0);
	if (r < 0 && r != -EINTR && r != -EAGAIN) {
		log_warn("PipeWire loop: %s", spa_strerror(r));
		apw__fail(a);
	}
}

/* The one place audio connects to the PipeWire daemon, by the video
 * backend's rules: a socket the privileged helper hands over (its user's
 * daemon), else the runtime directory of this process (direct mode). */
static struct pw_core *audio_pw_connect(struct pw_context *ctx)
{
	int fd = -1;
	if (privsep_pipewire(&fd) == RD_OK && fd >= 0)
		return pw_context_connect_fd(ctx, fd, NULL, 0);
	return pw_context_connect(ctx, NULL, 0);
}

static int apw__stream(struct audio_pw *a, const char *source)
{
	struct pw_properties *props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio",
		PW_KEY_MEDIA_CATEGORY, "Capture", PW_KEY_MEDIA_ROLE, "Screen",
		PW_KEY_NODE_NAME, "rdesk-audio", PW_KEY_APP_NAME, "rd-agent",
		PW_KEY_NODE_LATENCY, "480/48000", NULL);
	/* The host's output: the monitor of the default sink, or of the node
	 * named (a source named is captured as it is). */
	pw_properties_set(props, PW_KEY_STREAM_CAPTURE_SINK, "true");
	if (source && source[0])
		pw_properties_set(props, PW_KEY_TARGET_OBJECT, source);
	a->stream = pw_stream_new(a->core, "rdesk audio", props);
	if (!a->stream)
		return RD_ERR_NOMEM;
	pw_stream_add_listener(a->stream, &a->stream_listener, &apw_stream_events, a);
	uint8_t buf[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	struct spa_audio_info_raw info = { .format = SPA_AUDIO_FORMAT_F32, .rate = AUDIO_RATE,
		.channels = AUDIO_CHANNELS, .position = { SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR } };
	const struct spa_pod *params[1];
	params[0] = spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info);
	int rc = pw_stream_connect(a->stream, PW_DIRECTION_INPUT, PW_ID_ANY,
		PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
	return rc < 0 ? RD_ERR_IO : RD_OK;
}

static void apw__global_init(void)
{
	static bool done;
	if (!done) {
		pw_init(NULL, NULL);
		done = true;
	}
}

int audio_pw_open(struct ev_loop *loop, const char *source, const struct audio_pw_ops *ops,
	void *ud, struct audio_pw **out, char *why, size_t whylen)
{
	if (whylen)
		why[0] = '\0';
	apw__global_init();
	struct audio_pw *a = xcalloc(1, sizeof(*a));
	a->evloop = loop;
	a->ops = ops;
	a->ud = ud;
	int rc = RD_ERR_NOMEM;
	a->loop = pw_loop_new(NULL);
	if (!a->loop)
		goto fail;
	pw_loop_enter(a->loop);
	a->entered = true;
	/* The plain client configuration: no realtime module (the stream is
	 * served on the agent's loop, and the seccomp filter refuses realtime
	 * requests; under it the module's failed setup leaked), and no mlock of
	 * the buffers (refused too; a few pages of sound need no pinning). */
	a->context = pw_context_new(a->loop, pw_properties_new(PW_KEY_CONFIG_NAME,
		"client.conf", "mem.allow-mlock", "false", NULL), 0);
	if (!a->context)
		goto fail;
	a->core = audio_pw_connect(a->context);
	if (!a->core) {
		snprintf(why, whylen, "no PipeWire daemon: %s", strerror(errno));
		rc = RD_ERR_NOTFOUND;
		goto fail;
	}
	pw_core_add_listener(a->core, &a->core_listener, &apw_core_events, a);
	rc = apw__stream(a, source);
	if (rc < 0) {
		snprintf(why, whylen, "cannot start a PipeWire capture stream");
		goto fail;
	}
	ev_io_init(&a->io, apw__on_io, pw_loop_get_fd(a->loop), EV_READ);
	a->io.data = a;
	ev_io_start(loop, &a->io);
	ev_feed_event(loop, &a->io, EV_READ);
	*out = a;
	return RD_OK;
fail:
	if (rc == RD_ERR_NOMEM && !why[0])
		snprintf(why, whylen, "out of memory");
	audio_pw_close(a);
	return rc;
}

void audio_pw_close(struct audio_pw *a)
{
	if (!a)
		return;
	if (a->evloop)
		ev_io_stop(a->evloop, &a->io);
	if (a->stream) {
		pw_stream_disconnect(a->stream);
		spa_hook_remove(&a->stream_listener);
		pw_stream_destroy(a->stream);
	}
	if (a->core) {
		spa_hook_remove(&a->core_listener);
		pw_core_disconnect(a->core);
	}
	if (a->context)
		pw_context_destroy(a->context);
	if (a->loop) {
		if (a->entered)
			pw_loop_leave(a->loop);
		pw_loop_destroy(a->loop);
	}
	free(a);
}

const char *audio_pw_state(const struct audio_pw *a)
{
	return a ? pw_stream_state_as_string(a->state) : "closed";
}

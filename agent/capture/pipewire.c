/* pipewire: capture of a PipeWire video node (a compositor's screencast, a
 * kiosk's output, any Video/Source).
 *
 * display = "NODE" (for backend = pipewire) or "pipewire:NODE" (also under
 * auto), where NODE is a node id or a node.name; or "portal" (also
 * "pipewire:portal", or "portal:FILE" to keep the restore token in FILE): the
 * node comes from the desktop's ScreenCast portal (portal.c) and PipeWire is
 * reached through the descriptor the portal grants. Under auto with no display
 * set, the portal is tried when there is a session bus. The restore token goes
 * to portal-restore-token in the agent's data folder (capture_config.state_dir,
 * else $STATE_DIRECTORY) unless FILE names another place; without either it
 * lives in memory.
 *
 * The backend finds the node in the registry, connects an input stream that
 * asks for BGRx/RGBx (BGRA/RGBA too; shared memory or dma-buf) and links it to
 * the node itself through the link factory, so no session manager policy is
 * needed (and none links the stream elsewhere: it is not autoconnected). A
 * portal's remote shows only its node, not the link factory: that stream
 * asks for the node and the session manager links it, as for any client.
 *
 * PipeWire runs on its own pw_loop without a thread: its fd joins the agent's
 * libev loop (get_fd) and dispatch/grab iterate it without blocking. The
 * open does too (open_async): the portal's exchange, the registry, the
 * stream's ports, the link and the format each arrive on a watcher, and one
 * timer bounds the wait, so a node that never links or a portal that never
 * answers holds up nothing else. The newest buffer is held until the next
 * grab copies it; tile compare (tile_damage) gives the damage. A new size or
 * format is REINIT. */
#define RD_LOG_SUBSYS "pipewire"
#include "capture.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <pipewire/pipewire.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>
#include <spa/utils/result.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tile_damage.h"
#include "err.h"
#include "log.h"
#include "portal.h"
#include "pw_buffer.h"
#include "pwcap.h"
#include "util.h"

/* ---- registry: find the node ---- */

static void on_global(void *data, uint32_t id, uint32_t permissions, const char *type,
	uint32_t version, const struct spa_dict *props)
{
	(void)permissions;
	(void)version;
	struct pwcap *p = data;
	if (p->target_id != SPA_ID_INVALID || strcmp(type, PW_TYPE_INTERFACE_Node) != 0)
		return;
	char idtxt[16];
	snprintf(idtxt, sizeof(idtxt), "%u", id);
	const char *name = props ? spa_dict_lookup(props, PW_KEY_NODE_NAME) : NULL;
	const char *serial = props ? spa_dict_lookup(props, PW_KEY_OBJECT_SERIAL) : NULL;
	if (strcmp(p->target, idtxt) == 0 || (name && strcmp(p->target, name) == 0) ||
	    (serial && strcmp(p->target, serial) == 0))
		p->target_id = id;
}

static void on_global_remove(void *data, uint32_t id)
{
	struct pwcap *p = data;
	if (id != p->target_id || !p->linked)
		return;
	if (p->portal) {	/* a portal's node does not come back: ask again */
		log_warn("node %u of the screen cast is gone", id);
		p->failed = true;
	} else {
		log_warn("node %s is gone; the picture stays until it comes back", rd_esc(p->target));
	}
}

const struct pw_registry_events pwcap_registry_events = {
	PW_VERSION_REGISTRY_EVENTS,
	.global = on_global,
	.global_remove = on_global_remove,
};

static void on_core_done(void *data, uint32_t id, int seq)
{
	struct pwcap *p = data;
	if (id == PW_ID_CORE && seq == p->sync_seq)
		p->synced = true;
}

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message)
{
	(void)seq;
	struct pwcap *p = data;
	log_warn("error from the PipeWire daemon (object %u): %s: %s", id, spa_strerror(res),
		rd_esc(message ? message : ""));
	if (id == PW_ID_CORE || (p->link && id == pw_proxy_get_id(p->link)))
		p->failed = true;
}

const struct pw_core_events pwcap_core_events = {
	PW_VERSION_CORE_EVENTS,
	.done = on_core_done,
	.error = on_core_error,
};

/* ---- stream ---- */

static void on_state(void *data, enum pw_stream_state old, enum pw_stream_state state,
	const char *error)
{
	struct pwcap *p = data;
	log_debug("stream %s -> %s", pw_stream_state_as_string(old), pw_stream_state_as_string(state));
	if (state == PW_STREAM_STATE_ERROR) {
		log_warn("stream error: %s", rd_esc(error ? error : "unknown"));
		p->failed = true;
	}
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param)
{
	struct pwcap *p = data;
	if (id != SPA_PARAM_Format || !param)
		return;
	struct spa_video_info_raw info;
	uint32_t mtype, msub;
	if (spa_format_parse(param, &mtype, &msub) < 0 || mtype != SPA_MEDIA_TYPE_video ||
	    msub != SPA_MEDIA_SUBTYPE_raw || spa_format_video_raw_parse(param, &info) < 0)
		return;
	uint32_t fourcc = pw_buffer_fourcc(info.format);
	if (!fourcc || info.size.width == 0 || info.size.height == 0) {
		log_warn("node offers an unusable format (%u, %ux%u)", info.format, info.size.width,
			info.size.height);
		p->failed = true;
		return;
	}
	bool dmabuf = (info.flags & SPA_VIDEO_FLAG_MODIFIER) != 0;
	if (dmabuf && info.modifier != DRM_FORMAT_MOD_LINEAR) {
		log_warn("node offers dma-buf with modifier %#llx; only linear can be read",
			(unsigned long long)info.modifier);
		p->failed = true;
		return;
	}
	bool changed = !p->have_format || (int)info.size.width != p->fmt_w ||
		(int)info.size.height != p->fmt_h || fourcc != p->fmt_fourcc;
	p->fmt_w = (int)info.size.width;
	p->fmt_h = (int)info.size.height;
	p->fmt_fourcc = fourcc;
	if (changed && p->have_format)
		p->reinit_pending = true;
	p->have_format = true;
	char fs[12];
	log_info("format %ux%u %s%s", info.size.width, info.size.height,
		pw_buffer_format_name(fourcc, fs), dmabuf ? ", dma-buf (linear)" : "");

	uint8_t buf[512];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1];
	params[0] = spa_pod_builder_add_object(&b, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
		SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(4, 2, 16),
		SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(1),
		SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int(dmabuf ? (1 << SPA_DATA_DmaBuf) :
			(1 << SPA_DATA_MemPtr) | (1 << SPA_DATA_MemFd) | (1 << SPA_DATA_DmaBuf)));
	pw_stream_update_params(p->stream, params, 1);
}

static void on_process(void *data)
{
	struct pwcap *p = data;
	struct pw_buffer *b;
	while ((b = pw_stream_dequeue_buffer(p->stream))) {
		struct spa_data *d = b->buffer->n_datas >= 1 ? &b->buffer->datas[0] : NULL;
		/* A dma-buf's chunk may leave the size out: the fd knows it. */
		if (!d || !d->chunk || (d->chunk->size == 0 && d->type != SPA_DATA_DmaBuf) ||
		    (d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED)) {
			pw_stream_queue_buffer(p->stream, b);
			continue;
		}
		if (p->held)
			pw_stream_queue_buffer(p->stream, p->held);
		p->held = b;
	}
}

/* Buffers go away when the format changes: never keep a pointer to one. */
static void on_remove_buffer(void *data, struct pw_buffer *b)
{
	struct pwcap *p = data;
	if (p->held == b)
		p->held = NULL;
}

const struct pw_stream_events pwcap_stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state,
	.param_changed = on_param_changed,
	.remove_buffer = on_remove_buffer,
	.process = on_process,
};

/* Run the loop until *flag, a failure or the deadline (close only). */
static int wait_for(struct pwcap *p, const bool *flag, double deadline)
{
	while (!*flag && !p->failed) {
		double left = deadline - rd_now();
		if (left <= 0)
			return RD_ERR_TIMEOUT;
		pw_loop_iterate(p->loop, (int)(left * 1000) + 1);
	}
	return p->failed ? RD_ERR_IO : 0;
}

void pwcap_sync_start(struct pwcap *p)
{
	p->synced = false;
	p->sync_seq = pw_core_sync(p->core, PW_ID_CORE, p->sync_seq);
}

static int roundtrip(struct pwcap *p, double deadline)
{
	pwcap_sync_start(p);
	return wait_for(p, &p->synced, deadline);
}

void pwcap_close(struct capture *c)
{
	struct pwcap *p = (struct pwcap *)c;
	if (p->evloop) {	/* an open under way ends here */
		ev_io_stop(p->evloop, &p->open_io);
		ev_timer_stop(p->evloop, &p->open_timer);
	}
	/* Unlink first, give the buffers back, and let the daemon finish with
	 * both (bounded) before the connection goes; an open that failed has
	 * nothing to give back and may have failed for a daemon that does not
	 * answer, so it does not wait. */
	if (p->link)
		pw_proxy_destroy(p->link);
	if (p->stream) {
		if (p->held)
			pw_stream_queue_buffer(p->stream, p->held);
		p->held = NULL;
		pw_stream_disconnect(p->stream);
	}
	if (p->core && !p->failed && p->scan)
		roundtrip(p, rd_now() + 0.5);
	if (p->stream) {
		spa_hook_remove(&p->stream_listener);
		pw_stream_destroy(p->stream);
	}
	if (p->registry) {
		spa_hook_remove(&p->registry_listener);
		pw_proxy_destroy((struct pw_proxy *)p->registry);
	}
	if (p->core) {
		spa_hook_remove(&p->core_listener);
		pw_core_disconnect(p->core);
	}
	if (p->context)
		pw_context_destroy(p->context);
	if (p->loop) {
		if (p->entered)
			pw_loop_leave(p->loop);
		pw_loop_destroy(p->loop);
	}
	portal_close(p->portal);
	tile_damage_free(p->scan);
	free(p);
}

static int pwcap_get_fd(struct capture *c)
{
	return pw_loop_get_fd(((struct pwcap *)c)->loop);
}

static int pwcap_dispatch(struct capture *c)
{
	struct pwcap *p = (struct pwcap *)c;
	int r = pw_loop_iterate(p->loop, 0);
	if (p->portal && !portal_poll(p->portal))
		p->failed = true;
	if (r < 0 && r != -EINTR && r != -EAGAIN) {
		log_warn("PipeWire loop: %s", spa_strerror(r));
		p->failed = true;
	}
	if (p->failed) {
		log_err("lost the PipeWire stream of node %s", rd_esc(p->target));
		return RD_CAPTURE_FATAL;
	}
	return p->reinit_pending ? RD_CAPTURE_REINIT : RD_CAPTURE_RETRY;
}

static int pwcap_grab(struct capture *c, bool full, struct capture_frame **out)
{
	struct pwcap *p = (struct pwcap *)c;
	struct capture_frame *f = &p->frame;
	int rc = pwcap_dispatch(c);
	if (rc != RD_CAPTURE_RETRY)
		return rc;
	f->n_damage = 0;
	f->width = c->width;
	f->height = c->height;
	f->data = tile_damage_pixels(p->scan, &f->stride);
	if (p->held) {
		struct spa_data *d = &p->held->buffer->datas[0];
		int stride = d->chunk->stride ? d->chunk->stride : c->width * 4;
		struct pw_pixmap m;
		bool ok = pw_buffer_map(d, &m);
		if (ok && stride >= c->width * 4 &&
		    (size_t)stride * (size_t)(c->height - 1) + (size_t)c->width * 4 <= m.avail)
			tile_damage_update(p->scan, m.px, stride, true, full || p->first, f);
		else
			log_debug("buffer too small or unmappable (type %u, %zu bytes)", d->type,
				ok ? m.avail : 0);
		if (ok)
			pw_buffer_unmap(&m);
		pw_stream_queue_buffer(p->stream, p->held);
		p->held = NULL;
		if (f->n_damage)
			p->first = false;
	}
	if (full && f->n_damage == 0 && !p->first)
		capture_frame_add_damage(f, (struct capture_rect){ 0, 0, c->width, c->height });
	if (f->n_damage == 0)
		return RD_CAPTURE_RETRY;
	f->cursor_embedded = p->cursor_embedded;
	f->seq = p->seq++;
	*out = f;
	return RD_CAPTURE_DONE;
}

static int pwcap_reinit(struct capture *c)
{
	struct pwcap *p = (struct pwcap *)c;
	struct tile_damage *scan;
	int rc = tile_damage_new(p->fmt_w, p->fmt_h, p->fmt_fourcc, &scan);
	if (rc < 0)
		return rc;
	if (p->scan)
		log_info("node %s is now %dx%d", rd_esc(p->target), p->fmt_w, p->fmt_h);
	tile_damage_free(p->scan);
	p->scan = scan;
	p->fourcc = p->fmt_fourcc;
	c->width = p->fmt_w;
	c->height = p->fmt_h;
	p->reinit_pending = false;
	p->first = true;
	if (p->held) {	/* a buffer of the old format */
		pw_stream_queue_buffer(p->stream, p->held);
		p->held = NULL;
	}
	return 0;
}

const struct capture_ops capture_pipewire_ops = {
	.name = "pipewire",
	.open_async = pwcap_open_async,
	.close = pwcap_close,
	.get_fd = pwcap_get_fd,
	.dispatch = pwcap_dispatch,
	.grab = pwcap_grab,
	.reinit = pwcap_reinit,
};

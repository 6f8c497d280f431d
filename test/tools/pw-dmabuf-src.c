/* pw-dmabuf-src: a PipeWire Video/Source node whose buffers are dma-bufs
 * only (BGRx, linear modifier), so the capture's dma-buf path is tried with
 * real dma-bufs.
 *
 *   pw-dmabuf-src NAME WxH [CARD]        (CARD: /dev/dri/card0)
 *
 * Each buffer is a DRM dumb buffer of CARD exported as a dma-buf
 * (drmPrimeHandleToFD) and drawn through the dma-buf's own mapping between
 * DMA_BUF_IOCTL_SYNC start and end. The buffers are not marked mappable, so
 * a consumer maps the descriptor itself. The picture: quadrants red (top
 * left), green (top right), blue (bottom left), white (bottom right), and in
 * the bottom 16 rows a grey band with a black block that moves 32 pixels a
 * frame (10 fps, the node drives its own graph).
 *
 * Prints "ready" when connected, "format WxH modifier M" when negotiated,
 * "buffer FD stride S size Z" per buffer, "frames N" every 10 frames. The
 * stream, its loop and timer are pw-src-common's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <drm_fourcc.h>

#include "pw-src-common.h"

struct dumb {
	uint32_t handle, stride;
	uint64_t size;
	int fd;                   /* the dma-buf */
	uint8_t *map;
};

struct app {
	struct pw_src src;
	int card;
	int w, h;
	unsigned frame;
};

static void draw(struct app *a, struct dumb *d)
{
	static const uint8_t quad[4][3] = {	/* B, G, R: red, green, blue, white */
		{ 0, 0, 255 }, { 0, 255, 0 }, { 255, 0, 0 }, { 255, 255, 255 },
	};
	static const uint8_t grey[3] = { 128, 128, 128 }, black[3] = { 0, 0, 0 };
	int block = (int)(a->frame * 32) % a->w;
	for (int y = 0; y < a->h; y++) {
		uint8_t *row = d->map + (size_t)y * d->stride;
		for (int x = 0; x < a->w; x++) {
			const uint8_t *c;
			if (y >= a->h - 16)
				c = x >= block && x < block + 32 ? black : grey;
			else
				c = quad[(y >= a->h / 2) * 2 + (x >= a->w / 2)];
			memcpy(row + 4 * x, c, 3);
			row[4 * x + 3] = 255;
		}
	}
}

static void dma_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };
	while (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0 && (errno == EINTR || errno == EAGAIN))
		;
}

static void on_process(void *data)
{
	struct app *a = data;
	struct pw_buffer *b = pw_stream_dequeue_buffer(a->src.stream);
	if (!b)
		return;
	struct dumb *d = b->user_data;
	struct spa_data *sd = &b->buffer->datas[0];
	if (d && d->map) {
		dma_sync(d->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
		draw(a, d);
		dma_sync(d->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
		sd->chunk->offset = 0;
		sd->chunk->stride = (int32_t)d->stride;
		sd->chunk->size = d->stride * (uint32_t)a->h;
		sd->chunk->flags = 0;
		if (++a->frame % 10 == 0) {
			printf("frames %u\n", a->frame);
			fflush(stdout);
		}
	}
	pw_stream_queue_buffer(a->src.stream, b);
}

static void on_add_buffer(void *data, struct pw_buffer *b)
{
	struct app *a = data;
	struct spa_data *sd = &b->buffer->datas[0];
	struct dumb *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->fd = -1;
	struct drm_mode_create_dumb c = { .width = (uint32_t)a->w, .height = (uint32_t)a->h,
		.bpp = 32 };
	if (drmIoctl(a->card, DRM_IOCTL_MODE_CREATE_DUMB, &c) < 0) {
		fprintf(stderr, "pw-dmabuf-src: create dumb: %s\n", strerror(errno));
		goto fail;
	}
	d->handle = c.handle;
	d->stride = c.pitch;
	d->size = c.size;
	if (drmPrimeHandleToFD(a->card, c.handle, DRM_CLOEXEC | DRM_RDWR, &d->fd) < 0) {
		fprintf(stderr, "pw-dmabuf-src: export: %s\n", strerror(errno));
		goto fail;
	}
	void *m = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "pw-dmabuf-src: mmap dma-buf: %s\n", strerror(errno));
		goto fail;
	}
	d->map = m;
	sd->type = SPA_DATA_DmaBuf;
	sd->flags = SPA_DATA_FLAG_READWRITE;
	sd->fd = d->fd;
	sd->mapoffset = 0;
	sd->maxsize = (uint32_t)d->size;
	sd->data = NULL;
	b->user_data = d;
	printf("buffer %d stride %u size %llu\n", d->fd, d->stride, (unsigned long long)d->size);
	fflush(stdout);
	return;
fail:
	if (d->fd >= 0)
		close(d->fd);
	if (d->handle) {
		struct drm_mode_destroy_dumb x = { .handle = d->handle };
		drmIoctl(a->card, DRM_IOCTL_MODE_DESTROY_DUMB, &x);
	}
	free(d);
}

static void on_remove_buffer(void *data, struct pw_buffer *b)
{
	struct app *a = data;
	struct dumb *d = b->user_data;
	if (!d)
		return;
	munmap(d->map, d->size);
	close(d->fd);
	struct drm_mode_destroy_dumb x = { .handle = d->handle };
	drmIoctl(a->card, DRM_IOCTL_MODE_DESTROY_DUMB, &x);
	free(d);
	b->user_data = NULL;
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param)
{
	struct app *a = data;
	struct spa_video_info_raw info;
	if (!pw_src_format_parse(id, param, &info))
		return;
	if (!(info.flags & SPA_VIDEO_FLAG_MODIFIER) || info.modifier != DRM_FORMAT_MOD_LINEAR) {
		fprintf(stderr, "pw-dmabuf-src: the format has no linear modifier\n");
		pw_main_loop_quit(a->src.loop);
		return;
	}
	a->w = (int)info.size.width;
	a->h = (int)info.size.height;
	pw_src_buffers(&a->src, SPA_DATA_DmaBuf, 0, 0);
	printf("format %dx%d modifier %#llx\n", a->w, a->h, (unsigned long long)info.modifier);
	fflush(stdout);
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.param_changed = on_param_changed,
	.add_buffer = on_add_buffer,
	.remove_buffer = on_remove_buffer,
	.process = on_process,
};

int main(int argc, char **argv)
{
	struct app a = { .card = -1 };
	int w, h;
	if (argc < 3 || sscanf(argv[2], "%dx%d", &w, &h) != 2 || w < 64 || h < 64 ||
	    w > 4096 || h > 4096) {
		fprintf(stderr, "usage: pw-dmabuf-src NAME WxH [CARD]\n");
		return 2;
	}
	const char *card = argc > 3 ? argv[3] : "/dev/dri/card0";
	a.card = open(card, O_RDWR | O_CLOEXEC);
	if (a.card < 0) {
		fprintf(stderr, "pw-dmabuf-src: %s: %s\n", card, strerror(errno));
		return 1;
	}
	if (pw_src_init(&a.src, "pw-dmabuf-src") < 0 ||
	    pw_src_stream(&a.src, "rdesk dma-buf source", argv[1], &stream_events, &a) < 0 ||
	    pw_src_connect(&a.src, w, h, true, PW_STREAM_FLAG_ALLOC_BUFFERS) < 0) {
		close(a.card);
		return 1;
	}
	pw_src_run(&a.src);
	close(a.card);
	return 0;
}

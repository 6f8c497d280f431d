/* pw_buffer: formats and buffer reading for the pipewire backend (see
 * pw_buffer.h). */
#include "pw_buffer.h"

#include <drm_fourcc.h>
#include <linux/dma-buf.h>
#include <spa/param/video/format-utils.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

const struct spa_pod *pw_buffer_enum_format(struct spa_pod_builder *b, bool dmabuf)
{
	struct spa_pod_frame f;
	spa_pod_builder_push_object(b, &f, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
	spa_pod_builder_add(b,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_CHOICE_ENUM_Id(5, SPA_VIDEO_FORMAT_BGRx,
			SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_RGBx, SPA_VIDEO_FORMAT_BGRA,
			SPA_VIDEO_FORMAT_RGBA),
		SPA_FORMAT_VIDEO_size, SPA_POD_CHOICE_RANGE_Rectangle(&SPA_RECTANGLE(1920, 1080),
			&SPA_RECTANGLE(1, 1), &SPA_RECTANGLE(8192, 8192)),
		SPA_FORMAT_VIDEO_framerate, SPA_POD_CHOICE_RANGE_Fraction(&SPA_FRACTION(30, 1),
			&SPA_FRACTION(0, 1), &SPA_FRACTION(240, 1)), 0);
	if (dmabuf) {
		struct spa_pod_frame c;
		spa_pod_builder_prop(b, SPA_FORMAT_VIDEO_modifier,
			SPA_POD_PROP_FLAG_MANDATORY | SPA_POD_PROP_FLAG_DONT_FIXATE);
		spa_pod_builder_push_choice(b, &c, SPA_CHOICE_Enum, 0);
		spa_pod_builder_long(b, (int64_t)DRM_FORMAT_MOD_LINEAR);
		spa_pod_builder_long(b, (int64_t)DRM_FORMAT_MOD_LINEAR);
		spa_pod_builder_pop(b, &c);
	}
	return spa_pod_builder_pop(b, &f);
}

uint32_t pw_buffer_fourcc(uint32_t spa_format)
{
	switch (spa_format) {
	case SPA_VIDEO_FORMAT_BGRx: return DRM_FORMAT_XRGB8888;
	case SPA_VIDEO_FORMAT_BGRA: return DRM_FORMAT_ARGB8888;
	case SPA_VIDEO_FORMAT_RGBx: return DRM_FORMAT_XBGR8888;
	case SPA_VIDEO_FORMAT_RGBA: return DRM_FORMAT_ABGR8888;
	default: return 0;
	}
}

const char *pw_buffer_format_name(uint32_t fourcc, char buf[12])
{
	switch (fourcc) {
	case DRM_FORMAT_XRGB8888: return "BGRx";
	case DRM_FORMAT_ARGB8888: return "BGRA";
	case DRM_FORMAT_XBGR8888: return "RGBx";
	case DRM_FORMAT_ABGR8888: return "RGBA";
	default: snprintf(buf, 12, "%08x", fourcc); return buf;
	}
}

bool pw_buffer_map(const struct spa_data *d, struct pw_pixmap *m)
{
	*m = (struct pw_pixmap){ .sync_fd = -1 };
	size_t off = d->chunk->offset, total;
	const uint8_t *base;
	if (d->type == SPA_DATA_DmaBuf && d->fd >= 0) {
		int fd = (int)d->fd;
		if (d->data) {
			base = d->data;
			total = d->maxsize;
		} else {
			off_t size = lseek(fd, 0, SEEK_END);
			if (size <= 0 || (size_t)size <= d->mapoffset)
				return false;
			m->maplen = (size_t)size;
			m->unmap = mmap(NULL, m->maplen, PROT_READ, MAP_SHARED, fd, 0);
			if (m->unmap == MAP_FAILED) {
				m->unmap = NULL;
				return false;
			}
			base = (const uint8_t *)m->unmap + d->mapoffset;
			total = m->maplen - d->mapoffset;
		}
		struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };
		if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) == 0)
			m->sync_fd = fd;
		if (d->chunk->size && off + d->chunk->size < total)
			total = off + d->chunk->size;
	} else if (d->data) {
		base = d->data;
		total = d->chunk->size + off < d->maxsize ? d->chunk->size + off : d->maxsize;
	} else {
		return false;
	}
	m->px = base + off;
	m->avail = total > off ? total - off : 0;
	return true;
}

void pw_buffer_unmap(struct pw_pixmap *m)
{
	if (m->sync_fd >= 0) {
		struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ };
		ioctl(m->sync_fd, DMA_BUF_IOCTL_SYNC, &s);
	}
	if (m->unmap)
		munmap(m->unmap, m->maplen);
}

/* pw_buffer: the formats and buffers the pipewire capture backend takes.
 *
 * Shared memory, or a dma-buf with the linear modifier, the only dma-buf
 * layout the CPU can read as is; offering the modifier property is what
 * tells a producer that dma-buf is welcome. A dma-buf is read between
 * DMA_BUF_IOCTL_SYNC start and end, through PipeWire's mapping or our own
 * (a GPU producer's buffers are usually not marked mappable); its size comes
 * from the descriptor when the chunk does not say. */
#ifndef RD_AGENT_PW_BUFFER_H
#define RD_AGENT_PW_BUFFER_H

#include <spa/buffer/buffer.h>
#include <spa/pod/builder.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An EnumFormat: BGRx/RGBx/BGRA/RGBA, any size and rate; with dmabuf, the
 * linear modifier too (mandatory, not to be fixated by PipeWire). */
const struct spa_pod *pw_buffer_enum_format(struct spa_pod_builder *b, bool dmabuf);
/* DRM fourcc of an SPA video format we accept, 0 for others. */
uint32_t pw_buffer_fourcc(uint32_t spa_format);
/* The SPA name of such a fourcc (for the log). */
const char *pw_buffer_format_name(uint32_t fourcc, char buf[12]);

/* The pixels of one buffer, for one copy. */
struct pw_pixmap {
	const uint8_t *px;
	size_t avail;             /* readable bytes from px */
	void *unmap;
	size_t maplen;
	int sync_fd;              /* the dma-buf to end CPU access on, or -1 */
};

/* false when the buffer cannot be read (then nothing is to be unmapped). */
bool pw_buffer_map(const struct spa_data *d, struct pw_pixmap *m);
void pw_buffer_unmap(struct pw_pixmap *m);

#endif

/* drm_fb: describe, identify and map a KMS framebuffer (helpers of the drm
 * capture backend). */
#ifndef RD_AGENT_DRM_FB_H
#define RD_AGENT_DRM_FB_H

#include <stddef.h>
#include <stdint.h>

/* A framebuffer as GETFB2 describes it. */
struct drm_fbinfo {
	uint32_t fb_id;
	uint32_t width, height, format, pitch, offset;
	uint64_t modifier;
};

/* The mapped scanout buffer. */
struct drm_scanout {
	uint32_t fb_id;
	uint32_t handle;
	uint64_t ident;           /* dumb mmap offset or dma-buf inode: the buffer's identity */
	int prime_fd;             /* dma-buf when mapped that way, else -1 */
	uint8_t *base;
	size_t len;
	const uint8_t *pix;       /* first pixel */
	uint32_t pitch;
};

/* Unmap and close what m holds; m is left empty (prime_fd -1). */
void drm_scanout_release(int fd, struct drm_scanout *m);
/* Describe framebuffer fb_id (GETFB2, else GETFB); *handle gets a GEM handle
 * the caller closes (0 when the kernel withheld it). In drm_node.c, which
 * rd-agent-helper links without the rest of this file. */
int drm_fb_describe(int fd, uint32_t fb_id, struct drm_fbinfo *fi, uint32_t *handle);
/* Identity of the buffer behind a handle: its dumb mmap offset (unique among
 * live buffers), else the inode of its dma-buf (*prime_fd, to close). */
int drm_fb_ident(int fd, uint32_t handle, uint64_t *ident, int *prime_fd);
/* Map the framebuffer read-only into m, which takes handle (closed on failure). */
int drm_fb_map(int fd, const char *path, const struct drm_fbinfo *fi, uint32_t handle,
	struct drm_scanout *m);
/* Can this framebuffer be read? If not, RD_ERR_PERM/UNSUPPORTED and why. */
int drm_fb_check(const char *path, const struct drm_fbinfo *fi, uint32_t handle, char *why,
	size_t wlen);
/* The fourcc as four printable characters. */
const char *drm_fourcc_str(uint32_t f, char buf[8]);

#endif

/* drm_node: open a KMS device node as a plain client, and describe its
 * framebuffers (see drm_node.h). */
#define RD_LOG_SUBSYS "drm"
#include "drm_node.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "drm_fb.h"
#include "err.h"
#include "log.h"

bool drm_node_is_primary(int fd)
{
	/* Cached attributes only: the descriptor may come from a hostile peer,
	 * and a file on a FUSE mount it serves must not make us wait. */
	struct statx stx;
	return statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) == 0 &&
		(stx.stx_mask & STATX_TYPE) && S_ISCHR(stx.stx_mode) &&
		stx.stx_rdev_major == DRM_NODE_MAJOR && stx.stx_rdev_minor < DRM_NODE_PRIMARY_MINORS;
}

int drm_node_open(const char *path, bool primary_only, int *fd)
{
	*fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0)
		return errno == ENOENT ? RD_ERR_NOTFOUND : RD_ERR_PERM;
	if (primary_only && !drm_node_is_primary(*fd)) {
		close(*fd);
		*fd = -1;
		errno = ENODEV;
		return RD_ERR_UNSUPPORTED;
	}
	/* The first opener of a card without master becomes master: give it
	 * back at once, or a compositor started later could not set modes. */
	if (drmIsMaster(*fd) && drmDropMaster(*fd) != 0)
		log_warn("%s: cannot drop the DRM master role: %s", path, strerror(errno));
	return RD_OK;
}

/* Describe framebuffer fb_id; *handle gets a GEM handle the caller closes
 * (0 when the kernel withheld it). */
int drm_fb_describe(int fd, uint32_t fb_id, struct drm_fbinfo *fi, uint32_t *handle)
{
	*handle = 0;
	drmModeFB2Ptr fb2 = drmModeGetFB2(fd, fb_id);
	if (fb2) {
		*fi = (struct drm_fbinfo){ fb_id, fb2->width, fb2->height, fb2->pixel_format,
			fb2->pitches[0], fb2->offsets[0],
			(fb2->flags & DRM_MODE_FB_MODIFIERS) ? fb2->modifier : DRM_FORMAT_MOD_LINEAR };
		*handle = fb2->handles[0];
		for (int i = 1; i < 4; i++)
			if (fb2->handles[i] && fb2->handles[i] != fb2->handles[0])
				drmCloseBufferHandle(fd, fb2->handles[i]);
		drmModeFreeFB2(fb2);
		return 0;
	}
	if (errno != EINVAL && errno != ENOTTY)
		return errno == ENOENT ? RD_ERR_NOTFOUND : RD_ERR_IO;
	drmModeFBPtr fb = drmModeGetFB(fd, fb_id);	/* kernels before GETFB2 */
	if (!fb)
		return errno == ENOENT ? RD_ERR_NOTFOUND : RD_ERR_IO;
	uint32_t fmt = fb->bpp == 32 && fb->depth >= 24 ? DRM_FORMAT_XRGB8888 :
		fb->bpp == 16 && fb->depth == 16 ? DRM_FORMAT_RGB565 : 0;
	*fi = (struct drm_fbinfo){ fb_id, fb->width, fb->height, fmt, fb->pitch, 0,
		DRM_FORMAT_MOD_LINEAR };
	*handle = fb->handle;
	drmModeFreeFB(fb);
	return 0;
}

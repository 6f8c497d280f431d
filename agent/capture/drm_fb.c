/* drm_fb: describe, identify and map a KMS framebuffer (see drm_fb.h). */
#define RD_LOG_SUBSYS "drm"
#include "drm_fb.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "tile_damage.h"
#include "err.h"
#include "log.h"

void drm_scanout_release(int fd, struct drm_scanout *m)
{
	if (m->base)
		munmap(m->base, m->len);
	if (m->prime_fd >= 0)
		close(m->prime_fd);
	if (m->handle)
		drmCloseBufferHandle(fd, m->handle);
	memset(m, 0, sizeof(*m));
	m->prime_fd = -1;
}

/* Identity of the buffer behind a handle: its dumb mmap offset (unique among
 * live buffers), else the inode of its dma-buf. */
int drm_fb_ident(int fd, uint32_t handle, uint64_t *ident, int *prime_fd)
{
	struct drm_mode_map_dumb md = { .handle = handle };
	*prime_fd = -1;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md) == 0) {
		*ident = md.offset;
		return 0;
	}
	int pfd;
	struct stat st;
	if (drmPrimeHandleToFD(fd, handle, DRM_CLOEXEC, &pfd) != 0)
		return RD_ERR_IO;
	if (fstat(pfd, &st) != 0) {
		close(pfd);
		return RD_ERR_IO;
	}
	*ident = (uint64_t)st.st_ino;
	*prime_fd = pfd;
	return 0;
}

int drm_fb_map(int fd, const char *path, const struct drm_fbinfo *fi, uint32_t handle,
	struct drm_scanout *m)
{
	memset(m, 0, sizeof(*m));
	m->prime_fd = -1;
	m->fb_id = fi->fb_id;
	m->handle = handle;
	m->pitch = fi->pitch;
	int rc = drm_fb_ident(fd, handle, &m->ident, &m->prime_fd);
	if (rc < 0) {
		log_warn("%s: framebuffer %u can be neither dumb-mapped nor exported: %s", path,
			fi->fb_id, strerror(errno));
		goto fail;
	}
	long page = sysconf(_SC_PAGESIZE);
	size_t need = (size_t)fi->offset + (size_t)fi->pitch * fi->height;
	m->len = (need + (size_t)page - 1) & ~((size_t)page - 1);
	void *p = m->prime_fd >= 0 ?
		mmap(NULL, m->len, PROT_READ, MAP_SHARED, m->prime_fd, 0) :
		mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, (off_t)m->ident);
	if (p == MAP_FAILED) {
		log_warn("%s: cannot map framebuffer %u: %s", path, fi->fb_id, strerror(errno));
		m->base = NULL;
		rc = RD_ERR_IO;
		goto fail;
	}
	m->base = p;
	m->pix = m->base + fi->offset;
	return 0;
fail:
	drm_scanout_release(fd, m);
	return rc;
}


const char *drm_fourcc_str(uint32_t f, char buf[8])
{
	for (int i = 0; i < 4; i++) {
		char ch = (char)((f >> (8 * i)) & 0xff);
		buf[i] = ch >= 32 && ch < 127 ? ch : '?';
	}
	buf[4] = 0;
	return buf;
}

/* Can this framebuffer be read? If not, why into why. */
int drm_fb_check(const char *path, const struct drm_fbinfo *fi, uint32_t handle, char *why,
	size_t wlen)
{
	char fs[8];
	if (!handle) {
		snprintf(why, wlen, "%s: the kernel withholds framebuffer handles: reading another "
			"client's framebuffer needs CAP_SYS_ADMIN", path);
		return RD_ERR_PERM;
	}
	if (!tile_damage_bpp(fi->format)) {
		snprintf(why, wlen, "%s: framebuffer format %s is not supported", path,
			drm_fourcc_str(fi->format, fs));
		return RD_ERR_UNSUPPORTED;
	}
	if (fi->modifier != DRM_FORMAT_MOD_LINEAR && fi->modifier != DRM_FORMAT_MOD_INVALID) {
		snprintf(why, wlen, "%s: framebuffer is not linear (modifier 0x%llx)", path,
			(unsigned long long)fi->modifier);
		return RD_ERR_UNSUPPORTED;
	}
	if (fi->width == 0 || fi->height == 0 ||
	    fi->pitch < fi->width * (uint32_t)tile_damage_bpp(fi->format)) {
		snprintf(why, wlen, "%s: framebuffer geometry %ux%u pitch %u is invalid", path,
			fi->width, fi->height, fi->pitch);
		return RD_ERR_UNSUPPORTED;
	}
	return 0;
}

/* drm_node: open a KMS device node the way every user of it here must: as an
 * ordinary client that gives the DRM master role back at once. Shared by the
 * drm capture backend, the privsep client's direct mode and rd-agent-helper,
 * which also links drm_fb_describe (drm_fb.h) from drm_node.c, as GETFB2
 * hands out GEM handles only to a privileged caller. */
#ifndef RD_AGENT_DRM_NODE_H
#define RD_AGENT_DRM_NODE_H

#include <stdbool.h>

/* The character-device major of DRM; primary nodes (cardN) have minors below 64. */
#define DRM_NODE_MAJOR 226
#define DRM_NODE_PRIMARY_MINORS 64

/* Is fd a DRM primary node (a character device 226:0..63)? */
bool drm_node_is_primary(int fd);
/* Open path read-write (close-on-exec); with primary_only, refuse anything
 * but a DRM primary node (ENODEV) before the first ioctl reaches it. Drop the
 * master role if the open made us master, so a compositor started later can
 * still set modes. RD_ERR_NOTFOUND (ENOENT), RD_ERR_UNSUPPORTED (ENODEV: not
 * a primary node) or RD_ERR_PERM, errno kept. */
int drm_node_open(const char *path, bool primary_only, int *fd);

#endif

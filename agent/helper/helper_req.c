/* helper_req: the request table of rd-agent-helper (see helper.h). Each
 * request opens or reads one thing and hands back a descriptor or a few
 * bytes; nothing is remembered between requests. */
#define RD_LOG_SUBSYS "helper"
#include "helper.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "capture/drm_fb.h"
#include "capture/drm_node.h"
#include "input/uinput_dev.h"
#include "err.h"
#include "log.h"
#include "privsep.h"
#include "xauth.h"

/* errno after an rd_err, never 0. */
static int hr__errno(int rc)
{
	if (rc == RD_ERR_NOTFOUND)
		return ENOENT;
	if (rc == RD_ERR_TOOBIG)
		return EFBIG;
	if (rc == RD_ERR_PROTO)
		return EBADMSG;
	return errno ? errno : EIO;
}

static int hr__drm_open(const struct helper_config *cfg, uint32_t card, int *out,
	const char **refusal)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/card%u", cfg->dri_dir, card) >= (int)sizeof(path))
		return ENAMETOOLONG;
	int rc = drm_node_open(path, true, out);
	if (rc == RD_ERR_UNSUPPORTED)
		*refusal = "not a DRM primary node";
	return rc == RD_OK ? 0 : hr__errno(rc);
}

/* GETFB2 on the agent's own descriptor: GEM handles belong to the open file,
 * so the handle is valid in the agent's copy. */
static int hr__drm_fb(int fd, uint32_t fb_id, struct privsep_wire_rep *rep, const char **refusal)
{
	if (!drm_node_is_primary(fd)) {
		*refusal = "the descriptor sent is not a DRM primary node";
		return ENODEV;
	}
	struct drm_fbinfo fi;
	uint32_t handle;
	int rc = drm_fb_describe(fd, fb_id, &fi, &handle);
	if (rc != RD_OK)
		return hr__errno(rc);
	rep->handle = handle;
	rep->fb_id = fi.fb_id;
	rep->width = fi.width;
	rep->height = fi.height;
	rep->format = fi.format;
	rep->pitch = fi.pitch;
	rep->offset = fi.offset;
	rep->modifier = fi.modifier;
	return 0;
}

static int hr__cookie(const struct helper_config *cfg, uint32_t display,
	struct privsep_wire_rep *rep)
{
	char host[HOST_NAME_MAX + 1];
	if (!cfg->xauthority)
		return ENOENT;
	if (gethostname(host, sizeof(host)) != 0)
		return errno;
	host[sizeof(host) - 1] = '\0';
	int rc = xauth_file_cookie(cfg->xauthority, host, display, rep->cookie);
	return rc == RD_OK ? 0 : hr__errno(rc);
}

static int hr__pipewire(const struct helper_config *cfg, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!cfg->runtime_dir)
		return ENOENT;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", cfg->runtime_dir,
	    cfg->pw_remote) >= (int)sizeof(sa.sun_path))
		return ENAMETOOLONG;
	/* Non-blocking, as PipeWire's own clients connect: a full backlog is
	 * EAGAIN, never a wait. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		return e;
	}
	*out = fd;
	return 0;
}

const char *helper_handle(const struct helper_config *cfg, const struct privsep_req *req,
	int in_fd, struct privsep_wire_rep *rep, int *out_fd)
{
	const char *refusal = NULL;
	int status = EINVAL;
	*out_fd = -1;
	errno = 0;
	privsep_rep_init(rep, req->type);
	switch (req->type) {
	case PRIVSEP_DRM_OPEN:
		status = hr__drm_open(cfg, req->arg, out_fd, &refusal);
		break;
	case PRIVSEP_DRM_FB:
		status = hr__drm_fb(in_fd, req->arg, rep, &refusal);
		break;
	case PRIVSEP_UINPUT: {
		int rc = uinput_dev_create(cfg->uinput, req->arg == PRIVSEP_UINPUT_POINTER, out_fd);
		status = rc == RD_OK ? 0 : hr__errno(rc);
		break;
	}
	case PRIVSEP_X11_COOKIE:
		status = hr__cookie(cfg, req->arg, rep);
		break;
	case PRIVSEP_PIPEWIRE:
		status = hr__pipewire(cfg, out_fd);
		break;
	}
	rep->status = status;
	if (status != 0 && *out_fd >= 0) {
		close(*out_fd);
		*out_fd = -1;
	}
	return refusal;
}

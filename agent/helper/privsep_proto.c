/* privsep_proto: build and check the helper's messages (see privsep_proto.h). */
#include "privsep_proto.h"

#include <string.h>

#include "err.h"
#include "privsep.h"

const char *privsep_type_name(unsigned type)
{
	switch (type) {
	case PRIVSEP_DRM_OPEN: return "drm-open";
	case PRIVSEP_DRM_FB: return "drm-fb";
	case PRIVSEP_UINPUT: return "uinput";
	case PRIVSEP_X11_COOKIE: return "x11-cookie";
	case PRIVSEP_PIPEWIRE: return "pipewire";
	}
	return "unknown";
}

int privsep_req_nfds(enum privsep_type type)
{
	return type == PRIVSEP_DRM_FB ? 1 : 0;
}

int privsep_rep_nfds(enum privsep_type type, int32_t status)
{
	if (status != 0)
		return 0;
	return type == PRIVSEP_DRM_OPEN || type == PRIVSEP_UINPUT || type == PRIVSEP_PIPEWIRE;
}

void privsep_req_encode(const struct privsep_req *r, struct privsep_wire_req *w)
{
	memset(w, 0, sizeof(*w));
	w->magic = PRIVSEP_MAGIC;
	w->version = PRIVSEP_VERSION;
	w->type = (uint16_t)r->type;
	w->arg = r->arg;
}

static const char *ps__arg_check(unsigned type, uint32_t arg)
{
	switch (type) {
	case PRIVSEP_DRM_OPEN:
		return arg <= PRIVSEP_MAX_CARD ? NULL : "card number out of range";
	case PRIVSEP_DRM_FB:
		return arg != 0 ? NULL : "framebuffer 0";
	case PRIVSEP_UINPUT:
		return arg == PRIVSEP_UINPUT_KEYBOARD || arg == PRIVSEP_UINPUT_POINTER ? NULL
			: "unknown uinput device";
	case PRIVSEP_X11_COOKIE:
		return arg <= PRIVSEP_MAX_DISPLAY ? NULL : "display number out of range";
	case PRIVSEP_PIPEWIRE:
		return arg == 0 ? NULL : "argument not 0";
	}
	return "unknown request type";
}

int privsep_req_parse(const void *buf, size_t len, int nfds, struct privsep_req *out,
	const char **why)
{
	struct privsep_wire_req w;
	const char *bad = NULL;
	if (len != sizeof(w))
		bad = "wrong length";
	else {
		memcpy(&w, buf, sizeof(w));
		if (w.magic != PRIVSEP_MAGIC)
			bad = "bad magic";
		else if (w.version != PRIVSEP_VERSION)
			bad = "unknown version";
		else if (w.zero != 0)
			bad = "reserved field not 0";
		else if ((bad = ps__arg_check(w.type, w.arg)) == NULL &&
		    nfds != privsep_req_nfds(w.type))
			bad = "wrong number of descriptors";
	}
	*why = bad;
	if (bad)
		return RD_ERR_PROTO;
	out->type = (enum privsep_type)w.type;
	out->arg = w.arg;
	return RD_OK;
}

void privsep_rep_init(struct privsep_wire_rep *w, unsigned type)
{
	memset(w, 0, sizeof(*w));
	w->magic = PRIVSEP_MAGIC;
	w->version = PRIVSEP_VERSION;
	w->type = (uint16_t)type;
}

int privsep_rep_parse(const void *buf, size_t len, int nfds, enum privsep_type want,
	struct privsep_wire_rep *out, const char **why)
{
	const char *bad = NULL;
	if (len != sizeof(*out))
		bad = "wrong length";
	else {
		memcpy(out, buf, sizeof(*out));
		if (out->magic != PRIVSEP_MAGIC || out->version != PRIVSEP_VERSION)
			bad = "bad magic or version";
		else if (out->type != want)
			bad = "answers another request";
		else if (out->status < 0 || out->status > 4095)
			bad = "status out of range";
		else if (nfds != privsep_rep_nfds(want, out->status))
			bad = "wrong number of descriptors";
	}
	*why = bad;
	return bad ? RD_ERR_PROTO : RD_OK;
}

/* privsep_proto: the messages between rd-agent and rd-agent-helper, one per
 * SOCK_SEQPACKET datagram, in the host's byte order (both ends run on the
 * same machine). A request is 16 bytes: magic, version, type and one
 * argument; a DRM_FB request carries one descriptor (SCM_RIGHTS), no other
 * request carries any. Every reply is 64 bytes: the type echoed, a status
 * (0 or an errno value) and the payload; a successful DRM_OPEN, UINPUT or
 * PIPEWIRE reply carries exactly one descriptor.
 *
 * The helper treats the agent as hostile: privsep_req_parse checks the exact
 * length, magic, version, type, argument range and descriptor count. */
#ifndef RD_AGENT_PRIVSEP_PROTO_H
#define RD_AGENT_PRIVSEP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PRIVSEP_MAGIC 0x52445053u /* "RDPS" */
#define PRIVSEP_VERSION 1
#define PRIVSEP_MAX_CARD 15
#define PRIVSEP_MAX_DISPLAY 9999
#define PRIVSEP_MAX_FDS 1         /* descriptors in any one message */

enum privsep_type {
	PRIVSEP_DRM_OPEN = 1,   /* arg: card 0..15; reply: the card's fd */
	PRIVSEP_DRM_FB = 2,     /* arg: fb_id (not 0), fd: a DRM primary node; reply: fb + handle */
	PRIVSEP_UINPUT = 3,     /* arg: enum privsep_uinput; reply: the device's fd */
	PRIVSEP_X11_COOKIE = 4, /* arg: display number 0..9999; reply: the cookie */
	PRIVSEP_PIPEWIRE = 5,   /* arg: 0; reply: a socket connected to PipeWire */
};

struct privsep_wire_req {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t arg;
	uint32_t zero;          /* must be 0 */
};

struct privsep_wire_rep {
	uint32_t magic;
	uint16_t version;
	uint16_t type;          /* the request's type */
	int32_t status;         /* 0, or an errno value */
	uint32_t handle;        /* DRM_FB: GEM handle on the fd sent, 0 if withheld */
	uint32_t fb_id, width, height, format, pitch, offset;
	uint64_t modifier;
	uint8_t cookie[16];     /* X11_COOKIE */
};

_Static_assert(sizeof(struct privsep_wire_req) == 16, "request layout");
_Static_assert(sizeof(struct privsep_wire_rep) == 64, "reply layout");

struct privsep_req {
	enum privsep_type type;
	uint32_t arg;
};

/* The request's name for logs ("drm-open"; "unknown" for anything else). */
const char *privsep_type_name(unsigned type);
/* Descriptors a request of this type must carry. */
int privsep_req_nfds(enum privsep_type type);
/* Descriptors a reply to this type carries with this status. */
int privsep_rep_nfds(enum privsep_type type, int32_t status);
/* Build a request. */
void privsep_req_encode(const struct privsep_req *r, struct privsep_wire_req *w);
/* Check a request of len bytes that came with nfds descriptors. RD_OK, or
 * RD_ERR_PROTO with *why saying what is wrong (a fixed string, for the log). */
int privsep_req_parse(const void *buf, size_t len, int nfds, struct privsep_req *out,
	const char **why);
/* An empty reply (status 0) to a request of type t. */
void privsep_rep_init(struct privsep_wire_rep *w, unsigned type);
/* Check a reply to a request of type want that came with nfds descriptors;
 * copied into out. RD_OK or RD_ERR_PROTO with *why. */
int privsep_rep_parse(const void *buf, size_t len, int nfds, enum privsep_type want,
	struct privsep_wire_rep *out, const char **why);

#endif

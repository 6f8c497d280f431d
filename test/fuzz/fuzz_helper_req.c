/* Fuzz rd-agent-helper's request parser (and the client's reply check). The
 * first byte is the number of descriptors that came with the message (0..3,
 * or -1 for "more than fit"), the rest is the message. An accepted request
 * must be in range and re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/helper/privsep_proto.h"
#include "agent/privsep.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int nfds = data[0] % 5 - 1;
	struct privsep_req r;
	const char *why = NULL;
	if (privsep_req_parse(data + 1, size - 1, nfds, &r, &why) == RD_OK) {
		CHECK(why == NULL && size - 1 == sizeof(struct privsep_wire_req));
		CHECK(nfds == privsep_req_nfds(r.type));
		switch (r.type) {
		case PRIVSEP_DRM_OPEN: CHECK(r.arg <= PRIVSEP_MAX_CARD); break;
		case PRIVSEP_DRM_FB: CHECK(r.arg != 0 && nfds == 1); break;
		case PRIVSEP_UINPUT: CHECK(r.arg == PRIVSEP_UINPUT_KEYBOARD ||
			r.arg == PRIVSEP_UINPUT_POINTER); break;
		case PRIVSEP_X11_COOKIE: CHECK(r.arg <= PRIVSEP_MAX_DISPLAY); break;
		case PRIVSEP_PIPEWIRE: CHECK(r.arg == 0); break;
		default: abort();
		}
		struct privsep_wire_req w;
		privsep_req_encode(&r, &w);
		CHECK(memcmp(&w, data + 1, sizeof(w)) == 0);
	} else {
		CHECK(why != NULL);
	}
	struct privsep_wire_rep rep;
	for (unsigned t = PRIVSEP_DRM_OPEN; t <= PRIVSEP_PIPEWIRE; t++)
		if (privsep_rep_parse(data + 1, size - 1, nfds, (enum privsep_type)t, &rep, &why) == RD_OK)
			CHECK(rep.type == t && rep.status >= 0 && nfds == privsep_rep_nfds(t, rep.status));
	return 0;
}

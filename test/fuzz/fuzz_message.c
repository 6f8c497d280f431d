/* Fuzz session Message decoding: unpack with our limits, name the case, free.
 * A decoded message must pack again and decode to the same case. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Hbb__Message *m = rd_pb_message_unpack(data, size), *m2;
	const char *name;
	uint8_t *out;
	size_t len;

	if (!m)
		return 0;
	if (size > RD_FRAME_MAX_SESSION)
		abort();
	name = rd_pb_message_name(m);
	if (!name || !*name)
		abort();
	if (rd_pb_pack(&m->base, &out, &len) != RD_OK)
		abort();
	if (len <= RD_FRAME_MAX_SESSION) {
		m2 = rd_pb_message_unpack(out, len);
		if (!m2 || m2->union_case != m->union_case || strcmp(rd_pb_message_name(m2), name) != 0)
			abort();
		hbb__message__free_unpacked(m2, NULL);
	}
	free(out);
	hbb__message__free_unpacked(m, NULL);
	return 0;
}

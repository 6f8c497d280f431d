/* codec: TCP stream framing. A frame is a 1-4 byte little-endian header whose
 * two low bits say how many header bytes follow the first (0-3), the rest of
 * the header value being the payload length; the payload follows. */
#include "codec.h"

#include <string.h>

#include "err.h"

size_t rd_frame_header_encode(uint8_t out[RD_FRAME_HDR_MAX], size_t len)
{
	size_t n;
	uint32_t h;

	if (len <= 0x3F)
		n = 1;
	else if (len <= 0x3FFF)
		n = 2;
	else if (len <= 0x3FFFFF)
		n = 3;
	else if (len <= RD_FRAME_LEN_MAX)
		n = 4;
	else
		return 0;
	h = (uint32_t)len << 2 | (uint32_t)(n - 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(h >> (8 * i));
	return n;
}

int rd_frame_header_decode(const uint8_t *p, size_t avail, size_t *hdr_len, size_t *payload_len)
{
	size_t n;
	uint32_t h = 0;

	if (avail == 0)
		return RD_ERR_TRUNCATED;
	n = (size_t)(p[0] & 3) + 1;
	if (avail < n)
		return RD_ERR_TRUNCATED;
	for (size_t i = 0; i < n; i++)
		h |= (uint32_t)p[i] << (8 * i);
	*hdr_len = n;
	*payload_len = h >> 2;
	return RD_OK;
}

int rd_frame_next(const uint8_t *p, size_t avail, size_t max,
	const uint8_t **payload, size_t *payload_len, size_t *consumed)
{
	size_t hl, pl;
	int rc = rd_frame_header_decode(p, avail, &hl, &pl);

	if (rc != RD_OK)
		return rc;
	/* Refuse an oversized frame as soon as its header is known, so the
	 * caller never buffers toward it. */
	if (pl > max)
		return RD_ERR_TOOBIG;
	if (avail - hl < pl)
		return RD_ERR_TRUNCATED;
	*payload = p + hl;
	*payload_len = pl;
	*consumed = hl + pl;
	return RD_OK;
}

int rd_frame_append(struct rd_buf *out, const void *payload, size_t len)
{
	uint8_t hdr[RD_FRAME_HDR_MAX];
	size_t hl = rd_frame_header_encode(hdr, len);
	uint8_t *dst;

	if (hl == 0)
		return RD_ERR_TOOBIG;
	/* Reserve header and payload together so a failure appends nothing. */
	dst = rd_buf_reserve(out, hl + len);
	if (!dst)
		return (out->max && rd_buf_size(out) + hl + len > out->max) ? RD_ERR_TOOBIG : RD_ERR_NOMEM;
	memcpy(dst, hdr, hl);
	if (len)
		memcpy(dst + hl, payload, len);
	rd_buf_commit(out, hl + len);
	return RD_OK;
}

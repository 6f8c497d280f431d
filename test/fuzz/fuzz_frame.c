/* Fuzz the stream frame decoder. The input is a byte stream as a peer would
 * send it. Checks: every frame found lies inside the input and respects the
 * limit; re-encoding a payload gives a header that decodes to the same length
 * and is never longer than the one received; feeding the same stream in small
 * chunks through a reassembly buffer finds exactly the same frames. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* Parse whole frames from the front of s; returns the bytes consumed. */
static size_t parse_all(const uint8_t *s, size_t n, size_t max, size_t *frames, int *last_rc)
{
	size_t off = 0;

	*frames = 0;
	*last_rc = RD_ERR_TRUNCATED;
	while (off < n) {
		const uint8_t *pl;
		size_t plen, used, hl, dl, dplen;
		uint8_t hdr[RD_FRAME_HDR_MAX];
		int rc = rd_frame_next(s + off, n - off, max, &pl, &plen, &used);

		if (rc != RD_OK) {
			CHECK(rc == RD_ERR_TRUNCATED || rc == RD_ERR_TOOBIG);
			*last_rc = rc;
			break;
		}
		CHECK(plen <= max);
		CHECK(used >= 1 && used <= n - off);
		CHECK(pl > s + off && pl + plen == s + off + used);
		CHECK(used - plen <= RD_FRAME_HDR_MAX);
		hl = rd_frame_header_encode(hdr, plen);
		CHECK(hl >= 1 && hl <= used - plen);
		CHECK(rd_frame_header_decode(hdr, hl, &dl, &dplen) == RD_OK && dl == hl && dplen == plen);
		off += used;
		(*frames)++;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { RD_FRAME_MAX_SESSION, RD_FRAME_MAX_RENDEZVOUS, 64, 0 };
	size_t max, frames, frames2 = 0, consumed, pos = 0, step = 0;
	struct rd_buf in, re;
	int rc;

	if (size < 1)
		return 0;
	max = limits[data[0] & 3];
	data++;
	size--;
	consumed = parse_all(data, size, max, &frames, &rc);

	/* Same stream, delivered in pieces of 1-8 bytes, frames removed as they
	 * complete, each one re-encoded into another buffer. */
	rd_buf_init(&in, 0);
	rd_buf_init(&re, 0);
	while (pos < size) {
		size_t chunk = 1 + (data[step++ % size] & 7);
		const uint8_t *pl;
		size_t plen, used;
		int r;

		if (chunk > size - pos)
			chunk = size - pos;
		CHECK(rd_buf_put(&in, data + pos, chunk) == RD_OK);
		pos += chunk;
		while ((r = rd_frame_next(rd_buf_ptr(&in), rd_buf_size(&in), max, &pl, &plen, &used)) == RD_OK) {
			CHECK(rd_frame_append(&re, pl, plen) == RD_OK);
			rd_buf_consume(&in, used);
			frames2++;
		}
		if (r == RD_ERR_TOOBIG)
			break;
	}
	CHECK(frames2 == frames);
	if (rc == RD_ERR_TRUNCATED)
		CHECK(rd_buf_size(&in) == size - consumed);
	/* the re-encoded stream holds the same frames with shortest headers */
	{
		size_t f3;
		int rc3;

		CHECK(parse_all(rd_buf_ptr(&re), rd_buf_size(&re), max, &f3, &rc3) == rd_buf_size(&re));
		CHECK(f3 == frames);
		CHECK(rd_buf_size(&re) <= consumed);
	}
	rd_buf_free(&in);
	rd_buf_free(&re);
	return 0;
}

/* codec: the TCP stream framing (1-4 byte little-endian header whose two low
 * bits give its length, payload_len << 2 in the rest). I/O free. */
#ifndef RD_CODEC_H
#define RD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RD_FRAME_HDR_MAX 4
#define RD_FRAME_LEN_MAX 0x3FFFFFFFu          /* what the header can express */
#define RD_FRAME_MAX_RENDEZVOUS (64u * 1024)   /* our limit for rendezvous messages */
#define RD_FRAME_MAX_SESSION (32u * 1024 * 1024) /* our limit for session frames */

/* Shortest header for len into out; returns its length (1-4), 0 when len is
 * larger than RD_FRAME_LEN_MAX. */
size_t rd_frame_header_encode(uint8_t out[RD_FRAME_HDR_MAX], size_t len);

/* Parse the header at p. RD_ERR_TRUNCATED when avail is too short to hold it. */
int rd_frame_header_decode(const uint8_t *p, size_t avail, size_t *hdr_len, size_t *payload_len);

/* Find the next whole frame in p[0..avail). On RD_OK, *payload and *payload_len are
 * the frame body and *consumed the bytes to drop (header + payload).
 * RD_ERR_TRUNCATED: need more bytes. RD_ERR_TOOBIG: the header announces more
 * than max (the stream is unusable). */
int rd_frame_next(const uint8_t *p, size_t avail, size_t max,
	const uint8_t **payload, size_t *payload_len, size_t *consumed);

/* Append header + payload to out. */
int rd_frame_append(struct rd_buf *out, const void *payload, size_t len);

#endif

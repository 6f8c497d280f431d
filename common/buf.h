/* buf: a growable byte buffer with a hard size cap (writer), and a
 * bounds-checked reader over borrowed bytes. */
#ifndef RD_BUF_H
#define RD_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writer. Data lives in [data + off, data + len); consumed bytes at the front are
 * reclaimed lazily. max is a hard cap on len - off (0 = no cap). */
struct rd_buf {
	uint8_t *data;
	size_t off;
	size_t len;
	size_t cap;
	size_t max;
};

void rd_buf_init(struct rd_buf *b, size_t max);
/* Frees the storage (wipes nothing: use rd_buf_wipe for secrets). */
void rd_buf_free(struct rd_buf *b);
/* sodium_memzero the storage, then free it. */
void rd_buf_wipe(struct rd_buf *b);
void rd_buf_reset(struct rd_buf *b);

static inline const uint8_t *rd_buf_ptr(const struct rd_buf *b) { return b->data + b->off; }
static inline size_t rd_buf_size(const struct rd_buf *b) { return b->len - b->off; }

/* Make room for n more bytes; returns a pointer to them (not yet counted) or NULL
 * (RD_ERR_NOMEM or cap exceeded). Commit with rd_buf_commit. */
uint8_t *rd_buf_reserve(struct rd_buf *b, size_t n);
void rd_buf_commit(struct rd_buf *b, size_t n);
/* Append bytes; RD_ERR_TOOBIG past max, RD_ERR_NOMEM. */
int rd_buf_put(struct rd_buf *b, const void *p, size_t n);
int rd_buf_put_u8(struct rd_buf *b, uint8_t v);
int rd_buf_put_u16le(struct rd_buf *b, uint16_t v);
int rd_buf_put_u32le(struct rd_buf *b, uint32_t v);
int rd_buf_put_u64le(struct rd_buf *b, uint64_t v);
/* Drop n bytes from the front (n <= size). */
void rd_buf_consume(struct rd_buf *b, size_t n);

/* Reader over borrowed memory. Every getter fails with RD_ERR_TRUNCATED and
 * leaves the position unchanged when too few bytes remain. */
struct rd_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void rd_reader_init(struct rd_reader *r, const void *p, size_t len);
static inline size_t rd_reader_left(const struct rd_reader *r) { return r->len - r->off; }
static inline const uint8_t *rd_reader_pos(const struct rd_reader *r) { return r->p + r->off; }
int rd_reader_get(struct rd_reader *r, void *out, size_t n);
int rd_reader_skip(struct rd_reader *r, size_t n);
int rd_reader_u8(struct rd_reader *r, uint8_t *v);
int rd_reader_u16le(struct rd_reader *r, uint16_t *v);
int rd_reader_u32le(struct rd_reader *r, uint32_t *v);
int rd_reader_u64le(struct rd_reader *r, uint64_t *v);

#endif

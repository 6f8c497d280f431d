/* buf: growable writer with a hard cap, and a bounds-checked reader. */
#include "buf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"

#define BUF_MIN_CAP 64

void rd_buf_init(struct rd_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void rd_buf_free(struct rd_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

void rd_buf_wipe(struct rd_buf *b)
{
	if (b->data)
		sodium_memzero(b->data, b->cap);
	rd_buf_free(b);
}

void rd_buf_reset(struct rd_buf *b)
{
	b->off = b->len = 0;
}

/* Room for n more bytes: 0, RD_ERR_TOOBIG or RD_ERR_NOMEM. */
static int buf__room(struct rd_buf *b, size_t n)
{
	size_t size = b->len - b->off, need, ncap;
	uint8_t *nd;

	if (n > SIZE_MAX / 2 - size || (b->max && size + n > b->max))
		return RD_ERR_TOOBIG;
	if (b->cap - b->len >= n)
		return 0;
	need = size + n;
	if (b->cap >= need && (b->off >= size || need <= b->cap / 2 ||
	    (b->max && b->cap > b->max / 2))) {
		/* Enough room once the consumed front is reclaimed, and the move
		 * is cheap compared with what was consumed or left free (or the
		 * cap forbids growing). */
		memmove(b->data, b->data + b->off, size);
		b->off = 0;
		b->len = size;
		return 0;
	}
	ncap = b->cap ? b->cap : BUF_MIN_CAP;
	while (ncap < need)
		ncap *= 2;
	if (b->max && ncap > b->max && need <= b->max)
		ncap = b->max;
	/* Fresh storage instead of realloc, so that the old copy can be wiped:
	 * buffers may carry secrets. */
	nd = malloc(ncap);
	if (!nd)
		return RD_ERR_NOMEM;
	if (size)
		memcpy(nd, b->data + b->off, size);
	if (b->data) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = nd;
	b->cap = ncap;
	b->off = 0;
	b->len = size;
	return 0;
}

uint8_t *rd_buf_reserve(struct rd_buf *b, size_t n)
{
	if (!n && b->data)
		return b->data + b->len;
	if (buf__room(b, n ? n : 1) < 0)
		return NULL;
	return b->data + b->len;
}

void rd_buf_commit(struct rd_buf *b, size_t n)
{
	assert(n <= b->cap - b->len);
	b->len += n;
}

int rd_buf_put(struct rd_buf *b, const void *p, size_t n)
{
	int r;
	if (!n)
		return RD_OK;
	r = buf__room(b, n);
	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return RD_OK;
}

int rd_buf_put_u8(struct rd_buf *b, uint8_t v)
{
	return rd_buf_put(b, &v, 1);
}

int rd_buf_put_u16le(struct rd_buf *b, uint16_t v)
{
	uint8_t t[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	return rd_buf_put(b, t, sizeof(t));
}

int rd_buf_put_u32le(struct rd_buf *b, uint32_t v)
{
	uint8_t t[4];
	for (int i = 0; i < 4; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	return rd_buf_put(b, t, sizeof(t));
}

int rd_buf_put_u64le(struct rd_buf *b, uint64_t v)
{
	uint8_t t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	return rd_buf_put(b, t, sizeof(t));
}

void rd_buf_consume(struct rd_buf *b, size_t n)
{
	assert(n <= b->len - b->off);
	if (n > b->len - b->off)
		n = b->len - b->off;
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void rd_reader_init(struct rd_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->off = 0;
}

int rd_reader_get(struct rd_reader *r, void *out, size_t n)
{
	if (n > r->len - r->off)
		return RD_ERR_TRUNCATED;
	if (n)
		memcpy(out, r->p + r->off, n);
	r->off += n;
	return RD_OK;
}

int rd_reader_skip(struct rd_reader *r, size_t n)
{
	if (n > r->len - r->off)
		return RD_ERR_TRUNCATED;
	r->off += n;
	return RD_OK;
}

int rd_reader_u8(struct rd_reader *r, uint8_t *v)
{
	return rd_reader_get(r, v, 1);
}

static uint64_t reader__le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int rd_reader_u16le(struct rd_reader *r, uint16_t *v)
{
	uint8_t t[2];
	int e = rd_reader_get(r, t, sizeof(t));
	if (e == RD_OK)
		*v = (uint16_t)reader__le(t, 2);
	return e;
}

int rd_reader_u32le(struct rd_reader *r, uint32_t *v)
{
	uint8_t t[4];
	int e = rd_reader_get(r, t, sizeof(t));
	if (e == RD_OK)
		*v = (uint32_t)reader__le(t, 4);
	return e;
}

int rd_reader_u64le(struct rd_reader *r, uint64_t *v)
{
	uint8_t t[8];
	int e = rd_reader_get(r, t, sizeof(t));
	if (e == RD_OK)
		*v = reader__le(t, 8);
	return e;
}

/* codec: frame header vectors, decoding of non-shortest headers, truncation,
 * size limits and whole-frame parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"
#include "err.h"
#include "testutil.h"

struct vec {
	size_t len;
	const char *hex;
};

/* PROTOCOL.md §2.1 header test vectors. */
static const struct vec vectors[] = {
	{ 0, "00" }, { 1, "04" }, { 63, "fc" }, { 64, "0101" }, { 300, "b104" },
	{ 16383, "fdff" }, { 16384, "020001" }, { 4194303, "feffff" }, { 4194304, "03000001" },
};

static void test_header_vectors_encode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t want[4], got[4];
		size_t wn = unhex(vectors[i].hex, want);
		size_t gn = rd_frame_header_encode(got, vectors[i].len);

		assert_int_equal(gn, wn);
		assert_memory_equal(got, want, wn);
	}
}

static void test_header_vectors_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t h[4];
		size_t n = unhex(vectors[i].hex, h), hl = 99, pl = 99;

		assert_int_equal(rd_frame_header_decode(h, n, &hl, &pl), RD_OK);
		assert_int_equal(hl, n);
		assert_int_equal(pl, vectors[i].len);
		/* one byte short of the header */
		assert_int_equal(rd_frame_header_decode(h, n - 1, &hl, &pl), RD_ERR_TRUNCATED);
	}
}

static void test_header_limits(void **state)
{
	uint8_t h[4];
	size_t hl, pl;

	(void)state;
	assert_int_equal(rd_frame_header_encode(h, RD_FRAME_LEN_MAX), 4);
	assert_int_equal(rd_frame_header_decode(h, 4, &hl, &pl), RD_OK);
	assert_int_equal(pl, RD_FRAME_LEN_MAX);
	assert_memory_equal(h, "\xff\xff\xff\xff", 4);
	assert_int_equal(rd_frame_header_encode(h, (size_t)RD_FRAME_LEN_MAX + 1), 0);
	assert_int_equal(rd_frame_header_encode(h, SIZE_MAX), 0);
}

/* The decoder accepts longer-than-needed headers. */
static void test_decode_non_shortest(void **state)
{
	static const struct { const char *hex; size_t hl, len; } cases[] = {
		{ "0100", 2, 0 }, { "0500", 2, 1 }, { "020000", 3, 0 }, { "060000", 3, 1 },
		{ "03000000", 4, 0 }, { "b20400", 3, 300 }, { "b3040000", 4, 300 },
		{ "feff00", 3, 16383 }, { "ffff0000", 4, 16383 }, { "feff0f", 3, 262143 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t h[4] = { 0 };
		size_t hl, pl;

		assert_int_equal(strlen(cases[i].hex), 2 * cases[i].hl);
		unhex(cases[i].hex, h);
		assert_int_equal(rd_frame_header_decode(h, cases[i].hl, &hl, &pl), RD_OK);
		assert_int_equal(hl, cases[i].hl);
		assert_int_equal(pl, cases[i].len);
	}
}

static void test_frame_next(void **state)
{
	/* two frames: "abc" with a 2-byte header, then an empty frame */
	const uint8_t stream[] = { 0x0d, 0x00, 'a', 'b', 'c', 0x00 };
	const uint8_t *pl;
	size_t plen, used;

	(void)state;
	assert_int_equal(rd_frame_next(stream, 0, 100, &pl, &plen, &used), RD_ERR_TRUNCATED);
	assert_int_equal(rd_frame_next(stream, 1, 100, &pl, &plen, &used), RD_ERR_TRUNCATED);
	for (size_t n = 2; n < 5; n++)
		assert_int_equal(rd_frame_next(stream, n, 100, &pl, &plen, &used), RD_ERR_TRUNCATED);
	assert_int_equal(rd_frame_next(stream, sizeof(stream), 100, &pl, &plen, &used), RD_OK);
	assert_int_equal(plen, 3);
	assert_int_equal(used, 5);
	assert_ptr_equal(pl, stream + 2);
	assert_memory_equal(pl, "abc", 3);
	assert_int_equal(rd_frame_next(stream + used, sizeof(stream) - used, 100, &pl, &plen, &used), RD_OK);
	assert_int_equal(plen, 0);
	assert_int_equal(used, 1);
}

static void test_frame_too_big(void **state)
{
	uint8_t h[4];
	size_t hl = rd_frame_header_encode(h, RD_FRAME_MAX_RENDEZVOUS + 1);
	const uint8_t *pl;
	size_t plen, used;

	(void)state;
	/* Refused from the header alone, without waiting for the payload. */
	assert_int_equal(rd_frame_next(h, hl, RD_FRAME_MAX_RENDEZVOUS, &pl, &plen, &used), RD_ERR_TOOBIG);
	hl = rd_frame_header_encode(h, RD_FRAME_MAX_RENDEZVOUS);
	assert_int_equal(rd_frame_next(h, hl, RD_FRAME_MAX_RENDEZVOUS, &pl, &plen, &used), RD_ERR_TRUNCATED);
	hl = rd_frame_header_encode(h, RD_FRAME_MAX_SESSION + 1);
	assert_int_equal(rd_frame_next(h, hl, RD_FRAME_MAX_SESSION, &pl, &plen, &used), RD_ERR_TOOBIG);
	hl = rd_frame_header_encode(h, RD_FRAME_LEN_MAX);
	assert_int_equal(rd_frame_next(h, hl, RD_FRAME_MAX_SESSION, &pl, &plen, &used), RD_ERR_TOOBIG);
}

/* rd_frame_append writes the shortest header, and frames read back. */
static void test_append_roundtrip(void **state)
{
	static const size_t sizes[] = { 0, 1, 63, 64, 300, 16383, 16384, 70000 };
	struct rd_buf b;
	uint8_t *payload = malloc(70000);
	size_t off = 0;

	(void)state;
	assert_non_null(payload);
	for (size_t i = 0; i < 70000; i++)
		payload[i] = (uint8_t)(i * 7);
	rd_buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_int_equal(rd_frame_append(&b, payload, sizes[i]), RD_OK);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const uint8_t *pl;
		size_t plen, used, want_hl = sizes[i] <= 63 ? 1 : sizes[i] <= 16383 ? 2 : 3;

		assert_int_equal(rd_frame_next(rd_buf_ptr(&b) + off, rd_buf_size(&b) - off,
			RD_FRAME_MAX_SESSION, &pl, &plen, &used), RD_OK);
		assert_int_equal(plen, sizes[i]);
		assert_int_equal(used, want_hl + sizes[i]);
		if (plen)
			assert_memory_equal(pl, payload, plen);
		off += used;
	}
	assert_int_equal(off, rd_buf_size(&b));
	rd_buf_free(&b);
	free(payload);
}

/* A capped buffer refuses a frame that does not fit and stays unchanged. */
static void test_append_capped(void **state)
{
	struct rd_buf b;
	uint8_t data[100] = { 0 };

	(void)state;
	rd_buf_init(&b, 50);
	assert_int_equal(rd_frame_append(&b, data, 40), RD_OK);
	assert_int_equal(rd_buf_size(&b), 41);
	assert_int_equal(rd_frame_append(&b, data, 20), RD_ERR_TOOBIG);
	assert_int_equal(rd_buf_size(&b), 41);
	assert_int_equal(rd_frame_append(&b, data, 8), RD_OK);
	assert_int_equal(rd_buf_size(&b), 50);
	rd_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_vectors_encode),
		cmocka_unit_test(test_header_vectors_decode),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_decode_non_shortest),
		cmocka_unit_test(test_frame_next),
		cmocka_unit_test(test_frame_too_big),
		cmocka_unit_test(test_append_roundtrip),
		cmocka_unit_test(test_append_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* buf: writer growth, hard cap, compaction, wipe; reader bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

static void test_put_and_read_back(void **state)
{
	(void)state;
	struct rd_buf b;
	struct rd_reader r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	char s[6];

	rd_buf_init(&b, 0);
	assert_int_equal(rd_buf_size(&b), 0);
	assert_int_equal(rd_buf_put_u8(&b, 0xab), RD_OK);
	assert_int_equal(rd_buf_put_u16le(&b, 0x1234), RD_OK);
	assert_int_equal(rd_buf_put_u32le(&b, 0xdeadbeef), RD_OK);
	assert_int_equal(rd_buf_put_u64le(&b, 0x0102030405060708ULL), RD_OK);
	assert_int_equal(rd_buf_put(&b, "hello", 5), RD_OK);
	assert_int_equal(rd_buf_put(&b, NULL, 0), RD_OK);
	assert_int_equal(rd_buf_size(&b), 1 + 2 + 4 + 8 + 5);

	static const uint8_t want[] = { 0xab, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde,
		8, 7, 6, 5, 4, 3, 2, 1, 'h', 'e', 'l', 'l', 'o' };
	assert_memory_equal(rd_buf_ptr(&b), want, sizeof(want));

	rd_reader_init(&r, rd_buf_ptr(&b), rd_buf_size(&b));
	assert_int_equal(rd_reader_u8(&r, &u8), RD_OK);
	assert_int_equal(u8, 0xab);
	assert_int_equal(rd_reader_u16le(&r, &u16), RD_OK);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(rd_reader_u32le(&r, &u32), RD_OK);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(rd_reader_u64le(&r, &u64), RD_OK);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(rd_reader_left(&r), 5);
	assert_int_equal(rd_reader_get(&r, s, 5), RD_OK);
	s[5] = '\0';
	assert_string_equal(s, "hello");
	assert_int_equal(rd_reader_left(&r), 0);
	assert_int_equal(rd_reader_u8(&r, &u8), RD_ERR_TRUNCATED);
	assert_int_equal(rd_reader_get(&r, s, 0), RD_OK);
	rd_buf_free(&b);
	assert_null(b.data);
}

static void test_reader_truncation(void **state)
{
	(void)state;
	static const uint8_t d[] = { 1, 2, 3 };
	struct rd_reader r;
	uint32_t u32 = 77;
	uint16_t u16;
	uint64_t u64;
	uint8_t out[4];

	rd_reader_init(&r, d, sizeof(d));
	assert_int_equal(rd_reader_u32le(&r, &u32), RD_ERR_TRUNCATED);
	assert_int_equal(u32, 77);
	assert_int_equal(rd_reader_left(&r), 3);
	assert_int_equal(rd_reader_u64le(&r, &u64), RD_ERR_TRUNCATED);
	assert_int_equal(rd_reader_get(&r, out, 4), RD_ERR_TRUNCATED);
	assert_int_equal(rd_reader_skip(&r, 4), RD_ERR_TRUNCATED);
	assert_int_equal(rd_reader_skip(&r, SIZE_MAX), RD_ERR_TRUNCATED);
	assert_int_equal(rd_reader_skip(&r, 2), RD_OK);
	assert_ptr_equal(rd_reader_pos(&r), d + 2);
	assert_int_equal(rd_reader_u16le(&r, &u16), RD_ERR_TRUNCATED);
	assert_int_equal(rd_reader_left(&r), 1);
	assert_int_equal(rd_reader_get(&r, out, 1), RD_OK);
	assert_int_equal(out[0], 3);
	assert_int_equal(rd_reader_skip(&r, 1), RD_ERR_TRUNCATED);

	rd_reader_init(&r, NULL, 10);
	assert_int_equal(rd_reader_left(&r), 0);
	assert_int_equal(rd_reader_skip(&r, 1), RD_ERR_TRUNCATED);
}

static void test_cap(void **state)
{
	(void)state;
	struct rd_buf b;
	uint8_t chunk[100];

	memset(chunk, 0x5a, sizeof(chunk));
	rd_buf_init(&b, 250);
	assert_int_equal(rd_buf_put(&b, chunk, 100), RD_OK);
	assert_int_equal(rd_buf_put(&b, chunk, 100), RD_OK);
	assert_int_equal(rd_buf_put(&b, chunk, 51), RD_ERR_TOOBIG);
	assert_int_equal(rd_buf_size(&b), 200);
	assert_null(rd_buf_reserve(&b, 51));
	assert_int_equal(rd_buf_put(&b, chunk, 50), RD_OK);
	assert_int_equal(rd_buf_put_u8(&b, 1), RD_ERR_TOOBIG);
	assert_int_equal(rd_buf_put_u64le(&b, 1), RD_ERR_TOOBIG);
	assert_int_equal(rd_buf_size(&b), 250);
	assert_true(b.cap <= 256);
	/* consuming makes room again, within the same storage */
	uint8_t *old = b.data;
	rd_buf_consume(&b, 150);
	assert_int_equal(rd_buf_put(&b, chunk, 100), RD_OK);
	assert_int_equal(rd_buf_put(&b, chunk, 50), RD_OK);
	assert_int_equal(rd_buf_put_u8(&b, 1), RD_ERR_TOOBIG);
	assert_int_equal(rd_buf_size(&b), 250);
	assert_ptr_equal(b.data, old);
	assert_int_equal(rd_buf_put(&b, chunk, SIZE_MAX), RD_ERR_TOOBIG);
	rd_buf_free(&b);

	rd_buf_init(&b, 0);
	assert_int_equal(rd_buf_put(&b, chunk, SIZE_MAX - 10), RD_ERR_TOOBIG);
	rd_buf_free(&b);
}

static void test_growth_and_compaction(void **state)
{
	(void)state;
	struct rd_buf b;
	uint8_t in[1000], out[1000];
	uint32_t seq_in = 0, seq_out = 0;

	/* a queue: write 7 bytes, read 5, many times; content stays in order and
	 * storage stays small because the consumed front is reclaimed */
	rd_buf_init(&b, 0);
	for (int round = 0; round < 20000; round++) {
		for (int i = 0; i < 7; i++)
			in[i] = (uint8_t)(seq_in++ * 31);
		assert_int_equal(rd_buf_put(&b, in, 7), RD_OK);
		size_t take = rd_buf_size(&b) < 5 ? rd_buf_size(&b) : 5;
		memcpy(out, rd_buf_ptr(&b), take);
		for (size_t i = 0; i < take; i++)
			assert_int_equal(out[i], (uint8_t)(seq_out++ * 31));
		rd_buf_consume(&b, take);
	}
	assert_int_equal(rd_buf_size(&b), 20000 * 2);
	assert_true(b.cap <= 2 * 20000 * 2 + 128);
	while (rd_buf_size(&b)) {
		size_t take = rd_buf_size(&b) < 999 ? rd_buf_size(&b) : 999;
		for (size_t i = 0; i < take; i++)
			assert_int_equal(rd_buf_ptr(&b)[i], (uint8_t)(seq_out++ * 31));
		rd_buf_consume(&b, take);
	}
	assert_int_equal(seq_in, seq_out);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 0);

	/* steady state: equal in and out never grows the storage */
	size_t cap = b.cap;
	for (int round = 0; round < 10000; round++) {
		assert_int_equal(rd_buf_put(&b, in, 100), RD_OK);
		rd_buf_consume(&b, 60);
		assert_int_equal(rd_buf_put(&b, in, 10), RD_OK);
		rd_buf_consume(&b, 50);
	}
	assert_int_equal(b.cap, cap);
	rd_buf_wipe(&b);
	assert_null(b.data);
	assert_int_equal(rd_buf_size(&b), 0);
}

static void test_reserve_commit(void **state)
{
	(void)state;
	struct rd_buf b;
	rd_buf_init(&b, 4096);
	uint8_t *p = rd_buf_reserve(&b, 3000);
	assert_non_null(p);
	memcpy(p, "abc", 3);
	rd_buf_commit(&b, 3);
	assert_int_equal(rd_buf_size(&b), 3);
	assert_memory_equal(rd_buf_ptr(&b), "abc", 3);
	assert_non_null(rd_buf_reserve(&b, 0));
	assert_null(rd_buf_reserve(&b, 4094));
	assert_non_null(rd_buf_reserve(&b, 4093));
	rd_buf_reset(&b);
	assert_int_equal(rd_buf_size(&b), 0);
	assert_non_null(rd_buf_reserve(&b, 4096));
	rd_buf_free(&b);
	rd_buf_init(&b, 0);
	assert_non_null(rd_buf_reserve(&b, 0));
	rd_buf_free(&b);
}

static void test_wipe(void **state)
{
	(void)state;
	struct rd_buf b;
	rd_buf_init(&b, 0);
	assert_int_equal(rd_buf_put(&b, "secret-key-material", 19), RD_OK);
	rd_buf_wipe(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	/* still usable, and the cap survives */
	rd_buf_init(&b, 8);
	rd_buf_wipe(&b);
	assert_int_equal(rd_buf_put(&b, "123456789", 9), RD_ERR_TOOBIG);
	assert_int_equal(rd_buf_put(&b, "12345678", 8), RD_OK);
	rd_buf_wipe(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_and_read_back),
		cmocka_unit_test(test_reader_truncation),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_growth_and_compaction),
		cmocka_unit_test(test_reserve_commit),
		cmocka_unit_test(test_wipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

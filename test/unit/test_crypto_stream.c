/* crypto: the session key exchange and the secretbox session stream in both
 * modes: round trips, RustDesk's wire form, per-direction keys, tamper of
 * every bit, replay, reorder, heartbeat pass-through and full buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"

/* ---- session key exchange ---- */

static void test_session_key(void **state)
{
	static const uint8_t zero_nonce[24];
	struct rd_box_keypair agent, wrong;
	uint8_t ctl_pk[32], key[32], key2[32], sealed[48], k3[32];

	(void)state;
	rd_box_keypair_new(&agent);
	rd_box_keypair_new(&wrong);
	assert_int_equal(rd_session_key_seal(agent.pk, ctl_pk, key, sealed), RD_OK);
	assert_int_equal(rd_session_key_open(sealed, 48, ctl_pk, &agent, key2), RD_OK);
	assert_memory_equal(key, key2, 32);
	/* the wire form is crypto_box_easy with an all-zero nonce */
	assert_int_equal(crypto_box_open_easy(k3, sealed, 48, zero_nonce, ctl_pk, agent.sk), 0);
	assert_memory_equal(k3, key, 32);
	assert_int_equal(rd_session_key_open(sealed, 48, ctl_pk, &wrong, key2), RD_ERR_CRYPTO);
	assert_int_equal(rd_session_key_open(sealed, 47, ctl_pk, &agent, key2), RD_ERR_PROTO);
	assert_int_equal(rd_session_key_open(sealed, 0, ctl_pk, &agent, key2), RD_ERR_PROTO);
	sealed[20] ^= 1;
	assert_int_equal(rd_session_key_open(sealed, 48, ctl_pk, &agent, key2), RD_ERR_CRYPTO);
	/* two exchanges never give the same key */
	assert_int_equal(rd_session_key_seal(agent.pk, ctl_pk, key2, sealed), RD_OK);
	assert_memory_not_equal(key, key2, 32);
	/* an all-zero (degenerate) peer key is refused */
	{
		uint8_t zero_pk[32] = { 0 };
		assert_int_equal(rd_session_key_seal(zero_pk, ctl_pk, key2, sealed), RD_ERR_CRYPTO);
	}
	rd_box_keypair_wipe(&agent);
	for (size_t i = 0; i < sizeof(agent); i++)
		assert_int_equal(((uint8_t *)&agent)[i], 0);
}

/* ---- session stream ---- */

struct pair {
	struct rd_crypto_stream ctl, agent;
	struct rd_buf a, b;
};

static void pair_init(struct pair *p, enum rd_crypto_mode mode)
{
	uint8_t key[32];

	crypto_secretbox_keygen(key);
	rd_crypto_stream_init(&p->ctl, key, mode, true);
	rd_crypto_stream_init(&p->agent, key, mode, false);
	rd_buf_init(&p->a, 0);
	rd_buf_init(&p->b, 0);
	sodium_memzero(key, sizeof(key));
}

static void pair_free(struct pair *p)
{
	rd_crypto_stream_wipe(&p->ctl);
	rd_crypto_stream_wipe(&p->agent);
	rd_buf_free(&p->a);
	rd_buf_free(&p->b);
}

/* Seal msg with s into a fresh buffer b. */
static void seal(struct rd_crypto_stream *s, const char *msg, struct rd_buf *b)
{
	rd_buf_reset(b);
	assert_int_equal(rd_crypto_seal(s, (const uint8_t *)msg, strlen(msg), b), RD_OK);
	assert_int_equal(rd_buf_size(b), strlen(msg) + 16);
}

static void expect_open(struct rd_crypto_stream *s, const struct rd_buf *frame, const char *msg)
{
	struct rd_buf out;

	rd_buf_init(&out, 0);
	assert_int_equal(rd_crypto_open(s, rd_buf_ptr(frame), rd_buf_size(frame), &out), RD_OK);
	assert_int_equal(rd_buf_size(&out), strlen(msg));
	if (*msg)
		assert_memory_equal(rd_buf_ptr(&out), msg, strlen(msg));
	rd_buf_free(&out);
}

static void expect_reject(struct rd_crypto_stream *s, const uint8_t *p, size_t len)
{
	struct rd_buf out;
	uint64_t seq = s->rx_seq;

	rd_buf_init(&out, 0);
	assert_int_equal(rd_crypto_open(s, p, len, &out), RD_ERR_CRYPTO);
	assert_int_equal(rd_buf_size(&out), 0);
	assert_int_equal(s->rx_seq, seq);
	rd_buf_free(&out);
}

static void stream_roundtrip(enum rd_crypto_mode mode)
{
	struct pair p;
	char msg[64];

	pair_init(&p, mode);
	for (int i = 0; i < 20; i++) {
		snprintf(msg, sizeof(msg), "controller frame %d", i);
		seal(&p.ctl, msg, &p.a);
		expect_open(&p.agent, &p.a, msg);
		snprintf(msg, sizeof(msg), "agent frame %d", i);
		seal(&p.agent, msg, &p.b);
		expect_open(&p.ctl, &p.b, msg);
	}
	/* an empty message is still a sealed 16-byte frame */
	seal(&p.ctl, "", &p.a);
	expect_open(&p.agent, &p.a, "");
	assert_int_equal(p.ctl.tx_seq, 21);
	assert_int_equal(p.agent.rx_seq, 21);
	pair_free(&p);
}

static void test_stream_roundtrip_compat(void **state)
{
	(void)state;
	stream_roundtrip(RD_CRYPTO_COMPAT);
}

static void test_stream_roundtrip_kdf(void **state)
{
	(void)state;
	stream_roundtrip(RD_CRYPTO_KDF);
}

/* Compatible mode is exactly RustDesk's: one key, nonce = counter from 1, u64
 * little-endian, and both directions use the same nonces. */
static void test_stream_compat_wire(void **state)
{
	uint8_t key[32], nonce[24] = { 0 }, plain[64];
	struct rd_crypto_stream a, b;
	struct rd_buf fa, fb;

	(void)state;
	crypto_secretbox_keygen(key);
	rd_crypto_stream_init(&a, key, RD_CRYPTO_COMPAT, true);
	rd_crypto_stream_init(&b, key, RD_CRYPTO_COMPAT, false);
	assert_memory_equal(a.tx_key, key, 32);
	assert_memory_equal(a.rx_key, key, 32);
	assert_memory_equal(b.tx_key, key, 32);
	rd_buf_init(&fa, 0);
	rd_buf_init(&fb, 0);
	for (uint64_t i = 1; i <= 300; i++) {
		rd_buf_reset(&fa);
		rd_buf_reset(&fb);
		assert_int_equal(rd_crypto_seal(&a, (const uint8_t *)"hello", 5, &fa), RD_OK);
		assert_int_equal(rd_crypto_seal(&b, (const uint8_t *)"hello", 5, &fb), RD_OK);
		/* same key and nonce both ways: identical frames (RustDesk's weakness) */
		assert_memory_equal(rd_buf_ptr(&fa), rd_buf_ptr(&fb), 21);
		nonce[0] = (uint8_t)i;
		nonce[1] = (uint8_t)(i >> 8);
		assert_int_equal(crypto_secretbox_open_easy(plain, rd_buf_ptr(&fa), 21, nonce, key), 0);
		assert_memory_equal(plain, "hello", 5);
	}
	rd_buf_free(&fa);
	rd_buf_free(&fb);
}

/* rdesk mode: one derived key per direction, context "rdesk-ss", subkey 1 =
 * controller->agent, 2 = agent->controller. */
static void test_stream_kdf_keys(void **state)
{
	uint8_t key[32], k1[32], k2[32];
	struct rd_crypto_stream ctl, agent;
	struct rd_buf fa, fb;

	(void)state;
	crypto_secretbox_keygen(key);
	crypto_kdf_derive_from_key(k1, 32, 1, "rdesk-ss", key);
	crypto_kdf_derive_from_key(k2, 32, 2, "rdesk-ss", key);
	rd_crypto_stream_init(&ctl, key, RD_CRYPTO_KDF, true);
	rd_crypto_stream_init(&agent, key, RD_CRYPTO_KDF, false);
	assert_memory_equal(ctl.tx_key, k1, 32);
	assert_memory_equal(ctl.rx_key, k2, 32);
	assert_memory_equal(agent.tx_key, k2, 32);
	assert_memory_equal(agent.rx_key, k1, 32);
	assert_memory_not_equal(ctl.tx_key, ctl.rx_key, 32);
	assert_memory_not_equal(ctl.tx_key, key, 32);
	assert_memory_not_equal(ctl.rx_key, key, 32);
	/* the same plain text in both directions gives different frames */
	rd_buf_init(&fa, 0);
	rd_buf_init(&fb, 0);
	assert_int_equal(rd_crypto_seal(&ctl, (const uint8_t *)"hello", 5, &fa), RD_OK);
	assert_int_equal(rd_crypto_seal(&agent, (const uint8_t *)"hello", 5, &fb), RD_OK);
	assert_memory_not_equal(rd_buf_ptr(&fa), rd_buf_ptr(&fb), 21);
	/* a frame is not accepted back by its own sender's receive side */
	expect_reject(&ctl, rd_buf_ptr(&fa), rd_buf_size(&fa));
	/* a compat-mode receiver cannot read a KDF-mode sender */
	{
		struct rd_crypto_stream compat;
		rd_crypto_stream_init(&compat, key, RD_CRYPTO_COMPAT, false);
		expect_reject(&compat, rd_buf_ptr(&fa), rd_buf_size(&fa));
	}
	expect_open(&agent, &fa, "hello");
	expect_open(&ctl, &fb, "hello");
	rd_crypto_stream_wipe(&ctl);
	for (size_t i = 0; i < sizeof(ctl); i++)
		assert_int_equal(((uint8_t *)&ctl)[i], 0);
	rd_buf_free(&fa);
	rd_buf_free(&fb);
}

static void tamper(enum rd_crypto_mode mode)
{
	struct pair p;
	uint8_t f[64];
	size_t n;

	pair_init(&p, mode);
	seal(&p.ctl, "a message worth protecting", &p.a);
	n = rd_buf_size(&p.a);
	memcpy(f, rd_buf_ptr(&p.a), n);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			f[i] ^= (uint8_t)(1u << bit);
			expect_reject(&p.agent, f, n);
			f[i] ^= (uint8_t)(1u << bit);
		}
	}
	expect_reject(&p.agent, f, n - 1);  /* truncated */
	expect_reject(&p.agent, f, 2);      /* shorter than a MAC */
	expect_reject(&p.agent, f, 15);
	/* the counter did not move: the untouched frame still opens */
	expect_open(&p.agent, &p.a, "a message worth protecting");
	pair_free(&p);
}

static void test_stream_tamper(void **state)
{
	(void)state;
	tamper(RD_CRYPTO_COMPAT);
	tamper(RD_CRYPTO_KDF);
}

static void replay_reorder(enum rd_crypto_mode mode)
{
	struct pair p;
	struct rd_buf f1, f2, f3;

	pair_init(&p, mode);
	rd_buf_init(&f1, 0);
	rd_buf_init(&f2, 0);
	rd_buf_init(&f3, 0);
	seal(&p.ctl, "one", &f1);
	seal(&p.ctl, "two", &f2);
	seal(&p.ctl, "three", &f3);
	/* reordered: frame 2 before frame 1 */
	expect_reject(&p.agent, rd_buf_ptr(&f2), rd_buf_size(&f2));
	expect_reject(&p.agent, rd_buf_ptr(&f3), rd_buf_size(&f3));
	expect_open(&p.agent, &f1, "one");
	/* replayed */
	expect_reject(&p.agent, rd_buf_ptr(&f1), rd_buf_size(&f1));
	expect_open(&p.agent, &f2, "two");
	expect_reject(&p.agent, rd_buf_ptr(&f2), rd_buf_size(&f2));
	expect_reject(&p.agent, rd_buf_ptr(&f1), rd_buf_size(&f1));
	expect_open(&p.agent, &f3, "three");
	rd_buf_free(&f1);
	rd_buf_free(&f2);
	rd_buf_free(&f3);
	pair_free(&p);
}

static void test_stream_replay_reorder(void **state)
{
	(void)state;
	replay_reorder(RD_CRYPTO_COMPAT);
	replay_reorder(RD_CRYPTO_KDF);
}

/* Payloads of 0 or 1 bytes are heartbeats: passed through as they are,
 * without decryption and without moving the counter. */
static void test_stream_heartbeat(void **state)
{
	struct pair p;
	struct rd_buf out;

	(void)state;
	pair_init(&p, RD_CRYPTO_COMPAT);
	rd_buf_init(&out, 0);
	seal(&p.ctl, "after heartbeats", &p.a);
	assert_int_equal(rd_crypto_open(&p.agent, (const uint8_t *)"", 0, &out), RD_OK);
	assert_int_equal(rd_buf_size(&out), 0);
	assert_int_equal(rd_crypto_open(&p.agent, (const uint8_t *)"\x07", 1, &out), RD_OK);
	assert_int_equal(rd_buf_size(&out), 1);
	assert_int_equal(rd_buf_ptr(&out)[0], 7);
	assert_int_equal(p.agent.rx_seq, 0);
	expect_open(&p.agent, &p.a, "after heartbeats");
	assert_int_equal(p.agent.rx_seq, 1);
	rd_buf_free(&out);
	pair_free(&p);
}

/* A full capped output buffer is an error that leaves the counters alone. */
static void test_stream_buffer_full(void **state)
{
	struct pair p;
	struct rd_buf small;
	uint8_t data[100] = { 0 };

	(void)state;
	pair_init(&p, RD_CRYPTO_KDF);
	rd_buf_init(&small, 50);
	assert_int_equal(rd_crypto_seal(&p.ctl, data, 40, &small), RD_ERR_TOOBIG);
	assert_int_equal(p.ctl.tx_seq, 0);
	assert_int_equal(rd_crypto_seal(&p.ctl, data, 20, &p.a), RD_OK);
	assert_int_equal(rd_crypto_seal(&p.ctl, data, 40, &p.b), RD_OK);
	rd_buf_reset(&small);
	small.max = 10;
	assert_int_equal(rd_crypto_open(&p.agent, rd_buf_ptr(&p.a), rd_buf_size(&p.a), &small), RD_ERR_TOOBIG);
	assert_int_equal(p.agent.rx_seq, 0);
	small.max = 0;
	assert_int_equal(rd_crypto_open(&p.agent, rd_buf_ptr(&p.a), rd_buf_size(&p.a), &small), RD_OK);
	assert_int_equal(rd_crypto_open(&p.agent, rd_buf_ptr(&p.b), rd_buf_size(&p.b), &small), RD_OK);
	assert_int_equal(rd_buf_size(&small), 60);
	rd_buf_free(&small);
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_key),
		cmocka_unit_test(test_stream_roundtrip_compat),
		cmocka_unit_test(test_stream_roundtrip_kdf),
		cmocka_unit_test(test_stream_compat_wire),
		cmocka_unit_test(test_stream_kdf_keys),
		cmocka_unit_test(test_stream_tamper),
		cmocka_unit_test(test_stream_replay_reorder),
		cmocka_unit_test(test_stream_heartbeat),
		cmocka_unit_test(test_stream_buffer_full),
	};

	if (rd_crypto_init() != RD_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

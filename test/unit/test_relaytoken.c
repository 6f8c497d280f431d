/* relay tokens: the exact bytes of the format (a vector computed from the
 * description in relaytoken.h by an independent Ed25519), round trips, and
 * every way a token must fail: another key, another uuid, a changed byte,
 * a wrong length, version or role, expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "err.h"
#include "relaytoken.h"

#define UUID "6f1c2a9e-3b7d-4c21-9a55-0e8f4d2b7c10"
#define EXPIRY 1700000000

static void keys(uint8_t seed_byte, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(seed_byte ? seed_byte : i);
	crypto_sign_seed_keypair(pk, sk, seed);
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* seed 00 01 .. 1f, role agent, expiry 1700000000, UUID. */
static void test_vector(void **state)
{
	(void)state;
	static const char *want_pk = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
	static const char *want = "010200f153650000000036d53a768404b9f15a27215e5ea92d7b9c4807e262d4"
		"3f20305864ce63c790b05691ad2801bb6f005d89be885e6ae13c5d224b9c411e15dbc8f66371405a7908";
	uint8_t pk[32], sk[64], tok[RD_RELAY_TOKEN_LEN], exp_pk[32], exp_tok[RD_RELAY_TOKEN_LEN];
	keys(0, pk, sk);
	unhex(want_pk, exp_pk, 32);
	unhex(want, exp_tok, sizeof(exp_tok));
	assert_memory_equal(pk, exp_pk, 32);
	assert_int_equal(rd_relay_token_sign(UUID, RD_RELAY_ROLE_AGENT, EXPIRY, sk, tok), RD_OK);
	assert_memory_equal(tok, exp_tok, sizeof(tok));
	enum rd_relay_role role = 0;
	assert_int_equal(rd_relay_token_verify(exp_tok, sizeof(exp_tok), UUID, pk, EXPIRY, &role), RD_OK);
	assert_int_equal(role, RD_RELAY_ROLE_AGENT);
}

static void test_roundtrip_and_expiry(void **state)
{
	(void)state;
	uint8_t pk[32], sk[64], tok[RD_RELAY_TOKEN_LEN];
	enum rd_relay_role role = 0;
	keys(7, pk, sk);
	assert_int_equal(rd_relay_token_sign("u", RD_RELAY_ROLE_CONTROLLER, 1000, sk, tok), RD_OK);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), "u", pk, 0, &role), RD_OK);
	assert_int_equal(role, RD_RELAY_ROLE_CONTROLLER);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), "u", pk, 1000 + RD_RELAY_TOKEN_SKEW,
		NULL), RD_OK);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), "u", pk, 1000 + RD_RELAY_TOKEN_SKEW + 1,
		NULL), RD_ERR_TIMEOUT);
	/* the longest uuid the relay takes */
	char longu[RD_RELAY_UUID_MAX + 2];
	memset(longu, 'x', RD_RELAY_UUID_MAX);
	longu[RD_RELAY_UUID_MAX] = 0;
	assert_int_equal(rd_relay_token_sign(longu, RD_RELAY_ROLE_AGENT, 1000, sk, tok), RD_OK);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), longu, pk, 1000, NULL), RD_OK);
	longu[RD_RELAY_UUID_MAX] = 'x';
	longu[RD_RELAY_UUID_MAX + 1] = 0;
	assert_int_equal(rd_relay_token_sign(longu, RD_RELAY_ROLE_AGENT, 1000, sk, tok), RD_ERR_INVAL);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), longu, pk, 1000, NULL), RD_ERR_PROTO);
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t pk[32], sk[64], pk2[32], sk2[64], tok[RD_RELAY_TOKEN_LEN], bad[RD_RELAY_TOKEN_LEN + 1];
	keys(1, pk, sk);
	keys(2, pk2, sk2);
	assert_int_equal(rd_relay_token_sign(UUID, RD_RELAY_ROLE_AGENT, EXPIRY, sk, tok), RD_OK);
	/* another key, another uuid, a uuid that is a prefix or an extension */
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), UUID, pk2, EXPIRY, NULL), RD_ERR_CRYPTO);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), "6f1c2a9e-3b7d-4c21-9a55-0e8f4d2b7c11",
		pk, EXPIRY, NULL), RD_ERR_CRYPTO);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), "6f1c2a9e", pk, EXPIRY, NULL), RD_ERR_CRYPTO);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), UUID "0", pk, EXPIRY, NULL), RD_ERR_CRYPTO);
	/* every single changed bit */
	for (size_t i = 0; i < sizeof(tok); i++) {
		for (int b = 0; b < 8; b++) {
			memcpy(bad, tok, sizeof(tok));
			bad[i] ^= (uint8_t)(1u << b);
			assert_int_not_equal(rd_relay_token_verify(bad, sizeof(tok), UUID, pk, EXPIRY, NULL), RD_OK);
		}
	}
	/* the role is signed: an agent's token does not pass for a controller's */
	memcpy(bad, tok, sizeof(tok));
	bad[1] = RD_RELAY_ROLE_CONTROLLER;
	assert_int_equal(rd_relay_token_verify(bad, sizeof(tok), UUID, pk, EXPIRY, NULL), RD_ERR_CRYPTO);
	bad[1] = 3;
	assert_int_equal(rd_relay_token_verify(bad, sizeof(tok), UUID, pk, EXPIRY, NULL), RD_ERR_PROTO);
	/* length, version, empty */
	memcpy(bad, tok, sizeof(tok));
	bad[RD_RELAY_TOKEN_LEN] = 0;
	assert_int_equal(rd_relay_token_verify(bad, sizeof(tok) + 1, UUID, pk, EXPIRY, NULL), RD_ERR_PROTO);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok) - 1, UUID, pk, EXPIRY, NULL), RD_ERR_PROTO);
	assert_int_equal(rd_relay_token_verify(NULL, 0, UUID, pk, EXPIRY, NULL), RD_ERR_PROTO);
	bad[0] = 2;
	assert_int_equal(rd_relay_token_verify(bad, sizeof(tok), UUID, pk, EXPIRY, NULL), RD_ERR_PROTO);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), "", pk, EXPIRY, NULL), RD_ERR_PROTO);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), NULL, pk, EXPIRY, NULL), RD_ERR_PROTO);
	/* bad arguments to sign */
	assert_int_equal(rd_relay_token_sign("", RD_RELAY_ROLE_AGENT, 1, sk, tok), RD_ERR_INVAL);
	assert_int_equal(rd_relay_token_sign(UUID, (enum rd_relay_role)0, 1, sk, tok), RD_ERR_INVAL);
	/* an expiry at the end of time is no way around the check */
	assert_int_equal(rd_relay_token_sign(UUID, RD_RELAY_ROLE_AGENT, INT64_MAX, sk, tok), RD_OK);
	assert_int_equal(rd_relay_token_verify(tok, sizeof(tok), UUID, pk, EXPIRY, NULL), RD_ERR_PROTO);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_roundtrip_and_expiry),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

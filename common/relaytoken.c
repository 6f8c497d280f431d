/* relaytoken: sign and check relay tokens (see relaytoken.h). */
#include "relaytoken.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "err.h"

#define TOKEN_HEAD 10                        /* version, role, expiry */
#define TOKEN_DOMAIN "\0rdesk relay token v1" /* with its NUL: 22 bytes */
#define TOKEN_DOMAIN_LEN sizeof(TOKEN_DOMAIN)

_Static_assert(RD_RELAY_TOKEN_LEN == TOKEN_HEAD + crypto_sign_BYTES, "token size");

/* The signed text: domain, head, uuid; its length. */
static size_t token__message(const uint8_t head[TOKEN_HEAD], const char *uuid, size_t ulen,
	uint8_t out[TOKEN_DOMAIN_LEN + TOKEN_HEAD + RD_RELAY_UUID_MAX])
{
	memcpy(out, TOKEN_DOMAIN, TOKEN_DOMAIN_LEN);
	memcpy(out + TOKEN_DOMAIN_LEN, head, TOKEN_HEAD);
	memcpy(out + TOKEN_DOMAIN_LEN + TOKEN_HEAD, uuid, ulen);
	return TOKEN_DOMAIN_LEN + TOKEN_HEAD + ulen;
}

static size_t token__uuid_len(const char *uuid)
{
	return uuid ? strnlen(uuid, RD_RELAY_UUID_MAX + 1) : 0;
}

static bool token__role_ok(unsigned role)
{
	return role == RD_RELAY_ROLE_CONTROLLER || role == RD_RELAY_ROLE_AGENT;
}

int rd_relay_token_sign(const char *uuid, enum rd_relay_role role, int64_t expiry,
	const uint8_t sk[RD_SK_LEN], uint8_t out[RD_RELAY_TOKEN_LEN])
{
	uint8_t msg[TOKEN_DOMAIN_LEN + TOKEN_HEAD + RD_RELAY_UUID_MAX];
	size_t ulen = token__uuid_len(uuid);
	uint64_t exp = expiry > 0 ? (uint64_t)expiry : 0;

	if (ulen == 0 || ulen > RD_RELAY_UUID_MAX || !token__role_ok(role))
		return RD_ERR_INVAL;
	out[0] = RD_RELAY_TOKEN_VERSION;
	out[1] = (uint8_t)role;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(exp >> (8 * i));
	size_t n = token__message(out, uuid, ulen, msg);
	if (crypto_sign_detached(out + TOKEN_HEAD, NULL, msg, n, sk) != 0)
		return RD_ERR_CRYPTO;
	return RD_OK;
}

int rd_relay_token_verify(const uint8_t *tok, size_t len, const char *uuid,
	const uint8_t pk[RD_PK_LEN], int64_t now, enum rd_relay_role *role)
{
	uint8_t msg[TOKEN_DOMAIN_LEN + TOKEN_HEAD + RD_RELAY_UUID_MAX];
	size_t ulen = token__uuid_len(uuid);
	uint64_t exp = 0;

	if (!tok || len != RD_RELAY_TOKEN_LEN || tok[0] != RD_RELAY_TOKEN_VERSION ||
	    !token__role_ok(tok[1]) || ulen == 0 || ulen > RD_RELAY_UUID_MAX)
		return RD_ERR_PROTO;
	size_t n = token__message(tok, uuid, ulen, msg);
	if (crypto_sign_verify_detached(tok + TOKEN_HEAD, msg, n, pk) != 0)
		return RD_ERR_CRYPTO;
	for (int i = 0; i < 8; i++)
		exp |= (uint64_t)tok[2 + i] << (8 * i);
	if (exp > (uint64_t)INT64_MAX - RD_RELAY_TOKEN_SKEW)
		return RD_ERR_PROTO;
	if (now > (int64_t)exp + RD_RELAY_TOKEN_SKEW)
		return RD_ERR_TIMEOUT;
	if (role)
		*role = (enum rd_relay_role)tok[1];
	return RD_OK;
}

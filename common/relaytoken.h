/* relaytoken: the relay's admission ticket. The rendezvous server grants each
 * side of a relayed session a short-lived token, signed with its Ed25519 key
 * and bound to the session's uuid, the side's role and an expiry; a relay
 * holding the server's public key pairs only connections that present a
 * valid one for their uuid. No state is shared, so any relay of the pool
 * accepts the tokens of the server whose key it holds.
 *
 * Token (RD_RELAY_TOKEN_LEN = 74 bytes):
 *   [0]      version, 1
 *   [1]      role: 1 controller (the requester), 2 agent (the target)
 *   [2..9]   expiry, unix seconds, unsigned 64-bit little-endian
 *   [10..73] Ed25519 signature (detached) of
 *            "\0rdesk relay token v1\0" || token[0..9] || uuid
 * The leading NUL keeps the signed text from ever parsing as protobuf (tag 0
 * is invalid), so it cannot pass for a signed IdPk made with the same key. */
#ifndef RD_RELAYTOKEN_H
#define RD_RELAYTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define RD_RELAY_TOKEN_LEN 74
#define RD_RELAY_TOKEN_VERSION 1
#define RD_RELAY_TOKEN_TTL 60        /* seconds a token the server grants is valid */
#define RD_RELAY_TOKEN_SKEW 10       /* seconds a relay's clock may lag the server's */
#define RD_RELAY_UUID_MAX 128        /* the relay refuses longer uuids */

enum rd_relay_role {
	RD_RELAY_ROLE_CONTROLLER = 1,
	RD_RELAY_ROLE_AGENT = 2,
};

/* Sign a token for uuid (1..RD_RELAY_UUID_MAX bytes) into out.
 * RD_ERR_INVAL for a bad uuid or role. */
int rd_relay_token_sign(const char *uuid, enum rd_relay_role role, int64_t expiry,
	const uint8_t sk[RD_SK_LEN], uint8_t out[RD_RELAY_TOKEN_LEN]);

/* Check tok for uuid with the server's public key at wall-clock time now
 * (unix seconds); *role gets the token's role (may be NULL).
 * RD_ERR_PROTO: not a token (length, version, role, uuid);
 * RD_ERR_CRYPTO: the signature fails (another key, another uuid, altered);
 * RD_ERR_TIMEOUT: expired (now > expiry + RD_RELAY_TOKEN_SKEW). */
int rd_relay_token_verify(const uint8_t *tok, size_t len, const char *uuid,
	const uint8_t pk[RD_PK_LEN], int64_t now, enum rd_relay_role *role);

#endif

/* crypto: keys, signatures and session encryption (libsodium).
 *
 * Long-term keys are Ed25519, stored like RustDesk's id_ed25519 (base64 of the
 * 64-byte secret key, no newline) and id_ed25519.pub (base64 of the 32-byte
 * public key), mode 0600. Servers sign IdPk{id, pk} in combined mode; peers
 * sign IdPk{id, ephemeral box pk, rdesk_features} in SignedId.
 *
 * Session streams use secretbox with a 24-byte nonce whose first 8 bytes are a
 * little-endian counter, pre-incremented (first frame = 1). Compatible mode uses
 * one key both ways (RustDesk); rdesk mode binds the session key to the
 * handshake (rd_session_key_bind) and derives one key per direction from that
 * with crypto_kdf, so the two directions never share a (key, nonce). */
#ifndef RD_CRYPTO_H
#define RD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RD_PK_LEN 32
#define RD_SK_LEN 64
#define RD_BOX_PK_LEN 32
#define RD_BOX_SK_LEN 32
#define RD_SESSION_KEY_LEN 32
#define RD_SEALED_KEY_LEN 48           /* crypto_box_easy(32-byte key) */
#define RD_SIGN_LEN 64
#define RD_SECRETBOX_MAC_LEN 16
#define RD_B64_PK_LEN 44               /* base64 of 32 bytes, with padding */
#define RD_FINGERPRINT_LEN 52          /* "SHA256:" + 43 chars unpadded + NUL */

#define RD_FEAT_KDF 1u                 /* IdPk/PublicKey.rdesk_features bit 0 */

struct rd_keypair {
	uint8_t pk[RD_PK_LEN];
	uint8_t sk[RD_SK_LEN];
};

/* libsodium init; call once at start (returns RD_ERR_CRYPTO on failure). */
int rd_crypto_init(void);

/* Base64 (standard alphabet, padded). encode returns chars written (no NUL
 * counted) or RD_ERR_TOOBIG; decode returns bytes written or RD_ERR_INVAL. */
int rd_b64_encode(const void *in, size_t len, char *out, size_t outsz);
int rd_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outsz);

/* New key pair; with no_slash, regenerate (at most 300 times) until the base64
 * public key has no '/', as RustDesk servers do. */
int rd_key_generate(struct rd_keypair *kp, bool no_slash);
/* Load DIR/id_ed25519 (and check DIR/id_ed25519.pub matches when present).
 * RD_ERR_NOTFOUND when missing; RD_ERR_KEY for a wrong length or content;
 * RD_ERR_PERM when the secret file is readable by group or others. */
int rd_key_load(const char *dir, struct rd_keypair *kp);
/* Write both files atomically, secret 0600, public 0644. */
int rd_key_save(const char *dir, const struct rd_keypair *kp);
/* Load, or generate and save when missing; *created tells which. */
int rd_key_load_or_create(const char *dir, struct rd_keypair *kp, bool no_slash, bool *created);
/* Secret key from base64 text (64 bytes); pk is derived. */
int rd_key_from_b64_sk(const char *b64, struct rd_keypair *kp);
/* Public key from base64 text (must be 32 bytes). */
int rd_pk_from_b64(const char *b64, uint8_t pk[RD_PK_LEN]);
/* base64 of pk into out (>= RD_B64_PK_LEN + 1). */
void rd_pk_to_b64(const uint8_t pk[RD_PK_LEN], char *out);
/* "SHA256:<base64 without padding>" of pk, like ssh-keygen -l. */
void rd_pk_fingerprint(const uint8_t pk[RD_PK_LEN], char out[RD_FINGERPRINT_LEN]);
void rd_keypair_wipe(struct rd_keypair *kp);

/* crypto_sign (combined) of serialize(IdPk{id, pk}). *out is malloc'd. */
int rd_idpk_sign(const char *id, const uint8_t *pk, size_t pklen, const uint8_t sk[RD_SK_LEN],
	uint8_t **out, size_t *outlen);
/* Open a signed IdPk with signer_pk, require IdPk.id == expect_id (when not
 * NULL) and a 32-byte IdPk.pk, copied to pk_out. RD_ERR_CRYPTO for a bad
 * signature, RD_ERR_MISMATCH for another id, RD_ERR_PROTO for bad contents. */
int rd_idpk_verify(const uint8_t *signed_msg, size_t len, const uint8_t signer_pk[RD_PK_LEN],
	const char *expect_id, uint8_t pk_out[32]);

/* The IdPk a controlled side signs for SignedId: crypto_sign (combined) of
 * serialize(IdPk{id, box_pk, rdesk_features = features}); a features word of 0
 * is not on the wire (proto3), which gives RustDesk's bytes. *out is malloc'd. */
int rd_signed_id_sign(const char *id, const uint8_t box_pk[RD_BOX_PK_LEN], uint32_t features,
	const uint8_t sk[RD_SK_LEN], uint8_t **out, size_t *outlen);
/* rd_idpk_verify that also returns the signed IdPk.rdesk_features (0 when
 * absent, as from a stock peer). *features is 0 on any error. */
int rd_signed_id_verify(const uint8_t *signed_msg, size_t len, const uint8_t signer_pk[RD_PK_LEN],
	const char *expect_id, uint8_t box_pk[RD_BOX_PK_LEN], uint32_t *features);
/* The checks of both verify functions on an opened (already verified)
 * serialized IdPk; features may be NULL. */
int rd_idpk_parse(const uint8_t *plain, size_t len, const char *expect_id, uint8_t pk_out[32],
	uint32_t *features);

/* Session key exchange. The controlled side makes an ephemeral box key pair;
 * the controller seals a fresh 32-byte session key to it. */
struct rd_box_keypair {
	uint8_t pk[RD_BOX_PK_LEN];
	uint8_t sk[RD_BOX_SK_LEN];
};
void rd_box_keypair_new(struct rd_box_keypair *kp);
void rd_box_keypair_wipe(struct rd_box_keypair *kp);
/* Controller: new ephemeral pair (my_pk out) and key K; sealed =
 * crypto_box_easy(K, zero nonce, peer_box_pk, my_sk). */
int rd_session_key_seal(const uint8_t peer_box_pk[RD_BOX_PK_LEN], uint8_t my_pk[RD_BOX_PK_LEN],
	uint8_t key[RD_SESSION_KEY_LEN], uint8_t sealed[RD_SEALED_KEY_LEN]);
/* Controlled side: open sealed (must be 48 bytes) from peer_pk with my box sk. */
int rd_session_key_open(const uint8_t *sealed, size_t sealed_len, const uint8_t peer_pk[RD_BOX_PK_LEN],
	const struct rd_box_keypair *mine, uint8_t key[RD_SESSION_KEY_LEN]);

/* What the per-direction keys are bound to: both feature words as they were
 * on the wire and both ephemeral box keys. Either side fills it from what it
 * sent and what it received, so a word changed on the way (one side sees
 * another value than the other) gives the two sides different keys. */
struct rd_key_binding {
	uint32_t host_features;              /* IdPk.rdesk_features, signed by the host */
	uint32_t ctl_features;               /* PublicKey.rdesk_features of the reply */
	uint8_t host_box_pk[RD_BOX_PK_LEN];  /* IdPk.pk */
	uint8_t ctl_box_pk[RD_BOX_PK_LEN];   /* PublicKey.asymmetric_value */
};
/* root = BLAKE2b-256 (crypto_generichash) keyed with the session key K over
 * "rdesk-kdf-bind-v1" (17 bytes) || host_features (u32 LE) ||
 * ctl_features (u32 LE) || host_box_pk || ctl_box_pk: 89 bytes. KDF mode
 * gives root, not K, to rd_crypto_stream_init. */
void rd_session_key_bind(const uint8_t key[RD_SESSION_KEY_LEN], const struct rd_key_binding *b,
	uint8_t root[RD_SESSION_KEY_LEN]);

enum rd_crypto_mode {
	RD_CRYPTO_COMPAT = 0, /* one key, both directions (stock peers) */
	RD_CRYPTO_KDF = 1,    /* rdesk: one derived key per direction */
};

struct rd_crypto_stream {
	uint8_t tx_key[RD_SESSION_KEY_LEN];
	uint8_t rx_key[RD_SESSION_KEY_LEN];
	uint64_t tx_seq;
	uint64_t rx_seq;
};

/* is_controller picks the direction in KDF mode (controller->agent is subkey 1,
 * agent->controller subkey 2, context "rdesk-ss", derived from key: the
 * handshake passes the root of rd_session_key_bind there). */
void rd_crypto_stream_init(struct rd_crypto_stream *cs, const uint8_t key[RD_SESSION_KEY_LEN],
	enum rd_crypto_mode mode, bool is_controller);
void rd_crypto_stream_wipe(struct rd_crypto_stream *cs);
/* Append MAC||ciphertext of in to out with the next send nonce. */
int rd_crypto_seal(struct rd_crypto_stream *cs, const uint8_t *in, size_t len, struct rd_buf *out);
/* Decrypt a received payload with the next receive nonce and append the plain
 * text to out. Payloads of <= 1 byte pass through unchanged without advancing
 * the counter (heartbeats). A bad MAC, a replayed or reordered frame is
 * RD_ERR_CRYPTO (and the counter does not advance). */
int rd_crypto_open(struct rd_crypto_stream *cs, const uint8_t *in, size_t len, struct rd_buf *out);

/* Password hashing of the login (salt and challenge are UTF-8 text):
 * h1 = SHA256(password || salt); response = SHA256(h1 || challenge). */
void rd_pw_hash1(const char *password, const char *salt, uint8_t h1[32]);
void rd_pw_response(const uint8_t h1[32], const char *challenge, uint8_t out[32]);
/* Random string of n chars from "23456789abcdefghijkmnpqrstuvwxyz" (+ NUL). */
void rd_random_alnum(char *out, size_t n);

#endif

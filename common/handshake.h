/* handshake: the secure session handshake of PROTOCOL.md §9 for both sides,
 * free of I/O. Bytes in (frame payloads), bytes out (payloads to send as one
 * plaintext frame), and a crypto stream (crypto.h) to hand to rd_conn_set_crypto.
 *
 * Host (controlled side, rd-agent):
 *     h = rd_handshake_host_new(id, &longterm_kp, RD_FEAT_KDF);
 *     rd_handshake_host_signed_id(h, &out, &len);    send out, free(out)
 *     ... first frame from the controller arrives ...
 *     rd_handshake_host_on_reply(h, payload, len, &outcome);
 *     RD_HANDSHAKE_SECURE: rd_handshake_stream(h, &cs); rd_conn_set_crypto(c, &cs)
 *     RD_HANDSHAKE_PLAIN:  the controller chose no encryption (refuse it unless
 *                          configured otherwise)
 *
 * Controller (rdctl):
 *     h = rd_handshake_ctl_new(peer_id, peer_longterm_pk, RD_FEAT_KDF);
 *     ... first frame from the host arrives ...
 *     rd_handshake_ctl_on_signed_id(h, payload, len, &out, &len);
 *     send out (plaintext), then rd_handshake_stream(h, &cs); rd_conn_set_crypto(c, &cs)
 *
 * Key mode: the host offers IdPk.rdesk_features inside the IdPk it signs for
 * SignedId (so it cannot be removed or changed on the way without breaking the
 * signature); the controller answers with PublicKey.rdesk_features = offered &
 * its own. When both set RD_FEAT_KDF, each direction gets its own key
 * (RD_CRYPTO_KDF), derived from the session key bound to both feature words
 * and both box keys (rd_session_key_bind), so a reply whose word was altered
 * gives the two sides different keys and the session fails at its first
 * frame. Otherwise one key both ways, as stock RustDesk does
 * (RD_CRYPTO_COMPAT). A stock peer never sets the field (and skips it), so it
 * always gets the compatible mode; an rdesk controller never uses one shared
 * key with a host whose signed offer has RD_FEAT_KDF. */
#ifndef RD_HANDSHAKE_H
#define RD_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

struct rd_handshake;

enum rd_handshake_outcome {
	RD_HANDSHAKE_SECURE = 1, /* encrypted from the next frame on */
	RD_HANDSHAKE_PLAIN = 2,  /* the controller sent an empty Message or an empty PublicKey */
};

/* Host side. id is this agent's ID, kp its long-term Ed25519 pair (copied and
 * wiped on free), features the rdesk features it offers (RD_FEAT_KDF or 0).
 * Makes a fresh ephemeral box key pair. NULL only on a bad argument. */
struct rd_handshake *rd_handshake_host_new(const char *id, const struct rd_keypair *kp,
	unsigned features);
/* The serialized Message{signed_id} to send first (malloc'd into *out). */
int rd_handshake_host_signed_id(struct rd_handshake *h, uint8_t **out, size_t *outlen);
/* The controller's first frame payload. RD_OK with *outcome set; RD_ERR_PROTO
 * for anything that is neither an empty Message nor a PublicKey, or a
 * PublicKey whose asymmetric_value is neither empty nor 32 bytes;
 * RD_ERR_CRYPTO when the sealed key does not open. */
int rd_handshake_host_on_reply(struct rd_handshake *h, const uint8_t *payload, size_t len,
	enum rd_handshake_outcome *outcome);
/* After on_reply: true when the controller sent PublicKey{} with both values
 * empty, which in RustDesk means "your key at the server looks stale": the
 * host should send RegisterPk again. */
bool rd_handshake_host_pk_refresh_wanted(const struct rd_handshake *h);

/* Controller side. peer_id is the ID the controller asked for, peer_pk the
 * host's long-term key as vouched for by the server (and/or pinned). */
struct rd_handshake *rd_handshake_ctl_new(const char *peer_id, const uint8_t peer_pk[RD_PK_LEN],
	unsigned features);
/* The host's first frame payload (must be Message{signed_id}). On RD_OK,
 * *out is the serialized Message{public_key} to send as plaintext, and the
 * stream is ready. RD_ERR_PROTO: not a SignedId or malformed; RD_ERR_CRYPTO:
 * the signature does not verify with peer_pk; RD_ERR_MISMATCH: signed for
 * another ID. On an error nothing is to be sent (refuse the session). */
int rd_handshake_ctl_on_signed_id(struct rd_handshake *h, const uint8_t *payload, size_t len,
	uint8_t **out, size_t *outlen);

/* Either side, after success: the stream state to install (copied into *cs)
 * and the mode agreed on. RD_ERR_INVAL before the handshake completed. */
int rd_handshake_stream(const struct rd_handshake *h, struct rd_crypto_stream *cs);
enum rd_crypto_mode rd_handshake_mode(const struct rd_handshake *h);
/* The features both sides agreed on (0 before completion or with a stock peer). */
unsigned rd_handshake_features(const struct rd_handshake *h);

/* Wipes every key. NULL is fine. */
void rd_handshake_free(struct rd_handshake *h);

/* The plaintext replies of a controller that continues without encryption
 * (only with an explicit insecure option): an empty Message (0 bytes, so
 * *outlen = 0 and *out may be NULL) when it has no key for the peer, or a
 * PublicKey with both values empty after a bad signature (RustDesk's signal to
 * refresh the host's key registration). */
int rd_handshake_plain_reply(bool empty_public_key, uint8_t **out, size_t *outlen);

#endif

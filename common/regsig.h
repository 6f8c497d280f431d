/* regsig: the signatures by which an rdesk agent proves, in RegisterPk, that
 * it holds the secret key of the pk it registers (rdesk_sig) and, when it
 * rotates its key, the secret key of the one the ID was pinned to
 * (rdesk_old_pk, rdesk_old_sig). The rendezvous server pins an ID to the key
 * of its first signed registration.
 *
 * Both are plain Ed25519 (crypto_sign_detached) over this byte string:
 *
 *   label || 0x00
 *   || u8 len(id)     || id       RegisterPk.id, its bytes as sent
 *   || u8 len(uuid)   || uuid     RegisterPk.uuid
 *   || pk                         RegisterPk.pk, 32 bytes
 *   || u8 len(old_pk) || old_pk   RegisterPk.rdesk_old_pk, 0 or 32 bytes
 *   || u64 big-endian time        RegisterPk.rdesk_time, ms since the epoch
 *
 * with label "rdesk/RegisterPk/v1" for rdesk_sig (made with pk's key) and
 * "rdesk/RegisterPk/rotate/v1" for rdesk_old_sig (made with old_pk's key).
 * id and uuid of a signed registration are at most 255 bytes. */
#ifndef RD_REGSIG_H
#define RD_REGSIG_H

#include <stdint.h>

#include "crypto.h"
#include "rendezvous.pb-c.h"

#define RD_REGSIG_FIELD_MAX 255
#define RD_REGSIG_MSG_MAX (32 + 1 + 1 + RD_REGSIG_FIELD_MAX + 1 + RD_REGSIG_FIELD_MAX + \
	RD_PK_LEN + 1 + RD_PK_LEN + 8)

/* RegisterPkResponse.rdesk_refusal */
enum rd_regsig_refusal {
	RD_REGSIG_REFUSED_KEY = 1,      /* the ID is pinned to another key, or unsigned */
	RD_REGSIG_REFUSED_STALE = 2,    /* rdesk_time not newer than the last accepted */
	RD_REGSIG_REFUSED_AHEAD = 3,    /* rdesk_time too far ahead of the server clock */
	RD_REGSIG_REFUSED_BAD_SIG = 4,  /* a signature does not verify, or is malformed */
};

enum rd_regsig_role {
	RD_REGSIG_OWN,      /* rdesk_sig, by pk */
	RD_REGSIG_ROTATE,   /* rdesk_old_sig, by rdesk_old_pk */
};

/* The message rk's signature of role covers, into out (RD_REGSIG_MSG_MAX
 * bytes). Returns its length, or RD_ERR_INVAL when id or uuid is too long or
 * a key has the wrong length. */
int rd_regsig_message(const Hbb__RegisterPk *rk, enum rd_regsig_role role, uint8_t *out);

/* Sign rk (id, uuid and pk set; pk is kp's public key): sets rdesk_time and
 * rdesk_sig, and with old (the key the ID is pinned to) rdesk_old_pk and
 * rdesk_old_sig. The signature fields point into sigs (2 * RD_SIGN_LEN bytes)
 * and old->pk, which must outlive rk's use. */
int rd_regsig_sign(Hbb__RegisterPk *rk, uint64_t time_ms, const struct rd_keypair *kp,
	const struct rd_keypair *old, uint8_t sigs[2 * RD_SIGN_LEN]);

/* Whether rk carries any of the signature fields. */
bool rd_regsig_present(const Hbb__RegisterPk *rk);

/* Check the signature fields: RD_OK when rdesk_sig (and, with rdesk_old_pk,
 * rdesk_old_sig) verify; RD_ERR_PROTO when a field is missing or has the
 * wrong length, or the time is 0; RD_ERR_CRYPTO when a signature does not
 * verify. */
int rd_regsig_verify(const Hbb__RegisterPk *rk);

#endif

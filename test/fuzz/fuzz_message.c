/* Fuzz session Message decoding: unpack with our limits, name the case, free.
 * A decoded message must pack again and decode to the same case. A SignedId
 * also has the IdPk behind its signature parsed (with its rdesk_features), and
 * that IdPk, signed with a fixed key, goes through the controller's handshake,
 * which must take exactly what parses and pick the key mode it offers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "handshake.h"
#include "pb.h"

#define FUZZ_ID "1234567890"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_signed_id(const Hbb__SignedId *sid)
{
	static struct rd_keypair kp;
	static bool have_kp;
	if (!have_kp) {
		if (rd_crypto_init() != RD_OK)
			abort();
		rd_key_generate(&kp, false);
		have_kp = true;
	}
	if (!sid || sid->id.len <= RD_SIGN_LEN)
		return;
	const uint8_t *idpk = sid->id.data + RD_SIGN_LEN;
	size_t n = sid->id.len - RD_SIGN_LEN;
	uint8_t pk[32];
	uint32_t feat = 0;
	int parsed = rd_idpk_parse(idpk, n, FUZZ_ID, pk, &feat);

	uint8_t *sm = malloc(n + RD_SIGN_LEN);
	unsigned long long smlen = 0;
	if (!sm || crypto_sign(sm, &smlen, idpk, n, kp.sk) != 0)
		abort();
	Hbb__SignedId s2 = HBB__SIGNED_ID__INIT;
	s2.id.data = sm;
	s2.id.len = (size_t)smlen;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_SIGNED_ID;
	m.signed_id = &s2;
	uint8_t *frame = NULL, *reply = NULL;
	size_t flen = 0, rlen = 0;
	if (rd_pb_pack(&m.base, &frame, &flen) != RD_OK)
		abort();
	struct rd_handshake *ctl = rd_handshake_ctl_new(FUZZ_ID, kp.pk, RD_FEAT_KDF);
	int rc = rd_handshake_ctl_on_signed_id(ctl, frame, flen, &reply, &rlen);
	if (parsed != RD_OK && rc != parsed)
		abort();
	/* A degenerate box key (no shared secret) is the one refusal of a good IdPk. */
	if (parsed == RD_OK && rc != RD_OK && rc != RD_ERR_CRYPTO)
		abort();
	if (rc == RD_OK) {
		enum rd_crypto_mode want = (feat & RD_FEAT_KDF) ? RD_CRYPTO_KDF : RD_CRYPTO_COMPAT;
		Hbb__Message *r = rd_pb_message_unpack(reply, rlen);
		if (rd_handshake_mode(ctl) != want || !r || r->union_case != HBB__MESSAGE__UNION_PUBLIC_KEY ||
		    r->public_key->rdesk_features != (feat & RD_FEAT_KDF))
			abort();
		hbb__message__free_unpacked(r, NULL);
	}
	rd_handshake_free(ctl);
	free(reply);
	free(frame);
	free(sm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Hbb__Message *m = rd_pb_message_unpack(data, size), *m2;
	const char *name;
	uint8_t *out;
	size_t len;

	if (!m)
		return 0;
	if (size > RD_FRAME_MAX_SESSION)
		abort();
	name = rd_pb_message_name(m);
	if (!name || !*name)
		abort();
	if (m->union_case == HBB__MESSAGE__UNION_SIGNED_ID)
		fuzz_signed_id(m->signed_id);
	if (rd_pb_pack(&m->base, &out, &len) != RD_OK)
		abort();
	if (len <= RD_FRAME_MAX_SESSION) {
		m2 = rd_pb_message_unpack(out, len);
		if (!m2 || m2->union_case != m->union_case || strcmp(rd_pb_message_name(m2), name) != 0)
			abort();
		hbb__message__free_unpacked(m2, NULL);
	}
	free(out);
	hbb__message__free_unpacked(m, NULL);
	return 0;
}

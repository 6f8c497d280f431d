/* regsig: RegisterPk signatures (format in regsig.h). */
#include "regsig.h"

#include <string.h>

#include <sodium.h>

#include "err.h"

static const char *const labels[] = {
	[RD_REGSIG_OWN] = "rdesk/RegisterPk/v1",
	[RD_REGSIG_ROTATE] = "rdesk/RegisterPk/rotate/v1",
};

static size_t put_field(uint8_t *out, const uint8_t *p, size_t len)
{
	out[0] = (uint8_t)len;
	if (len)
		memcpy(out + 1, p, len);
	return 1 + len;
}

int rd_regsig_message(const Hbb__RegisterPk *rk, enum rd_regsig_role role, uint8_t *out)
{
	const char *id = rk->id ? rk->id : "";
	size_t idlen = strlen(id), n = 0;
	if (idlen > RD_REGSIG_FIELD_MAX || rk->uuid.len > RD_REGSIG_FIELD_MAX || rk->pk.len != RD_PK_LEN ||
	    (rk->rdesk_old_pk.len != 0 && rk->rdesk_old_pk.len != RD_PK_LEN))
		return RD_ERR_INVAL;
	const char *label = labels[role == RD_REGSIG_ROTATE ? RD_REGSIG_ROTATE : RD_REGSIG_OWN];
	size_t ll = strlen(label) + 1; /* with its NUL */
	memcpy(out, label, ll);
	n += ll;
	n += put_field(out + n, (const uint8_t *)id, idlen);
	n += put_field(out + n, rk->uuid.data, rk->uuid.len);
	memcpy(out + n, rk->pk.data, RD_PK_LEN);
	n += RD_PK_LEN;
	n += put_field(out + n, rk->rdesk_old_pk.data, rk->rdesk_old_pk.len);
	for (int i = 7; i >= 0; i--)
		out[n++] = (uint8_t)(rk->rdesk_time >> (8 * i));
	return (int)n;
}

static int sign_one(const Hbb__RegisterPk *rk, enum rd_regsig_role role, const uint8_t sk[RD_SK_LEN],
	uint8_t sig[RD_SIGN_LEN])
{
	uint8_t msg[RD_REGSIG_MSG_MAX];
	int n = rd_regsig_message(rk, role, msg);
	if (n < 0)
		return n;
	return crypto_sign_detached(sig, NULL, msg, (unsigned long long)n, sk) == 0 ? RD_OK : RD_ERR_CRYPTO;
}

int rd_regsig_sign(Hbb__RegisterPk *rk, uint64_t time_ms, const struct rd_keypair *kp,
	const struct rd_keypair *old, uint8_t sigs[2 * RD_SIGN_LEN])
{
	rk->rdesk_time = time_ms;
	rk->rdesk_old_pk = (ProtobufCBinaryData){ old ? RD_PK_LEN : 0, old ? (uint8_t *)old->pk : NULL };
	rk->rdesk_sig = (ProtobufCBinaryData){ 0, NULL };
	rk->rdesk_old_sig = (ProtobufCBinaryData){ 0, NULL };
	int rc = sign_one(rk, RD_REGSIG_OWN, kp->sk, sigs);
	if (rc == RD_OK && old)
		rc = sign_one(rk, RD_REGSIG_ROTATE, old->sk, sigs + RD_SIGN_LEN);
	if (rc != RD_OK)
		return rc;
	rk->rdesk_sig = (ProtobufCBinaryData){ RD_SIGN_LEN, sigs };
	if (old)
		rk->rdesk_old_sig = (ProtobufCBinaryData){ RD_SIGN_LEN, sigs + RD_SIGN_LEN };
	return RD_OK;
}

bool rd_regsig_present(const Hbb__RegisterPk *rk)
{
	return rk->rdesk_time || rk->rdesk_sig.len || rk->rdesk_old_pk.len || rk->rdesk_old_sig.len;
}

static int verify_one(const Hbb__RegisterPk *rk, enum rd_regsig_role role, const uint8_t *sig,
	const uint8_t *pk)
{
	uint8_t msg[RD_REGSIG_MSG_MAX];
	int n = rd_regsig_message(rk, role, msg);
	if (n < 0)
		return RD_ERR_PROTO;
	return crypto_sign_verify_detached(sig, msg, (unsigned long long)n, pk) == 0 ? RD_OK : RD_ERR_CRYPTO;
}

int rd_regsig_verify(const Hbb__RegisterPk *rk)
{
	bool rotate = rk->rdesk_old_pk.len || rk->rdesk_old_sig.len;
	if (!rk->rdesk_time || rk->rdesk_sig.len != RD_SIGN_LEN || rk->pk.len != RD_PK_LEN ||
	    (rotate && (rk->rdesk_old_pk.len != RD_PK_LEN || rk->rdesk_old_sig.len != RD_SIGN_LEN)))
		return RD_ERR_PROTO;
	int rc = verify_one(rk, RD_REGSIG_OWN, rk->rdesk_sig.data, rk->pk.data);
	if (rc == RD_OK && rotate)
		rc = verify_one(rk, RD_REGSIG_ROTATE, rk->rdesk_old_sig.data, rk->rdesk_old_pk.data);
	return rc;
}

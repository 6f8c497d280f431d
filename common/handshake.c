/* handshake: SignedId / PublicKey exchange for host and controller (I/O free). */
#include "handshake.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "pb.h"
#include "util.h"

enum hs_role {
	HS_HOST = 1,
	HS_CTL = 2,
};

struct rd_handshake {
	enum hs_role role;
	bool done;
	bool secure;             /* a stream was set up */
	bool pk_refresh;
	unsigned features;       /* offered (host) or accepted (controller) */
	unsigned agreed;         /* after completion */
	char id[128];
	struct rd_keypair longterm;           /* host: own pair */
	uint8_t peer_pk[RD_PK_LEN];           /* controller: host's long-term pk */
	struct rd_box_keypair box;            /* host: ephemeral box pair */
	struct rd_crypto_stream cs;
	enum rd_crypto_mode mode;
};

static struct rd_handshake *hs__new(enum hs_role role, const char *id, unsigned features)
{
	if (!id || strlen(id) >= sizeof(((struct rd_handshake *)0)->id))
		return NULL;
	struct rd_handshake *h = xcalloc(1, sizeof(*h));
	h->role = role;
	h->features = features;
	rd_strlcpy(h->id, id, sizeof(h->id));
	return h;
}

struct rd_handshake *rd_handshake_host_new(const char *id, const struct rd_keypair *kp,
	unsigned features)
{
	if (!kp)
		return NULL;
	struct rd_handshake *h = hs__new(HS_HOST, id, features);
	if (!h)
		return NULL;
	h->longterm = *kp;
	rd_box_keypair_new(&h->box);
	return h;
}

struct rd_handshake *rd_handshake_ctl_new(const char *peer_id, const uint8_t peer_pk[RD_PK_LEN],
	unsigned features)
{
	if (!peer_pk)
		return NULL;
	struct rd_handshake *h = hs__new(HS_CTL, peer_id, features);
	if (!h)
		return NULL;
	memcpy(h->peer_pk, peer_pk, RD_PK_LEN);
	return h;
}

void rd_handshake_free(struct rd_handshake *h)
{
	if (!h)
		return;
	sodium_memzero(h, sizeof(*h));
	free(h);
}

static enum rd_crypto_mode hs__mode(unsigned agreed)
{
	return (agreed & RD_FEAT_KDF) ? RD_CRYPTO_KDF : RD_CRYPTO_COMPAT;
}

/* The stream of either side from the session key: K both ways in compatible
 * mode; in KDF mode direction keys from K bound to the feature words and box
 * keys as this side sent and received them. */
static void hs__stream_init(struct rd_handshake *h, const uint8_t key[RD_SESSION_KEY_LEN],
	const struct rd_key_binding *b)
{
	uint8_t root[RD_SESSION_KEY_LEN];

	if (h->mode != RD_CRYPTO_KDF) {
		rd_crypto_stream_init(&h->cs, key, h->mode, h->role == HS_CTL);
		return;
	}
	rd_session_key_bind(key, b, root);
	rd_crypto_stream_init(&h->cs, root, h->mode, h->role == HS_CTL);
	sodium_memzero(root, sizeof(root));
}

int rd_handshake_host_signed_id(struct rd_handshake *h, uint8_t **out, size_t *outlen)
{
	if (!h || h->role != HS_HOST || !out || !outlen)
		return RD_ERR_INVAL;
	uint8_t *signed_msg = NULL;
	size_t signed_len = 0;
	int rc = rd_signed_id_sign(h->id, h->box.pk, h->features, h->longterm.sk, &signed_msg, &signed_len);
	if (rc < 0)
		return rc;
	Hbb__SignedId sid = HBB__SIGNED_ID__INIT;
	sid.id.data = signed_msg;
	sid.id.len = signed_len;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_SIGNED_ID;
	m.signed_id = &sid;
	rc = rd_pb_pack(&m.base, out, outlen);
	free(signed_msg);
	return rc;
}

static int hs__host_public_key(struct rd_handshake *h, const Hbb__PublicKey *pk,
	enum rd_handshake_outcome *outcome)
{
	if (pk->asymmetric_value.len == 0) {
		/* RustDesk: "your registration is stale", continue unencrypted. */
		h->pk_refresh = true;
		*outcome = RD_HANDSHAKE_PLAIN;
		return RD_OK;
	}
	if (pk->asymmetric_value.len != RD_BOX_PK_LEN)
		return RD_ERR_PROTO;
	uint8_t key[RD_SESSION_KEY_LEN];
	int rc = rd_session_key_open(pk->symmetric_value.data, pk->symmetric_value.len,
		pk->asymmetric_value.data, &h->box, key);
	if (rc < 0)
		return rc == RD_ERR_PROTO ? RD_ERR_PROTO : RD_ERR_CRYPTO;
	/* No word (a stock controller, or one removed on the way) means one key
	 * both ways, as RustDesk does. An rdesk controller that announced KDF
	 * never seals with K itself, only with the bound direction keys: a word
	 * removed or changed on the way leaves the two sides with different keys,
	 * the first frame fails its MAC and no (key, nonce) serves both ways. */
	h->agreed = h->features & pk->rdesk_features;
	h->mode = hs__mode(h->agreed);
	struct rd_key_binding b = { .host_features = h->features, .ctl_features = pk->rdesk_features };
	memcpy(b.host_box_pk, h->box.pk, RD_BOX_PK_LEN);
	memcpy(b.ctl_box_pk, pk->asymmetric_value.data, RD_BOX_PK_LEN);
	hs__stream_init(h, key, &b);
	h->secure = true;
	sodium_memzero(key, sizeof(key));
	*outcome = RD_HANDSHAKE_SECURE;
	return RD_OK;
}

int rd_handshake_host_on_reply(struct rd_handshake *h, const uint8_t *payload, size_t len,
	enum rd_handshake_outcome *outcome)
{
	if (!h || h->role != HS_HOST || !outcome || h->done)
		return RD_ERR_INVAL;
	if (len == 0) {
		/* An empty Message: the controller has no key for us. */
		h->done = true;
		*outcome = RD_HANDSHAKE_PLAIN;
		return RD_OK;
	}
	Hbb__Message *m = rd_pb_message_unpack(payload, len);
	if (!m)
		return RD_ERR_PROTO;
	int rc;
	if (m->union_case == HBB__MESSAGE__UNION_PUBLIC_KEY && m->public_key)
		rc = hs__host_public_key(h, m->public_key, outcome);
	else if (m->union_case == HBB__MESSAGE__UNION__NOT_SET)
		rc = (*outcome = RD_HANDSHAKE_PLAIN, RD_OK);
	else
		rc = RD_ERR_PROTO;
	hbb__message__free_unpacked(m, NULL);
	if (rc == RD_OK)
		h->done = true;
	return rc;
}

bool rd_handshake_host_pk_refresh_wanted(const struct rd_handshake *h)
{
	return h && h->pk_refresh;
}

/* The offer is the signed IdPk.rdesk_features: a word added, changed or
 * removed on the way breaks the signature. */
static int hs__ctl_verify(struct rd_handshake *h, const Hbb__Message *m, uint8_t box_pk[RD_BOX_PK_LEN],
	uint32_t *offered)
{
	if (m->union_case != HBB__MESSAGE__UNION_SIGNED_ID || !m->signed_id)
		return RD_ERR_PROTO;
	const Hbb__SignedId *sid = m->signed_id;
	if (sid->id.len <= RD_SIGN_LEN)
		return RD_ERR_PROTO;
	return rd_signed_id_verify(sid->id.data, sid->id.len, h->peer_pk, h->id, box_pk, offered);
}

int rd_handshake_ctl_on_signed_id(struct rd_handshake *h, const uint8_t *payload, size_t len,
	uint8_t **out, size_t *outlen)
{
	if (!h || h->role != HS_CTL || !out || !outlen || h->done)
		return RD_ERR_INVAL;
	if (len == 0)
		return RD_ERR_PROTO;
	Hbb__Message *m = rd_pb_message_unpack(payload, len);
	if (!m)
		return RD_ERR_PROTO;
	uint8_t box_pk[RD_BOX_PK_LEN];
	uint32_t offered = 0;
	int rc = hs__ctl_verify(h, m, box_pk, &offered);
	hbb__message__free_unpacked(m, NULL);
	if (rc < 0)
		return rc;

	uint8_t my_pk[RD_BOX_PK_LEN], key[RD_SESSION_KEY_LEN], sealed[RD_SEALED_KEY_LEN];
	rc = rd_session_key_seal(box_pk, my_pk, key, sealed);
	if (rc < 0)
		goto out;
	h->agreed = offered & h->features;
	Hbb__PublicKey pk = HBB__PUBLIC_KEY__INIT;
	pk.asymmetric_value.data = my_pk;
	pk.asymmetric_value.len = sizeof(my_pk);
	pk.symmetric_value.data = sealed;
	pk.symmetric_value.len = sizeof(sealed);
	pk.rdesk_features = h->agreed;
	Hbb__Message reply = HBB__MESSAGE__INIT;
	reply.union_case = HBB__MESSAGE__UNION_PUBLIC_KEY;
	reply.public_key = &pk;
	rc = rd_pb_pack(&reply.base, out, outlen);
	if (rc < 0)
		goto out;
	/* A host whose signed offer has KDF always gets KDF from an rdesk
	 * controller: nothing on the way can make it accept one shared key. */
	h->mode = hs__mode(h->agreed);
	struct rd_key_binding b = { .host_features = offered, .ctl_features = h->agreed };
	memcpy(b.host_box_pk, box_pk, RD_BOX_PK_LEN);
	memcpy(b.ctl_box_pk, my_pk, RD_BOX_PK_LEN);
	hs__stream_init(h, key, &b);
	h->secure = true;
	h->done = true;
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}

int rd_handshake_stream(const struct rd_handshake *h, struct rd_crypto_stream *cs)
{
	if (!h || !cs || !h->done || !h->secure)
		return RD_ERR_INVAL;
	*cs = h->cs;
	return RD_OK;
}

enum rd_crypto_mode rd_handshake_mode(const struct rd_handshake *h)
{
	return h ? h->mode : RD_CRYPTO_COMPAT;
}

unsigned rd_handshake_features(const struct rd_handshake *h)
{
	return h && h->done ? h->agreed : 0;
}

int rd_handshake_plain_reply(bool empty_public_key, uint8_t **out, size_t *outlen)
{
	if (!out || !outlen)
		return RD_ERR_INVAL;
	*out = NULL;
	*outlen = 0;
	if (!empty_public_key)
		return RD_OK;
	Hbb__PublicKey pk = HBB__PUBLIC_KEY__INIT;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_PUBLIC_KEY;
	m.public_key = &pk;
	return rd_pb_pack(&m.base, out, outlen);
}

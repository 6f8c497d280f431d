/* Unit tests for common/handshake: both sides, both key modes, every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "handshake.h"
#include "pb.h"

struct pair {
	struct rd_keypair host_kp;
	struct rd_handshake *host;
	struct rd_handshake *ctl;
	uint8_t *sid;
	size_t sid_len;
};

static int setup(void **state)
{
	assert_int_equal(rd_crypto_init(), RD_OK);
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(rd_key_generate(&p->host_kp, false), RD_OK);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;
	rd_handshake_free(p->host);
	rd_handshake_free(p->ctl);
	free(p->sid);
	free(p);
	return 0;
}

static void start(struct pair *p, unsigned host_feat, unsigned ctl_feat, const char *ctl_id,
	const uint8_t *ctl_pk)
{
	p->host = rd_handshake_host_new("1234567890", &p->host_kp, host_feat);
	assert_non_null(p->host);
	p->ctl = rd_handshake_ctl_new(ctl_id, ctl_pk ? ctl_pk : p->host_kp.pk, ctl_feat);
	assert_non_null(p->ctl);
	assert_int_equal(rd_handshake_host_signed_id(p->host, &p->sid, &p->sid_len), RD_OK);
	assert_true(p->sid_len > RD_SIGN_LEN);
}

/* Seal with one stream, open with the other; returns the open result. */
static int roundtrip(struct rd_crypto_stream *tx, struct rd_crypto_stream *rx, const char *text)
{
	struct rd_buf ct, pt;
	rd_buf_init(&ct, 0);
	rd_buf_init(&pt, 0);
	assert_int_equal(rd_crypto_seal(tx, (const uint8_t *)text, strlen(text), &ct), RD_OK);
	int rc = rd_crypto_open(rx, rd_buf_ptr(&ct), rd_buf_size(&ct), &pt);
	if (rc == RD_OK) {
		assert_int_equal(rd_buf_size(&pt), strlen(text));
		assert_memory_equal(rd_buf_ptr(&pt), text, strlen(text));
	}
	rd_buf_free(&ct);
	rd_buf_free(&pt);
	return rc;
}

static void complete(struct pair *p, struct rd_crypto_stream *hcs, struct rd_crypto_stream *ccs)
{
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, p->sid, p->sid_len, &reply, &reply_len), RD_OK);
	enum rd_handshake_outcome oc = 0;
	assert_int_equal(rd_handshake_host_on_reply(p->host, reply, reply_len, &oc), RD_OK);
	free(reply);
	assert_int_equal(oc, RD_HANDSHAKE_SECURE);
	assert_false(rd_handshake_host_pk_refresh_wanted(p->host));
	assert_int_equal(rd_handshake_stream(p->host, hcs), RD_OK);
	assert_int_equal(rd_handshake_stream(p->ctl, ccs), RD_OK);
}

static void test_kdf_mode(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	struct rd_crypto_stream h, c;
	complete(p, &h, &c);
	assert_int_equal(rd_handshake_mode(p->host), RD_CRYPTO_KDF);
	assert_int_equal(rd_handshake_mode(p->ctl), RD_CRYPTO_KDF);
	assert_int_equal(rd_handshake_features(p->host), RD_FEAT_KDF);
	/* One key per direction, each side's tx is the other's rx. */
	assert_memory_not_equal(h.tx_key, h.rx_key, RD_SESSION_KEY_LEN);
	assert_memory_equal(h.tx_key, c.rx_key, RD_SESSION_KEY_LEN);
	assert_memory_equal(h.rx_key, c.tx_key, RD_SESSION_KEY_LEN);
	assert_int_equal(roundtrip(&h, &c, "hash from host"), RD_OK);
	assert_int_equal(roundtrip(&c, &h, "login from controller"), RD_OK);
	assert_int_equal(roundtrip(&h, &c, "second"), RD_OK);
}

static void test_compat_mode(void **state)
{
	struct pair *p = *state;
	/* A stock controller never sets rdesk_features. */
	start(p, RD_FEAT_KDF, 0, "1234567890", NULL);
	struct rd_crypto_stream h, c;
	complete(p, &h, &c);
	assert_int_equal(rd_handshake_mode(p->host), RD_CRYPTO_COMPAT);
	assert_int_equal(rd_handshake_mode(p->ctl), RD_CRYPTO_COMPAT);
	assert_int_equal(rd_handshake_features(p->ctl), 0);
	assert_memory_equal(h.tx_key, h.rx_key, RD_SESSION_KEY_LEN);
	assert_memory_equal(h.tx_key, c.tx_key, RD_SESSION_KEY_LEN);
	assert_int_equal(roundtrip(&h, &c, "hash"), RD_OK);
	assert_int_equal(roundtrip(&c, &h, "login"), RD_OK);
}

static void test_host_without_kdf(void **state)
{
	struct pair *p = *state;
	/* A stock host offers nothing: the rdesk controller falls back. */
	start(p, 0, RD_FEAT_KDF, "1234567890", NULL);
	struct rd_crypto_stream h, c;
	complete(p, &h, &c);
	assert_int_equal(rd_handshake_mode(p->ctl), RD_CRYPTO_COMPAT);
	assert_int_equal(roundtrip(&c, &h, "login"), RD_OK);
}

static void test_wrong_key_refused(void **state)
{
	struct pair *p = *state;
	struct rd_keypair other;
	assert_int_equal(rd_key_generate(&other, false), RD_OK);
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", other.pk);
	uint8_t *reply = (uint8_t *)"x";
	size_t len = 7;
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, p->sid, p->sid_len, &reply, &len),
		RD_ERR_CRYPTO);
	struct rd_crypto_stream cs;
	assert_int_equal(rd_handshake_stream(p->ctl, &cs), RD_ERR_INVAL);
	rd_keypair_wipe(&other);
}

static void test_wrong_id_refused(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567891", NULL);
	uint8_t *reply = NULL;
	size_t len = 0;
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, p->sid, p->sid_len, &reply, &len),
		RD_ERR_MISMATCH);
}

static void test_ctl_malformed(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	uint8_t *reply = NULL;
	size_t len = 0;
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x01 };
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, junk, sizeof(junk), &reply, &len), RD_ERR_PROTO);
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, junk, 0, &reply, &len), RD_ERR_PROTO);
	/* A flipped signature byte. */
	p->sid[p->sid_len - 40] ^= 1;
	int rc = rd_handshake_ctl_on_signed_id(p->ctl, p->sid, p->sid_len, &reply, &len);
	assert_true(rc == RD_ERR_CRYPTO || rc == RD_ERR_PROTO);
	/* Another message type in its place. */
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	assert_int_equal(rd_handshake_plain_reply(true, &plain, &plain_len), RD_OK);
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, plain, plain_len, &reply, &len), RD_ERR_PROTO);
	free(plain);
}

static void test_host_plain_replies(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	enum rd_handshake_outcome oc = 0;
	uint8_t *plain = (uint8_t *)"x";
	size_t plain_len = 9;
	assert_int_equal(rd_handshake_plain_reply(false, &plain, &plain_len), RD_OK);
	assert_int_equal(plain_len, 0);
	assert_int_equal(rd_handshake_host_on_reply(p->host, plain, 0, &oc), RD_OK);
	assert_int_equal(oc, RD_HANDSHAKE_PLAIN);
	assert_false(rd_handshake_host_pk_refresh_wanted(p->host));
	struct rd_crypto_stream cs;
	assert_int_equal(rd_handshake_stream(p->host, &cs), RD_ERR_INVAL);

	struct rd_handshake *h2 = rd_handshake_host_new("1234567890", &p->host_kp, RD_FEAT_KDF);
	assert_int_equal(rd_handshake_plain_reply(true, &plain, &plain_len), RD_OK);
	assert_true(plain_len > 0);
	assert_int_equal(rd_handshake_host_on_reply(h2, plain, plain_len, &oc), RD_OK);
	assert_int_equal(oc, RD_HANDSHAKE_PLAIN);
	assert_true(rd_handshake_host_pk_refresh_wanted(h2));
	free(plain);
	rd_handshake_free(h2);
}

static void test_host_bad_replies(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	enum rd_handshake_outcome oc = 0;
	/* The SignedId echoed back is not a PublicKey. */
	assert_int_equal(rd_handshake_host_on_reply(p->host, p->sid, p->sid_len, &oc), RD_ERR_PROTO);
	/* PublicKey with a 31-byte key. */
	uint8_t k31[31] = { 1 }, sealed[RD_SEALED_KEY_LEN] = { 0 };
	Hbb__PublicKey pk = HBB__PUBLIC_KEY__INIT;
	pk.asymmetric_value.data = k31;
	pk.asymmetric_value.len = sizeof(k31);
	pk.symmetric_value.data = sealed;
	pk.symmetric_value.len = sizeof(sealed);
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_PUBLIC_KEY;
	m.public_key = &pk;
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(rd_pb_pack(&m.base, &buf, &len), RD_OK);
	assert_int_equal(rd_handshake_host_on_reply(p->host, buf, len, &oc), RD_ERR_PROTO);
	free(buf);
	/* A genuine reply with one flipped byte in the sealed key. */
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, p->sid, p->sid_len, &reply, &reply_len), RD_OK);
	Hbb__Message *r = rd_pb_message_unpack(reply, reply_len);
	assert_non_null(r);
	r->public_key->symmetric_value.data[5] ^= 0x20;
	assert_int_equal(rd_pb_pack(&r->base, &buf, &len), RD_OK);
	hbb__message__free_unpacked(r, NULL);
	assert_int_equal(rd_handshake_host_on_reply(p->host, buf, len, &oc), RD_ERR_CRYPTO);
	free(buf);
	free(reply);
}

static void test_tampered_frame_fails(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	struct rd_crypto_stream h, c;
	complete(p, &h, &c);
	struct rd_buf ct, pt;
	rd_buf_init(&ct, 0);
	rd_buf_init(&pt, 0);
	assert_int_equal(rd_crypto_seal(&h, (const uint8_t *)"video", 5, &ct), RD_OK);
	((uint8_t *)rd_buf_ptr(&ct))[RD_SECRETBOX_MAC_LEN + 1] ^= 1;
	assert_int_equal(rd_crypto_open(&c, rd_buf_ptr(&ct), rd_buf_size(&ct), &pt), RD_ERR_CRYPTO);
	rd_buf_free(&ct);
	rd_buf_free(&pt);
}

/* ---- the feature words are bound: signed (offer) and in the keys (reply) ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* Message{signed_id = SignedId{id = sig || idpk, extra}}: the SignedId frame a
 * proxy re-encodes, with the signature kept as it was. */
static size_t build_signed_id(uint8_t *out, const uint8_t *sig, const uint8_t *idpk, size_t idpk_len,
	const uint8_t *extra, size_t extra_len)
{
	uint8_t sid[512];
	size_t n = 0, m = 0;
	sid[n++] = 0x0a;
	n += put_varint(sid + n, RD_SIGN_LEN + idpk_len);
	memcpy(sid + n, sig, RD_SIGN_LEN);
	n += RD_SIGN_LEN;
	memcpy(sid + n, idpk, idpk_len);
	n += idpk_len;
	if (extra_len) {
		memcpy(sid + n, extra, extra_len);
		n += extra_len;
	}
	out[m++] = 0x1a;
	m += put_varint(out + m, n);
	memcpy(out + m, sid, n);
	return m + n;
}

/* The signed IdPk of p->sid (opened, so its bytes can be re-encoded). */
static Hbb__IdPk *open_offer(struct pair *p, uint8_t sig[RD_SIGN_LEN])
{
	Hbb__Message *m = rd_pb_message_unpack(p->sid, p->sid_len);
	assert_non_null(m);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_SIGNED_ID);
	/* Nothing outside the signature: no unknown (unsigned) fields. */
	assert_int_equal(m->signed_id->base.n_unknown_fields, 0);
	const ProtobufCBinaryData *id = &m->signed_id->id;
	uint8_t plain[512];
	unsigned long long plen = 0;
	assert_true(id->len < sizeof(plain));
	assert_int_equal(crypto_sign_open(plain, &plen, id->data, id->len, p->host_kp.pk), 0);
	memcpy(sig, id->data, RD_SIGN_LEN);
	Hbb__IdPk *idpk = hbb__id_pk__unpack(NULL, (size_t)plen, plain);
	assert_non_null(idpk);
	hbb__message__free_unpacked(m, NULL);
	return idpk;
}

static void test_offer_is_signed(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	uint8_t sig[RD_SIGN_LEN];
	Hbb__IdPk *idpk = open_offer(p, sig);
	assert_string_equal(idpk->id, "1234567890");
	assert_int_equal(idpk->pk.len, RD_BOX_PK_LEN);
	assert_int_equal(idpk->rdesk_features, RD_FEAT_KDF);
	/* The signed bytes: IdPk field 1, field 2, then field 4000 as varint. */
	uint8_t plain[128];
	size_t n = hbb__id_pk__pack(idpk, plain);
	static const uint8_t tail[] = { 0x80, 0xfa, 0x01, 0x01 };
	assert_int_equal(n, 2 + 10 + 2 + RD_BOX_PK_LEN + sizeof(tail));
	assert_memory_equal(plain + n - sizeof(tail), tail, sizeof(tail));
	hbb__id_pk__free_unpacked(idpk, NULL);

	/* A host offering nothing signs RustDesk's IdPk{id, pk} exactly. */
	struct rd_handshake *h0 = rd_handshake_host_new("1234567890", &p->host_kp, 0);
	free(p->sid);
	assert_int_equal(rd_handshake_host_signed_id(h0, &p->sid, &p->sid_len), RD_OK);
	idpk = open_offer(p, sig);
	assert_int_equal(hbb__id_pk__pack(idpk, plain), 2 + 10 + 2 + RD_BOX_PK_LEN);
	assert_int_equal(idpk->base.n_unknown_fields, 0);
	hbb__id_pk__free_unpacked(idpk, NULL);
	rd_handshake_free(h0);
}

static void test_stripped_offer_fails(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	uint8_t sig[RD_SIGN_LEN], idpk_bytes[128], frame[512];
	Hbb__IdPk *idpk = open_offer(p, sig);
	uint8_t *reply = NULL;
	size_t reply_len = 0;

	/* The offer removed from the signed IdPk: the signature breaks. */
	idpk->rdesk_features = 0;
	size_t n = hbb__id_pk__pack(idpk, idpk_bytes);
	size_t flen = build_signed_id(frame, sig, idpk_bytes, n, NULL, 0);
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, frame, flen, &reply, &reply_len),
		RD_ERR_CRYPTO);
	/* Changed to another word: the same. */
	idpk->rdesk_features = RD_FEAT_KDF | 0x100;
	n = hbb__id_pk__pack(idpk, idpk_bytes);
	flen = build_signed_id(frame, sig, idpk_bytes, n, NULL, 0);
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, frame, flen, &reply, &reply_len),
		RD_ERR_CRYPTO);
	struct rd_crypto_stream cs;
	assert_int_equal(rd_handshake_stream(p->ctl, &cs), RD_ERR_INVAL);
	/* Unchanged, re-encoded by hand: verifies and agrees on KDF. */
	idpk->rdesk_features = RD_FEAT_KDF;
	n = hbb__id_pk__pack(idpk, idpk_bytes);
	flen = build_signed_id(frame, sig, idpk_bytes, n, NULL, 0);
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, frame, flen, &reply, &reply_len), RD_OK);
	assert_int_equal(rd_handshake_mode(p->ctl), RD_CRYPTO_KDF);
	free(reply);
	hbb__id_pk__free_unpacked(idpk, NULL);
}

static void test_unsigned_offer_ignored(void **state)
{
	struct pair *p = *state;
	/* A host that signs no offer, and SignedId field 4000 = 1 added on the
	 * way (where the offer once was): the controller does not believe it. */
	start(p, 0, RD_FEAT_KDF, "1234567890", NULL);
	uint8_t sig[RD_SIGN_LEN], idpk_bytes[128], frame[512];
	Hbb__IdPk *idpk = open_offer(p, sig);
	size_t n = hbb__id_pk__pack(idpk, idpk_bytes);
	static const uint8_t outer[] = { 0x80, 0xfa, 0x01, 0x01 };
	size_t flen = build_signed_id(frame, sig, idpk_bytes, n, outer, sizeof(outer));
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, frame, flen, &reply, &reply_len), RD_OK);
	assert_int_equal(rd_handshake_mode(p->ctl), RD_CRYPTO_COMPAT);
	Hbb__Message *r = rd_pb_message_unpack(reply, reply_len);
	assert_non_null(r);
	assert_int_equal(r->public_key->rdesk_features, 0);
	hbb__message__free_unpacked(r, NULL);
	free(reply);
	hbb__id_pk__free_unpacked(idpk, NULL);
}

/* The controller's reply with its feature word set to word (or removed when
 * word is 0), then handed to the host. */
static void reply_with_word(struct pair *p, uint32_t word, struct rd_crypto_stream *hcs,
	struct rd_crypto_stream *ccs)
{
	uint8_t *reply = NULL, *buf = NULL;
	size_t reply_len = 0, len = 0;
	assert_int_equal(rd_handshake_ctl_on_signed_id(p->ctl, p->sid, p->sid_len, &reply, &reply_len), RD_OK);
	Hbb__Message *r = rd_pb_message_unpack(reply, reply_len);
	assert_non_null(r);
	assert_int_equal(r->public_key->rdesk_features, RD_FEAT_KDF);
	r->public_key->rdesk_features = word;
	assert_int_equal(rd_pb_pack(&r->base, &buf, &len), RD_OK);
	hbb__message__free_unpacked(r, NULL);
	enum rd_handshake_outcome oc = 0;
	assert_int_equal(rd_handshake_host_on_reply(p->host, buf, len, &oc), RD_OK);
	assert_int_equal(oc, RD_HANDSHAKE_SECURE);
	assert_int_equal(rd_handshake_stream(p->host, hcs), RD_OK);
	assert_int_equal(rd_handshake_stream(p->ctl, ccs), RD_OK);
	free(buf);
	free(reply);
}

static void test_stripped_reply_fails(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	struct rd_crypto_stream h, c;
	reply_with_word(p, 0, &h, &c);
	/* The host now looks at a stock controller: one key both ways... */
	assert_int_equal(rd_handshake_mode(p->host), RD_CRYPTO_COMPAT);
	assert_memory_equal(h.tx_key, h.rx_key, RD_SESSION_KEY_LEN);
	/* ...but the controller stays with its bound direction keys, neither of
	 * which is that key: nothing is sealed with it both ways, and the first
	 * frame in either direction fails. */
	assert_int_equal(rd_handshake_mode(p->ctl), RD_CRYPTO_KDF);
	assert_memory_not_equal(c.tx_key, h.tx_key, RD_SESSION_KEY_LEN);
	assert_memory_not_equal(c.rx_key, h.tx_key, RD_SESSION_KEY_LEN);
	assert_int_equal(roundtrip(&h, &c, "hash"), RD_ERR_CRYPTO);
	assert_int_equal(roundtrip(&c, &h, "login"), RD_ERR_CRYPTO);
}

static void test_altered_reply_fails(void **state)
{
	struct pair *p = *state;
	start(p, RD_FEAT_KDF, RD_FEAT_KDF, "1234567890", NULL);
	struct rd_crypto_stream h, c;
	/* An extra bit: both still pick KDF, but from different bound keys. */
	reply_with_word(p, RD_FEAT_KDF | 0x100, &h, &c);
	assert_int_equal(rd_handshake_mode(p->host), RD_CRYPTO_KDF);
	assert_int_equal(rd_handshake_mode(p->ctl), RD_CRYPTO_KDF);
	assert_memory_not_equal(h.tx_key, c.rx_key, RD_SESSION_KEY_LEN);
	assert_memory_not_equal(h.rx_key, c.tx_key, RD_SESSION_KEY_LEN);
	assert_int_equal(roundtrip(&h, &c, "hash"), RD_ERR_CRYPTO);
	assert_int_equal(roundtrip(&c, &h, "login"), RD_ERR_CRYPTO);
}

static void test_key_binding_layout(void **state)
{
	(void)state;
	uint8_t k[RD_SESSION_KEY_LEN], root[RD_SESSION_KEY_LEN], want[RD_SESSION_KEY_LEN], other[RD_SESSION_KEY_LEN];
	struct rd_key_binding b = { .host_features = 0x01020304, .ctl_features = 0x0a0b0c0d };
	for (int i = 0; i < RD_SESSION_KEY_LEN; i++) {
		k[i] = (uint8_t)i;
		b.host_box_pk[i] = (uint8_t)(0x40 + i);
		b.ctl_box_pk[i] = (uint8_t)(0x80 + i);
	}
	/* The documented bytes: label, both words little-endian, both box keys. */
	uint8_t msg[17 + 8 + 64];
	memcpy(msg, "rdesk-kdf-bind-v1", 17);
	memcpy(msg + 17, (const uint8_t[]){ 4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a }, 8);
	memcpy(msg + 25, b.host_box_pk, 32);
	memcpy(msg + 57, b.ctl_box_pk, 32);
	crypto_generichash(want, sizeof(want), msg, sizeof(msg), k, sizeof(k));
	rd_session_key_bind(k, &b, root);
	assert_memory_equal(root, want, sizeof(root));
	/* Every input counts. */
	struct rd_key_binding v[4] = { b, b, b, b };
	v[0].host_features ^= 1;
	v[1].ctl_features ^= 1;
	v[2].host_box_pk[31] ^= 1;
	v[3].ctl_box_pk[0] ^= 1;
	for (int i = 0; i < 4; i++) {
		rd_session_key_bind(k, &v[i], other);
		assert_memory_not_equal(root, other, sizeof(root));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kdf_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compat_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_without_kdf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_id_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_plain_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_bad_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_frame_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offer_is_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stripped_offer_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsigned_offer_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stripped_reply_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_altered_reply_fails, setup, teardown),
		cmocka_unit_test(test_key_binding_layout),
	};
	return cmocka_run_group_tests_name("handshake", tests, NULL, NULL);
}

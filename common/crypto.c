/* crypto: long-term keys, IdPk signatures, the session key exchange, the
 * secretbox session stream and login password hashes, all on libsodium. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "message.pb-c.h"
#include "util.h"

#define KEY_FILE "id_ed25519"
#define PUB_FILE "id_ed25519.pub"
#define KEY_FILE_MAX 1024          /* a key file is 88 chars; anything far longer is not one */
#define NO_SLASH_TRIES 300
#define KDF_CONTEXT "rdesk-ss"
#define KDF_SUBKEY_TO_AGENT 1       /* controller -> agent */
#define KDF_SUBKEY_TO_CONTROLLER 2  /* agent -> controller */
#define KEY_BIND_LABEL "rdesk-kdf-bind-v1"

_Static_assert(RD_SK_LEN == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");
_Static_assert(RD_PK_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(RD_SIGN_LEN == crypto_sign_BYTES, "signature size");
_Static_assert(RD_BOX_PK_LEN == crypto_box_PUBLICKEYBYTES, "box public key size");
_Static_assert(RD_BOX_SK_LEN == crypto_box_SECRETKEYBYTES, "box secret key size");
_Static_assert(RD_SESSION_KEY_LEN == crypto_secretbox_KEYBYTES, "secretbox key size");
_Static_assert(RD_SESSION_KEY_LEN == crypto_kdf_KEYBYTES, "kdf key size");
_Static_assert(RD_SEALED_KEY_LEN == RD_SESSION_KEY_LEN + crypto_box_MACBYTES, "sealed key size");
_Static_assert(RD_SECRETBOX_MAC_LEN == crypto_secretbox_MACBYTES, "secretbox MAC size");
_Static_assert(sizeof(KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context size");
_Static_assert(RD_SESSION_KEY_LEN >= crypto_generichash_KEYBYTES_MIN &&
	RD_SESSION_KEY_LEN <= crypto_generichash_BYTES_MAX, "generichash key and output size");

int rd_crypto_init(void)
{
	return sodium_init() < 0 ? RD_ERR_CRYPTO : RD_OK;
}

/* ---- base64 ---- */

int rd_b64_encode(const void *in, size_t len, char *out, size_t outsz)
{
	size_t need = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);

	if (need > outsz || need - 1 > (size_t)INT32_MAX)
		return RD_ERR_TOOBIG;
	sodium_bin2base64(out, outsz, in, len, sodium_base64_VARIANT_ORIGINAL);
	return (int)(need - 1);
}

int rd_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outsz)
{
	size_t binlen = 0;
	const char *end = NULL;

	if (outsz > (size_t)INT32_MAX)
		outsz = (size_t)INT32_MAX;
	if (sodium_base642bin(out, outsz, in, inlen, NULL, &binlen, &end,
		    sodium_base64_VARIANT_ORIGINAL) != 0 || end != in + inlen)
		return RD_ERR_INVAL;
	return (int)binlen;
}

/* ---- long-term keys ---- */

/* The 64-byte secret key is seed || pk: check that pk really belongs to the
 * seed, which catches a key file of the right length but wrong content. */
static int keypair_from_sk(const uint8_t sk[RD_SK_LEN], struct rd_keypair *kp)
{
	uint8_t pk[RD_PK_LEN], sk2[RD_SK_LEN];
	int ok;

	crypto_sign_seed_keypair(pk, sk2, sk);
	ok = sodium_memcmp(sk2, sk, RD_SK_LEN) == 0;
	if (ok) {
		memcpy(kp->pk, pk, RD_PK_LEN);
		memcpy(kp->sk, sk2, RD_SK_LEN);
	}
	sodium_memzero(sk2, sizeof(sk2));
	return ok ? RD_OK : RD_ERR_KEY;
}

int rd_key_generate(struct rd_keypair *kp, bool no_slash)
{
	char b64[RD_B64_PK_LEN + 1];

	for (int i = 0; i < NO_SLASH_TRIES; i++) {
		crypto_sign_keypair(kp->pk, kp->sk);
		if (!no_slash)
			break;
		rd_pk_to_b64(kp->pk, b64);
		if (!strchr(b64, '/'))
			break;
	}
	return RD_OK;
}

static char *key_path(const char *dir, const char *name)
{
	size_t dl = dir && *dir ? strlen(dir) : 1, nl = strlen(name);
	char *p = malloc(dl + nl + 2);

	if (!p)
		return NULL;
	memcpy(p, dir && *dir ? dir : ".", dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

static int errno_to_rd(int e)
{
	switch (e) {
	case ENOENT: return RD_ERR_NOTFOUND;
	case EACCES: case EPERM: return RD_ERR_PERM;
	case ENOMEM: return RD_ERR_NOMEM;
	default: return RD_ERR_IO;
	}
}

/* Read a small key file into buf (NUL-terminated, surrounding white space
 * removed). With secret, the file must not be accessible to group or others. */
static int read_key_file(const char *path, bool secret, char *buf, size_t bufsz, size_t *len)
{
	struct stat st;
	size_t n = 0, start = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), ret = RD_OK;

	if (fd < 0)
		return errno_to_rd(errno);
	if (fstat(fd, &st) < 0) {
		ret = errno_to_rd(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = RD_ERR_KEY;
		goto out;
	}
	if (secret && (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))) {
		ret = RD_ERR_PERM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, bufsz - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = errno_to_rd(errno);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == bufsz - 1) {
			ret = RD_ERR_KEY; /* far too long for a key */
			goto out;
		}
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	while (start < n && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n' || buf[start] == '\r'))
		start++;
	memmove(buf, buf + start, n - start);
	n -= start;
	buf[n] = '\0';
	*len = n;
out:
	close(fd);
	return ret;
}

int rd_key_load(const char *dir, struct rd_keypair *kp)
{
	char *path = key_path(dir, KEY_FILE), *pub_path = key_path(dir, PUB_FILE);
	char text[KEY_FILE_MAX];
	uint8_t raw[KEY_FILE_MAX], pk[RD_PK_LEN];
	size_t len;
	int ret, n;

	if (!path || !pub_path) {
		ret = RD_ERR_NOMEM;
		goto out;
	}
	ret = read_key_file(path, true, text, sizeof(text), &len);
	if (ret != RD_OK)
		goto out;
	n = rd_b64_decode(text, len, raw, sizeof(raw));
	if (n != RD_SK_LEN) {
		ret = RD_ERR_KEY;
		goto out;
	}
	ret = keypair_from_sk(raw, kp);
	if (ret != RD_OK)
		goto out;
	/* The public file is optional, but when present it must agree. */
	ret = read_key_file(pub_path, false, text, sizeof(text), &len);
	if (ret == RD_ERR_NOTFOUND) {
		ret = RD_OK;
		goto out;
	}
	if (ret != RD_OK)
		goto out;
	if (rd_b64_decode(text, len, pk, sizeof(pk)) != RD_PK_LEN ||
	    sodium_memcmp(pk, kp->pk, RD_PK_LEN) != 0)
		ret = RD_ERR_KEY;
out:
	if (ret != RD_OK && kp)
		rd_keypair_wipe(kp);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(raw, sizeof(raw));
	free(path);
	free(pub_path);
	return ret;
}

int rd_key_save(const char *dir, const struct rd_keypair *kp)
{
	char *path = key_path(dir, KEY_FILE), *pub_path = key_path(dir, PUB_FILE);
	char sk_b64[sodium_base64_ENCODED_LEN(RD_SK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char pk_b64[RD_B64_PK_LEN + 1];
	int ret = RD_ERR_NOMEM, n;

	if (!path || !pub_path)
		goto out;
	n = rd_b64_encode(kp->sk, RD_SK_LEN, sk_b64, sizeof(sk_b64));
	rd_pk_to_b64(kp->pk, pk_b64);
	ret = rd_write_file_atomic(path, sk_b64, (size_t)n, 0600);
	if (ret == RD_OK)
		ret = rd_write_file_atomic(pub_path, pk_b64, RD_B64_PK_LEN, 0644);
out:
	sodium_memzero(sk_b64, sizeof(sk_b64));
	free(path);
	free(pub_path);
	return ret;
}

int rd_key_load_or_create(const char *dir, struct rd_keypair *kp, bool no_slash, bool *created)
{
	int ret = rd_key_load(dir, kp);

	if (created)
		*created = false;
	if (ret != RD_ERR_NOTFOUND)
		return ret;
	rd_key_generate(kp, no_slash);
	ret = rd_key_save(dir, kp);
	if (ret != RD_OK) {
		rd_keypair_wipe(kp);
		return ret;
	}
	if (created)
		*created = true;
	return RD_OK;
}

int rd_key_from_b64_sk(const char *b64, struct rd_keypair *kp)
{
	uint8_t raw[RD_SK_LEN + 3];
	int n = b64 ? rd_b64_decode(b64, strlen(b64), raw, sizeof(raw)) : RD_ERR_INVAL;
	int ret = n == RD_SK_LEN ? keypair_from_sk(raw, kp) : RD_ERR_KEY;

	sodium_memzero(raw, sizeof(raw));
	return ret;
}

int rd_pk_from_b64(const char *b64, uint8_t pk[RD_PK_LEN])
{
	uint8_t raw[RD_PK_LEN + 3];
	int n = b64 ? rd_b64_decode(b64, strlen(b64), raw, sizeof(raw)) : RD_ERR_INVAL;

	if (n != RD_PK_LEN)
		return RD_ERR_KEY;
	memcpy(pk, raw, RD_PK_LEN);
	return RD_OK;
}

void rd_pk_to_b64(const uint8_t pk[RD_PK_LEN], char *out)
{
	sodium_bin2base64(out, RD_B64_PK_LEN + 1, pk, RD_PK_LEN, sodium_base64_VARIANT_ORIGINAL);
}

void rd_pk_fingerprint(const uint8_t pk[RD_PK_LEN], char out[RD_FINGERPRINT_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, RD_PK_LEN);
	memcpy(out, "SHA256:", 7);
	sodium_bin2base64(out + 7, RD_FINGERPRINT_LEN - 7, h, sizeof(h),
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

void rd_keypair_wipe(struct rd_keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
}

/* ---- IdPk signatures ---- */

static int idpk_sign(const char *id, const uint8_t *pk, size_t pklen, uint32_t features,
	const uint8_t sk[RD_SK_LEN], uint8_t **out, size_t *outlen)
{
	Hbb__IdPk m = HBB__ID_PK__INIT;
	uint8_t *plain = NULL, *sm = NULL;
	size_t plen;
	unsigned long long smlen;
	int ret = RD_ERR_NOMEM;

	m.id = (char *)(id ? id : "");
	m.pk.data = (uint8_t *)pk;
	m.pk.len = pk ? pklen : 0;
	m.rdesk_features = features;
	plen = hbb__id_pk__get_packed_size(&m);
	plain = malloc(plen ? plen : 1);
	sm = malloc(plen + RD_SIGN_LEN);
	if (!plain || !sm)
		goto fail;
	hbb__id_pk__pack(&m, plain);
	if (crypto_sign(sm, &smlen, plain, plen, sk) != 0) {
		ret = RD_ERR_CRYPTO;
		goto fail;
	}
	free(plain);
	*out = sm;
	*outlen = (size_t)smlen;
	return RD_OK;
fail:
	free(plain);
	free(sm);
	return ret;
}

int rd_idpk_sign(const char *id, const uint8_t *pk, size_t pklen, const uint8_t sk[RD_SK_LEN],
	uint8_t **out, size_t *outlen)
{
	return idpk_sign(id, pk, pklen, 0, sk, out, outlen);
}

int rd_signed_id_sign(const char *id, const uint8_t box_pk[RD_BOX_PK_LEN], uint32_t features,
	const uint8_t sk[RD_SK_LEN], uint8_t **out, size_t *outlen)
{
	return idpk_sign(id, box_pk, RD_BOX_PK_LEN, features, sk, out, outlen);
}

int rd_idpk_parse(const uint8_t *plain, size_t len, const char *expect_id, uint8_t pk_out[32],
	uint32_t *features)
{
	Hbb__IdPk *m = hbb__id_pk__unpack(NULL, len, plain);
	int ret = RD_OK;

	if (!m)
		return RD_ERR_PROTO;
	if (expect_id && strcmp(m->id, expect_id) != 0)
		ret = RD_ERR_MISMATCH;
	else if (m->pk.len != 32)
		ret = RD_ERR_PROTO;
	if (ret == RD_OK) {
		memcpy(pk_out, m->pk.data, 32);
		if (features)
			*features = m->rdesk_features;
	}
	hbb__id_pk__free_unpacked(m, NULL);
	return ret;
}

static int idpk_verify(const uint8_t *signed_msg, size_t len, const uint8_t signer_pk[RD_PK_LEN],
	const char *expect_id, uint8_t pk_out[32], uint32_t *features)
{
	uint8_t *plain;
	unsigned long long plen;
	int ret;

	if (!signed_msg || len < RD_SIGN_LEN)
		return RD_ERR_CRYPTO;
	plain = malloc(len - RD_SIGN_LEN + 1);
	if (!plain)
		return RD_ERR_NOMEM;
	if (crypto_sign_open(plain, &plen, signed_msg, len, signer_pk) != 0)
		ret = RD_ERR_CRYPTO;
	else
		ret = rd_idpk_parse(plain, (size_t)plen, expect_id, pk_out, features);
	free(plain);
	return ret;
}

int rd_idpk_verify(const uint8_t *signed_msg, size_t len, const uint8_t signer_pk[RD_PK_LEN],
	const char *expect_id, uint8_t pk_out[32])
{
	return idpk_verify(signed_msg, len, signer_pk, expect_id, pk_out, NULL);
}

int rd_signed_id_verify(const uint8_t *signed_msg, size_t len, const uint8_t signer_pk[RD_PK_LEN],
	const char *expect_id, uint8_t box_pk[RD_BOX_PK_LEN], uint32_t *features)
{
	*features = 0;
	return idpk_verify(signed_msg, len, signer_pk, expect_id, box_pk, features);
}

/* ---- session key exchange ---- */

void rd_box_keypair_new(struct rd_box_keypair *kp)
{
	crypto_box_keypair(kp->pk, kp->sk);
}

void rd_box_keypair_wipe(struct rd_box_keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
}

int rd_session_key_seal(const uint8_t peer_box_pk[RD_BOX_PK_LEN], uint8_t my_pk[RD_BOX_PK_LEN],
	uint8_t key[RD_SESSION_KEY_LEN], uint8_t sealed[RD_SEALED_KEY_LEN])
{
	static const uint8_t zero_nonce[crypto_box_NONCEBYTES];
	struct rd_box_keypair mine;
	int ret = RD_OK;

	rd_box_keypair_new(&mine);
	crypto_secretbox_keygen(key);
	/* Fails for a degenerate peer key (all-zero shared secret). */
	if (crypto_box_easy(sealed, key, RD_SESSION_KEY_LEN, zero_nonce, peer_box_pk, mine.sk) != 0) {
		sodium_memzero(key, RD_SESSION_KEY_LEN);
		ret = RD_ERR_CRYPTO;
	} else {
		memcpy(my_pk, mine.pk, RD_BOX_PK_LEN);
	}
	rd_box_keypair_wipe(&mine);
	return ret;
}

int rd_session_key_open(const uint8_t *sealed, size_t sealed_len, const uint8_t peer_pk[RD_BOX_PK_LEN],
	const struct rd_box_keypair *mine, uint8_t key[RD_SESSION_KEY_LEN])
{
	static const uint8_t zero_nonce[crypto_box_NONCEBYTES];

	if (!sealed || sealed_len != RD_SEALED_KEY_LEN)
		return RD_ERR_PROTO;
	if (crypto_box_open_easy(key, sealed, sealed_len, zero_nonce, peer_pk, mine->sk) != 0) {
		sodium_memzero(key, RD_SESSION_KEY_LEN);
		return RD_ERR_CRYPTO;
	}
	return RD_OK;
}

void rd_session_key_bind(const uint8_t key[RD_SESSION_KEY_LEN], const struct rd_key_binding *b,
	uint8_t root[RD_SESSION_KEY_LEN])
{
	uint8_t msg[sizeof(KEY_BIND_LABEL) - 1 + 8 + 2 * RD_BOX_PK_LEN], *p = msg;

	memcpy(p, KEY_BIND_LABEL, sizeof(KEY_BIND_LABEL) - 1);
	p += sizeof(KEY_BIND_LABEL) - 1;
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(b->host_features >> (8 * i));
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(b->ctl_features >> (8 * i));
	memcpy(p, b->host_box_pk, RD_BOX_PK_LEN);
	p += RD_BOX_PK_LEN;
	memcpy(p, b->ctl_box_pk, RD_BOX_PK_LEN);
	crypto_generichash(root, RD_SESSION_KEY_LEN, msg, sizeof(msg), key, RD_SESSION_KEY_LEN);
}

/* ---- session stream ---- */

void rd_crypto_stream_init(struct rd_crypto_stream *cs, const uint8_t key[RD_SESSION_KEY_LEN],
	enum rd_crypto_mode mode, bool is_controller)
{
	memset(cs, 0, sizeof(*cs));
	if (mode == RD_CRYPTO_KDF) {
		uint8_t to_agent[RD_SESSION_KEY_LEN], to_ctl[RD_SESSION_KEY_LEN];

		crypto_kdf_derive_from_key(to_agent, sizeof(to_agent), KDF_SUBKEY_TO_AGENT, KDF_CONTEXT, key);
		crypto_kdf_derive_from_key(to_ctl, sizeof(to_ctl), KDF_SUBKEY_TO_CONTROLLER, KDF_CONTEXT, key);
		memcpy(cs->tx_key, is_controller ? to_agent : to_ctl, RD_SESSION_KEY_LEN);
		memcpy(cs->rx_key, is_controller ? to_ctl : to_agent, RD_SESSION_KEY_LEN);
		sodium_memzero(to_agent, sizeof(to_agent));
		sodium_memzero(to_ctl, sizeof(to_ctl));
	} else {
		memcpy(cs->tx_key, key, RD_SESSION_KEY_LEN);
		memcpy(cs->rx_key, key, RD_SESSION_KEY_LEN);
	}
}

void rd_crypto_stream_wipe(struct rd_crypto_stream *cs)
{
	sodium_memzero(cs, sizeof(*cs));
}

/* Nonce: the sequence number as u64 little-endian, then 16 zero bytes. */
static void make_nonce(uint8_t nonce[crypto_secretbox_NONCEBYTES], uint64_t seq)
{
	memset(nonce, 0, crypto_secretbox_NONCEBYTES);
	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(seq >> (8 * i));
}

static int buf_error(const struct rd_buf *b, size_t n)
{
	return b->max && rd_buf_size(b) + n > b->max ? RD_ERR_TOOBIG : RD_ERR_NOMEM;
}

int rd_crypto_seal(struct rd_crypto_stream *cs, const uint8_t *in, size_t len, struct rd_buf *out)
{
	uint8_t nonce[crypto_secretbox_NONCEBYTES];
	uint8_t *dst;

	if (cs->tx_seq == UINT64_MAX)
		return RD_ERR_LIMIT; /* never reused, even after 2^64 frames */
	if (len > SIZE_MAX - RD_SECRETBOX_MAC_LEN)
		return RD_ERR_TOOBIG;
	dst = rd_buf_reserve(out, len + RD_SECRETBOX_MAC_LEN);
	if (!dst)
		return buf_error(out, len + RD_SECRETBOX_MAC_LEN);
	make_nonce(nonce, cs->tx_seq + 1);
	crypto_secretbox_easy(dst, in, len, nonce, cs->tx_key);
	cs->tx_seq++;
	rd_buf_commit(out, len + RD_SECRETBOX_MAC_LEN);
	return RD_OK;
}

int rd_crypto_open(struct rd_crypto_stream *cs, const uint8_t *in, size_t len, struct rd_buf *out)
{
	uint8_t nonce[crypto_secretbox_NONCEBYTES];
	uint8_t empty[1], *dst;
	size_t plen;

	if (len <= 1)
		return len ? rd_buf_put(out, in, len) : RD_OK;
	if (len < RD_SECRETBOX_MAC_LEN || cs->rx_seq == UINT64_MAX)
		return RD_ERR_CRYPTO;
	plen = len - RD_SECRETBOX_MAC_LEN;
	dst = plen ? rd_buf_reserve(out, plen) : empty;
	if (!dst)
		return buf_error(out, plen);
	make_nonce(nonce, cs->rx_seq + 1);
	if (crypto_secretbox_open_easy(dst, in, len, nonce, cs->rx_key) != 0)
		return RD_ERR_CRYPTO;
	cs->rx_seq++;
	if (plen)
		rd_buf_commit(out, plen);
	return RD_OK;
}

/* ---- login password hashes ---- */

void rd_pw_hash1(const char *password, const char *salt, uint8_t h1[32])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)password, strlen(password));
	crypto_hash_sha256_update(&st, (const uint8_t *)salt, strlen(salt));
	crypto_hash_sha256_final(&st, h1);
	sodium_memzero(&st, sizeof(st));
}

void rd_pw_response(const uint8_t h1[32], const char *challenge, uint8_t out[32])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, h1, 32);
	crypto_hash_sha256_update(&st, (const uint8_t *)challenge, strlen(challenge));
	crypto_hash_sha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void rd_random_alnum(char *out, size_t n)
{
	static const char alphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";

	_Static_assert(sizeof(alphabet) - 1 == 32, "alphabet size divides 256");
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[randombytes_uniform(32)];
	out[n] = '\0';
}

/* crypto: key files, base64, IdPk signatures, the session key exchange, the
 * session stream in both modes (tamper, replay, reorder), password hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "message.pb-c.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* ---- temporary key directory ---- */

struct kdir {
	char dir[256];
	char sk[300];
	char pk[300];
};

static int kdir_setup(void **state)
{
	struct kdir *d = calloc(1, sizeof(*d));
	const char *tmp = getenv("TMPDIR");

	if (!d)
		return -1;
	snprintf(d->dir, sizeof(d->dir), "%s/rdesk-crypto.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->sk, sizeof(d->sk), "%s/id_ed25519", d->dir);
	snprintf(d->pk, sizeof(d->pk), "%s/id_ed25519.pub", d->dir);
	*state = d;
	return 0;
}

static int kdir_teardown(void **state)
{
	struct kdir *d = *state;

	unlink(d->sk);
	unlink(d->pk);
	rmdir(d->dir);
	free(d);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static size_t read_text(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sz - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

/* ---- base64 ---- */

static void test_b64(void **state)
{
	/* RFC 4648 section 10 vectors */
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char out[64];
	uint8_t bin[64];

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(rd_b64_encode(plain[i], strlen(plain[i]), out, sizeof(out)), (int)strlen(enc[i]));
		assert_string_equal(out, enc[i]);
		assert_int_equal(rd_b64_decode(enc[i], strlen(enc[i]), bin, sizeof(bin)), (int)strlen(plain[i]));
		assert_memory_equal(bin, plain[i], strlen(plain[i]));
	}
	/* standard alphabet, not URL-safe */
	assert_int_equal(rd_b64_encode("\xfb\xff", 2, out, sizeof(out)), 4);
	assert_string_equal(out, "+/8=");
	assert_int_equal(rd_b64_decode("-_8=", 4, bin, sizeof(bin)), RD_ERR_INVAL);
	assert_int_equal(rd_b64_decode("Zm9vYg", 6, bin, sizeof(bin)), RD_ERR_INVAL);   /* no padding */
	assert_int_equal(rd_b64_decode("Zm9v!", 5, bin, sizeof(bin)), RD_ERR_INVAL);    /* garbage */
	assert_int_equal(rd_b64_decode("Zm9vYmFy", 8, bin, 5), RD_ERR_INVAL);           /* too small */
	assert_int_equal(rd_b64_encode("foobar", 6, out, 8), RD_ERR_TOOBIG);            /* no room for NUL */
	assert_int_equal(rd_b64_encode("foobar", 6, out, 9), 8);
}

/* ---- key files ---- */

static void test_key_save_load(void **state)
{
	struct kdir *d = *state;
	struct rd_keypair kp, kp2;
	char text[256], b64[128];
	struct stat st;

	rd_key_generate(&kp, false);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_NOTFOUND);
	assert_int_equal(rd_key_save(d->dir, &kp), RD_OK);
	/* exactly RustDesk's format: base64 of the 64-byte sk / 32-byte pk, no newline */
	assert_int_equal(read_text(d->sk, text, sizeof(text)), 88);
	assert_int_equal(rd_b64_encode(kp.sk, 64, b64, sizeof(b64)), 88);
	assert_string_equal(text, b64);
	assert_int_equal(read_text(d->pk, text, sizeof(text)), 44);
	rd_pk_to_b64(kp.pk, b64);
	assert_string_equal(text, b64);
	assert_int_equal(stat(d->sk, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(d->pk, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	assert_int_equal(rd_key_load(d->dir, &kp2), RD_OK);
	assert_memory_equal(kp.pk, kp2.pk, RD_PK_LEN);
	assert_memory_equal(kp.sk, kp2.sk, RD_SK_LEN);
	/* the public file is optional; a trailing newline (hand edit) is fine */
	unlink(d->pk);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_OK);
	rd_pk_to_b64(kp.pk, b64);
	strcat(b64, "\n");
	write_file(d->pk, b64, 0644);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_OK);
	rd_keypair_wipe(&kp2);
	for (size_t i = 0; i < sizeof(kp2); i++)
		assert_int_equal(((uint8_t *)&kp2)[i], 0);
}

static void test_key_wrong_mode(void **state)
{
	struct kdir *d = *state;
	struct rd_keypair kp, kp2;
	static const mode_t bad[] = { 0640, 0604, 0644, 0660, 0606, 0620, 0602 };

	rd_key_generate(&kp, false);
	assert_int_equal(rd_key_save(d->dir, &kp), RD_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(d->sk, bad[i]), 0);
		assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_PERM);
	}
	assert_int_equal(chmod(d->sk, 0400), 0);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_OK);
	assert_int_equal(chmod(d->sk, 0600), 0);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_OK);
}

static void test_key_bad_content(void **state)
{
	struct kdir *d = *state;
	struct rd_keypair kp, kp2;
	char b64[200];
	uint8_t junk[64];

	rd_key_generate(&kp, false);
	/* 32 bytes (a public key where the secret belongs) */
	rd_pk_to_b64(kp.pk, b64);
	write_file(d->sk, b64, 0600);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_KEY);
	/* 65 bytes */
	memcpy(junk, kp.sk, 64);
	{
		uint8_t big[65] = { 0 };
		memcpy(big, kp.sk, 64);
		rd_b64_encode(big, 65, b64, sizeof(b64));
	}
	write_file(d->sk, b64, 0600);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_KEY);
	/* not base64 */
	write_file(d->sk, "this is not a key at all!", 0600);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_KEY);
	write_file(d->sk, "", 0600);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_KEY);
	/* 64 bytes whose second half is not the public key of the first */
	randombytes_buf(junk, sizeof(junk));
	rd_b64_encode(junk, 64, b64, sizeof(b64));
	write_file(d->sk, b64, 0600);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_KEY);
	/* a very long file */
	{
		char *big = malloc(100000);
		memset(big, 'A', 99999);
		big[99999] = '\0';
		write_file(d->sk, big, 0600);
		free(big);
	}
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_KEY);
	/* a good secret key with a trailing newline loads */
	rd_b64_encode(kp.sk, 64, b64, sizeof(b64));
	strcat(b64, "\n");
	write_file(d->sk, b64, 0600);
	unlink(d->pk);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_OK);
	assert_memory_equal(kp2.pk, kp.pk, RD_PK_LEN);
}

static void test_key_pub_mismatch(void **state)
{
	struct kdir *d = *state;
	struct rd_keypair kp, other, kp2;
	char b64[64];

	rd_key_generate(&kp, false);
	rd_key_generate(&other, false);
	assert_int_equal(rd_key_save(d->dir, &kp), RD_OK);
	rd_pk_to_b64(other.pk, b64);
	write_file(d->pk, b64, 0644);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_KEY);
	write_file(d->pk, "garbage", 0644);
	assert_int_equal(rd_key_load(d->dir, &kp2), RD_ERR_KEY);
}

static void test_key_load_or_create(void **state)
{
	struct kdir *d = *state;
	struct rd_keypair kp, kp2;
	bool created = false;
	char b64[64];

	assert_int_equal(rd_key_load_or_create(d->dir, &kp, true, &created), RD_OK);
	assert_true(created);
	rd_pk_to_b64(kp.pk, b64);
	assert_null(strchr(b64, '/'));
	assert_int_equal(rd_key_load_or_create(d->dir, &kp2, true, &created), RD_OK);
	assert_false(created);
	assert_memory_equal(kp.sk, kp2.sk, RD_SK_LEN);
	/* an existing but unusable key is an error, never silently replaced */
	assert_int_equal(chmod(d->sk, 0644), 0);
	assert_int_equal(rd_key_load_or_create(d->dir, &kp2, true, &created), RD_ERR_PERM);
	assert_false(created);
}

/* With no_slash no public key has a '/'; without it, some do (about half). */
static void test_key_no_slash(void **state)
{
	struct rd_keypair kp;
	char b64[64];
	int with_slash = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		assert_int_equal(rd_key_generate(&kp, true), RD_OK);
		rd_pk_to_b64(kp.pk, b64);
		assert_null(strchr(b64, '/'));
	}
	for (int i = 0; i < 100; i++) {
		rd_key_generate(&kp, false);
		rd_pk_to_b64(kp.pk, b64);
		with_slash += strchr(b64, '/') != NULL;
	}
	assert_true(with_slash > 0);
}

static void test_key_b64_forms(void **state)
{
	/* seed of 32 zero bytes: its Ed25519 public key is a well-known value */
	static const char *sk_b64 =
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA7aie8zrakLWKjqNAqbw1zZTIVdx3iQ6Y6wEihi1naKQ==";
	uint8_t want[32], pk[32];
	struct rd_keypair kp;
	char b64[64], fp[RD_FINGERPRINT_LEN];
	uint8_t seq[32];

	(void)state;
	unhex("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29", want);
	assert_int_equal(rd_key_from_b64_sk(sk_b64, &kp), RD_OK);
	assert_memory_equal(kp.pk, want, 32);
	rd_pk_to_b64(kp.pk, b64);
	assert_string_equal(b64, "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=");
	assert_int_equal(rd_pk_from_b64(b64, pk), RD_OK);
	assert_memory_equal(pk, want, 32);
	assert_int_equal(rd_pk_from_b64(sk_b64, pk), RD_ERR_KEY);
	assert_int_equal(rd_pk_from_b64("O2onvM62", pk), RD_ERR_KEY);
	assert_int_equal(rd_pk_from_b64("not base64", pk), RD_ERR_KEY);
	assert_int_equal(rd_key_from_b64_sk(b64, &kp), RD_ERR_KEY);
	assert_int_equal(rd_key_from_b64_sk("", &kp), RD_ERR_KEY);
	/* fingerprint of bytes 0..31, known answer from
	 * python3 -c 'import hashlib,base64; print(base64.b64encode(hashlib.sha256(bytes(range(32))).digest()))' */
	for (int i = 0; i < 32; i++)
		seq[i] = (uint8_t)i;
	rd_pk_fingerprint(seq, fp);
	assert_string_equal(fp, "SHA256:Yw3NKWbEM2aRElRIu7JbT/QSpJxzLbLIq8G4WBvXEN0");
}

/* ---- IdPk ---- */

static void test_idpk(void **state)
{
	struct rd_keypair server, other;
	uint8_t pk[32], got[32], *sm = NULL, expect[64];
	size_t smlen, elen;

	(void)state;
	rd_key_generate(&server, false);
	rd_key_generate(&other, false);
	randombytes_buf(pk, sizeof(pk));
	assert_int_equal(rd_idpk_sign("123456789", pk, 32, server.sk, &sm, &smlen), RD_OK);
	/* combined mode: 64-byte signature, then IdPk{id=1:"123456789", pk=2:<32 bytes>} */
	elen = unhex("0a09313233343536373839" "1220", expect);
	memcpy(expect + elen, pk, 32);
	elen += 32;
	assert_int_equal(smlen, 64 + elen);
	assert_memory_equal(sm + 64, expect, elen);
	{
		uint8_t m[128];
		unsigned long long mlen;
		assert_int_equal(crypto_sign_open(m, &mlen, sm, smlen, server.pk), 0);
		assert_int_equal(mlen, elen);
	}

	assert_int_equal(rd_idpk_verify(sm, smlen, server.pk, "123456789", got), RD_OK);
	assert_memory_equal(got, pk, 32);
	assert_int_equal(rd_idpk_verify(sm, smlen, server.pk, NULL, got), RD_OK);
	assert_int_equal(rd_idpk_verify(sm, smlen, server.pk, "123456780", got), RD_ERR_MISMATCH);
	assert_int_equal(rd_idpk_verify(sm, smlen, server.pk, "12345678", got), RD_ERR_MISMATCH);
	assert_int_equal(rd_idpk_verify(sm, smlen, other.pk, "123456789", got), RD_ERR_CRYPTO);
	assert_int_equal(rd_idpk_verify(sm, 63, server.pk, "123456789", got), RD_ERR_CRYPTO);
	assert_int_equal(rd_idpk_verify(sm, smlen - 1, server.pk, "123456789", got), RD_ERR_CRYPTO);
	assert_int_equal(rd_idpk_verify(NULL, 0, server.pk, "123456789", got), RD_ERR_CRYPTO);
	/* every single flipped bit is caught */
	for (size_t i = 0; i < smlen; i++) {
		for (int bit = 0; bit < 8; bit++) {
			sm[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(rd_idpk_verify(sm, smlen, server.pk, "123456789", got), RD_ERR_CRYPTO);
			sm[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(sm);

	/* a validly signed IdPk with a wrong pk length */
	assert_int_equal(rd_idpk_sign("123456789", pk, 31, server.sk, &sm, &smlen), RD_OK);
	assert_int_equal(rd_idpk_verify(sm, smlen, server.pk, "123456789", got), RD_ERR_PROTO);
	free(sm);
	/* a valid signature over something that is not an IdPk */
	{
		uint8_t junk[] = { 0xff, 0xff, 0xff }, sig[64 + 3];
		unsigned long long siglen;
		crypto_sign(sig, &siglen, junk, sizeof(junk), server.sk);
		assert_int_equal(rd_idpk_verify(sig, siglen, server.pk, "123456789", got), RD_ERR_PROTO);
	}
}

/* ---- session key exchange ---- */

static void test_session_key(void **state)
{
	static const uint8_t zero_nonce[24];
	struct rd_box_keypair agent, wrong;
	uint8_t ctl_pk[32], key[32], key2[32], sealed[48], k3[32];

	(void)state;
	rd_box_keypair_new(&agent);
	rd_box_keypair_new(&wrong);
	assert_int_equal(rd_session_key_seal(agent.pk, ctl_pk, key, sealed), RD_OK);
	assert_int_equal(rd_session_key_open(sealed, 48, ctl_pk, &agent, key2), RD_OK);
	assert_memory_equal(key, key2, 32);
	/* the wire form is crypto_box_easy with an all-zero nonce */
	assert_int_equal(crypto_box_open_easy(k3, sealed, 48, zero_nonce, ctl_pk, agent.sk), 0);
	assert_memory_equal(k3, key, 32);
	assert_int_equal(rd_session_key_open(sealed, 48, ctl_pk, &wrong, key2), RD_ERR_CRYPTO);
	assert_int_equal(rd_session_key_open(sealed, 47, ctl_pk, &agent, key2), RD_ERR_PROTO);
	assert_int_equal(rd_session_key_open(sealed, 0, ctl_pk, &agent, key2), RD_ERR_PROTO);
	sealed[20] ^= 1;
	assert_int_equal(rd_session_key_open(sealed, 48, ctl_pk, &agent, key2), RD_ERR_CRYPTO);
	/* two exchanges never give the same key */
	assert_int_equal(rd_session_key_seal(agent.pk, ctl_pk, key2, sealed), RD_OK);
	assert_memory_not_equal(key, key2, 32);
	/* an all-zero (degenerate) peer key is refused */
	{
		uint8_t zero_pk[32] = { 0 };
		assert_int_equal(rd_session_key_seal(zero_pk, ctl_pk, key2, sealed), RD_ERR_CRYPTO);
	}
	rd_box_keypair_wipe(&agent);
	for (size_t i = 0; i < sizeof(agent); i++)
		assert_int_equal(((uint8_t *)&agent)[i], 0);
}

/* ---- session stream ---- */

struct pair {
	struct rd_crypto_stream ctl, agent;
	struct rd_buf a, b;
};

static void pair_init(struct pair *p, enum rd_crypto_mode mode)
{
	uint8_t key[32];

	crypto_secretbox_keygen(key);
	rd_crypto_stream_init(&p->ctl, key, mode, true);
	rd_crypto_stream_init(&p->agent, key, mode, false);
	rd_buf_init(&p->a, 0);
	rd_buf_init(&p->b, 0);
	sodium_memzero(key, sizeof(key));
}

static void pair_free(struct pair *p)
{
	rd_crypto_stream_wipe(&p->ctl);
	rd_crypto_stream_wipe(&p->agent);
	rd_buf_free(&p->a);
	rd_buf_free(&p->b);
}

/* Seal msg with s into a fresh buffer b. */
static void seal(struct rd_crypto_stream *s, const char *msg, struct rd_buf *b)
{
	rd_buf_reset(b);
	assert_int_equal(rd_crypto_seal(s, (const uint8_t *)msg, strlen(msg), b), RD_OK);
	assert_int_equal(rd_buf_size(b), strlen(msg) + 16);
}

static void expect_open(struct rd_crypto_stream *s, const struct rd_buf *frame, const char *msg)
{
	struct rd_buf out;

	rd_buf_init(&out, 0);
	assert_int_equal(rd_crypto_open(s, rd_buf_ptr(frame), rd_buf_size(frame), &out), RD_OK);
	assert_int_equal(rd_buf_size(&out), strlen(msg));
	if (*msg)
		assert_memory_equal(rd_buf_ptr(&out), msg, strlen(msg));
	rd_buf_free(&out);
}

static void expect_reject(struct rd_crypto_stream *s, const uint8_t *p, size_t len)
{
	struct rd_buf out;
	uint64_t seq = s->rx_seq;

	rd_buf_init(&out, 0);
	assert_int_equal(rd_crypto_open(s, p, len, &out), RD_ERR_CRYPTO);
	assert_int_equal(rd_buf_size(&out), 0);
	assert_int_equal(s->rx_seq, seq);
	rd_buf_free(&out);
}

static void stream_roundtrip(enum rd_crypto_mode mode)
{
	struct pair p;
	char msg[64];

	pair_init(&p, mode);
	for (int i = 0; i < 20; i++) {
		snprintf(msg, sizeof(msg), "controller frame %d", i);
		seal(&p.ctl, msg, &p.a);
		expect_open(&p.agent, &p.a, msg);
		snprintf(msg, sizeof(msg), "agent frame %d", i);
		seal(&p.agent, msg, &p.b);
		expect_open(&p.ctl, &p.b, msg);
	}
	/* an empty message is still a sealed 16-byte frame */
	seal(&p.ctl, "", &p.a);
	expect_open(&p.agent, &p.a, "");
	assert_int_equal(p.ctl.tx_seq, 21);
	assert_int_equal(p.agent.rx_seq, 21);
	pair_free(&p);
}

static void test_stream_roundtrip_compat(void **state)
{
	(void)state;
	stream_roundtrip(RD_CRYPTO_COMPAT);
}

static void test_stream_roundtrip_kdf(void **state)
{
	(void)state;
	stream_roundtrip(RD_CRYPTO_KDF);
}

/* Compatible mode is exactly RustDesk's: one key, nonce = counter from 1, u64
 * little-endian, and both directions use the same nonces. */
static void test_stream_compat_wire(void **state)
{
	uint8_t key[32], nonce[24] = { 0 }, plain[64];
	struct rd_crypto_stream a, b;
	struct rd_buf fa, fb;

	(void)state;
	crypto_secretbox_keygen(key);
	rd_crypto_stream_init(&a, key, RD_CRYPTO_COMPAT, true);
	rd_crypto_stream_init(&b, key, RD_CRYPTO_COMPAT, false);
	assert_memory_equal(a.tx_key, key, 32);
	assert_memory_equal(a.rx_key, key, 32);
	assert_memory_equal(b.tx_key, key, 32);
	rd_buf_init(&fa, 0);
	rd_buf_init(&fb, 0);
	for (uint64_t i = 1; i <= 300; i++) {
		rd_buf_reset(&fa);
		rd_buf_reset(&fb);
		assert_int_equal(rd_crypto_seal(&a, (const uint8_t *)"hello", 5, &fa), RD_OK);
		assert_int_equal(rd_crypto_seal(&b, (const uint8_t *)"hello", 5, &fb), RD_OK);
		/* same key and nonce both ways: identical frames (RustDesk's weakness) */
		assert_memory_equal(rd_buf_ptr(&fa), rd_buf_ptr(&fb), 21);
		nonce[0] = (uint8_t)i;
		nonce[1] = (uint8_t)(i >> 8);
		assert_int_equal(crypto_secretbox_open_easy(plain, rd_buf_ptr(&fa), 21, nonce, key), 0);
		assert_memory_equal(plain, "hello", 5);
	}
	rd_buf_free(&fa);
	rd_buf_free(&fb);
}

/* rdesk mode: one derived key per direction, context "rdesk-ss", subkey 1 =
 * controller->agent, 2 = agent->controller. */
static void test_stream_kdf_keys(void **state)
{
	uint8_t key[32], k1[32], k2[32];
	struct rd_crypto_stream ctl, agent;
	struct rd_buf fa, fb;

	(void)state;
	crypto_secretbox_keygen(key);
	crypto_kdf_derive_from_key(k1, 32, 1, "rdesk-ss", key);
	crypto_kdf_derive_from_key(k2, 32, 2, "rdesk-ss", key);
	rd_crypto_stream_init(&ctl, key, RD_CRYPTO_KDF, true);
	rd_crypto_stream_init(&agent, key, RD_CRYPTO_KDF, false);
	assert_memory_equal(ctl.tx_key, k1, 32);
	assert_memory_equal(ctl.rx_key, k2, 32);
	assert_memory_equal(agent.tx_key, k2, 32);
	assert_memory_equal(agent.rx_key, k1, 32);
	assert_memory_not_equal(ctl.tx_key, ctl.rx_key, 32);
	assert_memory_not_equal(ctl.tx_key, key, 32);
	assert_memory_not_equal(ctl.rx_key, key, 32);
	/* the same plain text in both directions gives different frames */
	rd_buf_init(&fa, 0);
	rd_buf_init(&fb, 0);
	assert_int_equal(rd_crypto_seal(&ctl, (const uint8_t *)"hello", 5, &fa), RD_OK);
	assert_int_equal(rd_crypto_seal(&agent, (const uint8_t *)"hello", 5, &fb), RD_OK);
	assert_memory_not_equal(rd_buf_ptr(&fa), rd_buf_ptr(&fb), 21);
	/* a frame is not accepted back by its own sender's receive side */
	expect_reject(&ctl, rd_buf_ptr(&fa), rd_buf_size(&fa));
	/* a compat-mode receiver cannot read a KDF-mode sender */
	{
		struct rd_crypto_stream compat;
		rd_crypto_stream_init(&compat, key, RD_CRYPTO_COMPAT, false);
		expect_reject(&compat, rd_buf_ptr(&fa), rd_buf_size(&fa));
	}
	expect_open(&agent, &fa, "hello");
	expect_open(&ctl, &fb, "hello");
	rd_crypto_stream_wipe(&ctl);
	for (size_t i = 0; i < sizeof(ctl); i++)
		assert_int_equal(((uint8_t *)&ctl)[i], 0);
	rd_buf_free(&fa);
	rd_buf_free(&fb);
}

static void tamper(enum rd_crypto_mode mode)
{
	struct pair p;
	uint8_t f[64];
	size_t n;

	pair_init(&p, mode);
	seal(&p.ctl, "a message worth protecting", &p.a);
	n = rd_buf_size(&p.a);
	memcpy(f, rd_buf_ptr(&p.a), n);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			f[i] ^= (uint8_t)(1u << bit);
			expect_reject(&p.agent, f, n);
			f[i] ^= (uint8_t)(1u << bit);
		}
	}
	expect_reject(&p.agent, f, n - 1);  /* truncated */
	expect_reject(&p.agent, f, 2);      /* shorter than a MAC */
	expect_reject(&p.agent, f, 15);
	/* the counter did not move: the untouched frame still opens */
	expect_open(&p.agent, &p.a, "a message worth protecting");
	pair_free(&p);
}

static void test_stream_tamper(void **state)
{
	(void)state;
	tamper(RD_CRYPTO_COMPAT);
	tamper(RD_CRYPTO_KDF);
}

static void replay_reorder(enum rd_crypto_mode mode)
{
	struct pair p;
	struct rd_buf f1, f2, f3;

	pair_init(&p, mode);
	rd_buf_init(&f1, 0);
	rd_buf_init(&f2, 0);
	rd_buf_init(&f3, 0);
	seal(&p.ctl, "one", &f1);
	seal(&p.ctl, "two", &f2);
	seal(&p.ctl, "three", &f3);
	/* reordered: frame 2 before frame 1 */
	expect_reject(&p.agent, rd_buf_ptr(&f2), rd_buf_size(&f2));
	expect_reject(&p.agent, rd_buf_ptr(&f3), rd_buf_size(&f3));
	expect_open(&p.agent, &f1, "one");
	/* replayed */
	expect_reject(&p.agent, rd_buf_ptr(&f1), rd_buf_size(&f1));
	expect_open(&p.agent, &f2, "two");
	expect_reject(&p.agent, rd_buf_ptr(&f2), rd_buf_size(&f2));
	expect_reject(&p.agent, rd_buf_ptr(&f1), rd_buf_size(&f1));
	expect_open(&p.agent, &f3, "three");
	rd_buf_free(&f1);
	rd_buf_free(&f2);
	rd_buf_free(&f3);
	pair_free(&p);
}

static void test_stream_replay_reorder(void **state)
{
	(void)state;
	replay_reorder(RD_CRYPTO_COMPAT);
	replay_reorder(RD_CRYPTO_KDF);
}

/* Payloads of 0 or 1 bytes are heartbeats: passed through as they are,
 * without decryption and without moving the counter. */
static void test_stream_heartbeat(void **state)
{
	struct pair p;
	struct rd_buf out;

	(void)state;
	pair_init(&p, RD_CRYPTO_COMPAT);
	rd_buf_init(&out, 0);
	seal(&p.ctl, "after heartbeats", &p.a);
	assert_int_equal(rd_crypto_open(&p.agent, (const uint8_t *)"", 0, &out), RD_OK);
	assert_int_equal(rd_buf_size(&out), 0);
	assert_int_equal(rd_crypto_open(&p.agent, (const uint8_t *)"\x07", 1, &out), RD_OK);
	assert_int_equal(rd_buf_size(&out), 1);
	assert_int_equal(rd_buf_ptr(&out)[0], 7);
	assert_int_equal(p.agent.rx_seq, 0);
	expect_open(&p.agent, &p.a, "after heartbeats");
	assert_int_equal(p.agent.rx_seq, 1);
	rd_buf_free(&out);
	pair_free(&p);
}

/* A full capped output buffer is an error that leaves the counters alone. */
static void test_stream_buffer_full(void **state)
{
	struct pair p;
	struct rd_buf small;
	uint8_t data[100] = { 0 };

	(void)state;
	pair_init(&p, RD_CRYPTO_KDF);
	rd_buf_init(&small, 50);
	assert_int_equal(rd_crypto_seal(&p.ctl, data, 40, &small), RD_ERR_TOOBIG);
	assert_int_equal(p.ctl.tx_seq, 0);
	assert_int_equal(rd_crypto_seal(&p.ctl, data, 20, &p.a), RD_OK);
	assert_int_equal(rd_crypto_seal(&p.ctl, data, 40, &p.b), RD_OK);
	rd_buf_reset(&small);
	small.max = 10;
	assert_int_equal(rd_crypto_open(&p.agent, rd_buf_ptr(&p.a), rd_buf_size(&p.a), &small), RD_ERR_TOOBIG);
	assert_int_equal(p.agent.rx_seq, 0);
	small.max = 0;
	assert_int_equal(rd_crypto_open(&p.agent, rd_buf_ptr(&p.a), rd_buf_size(&p.a), &small), RD_OK);
	assert_int_equal(rd_crypto_open(&p.agent, rd_buf_ptr(&p.b), rd_buf_size(&p.b), &small), RD_OK);
	assert_int_equal(rd_buf_size(&small), 60);
	rd_buf_free(&small);
	pair_free(&p);
}

/* ---- password hashes ---- */

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* Known answers from coreutils:
 *   h1=$(printf '%s%s' "$pw" "$salt" | sha256sum | cut -d' ' -f1)
 *   (printf '%s' "$h1" | xxd -r -p; printf '%s' "$challenge") | sha256sum */
static void test_pw_hash(void **state)
{
	static const char *salt = "abcdefghijkmnpqrstuvwxyz23456789";
	uint8_t h1[32], r[32];
	char hex[65];

	(void)state;
	rd_pw_hash1("Passw0rd!", salt, h1);
	hex_of(h1, 32, hex);
	assert_string_equal(hex, "32312cd2a84a2ea2ee6e439fa1b2b21991fad68e6b7a058bcd5e14bbee3980dd");
	rd_pw_response(h1, "k7m2q9", r);
	hex_of(r, 32, hex);
	assert_string_equal(hex, "3c4a3be1cc28ca6be714aab35f4e8ce186a90a225bdd7b0d48c467a16dc4daa4");
	/* UTF-8 bytes as they are */
	rd_pw_hash1("p\xc3\xa4ssw\xc3\xb6rd", salt, h1);
	hex_of(h1, 32, hex);
	assert_string_equal(hex, "dd80612aca3008755ee48f7de9a45c3344ddfcab0acf8c5e85b47632f092dc07");
	rd_pw_response(h1, "k7m2q9", r);
	hex_of(r, 32, hex);
	assert_string_equal(hex, "692d746653eb08eca7ff9be4bce8470ea8baceb73ee70ec9a2f07dcce41bef22");
	/* empty strings: SHA256("") */
	rd_pw_hash1("", "", h1);
	hex_of(h1, 32, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_random_alnum(void **state)
{
	char a[33], b[33];

	(void)state;
	memset(a, 'X', sizeof(a));
	rd_random_alnum(a, 32);
	rd_random_alnum(b, 32);
	assert_int_equal(strlen(a), 32);
	assert_string_not_equal(a, b);
	for (int i = 0; i < 32; i++)
		assert_non_null(strchr("23456789abcdefghijkmnpqrstuvwxyz", a[i]));
	/* every character of the alphabet shows up, and only those */
	{
		char big[4001];
		int seen[256] = { 0 };
		rd_random_alnum(big, 4000);
		for (int i = 0; i < 4000; i++)
			seen[(unsigned char)big[i]]++;
		for (const char *c = "23456789abcdefghijkmnpqrstuvwxyz"; *c; c++)
			assert_true(seen[(unsigned char)*c] > 0);
		assert_int_equal(seen['l'] + seen['o'] + seen['0'] + seen['1'], 0);
	}
	rd_random_alnum(a, 0);
	assert_string_equal(a, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test_setup_teardown(test_key_save_load, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_key_wrong_mode, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_key_bad_content, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_key_pub_mismatch, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_key_load_or_create, kdir_setup, kdir_teardown),
		cmocka_unit_test(test_key_no_slash),
		cmocka_unit_test(test_key_b64_forms),
		cmocka_unit_test(test_idpk),
		cmocka_unit_test(test_session_key),
		cmocka_unit_test(test_stream_roundtrip_compat),
		cmocka_unit_test(test_stream_roundtrip_kdf),
		cmocka_unit_test(test_stream_compat_wire),
		cmocka_unit_test(test_stream_kdf_keys),
		cmocka_unit_test(test_stream_tamper),
		cmocka_unit_test(test_stream_replay_reorder),
		cmocka_unit_test(test_stream_heartbeat),
		cmocka_unit_test(test_stream_buffer_full),
		cmocka_unit_test(test_pw_hash),
		cmocka_unit_test(test_random_alnum),
	};

	if (rd_crypto_init() != RD_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

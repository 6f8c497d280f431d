/* crypto: base64, key files, IdPk signatures, password hashes and random
 * strings (the session key exchange and stream are in test_crypto_stream.c). */
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
#include "testutil.h"

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

/* ---- password hashes ---- */

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
		cmocka_unit_test(test_pw_hash),
		cmocka_unit_test(test_random_alnum),
	};

	if (rd_crypto_init() != RD_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

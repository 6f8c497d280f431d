/* regsig: the signed message of a RegisterPk, byte for byte (a fixed
 * vector), both signatures, and every field covered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "regsig.h"
#include "testutil.h"

/* id "123456789", uuid de ad be ef, pk of seed 01*32, old_pk of seed 02*32,
 * time 1700000000123 ms. */
static const char *own_msg_hex =
	"726465736b2f5265676973746572506b2f763100"          /* "rdesk/RegisterPk/v1" NUL */
	"09313233343536373839"                              /* len, id */
	"04deadbeef"                                        /* len, uuid */
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c" /* pk */
	"208139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394" /* len, old_pk */
	"0000018bcfe5687b";                                 /* time, big-endian */
static const char *own_sig_hex =
	"c61a0ad0712f3c03d35543b287e4dcc87b83d54083d912c1b978545ffc80df3e"
	"6ff6b02406fd1cc9cbe342eb8d1e51f883587314b953c3678a7e48295026b101";
static const char *rotate_label_hex = "726465736b2f5265676973746572506b2f726f746174652f763100";
static const char *rotate_sig_hex =
	"cc1efdb9fd13c66e7cb11a66ea3f5285e30efc0c65db98d3210375d72320855a"
	"ba6e9f7566b6503fd779c93fd39677065c5cb8476b4e8df9111133b67416800b";

struct vec {
	struct rd_keypair kp, old;
	uint8_t uuid[4];
	uint8_t sigs[2 * RD_SIGN_LEN];
	Hbb__RegisterPk rk;
};

static void vec_init(struct vec *v, bool rotate)
{
	uint8_t seed[32];
	memset(seed, 1, sizeof(seed));
	crypto_sign_seed_keypair(v->kp.pk, v->kp.sk, seed);
	memset(seed, 2, sizeof(seed));
	crypto_sign_seed_keypair(v->old.pk, v->old.sk, seed);
	memcpy(v->uuid, "\xde\xad\xbe\xef", 4);
	v->rk = (Hbb__RegisterPk)HBB__REGISTER_PK__INIT;
	v->rk.id = "123456789";
	v->rk.uuid = (ProtobufCBinaryData){ 4, v->uuid };
	v->rk.pk = (ProtobufCBinaryData){ 32, v->kp.pk };
	assert_int_equal(rd_regsig_sign(&v->rk, 1700000000123ULL, &v->kp, rotate ? &v->old : NULL, v->sigs), RD_OK);
}

static void test_vector(void **state)
{
	(void)state;
	struct vec v;
	vec_init(&v, true);
	uint8_t want[RD_REGSIG_MSG_MAX], got[RD_REGSIG_MSG_MAX], sig[64];
	size_t n = unhex(own_msg_hex, want);
	assert_int_equal(rd_regsig_message(&v.rk, RD_REGSIG_OWN, got), (int)n);
	assert_memory_equal(got, want, n);
	assert_int_equal(unhex(own_sig_hex, sig), 64);
	assert_memory_equal(v.rk.rdesk_sig.data, sig, 64);
	/* the rotation message: the same fields after its own label */
	size_t ln = unhex(rotate_label_hex, want);
	size_t own_label = strlen("rdesk/RegisterPk/v1") + 1;
	uint8_t rot[RD_REGSIG_MSG_MAX];
	int rn = rd_regsig_message(&v.rk, RD_REGSIG_ROTATE, rot);
	assert_int_equal(rn, (int)(n - own_label + ln));
	assert_memory_equal(rot, want, ln);
	assert_memory_equal(rot + ln, got + own_label, n - own_label);
	assert_int_equal(unhex(rotate_sig_hex, sig), 64);
	assert_memory_equal(v.rk.rdesk_old_sig.data, sig, 64);
	assert_memory_equal(v.rk.rdesk_old_pk.data, v.old.pk, 32);
	assert_int_equal(rd_regsig_verify(&v.rk), RD_OK);
}

static void test_every_field_covered(void **state)
{
	(void)state;
	for (int rotate = 0; rotate < 2; rotate++) {
		struct vec v;
		vec_init(&v, rotate);
		assert_true(rd_regsig_present(&v.rk));
		assert_int_equal(rd_regsig_verify(&v.rk), RD_OK);
		v.rk.id = "123456780";
		assert_int_equal(rd_regsig_verify(&v.rk), RD_ERR_CRYPTO);
		v.rk.id = "123456789";
		v.uuid[3] ^= 1;
		assert_int_equal(rd_regsig_verify(&v.rk), RD_ERR_CRYPTO);
		v.uuid[3] ^= 1;
		v.rk.rdesk_time++;
		assert_int_equal(rd_regsig_verify(&v.rk), RD_ERR_CRYPTO);
		v.rk.rdesk_time--;
		v.kp.pk[0] ^= 1;
		assert_int_equal(rd_regsig_verify(&v.rk), RD_ERR_CRYPTO);
		v.kp.pk[0] ^= 1;
		v.sigs[rotate ? 70 : 3] ^= 1;
		assert_int_equal(rd_regsig_verify(&v.rk), RD_ERR_CRYPTO);
		v.sigs[rotate ? 70 : 3] ^= 1;
		assert_int_equal(rd_regsig_verify(&v.rk), RD_OK);
		if (rotate) {
			v.old.pk[0] ^= 1; /* rdesk_old_pk points at it */
			assert_int_equal(rd_regsig_verify(&v.rk), RD_ERR_CRYPTO);
			v.old.pk[0] ^= 1;
			/* dropping the rotation fields breaks the own signature too */
			v.rk.rdesk_old_pk.len = 0;
			v.rk.rdesk_old_sig.len = 0;
			assert_int_equal(rd_regsig_verify(&v.rk), RD_ERR_CRYPTO);
		}
	}
}

static void test_malformed(void **state)
{
	(void)state;
	struct vec v;
	vec_init(&v, false);
	Hbb__RegisterPk rk = v.rk;
	rk.rdesk_time = 0;
	assert_int_equal(rd_regsig_verify(&rk), RD_ERR_PROTO);
	rk = v.rk;
	rk.rdesk_sig.len = 63;
	assert_int_equal(rd_regsig_verify(&rk), RD_ERR_PROTO);
	rk = v.rk;
	rk.rdesk_old_pk = (ProtobufCBinaryData){ 32, v.old.pk }; /* old key without its signature */
	assert_int_equal(rd_regsig_verify(&rk), RD_ERR_PROTO);
	rk = v.rk;
	rk.rdesk_old_sig = (ProtobufCBinaryData){ 64, v.sigs };  /* signature without the key */
	assert_int_equal(rd_regsig_verify(&rk), RD_ERR_PROTO);
	rk = v.rk;
	rk.pk.len = 31;
	assert_int_equal(rd_regsig_verify(&rk), RD_ERR_PROTO);
	char longid[300];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	rk = v.rk;
	rk.id = longid;
	uint8_t msg[RD_REGSIG_MSG_MAX];
	assert_int_equal(rd_regsig_message(&rk, RD_REGSIG_OWN, msg), RD_ERR_INVAL);
	assert_int_equal(rd_regsig_verify(&rk), RD_ERR_PROTO);
	Hbb__RegisterPk stock = HBB__REGISTER_PK__INIT;
	assert_false(rd_regsig_present(&stock));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_every_field_covered),
		cmocka_unit_test(test_malformed),
	};
	if (rd_crypto_init() != RD_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

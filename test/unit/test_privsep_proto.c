/* privsep_proto: the helper's request parser (each type, wrong sizes, wrong
 * descriptor counts, bad ranges, bad magic) and the client's reply check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "agent/helper/privsep_proto.h"
#include "agent/privsep.h"
#include "err.h"

static struct privsep_wire_req req(unsigned type, uint32_t arg)
{
	struct privsep_wire_req w;
	privsep_req_encode(&(struct privsep_req){ (enum privsep_type)type, arg }, &w);
	return w;
}

static int parse(const struct privsep_wire_req *w, int nfds, struct privsep_req *out,
	const char **why)
{
	return privsep_req_parse(w, sizeof(*w), nfds, out, why);
}

static void test_each_type(void **state)
{
	(void)state;
	static const struct { unsigned type; uint32_t arg; int nfds; } ok[] = {
		{ PRIVSEP_DRM_OPEN, 0, 0 }, { PRIVSEP_DRM_OPEN, 15, 0 },
		{ PRIVSEP_DRM_FB, 1, 1 }, { PRIVSEP_DRM_FB, 0xffffffffu, 1 },
		{ PRIVSEP_UINPUT, PRIVSEP_UINPUT_KEYBOARD, 0 }, { PRIVSEP_UINPUT, PRIVSEP_UINPUT_POINTER, 0 },
		{ PRIVSEP_X11_COOKIE, 0, 0 }, { PRIVSEP_X11_COOKIE, 9999, 0 },
		{ PRIVSEP_PIPEWIRE, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct privsep_wire_req w = req(ok[i].type, ok[i].arg);
		struct privsep_req r;
		const char *why = "unset";
		assert_int_equal(parse(&w, ok[i].nfds, &r, &why), RD_OK);
		assert_null(why);
		assert_int_equal(r.type, ok[i].type);
		assert_int_equal(r.arg, ok[i].arg);
		assert_int_equal(privsep_req_nfds(r.type), ok[i].nfds);
		assert_string_not_equal(privsep_type_name(r.type), "unknown");
	}
}

static void test_ranges(void **state)
{
	(void)state;
	static const struct { unsigned type; uint32_t arg; int nfds; } bad[] = {
		{ PRIVSEP_DRM_OPEN, 16, 0 }, { PRIVSEP_DRM_OPEN, 0xffffffffu, 0 },
		{ PRIVSEP_DRM_FB, 0, 1 },
		{ PRIVSEP_UINPUT, 0, 0 }, { PRIVSEP_UINPUT, 3, 0 }, { PRIVSEP_UINPUT, 0x80000001u, 0 },
		{ PRIVSEP_X11_COOKIE, 10000, 0 }, { PRIVSEP_X11_COOKIE, 0xffffffffu, 0 },
		{ PRIVSEP_PIPEWIRE, 1, 0 },
		{ 0, 0, 0 }, { 6, 0, 0 }, { 0xffff, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct privsep_wire_req w = req(bad[i].type, bad[i].arg);
		struct privsep_req r;
		const char *why = NULL;
		assert_int_equal(parse(&w, bad[i].nfds, &r, &why), RD_ERR_PROTO);
		assert_non_null(why);
	}
	assert_string_equal(privsep_type_name(0), "unknown");
	assert_string_equal(privsep_type_name(6), "unknown");
}

static void test_descriptor_counts(void **state)
{
	(void)state;
	struct privsep_req r;
	const char *why;
	for (unsigned t = PRIVSEP_DRM_OPEN; t <= PRIVSEP_PIPEWIRE; t++) {
		struct privsep_wire_req w = req(t, t == PRIVSEP_UINPUT || t == PRIVSEP_DRM_FB ? 1 : 0);
		int want = privsep_req_nfds((enum privsep_type)t);
		for (int n = -1; n <= 3; n++) {
			assert_int_equal(parse(&w, n, &r, &why), n == want ? RD_OK : RD_ERR_PROTO);
			if (n != want)
				assert_string_equal(why, "wrong number of descriptors");
		}
	}
}

static void test_framing(void **state)
{
	(void)state;
	struct privsep_req r;
	const char *why;
	uint8_t big[64] = { 0 };
	struct privsep_wire_req w = req(PRIVSEP_PIPEWIRE, 0);
	memcpy(big, &w, sizeof(w));
	for (size_t len = 0; len <= sizeof(big); len++)
		assert_int_equal(privsep_req_parse(big, len, 0, &r, &why),
			len == sizeof(w) ? RD_OK : RD_ERR_PROTO);
	struct privsep_wire_req m = w;
	m.magic ^= 1;
	assert_int_equal(parse(&m, 0, &r, &why), RD_ERR_PROTO);
	assert_string_equal(why, "bad magic");
	m = w;
	m.version = 2;
	assert_int_equal(parse(&m, 0, &r, &why), RD_ERR_PROTO);
	assert_string_equal(why, "unknown version");
	m = w;
	m.zero = 1;
	assert_int_equal(parse(&m, 0, &r, &why), RD_ERR_PROTO);
	assert_string_equal(why, "reserved field not 0");
}

static void test_replies(void **state)
{
	(void)state;
	struct privsep_wire_rep w, out;
	const char *why;
	privsep_rep_init(&w, PRIVSEP_DRM_OPEN);
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 1, PRIVSEP_DRM_OPEN, &out, &why), RD_OK);
	/* A success that should carry a descriptor carries exactly one. */
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 0, PRIVSEP_DRM_OPEN, &out, &why),
		RD_ERR_PROTO);
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 2, PRIVSEP_DRM_OPEN, &out, &why),
		RD_ERR_PROTO);
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), -1, PRIVSEP_DRM_OPEN, &out, &why),
		RD_ERR_PROTO);
	/* A refusal carries none. */
	w.status = ENOENT;
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 0, PRIVSEP_DRM_OPEN, &out, &why), RD_OK);
	assert_int_equal(out.status, ENOENT);
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 1, PRIVSEP_DRM_OPEN, &out, &why),
		RD_ERR_PROTO);
	/* The answer to another request, odd sizes, odd statuses. */
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 0, PRIVSEP_UINPUT, &out, &why),
		RD_ERR_PROTO);
	assert_string_equal(why, "answers another request");
	assert_int_equal(privsep_rep_parse(&w, sizeof(w) - 1, 0, PRIVSEP_DRM_OPEN, &out, &why),
		RD_ERR_PROTO);
	w.status = -1;
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 0, PRIVSEP_DRM_OPEN, &out, &why),
		RD_ERR_PROTO);
	privsep_rep_init(&w, PRIVSEP_X11_COOKIE);
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 0, PRIVSEP_X11_COOKIE, &out, &why), RD_OK);
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 1, PRIVSEP_X11_COOKIE, &out, &why),
		RD_ERR_PROTO);
	w.magic = 0;
	assert_int_equal(privsep_rep_parse(&w, sizeof(w), 0, PRIVSEP_X11_COOKIE, &out, &why),
		RD_ERR_PROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_type),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_descriptor_counts),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* pb: pack/append/unpack of both envelopes, wire bytes, malformed input, size
 * and allocation limits, and the union case names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"
#include "err.h"
#include "pb.h"
#include "testutil.h"

static void test_rendezvous_roundtrip(void **state)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT, *u;
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	uint8_t *out, want[16];
	size_t len, wn;

	(void)state;
	rp.id = "abc";
	rp.serial = 5;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	assert_int_equal(rd_pb_pack(&m.base, &out, &len), RD_OK);
	/* field 6 (register_peer), length 7: {1: "abc", 2: 5} */
	wn = unhex("32070a036162631005", want);
	assert_int_equal(len, wn);
	assert_memory_equal(out, want, wn);
	u = rd_pb_rendezvous_unpack(out, len);
	assert_non_null(u);
	assert_int_equal(u->union_case, HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER);
	assert_string_equal(u->register_peer->id, "abc");
	assert_int_equal(u->register_peer->serial, 5);
	assert_string_equal(rd_pb_rendezvous_name(u), "register_peer");
	hbb__rendezvous_message__free_unpacked(u, NULL);
	free(out);
}

static void test_message_roundtrip(void **state)
{
	Hbb__Message m = HBB__MESSAGE__INIT, *u;
	Hbb__Hash h = HBB__HASH__INIT;
	struct rd_buf b;

	(void)state;
	h.salt = "0123456789abcdef0123456789abcdef";
	h.challenge = "k7m2q9";
	m.union_case = HBB__MESSAGE__UNION_HASH;
	m.hash = &h;
	rd_buf_init(&b, 0);
	assert_int_equal(rd_buf_put(&b, "xy", 2), RD_OK);
	assert_int_equal(rd_pb_append(&b, &m.base), RD_OK);
	assert_int_equal(rd_buf_size(&b), 2 + hbb__message__get_packed_size(&m));
	assert_memory_equal(rd_buf_ptr(&b), "xy", 2);
	u = rd_pb_message_unpack(rd_buf_ptr(&b) + 2, rd_buf_size(&b) - 2);
	assert_non_null(u);
	assert_int_equal(u->union_case, HBB__MESSAGE__UNION_HASH);
	assert_string_equal(u->hash->salt, h.salt);
	assert_string_equal(u->hash->challenge, "k7m2q9");
	assert_string_equal(rd_pb_message_name(u), "hash");
	hbb__message__free_unpacked(u, NULL);
	rd_buf_free(&b);
}

/* An empty message packs to zero bytes (the heartbeat) and unpacks as empty. */
static void test_empty(void **state)
{
	Hbb__Message m = HBB__MESSAGE__INIT, *u;
	Hbb__RendezvousMessage *r;
	uint8_t *out;
	size_t len;
	struct rd_buf b;

	(void)state;
	assert_int_equal(rd_pb_pack(&m.base, &out, &len), RD_OK);
	assert_int_equal(len, 0);
	free(out);
	rd_buf_init(&b, 0);
	assert_int_equal(rd_pb_append(&b, &m.base), RD_OK);
	assert_int_equal(rd_buf_size(&b), 0);
	rd_buf_free(&b);
	u = rd_pb_message_unpack(NULL, 0);
	assert_non_null(u);
	assert_int_equal(u->union_case, HBB__MESSAGE__UNION__NOT_SET);
	assert_string_equal(rd_pb_message_name(u), "empty");
	hbb__message__free_unpacked(u, NULL);
	r = rd_pb_rendezvous_unpack((const uint8_t *)"", 0);
	assert_non_null(r);
	assert_string_equal(rd_pb_rendezvous_name(r), "empty");
	hbb__rendezvous_message__free_unpacked(r, NULL);
}

static void test_append_capped(void **state)
{
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__RegisterPeer rp = HBB__REGISTER_PEER__INIT;
	struct rd_buf b;

	(void)state;
	rp.id = "a-rather-long-identifier";
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REGISTER_PEER;
	m.register_peer = &rp;
	rd_buf_init(&b, 10);
	assert_int_equal(rd_pb_append(&b, &m.base), RD_ERR_TOOBIG);
	assert_int_equal(rd_buf_size(&b), 0);
	rd_buf_free(&b);
}

static void test_malformed(void **state)
{
	static const char *bad[] = {
		"32",                   /* tag, then nothing */
		"3207",                 /* length beyond the end */
		"32070a0361626310",     /* inner varint missing */
		"3205ffffffffff",       /* inner tag varint runs off */
		"ffffffffffffffffffff01", /* 10-byte varint tag */
		"33",                   /* start group (wire type 3) */
		"3302" "34",            /* group around a field */
		"0f",                   /* wire type 7 */
		"32020a",               /* sub-message truncated inside */
		"00",                   /* field number 0 */
		"820000",               /* field number 0 in a two-byte tag */
		"4a03820000",           /* Message.hash / RendezvousMessage.punch_hole {field 0} */
		"3203820000",           /* RendezvousMessage.register_peer / Message.video_frame {field 0} */
	};
	uint8_t in[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = unhex(bad[i], in);
		Hbb__RendezvousMessage *r = rd_pb_rendezvous_unpack(in, n);
		Hbb__Message *m = rd_pb_message_unpack(in, n);

		if (r)
			print_error("rendezvous case %zu (%s) was accepted\n", i, bad[i]);
		if (m)
			print_error("message case %zu (%s) was accepted\n", i, bad[i]);
		assert_null(r);
		assert_null(m);
	}
}

/* Input with one unknown length-delimited field (number 100) of total size n. */
static uint8_t *unknown_field_msg(size_t n)
{
	uint8_t *p = calloc(1, n);
	size_t body, hl;

	assert_non_null(p);
	/* tag 100/LEN = a2 06, then a varint length */
	hl = n - 2 < 128 + 1 ? 1 : n - 2 < 16384 + 2 ? 2 : n - 2 < 2097152 + 3 ? 3 : 4;
	body = n - 2 - hl;
	p[0] = 0xa2;
	p[1] = 0x06;
	for (size_t i = 0; i < hl; i++)
		p[2 + i] = (uint8_t)((body >> (7 * i)) & 0x7f) | (i + 1 < hl ? 0x80 : 0);
	return p;
}

static void test_size_limits(void **state)
{
	uint8_t *p;
	Hbb__RendezvousMessage *r;
	Hbb__Message *m;

	(void)state;
	p = unknown_field_msg(RD_FRAME_MAX_RENDEZVOUS);
	r = rd_pb_rendezvous_unpack(p, RD_FRAME_MAX_RENDEZVOUS);
	assert_non_null(r);
	hbb__rendezvous_message__free_unpacked(r, NULL);
	free(p);
	p = unknown_field_msg(RD_FRAME_MAX_RENDEZVOUS + 1);
	assert_null(rd_pb_rendezvous_unpack(p, RD_FRAME_MAX_RENDEZVOUS + 1));
	m = rd_pb_message_unpack(p, RD_FRAME_MAX_RENDEZVOUS + 1);
	assert_non_null(m);
	hbb__message__free_unpacked(m, NULL);
	free(p);
	p = unknown_field_msg(RD_FRAME_MAX_SESSION);
	m = rd_pb_message_unpack(p, RD_FRAME_MAX_SESSION);
	assert_non_null(m);
	hbb__message__free_unpacked(m, NULL);
	free(p);
	p = unknown_field_msg(RD_FRAME_MAX_SESSION + 1);
	assert_null(rd_pb_message_unpack(p, RD_FRAME_MAX_SESSION + 1));
	free(p);
}

/* Message{peer_info{displays: n x DisplayInfo}}, each display given by hex. */
static uint8_t *peer_info_msg(size_t n, const char *display_hex, size_t *len)
{
	uint8_t d[64];
	size_t dn = unhex(display_hex, d), inner = n * (2 + dn), total;
	uint8_t *p = malloc(inner + 16), *q = p;

	assert_non_null(p);
	*q++ = 0xca; /* field 25, LEN */
	*q++ = 0x01;
	for (size_t v = inner; ; v >>= 7) {
		*q++ = (uint8_t)(v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
		if (v < 0x80)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		*q++ = 0x22; /* field 4, LEN */
		*q++ = (uint8_t)dn;
		memcpy(q, d, dn);
		q += dn;
	}
	total = (size_t)(q - p);
	*len = total;
	return p;
}

/* Many empty repeated sub-messages would expand ~50x in memory: refused.
 * Real display lists, and big frames, go through. */
static void test_alloc_budget(void **state)
{
	uint8_t *p;
	size_t len;
	Hbb__Message *m;

	(void)state;
	p = peer_info_msg(200000, "", &len);
	assert_true(len < RD_FRAME_MAX_SESSION);
	assert_null(rd_pb_message_unpack(p, len));
	free(p);
	/* a realistic display: x, y, 1920x1080, name "HDMI-1", online */
	p = peer_info_msg(4, "0800100018800f20b8082a0648444d492d313001", &len);
	m = rd_pb_message_unpack(p, len);
	assert_non_null(m);
	assert_int_equal(m->union_case, HBB__MESSAGE__UNION_PEER_INFO);
	assert_int_equal(m->peer_info->n_displays, 4);
	assert_int_equal(m->peer_info->displays[3]->width, 1920);
	assert_string_equal(m->peer_info->displays[3]->name, "HDMI-1");
	hbb__message__free_unpacked(m, NULL);
	free(p);
	/* a few empty ones are fine too */
	p = peer_info_msg(16, "", &len);
	m = rd_pb_message_unpack(p, len);
	assert_non_null(m);
	hbb__message__free_unpacked(m, NULL);
	free(p);
	/* a 4 MiB video frame */
	{
		Hbb__Message vm = HBB__MESSAGE__INIT;
		Hbb__VideoFrame vf = HBB__VIDEO_FRAME__INIT;
		Hbb__EncodedVideoFrames evs = HBB__ENCODED_VIDEO_FRAMES__INIT;
		Hbb__EncodedVideoFrame ev = HBB__ENCODED_VIDEO_FRAME__INIT, *evp = &ev;
		uint8_t *out;

		ev.data.len = 4u << 20;
		ev.data.data = calloc(1, ev.data.len);
		ev.key = 1;
		evs.n_frames = 1;
		evs.frames = &evp;
		vf.union_case = HBB__VIDEO_FRAME__UNION_VP9S;
		vf.vp9s = &evs;
		vm.union_case = HBB__MESSAGE__UNION_VIDEO_FRAME;
		vm.video_frame = &vf;
		assert_int_equal(rd_pb_pack(&vm.base, &out, &len), RD_OK);
		m = rd_pb_message_unpack(out, len);
		assert_non_null(m);
		assert_string_equal(rd_pb_message_name(m), "video_frame");
		assert_int_equal(m->video_frame->vp9s->frames[0]->data.len, 4u << 20);
		hbb__message__free_unpacked(m, NULL);
		free(out);
		free(ev.data.data);
	}
}

static void test_names(void **state)
{
	/* every case of both oneofs, by field number (PROTOCOL.md §3 and §4) */
	static const char *rz[] = {
		[6] = "register_peer", "register_peer_response", "punch_hole_request", "punch_hole",
		"punch_hole_sent", "punch_hole_response", "fetch_local_addr", "local_addr",
		"configure_update", "register_pk", "register_pk_response", "software_update",
		"request_relay", "relay_response", "test_nat_request", "test_nat_response",
		"peer_discovery", "online_request", "online_response", "key_exchange", "hc",
		"http_proxy_request", "http_proxy_response",
	};
	static const char *msg[] = {
		[3] = "signed_id", "public_key", "test_delay", "video_frame", "login_request",
		"login_response", "hash", "mouse_event", "audio_frame", "cursor_data", "cursor_position",
		"cursor_id", "key_event", "clipboard", "file_action", "file_response", "misc", "cliprdr",
		"message_box", "switch_sides_response", "voice_call_request", "voice_call_response",
		"peer_info", "pointer_device_event", "auth_2fa", "multi_clipboards", "screenshot_request",
		"screenshot_response", "terminal_action", "terminal_response",
	};
	Hbb__RendezvousMessage r = HBB__RENDEZVOUS_MESSAGE__INIT;
	Hbb__Message m = HBB__MESSAGE__INIT;

	(void)state;
	assert_int_equal(sizeof(rz) / sizeof(rz[0]), 29);
	assert_int_equal(sizeof(msg) / sizeof(msg[0]), 33);
	for (int c = 6; c <= 28; c++) {
		r.union_case = (Hbb__RendezvousMessage__UnionCase)c;
		assert_string_equal(rd_pb_rendezvous_name(&r), rz[c]);
	}
	for (int c = 3; c <= 32; c++) {
		m.union_case = (Hbb__Message__UnionCase)c;
		assert_string_equal(rd_pb_message_name(&m), msg[c]);
	}
	r.union_case = 0;
	m.union_case = 0;
	assert_string_equal(rd_pb_rendezvous_name(&r), "empty");
	assert_string_equal(rd_pb_message_name(&m), "empty");
	r.union_case = (Hbb__RendezvousMessage__UnionCase)29;
	m.union_case = (Hbb__Message__UnionCase)4000; /* a field, but not of the oneof */
	assert_string_equal(rd_pb_rendezvous_name(&r), "unknown");
	assert_string_equal(rd_pb_message_name(&m), "unknown");
	assert_string_equal(rd_pb_rendezvous_name(NULL), "null");
	assert_string_equal(rd_pb_message_name(NULL), "null");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rendezvous_roundtrip),
		cmocka_unit_test(test_message_roundtrip),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_append_capped),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_alloc_budget),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

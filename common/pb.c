/* pb: protobuf-c helpers for the two envelopes.
 *
 * Decoding untrusted input with protobuf-c: the input size is capped (our
 * frame limits), our schema has no recursive message types (nesting depth is
 * bounded by the schema), protobuf-c rejects group wire types, and the memory
 * one unpack may allocate is capped relative to its input so that many tiny
 * repeated sub-messages cannot expand a frame into gigabytes. protobuf-c takes
 * field number 0 in a multi-byte tag as an unknown field; the wire format
 * forbids it, so such messages are refused too. */
#include "pb.h"

#include <stdbool.h>
#include <stdlib.h>

#include "codec.h"
#include "err.h"

/* Allocation budget of one unpack: PB_ALLOC_FACTOR bytes per input byte plus a
 * fixed allowance. Real messages need about 1-3x (bytes and strings are
 * copied once; small structs per field). */
#define PB_ALLOC_FACTOR 16u
#define PB_ALLOC_BASE (64u * 1024)

struct pb_budget {
	size_t left;
};

static void *budget_alloc(void *data, size_t size)
{
	struct pb_budget *b = data;

	if (size > b->left)
		return NULL;
	b->left -= size;
	return malloc(size ? size : 1);
}

/* Messages are later freed with the default allocator (free_unpacked(m, NULL)),
 * so this must stay plain free(). */
static void budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

/* No unknown field with the invalid number 0, at any depth. The schema has no
 * recursive types, so the recursion is bounded by it. */
static bool pb_valid(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const uint8_t *base = (const uint8_t *)m;

	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return false;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);

			for (size_t j = 0; j < n; j++)
				if (!pb_valid(v[j]))
					return false;
		} else {
			const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);

			if (sub && !pb_valid(sub))
				return false;
		}
	}
	return true;
}

static ProtobufCMessage *pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
	size_t limit)
{
	struct pb_budget budget;
	ProtobufCAllocator alloc = { budget_alloc, budget_free, &budget };
	ProtobufCMessage *m;

	if (len > limit || (!p && len))
		return NULL;
	budget.left = len * PB_ALLOC_FACTOR + PB_ALLOC_BASE;
	m = protobuf_c_message_unpack(d, &alloc, len, p);
	if (m && !pb_valid(m)) {
		protobuf_c_message_free_unpacked(m, NULL);
		m = NULL;
	}
	return m;
}

Hbb__RendezvousMessage *rd_pb_rendezvous_unpack(const uint8_t *p, size_t len)
{
	return (Hbb__RendezvousMessage *)pb_unpack(&hbb__rendezvous_message__descriptor, p, len,
		RD_FRAME_MAX_RENDEZVOUS);
}

Hbb__Message *rd_pb_message_unpack(const uint8_t *p, size_t len)
{
	return (Hbb__Message *)pb_unpack(&hbb__message__descriptor, p, len, RD_FRAME_MAX_SESSION);
}

int rd_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		return RD_ERR_NOMEM;
	*len = protobuf_c_message_pack(m, p);
	*out = p;
	return RD_OK;
}

int rd_pb_send(const ProtobufCMessage *m, rd_pb_send_fn send, void *ud)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = rd_pb_pack(m, &buf, &len);
	if (rc < 0)
		return rc;
	rc = send(ud, buf, len);
	free(buf);
	return rc;
}

int rd_pb_append(struct rd_buf *b, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *dst;

	if (n == 0)
		return RD_OK;
	dst = rd_buf_reserve(b, n);
	if (!dst)
		return b->max && rd_buf_size(b) + n > b->max ? RD_ERR_TOOBIG : RD_ERR_NOMEM;
	rd_buf_commit(b, protobuf_c_message_pack(m, dst));
	return RD_OK;
}

/* The oneof case value is the field number, so the descriptor names it. */
static const char *case_name(const ProtobufCMessageDescriptor *d, unsigned c)
{
	const ProtobufCFieldDescriptor *f;

	if (c == 0)
		return "empty";
	f = protobuf_c_message_descriptor_get_field(d, c);
	return f && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? f->name : "unknown";
}

const char *rd_pb_rendezvous_name(const Hbb__RendezvousMessage *m)
{
	return m ? case_name(&hbb__rendezvous_message__descriptor, (unsigned)m->union_case) : "null";
}

const char *rd_pb_message_name(const Hbb__Message *m)
{
	return m ? case_name(&hbb__message__descriptor, (unsigned)m->union_case) : "null";
}

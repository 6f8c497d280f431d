/* pb: protobuf-c helpers for the two envelopes. */
#ifndef RD_PB_H
#define RD_PB_H

#include <stddef.h>
#include <stdint.h>

#include "rendezvous.pb-c.h"
#include "message.pb-c.h"
#include "buf.h"

/* Pack any message into a malloc'd buffer. */
int rd_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len);
/* Pack m and hand the bytes to send (which copies what it keeps); send's
 * result, or RD_ERR_NOMEM. */
typedef int (*rd_pb_send_fn)(void *ud, const uint8_t *payload, size_t len);
int rd_pb_send(const ProtobufCMessage *m, rd_pb_send_fn send, void *ud);
/* Pack and append to b. */
int rd_pb_append(struct rd_buf *b, const ProtobufCMessage *m);

/* Unpack with a size limit; NULL on malformed input. Free with
 * hbb__rendezvous_message__free_unpacked / hbb__message__free_unpacked. */
Hbb__RendezvousMessage *rd_pb_rendezvous_unpack(const uint8_t *p, size_t len);
Hbb__Message *rd_pb_message_unpack(const uint8_t *p, size_t len);

/* Name of the union case, for logs ("register_peer", "punch_hole_request"...). */
const char *rd_pb_rendezvous_name(const Hbb__RendezvousMessage *m);
const char *rd_pb_message_name(const Hbb__Message *m);

#endif

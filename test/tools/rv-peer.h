/* rv-peer: the parts of the test peer its files share (rv-peer.c has the
 * commands, rv-peer-wire.c the sockets and messages, rv-peer-hostile.c the
 * clients that misbehave on purpose, rv-peer-ids.c signed registrations and
 * attacks on IDs). */
#ifndef RV_PEER_H
#define RV_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "net.h"
#include "pb.h"

extern struct rd_sockaddr peer_srv;          /* -s */
extern uint8_t peer_server_pk[RD_PK_LEN];    /* -k */
extern bool peer_have_server_pk;
extern struct rd_sockaddr peer_local_ip;     /* -l: source address of every socket */
extern bool peer_have_local_ip;

void peer_die(const char *what, const char *arg) __attribute__((noreturn));
/* Deterministic Ed25519 pair from a seed text. */
void peer_keys(const char *seed, uint8_t pk[32], uint8_t sk[64]);
struct rd_sockaddr peer_port_minus_one(void);

int peer_udp_socket(void);
void peer_udp_send(int fd, const Hbb__RendezvousMessage *m);
/* Next datagram within secs, unpacked; NULL on timeout. */
Hbb__RendezvousMessage *peer_udp_recv(int fd, double secs);
void peer_send_register_peer(int fd, const char *id);
void peer_send_register_pk(int fd, const char *id, const char *uuid, const char *seed);
/* The same, signed (rv-peer-ids.c). */
void peer_send_register_pk_signed(int fd, const char *id, const char *uuid, const char *seed);
const char *peer_pk_result_name(int r);

int peer_tcp_dial(const struct rd_sockaddr *a);
void peer_tcp_send(int fd, const Hbb__RendezvousMessage *m);
/* Next frame within secs; NULL on timeout or close (*closed set). */
Hbb__RendezvousMessage *peer_tcp_recv(int fd, double secs, bool *closed);

/* rv-peer-hostile.c: -1 when cmd is none of its commands. */
int peer_hostile_command(const char *cmd, int argc, char **argv);
/* rv-peer-ids.c: the same for the ID-ownership commands. */
int peer_ids_command(const char *cmd, int argc, char **argv);

#endif

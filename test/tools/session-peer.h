/* session-peer: the parts its files share (session-peer.c has the script
 * and the messages, session-peer-wire.c the socket, the frames and the
 * handshake). */
#ifndef SESSION_PEER_H
#define SESSION_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "net.h"
#include "pb.h"

struct sp {
	/* Where to, from where, as whom. */
	struct rd_sockaddr addr, local;
	bool have_local;
	bool small_rcvbuf; /* for a flood */
	const char *id, *my_id, *username;
	uint8_t pk[RD_PK_LEN];
	double timeout;
	bool quiet; /* spam: no rx, clip_text or eof lines */
	/* The connection. */
	int fd;
	struct rd_buf in;
	struct rd_crypto_stream cs;
	bool crypto;
	bool eof;
	bool write_failed; /* or shut: nothing more is written */
	char salt[64];
	char challenge[64];
	unsigned video_frames;
	/* The last login: answered (login_error NULL when it succeeded), or the
	 * agent sent Misc.close_reason instead. */
	bool answered;
	bool agent_closed;
	char *login_error;
};

void sp_die(const char *what, const char *detail) __attribute__((noreturn));
/* printf to stdout unless p->quiet. */
void sp_out(const struct sp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One frame (sealed once the handshake is done); nothing once a write failed. */
void sp_write(struct sp *p, const uint8_t *payload, size_t len);
void sp_send(struct sp *p, const Hbb__Message *m);
/* Next frame payload (decrypted) into out within secs: 1 got one, 0 timeout, -1 closed. */
int sp_read_frame(struct sp *p, double secs, struct rd_buf *out);
/* Close the connection (if any) and forget its state. */
void sp_disconnect(struct sp *p);
/* Connect (from p->local when set) and run the handshake up to the
 * encrypted stream; the caller reads the Hash. */
int sp_handshake(struct sp *p);

#endif

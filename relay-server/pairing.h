/* pairing: the relay's I/O-free core. Connections are fed their first bytes
 * and the time; the core parses the first frame (RequestRelay with a uuid and,
 * on a closed relay, a relay token for that uuid signed by the rendezvous
 * server, or the licence_key where that is allowed), keeps a bounded uuid
 * table where the first connection of a uuid waits and the second is paired
 * with it (a controller's token with an agent's), and
 * reports which connections passed a deadline. It never touches a socket:
 * the caller reads, writes and closes, and tells the core when a connection
 * is gone. */
#ifndef RELAY_PAIRING_H
#define RELAY_PAIRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_UUID_MAX 128          /* longer uuids are refused */
#define RELAY_FIRST_FRAME_MAX 4096  /* payload limit of the first frame */
#define RELAY_LEFTOVER_MAX 4096     /* bytes kept past the first frame before pairing */
#define RELAY_KEY_MAX 128           /* longest licence key accepted in the configuration */

enum relay_ev_type {
	RELAY_EV_MORE,   /* keep reading (or, once waiting, nothing to do) */
	RELAY_EV_WAIT,   /* first frame accepted; parked until a peer comes */
	RELAY_EV_PAIR,   /* paired with ev->peer */
	RELAY_EV_REFUSE, /* close it; ev->reason says why */
};

enum relay_reason {
	RELAY_R_NONE = 0,
	RELAY_R_GARBAGE,       /* not a frame, or too big, or not protobuf */
	RELAY_R_NOT_RELAY,     /* a RendezvousMessage other than RequestRelay */
	RELAY_R_NO_UUID,       /* empty or oversized uuid */
	RELAY_R_MISSING_KEY,   /* licence keys allowed, no token and no licence_key */
	RELAY_R_WRONG_KEY,     /* licence keys allowed, no token and licence_key differs */
	RELAY_R_NO_TOKEN,      /* closed relay and no relay token */
	RELAY_R_BAD_TOKEN,     /* a token that does not verify for this uuid */
	RELAY_R_EXPIRED_TOKEN, /* a valid token past its expiry */
	RELAY_R_SAME_ROLE,     /* the uuid's first connection holds a token of the same role */
	RELAY_R_UUID_BUSY,     /* a third connection on a paired uuid */
	RELAY_R_TABLE_FULL,    /* --max-pairs reached */
	RELAY_R_FIRST_TIMEOUT, /* no first frame in time */
	RELAY_R_PAIR_TIMEOUT,  /* no peer in time */
	RELAY_R_CONN_LIMIT,    /* too many connections still sending their first frame */
	RELAY_R_GONE,          /* closed by the client before pairing */
	RELAY_R_COUNT
};

struct relay_pairing;
struct relay_slot;

/* Access: server_pk set, a first frame needs a relay token for its uuid
 * (common/relaytoken.h), or, when key is set too, that licence_key instead
 * (stock RustDesk clients). key alone: the licence_key only. Neither: an open
 * relay. A token that is present must be valid whatever else is allowed. */
struct relay_pairing_opts {
	const uint8_t *server_pk; /* 32 bytes: the rendezvous server's key; NULL = no tokens */
	const char *key;        /* licence_key accepted without a token; NULL = none */
	size_t max_pairs;       /* uuid table entries (pending + active pairs) */
	size_t max_hello;       /* connections still sending their first frame */
	double first_timeout;   /* seconds for the first frame */
	double pair_timeout;    /* seconds an unpaired connection waits */
	const uint8_t *hash_key;/* 16 bytes for the table hash; NULL = random */
};

struct relay_event {
	enum relay_ev_type type;
	enum relay_reason reason;
	struct relay_slot *slot;
	struct relay_slot *peer; /* RELAY_EV_PAIR */
};

struct relay_pairing *relay_pairing_new(const struct relay_pairing_opts *o);
/* Every slot still known is freed too. */
void relay_pairing_free(struct relay_pairing *rp);

/* A new connection (first-frame deadline starts now). NULL when max_hello
 * connections are already waiting for their first frame. */
struct relay_slot *relay_pairing_add(struct relay_pairing *rp, void *user, double now);
/* Bytes read from the connection. At most relay_pairing_room() bytes are
 * taken. now is wall-clock seconds (ev_now): token expiries are compared
 * with it, and deadlines count from it. On RELAY_EV_REFUSE the slot is out
 * of the table and must be removed by the caller (relay_pairing_remove). */
void relay_pairing_input(struct relay_pairing *rp, struct relay_slot *s, const uint8_t *data,
	size_t len, double now, struct relay_event *ev);
/* Bytes the slot can still buffer (0: stop reading it). */
size_t relay_pairing_room(const struct relay_slot *s);
/* Bytes read past the first frame, to be forwarded first after pairing. */
void relay_pairing_leftover(const struct relay_slot *s, const uint8_t **p, size_t *len);

/* Slots whose deadline passed, up to max of them, as RELAY_EV_REFUSE events.
 * They leave the table; the caller closes and removes each. */
size_t relay_pairing_expire(struct relay_pairing *rp, double now, struct relay_event *evs, size_t max);
/* Earliest deadline, or a negative value when nothing waits. */
double relay_pairing_next_deadline(const struct relay_pairing *rp);

/* The connection is gone: frees the slot. For a paired slot the uuid stays
 * taken until both slots of the pair are removed. */
void relay_pairing_remove(struct relay_pairing *rp, struct relay_slot *s);

void *relay_slot_user(const struct relay_slot *s);
/* NUL-terminated uuid of a valid first frame (empty before one came, or when
 * it was refused before its uuid was read). Peer bytes: escape them. */
const char *relay_slot_uuid(const struct relay_slot *s);

/* Connections that sent their first frame and wait for a peer. */
size_t relay_pairing_waiting(const struct relay_pairing *rp);
/* Connections still sending their first frame. */
size_t relay_pairing_hello(const struct relay_pairing *rp);
/* uuid table entries in use (waiting + paired). */
size_t relay_pairing_entries(const struct relay_pairing *rp);

const char *relay_reason_name(enum relay_reason r);

#endif

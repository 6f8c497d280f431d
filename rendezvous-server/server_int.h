/* server_int: what server.c and server_tcp.c share; nobody else includes it. */
#ifndef RV_SERVER_INT_H
#define RV_SERVER_INT_H

#include "log.h"
#include "pb.h"
#include "relaytoken.h"
#include "server.h"

struct rd_ratelimit;
struct rd_metric;

enum rv_drop {
	RV_DROP_MALFORMED,     /* not a RendezvousMessage, bad field */
	RV_DROP_TOO_BIG,       /* over the 64 KiB message limit */
	RV_DROP_UNEXPECTED,    /* valid message, wrong place */
	RV_DROP_BAD_ID,        /* ID syntax */
	RV_DROP_RATE,          /* per-source rate limit */
	RV_DROP_ID_CAP,        /* too many IDs from one source */
	RV_DROP_PENDING_CAP,   /* too many pending requests */
	RV_DROP_DEADLINE,      /* TCP first-message or idle deadline */
	RV_DROP_NO_ROUTE,      /* reply for a request that is gone */
	RV_DROP_WRONG_SOURCE,  /* target reply from an address the target is not registered at */
	RV_DROP_ID_TOTAL,      /* the registry holds max_ids: no new ID */
	RV_DROP_COUNT
};

enum rv_outcome {
	RV_OUT_PUNCH,          /* PunchHole pushed to the target */
	RV_OUT_LOCAL,          /* FetchLocalAddr pushed (same public address) */
	RV_OUT_RELAY,          /* RequestRelay pushed */
	RV_OUT_ID_NOT_EXIST,
	RV_OUT_OFFLINE,
	RV_OUT_LICENSE_MISMATCH,
	RV_OUT_RATE,
	RV_OUT_BUSY,
	RV_OUT_ANSWERED,       /* the target answered and the requester got it */
	RV_OUT_TIMEOUT,        /* the target never answered */
	RV_OUT_COUNT
};

enum rv_tcp_state {
	RV_TCP_NEW,
	RV_TCP_WAITING,        /* a punch/relay request waits for the target */
	RV_TCP_ANSWERED,
	RV_TCP_DONE,           /* replied or refused; closing */
};

struct rv_tcp {
	void *conn;
	struct rd_sockaddr peer;
	enum rv_port port;
	enum rv_tcp_state state;
	bool relay;                   /* request was RequestRelay */
	double deadline;
	char target[80];
	char uuid[RD_RELAY_UUID_MAX + 1];  /* RequestRelay: the requester's uuid */
	char relay_server[256];       /* RequestRelay: the relay named to the target */
	struct rv_tcp *hnext;         /* pending hash chain */
	struct rv_tcp *prev, *next;   /* pending list, oldest first */
};

struct rv_srcids;

struct rv_server {
	struct rv_server_config cfg;
	const struct rv_server_ops *ops;
	void *ud;
	struct rv_registry *reg;
	struct rd_ratelimit *reg_rl, *punch_rl;
	struct rv_srcids *srcids;
	char **relays;
	bool *relay_up;
	size_t relay_next;
	struct rv_tcp **pend_hash;
	size_t pend_buckets;
	struct rv_tcp *pend_first, *pend_last;
	size_t npending;
	struct rd_log_ratelimit bad_log, limit_log;
	struct rd_log_ratelimit udp_log;  /* datagrams' own, so forged floods cannot hide TCP lines */
	bool in_udp;                  /* handling a datagram, whose source can be forged */
	double start;
	struct rd_metric *m_reg_peer, *m_reg_pk, *m_new_ids, *m_key_refused, *m_relay;
	struct rd_metric *m_drop[RV_DROP_COUNT];
	struct rd_metric *m_punch[RV_OUT_COUNT];
};

/* server.c */
/* One line per dropped message: "[udp ]KIND NAME src=IP port=N id="ID" WHAT".
 * KIND is limit, malformed or ignored; lines about a datagram start with
 * "udp": its source address can be forged, so no log filter may count them. */
void rv__drop(struct rv_server *s, enum rv_drop why, const struct rd_sockaddr *src,
	const char *id, const char *what);
void rv__src(const struct rd_sockaddr *a, char ip[RD_ADDRSTRLEN], unsigned *port);
const char *rv__next_relay(struct rv_server *s);
void rv__outcome(struct rv_server *s, enum rv_outcome o);
/* A relay token for uuid and role into out (expiry RD_RELAY_TOKEN_TTL from
 * now); false when the server has no signing key or the uuid is unusable. */
bool rv__relay_token(struct rv_server *s, const char *uuid, enum rd_relay_role role,
	uint8_t out[RD_RELAY_TOKEN_LEN]);
/* Signed IdPk of a known ID (malloc'd) or NULL. */
uint8_t *rv__signed_idpk(struct rv_server *s, const char *id, size_t *len);
void rv__send_udp(struct rv_server *s, const struct rd_sockaddr *to, const Hbb__RendezvousMessage *m);

/* srcids.c: new IDs per source and day. take counts one more for src and
 * says false when it already bound cap in its current day, a fixed window
 * from its first new ID (refusals do not push the end). */
struct rv_srcids *rv_srcids_new(size_t slots);
void rv_srcids_free(struct rv_srcids *t);
bool rv_srcids_take(struct rv_srcids *t, const struct rd_sockaddr *src, double now, long cap);

/* server_tcp.c */
void rv__tcp_init(struct rv_server *s);
void rv__tcp_fini(struct rv_server *s);

#endif

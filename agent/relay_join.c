/* relay_join: resolve, connect, RequestRelay, session. */
#define RD_LOG_SUBSYS "reach"
#include "relay_join.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"
#include "err.h"
#include "log.h"
#include "pb.h"
#include "relaytoken.h"
#include "resolve.h"
#include "util.h"

#define RELAY_JOIN_PORT 21117
#define RELAY_JOIN_NAME_MAX 256

struct join_req {
	struct relay_join *j;
	struct join_req *prev, *next;
	struct rd_resolve *q;
	char relay[RELAY_JOIN_NAME_MAX];
	char uuid[RD_RELAY_UUID_MAX + 1];
	uint8_t token[RD_RELAY_TOKEN_LEN];
	size_t token_len;
	struct rd_sockaddr controller;
};

struct relay_join {
	struct ev_loop *loop;
	const char *server_key;
	relay_join_session_fn session;
	void *ud;
	struct rd_resolver *res;   /* made on the first name */
	struct join_req *reqs;     /* waiting for their name */
};

struct relay_join *relay_join_new(struct ev_loop *loop, const char *server_key,
	relay_join_session_fn session, void *ud)
{
	struct relay_join *j = xcalloc(1, sizeof(*j));
	j->loop = loop;
	j->server_key = server_key;
	j->session = session;
	j->ud = ud;
	return j;
}

static void join__unlink(struct relay_join *j, struct join_req *rq)
{
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		j->reqs = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
}

void relay_join_free(struct relay_join *j)
{
	if (!j)
		return;
	while (j->reqs) {
		struct join_req *rq = j->reqs;
		join__unlink(j, rq);
		rd_resolve_cancel(j->res, rq->q);
		free(rq);
	}
	rd_resolver_free(j->res);
	free(j);
}

/* Connect to ra, queue RequestRelay{licence_key, uuid, token} and run the
 * session on that connection. */
static void join__connect(struct relay_join *j, const char *relay, const char *uuid,
	const uint8_t *token, size_t token_len, const struct rd_sockaddr *controller,
	const struct rd_sockaddr *ra)
{
	int fd = rd_net_tcp_connect(ra, NULL);
	if (fd < 0) {
		log_warn("cannot connect to relay %s: %s", rd_esc(relay), strerror(errno));
		return;
	}
	struct rd_conn_limits lim = { .max_frame = RD_FRAME_MAX_SESSION };
	struct rd_conn *c = rd_conn_new(j->loop, fd, true, &lim, NULL, NULL);
	if (!c) {
		close(fd);
		return;
	}
	Hbb__RequestRelay rq = HBB__REQUEST_RELAY__INIT;
	rq.uuid = (char *)uuid;
	rq.licence_key = (char *)j->server_key;
	rq.rdesk_relay_token = (ProtobufCBinaryData){ token_len, (uint8_t *)token };
	Hbb__RendezvousMessage m = HBB__RENDEZVOUS_MESSAGE__INIT;
	m.union_case = HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY;
	m.request_relay = &rq;
	rd_conn_send_pb(c, &m.base);
	char u8[9];
	rd_strlcpy(u8, uuid, sizeof(u8)); /* the server's words: escaped, and its head only */
	log_info("joining relay %s for uuid %s...%s", rd_esc(relay), rd_esc(u8),
		token_len ? "" : " (no relay token from the server: licence key only)");
	j->session(j->ud, c, SESSION_PATH_RELAY, controller);
}

static void join__resolved(int err, const struct rd_sockaddr *addr, void *ud)
{
	struct join_req *rq = ud;
	struct relay_join *j = rq->j;
	join__unlink(j, rq);
	if (err != RD_OK)
		log_warn("cannot resolve relay %s: %s", rd_esc(rq->relay), rd_strerror(err));
	else
		join__connect(j, rq->relay, rq->uuid, rq->token, rq->token_len, &rq->controller, addr);
	free(rq);
}

void relay_join_start(struct relay_join *j, const char *relay, const char *uuid,
	const uint8_t *token, size_t token_len, const struct rd_sockaddr *controller)
{
	struct rd_sockaddr ra;
	if (token_len > RD_RELAY_TOKEN_LEN)
		token_len = 0;
	if (rd_net_addr_parse_numeric(relay, RELAY_JOIN_PORT, &ra) == RD_OK) {
		join__connect(j, relay, uuid, token, token_len, controller, &ra);
		return;
	}
	if (strlen(relay) >= RELAY_JOIN_NAME_MAX || strlen(uuid) > RD_RELAY_UUID_MAX) {
		log_warn("relay name or uuid too long; relay request dropped");
		return;
	}
	if (!j->res)
		j->res = rd_resolver_new(j->loop, NULL);
	struct join_req *rq = xcalloc(1, sizeof(*rq));
	rq->j = j;
	rd_strlcpy(rq->relay, relay, sizeof(rq->relay));
	rd_strlcpy(rq->uuid, uuid, sizeof(rq->uuid));
	if (token_len)
		memcpy(rq->token, token, token_len);
	rq->token_len = token_len;
	rq->controller = *controller;
	rq->q = rd_resolve_start(j->res, relay, RELAY_JOIN_PORT, join__resolved, rq);
	if (!rq->q) {
		log_warn("cannot look relay %s up now (too many lookups in flight)", rd_esc(relay));
		free(rq);
		return;
	}
	rq->next = j->reqs;
	if (j->reqs)
		j->reqs->prev = rq;
	j->reqs = rq;
	log_info("looking up relay %s", rd_esc(relay));
}

/* pairing: first frame, uuid table and deadlines, without I/O. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec.h"
#include "err.h"
#include "pb.h"
#include "relaytoken.h"
#include "util.h"

#include "pairing.h"

enum slot_state {
	SLOT_HELLO,   /* first frame not complete yet */
	SLOT_WAITING, /* parked under its uuid */
	SLOT_PAIRED,
	SLOT_OUT,     /* refused or expired: only remove() is left */
};

struct relay_entry {
	struct relay_entry *next;     /* hash chain */
	uint64_t hash;
	struct relay_slot *slot[2];   /* [0] came first */
	unsigned nslots;              /* slots still attached */
	unsigned role;                /* the first slot's token role, 0 without a token */
	bool paired;
	char uuid[RELAY_UUID_MAX + 1];
};

struct relay_slot {
	void *user;
	enum slot_state state;
	double deadline;
	struct relay_slot *prev, *next; /* hello or waiting list, oldest first */
	struct relay_entry *entry;
	uint8_t *buf;                 /* first frame and leftover */
	size_t len;                   /* bytes in buf */
	size_t cap;                   /* allocated, grows up to SLOT_BUF_MAX */
	size_t frame_len;             /* bytes of the first frame (header + payload) */
	char uuid[RELAY_UUID_MAX + 1];/* from the first frame, for logs */
};

struct slot_list {
	struct relay_slot *head, *tail;
	size_t n;
};

struct relay_pairing {
	char *key;
	size_t key_len;
	bool has_pk;
	uint8_t server_pk[RD_PK_LEN];
	size_t max_pairs;
	size_t max_hello;
	double first_timeout;
	double pair_timeout;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct relay_entry **buckets;
	size_t nbuckets;              /* power of two */
	size_t nentries;
	struct slot_list hello;       /* deadlines in insertion order */
	struct slot_list waiting;
};

_Static_assert(RELAY_UUID_MAX == RD_RELAY_UUID_MAX, "a token covers every uuid the relay takes");

#define SLOT_BUF_MAX (RD_FRAME_HDR_MAX + RELAY_FIRST_FRAME_MAX + RELAY_LEFTOVER_MAX)

static const char *const reason_names[RELAY_R_COUNT] = {
	[RELAY_R_NONE] = "none",
	[RELAY_R_GARBAGE] = "garbage",
	[RELAY_R_NOT_RELAY] = "not_request_relay",
	[RELAY_R_NO_UUID] = "bad_uuid",
	[RELAY_R_MISSING_KEY] = "missing_key",
	[RELAY_R_WRONG_KEY] = "wrong_key",
	[RELAY_R_NO_TOKEN] = "no_token",
	[RELAY_R_BAD_TOKEN] = "bad_token",
	[RELAY_R_EXPIRED_TOKEN] = "expired_token",
	[RELAY_R_SAME_ROLE] = "same_role",
	[RELAY_R_UUID_BUSY] = "uuid_busy",
	[RELAY_R_TABLE_FULL] = "table_full",
	[RELAY_R_FIRST_TIMEOUT] = "first_frame_timeout",
	[RELAY_R_PAIR_TIMEOUT] = "pair_timeout",
	[RELAY_R_CONN_LIMIT] = "conn_limit",
	[RELAY_R_GONE] = "gone",
};

const char *relay_reason_name(enum relay_reason r)
{
	if ((unsigned)r >= RELAY_R_COUNT)
		return "unknown";
	return reason_names[r];
}

static void list_push(struct slot_list *l, struct relay_slot *s)
{
	s->next = NULL;
	s->prev = l->tail;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
	l->n++;
}

static void list_del(struct slot_list *l, struct relay_slot *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = NULL;
	l->n--;
}

struct relay_pairing *relay_pairing_new(const struct relay_pairing_opts *o)
{
	struct relay_pairing *rp = xcalloc(1, sizeof(*rp));
	if (o->key) {
		rp->key = xstrdup(o->key);
		rp->key_len = strlen(o->key);
	}
	if (o->server_pk) {
		memcpy(rp->server_pk, o->server_pk, RD_PK_LEN);
		rp->has_pk = true;
	}
	rp->max_pairs = o->max_pairs ? o->max_pairs : 1;
	rp->max_hello = o->max_hello ? o->max_hello : 1;
	rp->first_timeout = o->first_timeout;
	rp->pair_timeout = o->pair_timeout;
	if (o->hash_key)
		memcpy(rp->hash_key, o->hash_key, sizeof(rp->hash_key));
	else
		randombytes_buf(rp->hash_key, sizeof(rp->hash_key));
	rp->nbuckets = 16;
	while (rp->nbuckets < rp->max_pairs && rp->nbuckets < ((size_t)1 << 24))
		rp->nbuckets <<= 1;
	rp->buckets = xcalloc(rp->nbuckets, sizeof(*rp->buckets));
	return rp;
}

static void slot_free(struct relay_slot *s)
{
	free(s->buf);
	free(s);
}

void relay_pairing_free(struct relay_pairing *rp)
{
	if (!rp)
		return;
	while (rp->hello.head)
		relay_pairing_remove(rp, rp->hello.head);
	while (rp->waiting.head)
		relay_pairing_remove(rp, rp->waiting.head);
	for (size_t i = 0; i < rp->nbuckets; i++) {
		struct relay_entry *e = rp->buckets[i];
		while (e) {
			struct relay_entry *next = e->next;
			for (unsigned k = 0; k < 2; k++)
				if (e->slot[k])
					slot_free(e->slot[k]);
			free(e);
			e = next;
		}
	}
	free(rp->buckets);
	if (rp->key)
		sodium_memzero(rp->key, rp->key_len);
	free(rp->key);
	free(rp);
}

struct relay_slot *relay_pairing_add(struct relay_pairing *rp, void *user, double now)
{
	if (rp->hello.n >= rp->max_hello)
		return NULL;
	struct relay_slot *s = xcalloc(1, sizeof(*s));
	s->user = user;
	s->state = SLOT_HELLO;
	s->deadline = now + rp->first_timeout;
	list_push(&rp->hello, s);
	return s;
}

size_t relay_pairing_room(const struct relay_slot *s)
{
	if (s->state != SLOT_HELLO && s->state != SLOT_WAITING)
		return 0;
	return SLOT_BUF_MAX - s->len;
}

void relay_pairing_leftover(const struct relay_slot *s, const uint8_t **p, size_t *len)
{
	if (s->len > s->frame_len && s->buf) {
		*p = s->buf + s->frame_len;
		*len = s->len - s->frame_len;
	} else {
		*p = NULL;
		*len = 0;
	}
}

void *relay_slot_user(const struct relay_slot *s)
{
	return s->user;
}

const char *relay_slot_uuid(const struct relay_slot *s)
{
	return s->uuid;
}

size_t relay_pairing_waiting(const struct relay_pairing *rp)
{
	return rp->waiting.n;
}

size_t relay_pairing_hello(const struct relay_pairing *rp)
{
	return rp->hello.n;
}

size_t relay_pairing_entries(const struct relay_pairing *rp)
{
	return rp->nentries;
}

static uint64_t uuid_hash(const struct relay_pairing *rp, const char *uuid, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(out, (const unsigned char *)uuid, len, rp->hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static struct relay_entry *entry_find(struct relay_pairing *rp, const char *uuid, uint64_t h)
{
	for (struct relay_entry *e = rp->buckets[h & (rp->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && strcmp(e->uuid, uuid) == 0)
			return e;
	return NULL;
}

static void entry_unlink(struct relay_pairing *rp, struct relay_entry *e)
{
	struct relay_entry **pp = &rp->buckets[e->hash & (rp->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	rp->nentries--;
	free(e);
}

/* Detach s from its entry; the entry goes when no slot is left. */
static void slot_detach(struct relay_pairing *rp, struct relay_slot *s)
{
	struct relay_entry *e = s->entry;
	if (!e)
		return;
	for (unsigned k = 0; k < 2; k++)
		if (e->slot[k] == s)
			e->slot[k] = NULL;
	s->entry = NULL;
	if (--e->nslots == 0)
		entry_unlink(rp, e);
}

static void refuse(struct relay_slot *s, enum relay_reason why, struct relay_event *ev)
{
	ev->type = RELAY_EV_REFUSE;
	ev->reason = why;
	ev->slot = s;
	ev->peer = NULL;
}

static enum relay_reason check_key(const struct relay_pairing *rp, const char *given)
{
	size_t n = given ? strlen(given) : 0;
	if (n == 0)
		return RELAY_R_MISSING_KEY;
	if (n != rp->key_len || sodium_memcmp(given, rp->key, n) != 0)
		return RELAY_R_WRONG_KEY;
	return RELAY_R_NONE;
}

/* May this request pair? *role gets its token's role (0 without one). */
static enum relay_reason check_access(const struct relay_pairing *rp, const Hbb__RequestRelay *rr,
	double now, unsigned *role)
{
	*role = 0;
	if (rp->has_pk && rr->rdesk_relay_token.len) {
		enum rd_relay_role r;
		int rc = rd_relay_token_verify(rr->rdesk_relay_token.data, rr->rdesk_relay_token.len,
			rr->uuid, rp->server_pk, (int64_t)now, &r);
		if (rc == RD_ERR_TIMEOUT)
			return RELAY_R_EXPIRED_TOKEN;
		if (rc != RD_OK)
			return RELAY_R_BAD_TOKEN;
		*role = (unsigned)r;
		return RELAY_R_NONE;
	}
	if (rp->key)
		return check_key(rp, rr->licence_key);
	return rp->has_pk ? RELAY_R_NO_TOKEN : RELAY_R_NONE;
}

/* Parse the first frame's payload; on success copy the uuid to out. */
static enum relay_reason parse_request(const struct relay_pairing *rp, const uint8_t *payload,
	size_t len, double now, char out[RELAY_UUID_MAX + 1], unsigned *role)
{
	Hbb__RendezvousMessage *m = rd_pb_rendezvous_unpack(payload, len);
	enum relay_reason why = RELAY_R_NONE;
	if (!m)
		return RELAY_R_GARBAGE;
	if (m->union_case != HBB__RENDEZVOUS_MESSAGE__UNION_REQUEST_RELAY || !m->request_relay) {
		why = RELAY_R_NOT_RELAY;
		goto out;
	}
	const Hbb__RequestRelay *rr = m->request_relay;
	size_t ulen = rr->uuid ? strlen(rr->uuid) : 0;
	if (ulen == 0 || ulen > RELAY_UUID_MAX) {
		why = RELAY_R_NO_UUID;
		goto out;
	}
	why = check_access(rp, rr, now, role);
	if (why == RELAY_R_NONE)
		memcpy(out, rr->uuid, ulen + 1);
out:
	hbb__rendezvous_message__free_unpacked(m, NULL);
	return why;
}

/* The first frame is complete and valid: find or make the uuid's entry. */
static void offer(struct relay_pairing *rp, struct relay_slot *s, const char *uuid, unsigned role,
	double now, struct relay_event *ev)
{
	size_t ulen = strlen(uuid);
	uint64_t h = uuid_hash(rp, uuid, ulen);
	struct relay_entry *e = entry_find(rp, uuid, h);

	list_del(&rp->hello, s);
	if (e && (e->paired || e->nslots != 1 || !e->slot[0])) {
		s->state = SLOT_OUT;
		refuse(s, RELAY_R_UUID_BUSY, ev);
		return;
	}
	if (e && role && e->role == role) {
		/* Two tokens of one side: a pair is a controller and an agent. */
		s->state = SLOT_OUT;
		refuse(s, RELAY_R_SAME_ROLE, ev);
		return;
	}
	if (e) {
		struct relay_slot *first = e->slot[0];
		list_del(&rp->waiting, first);
		first->state = SLOT_PAIRED;
		s->state = SLOT_PAIRED;
		e->slot[1] = s;
		e->nslots = 2;
		e->paired = true;
		s->entry = e;
		ev->type = RELAY_EV_PAIR;
		ev->reason = RELAY_R_NONE;
		ev->slot = s;
		ev->peer = first;
		return;
	}
	if (rp->nentries >= rp->max_pairs) {
		s->state = SLOT_OUT;
		refuse(s, RELAY_R_TABLE_FULL, ev);
		return;
	}
	e = xcalloc(1, sizeof(*e));
	memcpy(e->uuid, uuid, ulen + 1);
	e->hash = h;
	e->slot[0] = s;
	e->nslots = 1;
	e->role = role;
	size_t b = h & (rp->nbuckets - 1);
	e->next = rp->buckets[b];
	rp->buckets[b] = e;
	rp->nentries++;
	s->entry = e;
	s->state = SLOT_WAITING;
	s->deadline = now + rp->pair_timeout;
	list_push(&rp->waiting, s);
	ev->type = RELAY_EV_WAIT;
	ev->reason = RELAY_R_NONE;
	ev->slot = s;
	ev->peer = NULL;
}

void relay_pairing_input(struct relay_pairing *rp, struct relay_slot *s, const uint8_t *data,
	size_t len, double now, struct relay_event *ev)
{
	ev->type = RELAY_EV_MORE;
	ev->reason = RELAY_R_NONE;
	ev->slot = s;
	ev->peer = NULL;
	if (s->state != SLOT_HELLO && s->state != SLOT_WAITING)
		return;
	size_t room = SLOT_BUF_MAX - s->len;
	if (len > room)
		len = room;
	if (len) {
		if (s->len + len > s->cap) {
			size_t cap = s->cap ? s->cap : 256;
			while (cap < s->len + len)
				cap *= 2;
			s->cap = cap < SLOT_BUF_MAX ? cap : SLOT_BUF_MAX;
			s->buf = xrealloc(s->buf, s->cap);
		}
		memcpy(s->buf + s->len, data, len);
		s->len += len;
	}
	if (s->state != SLOT_HELLO)
		return;

	const uint8_t *payload;
	size_t plen, used;
	int r = rd_frame_next(s->buf, s->len, RELAY_FIRST_FRAME_MAX, &payload, &plen, &used);
	if (r == RD_ERR_TRUNCATED)
		return;
	if (r != RD_OK) {
		list_del(&rp->hello, s);
		s->state = SLOT_OUT;
		refuse(s, RELAY_R_GARBAGE, ev);
		return;
	}
	char uuid[RELAY_UUID_MAX + 1];
	unsigned role;
	enum relay_reason why = parse_request(rp, payload, plen, now, uuid, &role);
	if (why != RELAY_R_NONE) {
		list_del(&rp->hello, s);
		s->state = SLOT_OUT;
		refuse(s, why, ev);
		return;
	}
	s->frame_len = used;
	memcpy(s->uuid, uuid, sizeof(s->uuid));
	offer(rp, s, uuid, role, now, ev);
}

size_t relay_pairing_expire(struct relay_pairing *rp, double now, struct relay_event *evs, size_t max)
{
	size_t n = 0;
	while (n < max && rp->hello.head && rp->hello.head->deadline <= now) {
		struct relay_slot *s = rp->hello.head;
		list_del(&rp->hello, s);
		s->state = SLOT_OUT;
		refuse(s, RELAY_R_FIRST_TIMEOUT, &evs[n++]);
	}
	while (n < max && rp->waiting.head && rp->waiting.head->deadline <= now) {
		struct relay_slot *s = rp->waiting.head;
		list_del(&rp->waiting, s);
		s->state = SLOT_OUT;
		slot_detach(rp, s);
		refuse(s, RELAY_R_PAIR_TIMEOUT, &evs[n++]);
	}
	return n;
}

double relay_pairing_next_deadline(const struct relay_pairing *rp)
{
	double d = -1;
	if (rp->hello.head)
		d = rp->hello.head->deadline;
	if (rp->waiting.head && (d < 0 || rp->waiting.head->deadline < d))
		d = rp->waiting.head->deadline;
	return d;
}

void relay_pairing_remove(struct relay_pairing *rp, struct relay_slot *s)
{
	if (!s)
		return;
	if (s->state == SLOT_HELLO)
		list_del(&rp->hello, s);
	else if (s->state == SLOT_WAITING)
		list_del(&rp->waiting, s);
	slot_detach(rp, s);
	slot_free(s);
}

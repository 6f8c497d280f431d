/* login: password hash file and failed-login lockout. */
#include "login.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "ratelimit.h"
#include "util.h"

static int login__path(const char *dir, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", dir, LOGIN_PW_FILE);
	return (n < 0 || (size_t)n >= outsz) ? RD_ERR_TOOBIG : RD_OK;
}

int login_password_load(const char *data_dir, struct login_password *pw)
{
	char path[4096];
	memset(pw, 0, sizeof(*pw));
	int rc = login__path(data_dir, path, sizeof(path));
	if (rc < 0)
		return rc;
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? RD_ERR_NOTFOUND : RD_ERR_IO;
	if (st.st_mode & 077)
		return RD_ERR_PERM;
	char *text = NULL;
	size_t len = 0;
	rc = rd_read_file(path, 1024, &text, &len);
	if (rc < 0)
		return rc;
	char salt[LOGIN_SALT_LEN + 2] = "", hex[70] = "";
	int n = sscanf(text, "salt %33s h1 %66s", salt, hex);
	sodium_memzero(text, len);
	free(text);
	size_t bin_len = 0;
	if (n != 2 || strlen(salt) != LOGIN_SALT_LEN || strlen(hex) != 64 ||
		sodium_hex2bin(pw->h1, sizeof(pw->h1), hex, 64, NULL, &bin_len, NULL) != 0 || bin_len != 32) {
		sodium_memzero(hex, sizeof(hex));
		sodium_memzero(pw, sizeof(*pw));
		return RD_ERR_CONFIG;
	}
	sodium_memzero(hex, sizeof(hex));
	memcpy(pw->salt, salt, LOGIN_SALT_LEN + 1);
	pw->set = true;
	return RD_OK;
}

int login_password_store(const char *data_dir, const char *password)
{
	char path[4096];
	int rc = login__path(data_dir, path, sizeof(path));
	if (rc < 0)
		return rc;
	struct login_password pw = { .set = true };
	rd_random_alnum(pw.salt, LOGIN_SALT_LEN);
	rd_pw_hash1(password, pw.salt, pw.h1);
	char hex[65], text[128];
	sodium_bin2hex(hex, sizeof(hex), pw.h1, sizeof(pw.h1));
	int n = snprintf(text, sizeof(text), "salt %s\nh1 %s\n", pw.salt, hex);
	rc = rd_write_file_atomic(path, text, (size_t)n, 0600);
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(text, sizeof(text));
	login_password_wipe(&pw);
	return rc;
}

bool login_password_check(const struct login_password *pw, const char *challenge,
	const uint8_t *resp, size_t len)
{
	if (!pw->set || len != 32)
		return false;
	uint8_t want[32];
	rd_pw_response(pw->h1, challenge, want);
	bool ok = sodium_memcmp(want, resp, 32) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

void login_password_wipe(struct login_password *pw)
{
	sodium_memzero(pw, sizeof(*pw));
}

struct guard_entry {
	uint8_t key[RD_RATELIMIT_KEY_LEN]; /* the source, as rd_ratelimit_key says */
	bool used;
	unsigned score;      /* as of last_fail */
	double last_fail;
};

struct login_guard {
	struct guard_entry slots[LOGIN_TABLE_SLOTS];
	unsigned id_score;       /* the ID's score as of id_last_fail */
	double id_last_fail;
	double id_last_check;    /* last password check counted against the ID */
	bool id_checked;
	double wait_since;       /* the oldest login waiting for the ID's turn, or -1 */
	double wait_seen;        /* when it last asked */
};

/* A waiter that has not asked for this long (its session is gone) loses its
 * place; sessions ask about once a second. */
#define GUARD_WAITER_STALE 2.5

struct login_guard *login_guard_new(void)
{
	struct login_guard *g = xcalloc(1, sizeof(struct login_guard));
	g->wait_since = -1;
	return g;
}

void login_guard_free(struct login_guard *g)
{
	free(g);
}

bool login_same_source(const struct rd_sockaddr *a, const struct rd_sockaddr *b)
{
	uint8_t ka[16], kb[16];
	rd_ratelimit_key(a, ka);
	rd_ratelimit_key(b, kb);
	return memcmp(ka, kb, 16) == 0;
}

/* A score falls by one point for each whole `decay` seconds since the last
 * failure: while failures come faster than that, it only grows. */
static unsigned guard__decayed(unsigned score, double last_fail, double now, double decay)
{
	double steps = now > last_fail ? floor((now - last_fail) / decay) : 0;
	return steps >= score ? 0 : score - (unsigned)steps;
}

static unsigned guard__src_level(const struct guard_entry *e, double now)
{
	return guard__decayed(e->score, e->last_fail, now, LOGIN_SRC_DECAY);
}

static struct guard_entry *guard__find(struct login_guard *g, const struct rd_sockaddr *src,
	double now, bool create)
{
	uint8_t key[16];
	rd_ratelimit_key(src, key);
	struct guard_entry *spare = NULL, *oldest = NULL;
	for (size_t i = 0; i < LOGIN_TABLE_SLOTS; i++) {
		struct guard_entry *e = &g->slots[i];
		if (e->used && memcmp(e->key, key, 16) == 0)
			return e;
		/* Free, or decayed to nothing: as good as free. */
		if (!e->used || guard__src_level(e, now) == 0) {
			if (!spare)
				spare = e;
			continue;
		}
		if (!oldest || e->last_fail < oldest->last_fail)
			oldest = e;
	}
	if (!create)
		return NULL;
	struct guard_entry *e = spare ? spare : oldest;
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, 16);
	e->used = true;
	return e;
}

double login_src_delay(unsigned level)
{
	if (level >= LOGIN_SRC_BLOCK)
		return -1;
	if (level <= LOGIN_SRC_FREE)
		return 0;
	double d = (double)(1u << (level - LOGIN_SRC_FREE - 1));
	return d < LOGIN_SRC_DELAY_MAX ? d : LOGIN_SRC_DELAY_MAX;
}

double login_id_gap(unsigned level)
{
	if (level <= LOGIN_ID_FREE)
		return 0;
	double d = 0.5 * (double)(1u << (RD_MIN(level, 20u) - LOGIN_ID_FREE - 1));
	return d < LOGIN_ID_GAP_MAX ? d : LOGIN_ID_GAP_MAX;
}

unsigned login_guard_src_level(const struct login_guard *g, const struct rd_sockaddr *src, double now)
{
	uint8_t key[16];
	rd_ratelimit_key(src, key);
	for (size_t i = 0; i < LOGIN_TABLE_SLOTS; i++) {
		const struct guard_entry *e = &g->slots[i];
		if (e->used && memcmp(e->key, key, 16) == 0)
			return guard__src_level(e, now);
	}
	return 0;
}

unsigned login_guard_id_level(const struct login_guard *g, double now)
{
	return guard__decayed(g->id_score, g->id_last_fail, now, LOGIN_ID_DECAY);
}

/* Logins from sources with recent failures queue behind the others. */
#define GUARD_DIRTY_AFTER 1e9

/* The ID's turn: at most one check per gap; first the logins of sources with
 * no recent failure, then the others, the oldest first in each. */
static enum login_verdict guard__id_turn(struct login_guard *g, double since, bool dirty, double now,
	double *retry_at)
{
	if (dirty)
		since += GUARD_DIRTY_AFTER;
	double gap = login_id_gap(login_guard_id_level(g, now));
	if (g->wait_since >= 0 && now - g->wait_seen > GUARD_WAITER_STALE)
		g->wait_since = -1;
	double next = g->id_checked ? g->id_last_check + gap : now;
	bool older_waits = g->wait_since >= 0 && g->wait_since < since;
	if (now >= next && !older_waits) {
		if (g->wait_since == since)
			g->wait_since = -1;
		g->id_last_check = now;
		g->id_checked = true;
		return LOGIN_ALLOW;
	}
	if (g->wait_since < 0 || since <= g->wait_since) {
		g->wait_since = since;
		g->wait_seen = now;
	}
	*retry_at = next > now ? next : now + 0.25;
	return LOGIN_WAIT;
}

enum login_verdict login_guard_check(struct login_guard *g, const struct rd_sockaddr *src,
	double since, double now, double *retry_at)
{
	double dummy;
	if (!retry_at)
		retry_at = &dummy;
	*retry_at = now;
	struct guard_entry *e = guard__find(g, src, now, false);
	unsigned level = e ? guard__src_level(e, now) : 0;
	if (e) {
		if (level >= LOGIN_SRC_BLOCK) {
			/* Lifts when the score has fallen a point. */
			*retry_at = e->last_fail + LOGIN_SRC_DECAY;
			return LOGIN_BLOCKED;
		}
		/* The wait the last failure earned (shorter than a decay step). */
		double d = login_src_delay(e->score < LOGIN_SRC_BLOCK ? e->score : LOGIN_SRC_BLOCK - 1);
		if (now < e->last_fail + d) {
			*retry_at = e->last_fail + d;
			return now - since >= LOGIN_HOLD_MAX ? LOGIN_BLOCKED : LOGIN_WAIT;
		}
	}
	enum login_verdict v = guard__id_turn(g, since, level > 0, now, retry_at);
	if (v == LOGIN_WAIT && now - since >= LOGIN_HOLD_MAX)
		return LOGIN_BLOCKED;
	return v;
}

void login_guard_fail(struct login_guard *g, const struct rd_sockaddr *src, double now)
{
	struct guard_entry *e = guard__find(g, src, now, true);
	e->score = RD_MIN(guard__src_level(e, now) + 1, (unsigned)LOGIN_SRC_BLOCK);
	e->last_fail = now;
	g->id_score = RD_MIN(login_guard_id_level(g, now) + 1, (unsigned)LOGIN_ID_CAP);
	g->id_last_fail = now;
}

void login_guard_success(struct login_guard *g, const struct rd_sockaddr *src, double now)
{
	struct guard_entry *e = guard__find(g, src, now, false);
	if (e)
		memset(e, 0, sizeof(*e));
}

const char *login_verdict_text(enum login_verdict v)
{
	switch (v) {
	case LOGIN_BLOCKED:
		return "Please try 1 minute later";
	default:
		return "";
	}
}

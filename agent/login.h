/* login: the permanent password (salted hash only, PROTOCOL.md §10) and the
 * lockout of failed logins per source address and per agent ID. I/O free
 * except for the password file. */
#ifndef RD_AGENT_LOGIN_H
#define RD_AGENT_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define LOGIN_SALT_LEN 32
#define LOGIN_PW_FILE "password"
#define LOGIN_PW_MAX 4096             /* longest password accepted on stdin */

struct login_password {
	bool set;
	char salt[LOGIN_SALT_LEN + 1];
	uint8_t h1[32];                    /* SHA256(password || salt) */
};

/* DIR/password: "salt <32 chars>\nh1 <64 hex>\n", mode 0600. RD_ERR_NOTFOUND
 * when no password was set (pw->set stays false), RD_ERR_PERM when the file is
 * readable by others, RD_ERR_CONFIG when malformed. */
int login_password_load(const char *data_dir, struct login_password *pw);
/* Fresh salt, h1 of password, written atomically with mode 0600. */
int login_password_store(const char *data_dir, const char *password);
/* Constant-time check of LoginRequest.password against SHA256(h1 || challenge). */
bool login_password_check(const struct login_password *pw, const char *challenge,
	const uint8_t *resp, size_t len);
/* Wipe the hash from memory. */
void login_password_wipe(struct login_password *pw);

/* Failed logins slow the guessing down; they never lock everyone out.
 *
 * A score counts wrong passwords and falls by one point for each whole decay
 * period since the last one (while failures come faster, it only grows).
 *
 * Source (an IPv4 address, an IPv6 /64), decay LOGIN_SRC_DECAY (20 s): at
 * scores 0-2 a password is checked at once; a failure that brings the score
 * to 3, 4, 5, 6, 7 makes the source's next password wait 1, 2, 4, 8, 16 s
 * after it; at LOGIN_SRC_BLOCK (8) its logins are refused unchecked until the
 * score has fallen a point, LOGIN_SRC_DECAY after the last failure. A source
 * that keeps guessing gets one check per LOGIN_SRC_DECAY; one that stops is
 * served again within LOGIN_SRC_DECAY of its last failure, and is back to no
 * delay at all after 8 * LOGIN_SRC_DECAY.
 *
 * The agent's ID (every source together), decay LOGIN_ID_DECAY (5 s), score
 * capped at LOGIN_ID_CAP: up to LOGIN_ID_FREE (10) passwords are checked as
 * they come; above it at most one password is checked every 0.5 s, 1 s, then
 * LOGIN_ID_GAP_MAX (2 s) (scores 11, 12, 13 and up): first the logins of
 * sources with no recent failure, then the others, the oldest first in each.
 * Nobody is refused for the ID's sake: a login waits for its turn (on the
 * session's timer, never a sleep).
 *
 * A login that has waited LOGIN_HOLD_MAX seconds is refused unchecked. The
 * table has a fixed size; a decayed entry, else the one with the oldest
 * failure, is reused when it is full. Every time is monotonic seconds, given
 * by the caller (the guard does no I/O). */
#define LOGIN_SRC_FREE 2
#define LOGIN_SRC_BLOCK 8
#define LOGIN_SRC_DECAY 20.0
#define LOGIN_SRC_DELAY_MAX 16.0     /* the wait at score 7 */
#define LOGIN_ID_FREE 10
#define LOGIN_ID_CAP 16
#define LOGIN_ID_DECAY 5.0
#define LOGIN_ID_GAP_MAX 2.0
#define LOGIN_HOLD_MAX 40.0
#define LOGIN_TABLE_SLOTS 1024

enum login_verdict {
	LOGIN_ALLOW = 0,        /* check the password now */
	LOGIN_WAIT = 1,         /* hold the login; ask again at *retry_at */
	LOGIN_BLOCKED = 2,      /* refuse it unchecked ("Please try 1 minute later") */
};

struct login_guard;
struct login_guard *login_guard_new(void);
void login_guard_free(struct login_guard *g);
/* May the login that src sent at `since` have its password checked at now?
 * On LOGIN_ALLOW the check is counted against the ID's pace: follow it with
 * login_guard_fail or login_guard_success. *retry_at (may be NULL) gets when
 * to ask again (LOGIN_WAIT) or when the block lifts (LOGIN_BLOCKED). */
enum login_verdict login_guard_check(struct login_guard *g, const struct rd_sockaddr *src,
	double since, double now, double *retry_at);
void login_guard_fail(struct login_guard *g, const struct rd_sockaddr *src, double now);
/* A correct password: the source's score is cleared (the ID's stays). */
void login_guard_success(struct login_guard *g, const struct rd_sockaddr *src, double now);
/* The current levels (for logs and tests). */
unsigned login_guard_src_level(const struct login_guard *g, const struct rd_sockaddr *src, double now);
unsigned login_guard_id_level(const struct login_guard *g, double now);
/* How long a source at that level waits after its last failure (0 = none,
 * negative = blocked), and the ID's gap between checks at that level. */
double login_src_delay(unsigned level);
double login_id_gap(unsigned level);
/* Whether a and b are one source for the guard (same IPv4 address, same
 * IPv6 /64); the agent limits pending logins per such source too. */
bool login_same_source(const struct rd_sockaddr *a, const struct rd_sockaddr *b);
const char *login_verdict_text(enum login_verdict v);

#endif

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

/* Lockout. Per source (IPv4 address, IPv6 /64): more than
 * LOGIN_SRC_PER_MINUTE failures in one minute -> wait for the next minute;
 * more than LOGIN_SRC_TOTAL failures in total -> blocked until a success or a
 * restart (§10). Per agent ID, from all sources together: more than
 * LOGIN_ID_PER_MINUTE failures in one minute -> everyone waits for the next
 * minute (so many sources cannot share the guessing). The table has a fixed
 * size; the stalest entry is reused when it is full. */
#define LOGIN_SRC_PER_MINUTE 6
#define LOGIN_SRC_TOTAL 30
#define LOGIN_ID_PER_MINUTE 20
#define LOGIN_TABLE_SLOTS 1024

enum login_verdict {
	LOGIN_ALLOW = 0,
	LOGIN_WAIT_MINUTE = 1,  /* "Please try 1 minute later" */
	LOGIN_BLOCKED = 2,      /* "Too many wrong attempts" */
};

struct login_guard;
struct login_guard *login_guard_new(void);
void login_guard_free(struct login_guard *g);
/* May src try a password now (wall-clock seconds)? */
enum login_verdict login_guard_check(struct login_guard *g, const struct rd_sockaddr *src, double now);
void login_guard_fail(struct login_guard *g, const struct rd_sockaddr *src, double now);
void login_guard_success(struct login_guard *g, const struct rd_sockaddr *src);
const char *login_verdict_text(enum login_verdict v);

#endif

/* login: password hash file and failed-login lockout. */
#include "login.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
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
	uint8_t key[16];     /* IPv4 (4 bytes) or IPv6 /64 (8 bytes), zero padded */
	bool used;
	long minute;
	unsigned in_minute;
	unsigned total;
	double last;
};

struct login_guard {
	struct guard_entry slots[LOGIN_TABLE_SLOTS];
	long id_minute;
	unsigned id_in_minute;
};

struct login_guard *login_guard_new(void)
{
	return xcalloc(1, sizeof(struct login_guard));
}

void login_guard_free(struct login_guard *g)
{
	free(g);
}

static void guard__key(const struct rd_sockaddr *src, uint8_t key[16])
{
	struct rd_sockaddr a = *src;
	rd_net_addr_normalize(&a);
	memset(key, 0, 16);
	if (a.u.sa.sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &a.u.in4.sin_addr, 4);
	} else if (a.u.sa.sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &a.u.in6.sin6_addr, 8);
	}
}

static struct guard_entry *guard__find(struct login_guard *g, const struct rd_sockaddr *src, bool create)
{
	uint8_t key[16];
	guard__key(src, key);
	struct guard_entry *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < LOGIN_TABLE_SLOTS; i++) {
		struct guard_entry *e = &g->slots[i];
		if (!e->used) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (memcmp(e->key, key, 16) == 0)
			return e;
		if (!oldest || e->last < oldest->last)
			oldest = e;
	}
	struct guard_entry *stalest = free_slot ? free_slot : oldest;
	if (!create)
		return NULL;
	memset(stalest, 0, sizeof(*stalest));
	memcpy(stalest->key, key, 16);
	stalest->used = true;
	return stalest;
}

enum login_verdict login_guard_check(struct login_guard *g, const struct rd_sockaddr *src, double now)
{
	long minute = (long)(now / 60.0);
	if (g->id_minute == minute && g->id_in_minute >= LOGIN_ID_PER_MINUTE)
		return LOGIN_WAIT_MINUTE;
	struct guard_entry *e = guard__find(g, src, false);
	if (!e)
		return LOGIN_ALLOW;
	if (e->total >= LOGIN_SRC_TOTAL)
		return LOGIN_BLOCKED;
	if (e->minute == minute && e->in_minute >= LOGIN_SRC_PER_MINUTE)
		return LOGIN_WAIT_MINUTE;
	return LOGIN_ALLOW;
}

void login_guard_fail(struct login_guard *g, const struct rd_sockaddr *src, double now)
{
	long minute = (long)(now / 60.0);
	if (g->id_minute != minute) {
		g->id_minute = minute;
		g->id_in_minute = 0;
	}
	g->id_in_minute++;
	struct guard_entry *e = guard__find(g, src, true);
	if (e->minute != minute) {
		e->minute = minute;
		e->in_minute = 0;
	}
	e->in_minute++;
	e->total++;
	e->last = now;
}

void login_guard_success(struct login_guard *g, const struct rd_sockaddr *src)
{
	struct guard_entry *e = guard__find(g, src, false);
	if (e)
		memset(e, 0, sizeof(*e));
}

const char *login_verdict_text(enum login_verdict v)
{
	switch (v) {
	case LOGIN_WAIT_MINUTE:
		return "Please try 1 minute later";
	case LOGIN_BLOCKED:
		return "Too many wrong attempts";
	default:
		return "";
	}
}

/* portal_msg: the portal's Response results and the restore token (see
 * portal_msg.h). */
#define RD_LOG_SUBSYS "portal"
#include "portal_msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "util.h"

/* The token of the last session when no file keeps it (loop thread only). */
static char mem_token[PORTAL_TOKEN_MAX];

/* Walk an a{sv} dictionary whose container is already entered: on() reads
 * the value of each key it knows and returns 1 for a key it does not. */
static int read_vardict(sd_bus_message *m, int (*on)(sd_bus_message *m, const char *key, void *ctx),
	void *ctx)
{
	int r;
	const char *key;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &key)) < 0)
			return r;
		if ((r = on(m, key, ctx)) == 1)
			r = sd_bus_message_skip(m, "v");
		if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	return r;
}

static int on_stream_prop(sd_bus_message *m, const char *key, void *ctx)
{
	int *wh = ctx;
	if (strcmp(key, "size") == 0)
		return sd_bus_message_read(m, "v", "(ii)", &wh[0], &wh[1]);
	return 1;
}

static int read_stream_props(struct portal_answer *a, sd_bus_message *m, uint32_t node)
{
	int wh[2] = { 0, 0 };
	int r = read_vardict(m, on_stream_prop, wh);
	if (r < 0)
		return r;
	if (a->n_streams++ == 0) {
		a->node_id = node;
		a->width = wh[0] > 0 && wh[0] <= 65535 ? wh[0] : 0;
		a->height = wh[1] > 0 && wh[1] <= 65535 ? wh[1] : 0;
	}
	return 0;
}

static int read_streams(struct portal_answer *a, sd_bus_message *m)
{
	int r = sd_bus_message_enter_container(m, 'v', "a(ua{sv})");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	if ((r = sd_bus_message_enter_container(m, 'a', "(ua{sv})")) <= 0)
		return r < 0 ? r : -EBADMSG;
	while ((r = sd_bus_message_enter_container(m, 'r', "ua{sv}")) > 0) {
		uint32_t node;
		if ((r = sd_bus_message_read(m, "u", &node)) < 0 ||
		    (r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0 ||
		    (r = read_stream_props(a, m, node)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* A string (or object path) in a variant, copied into out. */
static int read_string_variant(sd_bus_message *m, char *out, size_t len)
{
	char type;
	const char *contents, *s;
	int r = sd_bus_message_peek_type(m, &type, &contents);
	if (r < 0)
		return r;
	if (type != 'v' || !contents || (strcmp(contents, "s") != 0 && strcmp(contents, "o") != 0))
		return -EBADMSG;
	if ((r = sd_bus_message_read(m, "v", contents, &s)) < 0)
		return r;
	if (strlen(s) >= len)
		return -E2BIG;
	rd_strlcpy(out, s, len);
	return 0;
}

static int on_result(sd_bus_message *m, const char *key, void *ctx)
{
	struct portal_answer *a = ctx;
	if (strcmp(key, "session_handle") == 0)
		return read_string_variant(m, a->session, sizeof(a->session));
	if (strcmp(key, "restore_token") == 0)
		return read_string_variant(m, a->restore_token, sizeof(a->restore_token));
	if (strcmp(key, "streams") == 0)
		return read_streams(a, m);
	return 1;
}

int portal_answer_read(struct portal_answer *a, sd_bus_message *m)
{
	int r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	if ((r = read_vardict(m, on_result, a)) < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static bool token_ok(const char *t)
{
	if (!t[0])
		return false;
	for (; *t; t++)
		if (*t <= ' ' || *t > '~')
			return false;
	return true;
}

void portal_token_load(const char *file, char out[PORTAL_TOKEN_MAX])
{
	out[0] = 0;
	if (!file) {
		rd_strlcpy(out, mem_token, PORTAL_TOKEN_MAX);
		return;
	}
	char *buf = NULL;
	size_t len;
	if (rd_read_file(file, PORTAL_TOKEN_MAX - 1, &buf, &len) != RD_OK)
		return;
	buf[strcspn(buf, "\r\n")] = 0;
	if (token_ok(buf))
		rd_strlcpy(out, buf, PORTAL_TOKEN_MAX);
	else
		log_warn("ignoring a malformed restore token in %s", file);
	free(buf);
}

void portal_token_store(const char *file, const char *token)
{
	if (!token_ok(token))
		return;
	rd_strlcpy(mem_token, token, sizeof(mem_token));
	if (!file)
		return;
	char buf[PORTAL_TOKEN_MAX + 1];
	int n = snprintf(buf, sizeof(buf), "%s\n", token);
	int rc = rd_write_file_atomic(file, buf, (size_t)n, 0600);
	if (rc != RD_OK)
		log_warn("cannot keep the restore token in %s: %s", file,
			rc == RD_ERR_IO ? strerror(errno) : rd_strerror(rc));
}

/* json: a JSON writer into an rd_buf. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

void rd_json_init(struct rd_json *j, struct rd_buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void json__put(struct rd_json *j, const char *p, size_t n)
{
	if (j->err == RD_OK) {
		int rc = rd_buf_put(j->out, p, n);
		if (rc < 0)
			j->err = rc;
	}
}

static void json__quoted(struct rd_json *j, const char *s, size_t n)
{
	json__put(j, "\"", 1);
	size_t run = 0; /* bytes that pass as they are, not yet written */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
			run++;
			continue;
		}
		json__put(j, s + i - run, run);
		run = 0;
		char esc[8];
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		json__put(j, esc, strlen(esc));
	}
	json__put(j, s + n - run, run);
	json__put(j, "\"", 1);
}

/* The comma and key before a value. */
static void json__member(struct rd_json *j, const char *key)
{
	if (j->more[j->depth])
		json__put(j, ",", 1);
	j->more[j->depth] = true;
	if (key) {
		json__quoted(j, key, strlen(key));
		json__put(j, ":", 1);
	}
}

static void json__open(struct rd_json *j, const char *key, const char *open)
{
	json__member(j, key);
	if (j->depth >= RD_JSON_MAX_DEPTH) {
		j->err = RD_ERR_TOOBIG;
		return;
	}
	json__put(j, open, 1);
	j->more[++j->depth] = false;
}

void rd_json_obj(struct rd_json *j, const char *key) { json__open(j, key, "{"); }
void rd_json_arr(struct rd_json *j, const char *key) { json__open(j, key, "["); }

void rd_json_end(struct rd_json *j, char close)
{
	if (j->depth == 0) {
		j->err = RD_ERR_INVAL;
		return;
	}
	j->depth--;
	json__put(j, &close, 1);
}

void rd_json_strn(struct rd_json *j, const char *key, const char *s, size_t n)
{
	json__member(j, key);
	json__quoted(j, s, n);
}

void rd_json_str(struct rd_json *j, const char *key, const char *s)
{
	if (!s)
		rd_json_null(j, key);
	else
		rd_json_strn(j, key, s, strlen(s));
}

static void json__printf(struct rd_json *j, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void json__printf(struct rd_json *j, const char *key, const char *fmt, ...)
{
	char num[352]; /* the longest double in %.17f */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(num, sizeof(num), fmt, ap);
	va_end(ap);
	json__member(j, key);
	json__put(j, num, n < 0 ? 0 : (size_t)n < sizeof(num) ? (size_t)n : sizeof(num) - 1);
}

void rd_json_int(struct rd_json *j, const char *key, long long v) { json__printf(j, key, "%lld", v); }
void rd_json_uint(struct rd_json *j, const char *key, unsigned long long v) { json__printf(j, key, "%llu", v); }

void rd_json_num(struct rd_json *j, const char *key, double v, int decimals)
{
	if (!isfinite(v))
		rd_json_null(j, key);
	else
		json__printf(j, key, "%.*f", decimals < 0 ? 0 : decimals > 17 ? 17 : decimals, v);
}

void rd_json_bool(struct rd_json *j, const char *key, bool v)
{
	json__member(j, key);
	json__put(j, v ? "true" : "false", v ? 4 : 5);
}

void rd_json_null(struct rd_json *j, const char *key)
{
	json__member(j, key);
	json__put(j, "null", 4);
}

void rd_json_members(struct rd_json *j, const struct rd_json *members)
{
	if (members->err != RD_OK || members->depth != 0) {
		j->err = members->err != RD_OK ? members->err : RD_ERR_INVAL;
		return;
	}
	if (!members->more[0])
		return;
	json__member(j, NULL);
	json__put(j, (const char *)rd_buf_ptr(members->out), rd_buf_size(members->out));
}

int rd_json_error(const struct rd_json *j) { return j->err; }

/* json: a JSON writer into an rd_buf. Strings are escaped as RFC 8259 says
 * (quote and backslash with a backslash, control bytes and DEL as \u00XX;
 * other bytes pass as they are), nothing is truncated, and commas are placed
 * by the writer. Every call takes the member's key inside an object and NULL
 * inside an array or at the top. */
#ifndef RD_JSON_H
#define RD_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define RD_JSON_MAX_DEPTH 32

struct rd_json {
	struct rd_buf *out;
	unsigned depth;
	bool more[RD_JSON_MAX_DEPTH + 1]; /* a value was written at this depth */
	int err;                          /* first rd_buf error, or a nesting error */
};

void rd_json_init(struct rd_json *j, struct rd_buf *out);
void rd_json_obj(struct rd_json *j, const char *key);
void rd_json_arr(struct rd_json *j, const char *key);
/* Closes the innermost object or array. */
void rd_json_end(struct rd_json *j, char close);
void rd_json_str(struct rd_json *j, const char *key, const char *s); /* NULL: null */
void rd_json_strn(struct rd_json *j, const char *key, const char *s, size_t n);
void rd_json_int(struct rd_json *j, const char *key, long long v);
void rd_json_uint(struct rd_json *j, const char *key, unsigned long long v);
/* A number with that many decimals; NaN and infinities are written as null. */
void rd_json_num(struct rd_json *j, const char *key, double v, int decimals);
void rd_json_bool(struct rd_json *j, const char *key, bool v);
void rd_json_null(struct rd_json *j, const char *key);
/* The members another writer wrote at its top level (key and value pairs),
 * appended to the object open here. */
void rd_json_members(struct rd_json *j, const struct rd_json *members);
/* RD_OK, or the first error (RD_ERR_TOOBIG past the buffer's cap). */
int rd_json_error(const struct rd_json *j);

#endif

/* err: text for each rd_err value, and the reason a backend gave. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const err_text[RD_ERR_COUNT] = {
	[0] = "success",
	[-RD_ERR_NOMEM] = "out of memory",
	[-RD_ERR_INVAL] = "invalid argument",
	[-RD_ERR_IO] = "input/output error",
	[-RD_ERR_AGAIN] = "try again",
	[-RD_ERR_EOF] = "connection closed by peer",
	[-RD_ERR_TRUNCATED] = "truncated input",
	[-RD_ERR_TOOBIG] = "too big",
	[-RD_ERR_PROTO] = "protocol error",
	[-RD_ERR_CRYPTO] = "authentication or decryption failed",
	[-RD_ERR_TIMEOUT] = "timed out",
	[-RD_ERR_CONFIG] = "configuration error",
	[-RD_ERR_NOTFOUND] = "not found",
	[-RD_ERR_EXISTS] = "already exists",
	[-RD_ERR_PERM] = "permission denied",
	[-RD_ERR_LIMIT] = "limit reached",
	[-RD_ERR_KEY] = "bad or missing key",
	[-RD_ERR_UNSUPPORTED] = "not supported",
	[-RD_ERR_CLOSED] = "closed",
	[-RD_ERR_DB] = "database error",
	[-RD_ERR_MISMATCH] = "mismatch",
	[-RD_ERR_REFUSED] = "refused by peer",
};

const char *rd_strerror(int err)
{
	if (err > 0 || err <= -RD_ERR_COUNT || !err_text[-err])
		return "unknown error";
	return err_text[-err];
}

static __thread char skip_reason[256];

void rd_skip_reason(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
}

void rd_skip_reason_clear(void)
{
	skip_reason[0] = '\0';
}

const char *rd_skip_reason_or(int err)
{
	return skip_reason[0] ? skip_reason : rd_strerror(err);
}

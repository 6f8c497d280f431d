/* err: the one error vocabulary. Functions that can fail return 0 (RD_OK)
 * or a negative enum rd_err; rd_strerror() gives the text. */
#ifndef RD_ERR_H
#define RD_ERR_H

enum rd_err {
	RD_OK = 0,
	RD_ERR_NOMEM = -1,       /* out of memory */
	RD_ERR_INVAL = -2,       /* invalid argument or value */
	RD_ERR_IO = -3,          /* system call failed; errno says more */
	RD_ERR_AGAIN = -4,       /* would block; try again later */
	RD_ERR_EOF = -5,         /* peer closed the stream */
	RD_ERR_TRUNCATED = -6,   /* input ends early: need more bytes */
	RD_ERR_TOOBIG = -7,      /* over a size limit */
	RD_ERR_PROTO = -8,       /* malformed or unexpected message */
	RD_ERR_CRYPTO = -9,      /* authentication, signature or decryption failed */
	RD_ERR_TIMEOUT = -10,    /* a deadline passed */
	RD_ERR_CONFIG = -11,     /* bad configuration */
	RD_ERR_NOTFOUND = -12,   /* no such item */
	RD_ERR_EXISTS = -13,     /* already exists */
	RD_ERR_PERM = -14,       /* not allowed (file mode, credentials) */
	RD_ERR_LIMIT = -15,      /* a rate or resource limit was hit */
	RD_ERR_KEY = -16,        /* key file missing, malformed or wrong length */
	RD_ERR_UNSUPPORTED = -17,/* not supported here */
	RD_ERR_CLOSED = -18,     /* object is closing or closed */
	RD_ERR_DB = -19,         /* database error */
	RD_ERR_MISMATCH = -20,   /* value differs from the one expected (key, uuid) */
	RD_ERR_REFUSED = -21,    /* the peer refused */
};
#define RD_ERR_COUNT 22

/* Text for an rd_err (never NULL). RD_ERR_IO appends nothing: log errno yourself. */
const char *rd_strerror(int err);

/* Why a backend could not open, in one line for the log (capture and input
 * backends): the caller clears it before each try, the backend says why
 * before it returns its error, and the caller logs rd_skip_reason_or(rc),
 * which falls back to rd_strerror(rc). One per thread. */
void rd_skip_reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rd_skip_reason_clear(void);
const char *rd_skip_reason_or(int err);

#endif

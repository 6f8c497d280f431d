/* log: one line per event with level and subsystem, to stderr.
 *
 * Each .c file that logs defines its subsystem before including this header:
 *     #define RD_LOG_SUBSYS "relay"
 *     #include "log.h"
 * and then calls log_err(), log_warn(), log_notice(), log_info(), log_debug().
 * Under systemd (JOURNAL_STREAM set) lines carry "<N>" priority prefixes and no
 * timestamp; otherwise "2026-01-02T03:04:05.678Z LEVEL subsys: text".
 * Bytes that come from peers must pass through rd_esc() before they are logged,
 * and stand after the fields a log filter matches on (src=IP port=N). */
#ifndef RD_LOG_H
#define RD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum rd_log_level {	/* syslog priorities */
	RD_LOG_ERR = 3,
	RD_LOG_WARN = 4,
	RD_LOG_NOTICE = 5,
	RD_LOG_INFO = 6,
	RD_LOG_DEBUG = 7,
};

/* prog is used only for journald-less output when subsys is NULL. */
void rd_log_init(const char *prog);
void rd_log_set_level(enum rd_log_level level);
enum rd_log_level rd_log_get_level(void);
/* "error", "warn", "notice", "info", "debug" -> level; RD_ERR_INVAL when unknown. */
int rd_log_level_parse(const char *s, enum rd_log_level *out);
/* Redirect output (tests); NULL restores stderr. */
void rd_log_set_stream(FILE *f);

void rd_log(enum rd_log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rd_vlog(enum rd_log_level level, const char *subsys, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Escape untrusted bytes for a log line: printable ASCII stays, except space,
 * '"' and '\\'; every other byte (controls, non-ASCII) becomes \xNN. The result
 * is one word that cannot close a quote, so a peer's string can never pass for
 * another field. Output is cut at outsz-1 with "..." when long. Returns out. */
char *rd_escape(char *out, size_t outsz, const void *data, size_t len);
/* rd_escape of a NUL-terminated string, in double quotes ("..."), into one of 8
 * rotating thread-local buffers of 160 bytes: for use directly in a log
 * argument list. NULL gives (null), unquoted. */
const char *rd_esc(const char *s);
/* Like rd_esc but spaces stay and no quotes are added: for a peer's message
 * shown to a person (rdctl's errors), never for a line a log filter reads. */
const char *rd_esc_text(const char *s);

#ifndef RD_LOG_SUBSYS
#define RD_LOG_SUBSYS NULL
#endif

#define log_err(...)    rd_log(RD_LOG_ERR, RD_LOG_SUBSYS, __VA_ARGS__)
#define log_warn(...)   rd_log(RD_LOG_WARN, RD_LOG_SUBSYS, __VA_ARGS__)
#define log_notice(...) rd_log(RD_LOG_NOTICE, RD_LOG_SUBSYS, __VA_ARGS__)
#define log_info(...)   rd_log(RD_LOG_INFO, RD_LOG_SUBSYS, __VA_ARGS__)
#define log_debug(...)  do { if (rd_log_get_level() >= RD_LOG_DEBUG) \
	rd_log(RD_LOG_DEBUG, RD_LOG_SUBSYS, __VA_ARGS__); } while (0)

/* Rate-limited logging for floods (malformed packets): at most `burst` lines per
 * `interval` seconds per call site; the first line after a quiet period says how
 * many were suppressed. */
struct rd_log_ratelimit {
	double window_start;
	unsigned count;
	unsigned suppressed;
};
int rd_log_ratelimit_ok(struct rd_log_ratelimit *rl, double now, unsigned burst,
	double interval, unsigned *suppressed_out);

#endif

/* log: one line per event, level and subsystem, to stderr (or a test stream).
 * Under journald, "<N>" priority prefixes replace the timestamp. */
#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "sd.h"

#define LOG_LINE_MAX 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum rd_log_level log_level = RD_LOG_INFO;
static FILE *log_stream;     /* NULL: stderr */
static int log_journal = -1; /* -1: not checked yet */
static char log_prog[32] = "rdesk";

void rd_log_init(const char *prog)
{
	pthread_mutex_lock(&log_lock);
	if (prog && *prog) {
		const char *slash = strrchr(prog, '/');
		if (slash && slash[1])
			prog = slash + 1;
		snprintf(log_prog, sizeof(log_prog), "%s", prog);
	}
	log_journal = rd_sd_journal_stderr();
	pthread_mutex_unlock(&log_lock);
}

void rd_log_set_level(enum rd_log_level level)
{
	if (level < RD_LOG_ERR)
		level = RD_LOG_ERR;
	if (level > RD_LOG_DEBUG)
		level = RD_LOG_DEBUG;
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum rd_log_level rd_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int rd_log_level_parse(const char *s, enum rd_log_level *out)
{
	static const struct { const char *name; enum rd_log_level level; } names[] = {
		{ "error", RD_LOG_ERR }, { "err", RD_LOG_ERR },
		{ "warn", RD_LOG_WARN }, { "warning", RD_LOG_WARN },
		{ "notice", RD_LOG_NOTICE }, { "info", RD_LOG_INFO },
		{ "debug", RD_LOG_DEBUG },
	};
	if (!s)
		return RD_ERR_INVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].level;
			return RD_OK;
		}
	}
	return RD_ERR_INVAL;
}

void rd_log_set_stream(FILE *f)
{
	pthread_mutex_lock(&log_lock);
	log_stream = f;
	pthread_mutex_unlock(&log_lock);
}

static const char *log__level_name(enum rd_log_level level)
{
	switch (level) {
	case RD_LOG_ERR: return "ERROR";
	case RD_LOG_WARN: return "WARN";
	case RD_LOG_NOTICE: return "NOTICE";
	case RD_LOG_INFO: return "INFO";
	default: return "DEBUG";
	}
}

/* Copy the formatted message into the line, turning control bytes (newlines
 * included) into \xNN so that one call is always one line. A single trailing
 * newline is dropped. Returns the new length; cuts with "..." when full. */
static size_t log__append_msg(char *line, size_t pos, size_t cap, const char *msg, size_t mlen,
	bool cut)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (mlen && msg[mlen - 1] == '\n')
		mlen--;
	for (i = 0; i < mlen; i++) {
		unsigned char c = (unsigned char)msg[i];
		size_t need = (c < 0x20 || c == 0x7f) ? 4 : 1;
		if (pos + need > cap - 4) { /* keep room for "..." */
			memcpy(line + pos, "...", 3);
			return pos + 3;
		}
		if (need == 1) {
			line[pos++] = (char)c;
		} else {
			line[pos++] = '\\';
			line[pos++] = 'x';
			line[pos++] = hex[c >> 4];
			line[pos++] = hex[c & 15];
		}
	}
	if (cut) {
		memcpy(line + pos, "...", 3);
		pos += 3;
	}
	return pos;
}

void rd_vlog(enum rd_log_level level, const char *subsys, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX + 128];
	size_t pos = 0, mlen;
	bool cut;
	int n;
	FILE *f;

	if (level > rd_log_get_level())
		return;
	if (level < RD_LOG_ERR)
		level = RD_LOG_ERR;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	cut = (size_t)n >= sizeof(msg);
	mlen = cut ? sizeof(msg) - 1 : (size_t)n;

	pthread_mutex_lock(&log_lock);
	if (log_journal < 0)
		log_journal = rd_sd_journal_stderr();
	if (!subsys)
		subsys = log_prog;
	if (log_journal) {
		n = snprintf(line, 128, "<%d>%s: ", (int)level, subsys);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, 128, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, log__level_name(level), subsys);
	}
	pos = n < 0 ? 0 : (size_t)n < 128 ? (size_t)n : 127;
	pos = log__append_msg(line, pos, sizeof(line) - 1, msg, mlen, cut);
	line[pos++] = '\n';
	f = log_stream ? log_stream : stderr;
	fwrite(line, 1, pos, f);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
}

void rd_log(enum rd_log_level level, const char *subsys, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rd_vlog(level, subsys, fmt, ap);
	va_end(ap);
}

/* Printable ASCII but space, quote and backslash stays; the rest is \xNN, so
 * an escaped string is one word that cannot close a quote. keep_space lets
 * spaces through, for text shown to a person rather than a log filter. */
static size_t log__esc_len(unsigned char c, bool keep_space)
{
	if (c == ' ')
		return keep_space ? 1 : 4;
	return (c > 0x20 && c < 0x7f && c != '\\' && c != '"') ? 1 : 4;
}

static char *log__escape(char *out, size_t outsz, const void *data, size_t len, bool keep_space)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i, pos = 0, total = 0, limit;

	if (!outsz)
		return out;
	for (i = 0; i < len; i++)
		total += log__esc_len(p[i], keep_space);
	limit = outsz - 1;
	if (total > limit) /* it will be cut: keep room for "..." */
		limit = limit >= 3 ? limit - 3 : 0;
	for (i = 0; i < len; i++) {
		size_t need = log__esc_len(p[i], keep_space);
		if (pos + need > limit)
			break;
		if (need == 1) {
			out[pos++] = (char)p[i];
		} else {
			out[pos++] = '\\';
			out[pos++] = 'x';
			out[pos++] = hex[p[i] >> 4];
			out[pos++] = hex[p[i] & 15];
		}
	}
	if (i < len) {
		size_t k;
		for (k = 0; k < 3 && pos < outsz - 1; k++)
			out[pos++] = '.';
	}
	out[pos] = '\0';
	return out;
}

char *rd_escape(char *out, size_t outsz, const void *data, size_t len)
{
	return log__escape(out, outsz, data, len, false);
}

#define ESC_BUFS 8
#define ESC_SIZE 160

static char *log__esc_buf(void)
{
	static _Thread_local char bufs[ESC_BUFS][ESC_SIZE];
	static _Thread_local unsigned next;
	return bufs[next++ % ESC_BUFS];
}

const char *rd_esc(const char *s)
{
	char *out = log__esc_buf();
	size_t n;

	if (!s)
		return "(null)";
	out[0] = '"';
	log__escape(out + 1, ESC_SIZE - 2, s, strlen(s), false);
	n = strlen(out);
	out[n] = '"';
	out[n + 1] = '\0';
	return out;
}

const char *rd_esc_text(const char *s)
{
	if (!s)
		return "(null)";
	return log__escape(log__esc_buf(), ESC_SIZE, s, strlen(s), true);
}

int rd_log_ratelimit_ok(struct rd_log_ratelimit *rl, double now, unsigned burst,
	double interval, unsigned *suppressed_out)
{
	bool fresh = rl->count == 0 && rl->suppressed == 0 && rl->window_start == 0;

	if (suppressed_out)
		*suppressed_out = 0;
	if (fresh || now - rl->window_start >= interval || now < rl->window_start) {
		if (suppressed_out)
			*suppressed_out = rl->suppressed;
		rl->window_start = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < burst) {
		rl->count++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}

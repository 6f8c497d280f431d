/* config INI files: inih reads through our own line reader, which counts
 * lines exactly, refuses overlong lines and NUL bytes instead of splitting
 * them, and checks [section] headers; the handler maps section/key to the
 * table entry and sets it through rd_config_set(). */
#define RD_LOG_SUBSYS "config"
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "err.h"
#include "log.h"

#define CFG_FILE_MAX (1u << 20)

/* Names compare with '-' and '_' as the same character. */
static bool config__name_eq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		char x = a[i] == '_' ? '-' : a[i];
		char y = b[i] == '_' ? '-' : b[i];
		if (!b[i] || x != y)
			return false;
	}
	return b[i] == '\0';
}

struct config_ini {
	const struct rd_config *cfg;
	void *out;
	const char *name;       /* file name for messages */
	const char *str;        /* string source, or NULL */
	FILE *f;                /* file source */
	size_t total;           /* bytes read so far */
	int line;               /* number of the line last handed to inih */
	bool failed;
	int rc;
	char *err;
	size_t errlen;
};

static void config__ini_fail(struct config_ini *x, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void config__ini_fail(struct config_ini *x, int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (x->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config__err(x->err, x->errlen, "%s:%d: %s", x->name, x->line, msg);
	x->failed = true;
	x->rc = rc;
}

static const char *config__section_of(const struct rd_config *cfg, const struct rd_setting *s)
{
	if (s->section)
		return s->section;
	return cfg->default_section ? cfg->default_section : "";
}

static bool config__in_ini(const struct rd_setting *s)
{
	return s->type != RD_CFG_ACTION && !(s->flags & RD_CFG_NO_INI);
}

static bool config__known_section(const struct rd_config *cfg, const char *name, size_t len)
{
	if (cfg->default_section && strlen(cfg->default_section) == len &&
	    !memcmp(cfg->default_section, name, len))
		return true;
	for (size_t i = 0; i < cfg->n; i++) {
		const char *sec = config__section_of(cfg, &cfg->table[i]);
		if (config__in_ini(&cfg->table[i]) && strlen(sec) == len && !memcmp(sec, name, len))
			return true;
	}
	return false;
}

/* Checks a raw line before inih sees it: unknown [section] headers. */
static void config__ini_check_line(struct config_ini *x, const char *line, size_t len)
{
	const char *p = line, *end = line + len, *close;
	char shown[CFG_SHOWN_MAX];

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '[' || x->cfg->allow_unknown_ini)
		return;
	close = memchr(p, ']', (size_t)(end - p));
	if (!close)
		return; /* inih reports the syntax error */
	p++;
	while (p < close && (*p == ' ' || *p == '\t'))
		p++;
	while (close > p && (close[-1] == ' ' || close[-1] == '\t'))
		close--;
	if (!config__known_section(x->cfg, p, (size_t)(close - p)))
		config__ini_fail(x, RD_ERR_CONFIG, "unknown section [%s]",
			rd_escape(shown, sizeof(shown), p, (size_t)(close - p)));
}

/* fgets-style reader for inih: one whole line per call, counted, never split. */
static char *config__ini_reader(char *buf, int num, void *user)
{
	struct config_ini *x = user;
	size_t len = 0, max = num > 1 ? (size_t)num - 1 : 0;

	if (x->failed)
		return NULL;
	if (x->str) {
		const char *nl;
		if (!*x->str)
			return NULL;
		nl = strchr(x->str, '\n');
		len = nl ? (size_t)(nl - x->str) + 1 : strlen(x->str);
		x->line++;
		if (len > max) {
			config__ini_fail(x, RD_ERR_CONFIG, "line too long (more than %zu characters)", max);
			return NULL;
		}
		memcpy(buf, x->str, len);
		x->str += len;
	} else {
		int c = 0;
		bool nul = false;
		while (len < max && (c = getc_unlocked(x->f)) != EOF) {
			nul |= c == '\0';
			buf[len++] = (char)c;
			if (c == '\n')
				break;
		}
		if (len == 0) {
			if (ferror(x->f))
				config__ini_fail(x, RD_ERR_CONFIG, "read error: %s", strerror(errno));
			return NULL;
		}
		x->line++;
		x->total += len;
		if (buf[len - 1] != '\n' && len == max && (c = getc_unlocked(x->f)) != EOF) {
			config__ini_fail(x, RD_ERR_CONFIG, "line too long (more than %zu characters)", max);
			return NULL;
		}
		if (nul) {
			config__ini_fail(x, RD_ERR_CONFIG, "NUL byte in line");
			return NULL;
		}
		if (x->total > CFG_FILE_MAX) {
			config__ini_fail(x, RD_ERR_CONFIG, "file larger than %u bytes", CFG_FILE_MAX);
			return NULL;
		}
	}
	buf[len] = '\0';
	config__ini_check_line(x, buf, len);
	return x->failed ? NULL : buf;
}

static const struct rd_setting *config__ini_find(const struct rd_config *cfg,
	const char *section, const char *key)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const struct rd_setting *s = &cfg->table[i];
		const char *sec = config__section_of(cfg, s);
		const char *k = s->key ? s->key : s->name;

		if (!config__in_ini(s) || !config__name_eq(key, strlen(key), k))
			continue;
		if (!strcmp(section, sec))
			return s;
		/* keys above the first [section] belong to the default section */
		if (!*section && cfg->default_section && !strcmp(sec, cfg->default_section))
			return s;
	}
	return NULL;
}

static int config__ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_ini *x = user;
	const struct rd_setting *s;
	char src[CFG_SOURCE_MAX], shown[CFG_SHOWN_MAX], shown_sec[CFG_SHOWN_MAX];
	char val[256], sec[256];
	size_t vlen;
	int rc;

	if (x->failed)
		return 0;
	/* "[ main ]" is [main], as the header check reads it */
	while (*section == ' ' || *section == '\t')
		section++;
	vlen = strlen(section);
	while (vlen && (section[vlen - 1] == ' ' || section[vlen - 1] == '\t'))
		vlen--;
	if (vlen >= sizeof(sec))
		vlen = sizeof(sec) - 1;
	memcpy(sec, section, vlen);
	sec[vlen] = '\0';
	section = sec;
	s = config__ini_find(x->cfg, section, name);
	if (!s) {
		if (x->cfg->allow_unknown_ini)
			return 1;
		rd_escape(shown, sizeof(shown), name, strlen(name));
		if (*section || x->cfg->default_section)
			config__ini_fail(x, RD_ERR_CONFIG, "unknown key '%s' in [%s]", shown,
				*section ? rd_escape(shown_sec, sizeof(shown_sec), section, strlen(section))
					: x->cfg->default_section);
		else
			config__ini_fail(x, RD_ERR_CONFIG, "unknown key '%s'", shown);
		return 0;
	}
	if (s == config__config_entry(x->cfg)) {
		config__ini_fail(x, RD_ERR_CONFIG, "%s: cannot be set inside a config file", s->name);
		return 0;
	}
	/* One pair of surrounding double quotes is dropped: path = "/a b". */
	vlen = strlen(value);
	if (vlen >= sizeof(val))
		vlen = sizeof(val) - 1;
	memcpy(val, value, vlen);
	val[vlen] = '\0';
	if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
		memmove(val, val + 1, vlen - 2);
		val[vlen - 2] = '\0';
	}
	snprintf(src, sizeof(src), "%s:%d: %s", x->name, x->line,
		rd_escape(shown, sizeof(shown), name, strlen(name)));
	rc = rd_config_set(x->cfg, x->out, s, val, src, x->err, x->errlen);
	if (s->flags & RD_CFG_SECRET)
		sodium_memzero(val, sizeof(val));
	if (rc) {
		x->failed = true;
		x->rc = rc == RD_ERR_NOMEM ? rc : RD_ERR_CONFIG;
		return 0;
	}
	return 1;
}

static int config__ini_run(struct config_ini *x)
{
	bool multiline = ini_allow_multiline;
	int rc;

	/* Indented lines are ordinary lines, never continuations of a value. */
	ini_allow_multiline = false;
	rc = ini_parse_stream(config__ini_reader, x, config__ini_handler, x);
	ini_allow_multiline = multiline;
	if (x->failed)
		return x->rc;
	if (rc > 0) {
		config__err(x->err, x->errlen, "%s:%d: syntax error (expected 'key = value' or '[section]')",
			x->name, rc);
		return RD_ERR_CONFIG;
	}
	if (rc < 0) {
		config__err(x->err, x->errlen, "%s: cannot parse (%d)", x->name, rc);
		return RD_ERR_CONFIG;
	}
	return RD_OK;
}

int rd_config_load_ini_string(const struct rd_config *cfg, void *out, const char *text,
	const char *name, char *err, size_t errlen)
{
	struct config_ini x = {
		.cfg = cfg, .out = out, .name = name ? name : "(string)", .str = text,
		.err = err, .errlen = errlen,
	};

	if (!text)
		return RD_ERR_INVAL;
	return config__ini_run(&x);
}

/* missing_ok: a file that does not exist is no error (the built-in default path). */
int config__ini_file(const struct rd_config *cfg, void *out, const char *path,
	bool missing_ok, char *err, size_t errlen)
{
	struct config_ini x = {
		.cfg = cfg, .out = out, .name = path, .err = err, .errlen = errlen,
	};
	int rc;

	x.f = fopen(path, "re");
	if (!x.f) {
		if (missing_ok && errno == ENOENT)
			return RD_OK;
		config__err(err, errlen, "config file %s: %s", path, strerror(errno));
		return RD_ERR_CONFIG;
	}
	rc = config__ini_run(&x);
	fclose(x.f);
	return rc;
}

int rd_config_load_ini(const struct rd_config *cfg, void *out, const char *path,
	char *err, size_t errlen)
{
	return config__ini_file(cfg, out, path, false, err, errlen);
}

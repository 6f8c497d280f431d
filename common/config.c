/* config: settings from defaults, an INI file (inih), RDESK_* environment
 * variables and command-line flags, all driven by one table per program.
 *
 * The settings struct passed as `out` must start zeroed: string values are
 * replaced (and the old value freed) every time a source sets them. */
#define RD_LOG_SUBSYS "config"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "log.h"

#define CFG_SOURCE_MAX 320   /* "FILE:LINE: key" */
#define CFG_SHOWN_MAX 80     /* a value quoted in an error message */
#define CFG_ENV_MAX 96
#define CFG_FILE_MAX (1u << 20)
#define CFG_USAGE_COL 32     /* help text starts at most at this column */

static void config__err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void config__err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void *config__field(void *out, const struct rd_setting *s)
{
	return (char *)out + s->offset;
}

static bool config__takes_arg(const struct rd_setting *s)
{
	return s->type != RD_CFG_BOOL && s->type != RD_CFG_ACTION;
}

static bool config__ranged(const struct rd_setting *s)
{
	return s->min != 0 || s->max != 0;
}

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

static const struct rd_setting *config__find_long(const struct rd_config *cfg,
	const char *name, size_t len)
{
	for (size_t i = 0; i < cfg->n; i++) {
		if (strlen(cfg->table[i].name) == len && !memcmp(cfg->table[i].name, name, len))
			return &cfg->table[i];
	}
	return NULL;
}

static const struct rd_setting *config__find_short(const struct rd_config *cfg, char c)
{
	for (size_t i = 0; i < cfg->n; i++) {
		if (cfg->table[i].short_opt && cfg->table[i].short_opt == c)
			return &cfg->table[i];
	}
	return NULL;
}

static const struct rd_setting *config__config_entry(const struct rd_config *cfg)
{
	if (!cfg->config_setting)
		return NULL;
	return config__find_long(cfg, cfg->config_setting, strlen(cfg->config_setting));
}

const char *rd_config_env_name(const struct rd_setting *s, char *buf, size_t bufsz)
{
	size_t pos = 0;

	if (!bufsz)
		return buf;
	if (s->env) {
		snprintf(buf, bufsz, "%s", s->env);
		return buf;
	}
	for (const char *p = "RDESK_"; *p && pos + 1 < bufsz; p++)
		buf[pos++] = *p;
	for (const char *p = s->name; *p && pos + 1 < bufsz; p++)
		buf[pos++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	buf[pos] = '\0';
	return buf;
}

/* ---- values ---- */

static int config__parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return RD_OK;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return RD_OK;
		}
	}
	return RD_ERR_INVAL;
}

/* Decimal, or hexadecimal with 0x. No leading or trailing junk. */
static int config__parse_long(const char *v, long *out)
{
	const char *p = v;
	char *end;
	int base = 10;

	if (*p == '+' || *p == '-')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16;
	if (!isalnum((unsigned char)*p))
		return RD_ERR_INVAL;
	errno = 0;
	*out = strtol(v, &end, base);
	if (end == v || *end)
		return RD_ERR_INVAL;
	if (errno == ERANGE)
		return RD_ERR_TOOBIG;
	return RD_OK;
}

static int config__parse_double(const char *v, double *out)
{
	char *end;

	if (!*v || isspace((unsigned char)*v))
		return RD_ERR_INVAL;
	errno = 0;
	*out = strtod(v, &end);
	if (end == v || *end || !isfinite(*out))
		return RD_ERR_INVAL;
	if (errno == ERANGE)
		return RD_ERR_TOOBIG;
	return RD_OK;
}

int rd_config_set(const struct rd_config *cfg, void *out, const struct rd_setting *s,
	const char *value, const char *source, char *err, size_t errlen)
{
	char src[CFG_SOURCE_MAX], esc[CFG_SHOWN_MAX], shown[CFG_SHOWN_MAX + 2];
	bool secret = s->flags & RD_CFG_SECRET;
	void *p = config__field(out, s);
	long lv;
	double dv;
	bool bv;
	int rc;

	(void)cfg;
	if (!source) {
		snprintf(src, sizeof(src), "option --%s", s->name);
		source = src;
	}
	if (!value) {
		config__err(err, errlen, "%s: missing value", source);
		return RD_ERR_CONFIG;
	}
	if (secret)
		snprintf(shown, sizeof(shown), "value");
	else
		snprintf(shown, sizeof(shown), "'%s'", rd_escape(esc, sizeof(esc), value, strlen(value)));

	switch (s->type) {
	case RD_CFG_STR: {
		char *dup = strdup(value);
		if (!dup) {
			config__err(err, errlen, "%s: out of memory", source);
			return RD_ERR_NOMEM;
		}
		free(*(char **)p);
		*(char **)p = dup;
		return RD_OK;
	}
	case RD_CFG_INT:
		rc = config__parse_long(value, &lv);
		if (rc == RD_ERR_INVAL) {
			config__err(err, errlen, "%s: %s is not an integer", source, shown);
			return RD_ERR_CONFIG;
		}
		if (rc == RD_ERR_TOOBIG || (config__ranged(s) && (lv < s->min || lv > s->max))) {
			if (config__ranged(s))
				config__err(err, errlen, "%s: %s is out of range (%.0f to %.0f)",
					source, shown, s->min, s->max);
			else
				config__err(err, errlen, "%s: %s is out of range", source, shown);
			return RD_ERR_CONFIG;
		}
		*(long *)p = lv;
		return RD_OK;
	case RD_CFG_DOUBLE:
		rc = config__parse_double(value, &dv);
		if (rc == RD_ERR_INVAL) {
			config__err(err, errlen, "%s: %s is not a number", source, shown);
			return RD_ERR_CONFIG;
		}
		if (rc == RD_ERR_TOOBIG || (config__ranged(s) && (dv < s->min || dv > s->max))) {
			if (config__ranged(s))
				config__err(err, errlen, "%s: %s is out of range (%g to %g)",
					source, shown, s->min, s->max);
			else
				config__err(err, errlen, "%s: %s is out of range", source, shown);
			return RD_ERR_CONFIG;
		}
		*(double *)p = dv;
		return RD_OK;
	case RD_CFG_BOOL:
	case RD_CFG_ACTION:
		if (config__parse_bool(value, &bv)) {
			config__err(err, errlen,
				"%s: %s is not a boolean (use yes/no, true/false, on/off or 1/0)",
				source, shown);
			return RD_ERR_CONFIG;
		}
		*(bool *)p = bv;
		return RD_OK;
	}
	config__err(err, errlen, "%s: unknown setting type", source);
	return RD_ERR_INVAL;
}

int rd_config_defaults(const struct rd_config *cfg, void *out, char *err, size_t errlen)
{
	char src[CFG_SOURCE_MAX];

	for (size_t i = 0; i < cfg->n; i++) {
		const struct rd_setting *s = &cfg->table[i];
		void *p = config__field(out, s);
		int rc;

		switch (s->type) {
		case RD_CFG_STR:
			free(*(char **)p);
			*(char **)p = NULL;
			break;
		case RD_CFG_INT:
			*(long *)p = 0;
			break;
		case RD_CFG_DOUBLE:
			*(double *)p = 0;
			break;
		case RD_CFG_BOOL:
		case RD_CFG_ACTION:
			*(bool *)p = false;
			break;
		}
		if (!s->def)
			continue;
		snprintf(src, sizeof(src), "default of --%s", s->name);
		rc = rd_config_set(cfg, out, s, s->def, src, err, errlen);
		if (rc)
			return rc;
	}
	return RD_OK;
}

void rd_config_free(const struct rd_config *cfg, void *out)
{
	for (size_t i = 0; i < cfg->n; i++) {
		if (cfg->table[i].type == RD_CFG_STR) {
			char **p = config__field(out, &cfg->table[i]);
			free(*p);
			*p = NULL;
		}
	}
}

/* ---- INI files ---- */

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
static int config__ini_file(const struct rd_config *cfg, void *out, const char *path,
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

/* ---- environment ---- */

static int config__env(const struct rd_config *cfg, void *out, char *err, size_t errlen)
{
	char name[CFG_ENV_MAX], src[CFG_ENV_MAX + 16];

	for (size_t i = 0; i < cfg->n; i++) {
		const struct rd_setting *s = &cfg->table[i];
		const char *v;
		int rc;

		if (s->type == RD_CFG_ACTION || (s->flags & RD_CFG_NO_ENV))
			continue;
		v = getenv(rd_config_env_name(s, name, sizeof(name)));
		if (!v)
			continue;
		snprintf(src, sizeof(src), "environment %s", name);
		rc = rd_config_set(cfg, out, s, v, src, err, errlen);
		if (rc)
			return rc;
	}
	return RD_OK;
}

/* ---- flags ---- */

static const char config_true[] = "true";

/* Called for each option found; value is "true" for options without argument. */
typedef int (*config_flag_fn)(void *ctx, const struct rd_setting *s, const char *value,
	const char *source, char *err, size_t errlen);

struct config_flags {
	const struct rd_config *cfg;
	config_flag_fn fn;
	void *ctx;
	char *err;
	size_t errlen;
};

static int config__long_opt(struct config_flags *fl, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *value = config_true;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct rd_setting *s = config__find_long(fl->cfg, arg, len);
	char src[CFG_SOURCE_MAX], shown[CFG_SHOWN_MAX];

	if (!s && len > 3 && !memcmp(arg, "no-", 3)) {
		s = config__find_long(fl->cfg, arg + 3, len - 3);
		if (s && s->type == RD_CFG_BOOL)
			value = "false";
		else
			s = NULL;
		if (s && eq) {
			config__err(fl->err, fl->errlen, "option --%.*s: takes no argument",
				(int)len, arg);
			return RD_ERR_CONFIG;
		}
	}
	rd_escape(shown, sizeof(shown), arg, len);
	if (!s) {
		config__err(fl->err, fl->errlen, "option --%s: unknown option", shown);
		return RD_ERR_CONFIG;
	}
	snprintf(src, sizeof(src), "option --%s", shown);
	if (!config__takes_arg(s)) {
		if (eq) {
			config__err(fl->err, fl->errlen, "%s: takes no argument", src);
			return RD_ERR_CONFIG;
		}
	} else if (eq) {
		value = eq + 1;
	} else if (*i + 1 < argc) {
		value = argv[++*i];
	} else {
		config__err(fl->err, fl->errlen, "%s: requires an argument", src);
		return RD_ERR_CONFIG;
	}
	return fl->fn(fl->ctx, s, value, src, fl->err, fl->errlen);
}

/* -x, -xVALUE, -x VALUE, and grouped flags without argument (-vq). */
static int config__short_opts(struct config_flags *fl, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	char src[32], shown[8];

	for (size_t j = 1; arg[j]; j++) {
		const struct rd_setting *s = config__find_short(fl->cfg, arg[j]);
		const char *value = config_true;
		int rc;

		snprintf(src, sizeof(src), "option -%s", rd_escape(shown, sizeof(shown), &arg[j], 1));
		if (!s) {
			config__err(fl->err, fl->errlen, "%s: unknown option", src);
			return RD_ERR_CONFIG;
		}
		if (config__takes_arg(s)) {
			if (arg[j + 1]) {
				value = &arg[j + 1];
			} else if (*i + 1 < argc) {
				value = argv[++*i];
			} else {
				config__err(fl->err, fl->errlen, "%s: requires an argument", src);
				return RD_ERR_CONFIG;
			}
		}
		rc = fl->fn(fl->ctx, s, value, src, fl->err, fl->errlen);
		if (rc || value != config_true)
			return rc;
	}
	return RD_OK;
}

/* Walks argv[1..argc). Without stop_at_positional, positional arguments are
 * moved behind the options (keeping their order) when permute is set.
 * *end is the index of the first positional argument. */
static int config__flags(struct config_flags *fl, int argc, char **argv, bool permute, int *end)
{
	char **pos = NULL;
	int npos = 0, nopt = 1, i, rc = RD_OK;

	if (permute && argc > 1) {
		pos = calloc((size_t)argc, sizeof(*pos));
		if (!pos) {
			config__err(fl->err, fl->errlen, "out of memory");
			return RD_ERR_NOMEM;
		}
	}
	for (i = 1; i < argc; i++) {
		char *arg = argv[i];
		int first = i;

		if (!strcmp(arg, "--")) {
			if (!pos) {
				*end = i + 1;
				goto out;
			}
			argv[nopt++] = arg;
			for (i++; i < argc; i++)
				pos[npos++] = argv[i];
			break;
		}
		if (arg[0] != '-' || !arg[1]) {
			if (!pos)
				break;
			pos[npos++] = arg;
			continue;
		}
		rc = arg[1] == '-' ? config__long_opt(fl, argc, argv, &i)
			: config__short_opts(fl, argc, argv, &i);
		if (rc)
			goto out;
		if (pos) {
			for (int k = first; k <= i; k++)
				argv[nopt++] = argv[k];
		}
	}
	if (pos) {
		*end = nopt;
		for (int k = 0; k < npos; k++)
			argv[nopt++] = pos[k];
	} else {
		*end = i;
	}
out:
	free(pos);
	return rc;
}

static int config__apply_flag(void *ctx, const struct rd_setting *s, const char *value,
	const char *source, char *err, size_t errlen)
{
	void **a = ctx;
	return rd_config_set(a[0], a[1], s, value, source, err, errlen);
}

int rd_config_parse_flags(const struct rd_config *cfg, void *out, int argc, char **argv,
	int *argi, char *err, size_t errlen)
{
	void *a[2] = { (void *)cfg, out };
	struct config_flags fl = {
		.cfg = cfg, .fn = config__apply_flag, .ctx = a, .err = err, .errlen = errlen,
	};
	int end = argc, rc;

	rc = config__flags(&fl, argc, argv, !cfg->stop_at_positional, &end);
	if (!rc && argi)
		*argi = end;
	return rc;
}

struct config_scan {
	const struct rd_setting *entry;
	const char *value;
};

/* First pass: syntax only, and remember the config file flag. */
static int config__scan_flag(void *ctx, const struct rd_setting *s, const char *value,
	const char *source, char *err, size_t errlen)
{
	struct config_scan *sc = ctx;

	(void)source, (void)err, (void)errlen;
	if (s == sc->entry)
		sc->value = value;
	return RD_OK;
}

int rd_config_load(const struct rd_config *cfg, void *out, int argc, char **argv,
	int *argi, char *err, size_t errlen)
{
	struct config_scan sc = { .entry = config__config_entry(cfg) };
	struct config_flags fl = {
		.cfg = cfg, .fn = config__scan_flag, .ctx = &sc, .err = err, .errlen = errlen,
	};
	int end = argc, rc;

	rc = rd_config_defaults(cfg, out, err, errlen);
	if (rc)
		return rc;
	rc = config__flags(&fl, argc, argv, !cfg->stop_at_positional, &end);
	if (rc)
		return rc;
	if (sc.entry) {
		char name[CFG_ENV_MAX];
		const char *path = sc.value;
		/* A file named by flag or environment must exist; the default may not. */
		if (!path && !(sc.entry->flags & RD_CFG_NO_ENV))
			path = getenv(rd_config_env_name(sc.entry, name, sizeof(name)));
		if (path && *path)
			rc = config__ini_file(cfg, out, path, false, err, errlen);
		else if (!path && sc.entry->def && *sc.entry->def)
			rc = config__ini_file(cfg, out, sc.entry->def, true, err, errlen);
		if (rc)
			return rc;
	}
	rc = config__env(cfg, out, err, errlen);
	if (rc)
		return rc;
	/* The options are in front now; apply them in order. */
	rc = rd_config_parse_flags(&(struct rd_config){ .table = cfg->table, .n = cfg->n,
		.stop_at_positional = true }, out, end, argv, NULL, err, errlen);
	if (rc)
		return rc;
	if (argi)
		*argi = end;
	return RD_OK;
}

/* ---- help ---- */

static void config__default_text(const struct rd_setting *s, char *buf, size_t sz)
{
	bool b;

	buf[0] = '\0';
	if (!s->def || (s->flags & RD_CFG_SECRET) || s->type == RD_CFG_ACTION)
		return;
	if (s->type == RD_CFG_BOOL) {
		if (!config__parse_bool(s->def, &b) && b)
			snprintf(buf, sz, "on");
		return;
	}
	if (*s->def)
		snprintf(buf, sz, "%s", s->def);
}

static const char *config__metavar(const struct rd_setting *s)
{
	if (s->metavar)
		return s->metavar;
	switch (s->type) {
	case RD_CFG_INT: return "N";
	case RD_CFG_DOUBLE: return "NUM";
	default: return "VALUE";
	}
}

static int config__usage_left(const struct rd_setting *s, char *buf, size_t sz)
{
	char sh[8] = "    ";

	if (s->short_opt)
		snprintf(sh, sizeof(sh), "-%c, ", s->short_opt);
	if (config__takes_arg(s))
		return snprintf(buf, sz, "  %s--%s %s", sh, s->name, config__metavar(s));
	return snprintf(buf, sz, "  %s--%s", sh, s->name);
}

void rd_config_usage(const struct rd_config *cfg, FILE *f)
{
	char left[160], def[128], env[CFG_ENV_MAX];
	int width = 0;

	for (size_t i = 0; i < cfg->n; i++) {
		int w = config__usage_left(&cfg->table[i], left, sizeof(left));
		if (w > width && w + 2 <= CFG_USAGE_COL)
			width = w;
	}
	if (cfg->prog)
		fprintf(f, "Usage: %s [options]\n\nOptions:\n", cfg->prog);
	for (size_t i = 0; i < cfg->n; i++) {
		const struct rd_setting *s = &cfg->table[i];
		int w = config__usage_left(s, left, sizeof(left));
		bool has_env = s->type != RD_CFG_ACTION && !(s->flags & RD_CFG_NO_ENV);

		config__default_text(s, def, sizeof(def));
		if (w > width)
			fprintf(f, "%s\n%*s", left, width + 2, "");
		else
			fprintf(f, "%-*s", width + 2, left);
		fprintf(f, "%s", s->help ? s->help : "");
		if (*def || has_env) {
			fprintf(f, " (");
			if (*def)
				fprintf(f, "default: %s%s", def, has_env ? "; " : "");
			if (has_env)
				fprintf(f, "env: %s", rd_config_env_name(s, env, sizeof(env)));
			fprintf(f, ")");
		}
		fprintf(f, "\n");
	}
}

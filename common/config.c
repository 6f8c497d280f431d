/* config: settings from defaults, an INI file (inih), RDESK_* environment
 * variables and command-line flags, all driven by one table per program.
 * The INI side is in config_ini.c.
 *
 * The settings struct passed as `out` must start zeroed: string values are
 * replaced (and the old value freed) every time a source sets them. */
#define RD_LOG_SUBSYS "config"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "err.h"
#include "log.h"

#define CFG_ENV_MAX 96
#define CFG_USAGE_COL 32     /* help text starts at most at this column */

void config__err(char *err, size_t errlen, const char *fmt, ...)
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

const struct rd_setting *config__config_entry(const struct rd_config *cfg)
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
	if (cfg->prog)
		fprintf(f, "Usage: %s [options]\n\nOptions:\n", cfg->prog);
	rd_config_usage_options(cfg, f);
}

void rd_config_usage_options(const struct rd_config *cfg, FILE *f)
{
	char left[160], def[128], env[CFG_ENV_MAX];
	int width = 0;

	for (size_t i = 0; i < cfg->n; i++) {
		int w = config__usage_left(&cfg->table[i], left, sizeof(left));
		if (w > width && w + 2 <= CFG_USAGE_COL)
			width = w;
	}
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

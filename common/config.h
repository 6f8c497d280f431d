/* config: one settings table per program drives INI files (inih), RDESK_*
 * environment variables, command-line flags, --help and the man page.
 * Precedence: flag > environment > INI file > built-in default.
 *
 * A table entry names a long option (--data-dir), an optional short option,
 * the INI [section] and key, the environment variable (derived from the long
 * name when NULL: "data-dir" -> RDESK_DATA_DIR), the type, the default and help.
 * Values are stored at an offset into the program's own settings struct. */
#ifndef RD_CONFIG_H
#define RD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum rd_cfg_type {
	RD_CFG_STR,    /* char * (malloc'd; rd_config_free releases) */
	RD_CFG_INT,    /* long, checked against [min, max] */
	RD_CFG_BOOL,   /* bool; flag takes no argument; INI/env: yes/no/true/false/1/0/on/off */
	RD_CFG_DOUBLE, /* double, checked against [min, max] */
	RD_CFG_ACTION, /* bool set by a flag only (--print-key, --version); not in INI/env */
};

enum {
	RD_CFG_NO_INI = 1 << 0, /* flag/env only */
	RD_CFG_NO_ENV = 1 << 1, /* flag/INI only */
	RD_CFG_SECRET = 1 << 2, /* never printed (dump, errors show no value) */
};

struct rd_setting {
	const char *name;     /* long option without "--"; also the INI key when key is NULL */
	char short_opt;       /* 0 = none */
	const char *section;  /* INI section; NULL = the program's default section */
	const char *key;      /* INI key; NULL = name */
	const char *env;      /* environment variable; NULL = derived from name */
	enum rd_cfg_type type;
	const char *def;      /* default as text; NULL = unset (STR stays NULL) */
	const char *metavar;  /* for help: "PORT" */
	const char *help;
	size_t offset;        /* offsetof(struct program_settings, field) */
	double min, max;      /* INT/DOUBLE range (both 0 = unchecked) */
	unsigned flags;
};

struct rd_config {
	const char *prog;              /* program name for help */
	const char *default_section;   /* section for entries with section == NULL */
	const char *config_setting;    /* name of the entry holding the config path ("config"), or NULL */
	const struct rd_setting *table;
	size_t n;
	bool allow_unknown_ini;        /* ignore unknown INI keys instead of failing */
	bool stop_at_positional;       /* stop flag parsing at the first non-option (verbs) */
};

/* Apply defaults, then the INI file (path from the config setting as given by
 * flag, env or default; a missing file is fine only when it is the built-in
 * default), then the environment, then flags. On success *argi is the index of
 * the first unparsed argument. On failure returns RD_ERR_CONFIG and writes a
 * message naming the source (file:line, variable or flag) into err. */
int rd_config_load(const struct rd_config *cfg, void *out, int argc, char **argv,
	int *argi, char *err, size_t errlen);

/* Parse only flags (for verb-specific tables; no INI/env). */
int rd_config_parse_flags(const struct rd_config *cfg, void *out, int argc, char **argv,
	int *argi, char *err, size_t errlen);
/* Apply defaults only. */
int rd_config_defaults(const struct rd_config *cfg, void *out, char *err, size_t errlen);
/* Parse one INI file into out (used by load; exposed for tests and fuzzing). */
int rd_config_load_ini(const struct rd_config *cfg, void *out, const char *path,
	char *err, size_t errlen);
int rd_config_load_ini_string(const struct rd_config *cfg, void *out, const char *text,
	const char *name, char *err, size_t errlen);
/* Set one entry from text (used by all sources). */
int rd_config_set(const struct rd_config *cfg, void *out, const struct rd_setting *s,
	const char *value, const char *source, char *err, size_t errlen);

/* Usage text: one line per option with metavar, default and env name. */
void rd_config_usage(const struct rd_config *cfg, FILE *f);
/* The option lines alone, for a program that prints its own usage header. */
void rd_config_usage_options(const struct rd_config *cfg, FILE *f);
/* Free STR values. */
void rd_config_free(const struct rd_config *cfg, void *out);

/* The environment variable name of an entry into buf. */
const char *rd_config_env_name(const struct rd_setting *s, char *buf, size_t bufsz);

#endif

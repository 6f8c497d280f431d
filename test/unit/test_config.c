/* config: defaults, INI files, environment and flags from one table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

struct settings {
	char *config;
	char *name;
	long port;
	bool verbose;
	double ratio;
	bool print_key;
	long pin;
	char *password;
	char *data_dir;
	bool tls;
	long depth;
};

static const struct rd_setting table[] = {
	{ .name = "config", .short_opt = 'c', .type = RD_CFG_STR, .def = NULL, .metavar = "FILE",
	  .help = "config file", .offset = offsetof(struct settings, config), .flags = RD_CFG_NO_INI },
	{ .name = "name", .short_opt = 'n', .type = RD_CFG_STR, .def = "alpha", .metavar = "NAME",
	  .help = "a name", .offset = offsetof(struct settings, name) },
	{ .name = "port", .short_opt = 'p', .type = RD_CFG_INT, .def = "21117", .metavar = "PORT",
	  .help = "listen port", .offset = offsetof(struct settings, port), .min = 1, .max = 65535 },
	{ .name = "verbose", .short_opt = 'v', .type = RD_CFG_BOOL, .def = "no",
	  .help = "more logs", .offset = offsetof(struct settings, verbose) },
	{ .name = "ratio", .type = RD_CFG_DOUBLE, .def = "0.5", .metavar = "R",
	  .help = "a ratio", .offset = offsetof(struct settings, ratio), .min = 0, .max = 1 },
	{ .name = "print-key", .short_opt = 'k', .type = RD_CFG_ACTION,
	  .help = "print the key and exit", .offset = offsetof(struct settings, print_key) },
	{ .name = "pin", .type = RD_CFG_INT, .section = "secret", .help = "a secret number",
	  .offset = offsetof(struct settings, pin), .min = 1000, .max = 9999, .flags = RD_CFG_SECRET },
	{ .name = "password", .type = RD_CFG_STR, .section = "secret", .def = "s3cr3t-default",
	  .help = "login password", .offset = offsetof(struct settings, password), .flags = RD_CFG_SECRET },
	{ .name = "data-dir", .type = RD_CFG_STR, .section = "storage", .key = "dir", .def = "/var/lib/x",
	  .metavar = "DIR", .help = "state folder", .offset = offsetof(struct settings, data_dir) },
	{ .name = "tls", .type = RD_CFG_BOOL, .def = "yes", .env = "MY_TLS", .help = "use tls",
	  .offset = offsetof(struct settings, tls), .flags = RD_CFG_NO_ENV },
	{ .name = "depth", .short_opt = 'd', .type = RD_CFG_INT, .def = "3", .env = "X_DEPTH",
	  .help = "how deep", .offset = offsetof(struct settings, depth) },
};

static char tmpdir[256];
static char default_path[300];

static struct rd_config cfg = {
	.prog = "rd-test",
	.default_section = "main",
	.config_setting = "config",
	.table = table,
	.n = sizeof(table) / sizeof(table[0]),
};

static const char *env_names[] = {
	"RDESK_CONFIG", "RDESK_NAME", "RDESK_PORT", "RDESK_VERBOSE", "RDESK_RATIO", "RDESK_PIN",
	"RDESK_PASSWORD", "RDESK_DATA_DIR", "MY_TLS", "RDESK_TLS", "X_DEPTH", "RDESK_PRINT_KEY",
};

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
	return 0;
}

static int teardown(void **state)
{
	return setup(state);
}

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/rd-config-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(default_path, sizeof(default_path), "%s/default.ini", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[400];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
	static char path[8][320];
	static int next;
	char *p = path[next++ % 8];
	FILE *f;

	snprintf(p, 320, "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return p;
}

/* Run rd_config_load on a NULL-terminated argument list. */
static int load(struct settings *s, char *err, size_t errlen, int *argi, ...)
{
	static char *argv[32];
	int argc = 0, rc, ai = -1;
	va_list ap;

	argv[argc++] = "rd-test";
	va_start(ap, argi);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	rc = rd_config_load(&cfg, s, argc, argv, &ai, err, errlen);
	if (argi)
		*argi = ai;
	return rc;
}

static void test_defaults(void **state)
{
	struct settings s = { 0 };
	char err[256];
	(void)state;

	assert_int_equal(rd_config_defaults(&cfg, &s, err, sizeof(err)), RD_OK);
	assert_null(s.config);
	assert_string_equal(s.name, "alpha");
	assert_int_equal(s.port, 21117);
	assert_false(s.verbose);
	assert_true(s.ratio == 0.5);
	assert_false(s.print_key);
	assert_int_equal(s.pin, 0);
	assert_string_equal(s.data_dir, "/var/lib/x");
	assert_true(s.tls);
	/* a second call replaces the strings without leaking them */
	assert_int_equal(rd_config_defaults(&cfg, &s, err, sizeof(err)), RD_OK);
	rd_config_free(&cfg, &s);
	assert_null(s.name);
	assert_null(s.data_dir);
}

/* For every type: default < file < environment < flag. */
static void test_precedence(void **state)
{
	struct settings s = { 0 };
	char err[256];
	int argi;
	const char *ini = write_file("prec.ini",
		"name = from-file\nport = 1000\nverbose = yes\nratio = 0.25\n"
		"[storage]\ndir = /file/dir\n[main]\ntls = off\ndepth = 7\n");
	(void)state;

	/* default only (no config file named, no default path) */
	assert_int_equal(load(&s, err, sizeof(err), &argi, NULL), RD_OK);
	assert_string_equal(s.name, "alpha");
	assert_int_equal(s.port, 21117);
	assert_false(s.verbose);
	assert_true(s.ratio == 0.5);
	assert_string_equal(s.data_dir, "/var/lib/x");
	assert_true(s.tls);
	assert_int_equal(s.depth, 3);
	assert_int_equal(argi, 1);

	/* file over default */
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--config", ini, NULL), RD_OK);
	assert_string_equal(s.config, ini);
	assert_string_equal(s.name, "from-file");
	assert_int_equal(s.port, 1000);
	assert_true(s.verbose);
	assert_true(s.ratio == 0.25);
	assert_string_equal(s.data_dir, "/file/dir");
	assert_false(s.tls);
	assert_int_equal(s.depth, 7);

	/* environment over file (the file named by the environment too) */
	setenv("RDESK_CONFIG", ini, 1);
	setenv("RDESK_NAME", "from-env", 1);
	setenv("RDESK_PORT", "2000", 1);
	setenv("RDESK_VERBOSE", "false", 1);
	setenv("RDESK_RATIO", "0.75", 1);
	setenv("RDESK_DATA_DIR", "/env/dir", 1);
	setenv("MY_TLS", "on", 1);      /* NO_ENV: ignored */
	setenv("RDESK_TLS", "on", 1);   /* NO_ENV: ignored */
	setenv("X_DEPTH", "8", 1);      /* explicit env name */
	assert_int_equal(load(&s, err, sizeof(err), NULL, NULL), RD_OK);
	assert_string_equal(s.config, ini);
	assert_string_equal(s.name, "from-env");
	assert_int_equal(s.port, 2000);
	assert_false(s.verbose);
	assert_true(s.ratio == 0.75);
	assert_string_equal(s.data_dir, "/env/dir");
	assert_false(s.tls);
	assert_int_equal(s.depth, 8);

	/* flags over environment */
	assert_int_equal(load(&s, err, sizeof(err), &argi, "--name", "from-flag", "--port=3000",
		"--verbose", "--ratio", "1", "--data-dir=/flag/dir", "--tls", "-d", "9", NULL), RD_OK);
	assert_string_equal(s.name, "from-flag");
	assert_int_equal(s.port, 3000);
	assert_true(s.verbose);
	assert_true(s.ratio == 1.0);
	assert_string_equal(s.data_dir, "/flag/dir");
	assert_true(s.tls);
	assert_int_equal(s.depth, 9);
	assert_int_equal(argi, 11);

	/* --no-NAME turns a bool off over the environment and file */
	setenv("RDESK_VERBOSE", "yes", 1);
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--no-verbose", NULL), RD_OK);
	assert_false(s.verbose);
	/* the last flag wins */
	assert_int_equal(load(&s, err, sizeof(err), NULL, "-p", "5", "-p", "6", NULL), RD_OK);
	assert_int_equal(s.port, 6);
	rd_config_free(&cfg, &s);
}

static void test_ini_errors(void **state)
{
	struct settings s = { 0 };
	char err[256], want[512];
	const char *p;
	(void)state;

	p = write_file("bad-int.ini", "; comment\n\nport = abc\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:3: port: 'abc' is not an integer", p);
	assert_string_equal(err, want);

	p = write_file("range.ini", "[main]\nport = 70000\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: port: '70000' is out of range (1 to 65535)", p);
	assert_string_equal(err, want);

	p = write_file("unknown.ini", "[main]\nport = 7\n  bogus = 1\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:3: unknown key 'bogus' in [main]", p);
	assert_string_equal(err, want);

	p = write_file("unknown-top.ini", "bogus = 1\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:1: unknown key 'bogus' in [main]", p);
	assert_string_equal(err, want);

	/* a key of another section is unknown here */
	p = write_file("wrong-section.ini", "[storage]\nport = 1\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: unknown key 'port' in [storage]", p);
	assert_string_equal(err, want);

	p = write_file("section.ini", "port = 1\n\n[nosuch]\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:3: unknown section [nosuch]", p);
	assert_string_equal(err, want);

	p = write_file("bool.ini", "[main]\nverbose = maybe\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want),
		"%s:2: verbose: 'maybe' is not a boolean (use yes/no, true/false, on/off or 1/0)", p);
	assert_string_equal(err, want);

	p = write_file("double.ini", "ratio = 1.5\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:1: ratio: '1.5' is out of range (0 to 1)", p);
	assert_string_equal(err, want);

	p = write_file("nan.ini", "ratio = nan\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:1: ratio: 'nan' is not a number", p);
	assert_string_equal(err, want);

	p = write_file("syntax.ini", "port = 1\n[main]\nthis line has no equals sign\nport = 2\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:3: syntax error (expected 'key = value' or '[section]')", p);
	assert_string_equal(err, want);

	/* actions and the config path itself cannot come from a file */
	p = write_file("action.ini", "print-key = yes\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:1: unknown key 'print-key' in [main]", p);
	assert_string_equal(err, want);
	p = write_file("config.ini", "config = /x\n");
	assert_int_equal(rd_config_load_ini(&cfg, &s, p, err, sizeof(err)), RD_ERR_CONFIG);

	/* errors through rd_config_load name the file too */
	p = write_file("load.ini", "[main]\n\ndepth = -\n");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "-c", p, NULL), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:3: depth: '-' is not an integer", p);
	assert_string_equal(err, want);
	rd_config_free(&cfg, &s);
}

static void test_ini_syntax(void **state)
{
	struct settings s = { 0 };
	char err[256], longline[400];
	(void)state;

	assert_int_equal(rd_config_defaults(&cfg, &s, err, sizeof(err)), RD_OK);
	/* comments, CRLF, indented keys, quotes, '_' for '-', "key: value" */
	assert_int_equal(rd_config_load_ini_string(&cfg, &s,
		"# top comment\r\n"
		"; another\r\n"
		"name = \"two words\" ; inline comment\r\n"
		"[storage]\r\n"
		"    dir = /srv/x\r\n"
		"[ main ]\r\n"
		"    verbose = TRUE\r\n"
		"    port: 0x50\r\n"
		"print_key_not_here = 1\r\n", "mem.ini", err, sizeof(err)), RD_ERR_CONFIG);
	assert_string_equal(err, "mem.ini:9: unknown key 'print_key_not_here' in [main]");
	assert_string_equal(s.name, "two words");
	assert_string_equal(s.data_dir, "/srv/x");
	assert_true(s.verbose);
	assert_int_equal(s.port, 80);

	assert_int_equal(rd_config_load_ini_string(&cfg, &s, "[storage]\ndata_dir = /nope\n",
		"m.ini", err, sizeof(err)), RD_ERR_CONFIG);
	assert_string_equal(err, "m.ini:2: unknown key 'data_dir' in [storage]");
	assert_int_equal(rd_config_load_ini_string(&cfg, &s, "[main]\ndepth=-4\n", "m.ini", err,
		sizeof(err)), RD_OK);
	assert_int_equal(s.depth, -4);

	/* overlong lines are an error, not silently split */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "name = ", 7);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(rd_config_load_ini_string(&cfg, &s, longline, "m.ini", err, sizeof(err)),
		RD_ERR_CONFIG);
	assert_non_null(strstr(err, "m.ini:1: line too long"));

	/* unknown keys and sections are ignored when the table allows them */
	struct rd_config loose = cfg;
	loose.allow_unknown_ini = true;
	assert_int_equal(rd_config_load_ini_string(&loose, &s, "x = 1\n[other]\ny = 2\n[main]\nport = 9\n",
		"m.ini", err, sizeof(err)), RD_OK);
	assert_int_equal(s.port, 9);

	/* an empty string is an empty file */
	assert_int_equal(rd_config_load_ini_string(&cfg, &s, "", "m.ini", err, sizeof(err)), RD_OK);
	rd_config_free(&cfg, &s);
}

static void test_env_errors(void **state)
{
	struct settings s = { 0 };
	char err[256];
	(void)state;

	setenv("RDESK_PORT", "0", 1);
	assert_int_equal(load(&s, err, sizeof(err), NULL, NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "environment RDESK_PORT: '0' is out of range (1 to 65535)");
	unsetenv("RDESK_PORT");

	setenv("RDESK_VERBOSE", "2", 1);
	assert_int_equal(load(&s, err, sizeof(err), NULL, NULL), RD_ERR_CONFIG);
	assert_string_equal(err,
		"environment RDESK_VERBOSE: '2' is not a boolean (use yes/no, true/false, on/off or 1/0)");
	unsetenv("RDESK_VERBOSE");

	setenv("RDESK_RATIO", "0.5x", 1);
	assert_int_equal(load(&s, err, sizeof(err), NULL, NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "environment RDESK_RATIO: '0.5x' is not a number");
	unsetenv("RDESK_RATIO");

	setenv("X_DEPTH", "99999999999999999999999", 1);
	assert_int_equal(load(&s, err, sizeof(err), NULL, NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "environment X_DEPTH: '99999999999999999999999' is out of range");
	unsetenv("X_DEPTH");

	/* actions are never read from the environment */
	setenv("RDESK_PRINT_KEY", "yes", 1);
	assert_int_equal(load(&s, err, sizeof(err), NULL, NULL), RD_OK);
	assert_false(s.print_key);
	rd_config_free(&cfg, &s);
}

static void test_flag_errors(void **state)
{
	struct settings s = { 0 };
	char err[256];
	(void)state;

	assert_int_equal(load(&s, err, sizeof(err), NULL, "--port", "x1", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --port: 'x1' is not an integer");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "-p0", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option -p: '0' is out of range (1 to 65535)");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--bogus", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --bogus: unknown option");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--bogus=1", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --bogus: unknown option");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "-x", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option -x: unknown option");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--port", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --port: requires an argument");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "-vp", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option -p: requires an argument");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--verbose=yes", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --verbose: takes no argument");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--no-port", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --no-port: unknown option");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--ratio=-0.1", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --ratio: '-0.1' is out of range (0 to 1)");
	/* a bad flag is reported before a missing config file is looked at */
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--config", "/nonexistent/x.ini", "--nope",
		NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --nope: unknown option");
	rd_config_free(&cfg, &s);
}

static void test_short_and_forms(void **state)
{
	struct settings s = { 0 };
	char err[256];
	int argi;
	(void)state;

	assert_int_equal(load(&s, err, sizeof(err), &argi, "-p", "81", "-nbeta", NULL), RD_OK);
	assert_int_equal(s.port, 81);
	assert_string_equal(s.name, "beta");
	assert_int_equal(argi, 4);
	/* grouped flags, the last one taking the rest as its value */
	assert_int_equal(load(&s, err, sizeof(err), &argi, "-vkp82", NULL), RD_OK);
	assert_true(s.verbose);
	assert_true(s.print_key);
	assert_int_equal(s.port, 82);
	/* values may look like options or be empty */
	assert_int_equal(load(&s, err, sizeof(err), &argi, "--name", "--x", "-d", "-5", NULL), RD_OK);
	assert_string_equal(s.name, "--x");
	assert_int_equal(s.depth, -5);
	assert_int_equal(load(&s, err, sizeof(err), &argi, "--name=", "--name=a=b", NULL), RD_OK);
	assert_string_equal(s.name, "a=b");
	assert_int_equal(load(&s, err, sizeof(err), &argi, "--name=", NULL), RD_OK);
	assert_string_equal(s.name, "");
	rd_config_free(&cfg, &s);
}

static void test_positional(void **state)
{
	struct settings s = { 0 };
	struct rd_config verbs = cfg;
	char err[256];
	int argi = -1;
	(void)state;

	/* without stop_at_positional: positional arguments are moved to the end */
	char *argv1[] = { "prog", "a", "--port", "5", "b", "-v", "--", "--c", "-p", NULL };
	assert_int_equal(rd_config_load(&cfg, &s, 9, argv1, &argi, err, sizeof(err)), RD_OK);
	assert_int_equal(s.port, 5);
	assert_true(s.verbose);
	assert_int_equal(argi, 5);
	assert_string_equal(argv1[4], "--");
	assert_string_equal(argv1[5], "a");
	assert_string_equal(argv1[6], "b");
	assert_string_equal(argv1[7], "--c");
	assert_string_equal(argv1[8], "-p");

	/* with it: flags stop at the verb, the rest is left alone */
	verbs.stop_at_positional = true;
	char *argv2[] = { "rdctl", "-p", "6", "connect", "--port", "7", "x", NULL };
	assert_int_equal(rd_config_load(&verbs, &s, 7, argv2, &argi, err, sizeof(err)), RD_OK);
	assert_int_equal(s.port, 6);
	assert_int_equal(argi, 3);
	assert_string_equal(argv2[3], "connect");
	assert_string_equal(argv2[4], "--port");
	/* the verb's own table then parses its arguments */
	struct rd_config verb = { .table = table, .n = 4 };
	assert_int_equal(rd_config_parse_flags(&verb, &s, 4, argv2 + 3, &argi, err, sizeof(err)), RD_OK);
	assert_int_equal(s.port, 7);
	assert_int_equal(argi, 3);
	assert_string_equal(argv2[3 + argi], "x");

	char *argv3[] = { "rdctl", "--", "-p", NULL };
	assert_int_equal(rd_config_load(&verbs, &s, 3, argv3, &argi, err, sizeof(err)), RD_OK);
	assert_int_equal(argi, 2);
	assert_int_equal(s.port, 21117);
	/* "-" alone is a positional argument */
	char *argv4[] = { "rdctl", "-", NULL };
	assert_int_equal(rd_config_load(&verbs, &s, 2, argv4, &argi, err, sizeof(err)), RD_OK);
	assert_int_equal(argi, 1);
	rd_config_free(&cfg, &s);
}

static void test_config_file_path(void **state)
{
	struct settings s = { 0 };
	struct rd_config withdef = cfg;
	struct rd_setting t2[sizeof(table) / sizeof(table[0])];
	char err[256], missing[320], want[512];
	(void)state;

	snprintf(missing, sizeof(missing), "%s/missing.ini", tmpdir);
	/* explicit by flag or environment: a missing file is an error */
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--config", missing, NULL), RD_ERR_CONFIG);
	snprintf(want, sizeof(want), "config file %s: No such file or directory", missing);
	assert_string_equal(err, want);
	setenv("RDESK_CONFIG", missing, 1);
	assert_int_equal(load(&s, err, sizeof(err), NULL, NULL), RD_ERR_CONFIG);
	assert_string_equal(err, want);
	/* an empty path turns the file off */
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--config=", NULL), RD_OK);
	unsetenv("RDESK_CONFIG");

	/* the built-in default may be missing */
	memcpy(t2, table, sizeof(t2));
	t2[0].def = default_path;
	withdef.table = t2;
	unlink(default_path);
	assert_int_equal(rd_config_load(&withdef, &s, 1, (char *[]){ "p", NULL }, NULL, err,
		sizeof(err)), RD_OK);
	assert_string_equal(s.config, default_path);
	assert_int_equal(s.port, 21117);
	/* and is read when present */
	write_file("default.ini", "port = 4242\n");
	assert_int_equal(rd_config_load(&withdef, &s, 1, (char *[]){ "p", NULL }, NULL, err,
		sizeof(err)), RD_OK);
	assert_int_equal(s.port, 4242);
	/* a flag replaces the default path */
	const char *other = write_file("other.ini", "port = 4343\n");
	assert_int_equal(rd_config_load(&withdef, &s, 3, (char *[]){ "p", "-c", (char *)other, NULL },
		NULL, err, sizeof(err)), RD_OK);
	assert_int_equal(s.port, 4343);
	/* a directory is not a readable file even as the default */
	t2[0].def = tmpdir;
	assert_int_equal(rd_config_load(&withdef, &s, 1, (char *[]){ "p", NULL }, NULL, err,
		sizeof(err)), RD_ERR_CONFIG);
	assert_non_null(strstr(err, tmpdir));
	unlink(default_path);
	rd_config_free(&cfg, &s);
}

static void test_secrets(void **state)
{
	struct settings s = { 0 };
	char err[256];
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;
	(void)state;

	assert_int_equal(rd_config_load_ini_string(&cfg, &s, "[secret]\npin = hunter2\n", "s.ini",
		err, sizeof(err)), RD_ERR_CONFIG);
	assert_string_equal(err, "s.ini:2: pin: value is not an integer");
	assert_int_equal(rd_config_load_ini_string(&cfg, &s, "[secret]\npin = 123\n", "s.ini",
		err, sizeof(err)), RD_ERR_CONFIG);
	assert_string_equal(err, "s.ini:2: pin: value is out of range (1000 to 9999)");
	setenv("RDESK_PIN", "hunter2", 1);
	assert_int_equal(load(&s, err, sizeof(err), NULL, NULL), RD_ERR_CONFIG);
	assert_null(strstr(err, "hunter2"));
	assert_string_equal(err, "environment RDESK_PIN: value is not an integer");
	unsetenv("RDESK_PIN");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--pin=hunter2", NULL), RD_ERR_CONFIG);
	assert_string_equal(err, "option --pin: value is not an integer");
	assert_int_equal(load(&s, err, sizeof(err), NULL, "--pin", "4321", "--password", "pw", NULL), RD_OK);
	assert_int_equal(s.pin, 4321);
	assert_string_equal(s.password, "pw");

	/* the help text hides a secret default */
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	rd_config_usage(&cfg, f);
	fclose(f);
	assert_null(strstr(out, "s3cr3t"));
	free(out);
	rd_config_free(&cfg, &s);
}

static void test_usage(void **state)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	(void)state;

	assert_non_null(f);
	rd_config_usage(&cfg, f);
	fclose(f);
	const char *want =
		"Usage: rd-test [options]\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE     config file (env: RDESK_CONFIG)\n"
		"  -n, --name NAME       a name (default: alpha; env: RDESK_NAME)\n"
		"  -p, --port PORT       listen port (default: 21117; env: RDESK_PORT)\n"
		"  -v, --verbose         more logs (env: RDESK_VERBOSE)\n"
		"      --ratio R         a ratio (default: 0.5; env: RDESK_RATIO)\n"
		"  -k, --print-key       print the key and exit\n"
		"      --pin N           a secret number (env: RDESK_PIN)\n"
		"      --password VALUE  login password (env: RDESK_PASSWORD)\n"
		"      --data-dir DIR    state folder (default: /var/lib/x; env: RDESK_DATA_DIR)\n"
		"      --tls             use tls (default: on)\n"
		"  -d, --depth N         how deep (default: 3; env: X_DEPTH)\n";
	assert_string_equal(out, want);
	free(out);
}

static void test_env_name(void **state)
{
	char buf[64];
	struct rd_setting a = { .name = "data-dir" }, b = { .name = "x.y-z2" }, c = { .name = "q", .env = "MINE" };
	(void)state;

	assert_string_equal(rd_config_env_name(&a, buf, sizeof(buf)), "RDESK_DATA_DIR");
	assert_string_equal(rd_config_env_name(&b, buf, sizeof(buf)), "RDESK_X_Y_Z2");
	assert_string_equal(rd_config_env_name(&c, buf, sizeof(buf)), "MINE");
	assert_string_equal(rd_config_env_name(&a, buf, 8), "RDESK_D");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ini_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ini_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_and_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_positional, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_file_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_name, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

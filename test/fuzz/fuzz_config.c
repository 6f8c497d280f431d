/* libFuzzer target: the INI side of config (inih plus our line checks,
 * section/key lookup, quoting and value parsing of every type). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct fuzz_settings {
	char *name;
	long port;
	bool verbose;
	double ratio;
	char *secret;
	char *dir;
};

static const struct rd_setting fuzz_table[] = {
	{ .name = "name", .type = RD_CFG_STR, .def = "x", .offset = offsetof(struct fuzz_settings, name) },
	{ .name = "port", .type = RD_CFG_INT, .def = "1", .min = 1, .max = 65535,
	  .offset = offsetof(struct fuzz_settings, port) },
	{ .name = "verbose", .type = RD_CFG_BOOL, .offset = offsetof(struct fuzz_settings, verbose) },
	{ .name = "ratio", .type = RD_CFG_DOUBLE, .min = -1, .max = 1,
	  .offset = offsetof(struct fuzz_settings, ratio) },
	{ .name = "secret", .section = "auth", .type = RD_CFG_STR, .flags = RD_CFG_SECRET,
	  .offset = offsetof(struct fuzz_settings, secret) },
	{ .name = "data-dir", .section = "storage", .key = "dir", .type = RD_CFG_STR,
	  .offset = offsetof(struct fuzz_settings, dir) },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_config cfg = {
		.prog = "fuzz", .default_section = "main",
		.table = fuzz_table, .n = sizeof(fuzz_table) / sizeof(fuzz_table[0]),
	};
	struct fuzz_settings s = { 0 };
	char err[256];
	char *text;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* the first byte picks strict or lenient handling of unknown keys */
	cfg.allow_unknown_ini = size && (data[0] & 1);
	if (rd_config_defaults(&cfg, &s, err, sizeof(err)) == 0) {
		/* every failure must say why */
		err[0] = '\0';
		if (rd_config_load_ini_string(&cfg, &s, text, "fuzz.ini", err, sizeof(err)) != 0 &&
		    err[0] == '\0')
			abort();
	}
	rd_config_free(&cfg, &s);
	free(text);
	return 0;
}

/* config internals shared by config.c and config_ini.c. Not for other modules. */
#ifndef RD_CONFIG_INT_H
#define RD_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define CFG_SOURCE_MAX 320   /* "FILE:LINE: key" */
#define CFG_SHOWN_MAX 80     /* a value quoted in an error message */

void config__err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The table entry holding the config file path, or NULL. */
const struct rd_setting *config__config_entry(const struct rd_config *cfg);
/* missing_ok: a file that does not exist is no error (the built-in default). */
int config__ini_file(const struct rd_config *cfg, void *out, const char *path,
	bool missing_ok, char *err, size_t errlen);

#endif

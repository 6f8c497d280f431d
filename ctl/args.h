/* args: splits rdctl's command line into the global options (before or after
 * the verb), the verb, the verb's own options and the positionals, using the
 * two settings tables to know which options take a value. */
#ifndef RD_CTL_ARGS_H
#define RD_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

struct rd_config;
struct ctl_verb;

struct ctl_args {
	const struct ctl_verb *verb;
	int gargc, vargc, npos;
	char **gargv;  /* argv[0] + global options (for rd_config_load) */
	char **vargv;  /* verb name + verb options */
	char **pos;    /* positionals after the verb */
	bool json_seen;
};

/* RD_OK or RD_ERR_CONFIG with a message in err. a is always safe to free. */
int ctl_args_split(int argc, char **argv, const struct rd_config *global,
	const struct ctl_verb *(*find)(const char *), struct ctl_args *a, char *err, size_t errlen);
/* Add one more global word (at most two may be added). */
void ctl_args_add_global(struct ctl_args *a, char *word);
void ctl_args_free(struct ctl_args *a);

/* --quality: low, balanced, best (ImageQuality 2, 3, 4 in *image_quality),
 * or PERCENT 10..2000 with an optional '%' (custom_image_quality = PERCENT
 * << 8 in *custom: the agent's bitrate ratio is PERCENT * 2 / 100, so 50 is
 * balanced). NULL or "" asks nothing. RD_OK or RD_ERR_INVAL. */
int ctl_args_quality(const char *s, int *image_quality, int *custom);

#endif

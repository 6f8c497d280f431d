/* args: see args.h. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "config.h"
#include "ctl.h"
#include "err.h"
#include "util.h"

/* The entry an option names, or NULL. *inline_val tells whether "=value" is
 * part of the word. */
static const struct rd_setting *opt_lookup(const struct rd_setting *t, size_t n, const char *w,
	bool *inline_val)
{
	*inline_val = false;
	if (w[0] != '-' || w[1] == '\0')
		return NULL;
	if (w[1] == '-') {
		const char *name = w + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		for (size_t i = 0; i < n; i++)
			if (strlen(t[i].name) == len && strncmp(t[i].name, name, len) == 0) {
				*inline_val = eq != NULL;
				return &t[i];
			}
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i].short_opt && t[i].short_opt == w[1]) {
			*inline_val = w[2] != '\0';
			return &t[i];
		}
	return NULL;
}

static bool takes_value(const struct rd_setting *s)
{
	return s->type != RD_CFG_BOOL && s->type != RD_CFG_ACTION;
}

/* Move argv[*i] (and its value) to dst. */
static int take(int argc, char **argv, int *i, const struct rd_setting *s, bool inl,
	char **dst, int *ndst, char *err, size_t errlen)
{
	dst[(*ndst)++] = argv[*i];
	if (takes_value(s) && !inl) {
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "option %s needs a value", argv[*i]);
			return RD_ERR_CONFIG;
		}
		dst[(*ndst)++] = argv[++*i];
	}
	return RD_OK;
}

int ctl_args_split(int argc, char **argv, const struct rd_config *global,
	const struct ctl_verb *(*find)(const char *), struct ctl_args *a, char *err, size_t errlen)
{
	bool inl, rest_positional = false;
	memset(a, 0, sizeof(*a));
	a->gargv = xcalloc((size_t)argc + 3, sizeof(char *));
	a->vargv = xcalloc((size_t)argc + 1, sizeof(char *));
	a->pos = xcalloc((size_t)argc + 1, sizeof(char *));
	a->gargv[a->gargc++] = argc > 0 ? argv[0] : "rdctl";
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		if (!rest_positional && strcmp(w, "--") == 0) {
			rest_positional = true;
			continue;
		}
		if (!rest_positional && w[0] == '-' && w[1] != '\0') {
			const struct rd_setting *s = NULL;
			if (a->verb)
				s = opt_lookup(a->verb->opts, a->verb->nopts, w, &inl);
			if (s) {
				if (take(argc, argv, &i, s, inl, a->vargv + 1, &a->vargc, err, errlen))
					return RD_ERR_CONFIG;
				continue;
			}
			s = opt_lookup(global->table, global->n, w, &inl);
			if (!s) {
				snprintf(err, errlen, "unknown option %s", w);
				return RD_ERR_CONFIG;
			}
			if (strcmp(s->name, "json") == 0)
				a->json_seen = true;
			if (take(argc, argv, &i, s, inl, a->gargv, &a->gargc, err, errlen))
				return RD_ERR_CONFIG;
			continue;
		}
		if (!a->verb && a->npos == 0) {
			a->verb = find(w);
			if (!a->verb) {
				snprintf(err, errlen, "unknown verb '%s'", w);
				return RD_ERR_CONFIG;
			}
			continue;
		}
		a->pos[a->npos++] = argv[i];
	}
	a->vargv[0] = a->verb ? (char *)a->verb->name : "rdctl";
	a->vargc++;
	return RD_OK;
}

int ctl_args_quality(const char *s, int *image_quality, int *custom)
{
	static const char *const names[] = { "low", "balanced", "best" };
	*image_quality = 0;
	*custom = 0;
	if (!s || !*s)
		return RD_OK;
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i])) {
			*image_quality = 2 + i;
			return RD_OK;
		}
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (end == s || (*end && strcmp(end, "%") != 0) || v < 10 || v > 2000)
		return RD_ERR_INVAL;
	*custom = (int)(v << 8);
	return RD_OK;
}

void ctl_args_add_global(struct ctl_args *a, char *word)
{
	a->gargv[a->gargc++] = word;
}

void ctl_args_free(struct ctl_args *a)
{
	free(a->gargv);
	free(a->vargv);
	free(a->pos);
	memset(a, 0, sizeof(*a));
}

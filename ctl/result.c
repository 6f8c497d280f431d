/* result: what a verb reports, as one JSON object (--json) or as text. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

static const char *const phase_names[CTL_PH_COUNT] = {
	"lookup", "punch", "handshake", "login", "keyframe", "decode", "write",
};

const char *ctl_path_name(enum ctl_path p)
{
	switch (p) {
	case CTL_PATH_LAN: return "lan";
	case CTL_PATH_DIRECT: return "direct";
	case CTL_PATH_RELAY: return "relay";
	default: return NULL;
	}
}

void ctl_result_init(struct ctl_result *r, const char *verb, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->verb = verb;
	r->online = -1;
	if (id)
		rd_strlcpy(r->id, id, sizeof(r->id));
}

void ctl_result_fail(struct ctl_result *r, int exit_code, const char *code, const char *fmt, ...)
{
	va_list ap;
	if (r->error)
		return;
	r->error = code;
	r->exit_code = exit_code;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void ctl_result_phase(struct ctl_result *r, enum ctl_phase ph, double ms)
{
	r->phase_ms[ph] = ms < 0 ? 0 : ms;
	r->phase_set[ph] = true;
}

void ctl_json_str(char *out, size_t outsz, const char *s)
{
	size_t o = strlen(out);
#define PUT(ch) do { if (o + 1 < outsz) out[o++] = (ch); } while (0)
	PUT('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			PUT('\\');
			PUT((char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			for (char *e = esc; *e; e++)
				PUT(*e);
		} else {
			PUT((char)*p);
		}
	}
	PUT('"');
#undef PUT
	out[o < outsz ? o : outsz - 1] = '\0';
}

static void add(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *out, size_t outsz, const char *fmt, ...)
{
	size_t o = strlen(out);
	va_list ap;
	if (o + 1 >= outsz)
		return;
	va_start(ap, fmt);
	vsnprintf(out + o, outsz - o, fmt, ap);
	va_end(ap);
}

static void add_str(char *out, size_t outsz, const char *key, const char *val)
{
	add(out, outsz, ",\"%s\":", key);
	if (val)
		ctl_json_str(out, outsz, val);
	else
		add(out, outsz, "null");
}

static void print_json(const struct ctl_result *r)
{
	char o[8192] = "{\"verb\":";
	ctl_json_str(o, sizeof(o), r->verb ? r->verb : "");
	add_str(o, sizeof(o), "id", r->id[0] ? r->id : NULL);
	add(o, sizeof(o), ",\"ok\":%s", r->error ? "false" : "true");
	add_str(o, sizeof(o), "path", ctl_path_name(r->path));
	add_str(o, sizeof(o), "codec", r->codec);
	add(o, sizeof(o), ",\"width\":%d,\"height\":%d", r->width, r->height);
	if (r->connect_ms > 0)
		add(o, sizeof(o), ",\"connect_ms\":%.1f", r->connect_ms);
	else
		add(o, sizeof(o), ",\"connect_ms\":null");
	add(o, sizeof(o), ",\"total_ms\":%.1f", r->total_ms);
	if (r->online >= 0)
		add(o, sizeof(o), ",\"online\":%s", r->online ? "true" : "false");
	if (r->output)
		add_str(o, sizeof(o), "output", r->output);
	if (r->frames)
		add(o, sizeof(o), ",\"frames\":%ld", r->frames);
	if (r->duration_s > 0)
		add(o, sizeof(o), ",\"duration\":%.3f", r->duration_s);
	add(o, sizeof(o), ",\"phases_ms\":{");
	bool first = true;
	for (int i = 0; i < CTL_PH_COUNT; i++) {
		if (!r->phase_set[i])
			continue;
		add(o, sizeof(o), "%s\"%s\":%.2f", first ? "" : ",", phase_names[i], r->phase_ms[i]);
		first = false;
	}
	add(o, sizeof(o), "}");
	if (r->extra_json[0])
		add(o, sizeof(o), ",%s", r->extra_json);
	if (r->error) {
		add_str(o, sizeof(o), "error", r->error);
		add_str(o, sizeof(o), "message", r->message);
	}
	add(o, sizeof(o), ",\"exit\":%d}", r->exit_code);
	puts(o);
	fflush(stdout);
}

static void print_text(const struct ctl_result *r, bool verbose)
{
	if (r->extra_text[0])
		fputs(r->extra_text, stdout);
	if (r->error) {
		fprintf(stderr, "rdctl %s: %s\n", r->verb ? r->verb : "", r->message);
	} else if (r->output) {
		printf("%s: %s", r->verb, r->output);
		if (r->width)
			printf(" (%dx%d %s over %s", r->width, r->height, r->codec ? r->codec : "?",
				ctl_path_name(r->path) ? ctl_path_name(r->path) : "?");
		if (r->duration_s > 0)
			printf(", %.2f s, %ld frames", r->duration_s, r->frames);
		printf("%s\n", r->width ? ")" : "");
	}
	if (verbose) {
		fprintf(stderr, "rdctl: path %s, connect %.1f ms, total %.1f ms;",
			ctl_path_name(r->path) ? ctl_path_name(r->path) : "none", r->connect_ms, r->total_ms);
		for (int i = 0; i < CTL_PH_COUNT; i++)
			if (r->phase_set[i])
				fprintf(stderr, " %s %.1f ms", phase_names[i], r->phase_ms[i]);
		fputc('\n', stderr);
	}
}

int ctl_result_print(const struct ctl_result *r, bool json, bool verbose)
{
	if (json)
		print_json(r);
	else
		print_text(r, verbose);
	return r->exit_code;
}

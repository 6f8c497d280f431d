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
	rd_buf_init(&r->extra_buf, 1 << 20);
	rd_json_init(&r->extra, &r->extra_buf);
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

void ctl_result_free(struct ctl_result *r)
{
	rd_buf_free(&r->extra_buf);
}

static void print_json(const struct ctl_result *r)
{
	struct rd_buf b;
	struct rd_json j;
	rd_buf_init(&b, 0);
	rd_json_init(&j, &b);
	rd_json_obj(&j, NULL);
	rd_json_str(&j, "verb", r->verb ? r->verb : "");
	rd_json_str(&j, "id", r->id[0] ? r->id : NULL);
	rd_json_bool(&j, "ok", !r->error);
	rd_json_str(&j, "path", ctl_path_name(r->path));
	rd_json_str(&j, "codec", r->codec);
	rd_json_int(&j, "width", r->width);
	rd_json_int(&j, "height", r->height);
	if (r->connect_ms > 0)
		rd_json_num(&j, "connect_ms", r->connect_ms, 1);
	else
		rd_json_null(&j, "connect_ms");
	rd_json_num(&j, "total_ms", r->total_ms, 1);
	if (r->online >= 0)
		rd_json_bool(&j, "online", r->online);
	if (r->output)
		rd_json_str(&j, "output", r->output);
	if (r->frames)
		rd_json_int(&j, "frames", r->frames);
	if (r->duration_s > 0)
		rd_json_num(&j, "duration", r->duration_s, 3);
	rd_json_obj(&j, "phases_ms");
	for (int i = 0; i < CTL_PH_COUNT; i++)
		if (r->phase_set[i])
			rd_json_num(&j, phase_names[i], r->phase_ms[i], 2);
	rd_json_end(&j, '}');
	rd_json_members(&j, &r->extra);
	if (r->error) {
		rd_json_str(&j, "error", r->error);
		rd_json_str(&j, "message", r->message);
	}
	rd_json_int(&j, "exit", r->exit_code);
	rd_json_end(&j, '}');
	fwrite(rd_buf_ptr(&b), 1, rd_buf_size(&b), stdout);
	fputc('\n', stdout);
	fflush(stdout);
	rd_buf_free(&b);
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

/* ctl: what the parts of rdctl share: settings, the verb table, exit codes and
 * the result every verb reports (printed as text or one JSON object). */
#ifndef RD_CTL_H
#define RD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "crypto.h"
#include "json.h"

/* Exit codes (stable, documented in --help and the man page). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,     /* anything not listed below (local I/O, decoder) */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_OFFLINE = 3,  /* peer offline or unknown */
	CTL_EXIT_LOGIN = 4,    /* login refused */
	CTL_EXIT_NOPATH = 5,   /* no path: server, punch and relay failed */
	CTL_EXIT_KEY = 6,      /* key mismatch (pinned peer key or server key) */
	CTL_EXIT_TIMEOUT = 7,
};

/* Global settings (common/config.h table in main.c). */
struct ctl_settings {
	char *server;
	char *key;
	char *config;
	char *password_file;
	char *known_peers;
	bool json;
	double timeout;
	bool relay;
	bool verbose;
	bool help;
	bool man;
	bool version;
};

/* Verb settings: one struct, each verb's table names the fields it takes. */
struct ctl_verb_settings {
	char *codec;     /* h264 | vp9 | auto */
	char *viewer;    /* mpv | ffplay | none */
	char *output;
	double duration;
	bool help;
	/* input verbs (input.c) */
	char *button;    /* click: left | middle | right */
	bool dbl;        /* click: --double */
	char *region;    /* wait-for-change: X,Y,W,H */
	double wait;     /* wait-for-change: --timeout SECS */
	/* video verbs: what to ask the agent for (LoginRequest.option) */
	long fps;        /* 1..120, 0 = the agent's default */
	char *quality;   /* low | balanced | best | PERCENT, NULL = the agent's default */
	bool no_audio;   /* --no-audio: ask the agent for no sound */
};

/* Paths. */
enum ctl_path {
	CTL_PATH_NONE = 0,
	CTL_PATH_LAN,
	CTL_PATH_DIRECT,
	CTL_PATH_RELAY,
};
const char *ctl_path_name(enum ctl_path p);

/* Phases whose durations are reported (ms), in order. */
enum ctl_phase {
	CTL_PH_LOOKUP,
	CTL_PH_PUNCH,
	CTL_PH_HANDSHAKE,
	CTL_PH_LOGIN,
	CTL_PH_KEYFRAME,
	CTL_PH_DECODE,
	CTL_PH_WRITE,
	CTL_PH_COUNT,
};

#define CTL_ERRMSG_MAX 512

/* What a verb reports. Filled along the way; printed once at the end. */
struct ctl_result {
	const char *verb;
	char id[64];
	enum ctl_path path;
	const char *codec;      /* "h264", "vp9" or NULL */
	int width, height;
	double connect_ms;      /* start to login accepted (or to the path for doctor) */
	double total_ms;
	double phase_ms[CTL_PH_COUNT];
	bool phase_set[CTL_PH_COUNT];
	int online;             /* lookup: -1 unknown, 0, 1 */
	const char *output;     /* file written */
	double duration_s;      /* record: media duration written */
	long frames;
	int exit_code;
	const char *error;      /* stable code, NULL on success */
	char message[CTL_ERRMSG_MAX];
	/* What a verb adds: members of the JSON result (written with rd_json_*
	 * and a key, as inside an object), and lines for the text form. The
	 * writer points into this struct: a result is never copied. */
	struct rd_buf extra_buf;
	struct rd_json extra;
	char extra_text[2048];
};

void ctl_result_init(struct ctl_result *r, const char *verb, const char *id);
void ctl_result_free(struct ctl_result *r);
/* Record a failure (first one wins): stable code, exit code, message. */
void ctl_result_fail(struct ctl_result *r, int exit_code, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ctl_result_phase(struct ctl_result *r, enum ctl_phase ph, double ms);
/* Print as JSON (one line) or text; returns the exit code. */
int ctl_result_print(const struct ctl_result *r, bool json, bool verbose);

/* The whole program's context handed to verbs. */
struct ctl {
	struct ctl_settings set;
	struct ctl_verb_settings vs;
	const char *id;            /* first positional */
	int npos;
	char **pos;                /* positionals after the verb */
	uint8_t server_pk[RD_PK_LEN];
	bool have_server_pk;
	double t0;                 /* rd_now() at start */
	struct ctl_result res;
};

/* Verb table entry. */
struct rd_setting;
struct ctl_verb {
	const char *name;
	const char *args;          /* "ID" */
	const char *summary;
	const char *description;   /* man page paragraph */
	const struct rd_setting *opts;
	size_t nopts;
	int npos_min, npos_max;
	int (*run)(struct ctl *c); /* runs the verb; every entry has one */
};

extern const struct ctl_verb ctl_verbs[];
extern const size_t ctl_nverbs;

/* Verbs (one file per family). */
int ctl_verb_lookup(struct ctl *c);
int ctl_verb_doctor(struct ctl *c);
int ctl_verb_connect(struct ctl *c);
int ctl_verb_screenshot(struct ctl *c);
int ctl_verb_record(struct ctl *c);
int ctl_verb_listen(struct ctl *c);
int ctl_verb_type(struct ctl *c);
int ctl_verb_key(struct ctl *c);
int ctl_verb_click(struct ctl *c);
int ctl_verb_move(struct ctl *c);
int ctl_verb_clipboard(struct ctl *c);
int ctl_verb_wait_for_change(struct ctl *c);

/* Usage and man page from the tables (usage.c). */
struct rd_config;
void ctl_usage(FILE *f, const struct rd_config *global);
void ctl_verb_usage(FILE *f, const struct ctl_verb *v);
void ctl_man(FILE *f, const struct rd_config *global);

#endif

/* rdctl: the terminal controller. This file holds the one verb table (which
 * drives parsing, --help and the man page) and the global settings table. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RD_LOG_SUBSYS "rdctl"
#include "config.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "util.h"
#include "args.h"
#include "known_peers.h"
#include <unistd.h>

#define G(f) offsetof(struct ctl_settings, f)
static const struct rd_setting global_table[] = {
	{ "server", 's', NULL, NULL, NULL, RD_CFG_STR, NULL, "HOST[:PORT]",
		"rendezvous server (relay defaults to the same host, port + 1)", G(server), 0, 0, 0 },
	{ "key", 'k', NULL, NULL, NULL, RD_CFG_STR, NULL, "BASE64",
		"the server's public key (rd-rendezvous --print-key)", G(key), 0, 0, 0 },
	{ "config", 'c', NULL, NULL, NULL, RD_CFG_STR, "~/.config/rdesk/rdctl.ini", "FILE",
		"settings file", G(config), 0, 0, RD_CFG_NO_INI },
	{ "password-file", 0, NULL, NULL, NULL, RD_CFG_STR, NULL, "FILE",
		"read the peer's password from FILE (else RDESK_PASSWORD, else a prompt)",
		G(password_file), 0, 0, 0 },
	{ "known-peers", 0, NULL, NULL, NULL, RD_CFG_STR, "~/.config/rdesk/known_peers", "FILE",
		"pinned peer keys", G(known_peers), 0, 0, 0 },
	{ "json", 'j', NULL, NULL, NULL, RD_CFG_BOOL, "no", NULL,
		"print one JSON object per verb", G(json), 0, 0, 0 },
	{ "timeout", 't', NULL, NULL, NULL, RD_CFG_DOUBLE, "20", "SECS",
		"overall time to reach the peer and log in", G(timeout), 0.1, 3600, 0 },
	{ "relay", 'r', NULL, NULL, NULL, RD_CFG_BOOL, "no", NULL,
		"go through the relay only", G(relay), 0, 0, 0 },
	{ "verbose", 'v', NULL, NULL, NULL, RD_CFG_BOOL, "no", NULL,
		"log each step and the phase timings to stderr", G(verbose), 0, 0, 0 },
	{ "help", 'h', NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "show this help", G(help), 0, 0, 0 },
	{ "man", 0, NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "print the man page (roff)", G(man), 0, 0, 0 },
	{ "version", 'V', NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "print the version", G(version), 0, 0, 0 },
};

static const struct rd_config global_cfg = {
	.prog = "rdctl",
	.default_section = "rdctl",
	.config_setting = "config",
	.table = global_table,
	.n = RD_ARRAY_LEN(global_table),
	.allow_unknown_ini = false,
	.stop_at_positional = true,
};

#define V(f) offsetof(struct ctl_verb_settings, f)
#define OPT_CODEC { "codec", 0, NULL, NULL, NULL, RD_CFG_STR, "auto", "h264|vp9|auto", \
	"video codec to ask the agent for", V(codec), 0, 0, RD_CFG_NO_INI | RD_CFG_NO_ENV }
#define OPT_HELP { "help", 'h', NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, \
	"help for this verb", V(help), 0, 0, 0 }
#define OPT_FPS { "fps", 0, NULL, NULL, NULL, RD_CFG_INT, "0", "N", \
	"frames per second to ask the agent for, 1-120, capped by its own setting (0 = its default)", \
	V(fps), 0, 120, RD_CFG_NO_INI | RD_CFG_NO_ENV }
#define OPT_NO_AUDIO { "no-audio", 0, NULL, NULL, NULL, RD_CFG_BOOL, "no", NULL, \
	"ask the agent for no sound", V(no_audio), 0, 0, RD_CFG_NO_INI | RD_CFG_NO_ENV }
#define OPT_QUALITY { "quality", 0, NULL, NULL, NULL, RD_CFG_STR, NULL, "low|balanced|best|PERCENT", \
	"picture quality to ask the agent for: a preset, or PERCENT 10-2000 of the bitrate where 50 " \
	"is balanced (default: the agent's)", V(quality), 0, 0, RD_CFG_NO_INI | RD_CFG_NO_ENV }
static const struct rd_setting connect_opts[] = {
	OPT_CODEC,
	OPT_FPS,
	OPT_QUALITY,
	OPT_NO_AUDIO,
	{ "viewer", 0, NULL, NULL, NULL, RD_CFG_STR, "mpv", "mpv|ffplay|none",
		"where the live picture goes (mpv falls back to ffplay)", V(viewer), 0, 0,
		RD_CFG_NO_INI | RD_CFG_NO_ENV },
	{ "duration", 'd', NULL, NULL, NULL, RD_CFG_DOUBLE, "0", "SECS",
		"end the session after SECS (0 = until the viewer closes)", V(duration), 0, 1e6,
		RD_CFG_NO_INI | RD_CFG_NO_ENV },
	OPT_HELP,
};
static const struct rd_setting screenshot_opts[] = {
	OPT_CODEC,
	OPT_FPS,
	OPT_QUALITY,
	{ "output", 'o', NULL, NULL, NULL, RD_CFG_STR, NULL, "FILE.png", "PNG file to write",
		V(output), 0, 0, RD_CFG_NO_INI | RD_CFG_NO_ENV },
	OPT_HELP,
};
static const struct rd_setting record_opts[] = {
	OPT_CODEC,
	OPT_FPS,
	OPT_QUALITY,
	OPT_NO_AUDIO,
	{ "output", 'o', NULL, NULL, NULL, RD_CFG_STR, NULL, "FILE.mkv|.webm|.mp4",
		"file to write with the host's sound beside the picture (the container follows the "
		"extension)", V(output), 0, 0,
		RD_CFG_NO_INI | RD_CFG_NO_ENV },
	{ "duration", 'd', NULL, NULL, NULL, RD_CFG_DOUBLE, "10", "SECS", "length of the recording",
		V(duration), 0.1, 1e6, RD_CFG_NO_INI | RD_CFG_NO_ENV },
	OPT_HELP,
};
static const struct rd_setting listen_opts[] = {
	{ "output", 'o', NULL, NULL, NULL, RD_CFG_STR, NULL, "FILE.opus|.ogg|.wav",
		"file to write: Ogg Opus as received, or WAV decoded", V(output), 0, 0,
		RD_CFG_NO_INI | RD_CFG_NO_ENV },
	{ "duration", 'd', NULL, NULL, NULL, RD_CFG_DOUBLE, "10", "SECS", "length of the sound to keep",
		V(duration), 0.1, 1e6, RD_CFG_NO_INI | RD_CFG_NO_ENV },
	OPT_HELP,
};
static const struct rd_setting plain_opts[] = { OPT_HELP };
static const struct rd_setting click_opts[] = {
	{ "button", 'b', NULL, NULL, NULL, RD_CFG_STR, "left", "left|middle|right",
		"which button to click", V(button), 0, 0, RD_CFG_NO_INI | RD_CFG_NO_ENV },
	{ "double", 0, NULL, NULL, NULL, RD_CFG_BOOL, "no", NULL, "click twice (a double click)",
		V(dbl), 0, 0, RD_CFG_NO_INI | RD_CFG_NO_ENV },
	OPT_HELP,
};
static const struct rd_setting wait_opts[] = {
	OPT_CODEC,
	OPT_FPS,
	OPT_QUALITY,
	{ "region", 0, NULL, NULL, NULL, RD_CFG_STR, NULL, "X,Y,W,H",
		"watch only this rectangle (default: the whole screen)", V(region), 0, 0,
		RD_CFG_NO_INI | RD_CFG_NO_ENV },
	{ "timeout", 't', NULL, NULL, NULL, RD_CFG_DOUBLE, "30", "SECS",
		"give up after SECS once the first frame is in (exit 7)", V(wait), 0.1, 86400,
		RD_CFG_NO_INI | RD_CFG_NO_ENV },
	OPT_HELP,
};

const struct ctl_verb ctl_verbs[] = {
	{ "connect", "ID", "open a session and show it live",
		"Reaches the peer (LAN, direct punch or relay), logs in and shows the remote screen in mpv "
		"(ffplay as fallback), resizing with it. Closing the window ends the session. It "
		"acknowledges every frame, so the agent sends no faster than the link and the viewer take.",
		connect_opts, RD_ARRAY_LEN(connect_opts), 1, 1, ctl_verb_connect },
	{ "screenshot", "ID", "write the remote screen to a PNG",
		"Connects, takes the first complete frame after a keyframe and writes it as PNG.",
		screenshot_opts, RD_ARRAY_LEN(screenshot_opts), 1, 1, ctl_verb_screenshot },
	{ "record", "ID", "record the remote screen without re-encoding",
		"Writes the encoded stream as it arrives into a Matroska, WebM or MP4 file, with the "
		"host's sound as an Opus track beside it (unless --no-audio), both on the agent's clock.",
		record_opts, RD_ARRAY_LEN(record_opts), 1, 1, ctl_verb_record },
	{ "listen", "ID", "record the host's sound only",
		"Asks the agent for its sound (Opus, 48 kHz) and writes --duration seconds of it, timed by "
		"the agent's clock from the first packet, into an Ogg Opus file (.opus, .ogg; no "
		"re-encoding) or a WAV file (.wav). Silence the agent did not send is filled in. No picture "
		"is decoded.", listen_opts, RD_ARRAY_LEN(listen_opts), 1, 1, ctl_verb_listen },
	{ "lookup", "ID", "ask the server whether a peer is online",
		"Exit status 3 when the peer is offline or unknown.",
		plain_opts, RD_ARRAY_LEN(plain_opts), 1, 1, ctl_verb_lookup },
	{ "doctor", "ID", "try every path and explain what works",
		"Reports this side's NAT type, the peer's, which path worked, the timings, and why any path "
		"failed.", plain_opts, RD_ARRAY_LEN(plain_opts), 1, 1, ctl_verb_doctor },
	{ "type", "ID TEXT", "type text on the peer",
		"Types TEXT (UTF-8; characters missing from the peer's keymap are bound for the moment on "
		"X11; the console takes US-keymap ASCII) into whatever has the focus.",
		plain_opts, RD_ARRAY_LEN(plain_opts), 2, 2, ctl_verb_type },
	{ "key", "ID COMBO...", "press key combinations",
		"Presses and releases each COMBO in turn: modifiers joined with '+' and a key name or one "
		"character, e.g. ctrl+alt+f2, Return, shift+Tab, ctrl+c, ctrl++.",
		plain_opts, RD_ARRAY_LEN(plain_opts), 2, 64, ctl_verb_key },
	{ "click", "ID X Y", "click at a position",
		"Moves the pointer to X,Y (pixels of the remote screen) and clicks.",
		click_opts, RD_ARRAY_LEN(click_opts), 3, 3, ctl_verb_click },
	{ "move", "ID X Y", "move the pointer", "Moves the pointer to X,Y (pixels of the remote screen).",
		plain_opts, RD_ARRAY_LEN(plain_opts), 3, 3, ctl_verb_move },
	{ "clipboard", "ID get|set [TEXT]", "read or set the clipboard",
		"get prints the peer's clipboard text; set puts TEXT (or standard input) on it. A peer "
		"without a clipboard (a console) is an error.",
		plain_opts, RD_ARRAY_LEN(plain_opts), 2, 3, ctl_verb_clipboard },
	{ "wait-for-change", "ID", "wait until the screen changes",
		"Takes the first frame as reference and returns when the screen (or --region) differs "
		"from it; exit 7 when --timeout passes first.", wait_opts,
		RD_ARRAY_LEN(wait_opts), 1, 1, ctl_verb_wait_for_change },
};
const size_t ctl_nverbs = RD_ARRAY_LEN(ctl_verbs);

static const struct ctl_verb *verb_find(const char *name)
{
	for (size_t i = 0; i < ctl_nverbs; i++)
		if (strcmp(ctl_verbs[i].name, name) == 0)
			return &ctl_verbs[i];
	return NULL;
}

static int usage_error(struct ctl *c, const char *verb, const char *msg)
{
	ctl_result_init(&c->res, verb ? verb : "", c->id);
	ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "%s", msg);
	if (!c->set.json)
		fprintf(stderr, "rdctl: %s (see rdctl --help)\n", msg);
	int rc = c->set.json ? ctl_result_print(&c->res, true, false) : CTL_EXIT_USAGE;
	ctl_result_free(&c->res);
	return rc;
}

int main(int argc, char **argv)
{
	struct ctl c;
	struct ctl_args a;
	char err[512] = "";
	int rc = CTL_EXIT_USAGE, gi = 0, vi = 0;

	memset(&c, 0, sizeof(c));
	c.t0 = rd_now();
	rd_log_init("rdctl");
	rd_log_set_level(RD_LOG_WARN);
	/* `rdctl help [VERB]`: the same text as `rdctl [VERB] --help`, from the verb table. */
	if (argc >= 2 && argc <= 3 && !strcmp(argv[1], "help")) {
		const struct ctl_verb *hv = argc == 3 ? verb_find(argv[2]) : NULL;
		if (argc == 3 && !hv) {
			fprintf(stderr, "rdctl: unknown verb '%s' (see rdctl --help)\n", argv[2]);
			return CTL_EXIT_USAGE;
		}
		if (hv)
			ctl_verb_usage(stdout, hv);
		else
			ctl_usage(stdout, &global_cfg);
		return CTL_EXIT_OK;
	}
	if (ctl_args_split(argc, argv, &global_cfg, verb_find, &a, err, sizeof(err)) != RD_OK) {
		c.set.json = a.json_seen;
		rc = usage_error(&c, NULL, err);
		goto out_args;
	}
	/* The settings file under ~ (config.c takes paths literally). */
	char cfgflag[4200], path[4096];
	bool given = getenv("RDESK_CONFIG") != NULL;
	for (int i = 1; i < a.gargc; i++)
		if (!strncmp(a.gargv[i], "--config", 8) || !strcmp(a.gargv[i], "-c"))
			given = true;
	if (!given && ctl_path_expand("~/.config/rdesk/rdctl.ini", path, sizeof(path)) == RD_OK &&
	    access(path, F_OK) == 0) {
		snprintf(cfgflag, sizeof(cfgflag), "--config=%s", path);
		ctl_args_add_global(&a, cfgflag);
	}
	if (rd_config_load(&global_cfg, &c.set, a.gargc, a.gargv, &gi, err, sizeof(err)) != RD_OK) {
		c.set.json = a.json_seen;
		rc = usage_error(&c, a.verb ? a.verb->name : NULL, err);
		goto out_set;
	}
	if (c.set.version) {
		printf("rdctl %s\n", RD_VERSION);
		rc = CTL_EXIT_OK;
		goto out_set;
	}
	if (c.set.man) {
		ctl_man(stdout, &global_cfg);
		rc = CTL_EXIT_OK;
		goto out_set;
	}
	if (!a.verb) {
		if (c.set.help) {
			ctl_usage(stdout, &global_cfg);
			rc = CTL_EXIT_OK;
		} else {
			ctl_usage(stderr, &global_cfg);
			rc = a.npos ? usage_error(&c, NULL, "unknown verb") : CTL_EXIT_USAGE;
		}
		goto out_set;
	}
	const struct rd_config vcfg = { .prog = a.verb->name, .table = a.verb->opts,
		.n = a.verb->nopts, .stop_at_positional = true };
	if (rd_config_defaults(&vcfg, &c.vs, err, sizeof(err)) != RD_OK ||
	    rd_config_parse_flags(&vcfg, &c.vs, a.vargc, a.vargv, &vi, err, sizeof(err)) != RD_OK) {
		rc = usage_error(&c, a.verb->name, err);
		goto out_vs;
	}
	if (c.vs.help || c.set.help) {
		ctl_verb_usage(stdout, a.verb);
		rc = CTL_EXIT_OK;
		goto out_vs;
	}
	c.npos = a.npos;
	c.pos = a.pos;
	c.id = a.npos > 0 ? a.pos[0] : NULL;
	if (a.npos < a.verb->npos_min || a.npos > a.verb->npos_max) {
		snprintf(err, sizeof(err), "%s takes %s", a.verb->name, a.verb->args);
		rc = usage_error(&c, a.verb->name, err);
		goto out_vs;
	}
	if (c.set.verbose)
		rd_log_set_level(RD_LOG_INFO);
	if (getenv("RDCTL_DEBUG"))
		rd_log_set_level(RD_LOG_DEBUG);
	ctl_result_init(&c.res, a.verb->name, c.id);
	rc = a.verb->run(&c);
	ctl_result_free(&c.res);
out_vs:
	rd_config_free(&vcfg, &c.vs);
out_set:
	rd_config_free(&global_cfg, &c.set);
out_args:
	ctl_args_free(&a);
	return rc;
}

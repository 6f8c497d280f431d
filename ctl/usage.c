/* usage: --help and the man page, both made from the verb table and the
 * settings tables. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"

static const char *const exit_lines[][2] = {
	{ "0", "success" },
	{ "2", "usage error" },
	{ "3", "peer offline or unknown" },
	{ "4", "login refused (wrong password, too many attempts)" },
	{ "5", "no path (server unreachable, punch and relay failed)" },
	{ "6", "key mismatch (the peer's key differs from the pinned one, or the server key is wrong) "
		"or a handshake altered on the way" },
	{ "7", "timeout" },
};

static void opt_line(FILE *f, const struct rd_setting *s)
{
	char left[80];
	int n = 0;
	if (s->short_opt)
		n = snprintf(left, sizeof(left), "-%c, ", s->short_opt);
	else
		n = snprintf(left, sizeof(left), "    ");
	snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", s->name, s->metavar ? " " : "",
		s->metavar ? s->metavar : "");
	fprintf(f, "  %-32s %s", left, s->help);
	if (s->def && s->type != RD_CFG_BOOL)
		fprintf(f, " [%s]", s->def);
	fputc('\n', f);
}

void ctl_verb_usage(FILE *f, const struct ctl_verb *v)
{
	fprintf(f, "usage: rdctl [global options] %s %s [options]\n%s.\n", v->name, v->args, v->summary);
	if (v->description)
		fprintf(f, "%s\n", v->description);
	fprintf(f, "options:\n");
	for (size_t i = 0; i < v->nopts; i++)
		opt_line(f, &v->opts[i]);
}

void ctl_usage(FILE *f, const struct rd_config *global)
{
	fprintf(f, "usage: rdctl [global options] VERB [verb options] ARGS\n\nverbs:\n");
	for (size_t i = 0; i < ctl_nverbs; i++)
		fprintf(f, "  %-16s %-10s %s%s\n", ctl_verbs[i].name, ctl_verbs[i].args,
			ctl_verbs[i].summary, ctl_verbs[i].run ? "" : " (later)");
	fprintf(f, "\nglobal options (also RDESK_* variables and ~/.config/rdesk/rdctl.ini):\n");
	for (size_t i = 0; i < global->n; i++)
		opt_line(f, &global->table[i]);
	fprintf(f, "\nThe password comes from --password-file, RDESK_PASSWORD or a prompt; never argv.\n"
		"rdctl help VERB (or rdctl VERB --help) lists a verb's options.\n\nexit status:\n");
	for (size_t i = 0; i < sizeof(exit_lines) / sizeof(exit_lines[0]); i++)
		fprintf(f, "  %s  %s\n", exit_lines[i][0], exit_lines[i][1]);
}

/* roff needs '-' escaped and lines starting with '.' guarded. */
static void roff(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '-' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

static void man_opt(FILE *f, const struct rd_setting *s)
{
	fputs(".TP\n.B ", f);
	if (s->short_opt)
		fprintf(f, "\\-%c, ", s->short_opt);
	fputs("\\-\\-", f);
	roff(f, s->name);
	if (s->metavar) {
		fputs(" \\fI", f);
		roff(f, s->metavar);
		fputs("\\fR", f);
	}
	fputc('\n', f);
	roff(f, s->help);
	if (s->def && s->type != RD_CFG_BOOL) {
		fputs(" (default ", f);
		roff(f, s->def);
		fputc(')', f);
	}
	fputs(".\n", f);
}

void ctl_man(FILE *f, const struct rd_config *global)
{
	fprintf(f, ".TH RDCTL 1 \"\" \"rdesk %s\" \"User Commands\"\n", RD_VERSION);
	fputs(".SH NAME\nrdctl \\- reach an rdesk agent by ID, view, screenshot and record it\n"
		".SH SYNOPSIS\n.B rdctl\n[\\fIglobal options\\fR] \\fIVERB\\fR [\\fIoptions\\fR] \\fIID\\fR\n"
		".SH DESCRIPTION\nrdctl asks the rendezvous server for the peer, tries its LAN address, "
		"then a TCP hole punch, then the relay, verifies the peer's key against the one the server "
		"vouches for and the one pinned in known_peers, and logs in with the password.\n"
		".SH VERBS\n", f);
	for (size_t i = 0; i < ctl_nverbs; i++) {
		const struct ctl_verb *v = &ctl_verbs[i];
		fprintf(f, ".SS %s %s\n", v->name, v->args);
		roff(f, v->summary);
		fputs(".\n", f);
		if (v->description) {
			fputs(".PP\n", f);
			roff(f, v->description);
			fputc('\n', f);
		}
		for (size_t k = 0; k < v->nopts; k++)
			man_opt(f, &v->opts[k]);
	}
	fputs(".SH VIDEO RATE AND QUALITY\n", f);
	roff(f, "The verbs that receive video (connect, screenshot, record, wait-for-change) take "
		"--fps N and --quality low|balanced|best|PERCENT. They travel in the login's options "
		"(custom_fps; image_quality for a preset, custom_image_quality = PERCENT << 8 otherwise) "
		"and the agent applies them to its capture and encoder: N is capped by the agent's own "
		"[video] fps; balanced is the agent's [video] quality, low half its bitrate, best twice, "
		"and PERCENT scales the bitrate by PERCENT x 2 / 100 (50 is balanced, 10 to 2000). "
		"Without them the agent's settings apply. They are set once per session.");
	fputs("\n.PP\n", f);
	roff(f, "connect acknowledges every frame (video_ack_required), so the agent keeps only a few "
		"frames in flight and sends no faster than the link and the viewer take. On its own, the "
		"agent lowers the quality and then the frame rate when the round trip passes 150 ms or its "
		"send queue backs up, and raises them again slowly once the link is healthy. With several "
		"controllers the capture runs at the highest rate any of them asks, and each codec at the "
		"best quality asked.");
	fputs("\n.SH GLOBAL OPTIONS\n", f);
	for (size_t i = 0; i < global->n; i++)
		man_opt(f, &global->table[i]);
	fputs(".SH ENVIRONMENT\n.TP\n.B RDESK_SERVER, RDESK_KEY, RDESK_TIMEOUT, ...\n"
		"Each global option also reads RDESK_ followed by its name in capitals.\n"
		".TP\n.B RDESK_PASSWORD\nThe peer's password (when no \\-\\-password\\-file is given).\n"
		".SH FILES\n.TP\n.I ~/.config/rdesk/rdctl.ini\nSettings, section [rdctl].\n"
		".TP\n.I ~/.config/rdesk/known_peers\nOne line per peer: ID and base64 public key. "
		"Remove a line to accept a peer's new key.\n.SH EXIT STATUS\n", f);
	for (size_t i = 0; i < sizeof(exit_lines) / sizeof(exit_lines[0]); i++)
		fprintf(f, ".TP\n.B %s\n%s.\n", exit_lines[i][0], exit_lines[i][1]);
	fputs(".SH EXAMPLES\n"
		"View and control a machine live (server and key once in ~/.config/rdesk/rdctl.ini):\n"
		".PP\n.EX\nrdctl \\-\\-server rdesk.example.net \\-\\-key BASE64 connect 123456789\n.EE\n"
		".PP\nA screenshot and a 10 s recording from a script, the password from a file:\n"
		".PP\n.EX\nrdctl \\-\\-password\\-file pw screenshot 123456789 \\-o screen.png\n"
		"rdctl \\-\\-password\\-file pw record 123456789 \\-o run.mkv \\-d 10\n.EE\n"
		".PP\nIs it online, and which path works?\n"
		".PP\n.EX\nrdctl \\-\\-json lookup 123456789\nrdctl doctor 123456789\n.EE\n", f);
}

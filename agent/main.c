/* rd-agent: the daemon on every unattended machine. Verbs: run, enroll,
 * password set, id, status. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "settings.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rd-agent VERB [options]\n"
		"  run [--config FILE]                 run the daemon (default %s)\n"
		"  enroll --server HOST[:PORT] --key BASE64 [--relay HOST[:PORT]] [--id ID] [--json]\n"
		"         [--password-file FILE|-]     write the configuration, create ID and keys\n"
		"                                      (and the password hash); again: no change\n"
		"  password set [--config FILE]        read the permanent password from stdin\n"
		"  id [--config FILE]                  print this agent's ID\n"
		"  status [--config FILE] [--json]     ask the running daemon how it is\n"
		"options (also INI keys and RDESK_* variables):\n", AGENT_DEFAULT_CONFIG);
	rd_config_usage_options(&agent_config, f);
}

int main(int argc, char **argv)
{
	rd_log_init("rd-agent");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "-h") || !strcmp(verb, "--help") || !strcmp(verb, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(verb, "-V") || !strcmp(verb, "--version")) {
		printf("rd-agent %s\n", RD_VERSION);
		return 0;
	}
	if (rd_crypto_init() < 0) {
		fprintf(stderr, "rd-agent: libsodium failed to initialise\n");
		return 1;
	}
	if (!strcmp(verb, "run"))
		return agent_main(argc - 1, argv + 1);
	if (!strcmp(verb, "enroll"))
		return cli_enroll(argc - 1, argv + 1);
	if (!strcmp(verb, "password"))
		return cli_password(argc - 1, argv + 1);
	if (!strcmp(verb, "id"))
		return cli_id(argc - 1, argv + 1);
	if (!strcmp(verb, "status"))
		return cli_status(argc - 1, argv + 1);
	fprintf(stderr, "rd-agent: unknown verb \"%s\"\n", verb);
	usage(stderr);
	return 2;
}

/* options: rd-rendezvous settings (flags, RDESK_* environment and
 * /etc/rdesk/rendezvous.ini) and the server key they select. */
#ifndef RV_OPTIONS_H
#define RV_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "server.h"

struct rv_options {
	/* [rendezvous]: the command line of the issue */
	long port;
	char *bind;
	char *key;
	char *relay;
	char *data_dir;
	char *config;
	char *metrics;
	bool always_relay;
	bool print_key;
	char *forget;           /* --forget ID */
	bool help;
	bool version;
	/* [limits] and [log]: INI and environment only */
	char *log_level;
	struct rv_limits lim;
	double first_msg_timeout;
	double idle_timeout;
	long max_conns;
	long max_per_source;
	double relay_check;
	char *config_seen;      /* the config path as the second table saw it */
};

/* Parse everything; returns 0 to go on, 1 to exit 0 (help, version) or 2 on a
 * usage error (message printed). */
int rv_options_load(struct rv_options *o, int argc, char **argv);
void rv_options_free(struct rv_options *o);

struct rv_key {
	bool can_sign;
	struct rd_keypair kp;
	char licence[128];      /* enforced licence string, "" = none */
};

/* Select the key per -k (PROTOCOL.md §6.1): "-" or "_" load or create the
 * pair in the data dir and enforce its public key; "" loads or creates and
 * signs without enforcing; a base64 64-byte secret key is used as is; any
 * other text is enforced as a plain licence string with no signing key. */
int rv_key_setup(const struct rv_options *o, struct rv_key *k);

#endif

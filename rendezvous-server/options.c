/* options: the settings tables of rd-rendezvous and the key selection. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "options.h"
#include "util.h"

#define RD_LOG_SUBSYS "rendezvous"
#include "log.h"

#define O(f) offsetof(struct rv_options, f)

/* The command line, exactly; each entry is also an INI key of
 * [rendezvous] and an RDESK_* variable. */
static const struct rd_setting main_table[] = {
	{ .name = "port", .short_opt = 'p', .type = RD_CFG_INT, .def = "21116", .metavar = "PORT",
	  .help = "UDP and TCP port; the NAT-test and online port is PORT-1",
	  .offset = O(port), .min = 2, .max = 65535 },
	{ .name = "bind", .short_opt = 'b', .type = RD_CFG_STR, .def = "::", .metavar = "ADDR",
	  .help = "address to listen on (:: is dual-stack)", .offset = O(bind) },
	{ .name = "key", .short_opt = 'k', .type = RD_CFG_STR, .def = "-", .metavar = "KEY",
	  .help = "'-': load or create the key pair in the data dir and require clients to know it",
	  .offset = O(key), .flags = RD_CFG_SECRET },
	{ .name = "relay", .short_opt = 'r', .type = RD_CFG_STR, .metavar = "RELAY[,RELAY...]",
	  .help = "relay servers handed out in turn (host[:port])", .offset = O(relay) },
	{ .name = "data-dir", .type = RD_CFG_STR, .def = "/var/lib/rdesk", .metavar = "DIR",
	  .help = "key pair and database", .offset = O(data_dir) },
	{ .name = "config", .type = RD_CFG_STR, .def = "/etc/rdesk/rendezvous.ini", .metavar = "FILE",
	  .help = "INI file", .offset = O(config), .flags = RD_CFG_NO_INI },
	{ .name = "metrics", .type = RD_CFG_STR, .metavar = "ADDR:PORT",
	  .help = "serve Prometheus /metrics and /healthz here", .offset = O(metrics) },
	{ .name = "always-relay", .type = RD_CFG_BOOL, .def = "no",
	  .help = "make every connection go through a relay", .offset = O(always_relay) },
	{ .name = "print-key", .type = RD_CFG_ACTION,
	  .help = "print the base64 public key (creating the pair if missing) and exit",
	  .offset = O(print_key) },
	{ .name = "forget", .type = RD_CFG_STR, .metavar = "ID",
	  .help = "release ID (its key, uuid and pin) from the database of a stopped server and exit",
	  .offset = O(forget), .flags = RD_CFG_NO_INI | RD_CFG_NO_ENV },
	{ .name = "help", .short_opt = 'h', .type = RD_CFG_ACTION, .help = "this help",
	  .offset = O(help) },
	{ .name = "version", .type = RD_CFG_ACTION, .help = "print the version and exit",
	  .offset = O(version) },
};

/* Tuning, from the INI file and the environment only. */
static const struct rd_setting tune_table[] = {
	{ .name = "log-level", .section = "log", .key = "level", .type = RD_CFG_STR, .def = "info",
	  .help = "error, warn, notice, info or debug", .offset = O(log_level) },
	{ .name = "reg-rate", .type = RD_CFG_DOUBLE, .def = "5", .help = "registrations/s per source IP",
	  .offset = O(lim.reg_rate), .min = 0.001, .max = 1e9 },
	{ .name = "reg-burst", .type = RD_CFG_DOUBLE, .def = "30", .help = "registration burst per source IP",
	  .offset = O(lim.reg_burst), .min = 1, .max = 1e9 },
	{ .name = "punch-rate", .type = RD_CFG_DOUBLE, .def = "2", .help = "TCP requests/s per source IP",
	  .offset = O(lim.punch_rate), .min = 0.001, .max = 1e9 },
	{ .name = "punch-burst", .type = RD_CFG_DOUBLE, .def = "20", .help = "TCP request burst per source IP",
	  .offset = O(lim.punch_burst), .min = 1, .max = 1e9 },
	{ .name = "ids-per-source", .type = RD_CFG_INT, .def = "300",
	  .help = "new IDs one source IP (or IPv6 /64) may bind a day",
	  .offset = O(lim.ids_per_source), .min = 1, .max = 1e9 },
	{ .name = "max-ids", .type = RD_CFG_INT, .def = "2000000", .help = "IDs the server holds; new ones are refused beyond",
	  .offset = O(lim.max_ids), .min = 1, .max = 1e9 },
	{ .name = "pending-max", .type = RD_CFG_INT, .def = "10000", .help = "requests waiting for their target",
	  .offset = O(lim.pending_max), .min = 1, .max = 1e7 },
	{ .name = "pending-timeout", .type = RD_CFG_DOUBLE, .def = "30", .help = "seconds a request may wait",
	  .offset = O(lim.pending_timeout), .min = 0.1, .max = 3600 },
	{ .name = "first-message-timeout", .type = RD_CFG_DOUBLE, .def = "10",
	  .help = "seconds until a TCP connection's first message (heartbeats do not count)",
	  .offset = O(first_msg_timeout), .min = 0.1, .max = 3600 },
	{ .name = "idle-timeout", .type = RD_CFG_DOUBLE, .def = "30", .help = "seconds a TCP connection may idle",
	  .offset = O(idle_timeout), .min = 0.1, .max = 3600 },
	{ .name = "max-connections", .type = RD_CFG_INT, .def = "10000", .help = "open TCP connections",
	  .offset = O(max_conns), .min = 1, .max = 1e7 },
	{ .name = "connections-per-source", .type = RD_CFG_INT, .def = "256",
	  .help = "open TCP connections from one source IP (IPv6: one /64), both ports together",
	  .offset = O(max_per_source), .min = 1, .max = 1e7 },
	{ .name = "source-slots", .type = RD_CFG_INT, .def = "65536", .help = "entries of each per-source table",
	  .offset = O(lim.source_slots), .min = 4, .max = 1 << 24 },
	{ .name = "relay-check", .type = RD_CFG_DOUBLE, .def = "3", .help = "seconds between relay health checks",
	  .offset = O(relay_check), .min = 0.1, .max = 3600 },
};

int rv_options_load(struct rv_options *o, int argc, char **argv)
{
	static const struct rd_config mc = {
		.prog = "rd-rendezvous", .default_section = "rendezvous", .config_setting = "config",
		.table = main_table, .n = RD_ARRAY_LEN(main_table), .allow_unknown_ini = true,
	};
	char err[512];
	int argi = 0;
	memset(o, 0, sizeof(*o));
	if (rd_config_load(&mc, o, argc, argv, &argi, err, sizeof(err)) != RD_OK) {
		fprintf(stderr, "rd-rendezvous: %s\n", err);
		return 2;
	}
	if (argi < argc) {
		fprintf(stderr, "rd-rendezvous: unexpected argument %s (try -h)\n", rd_esc(argv[argi]));
		return 2;
	}
	if (o->help) {
		printf("usage: rd-rendezvous [-p PORT] [-b ADDR] [-k KEY] [-r RELAY[,RELAY...]] [--data-dir DIR]\n"
		       "       [--config FILE] [--metrics ADDR:PORT] [--always-relay] [--print-key] [--forget ID]\n"
		       "       [-h] [--version]\n\n");
		rd_config_usage(&mc, stdout);
		printf("\nTuning (INI file and environment only):\n");
		for (size_t i = 0; i < RD_ARRAY_LEN(tune_table); i++) {
			const struct rd_setting *t = &tune_table[i];
			char env[64];
			printf("  [%s] %s, %s (default %s): %s\n", t->section ? t->section : "limits",
				t->key ? t->key : t->name, rd_config_env_name(t, env, sizeof(env)), t->def, t->help);
		}
		return 1;
	}
	if (o->version) {
		printf("rd-rendezvous %s\n", RD_VERSION);
		return 1;
	}
	/* The tuning table reads the same file: its config entry defaults to the
	 * path the first pass settled on (already known to exist if given). */
	struct rd_setting tt[RD_ARRAY_LEN(tune_table) + 1];
	memcpy(tt, tune_table, sizeof(tune_table));
	tt[RD_ARRAY_LEN(tune_table)] = (struct rd_setting){
		.name = "config", .type = RD_CFG_STR, .def = o->config, .offset = O(config_seen),
		.flags = RD_CFG_NO_INI,
	};
	struct rd_config tc = {
		.prog = "rd-rendezvous", .default_section = "limits", .config_setting = "config",
		.table = tt, .n = RD_ARRAY_LEN(tt), .allow_unknown_ini = true,
	};
	char *argv0[] = { argv[0], NULL };
	if (rd_config_load(&tc, o, 1, argv0, &argi, err, sizeof(err)) != RD_OK) {
		fprintf(stderr, "rd-rendezvous: %s\n", err);
		return 2;
	}
	o->lim.online_window = RV_ONLINE_WINDOW;
	if (o->lim.reg_burst < 1 || o->lim.punch_burst < 1)
		return 2;
	return 0;
}

void rv_options_free(struct rv_options *o)
{
	free(o->bind);
	free(o->key);
	free(o->relay);
	free(o->data_dir);
	free(o->config);
	free(o->metrics);
	free(o->log_level);
	free(o->config_seen);
	free(o->forget);
	memset(o, 0, sizeof(*o));
}

int rv_key_setup(const struct rv_options *o, struct rv_key *k)
{
	const char *key = o->key ? o->key : "";
	memset(k, 0, sizeof(*k));
	if (!strcmp(key, "-") || !strcmp(key, "_") || !*key) {
		bool created = false;
		int rc = rd_mkdir_p(o->data_dir, 0700);
		if (rc == RD_OK)
			rc = rd_key_load_or_create(o->data_dir, &k->kp, true, &created);
		if (rc != RD_OK) {
			log_err("key pair in %s: %s", o->data_dir, rd_strerror(rc));
			return rc;
		}
		if (created)
			log_notice("created the server key pair in %s", o->data_dir);
		k->can_sign = true;
		if (*key)
			rd_pk_to_b64(k->kp.pk, k->licence);
		return RD_OK;
	}
	if (rd_key_from_b64_sk(key, &k->kp) == RD_OK) {
		k->can_sign = true;
		rd_pk_to_b64(k->kp.pk, k->licence);
		return RD_OK;
	}
	/* A plain licence string: enforced, nothing signed. */
	rd_strlcpy(k->licence, key, sizeof(k->licence));
	return RD_OK;
}

/* rd-relay: pairs two connections by uuid and forwards their bytes. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "config.h"
#include "crypto.h"
#include "err.h"
#include "metrics.h"
#include "net.h"
#include "sd.h"
#include "util.h"

#define RD_LOG_SUBSYS "relay"
#include "log.h"

#include "pairing.h"
#include "server.h"

#define RELAY_DATA_DIR "/var/lib/rdesk"
#define RELAY_FIRST_FRAME_SECS 10.0 /* the first frame's deadline, at most */
#define RELAY_PIPE_SIZE (256 * 1024)

struct relay_settings {
	long port;
	char *bind;
	char *key;
	bool allow_licence_key;
	bool open;
	char *config;
	char *metrics;
	double total_bw;
	double single_bw;
	long max_pairs;
	long conns_per_source;
	long pending_per_source;
	double pair_timeout;
	double idle_timeout;
	bool help;
	bool version;
};

#define OFF(f) offsetof(struct relay_settings, f)
static const struct rd_setting settings[] = {
	{ "port", 'p', NULL, NULL, NULL, RD_CFG_INT, "21117", "PORT", "TCP port to listen on",
		OFF(port), 1, 65535, 0 },
	{ "bind", 'b', NULL, NULL, NULL, RD_CFG_STR, "::", "ADDR",
		"address to bind (:: is dual-stack)", OFF(bind), 0, 0, 0 },
	{ "key", 'k', NULL, NULL, NULL, RD_CFG_STR, NULL, "KEY",
		"the rendezvous server's base64 public key: clients must present a relay token "
		"it signed; '-' reads id_ed25519.pub from $RDESK_DATA_DIR (default "
		RELAY_DATA_DIR ")", OFF(key), 0, 0, RD_CFG_SECRET },
	{ "allow-licence-key", 0, NULL, NULL, NULL, RD_CFG_BOOL, "no", NULL,
		"also relay clients without a token that present the key itself as licence_key "
		"(stock RustDesk clients; anyone given the key can then use the relay)",
		OFF(allow_licence_key), 0, 0, 0 },
	{ "open", 0, NULL, NULL, NULL, RD_CFG_BOOL, "no", NULL,
		"relay for anyone, without a key", OFF(open), 0, 0, 0 },
	{ "config", 0, NULL, NULL, NULL, RD_CFG_STR, "/etc/rdesk/relay.ini", "FILE",
		"INI file", OFF(config), 0, 0, RD_CFG_NO_INI },
	{ "metrics", 0, NULL, NULL, NULL, RD_CFG_STR, NULL, "ADDR:PORT",
		"serve Prometheus /metrics and /healthz there", OFF(metrics), 0, 0, 0 },
	{ "total-bandwidth", 0, NULL, NULL, NULL, RD_CFG_DOUBLE, "0", "MBIT",
		"total forwarding rate in Mbit/s, shared fairly among pairs (0 = unlimited)",
		OFF(total_bw), 0, 1e7, 0 },
	{ "single-bandwidth", 0, NULL, NULL, NULL, RD_CFG_DOUBLE, "0", "MBIT",
		"rate of one pair, both directions together, in Mbit/s (0 = unlimited)",
		OFF(single_bw), 0, 1e7, 0 },
	{ "max-pairs", 0, NULL, NULL, NULL, RD_CFG_INT, "10000", "N",
		"pairs (waiting and active) at most; as many connections may be sending "
		"their first frame", OFF(max_pairs), 1, 1000000, 0 },
	{ "pair-timeout", 0, NULL, NULL, NULL, RD_CFG_DOUBLE, "30", "SECS",
		"how long the first connection of a uuid waits for its peer (the first "
		"frame must come within this too, at most 10 s)", OFF(pair_timeout), 0.1, 86400, 0 },
	{ "idle-timeout", 0, NULL, NULL, NULL, RD_CFG_DOUBLE, "30", "SECS",
		"close a pair after this long without a byte either way (0 = never)",
		OFF(idle_timeout), 0, 864000, 0 },
	{ "connections-per-source", 0, NULL, NULL, NULL, RD_CFG_INT, "1000", "N",
		"open connections from one source IP (IPv6: one /64), paired ones included",
		OFF(conns_per_source), 1, 10000000, 0 },
	{ "pending-per-source", 0, NULL, NULL, NULL, RD_CFG_INT, "250", "N",
		"connections from one source IP (IPv6: one /64) waiting for their peer",
		OFF(pending_per_source), 1, 10000000, 0 },
	{ "help", 'h', NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "show this help",
		OFF(help), 0, 0, 0 },
	{ "version", 0, NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "show the version",
		OFF(version), 0, 0, 0 },
};

static const struct rd_config config = {
	.prog = "rd-relay",
	.default_section = "relay",
	.config_setting = "config",
	.table = settings,
	.n = RD_ARRAY_LEN(settings),
};

/* The rendezvous server's public key (pk, and its base64 text: the licence
 * key of stock clients), given as such, as its 64-byte secret key, or read
 * from the data dir. */
static int resolve_key(const char *arg, uint8_t pk[RD_PK_LEN], char out[RD_B64_PK_LEN + 1])
{
	char *text = NULL;
	int rc;

	if (!strcmp(arg, "-")) {
		const char *dir = getenv("RDESK_DATA_DIR");
		char path[4096];
		size_t len;
		snprintf(path, sizeof(path), "%s/id_ed25519.pub", dir && *dir ? dir : RELAY_DATA_DIR);
		rc = rd_read_file(path, 1024, &text, &len);
		if (rc != RD_OK) {
			log_err("cannot read %s: %s", path, rd_strerror(rc));
			return rc;
		}
		while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
			text[--len] = 0;
		arg = text;
	}
	rc = rd_pk_from_b64(arg, pk);
	if (rc != RD_OK) {
		struct rd_keypair kp;
		rc = rd_key_from_b64_sk(arg, &kp);
		if (rc == RD_OK)
			memcpy(pk, kp.pk, RD_PK_LEN);
		rd_keypair_wipe(&kp);
	}
	free(text);
	if (rc != RD_OK) {
		log_err("the key is not a base64 Ed25519 public key");
		return RD_ERR_KEY;
	}
	rd_pk_to_b64(pk, out);
	return RD_OK;
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_notice("signal %d: shutting down", w->signum);
	rd_sd_stopping();
	ev_break(loop, EVBREAK_ALL);
}

static int start_metrics(struct rd_metrics *m, struct ev_loop *loop, const char *spec)
{
	struct rd_sockaddr a;
	int rc = rd_net_addr_parse_numeric(spec, 0, &a);
	if (rc == RD_OK && rd_net_addr_port(&a) == 0)
		rc = RD_ERR_INVAL;
	if (rc != RD_OK) {
		log_err("--metrics %s: want a numeric ADDR:PORT", rd_esc(spec));
		return RD_ERR_CONFIG;
	}
	rc = rd_metrics_listen(m, loop, &a);
	if (rc != RD_OK)
		log_err("metrics on %s: %s", rd_esc(spec), strerror(errno));
	return rc;
}

static const char *access_text(const uint8_t *pk, const char *key)
{
	if (!pk)
		return "OPEN to anyone";
	return key ? "closed (relay token, or the licence key for stock clients)"
		: "closed (relay token required)";
}

static int run(const struct relay_settings *s, const uint8_t *pk, const char *key)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct rd_metrics *metrics = s->metrics ? rd_metrics_new() : NULL;
	struct relay_server *srv = NULL;
	struct rd_sockaddr addr;
	ev_signal sigterm, sigint;
	char buf[RD_ADDRSTRLEN];
	int rc = RD_ERR_CONFIG;

	if (rd_net_addr_parse_numeric(s->bind, (uint16_t)s->port, &addr) != RD_OK) {
		log_err("-b %s: not a numeric address", rd_esc(s->bind));
		goto out;
	}
	rd_net_addr_set_port(&addr, (uint16_t)s->port);
	struct relay_server_opts o = {
		.loop = loop,
		.server_pk = pk,
		.key = key,
		.max_pairs = (size_t)s->max_pairs,
		.conns_per_source = (unsigned)s->conns_per_source,
		.pending_per_source = (unsigned)s->pending_per_source,
		.first_timeout = RD_MIN(s->pair_timeout, RELAY_FIRST_FRAME_SECS),
		.pair_timeout = s->pair_timeout,
		.idle_timeout = s->idle_timeout,
		.total_rate = s->total_bw * 1e6 / 8,
		.pair_rate = s->single_bw * 1e6 / 8,
		.pipe_size = RELAY_PIPE_SIZE,
		.metrics = metrics,
	};
	srv = relay_server_new(&o);
	rc = relay_server_listen(srv, &addr);
	if (rc != RD_OK) {
		int e = errno;
		log_err("listen on %s: %s", rd_net_addr_str(&addr, buf, sizeof(buf)), strerror(e));
		goto out;
	}
	if (metrics && (rc = start_metrics(metrics, loop, s->metrics)) != RD_OK)
		goto out;
	relay_server_local_addr(srv, &addr);
	log_notice("listening on %s, %s, max %ld pairs", rd_net_addr_str(&addr, buf, sizeof(buf)),
		access_text(pk, key), s->max_pairs);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sigint);
	rd_sd_watchdog_start(loop);
	rd_sd_ready();
	ev_run(loop, 0);
	rd_sd_watchdog_stop(loop);
	ev_signal_stop(loop, &sigterm);
	ev_signal_stop(loop, &sigint);
	rc = RD_OK;
out:
	relay_server_free(srv);
	rd_metrics_free(metrics);
	ev_loop_destroy(loop);
	return rc;
}

int main(int argc, char **argv)
{
	struct relay_settings s;
	char err[512], key[RD_B64_PK_LEN + 1];
	uint8_t pk[RD_PK_LEN];
	int argi, rc = 2;

	memset(&s, 0, sizeof(s));
	rd_log_init("rd-relay");
	if (rd_config_load(&config, &s, argc, argv, &argi, err, sizeof(err)) != RD_OK) {
		fprintf(stderr, "rd-relay: %s (try --help)\n", err);
		goto out;
	}
	if (s.help) {
		printf("usage: rd-relay [options]\n");
		rd_config_usage(&config, stdout);
		rc = 0;
		goto out;
	}
	if (s.version) {
		printf("rd-relay %s\n", RD_VERSION);
		rc = 0;
		goto out;
	}
	if (argi < argc) {
		fprintf(stderr, "rd-relay: unexpected argument (try --help)\n");
		goto out;
	}
	rc = 1;
	if (rd_crypto_init() != RD_OK)
		goto out;
	bool closed = s.key && *s.key;
	if (closed) {
		if (resolve_key(s.key, pk, key) != RD_OK)
			goto out;
	} else if (!s.open || s.allow_licence_key) {
		log_err("no key: give -k with the rendezvous server's public key (or -k -)%s",
			s.allow_licence_key ? "; --allow-licence-key needs it" :
			", or --open for a relay anyone may use");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	rd_fd_limit_raise(); /* pairs need six descriptors each */
	rc = run(&s, closed ? pk : NULL, closed && s.allow_licence_key ? key : NULL) == RD_OK ? 0 : 1;
out:
	rd_config_free(&config, &s);
	return rc;
}

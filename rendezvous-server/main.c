/* rd-rendezvous: the signaling server (RustDesk-compatible hbbs).
 *
 * main wires the I/O-free core (server.c) to its sockets (io_udp.c,
 * io_tcp.c), the binding store (store_sqlite.c), metrics and systemd.
 *
 * Log lines for operators, one per event, start with the event and carry
 * src=IP port=PORT from the socket, then the peer's strings, quoted and
 * escaped (id="ID"). Lines worth banning a source for start with "limit",
 * "refused" or "malformed"; lines about a datagram start with "udp" instead,
 * because a datagram's source can be forged. The fail2ban filter that matches
 * them is packaging/fail2ban/filter.d/rd-rendezvous.conf.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "admin.h"
#include "crypto.h"
#include "err.h"
#include "io.h"
#include "metrics.h"
#include "net.h"
#include "options.h"
#include "registry.h"
#include "sd.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define RD_LOG_SUBSYS "rendezvous"
#include "log.h"

struct app {
	struct ev_loop *loop;
	struct rv_options opt;
	struct rv_key key;
	struct rv_store *store;
	struct rv_server *srv;
	struct rv_udp *udp;
	struct rv_tcpio *tcp;
	struct rd_metrics *metrics;
	ev_signal sigterm, sigint;
	ev_timer tick;
	ev_prepare flush;
	bool db_ok;
	int dir_lock;
};

static void op_udp_send(void *ud, const struct rd_sockaddr *to, const uint8_t *p, size_t len)
{
	rv_udp_send(((struct app *)ud)->udp, to, p, len);
}

static void op_tcp_send(void *ud, void *conn, const uint8_t *p, size_t len)
{
	rv_tcpio_send(((struct app *)ud)->tcp, conn, p, len);
}

static void op_tcp_close(void *ud, void *conn, bool flush)
{
	rv_tcpio_close_conn(((struct app *)ud)->tcp, conn, flush);
}

static void op_store_put(void *ud, const struct rv_binding *b)
{
	struct app *a = ud;
	a->db_ok = rv_store_put(a->store, b) == RD_OK;
}

static const struct rv_server_ops server_ops = {
	.udp_send = op_udp_send,
	.tcp_send = op_tcp_send,
	.tcp_close = op_tcp_close,
	.store_put = op_store_put,
};

static int load_cb(void *ud, const struct rv_binding *b)
{
	int rc = rv_server_load_binding(ud, b);
	if (rc != RD_OK)
		log_warn("skipping stored binding id=%s: %s", rd_esc(b->id), rd_strerror(rc));
	return RD_OK;
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_notice("signal %d: shutting down", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct app *a = w->data;
	rv_server_tick(a->srv, ev_now(loop));
}

/* Before the loop sleeps: commit the bindings this round made. */
static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	struct app *a = w->data;
	if (rv_store_pending(a->store))
		a->db_ok = rv_store_flush(a->store) == RD_OK;
}

static bool health_cb(void *ud, char *msg, size_t msgsz)
{
	struct app *a = ud;
	if (!a->db_ok)
		snprintf(msg, msgsz, "database writes failing");
	return a->db_ok;
}

static char **split_relays(const char *list, size_t *n)
{
	*n = 0;
	if (!list || !*list)
		return NULL;
	char **out = xcalloc(strlen(list) / 2 + 2, sizeof(*out));
	char *copy = xstrdup(list), *save = NULL;
	for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		out[(*n)++] = xstrdup(tok);
	free(copy);
	return out;
}

static int bind_addr(const struct app *a, long port, struct rd_sockaddr *out)
{
	int rc = rd_net_addr_parse_numeric(a->opt.bind, (uint16_t)port, out);
	if (rc == RD_OK)
		rd_net_addr_set_port(out, (uint16_t)port);
	else
		log_err("bind address %s: not a numeric address", rd_esc(a->opt.bind));
	return rc;
}

static int start_io(struct app *a)
{
	struct rd_sockaddr main_addr, nat_addr;
	int rc = bind_addr(a, a->opt.port, &main_addr);
	if (rc == RD_OK)
		rc = bind_addr(a, a->opt.port - 1, &nat_addr);
	if (rc != RD_OK)
		return rc;
	if ((rc = rv_udp_open(a->loop, a->srv, &main_addr, &a->udp)) != RD_OK) {
		log_err("udp port %ld: %s", a->opt.port, strerror(errno));
		return rc;
	}
	struct rv_tcp_limits tl = {
		.first_msg_timeout = a->opt.first_msg_timeout,
		.idle_timeout = a->opt.idle_timeout,
		.max_conns = a->opt.max_conns,
		.max_per_source = a->opt.max_per_source,
		.metrics = a->metrics,
	};
	if ((rc = rv_tcpio_open(a->loop, a->srv, &main_addr, &nat_addr, &tl, &a->tcp)) != RD_OK) {
		log_err("tcp ports %ld and %ld: %s", a->opt.port, a->opt.port - 1, strerror(errno));
		return rc;
	}
	rv_tcpio_check_relays(a->tcp, a->opt.relay_check);
	if (a->opt.metrics && *a->opt.metrics) {
		struct rd_sockaddr ma;
		if ((rc = rd_net_addr_parse_numeric(a->opt.metrics, 0, &ma)) != RD_OK ||
		    (rc = rd_metrics_listen(a->metrics, a->loop, &ma)) != RD_OK) {
			log_err("metrics %s: %s", rd_esc(a->opt.metrics), rd_strerror(rc));
			return rc;
		}
	}
	return RD_OK;
}

static int start(struct app *a)
{
	int rc = rd_mkdir_p(a->opt.data_dir, 0700);
	if (rc != RD_OK) {
		log_err("data dir %s: %s", a->opt.data_dir, strerror(errno));
		return rc;
	}
	a->dir_lock = rv_datadir_lock(a->opt.data_dir, false);
	if (a->dir_lock < 0) {
		log_err("data dir %s: %s", a->opt.data_dir, a->dir_lock == RD_ERR_LIMIT ?
			"rd-rendezvous --forget is working on it" : strerror(errno));
		return a->dir_lock;
	}
	if ((rc = rv_key_setup(&a->opt, &a->key)) != RD_OK)
		return rc;
	if ((rc = rv_store_open(a->opt.data_dir, &a->store)) != RD_OK)
		return rc;
	a->db_ok = true;
	size_t nrelays = 0;
	char **relays = split_relays(a->opt.relay, &nrelays);
	struct rv_server_config sc = {
		.lim = a->opt.lim,
		.sign_sk = a->key.can_sign ? a->key.kp.sk : NULL,
		.licence = a->key.licence,
		.always_relay = a->opt.always_relay,
		.relays = (const char *const *)relays,
		.nrelays = nrelays,
		.metrics = a->metrics,
	};
	a->srv = rv_server_new(&sc, &server_ops, a);
	for (size_t i = 0; i < nrelays; i++)
		free(relays[i]);
	free(relays);
	double t0 = rd_now();
	rv_server_expect_bindings(a->srv, rv_store_estimate(a->store));
	if ((rc = rv_store_load(a->store, load_cb, a->srv)) != RD_OK)
		return rc;
	log_notice("loaded %zu bindings in %.2f s", rv_registry_count(rv_server_registry(a->srv)), rd_now() - t0);
	return start_io(a);
}

static void stop(struct app *a)
{
	rd_sd_stopping();
	rd_sd_watchdog_stop(a->loop);
	if (a->tcp) {
		rv_tcpio_shutdown(a->tcp);
		double until = rd_now() + 2;
		while (rv_tcpio_conns(a->tcp) && rd_now() < until)
			ev_run(a->loop, EVRUN_NOWAIT);
		rv_tcpio_free(a->tcp);
	}
	rv_udp_close(a->udp);
	rv_server_free(a->srv);
	if (a->store)
		rv_store_close(a->store); /* commits what is left, checkpoints the WAL */
	rd_metrics_free(a->metrics);
	rd_keypair_wipe(&a->key.kp);
	if (a->dir_lock >= 0)
		close(a->dir_lock); /* last: the database is closed */
}

int main(int argc, char **argv)
{
	struct app a = { .dir_lock = -1 };
	rd_log_init("rd-rendezvous");
	signal(SIGPIPE, SIG_IGN);
	int rc = rv_options_load(&a.opt, argc, argv);
	if (rc) {
		rv_options_free(&a.opt);
		return rc == 1 ? 0 : 2;
	}
	enum rd_log_level lvl;
	if (rd_log_level_parse(a.opt.log_level, &lvl) == RD_OK)
		rd_log_set_level(lvl);
	if (rd_crypto_init() != RD_OK)
		return 1;
	if (a.opt.print_key) {
		rc = rv_key_setup(&a.opt, &a.key);
		if (rc == RD_OK) {
			char b64[RD_B64_PK_LEN + 1];
			if (a.key.can_sign)
				rd_pk_to_b64(a.key.kp.pk, b64);
			printf("%s\n", a.key.can_sign ? b64 : a.key.licence);
		}
		rd_keypair_wipe(&a.key.kp);
		rv_options_free(&a.opt);
		return rc == RD_OK ? 0 : 1;
	}
	if (a.opt.forget) {
		rc = rv_admin_forget(a.opt.data_dir, a.opt.forget);
		rv_options_free(&a.opt);
		return rc;
	}
	rd_fd_limit_raise(); /* every TCP connection is a descriptor */
	a.loop = ev_default_loop(EVFLAG_AUTO);
	a.metrics = rd_metrics_new();
	rd_metrics_set_health(a.metrics, health_cb, &a);
	rc = start(&a);
	if (rc == RD_OK) {
		ev_signal_init(&a.sigterm, stop_cb, SIGTERM);
		ev_signal_init(&a.sigint, stop_cb, SIGINT);
		ev_signal_start(a.loop, &a.sigterm);
		ev_signal_start(a.loop, &a.sigint);
		ev_timer_init(&a.tick, tick_cb, 0.25, 0.25);
		a.tick.data = &a;
		ev_timer_start(a.loop, &a.tick);
		ev_prepare_init(&a.flush, flush_cb);
		a.flush.data = &a;
		ev_prepare_start(a.loop, &a.flush);
		rd_sd_watchdog_start(a.loop);
		rd_sd_ready();
		log_notice("ready port=%ld nat-port=%ld bind=%s relays=%zu key=%s", a.opt.port,
			a.opt.port - 1, rd_esc(a.opt.bind), rv_server_relay_count(a.srv),
			a.key.licence[0] ? "enforced" : "none");
		ev_run(a.loop, 0);
		ev_prepare_stop(a.loop, &a.flush);
		ev_timer_stop(a.loop, &a.tick);
	}
	stop(&a);
	rv_options_free(&a.opt);
	log_notice("stopped");
	return rc == RD_OK ? 0 : 1;
}

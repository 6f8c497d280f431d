/* agent: the daemon's context, start-up, timers, signals and shutdown. */
#define RD_LOG_SUBSYS "agent"
#include "agent.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <ev.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "control.h"
#include "crypto.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "login.h"
#include "nattest.h"
#include "privsep.h"
#include "reach.h"
#include "rendezvous_client.h"
#include "sandbox.h"
#include "sd.h"
#include "session.h"
#include "session_io.h"
#include "settings.h"
#include "util.h"
#include "video.h"

#define AGENT_NAT_TIMEOUT 5.0       /* per NAT-test probe */
#define AGENT_NAT_MAX_WAIT 300.0    /* retry back-off cap */
#define AGENT_VIDEO_RETRY 10.0      /* reopen capture at most this often */
#define AGENT_STOP_GRACE 6.0        /* sessions get this long to say goodbye */

struct agent {
	struct ev_loop *loop;
	struct agent_settings st;
	char id[AGENT_ID_MAX];
	struct rd_keypair kp;
	uint8_t uuid[AGENT_UUID_LEN];
	struct login_password pw;
	struct stat pw_stat;
	struct login_guard *guard;
	struct session_host host;
	char hostname[256];
	struct video *video;
	double video_tried;
	struct rc *rc;
	struct reach *reach;
	struct sio_set *sios;
	struct control *control;
	struct rd_nattest *nat;
	int nat_type;
	unsigned nat_tries;
	double nat_due;
	bool registered;
	bool ready_sent;
	bool stopping;
	bool sandboxed;             /* under the seccomp filter */
	double started;
	double stop_at;
	ev_signal sigterm, sigint, sighup;
	ev_timer tick;
};

static void agent__request_pk(void *ud)
{
	struct agent *a = ud;
	if (a->rc)
		rc_request_pk(a->rc);
}

static void agent__set_registered(void *ud, bool registered)
{
	struct agent *a = ud;
	a->registered = registered;
	if (registered && !a->ready_sent) {
		a->ready_sent = true;
		rd_sd_ready();
	}
	rd_sd_status("%s as %s with %s", registered ? "registered" : "not registered", a->id,
		a->st.rendezvous);
}

/* ---- NAT type test ---- */

static void agent__nat_done(int rc, const struct rd_nattest_result *res, void *ud)
{
	struct agent *a = ud;
	a->nat = NULL;
	if (rc < 0) {
		/* 1, 3, 7, 15 ... s up to 5 minutes (§7.2) */
		double wait = RD_MIN((double)((1u << RD_MIN(a->nat_tries + 1, 12u)) - 1), AGENT_NAT_MAX_WAIT);
		a->nat_tries++;
		a->nat_due = rd_now() + wait;
		log_info("NAT test failed (%s); again in %.0f s", rd_strerror(rc), wait);
		return;
	}
	a->nat_tries = 0;
	a->nat_due = 0;
	if (a->nat_type != (int)res->nat_type)
		log_notice("NAT type: %s (server saw port %u, then %u, from local port %u)",
			rd_nat_type_name(res->nat_type), res->port_main, res->port_nat, res->local_port);
	a->nat_type = (int)res->nat_type;
}

static void agent__nat_maybe_start(struct agent *a, double now)
{
	if (a->nat || a->nat_due == 0 || now < a->nat_due || a->stopping)
		return;
	struct rd_sockaddr server;
	if (!a->rc || !rc_server_addr(a->rc, &server)) {
		a->nat_due = now + 1;
		return;
	}
	a->nat = rd_nattest_start(a->loop, &server, AGENT_NAT_TIMEOUT, agent__nat_done, a);
	if (!a->nat)
		agent__nat_done(RD_ERR_IO, NULL, a);
}

static void agent__public_addr_changed(void *ud)
{
	struct agent *a = ud;
	if (!a->nat)
		a->nat_due = rd_now();
}

/* ---- video ---- */

static void agent__video_opened(int rc, void *ud)
{
	struct agent *a = ud;
	struct video_display d;
	if (rc < 0) {
		log_warn("no screen capture (%s backend): %s", a->st.capture_backend, rd_strerror(rc));
		return;
	}
	video_get_display(a->video, &d);
	log_notice("capture: %s, %dx%d", video_backend_name(a->video), d.width, d.height);
}

static struct video *agent__video(void *ud)
{
	struct agent *a = ud;
	if (a->stopping || (a->video && !video_failed(a->video)))
		return a->video;
	double now = rd_now();
	if (a->video_tried > 0 && now - a->video_tried < AGENT_VIDEO_RETRY)
		return NULL;
	/* Failed (its subscribers were told and let go): open again. */
	video_free(a->video);
	a->video = NULL;
	a->video_tried = now;
	const char *display = a->st.display && *a->st.display ? a->st.display : getenv("DISPLAY");
	struct video_config vc = { .backend = a->st.capture_backend, .display = display,
		.fps = (int)a->st.fps, .quality = (int)a->st.quality, .state_dir = a->st.data_dir,
		.on_opened = agent__video_opened, .ud = a };
	int rc = video_new(a->loop, &vc, &a->video);
	if (rc < 0) {
		agent__video_opened(rc, a);
		a->video = NULL;
		return NULL;
	}
	if (video_opening(a->video))
		log_info("capture (%s backend) is opening", a->st.capture_backend);
	else
		agent__video_opened(0, a);
	return a->video;
}

/* ---- sessions ---- */

static int agent__nat_type(void *ud)
{
	struct agent *a = ud;
	return a->nat_type;
}

static void agent__session_adopt(void *ud, struct rd_conn *c, enum session_path path,
	const struct rd_sockaddr *peer)
{
	struct agent *a = ud;
	if (a->stopping) {
		rd_conn_close(c, RD_ERR_CLOSED);
		return;
	}
	sio_set_add(a->sios, c, path, peer);
}

static void agent__session_start(void *ud, int fd, enum session_path path)
{
	struct agent *a = ud;
	rd_net_set_nodelay(fd);
	struct rd_conn *c = rd_conn_new(a->loop, fd, false, NULL, NULL, NULL);
	if (!c) {
		close(fd);
		return;
	}
	agent__session_adopt(a, c, path, NULL);
}

/* ---- status ---- */

static void agent__status(void *ud, struct rd_buf *out)
{
	struct agent *a = ud;
	struct video_display d = { 0 };
	char disp[32];
	struct rd_json j;
	if (a->video)
		video_get_display(a->video, &d);
	snprintf(disp, sizeof(disp), "%dx%d", d.width, d.height);
	rd_json_init(&j, out);
	rd_json_obj(&j, NULL);
	rd_json_str(&j, "id", a->id);
	rd_json_str(&j, "server", a->st.rendezvous);
	rd_json_bool(&j, "registered", a->registered);
	rd_json_str(&j, "nat_type", rd_nat_type_name(a->nat_type));
	rd_json_str(&j, "relay", a->st.relay ? a->st.relay : "");
	rd_json_int(&j, "direct_port", reach_direct_port(a->reach));
	rd_json_str(&j, "capture", a->video ? video_backend_name(a->video) : "none");
	rd_json_str(&j, "display", disp);
	rd_json_bool(&j, "h264", true); /* both encoders are always built in */
	rd_json_bool(&j, "vp9", true);
	rd_json_bool(&j, "password_set", a->pw.set);
	rd_json_str(&j, "helper", privsep_active() ? a->st.helper : "none");
	rd_json_bool(&j, "sandbox", a->sandboxed);
	rd_json_num(&j, "uptime", rd_now() - a->started, 0);
	rd_json_uint(&j, "session_count", sio_set_count(a->sios));
	rd_json_uint(&j, "prelogin_dropped", sio_set_prelogin_dropped(a->sios));
	sio_set_status_json(a->sios, &j);
	rd_json_end(&j, '}');
}

/* ---- password file: picked up when `rd-agent password set` changes it ---- */

static void agent__password_reload(struct agent *a, bool force)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", a->st.data_dir, LOGIN_PW_FILE);
	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (!force && st.st_ino == a->pw_stat.st_ino && st.st_mtim.tv_sec == a->pw_stat.st_mtim.tv_sec &&
		st.st_mtim.tv_nsec == a->pw_stat.st_mtim.tv_nsec && st.st_size == a->pw_stat.st_size)
		return;
	a->pw_stat = st;
	struct login_password pw;
	int rc = login_password_load(a->st.data_dir, &pw);
	if (rc == RD_ERR_NOTFOUND)
		log_warn("no password set: every login is refused (rd-agent password set)");
	else if (rc < 0)
		log_err("%s: %s; every login is refused", path, rc == RD_ERR_PERM ?
			"readable by others (must be 0600)" : rd_strerror(rc));
	else
		log_info("password hash loaded");
	login_password_wipe(&a->pw);
	if (rc == RD_OK)
		a->pw = pw;
}

/* ---- timers and signals ---- */

static void agent__on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	(void)revents;
	double now = rd_now();
	if (a->stopping) {
		if (sio_set_count(a->sios) == 0 || now >= a->stop_at)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	sio_set_tick(a->sios, now);
	sandbox_report();
	agent__nat_maybe_start(a, now);
	agent__password_reload(a, false);
}

static void agent__stop(struct agent *a, const char *why)
{
	if (a->stopping)
		return;
	a->stopping = true;
	log_notice("%s: closing %u session(s) and stopping", why, sio_set_count(a->sios));
	rd_sd_stopping();
	sio_set_close_all(a->sios, "The host agent is shutting down");
	rc_free(a->rc);
	a->rc = NULL;
	rd_nattest_cancel(a->nat);
	a->nat = NULL;
	control_free(a->control);
	a->control = NULL;
	a->stop_at = rd_now() + AGENT_STOP_GRACE;
	ev_timer_set(&a->tick, 0.05, 0.05);
	ev_timer_again(a->loop, &a->tick);
}

static void agent__on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;
	(void)loop, (void)revents;
	if (w->signum == SIGHUP) {
		log_info("SIGHUP: reloading the password hash");
		agent__password_reload(a, true);
		return;
	}
	agent__stop(a, w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- start-up ---- */

static int agent__identity(struct agent *a)
{
	const char *old = settings_legacy_dir(a->st.data_dir);
	if (old)
		log_warn("%s holds no ID; an earlier version's state (ID, keys, uuid, password hash) "
			"is in %s: move it here as root (mv %s/* %s/), as the rd-agent package does "
			"on upgrade", a->st.data_dir, old, old, a->st.data_dir);
	int rc = rd_key_load(a->st.data_dir, &a->kp);
	if (rc < 0) {
		log_err("key pair in %s: %s (run rd-agent enroll first)", a->st.data_dir, rd_strerror(rc));
		return rc;
	}
	rc = settings_id_effective(&a->st, a->id);
	if (rc < 0) {
		log_err("no ID in %s/id: %s (run rd-agent enroll first)", a->st.data_dir, rd_strerror(rc));
		return rc;
	}
	bool created = false;
	rc = settings_uuid_load_or_create(a->st.data_dir, a->uuid, &created);
	if (rc < 0) {
		log_err("%s/uuid: %s", a->st.data_dir, rd_strerror(rc));
		return rc;
	}
	agent__password_reload(a, true);
	return RD_OK;
}

static void agent__host(struct agent *a)
{
	if (gethostname(a->hostname, sizeof(a->hostname) - 1) < 0)
		rd_strlcpy(a->hostname, "localhost", sizeof(a->hostname));
	a->host = (struct session_host){
		.id = a->id, .kp = &a->kp, .pw = &a->pw, .guard = a->guard, .hostname = a->hostname,
		.allow_plain = a->st.allow_unencrypted,
		.codec_pref = !strcmp(a->st.codec, "h264") ? VIDEO_CODEC_H264 :
			!strcmp(a->st.codec, "vp9") ? VIDEO_CODEC_VP9 : 0,
	};
}

/* ---- wiring ---- */

static void agent__punch(void *ud, const struct rd_sockaddr *server, const Hbb__PunchHole *ph)
{
	struct agent *a = ud;
	reach_punch(a->reach, server, ph);
}

static void agent__fetch_local(void *ud, const struct rd_sockaddr *server, const Hbb__FetchLocalAddr *fl)
{
	struct agent *a = ud;
	reach_local(a->reach, server, fl);
}

static void agent__request_relay(void *ud, const struct rd_sockaddr *server, const Hbb__RequestRelay *rr)
{
	struct agent *a = ud;
	reach_relay(a->reach, server, rr);
}

static const struct reach_ops agent_reach_ops = {
	.nat_type = agent__nat_type,
	.session_fd = agent__session_start,
	.session_conn = agent__session_adopt,
};

static const struct sio_set_ops agent_sio_ops = {
	.video = agent__video,
	.pk_refresh = agent__request_pk,
};

static const struct rc_ops agent_rc_ops = {
	.registered = agent__set_registered,
	.public_addr_changed = agent__public_addr_changed,
	.punch = agent__punch,
	.fetch_local = agent__fetch_local,
	.request_relay = agent__request_relay,
};

/* Who opens devices: rd-agent-helper when its socket is there, else this
 * process (an agent on Xvfb needs no privilege). */
static int agent__privileges(struct agent *a)
{
	const char *h = a->st.helper;
	bool none = !h || !*h || !strcmp(h, "none");
	int rc = privsep_init(none ? NULL : h, !none && strcmp(h, PRIVSEP_DEFAULT_SOCKET) != 0);
	if (rc < 0 && !privsep_active())
		return rc;	/* a named helper that is down is asked again later */
	if (geteuid() == 0)
		log_warn("running as root: run the agent as an unprivileged user, with "
			"rd-agent-helper opening devices for it (see SECURITY.md)");
	return RD_OK;
}

static int agent__start(struct agent *a)
{
	struct reach_config rcfg = { .id = a->id, .relay = a->st.relay, .force_relay = a->st.force_relay,
		.server_key = a->st.key ? a->st.key : "" };
	a->reach = reach_new(a->loop, &rcfg, &agent_reach_ops, a);
	struct sio_set_config scfg = { .host = &a->host, .input_backend = a->st.input_backend,
		.display = a->st.display, .view_only = a->st.view_only,
		.clipboard_max = (size_t)a->st.clipboard_max, .fps = (int)a->st.fps,
		.quality = (int)a->st.quality };
	struct audio_config acfg = { .source = a->st.audio_source, .bitrate_kbps = (int)a->st.audio_bitrate,
		.frame_ms = (int)a->st.audio_frame_ms, .lowdelay = !strcmp(a->st.audio_application, "lowdelay") };
	scfg.audio = a->st.audio_enabled ? &acfg : NULL;
	a->sios = sio_set_new(a->loop, &scfg, &agent_sio_ops, a);
	if (a->st.direct_port > 0) {
		int rc = reach_direct_listen(a->reach, a->st.direct_bind, (int)a->st.direct_port);
		if (rc < 0) {
			log_err("direct listener on port %ld: %s", a->st.direct_port, strerror(errno));
			return rc;
		}
		log_notice("direct listener on port %d (handshake and login required)",
			reach_direct_port(a->reach));
	}
	char path[4096];
	if (settings_control_path(&a->st, path, sizeof(path)) == RD_OK)
		a->control = control_new(a->loop, path, agent__status, a);
	struct rc_config ccfg = { .server = a->st.rendezvous, .interval = (double)a->st.register_interval,
		.id = a->id, .uuid = a->uuid, .kp = &a->kp };
	a->rc = rc_new(a->loop, &ccfg, &agent_rc_ops, a);
	a->nat_due = rd_now();
	agent__video(a); /* probe now so PeerInfo knows the display; retried later if absent */

	ev_signal_init(&a->sigterm, agent__on_signal, SIGTERM);
	ev_signal_init(&a->sigint, agent__on_signal, SIGINT);
	ev_signal_init(&a->sighup, agent__on_signal, SIGHUP);
	a->sigterm.data = a->sigint.data = a->sighup.data = a;
	ev_signal_start(a->loop, &a->sigterm);
	ev_signal_start(a->loop, &a->sigint);
	ev_signal_start(a->loop, &a->sighup);
	ev_timer_init(&a->tick, agent__on_tick, 1.0, 1.0);
	a->tick.data = a;
	ev_timer_start(a->loop, &a->tick);
	rd_sd_watchdog_start(a->loop);
	log_notice("rd-agent %s: ID %s, server %s, capture %s, codecs h264 vp9", RD_VERSION, a->id,
		rd_esc(a->st.rendezvous), a->st.capture_backend);
	return RD_OK;
}

static void agent__cleanup(struct agent *a)
{
	if (a->loop)
		rd_sd_watchdog_stop(a->loop);
	rc_free(a->rc);
	rd_nattest_cancel(a->nat);
	control_free(a->control);
	reach_free(a->reach);
	/* Let closing conns run their on_close before the sessions go. */
	for (int i = 0; i < 100 && a->sios && sio_set_count(a->sios); i++)
		ev_run(a->loop, EVRUN_NOWAIT);
	if (a->sios && sio_set_count(a->sios) == 0)
		sio_set_free(a->sios);
	video_free(a->video);
	login_guard_free(a->guard);
	login_password_wipe(&a->pw);
	rd_keypair_wipe(&a->kp);
	privsep_close();
	settings_free(&a->st);
}

int agent_main(int argc, char **argv)
{
	static struct agent agent;
	struct agent *a = &agent;
	char err[512];
	int argi = 0, status = 1;
	if (settings_load(&a->st, argc, argv, &argi, err, sizeof(err)) < 0) {
		fprintf(stderr, "rd-agent run: %s\n", err);
		return 2;
	}
	if (argi != argc || a->st.help) {
		fprintf(a->st.help ? stdout : stderr, "usage: rd-agent run [--config FILE] [options]\n");
		rd_config_usage(&agent_config, a->st.help ? stdout : stderr);
		settings_free(&a->st);
		return a->st.help ? 0 : 2;
	}
	enum rd_log_level lvl;
	if (rd_log_level_parse(a->st.log_level, &lvl) == RD_OK)
		rd_log_set_level(lvl);
	if (!a->st.rendezvous || !*a->st.rendezvous) {
		log_err("no rendezvous server configured in %s (run rd-agent enroll)", a->st.config);
		goto out;
	}
	if (!a->st.key || !*a->st.key)
		log_warn("no server key configured: the relay may refuse us");
	signal(SIGPIPE, SIG_IGN);
	a->loop = ev_default_loop(EVFLAG_AUTO);
	a->started = rd_now();
	a->guard = login_guard_new();
	if (agent__identity(a) < 0)
		goto out;
	agent__host(a);
	if (agent__privileges(a) < 0 || agent__start(a) < 0)
		goto out;
	if (a->st.sandbox) {
		if (sandbox_enter() < 0) {
			log_err("no sandbox: not running without it ([agent] sandbox = no turns it off)");
			goto out;
		}
		a->sandboxed = true;
	} else {
		log_warn("sandbox off ([agent] sandbox = no): the seccomp filter is not installed");
	}
	ev_run(a->loop, 0);
	status = a->stopping ? 0 : 1;
out:
	agent__cleanup(a);
	return status;
}

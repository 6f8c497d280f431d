/* rd-agent-helper: the privileged half of rd-agent (see helper.h). It binds
 * its socket (--listen) or takes one from systemd socket activation, then
 * serves the agent users until SIGTERM. */
#define RD_LOG_SUBSYS "helper"
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "sd.h"
#include "util.h"

struct helper_settings {
	char *listen, *agent_user, *xauthority, *runtime_dir, *uinput, *dri_dir, *log_level;
	bool help, version;
};

#define OFF(f) offsetof(struct helper_settings, f)
static const struct rd_setting settings[] = {
	{ "listen", 0, NULL, NULL, NULL, RD_CFG_STR, NULL, "PATH", "bind the SOCK_SEQPACKET socket "
		"there (mode 0660, group of the first agent user); without it, the socket comes "
		"from systemd socket activation", OFF(listen), 0, 0, 0 },
	{ "agent-user", 0, NULL, NULL, NULL, RD_CFG_STR, NULL, "USER[,USER...]", "names or uids "
		"of the only peers served; any other is logged and disconnected", OFF(agent_user),
		0, 0, 0 },
	{ "xauthority", 0, NULL, NULL, NULL, RD_CFG_STR, NULL, "FILE", "Xauthority file the X "
		"cookies come from (default $XAUTHORITY)", OFF(xauthority), 0, 0, 0 },
	{ "runtime-dir", 0, NULL, NULL, NULL, RD_CFG_STR, NULL, "DIR", "runtime folder of the "
		"PipeWire daemon, whose socket is DIR/$PIPEWIRE_REMOTE or DIR/pipewire-0 (default "
		"$XDG_RUNTIME_DIR)", OFF(runtime_dir), 0, 0, 0 },
	{ "uinput", 0, NULL, NULL, NULL, RD_CFG_STR, "/dev/uinput", "PATH", "uinput device node",
		OFF(uinput), 0, 0, 0 },
	{ "dri-dir", 0, NULL, NULL, NULL, RD_CFG_STR, "/dev/dri", "DIR", "folder of the DRM "
		"card nodes", OFF(dri_dir), 0, 0, 0 },
	{ "log-level", 'l', NULL, NULL, NULL, RD_CFG_STR, "info", "LEVEL", "error, warn, notice, "
		"info or debug (one line per request)", OFF(log_level), 0, 0, 0 },
	{ "help", 'h', NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "show this help", OFF(help),
		0, 0, 0 },
	{ "version", 0, NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "show the version",
		OFF(version), 0, 0, 0 },
};

static const struct rd_config config = {
	.prog = "rd-agent-helper",
	.default_section = "helper",
	.table = settings,
	.n = RD_ARRAY_LEN(settings),
};

/* "nobody,1234" -> uids; *gid: the first one's primary group, or -1. */
static int parse_users(const char *list, struct helper_config *cfg, gid_t *gid)
{
	char *copy = xstrdup(list), *save = NULL;
	int rc = RD_OK;
	*gid = (gid_t)-1;
	for (char *u = strtok_r(copy, ",", &save); u && rc == RD_OK; u = strtok_r(NULL, ",", &save)) {
		char *end;
		errno = 0;
		unsigned long n = strtoul(u, &end, 10);
		bool numeric = !*end && end != u && !errno && n < (uid_t)-1;
		struct passwd *pw = numeric ? getpwuid((uid_t)n) : getpwnam(u);
		if ((!pw && !numeric) || cfg->n_uids == HELPER_MAX_UIDS) {
			log_err("--agent-user: %s %s", cfg->n_uids == HELPER_MAX_UIDS ? "too many users at"
				: "no such user:", rd_esc(u));
			rc = RD_ERR_CONFIG;
			break;
		}
		if (cfg->n_uids == 0 && pw)
			*gid = pw->pw_gid;
		cfg->uids[cfg->n_uids++] = pw ? pw->pw_uid : (uid_t)n;
	}
	free(copy);
	if (rc == RD_OK && cfg->n_uids == 0) {
		log_err("give --agent-user: the user (or uid) rd-agent runs as");
		rc = RD_ERR_CONFIG;
	}
	return rc;
}

/* The socket systemd passed, else a new one at path. *bound: we made path. */
static int open_socket(const char *path, gid_t gid, bool *bound)
{
	int n = sd_listen_fds(1);
	*bound = false;
	if (n > 1 || (n == 1 && sd_is_socket(SD_LISTEN_FDS_START, AF_UNIX, SOCK_SEQPACKET, 1) <= 0)) {
		log_err("systemd passed %d sockets: want one listening AF_UNIX SOCK_SEQPACKET", n);
		return -1;
	}
	if (n == 1) {
		int fl = fcntl(SD_LISTEN_FDS_START, F_GETFL);
		fcntl(SD_LISTEN_FDS_START, F_SETFL, fl | O_NONBLOCK);
		return SD_LISTEN_FDS_START;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	if (!path || rd_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >= sizeof(sa.sun_path)) {
		log_err(path ? "--listen: path too long" : "give --listen PATH, or start through a "
			"systemd socket unit");
		return -1;
	}
	if (lstat(path, &st) == 0 && (!S_ISSOCK(st.st_mode) || unlink(path) != 0)) {
		log_err("%s exists and is not a socket that can be replaced", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	mode_t old = umask(0117);
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	umask(old);
	*bound = ok;
	ok = ok && chown(path, geteuid(), gid) == 0 && chmod(path, 0660) == 0 && listen(fd, 16) == 0;
	if (!ok) {
		log_err("%s: %s", path, strerror(errno));
		if (*bound)
			unlink(path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int run(const struct helper_settings *s)
{
	struct helper_config cfg = { .uinput = s->uinput, .dri_dir = s->dri_dir };
	gid_t gid;
	bool bound;
	if (parse_users(s->agent_user ? s->agent_user : "", &cfg, &gid) != RD_OK)
		return 2;
	cfg.xauthority = s->xauthority ? s->xauthority : getenv("XAUTHORITY");
	cfg.runtime_dir = s->runtime_dir ? s->runtime_dir : getenv("XDG_RUNTIME_DIR");
	cfg.pw_remote = getenv("PIPEWIRE_REMOTE");
	if (!cfg.pw_remote || !*cfg.pw_remote)
		cfg.pw_remote = "pipewire-0";
	if (strchr(cfg.pw_remote, '/')) {
		log_err("PIPEWIRE_REMOTE must be a socket name in the runtime folder, without '/'");
		return 2;
	}
	int lfd = open_socket(s->listen, gid, &bound);
	if (lfd < 0)
		return 1;
	log_info("serving %zu agent user(s) (first uid %u) on %s; X cookies from %s, PipeWire at "
		"%s/%s, uinput %s, cards in %s", cfg.n_uids, (unsigned)cfg.uids[0],
		bound ? s->listen : "the socket systemd passed", cfg.xauthority ? cfg.xauthority
		: "(none)", cfg.runtime_dir ? cfg.runtime_dir : "(none)", cfg.pw_remote, cfg.uinput,
		cfg.dri_dir);
	rd_sd_ready();
	int rc = helper_run(&cfg, lfd);
	rd_sd_stopping();
	close(lfd);
	if (bound)
		unlink(s->listen);
	return rc;
}

int main(int argc, char **argv)
{
	struct helper_settings s;
	char err[512];
	enum rd_log_level level;
	int argi, rc = 2;
	memset(&s, 0, sizeof(s));
	rd_log_init("rd-agent-helper");
	if (rd_config_load(&config, &s, argc, argv, &argi, err, sizeof(err)) != RD_OK) {
		fprintf(stderr, "rd-agent-helper: %s (try --help)\n", err);
		goto out;
	}
	if (s.help) {
		printf("usage: rd-agent-helper --agent-user USER [options]\n");
		rd_config_usage_options(&config, stdout);
		rc = 0;
	} else if (s.version) {
		printf("rd-agent-helper %s\n", RD_VERSION);
		rc = 0;
	} else if (argi < argc || rd_log_level_parse(s.log_level, &level) != RD_OK) {
		fprintf(stderr, "rd-agent-helper: %s (try --help)\n", argi < argc ?
			"unexpected argument" : "unknown --log-level");
	} else {
		rd_log_set_level(level);
		rc = run(&s);
	}
out:
	rd_config_free(&config, &s);
	return rc;
}

/* cli: password set, id and status. */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "login.h"
#include "settings.h"
#include "util.h"

static int cli__load(struct agent_settings *st, int argc, char **argv, const char *verb)
{
	char err[512];
	int argi = 0;
	int rc = settings_load(st, argc, argv, &argi, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "rd-agent %s: %s\n", verb, err);
		return 2;
	}
	if (argi != argc) {
		fprintf(stderr, "rd-agent %s: unexpected argument \"%s\"\n", verb, argv[argi]);
		return 2;
	}
	return 0;
}

/* Read the password from stdin: one line (a final newline is dropped). */
static int cli__read_password(char *buf, size_t bufsz)
{
	size_t len = 0;
	for (;;) {
		if (len + 1 >= bufsz)
			return RD_ERR_TOOBIG;
		ssize_t n = read(STDIN_FILENO, buf + len, bufsz - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return RD_ERR_IO;
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
	size_t l = strlen(buf);
	if (l && buf[l - 1] == '\r')
		buf[l - 1] = 0;
	return buf[0] ? RD_OK : RD_ERR_INVAL;
}

int cli_password(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "set") != 0) {
		fprintf(stderr, "usage: rd-agent password set [--config FILE] < password\n");
		return 2;
	}
	struct agent_settings st;
	int status = cli__load(&st, argc - 1, argv + 1, "password set");
	if (status)
		goto out;
	status = 1;
	char *pw = sodium_malloc(LOGIN_PW_MAX + 1);
	if (!pw)
		goto out;
	int rc = cli__read_password(pw, LOGIN_PW_MAX + 1);
	if (rc < 0) {
		fprintf(stderr, "rd-agent password set: %s\n", rc == RD_ERR_INVAL ? "empty password on stdin"
			: rc == RD_ERR_TOOBIG ? "password too long" : "cannot read stdin");
		sodium_free(pw);
		goto out;
	}
	rc = rd_mkdir_p(st.data_dir, 0700);
	if (rc == RD_OK)
		rc = login_password_store(st.data_dir, pw);
	sodium_free(pw);
	if (rc < 0) {
		fprintf(stderr, "rd-agent password set: %s/%s: %s\n", st.data_dir, LOGIN_PW_FILE, rd_strerror(rc));
		goto out;
	}
	fprintf(stderr, "rd-agent: password hash stored in %s/%s (a running agent reads it at the "
		"next login)\n", st.data_dir, LOGIN_PW_FILE);
	status = 0;
out:
	settings_free(&st);
	return status;
}

int cli_id(int argc, char **argv)
{
	struct agent_settings st;
	int status = cli__load(&st, argc, argv, "id");
	if (status)
		goto out;
	char id[AGENT_ID_MAX];
	int rc = settings_id_effective(&st, id);
	if (rc < 0) {
		fprintf(stderr, "rd-agent id: no ID in %s (%s); run rd-agent enroll first\n", st.data_dir,
			rd_strerror(rc));
		status = 1;
		goto out;
	}
	if (st.json)
		printf("{\"id\":\"%s\"}\n", id);
	else
		printf("%s\n", id);
out:
	settings_free(&st);
	return status;
}

/* Fetch the daemon's JSON status line (bounded in size and time). */
static int cli__fetch_status(const char *path, char *buf, size_t bufsz)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return RD_ERR_TOOBIG;
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return RD_ERR_IO;
	int rc = RD_ERR_IO;
	size_t len = 0;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, 5000);
		if (pr == 0) {
			rc = RD_ERR_TIMEOUT;
			goto out;
		}
		if (pr < 0 && errno == EINTR)
			continue;
		ssize_t n = read(fd, buf + len, bufsz - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len + 1 >= bufsz)
			break;
	}
	buf[len] = 0;
	rc = len ? RD_OK : RD_ERR_EOF;
out:
	close(fd);
	return rc;
}

/* Minimal extraction of "key":value from our own JSON (flat values only). */
static void cli__json_get(const char *json, const char *key, char *out, size_t outsz)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(json, pat);
	out[0] = 0;
	if (!p)
		return;
	p += strlen(pat);
	if (*p == '"')
		p++;
	size_t n = strcspn(p, "\",}");
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

int cli_status(int argc, char **argv)
{
	struct agent_settings st;
	int status = cli__load(&st, argc, argv, "status");
	if (status)
		goto out;
	char path[4096];
	static char buf[65536];
	status = 1;
	if (settings_control_path(&st, path, sizeof(path)) < 0)
		goto out;
	int rc = cli__fetch_status(path, buf, sizeof(buf));
	if (rc < 0 && !(st.control_socket && *st.control_socket) && !getenv("RUNTIME_DIRECTORY") &&
		access(AGENT_RUNTIME_DIR "/control.sock", F_OK) == 0) {
		/* The systemd unit's runtime directory, asked from a shell. */
		snprintf(path, sizeof(path), "%s/control.sock", AGENT_RUNTIME_DIR);
		rc = cli__fetch_status(path, buf, sizeof(buf));
	}
	if (rc < 0) {
		if (st.json)
			printf("{\"running\":false}\n");
		else
			fprintf(stderr, "rd-agent status: no agent answers on %s (%s)\n", path,
				rc == RD_ERR_IO ? strerror(errno) : rd_strerror(rc));
		status = 3;
		goto out;
	}
	if (st.json) {
		fputs(buf, stdout);
		if (buf[strlen(buf) - 1] != '\n')
			putchar('\n');
	} else {
		char id[64], reg[16], server[300], nat[32], n[16];
		cli__json_get(buf, "id", id, sizeof(id));
		cli__json_get(buf, "registered", reg, sizeof(reg));
		cli__json_get(buf, "server", server, sizeof(server));
		cli__json_get(buf, "nat_type", nat, sizeof(nat));
		cli__json_get(buf, "session_count", n, sizeof(n));
		printf("id: %s\nserver: %s\nregistered: %s\nnat: %s\nsessions: %s\n", id, server,
			strcmp(reg, "true") == 0 ? "yes" : "no", nat, n);
		const char *p = strstr(buf, "\"sessions\":[");
		while (p && (p = strstr(p + 1, "{\"peer\":")) != NULL) {
			char peer[80], path_s[16], state[16], codec[8], controller[64];
			cli__json_get(p, "peer", peer, sizeof(peer));
			cli__json_get(p, "path", path_s, sizeof(path_s));
			cli__json_get(p, "state", state, sizeof(state));
			cli__json_get(p, "codec", codec, sizeof(codec));
			cli__json_get(p, "controller", controller, sizeof(controller));
			printf("  %s via %s, %s, %s, controller %s\n", peer, path_s, state, codec, controller);
		}
	}
	status = 0;
out:
	settings_free(&st);
	return status;
}

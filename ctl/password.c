/* password: from --password-file, RDESK_PASSWORD or a prompt on the terminal
 * with echo off; never from argv. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "ctl.h"
#include "err.h"
#include "password.h"
#include "util.h"

static void chomp(char *s)
{
	size_t n = strcspn(s, "\r\n");
	s[n] = '\0';
}

static int prompt(const char *id, char *out, size_t outsz)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct termios old, quiet;
	int rc = RD_ERR_NOTFOUND;
	if (fd < 0)
		return RD_ERR_NOTFOUND;
	if (tcgetattr(fd, &old) != 0)
		goto out;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	dprintf(fd, "password for %s: ", id);
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		goto out;
	size_t n = 0;
	while (n + 1 < outsz) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		out[n++] = ch;
	}
	out[n] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	rc = RD_OK;
out:
	close(fd);
	return rc;
}

int ctl_password_get(const struct ctl *c, char *out, size_t outsz)
{
	const char *env;
	out[0] = '\0';
	if (c->set.password_file && c->set.password_file[0]) {
		char *text = NULL;
		size_t len = 0;
		int rc = rd_read_file(c->set.password_file, 4096, &text, &len);
		if (rc != RD_OK)
			return rc;
		rd_strlcpy(out, text, outsz);
		sodium_memzero(text, len);
		free(text);
		chomp(out);
		return RD_OK;
	}
	if ((env = getenv("RDESK_PASSWORD")) != NULL) {
		rd_strlcpy(out, env, outsz);
		return RD_OK;
	}
	if (isatty(STDIN_FILENO))
		return prompt(c->id ? c->id : "peer", out, outsz);
	return RD_ERR_NOTFOUND;
}

/* admin: the data directory lock and --forget. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "admin.h"
#include "err.h"
#include "log.h"
#include "registry.h"
#include "store.h"
#include "util.h"

int rv_datadir_lock(const char *dir, bool exclusive)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return RD_ERR_IO;
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return e == EWOULDBLOCK ? RD_ERR_LIMIT : RD_ERR_IO;
	}
	return fd;
}

int rv_admin_forget(const char *dir, const char *id)
{
	if (rv_id_check(id) != RD_OK) {
		fprintf(stderr, "rd-rendezvous: --forget: '%s' is not an ID\n", rd_esc(id));
		return 2;
	}
	int lock = rv_datadir_lock(dir, true);
	if (lock == RD_ERR_LIMIT) {
		fprintf(stderr, "rd-rendezvous: a running server uses %s; stop it "
			"(systemctl stop rd-rendezvous), run --forget again, then start it\n", dir);
		return 1;
	}
	if (lock < 0) {
		fprintf(stderr, "rd-rendezvous: data dir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	/* Never create a database here: run as root, it would belong to root. */
	char path[4096];
	snprintf(path, sizeof(path), "%s/rendezvous.db", dir);
	if (access(path, F_OK) < 0) {
		fprintf(stderr, "rd-rendezvous: no database %s: %s\n", path, strerror(errno));
		close(lock);
		return 1;
	}
	struct rv_store *st = NULL;
	int rc = rv_store_open(dir, &st);
	if (rc == RD_OK)
		rc = rv_store_forget(st, id);
	rv_store_close(st);
	close(lock);
	if (rc == RD_ERR_NOTFOUND) {
		fprintf(stderr, "rd-rendezvous: no ID %s in %s/rendezvous.db\n", id, dir);
		return 1;
	}
	if (rc != RD_OK) {
		fprintf(stderr, "rd-rendezvous: --forget %s: %s\n", id, rd_strerror(rc));
		return 1;
	}
	printf("released ID %s: the next machine to register it binds it anew\n", id);
	return 0;
}

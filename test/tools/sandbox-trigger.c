/* sandbox-trigger: preloaded (LD_PRELOAD) into rd-agent by
 * test_agent_sandbox.sh to show what the agent's seccomp filter does to a
 * thread that was running before the filter went in, as code an intruder
 * got into the agent would. The thread waits for a word on the FIFO named by
 * $RD_SANDBOX_TRIGGER and makes that system call:
 *   execve   run /bin/sh writing FIFO.escaped      (must kill the process)
 *   ptrace   PTRACE_ATTACH to the parent            (must kill the process)
 *   unshare  a new network namespace                (must kill the process)
 *   fork     a process, not a thread                (refused: EPERM)
 *   netlink  a netlink socket                       (refused: EAFNOSUPPORT)
 *   open     reading /etc/hostname                  (allowed)
 * The outcome of a call that returns is appended to FIFO.out. Built without
 * sanitizers, for sanitized agents too. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char fifo[4096];

static void report(const char *word, long rc, int err)
{
	char path[4200], line[128];
	snprintf(path, sizeof(path), "%s.out", fifo);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	int n = snprintf(line, sizeof(line), "%s %s\n", word, rc >= 0 ? "ok" : strerrorname_np(err));
	if (write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}

static void call(const char *w)
{
	long rc = -1;
	errno = 0;
	if (!strcmp(w, "execve")) {
		char cmd[4200];
		snprintf(cmd, sizeof(cmd), "echo escaped > '%s.escaped'", fifo);
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };
		rc = execve("/bin/sh", argv, environ);
	} else if (!strcmp(w, "ptrace")) {
		rc = ptrace(PTRACE_ATTACH, getppid(), NULL, NULL);
	} else if (!strcmp(w, "unshare")) {
		rc = unshare(CLONE_NEWNET);
	} else if (!strcmp(w, "fork")) {
		rc = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
		if (rc == 0)
			_exit(0);
		if (rc > 0)
			waitpid((pid_t)rc, NULL, 0);
	} else if (!strcmp(w, "netlink")) {
		rc = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (rc >= 0)
			close((int)rc);
	} else if (!strcmp(w, "open")) {
		rc = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
		if (rc >= 0)
			close((int)rc);
	} else {
		errno = EINVAL;
	}
	report(w, rc, errno);
}

static void *wait_words(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++) {
		char w[32] = "";
		int fd = open(fifo, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		ssize_t n = read(fd, w, sizeof(w) - 1);
		close(fd);
		if (n <= 0)
			continue;
		w[strcspn(w, "\n")] = 0;
		call(w);
	}
	return NULL;
}

__attribute__((constructor)) static void sandbox_trigger_init(void)
{
	const char *p = getenv("RD_SANDBOX_TRIGGER");
	pthread_t t;
	if (!p || !*p || strlen(p) >= sizeof(fifo))
		return;
	strcpy(fifo, p);
	if (pthread_create(&t, NULL, wait_words, NULL) == 0)
		pthread_detach(t);
}

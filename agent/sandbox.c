/* sandbox: rd-agent's own seccomp filter (see sandbox.h). */
#define RD_LOG_SUBSYS "sandbox"
#include "sandbox.h"

#include <errno.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <ucontext.h>

#include "err.h"
#include "log.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

/* Never made by the agent, and what an intruder would want first. */
static const char *const sandbox_kill[] = {
	"execve", "execveat", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount", "fsconfig", "move_mount",
	"open_tree", "mount_setattr", "unshare", "setns", "setuid", "setgid", "setreuid",
	"setregid", "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid", "capset",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "bpf",
	"perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "open_by_handle_at",
	"name_to_handle_at", "reboot", "swapon", "swapoff", "acct", "syslog", "iopl", "ioperm",
	"personality", "quotactl", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"mknod", "mknodat", "io_uring_setup", "io_uring_enter", "io_uring_register",
	"fanotify_init", "kcmp", "vhangup", "uselib",
#if !SANDBOX_SANITIZER
	"ptrace",	/* the leak checker of sanitizer builds stops threads with it */
#endif
};

/* What the agent, glibc and the libraries it uses (libev, xcb, Xlib,
 * PipeWire, libdrm, x264, libvpx, libsodium, libsystemd) call while running. */
static const char *const sandbox_allow[] = {
	/* descriptors and files (the state directory, /proc/self, sockets) */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "lseek",
	"close", "close_range", "open", "openat", "stat", "fstat", "lstat", "newfstatat",
	"statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "getdents64", "getcwd", "mkdir", "mkdirat", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "fsync", "fdatasync", "ftruncate", "fchmod", "chmod", "umask",
	"fcntl", "flock", "dup", "dup2", "dup3", "pipe", "pipe2", "fadvise64", "memfd_create",
	"inotify_init1", "inotify_add_watch", "inotify_rm_watch", "sendfile",
	/* memory */
	"mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "msync", "membarrier",
	/* threads, signals, time, events */
	"futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
	"exit", "exit_group", "gettid", "getpid", "getppid", "tgkill", "tkill", "sched_yield",
	"sched_getaffinity", "sched_getparam", "sched_getscheduler", "sched_getattr",
	"sched_get_priority_min", "sched_get_priority_max", "getpriority",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack",
	"signalfd4", "restart_syscall", "clock_gettime", "clock_getres", "gettimeofday", "time",
	"nanosleep", "clock_nanosleep", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"poll", "ppoll", "select", "pselect6", "eventfd", "eventfd2", "arch_prctl", "getcpu",
	/* sockets (socket itself below) */
	"socketpair", "connect", "bind", "listen", "accept", "accept4", "getsockname",
	"getpeername", "setsockopt", "getsockopt", "shutdown", "sendto", "recvfrom", "sendmsg",
	"recvmsg", "sendmmsg", "recvmmsg",
	/* identity reads, limits, randomness; MIT-SHM for X11 capture */
	"getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid",
	"getrandom", "uname", "sysinfo", "getrlimit", "getrusage", "times",
	"shmget", "shmat", "shmdt", "shmctl",
};

/* Asked for by libraries that take what they get (PipeWire tries realtime
 * scheduling for its threads): refused with EPERM, without a log line. */
static const char *const sandbox_quiet[] = {
	"sched_setscheduler", "sched_setattr", "sched_setparam", "setpriority", "ioprio_set",
};

#define SANDBOX_MAX_NR 1024
static atomic_uint_least64_t sandbox_denied[SANDBOX_MAX_NR / 64];
static uint64_t sandbox_reported[SANDBOX_MAX_NR / 64];

#if defined(__x86_64__) || defined(__aarch64__)
#define SANDBOX_TRAP 1
/* A refused call: remember it for sandbox_report and make it return EPERM. */
static void sandbox__on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	unsigned nr = (unsigned)si->si_syscall;
	if (nr < SANDBOX_MAX_NR)
		atomic_fetch_or(&sandbox_denied[nr / 64], (uint64_t)1 << (nr % 64));
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#else
	uc->uc_mcontext.regs[0] = (uint64_t)-EPERM;
#endif
}
#else
#define SANDBOX_TRAP 0
#endif

void sandbox_report(void)
{
	for (unsigned w = 0; w < SANDBOX_MAX_NR / 64; w++) {
		uint64_t fresh = atomic_load(&sandbox_denied[w]) & ~sandbox_reported[w];
		for (unsigned b = 0; fresh && b < 64; b++) {
			if (!(fresh & ((uint64_t)1 << b)))
				continue;
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)(w * 64 + b));
			log_warn("denied system call %s (%u): it failed with EPERM",
				name ? name : "?", w * 64 + b);
			free(name);
		}
		sandbox_reported[w] |= fresh;
	}
}

static int sandbox__add(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* not a call of this architecture */
		int rc = seccomp_rule_add(ctx, action, nr, 0);
		if (rc < 0) {
			log_err("seccomp rule for %s: %s", names[i], strerror(-rc));
			return RD_ERR_IO;
		}
	}
	return RD_OK;
}

/* Calls allowed only with some arguments. */
static int sandbox__add_args(scmp_filter_ctx ctx)
{
	const uint64_t ns = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
		CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	int rc = 0;
	/* Sockets of the three families the agent speaks; getaddrinfo's netlink
	 * probe is told the family is missing, which it handles. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0_32(SCMP_CMP_EQ, AF_INET));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0_32(SCMP_CMP_EQ, AF_INET6));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
		SCMP_A0_32(SCMP_CMP_EQ, AF_NETLINK));
	/* Threads, never processes or namespaces. clone3 passes its flags in
	 * memory, which a filter cannot read: ENOSYS makes glibc use clone. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_THREAD | ns, CLONE_THREAD));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Device control (DRM, uinput, sockets), but no typing into a terminal. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1_32(SCMP_CMP_NE, TIOCSTI));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ioctl), 1,
		SCMP_A1_32(SCMP_CMP_EQ, TIOCSTI));
	/* Thread names; the limits of this process only. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0_32(SCMP_CMP_EQ, PR_SET_NAME));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0_32(SCMP_CMP_EQ, PR_GET_NAME));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A0_32(SCMP_CMP_EQ, 0));
	if (rc < 0) {
		log_err("seccomp argument rules: %s", strerror(-rc));
		return RD_ERR_IO;
	}
	return RD_OK;
}

int sandbox_enter(void)
{
	uint32_t deflt = SCMP_ACT_ERRNO(EPERM);
	if (SANDBOX_SANITIZER)
		deflt = SCMP_ACT_ALLOW;	/* the sanitizer runtime makes calls of its own */
	else if (SANDBOX_TRAP) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sandbox__on_sigsys;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) == 0)
			deflt = SCMP_ACT_TRAP;
	}
	scmp_filter_ctx ctx = seccomp_init(deflt);
	if (!ctx) {
		log_err("cannot start a seccomp filter");
		return RD_ERR_IO;
	}
	int rc = RD_ERR_IO, err;
	/* no_new_privs (libseccomp sets it) and the filter on every thread. */
	if ((err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		log_err("seccomp: no thread synchronisation: %s", strerror(-err));
		goto out;
	}
	if (sandbox__add(ctx, SCMP_ACT_KILL_PROCESS, sandbox_kill, RD_ARRAY_LEN(sandbox_kill)) < 0)
		goto out;
	/* (With the sanitizers everything else is allowed already.) */
	if (!SANDBOX_SANITIZER &&
	    (sandbox__add(ctx, SCMP_ACT_ALLOW, sandbox_allow, RD_ARRAY_LEN(sandbox_allow)) < 0 ||
	     sandbox__add(ctx, SCMP_ACT_ERRNO(EPERM), sandbox_quiet, RD_ARRAY_LEN(sandbox_quiet)) < 0 ||
	     sandbox__add_args(ctx) < 0))
		goto out;
	if ((err = seccomp_load(ctx)) < 0) {
		log_err("cannot load the seccomp filter: %s", strerror(-err));
		goto out;
	}
	log_info("seccomp filter installed on every thread (%s)",
		SANDBOX_SANITIZER ? "sanitizer build: only the forbidden calls are refused" :
		"allowlist; exec, ptrace, mounts, namespaces and identity changes kill");
	rc = RD_OK;
out:
	seccomp_release(ctx);
	return rc;
}

/* sandbox: the seccomp filter rd-agent puts on itself once it has started.
 *
 * The agent installs it on every thread (TSYNC) with no_new_privs, so it
 * holds under any supervisor, not only under systemd's SystemCallFilter=.
 * What a compromised agent would want and the agent never does kills the
 * process at once: running a program, tracing or reading another process,
 * namespaces, mounts, identity and capability changes, kernel modules, bpf,
 * io_uring. Sockets are limited to AF_UNIX, AF_INET and AF_INET6; threads
 * may be made, processes not. Any other call outside the allowlist fails
 * with EPERM and is reported in the log once per call (sandbox_report). */
#ifndef RD_AGENT_SANDBOX_H
#define RD_AGENT_SANDBOX_H

/* Install the filter on all threads. RD_OK, or an error (logged). */
int sandbox_enter(void);
/* Log the system calls the filter refused since the last report (one line
 * each, once); call it from the event loop. */
void sandbox_report(void);

#endif

/* sd: systemd notifications through libsystemd; watchdog pings from an
 * ev_timer at half the configured interval. */
#define RD_LOG_SUBSYS "sd"
#include "sd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <systemd/sd-daemon.h>

#include "log.h"

static struct {
	ev_timer timer;
	bool active;
} sd_wd;

void rd_sd_ready(void)
{
	sd_notify(0, "READY=1");
}

void rd_sd_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void rd_sd_status(const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* STATUS is one line: cut at the first newline. */
	text[strcspn(text, "\n")] = '\0';
	sd_notifyf(0, "STATUS=%s", text);
}

static void sd__watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sd_notify(0, "WATCHDOG=1");
}

void rd_sd_watchdog_start(struct ev_loop *loop)
{
	uint64_t usec = 0;
	int r;

	if (sd_wd.active)
		return;
	r = sd_watchdog_enabled(0, &usec);
	if (r < 0) {
		log_warn("watchdog settings unreadable: %s", strerror(-r));
		return;
	}
	if (r == 0 || usec == 0)
		return;
	double interval = (double)usec / 2e6;
	ev_timer_init(&sd_wd.timer, sd__watchdog_cb, 0.0, interval);
	ev_timer_again(loop, &sd_wd.timer);
	sd_wd.active = true;
	sd_notify(0, "WATCHDOG=1");
	log_debug("watchdog every %.3f s", interval);
}

void rd_sd_watchdog_stop(struct ev_loop *loop)
{
	if (!sd_wd.active)
		return;
	ev_timer_stop(loop, &sd_wd.timer);
	sd_wd.active = false;
}

int rd_sd_journal_stderr(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!e || !*e)
		return 0;
	if (sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

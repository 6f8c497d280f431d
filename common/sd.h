/* sd: systemd notification (READY, STOPPING, STATUS, WATCHDOG) through
 * libsystemd. Every call is a no-op when not started by systemd. */
#ifndef RD_SD_H
#define RD_SD_H

struct ev_loop;

void rd_sd_ready(void);
void rd_sd_stopping(void);
void rd_sd_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* If WatchdogSec is set, ping at half the interval from an ev_timer on loop. */
void rd_sd_watchdog_start(struct ev_loop *loop);
void rd_sd_watchdog_stop(struct ev_loop *loop);
/* True when stderr is connected to the journal (JOURNAL_STREAM matches). */
int rd_sd_journal_stderr(void);

#endif

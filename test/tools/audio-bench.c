/* audio-bench: the agent's sound path alone (PipeWire capture and Opus, the
 * same code as rd-agent's) for a given time, for the benchmark:
 *
 *   audio-bench SECS [SOURCE] [BITRATE_KBPS]
 *
 * Prints one line: "seconds S cpu_s C packets P bytes B frames F silent N",
 * CPU being this process's user + system time (PipeWire's threads included)
 * from the first packet or frame on. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "agent/audio/audio.h"
#include "log.h"
#include "util.h"

struct bench {
	uint64_t packets, bytes;
};

static void on_packet(const struct audio_packet *p, void *ud)
{
	struct bench *b = ud;
	b->packets++;
	b->bytes += p->len;
}

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void on_end(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: audio-bench SECS [SOURCE] [BITRATE_KBPS]\n");
		return 2;
	}
	double secs = atof(argv[1]);
	rd_log_set_level(RD_LOG_WARN);
	struct ev_loop *loop = EV_DEFAULT;
	struct audio_config cfg = { .source = argc > 2 && argv[2][0] ? argv[2] : NULL,
		.bitrate_kbps = argc > 3 ? atoi(argv[3]) : 64, .frame_ms = 20, .lowdelay = true };
	struct audio *a = audio_new(loop, &cfg);
	struct bench b = { 0 };
	struct audio_sub *s = audio_subscribe(a, on_packet, &b);
	/* Let the stream link and settle before measuring. */
	ev_timer settle;
	ev_timer_init(&settle, on_end, 1.0, 0.0);
	ev_timer_start(loop, &settle);
	ev_run(loop, 0);
	struct audio_stats st0, st1;
	audio_get_stats(a, &st0);
	struct bench b0 = b;
	double c0 = cpu_now(), t0 = rd_now();
	ev_timer end;
	ev_timer_init(&end, on_end, secs, 0.0);
	ev_timer_start(loop, &end);
	ev_run(loop, 0);
	double cpu = cpu_now() - c0, t = rd_now() - t0;
	audio_get_stats(a, &st1);
	printf("seconds %.3f cpu_s %.4f packets %llu bytes %llu frames %llu silent %llu\n", t, cpu,
		(unsigned long long)(b.packets - b0.packets), (unsigned long long)(b.bytes - b0.bytes),
		(unsigned long long)(st1.enc.frames - st0.enc.frames),
		(unsigned long long)(st1.enc.silent - st0.enc.silent));
	audio_unsubscribe(s);
	audio_free(a);
	return 0;
}

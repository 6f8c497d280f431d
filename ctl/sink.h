/* sink: where a session goes once logged in. run.c connects, logs in and
 * hands the video to one sink: a PNG (screenshot), a file (record), a player
 * window (connect), or a verb that drives the session itself (the input
 * verbs). Each sink embeds struct ctl_sink first and is called on the loop;
 * it ends the run with ctl_run_finish() or ctl_run_fail() (run.h). */
#ifndef RD_CTL_SINK_H
#define RD_CTL_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "message.pb-c.h"

struct AVFrame;
struct ctl;
struct ctl_result;
struct ctl_session;
struct run;

enum ctl_sink_flag {
	/* Wants the video: the decoder opens at login for the codec asked
	 * for, and a keyframe must come within 15 s. */
	CTL_SINK_MEDIA = 1 << 0,
	/* A live viewer: the agent waits for an ack of each frame. */
	CTL_SINK_ACK = 1 << 1,
	/* Say goodbye to the agent (Misc.close_reason) when the run ends well. */
	CTL_SINK_GOODBYE = 1 << 2,
	/* Wants the host's sound (OptionMessage.disable_audio = No), unless
	 * --no-audio; without it the agent is asked for none. */
	CTL_SINK_AUDIO = 1 << 3,
};

/* Why the run is stopping. */
enum ctl_sink_stop {
	CTL_SINK_TIME,    /* the time set with ctl_run_stop_after() is up */
	CTL_SINK_SIGNAL,  /* SIGINT or SIGTERM */
	CTL_SINK_END,     /* the session ended (a failure is in the result) */
};

struct ctl_sink_ops;
struct ctl_sink {
	const struct ctl_sink_ops *ops;
	struct run *run;  /* set by ctl_run before the first call */
};

/* Every op is optional. */
struct ctl_sink_ops {
	unsigned flags;   /* CTL_SINK_* */
	/* Logged in: s is the live session (for sending), w x h the screen the
	 * agent announced. */
	void (*open)(struct ctl_sink *k, struct ctl_session *s, int w, int h);
	/* Each encoded frame from the first keyframe on; returns whether it
	 * goes to the decoder (no op: all of them do). */
	bool (*packet)(struct ctl_sink *k, enum ctl_codec codec, const uint8_t *data, size_t len,
		bool key, int64_t pts_ms);
	/* Each decoded frame (borrowed). Without this op no decoder runs and
	 * the sink gets no video at all. */
	void (*frame)(struct ctl_sink *k, const struct AVFrame *f);
	/* Other messages from the agent once logged in. */
	void (*message)(struct ctl_sink *k, const Hbb__Message *m);
	/* The run is to stop. Returns true when the sink took care of it (and
	 * ended the run, at once or later); false leaves it to run.c: TIME
	 * ends the run, SIGNAL fails it as interrupted, END as peer_closed
	 * unless a failure is already recorded. */
	bool (*finish)(struct ctl_sink *k, enum ctl_sink_stop why);
	/* Called by ctl_run once the session is gone. */
	void (*free)(struct ctl_sink *k);
};

/* The sinks of the video verbs (view.c). Each reads its settings (output,
 * duration, viewer) from c when it opens and reports into res. */
struct ctl_sink *ctl_sink_shot_new(struct ctl *c, struct ctl_result *res);
struct ctl_sink *ctl_sink_record_new(struct ctl *c, struct ctl_result *res);
struct ctl_sink *ctl_sink_view_new(struct ctl *c, struct ctl_result *res);
struct ctl_sink *ctl_sink_listen_new(struct ctl *c, struct ctl_result *res);

#endif

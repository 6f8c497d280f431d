/* video_qos: what one controller asks of the video (OptionMessage: image
 * quality, custom quality, custom fps; LoginRequest.video_ack_required) and
 * how its link copes (TestDelay round trips, its send queue, its frame
 * acknowledgements), turned into the frame rate and quality the agent should
 * send that controller. I/O free: numbers and time in, decisions out, so the
 * unit test drives it directly.
 *
 * Quality is a bitrate ratio (PROTOCOL.md §11): 1.0 is the agent's configured
 * [video] quality; Low 0.5, Balanced 1.0, Best 2.0; custom_image_quality v
 * gives ((v >> 8) & 0xFFF) * 2 / 100, clamped to [0.2, 40]. A ratio maps to
 * the encoder's 1..100 scale so that the bitrate ceiling scales with it.
 *
 * Adaptation: a sample whose round trip is over QOS_RTT_HIGH_MS (or whose
 * send queue backs up, or whose frames stay unacknowledged) is bad; two bad
 * samples in a row step the level down (lower quality first, then fewer
 * frames), at most one step per QOS_STEP_DOWN_GAP seconds. QOS_GOOD_SAMPLES
 * good samples in a row (round trip under QOS_RTT_OK_MS, queue empty) step
 * it back up by one. Between the two thresholds the level holds.
 *
 * Acknowledgements: with video_ack_required, at most QOS_ACK_WINDOW frames
 * are in flight; capture for this controller waits until one comes back
 * (qos_ack_ready). A frame that still arrives with the window full beyond
 * the pipeline's depth is skipped (qos_ack_may_send). Acks missing for
 * QOS_ACK_TIMEOUT seconds are given up for lost and count as a bad sample. */
#ifndef RD_AGENT_VIDEO_QOS_H
#define RD_AGENT_VIDEO_QOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.pb-c.h"

#define QOS_RTT_HIGH_MS 150       /* PROTOCOL.md §11 threshold */
#define QOS_RTT_OK_MS 100         /* under this a sample is healthy */
#define QOS_BAD_SAMPLES 2         /* bad samples in a row before a step down */
#define QOS_GOOD_SAMPLES 5        /* good samples in a row before a step up */
#define QOS_STEP_DOWN_GAP 2.0     /* s between two steps down */
#define QOS_LEVELS 8              /* level 0 = as asked, QOS_LEVELS-1 = lowest */
#define QOS_ACK_WINDOW 3          /* frames in flight with video_ack_required */
#define QOS_ACK_SLACK 2           /* frames already in the encoder when capture waits */
#define QOS_ACK_TIMEOUT 3.0       /* s without an ack: the in-flight frames are lost */
#define QOS_FPS_MIN 1
#define QOS_FPS_MAX 120
#define QOS_RATIO_MIN 0.2         /* what a controller may ask */
#define QOS_RATIO_MAX 40.0
#define QOS_RATIO_FLOOR 0.1       /* what adaptation may go down to */

#define QOS_RATIO_LOW 0.5
#define QOS_RATIO_BALANCED 1.0
#define QOS_RATIO_BEST 2.0

struct video_qos {
	int max_fps;            /* the agent's configured fps: default and cap */
	int base_quality;       /* the agent's configured quality = ratio 1.0 */
	int want_fps;           /* asked by the controller, 0 = default */
	double want_ratio;      /* asked by the controller, 0 = default */
	int level;
	int bad, good;          /* consecutive samples */
	double last_down;       /* time of the last step down (0 = never) */
	/* acknowledgements */
	bool ack_required;
	unsigned in_flight;
	double ack_progress;    /* last ack, or when the window became non-empty */
	uint64_t acks_lost;
	bool lost_unseen;       /* acks given up since the last sample */
};

/* What qos_sample saw. */
enum qos_change {
	QOS_SAME = 0,
	QOS_DOWN = 1,
	QOS_UP = 2,
};

void qos_init(struct video_qos *q, int max_fps, int base_quality);

/* The controller's OptionMessage (at login or in Misc.option). Absent fields
 * (0, NotSet) leave the current wish. True when the wish changed. */
bool qos_apply_option(struct video_qos *q, const Hbb__OptionMessage *o);
/* image_quality (Low/Balanced/Best, else 0) or custom_image_quality (0 =
 * absent) to a bitrate ratio; 0 when neither says anything. image_quality
 * wins when both are set. */
double qos_ratio_of(int image_quality, int custom_image_quality);
/* A ratio on the encoder's 1..100 scale around base (ratio 1.0). */
int qos_ratio_to_quality(int base_quality, double ratio);

/* One health sample: rtt_ms is the last round trip (or how long the probe
 * has been out), backed_up whether the send queue is over its mark. */
enum qos_change qos_sample(struct video_qos *q, double now, uint32_t rtt_ms, bool backed_up);

/* The rate to send this controller now. */
int qos_fps(const struct video_qos *q);
double qos_ratio(const struct video_qos *q);
int qos_quality(const struct video_qos *q);

/* Acknowledgements (no-ops without ack_required). */
/* May capture produce a frame for this controller? Gives up lost acks after
 * QOS_ACK_TIMEOUT (then returns true). */
bool qos_ack_ready(struct video_qos *q, double now);
/* May an encoded frame go out now? */
bool qos_ack_may_send(struct video_qos *q, double now);
void qos_ack_sent(struct video_qos *q, double now);
void qos_ack_received(struct video_qos *q, double now);

#endif

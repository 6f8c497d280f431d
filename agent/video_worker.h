/* video_worker: one encoding thread per codec in use, private to video.c.
 *
 * The loop posts a job (a captured frame, or none to re-encode the current
 * picture as a keyframe); the worker converts the frame's damage to I420,
 * says the frame may be released, encodes, and queues the packet. Every
 * hand-over back to the loop goes through the ev_async it was given. */
#ifndef RD_AGENT_VIDEO_WORKER_H
#define RD_AGENT_VIDEO_WORKER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "video.h"

struct video_job {
	const struct capture_frame *frame;  /* NULL: encode the current picture again */
	int64_t pts_ms;
	bool force_key;
};

struct video_worker;

/* Start the thread of codec's worker; an rd_err when it cannot. */
int video_worker_start(enum video_codec codec, struct ev_loop *loop, ev_async *wake, int fps,
	int quality, struct video_worker **out);
/* Stop and join the thread, and free the worker; queued packets are
 * dropped. Returns how many frame uses were still owed to the loop (a posted
 * job not yet marked done). */
int video_worker_stop(struct video_worker *w);
/* Post a job; false when one is still pending. */
bool video_worker_post(struct video_worker *w, const struct video_job *job);
bool video_worker_idle(struct video_worker *w);
void video_worker_set_rate(struct video_worker *w, int fps, int quality);
/* Pictures encoded so far, and how many of them were keyframes. */
void video_worker_counts(struct video_worker *w, uint64_t *encoded, uint64_t *keyframes);
/* Collect what the worker handed back: frame_done (cleared), the packet
 * queue (caller owns it), the error (cleared). */
void video_worker_collect(struct video_worker *w, bool *frame_done, struct video_packet **pkts,
	int *err);
/* Next packet of a queue returned by collect. */
struct video_packet *video_worker_next(struct video_packet *p);

#endif

/* video_worker: one encoding thread per codec in use, private to video.c.
 *
 * The loop posts a job (a captured frame, or none to re-encode the current
 * picture as a keyframe); the worker converts the frame's damage to I420,
 * says the frame may be released, encodes, and queues the packet. Every
 * hand-over back to the loop goes through the ev_async it was given. */
#ifndef RD_AGENT_VIDEO_WORKER_H
#define RD_AGENT_VIDEO_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "encoder.h"
#include "video.h"

struct video_job {
	const struct capture_frame *frame;  /* NULL: encode the current picture again */
	int64_t pts_ms;
	bool force_key;
};

struct video_worker {
	enum video_codec codec;
	ev_async *wake;            /* the loop's async watcher */
	struct ev_loop *loop;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	/* Under mu. */
	bool stop;
	bool job_pending;          /* posted, not taken yet */
	struct video_job job;
	bool frame_done;           /* a posted frame was read: the loop may release it */
	struct video_packet *out_head, *out_tail;  /* linked through refs==1 wrappers */
	int err;                   /* fatal encoder error (rd_err), reported once */
	int fps, quality;
	bool rate_changed;
	uint64_t encoded, keyframes;
	/* Worker thread only. */
	struct encoder *enc;
	struct encoder_image img;
};

int video_worker_start(struct video_worker *w, enum video_codec codec, struct ev_loop *loop,
	ev_async *wake, int fps, int quality);
/* Stop and join the thread; queued packets are dropped. Returns how many
 * frame uses were still owed to the loop (a posted job not yet marked done). */
int video_worker_stop(struct video_worker *w);
/* Post a job; false when one is still pending. */
bool video_worker_post(struct video_worker *w, const struct video_job *job);
bool video_worker_idle(struct video_worker *w);
void video_worker_set_rate(struct video_worker *w, int fps, int quality);
/* Collect what the worker handed back: frame_done (cleared), the packet
 * queue (caller owns it), the error (cleared). */
void video_worker_collect(struct video_worker *w, bool *frame_done, struct video_packet **pkts,
	int *err);
/* Next packet of a queue returned by collect. */
struct video_packet *video_worker_next(struct video_packet *p);

#endif

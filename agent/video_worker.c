/* video_worker: the encoding thread of one codec (see video_worker.h). */
#define RD_LOG_SUBSYS "video"
#include "video_worker.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "err.h"
#include "log.h"
#include "util.h"

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

struct vpkt {
	struct video_packet pub;
	struct vpkt *next;
	uint8_t data[];
};

static struct vpkt *vpkt_of(struct video_packet *p)
{
	return (struct vpkt *)((char *)p - offsetof(struct vpkt, pub));
}

void video_packet_ref(struct video_packet *p)
{
	p->refs++;
}

void video_packet_unref(struct video_packet *p)
{
	if (p && --p->refs == 0)
		free(vpkt_of(p));
}

struct video_packet *video_worker_next(struct video_packet *p)
{
	struct vpkt *n = vpkt_of(p)->next;
	return n ? &n->pub : NULL;
}

/* (Re)open the encoder and picture for a frame of a new size. */
static int reopen(struct video_worker *w, int width, int height, int fps, int quality)
{
	encoder_close(w->enc);
	w->enc = NULL;
	encoder_image_free(&w->img);
	int rc = encoder_image_alloc(&w->img, width, height);
	if (rc < 0)
		return rc;
	struct encoder_config cfg = {
		.codec = (enum encoder_codec)w->codec,
		.width = w->img.width,
		.height = w->img.height,
		.fps = fps,
		.quality = quality,
	};
	return encoder_open(&cfg, &w->enc);
}

static void queue_packet(struct video_worker *w, const struct encoder_packet *ep)
{
	struct vpkt *p = malloc(sizeof(*p) + ep->len);
	if (!p) {
		log_warn("out of memory for a %zu-byte packet; dropped", ep->len);
		return;
	}
	memcpy(p->data, ep->data, ep->len);
	p->pub = (struct video_packet){
		.codec = w->codec,
		.data = p->data,
		.len = ep->len,
		.key = ep->key,
		.pts_ms = ep->pts_ms,
		.width = w->img.width,
		.height = w->img.height,
		.refs = 1,
	};
	p->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->out_tail)
		vpkt_of(w->out_tail)->next = p;
	else
		w->out_head = &p->pub;
	w->out_tail = &p->pub;
	w->encoded++;
	if (ep->key)
		w->keyframes++;
	pthread_mutex_unlock(&w->mu);
}

static void fail(struct video_worker *w, int err)
{
	pthread_mutex_lock(&w->mu);
	if (!w->err)
		w->err = err;
	pthread_mutex_unlock(&w->mu);
}

/* One job: convert (then let the frame go), encode, queue. */
static void run_job(struct video_worker *w, const struct video_job *job, int fps, int quality,
	bool rate_changed)
{
	bool key = job->force_key;
	int rc;
	if (job->frame) {
		const struct capture_frame *f = job->frame;
		bool fresh = !w->enc || w->img.width != (f->width & ~1) ||
			w->img.height != (f->height & ~1);
		if (fresh) {
			rc = reopen(w, f->width, f->height, fps, quality);
			if (rc < 0) {
				fail(w, rc);
			} else {
				encoder_image_convert(&w->img, f, NULL, 0);
				key = true;
			}
		} else {
			encoder_image_convert(&w->img, f, f->damage, f->n_damage);
		}
		pthread_mutex_lock(&w->mu);
		w->frame_done = true;
		pthread_mutex_unlock(&w->mu);
		ev_async_send(w->loop, w->wake);
	}
	if (!w->enc)
		return;
	if (rate_changed)
		encoder_set_rate(w->enc, fps, quality, 0);
	struct encoder_packet ep;
	rc = encoder_encode(w->enc, &w->img, job->pts_ms, key, &ep);
	if (rc == RD_ENC_DONE)
		queue_packet(w, &ep);
	else if (rc == RD_ENC_FATAL)
		fail(w, RD_ERR_IO);
	ev_async_send(w->loop, w->wake);
}

static void *worker_main(void *arg)
{
	struct video_worker *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->stop && !w->job_pending)
			pthread_cond_wait(&w->cond, &w->mu);
		if (w->stop && !w->job_pending) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		struct video_job job = w->job;
		w->job_pending = false;
		bool rate_changed = w->rate_changed;
		w->rate_changed = false;
		int fps = w->fps, quality = w->quality;
		bool stopping = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stopping) {
			/* Only give the frame back. */
			job.force_key = false;
			if (job.frame) {
				pthread_mutex_lock(&w->mu);
				w->frame_done = true;
				pthread_mutex_unlock(&w->mu);
			}
			break;
		}
		run_job(w, &job, fps, quality, rate_changed);
	}
	encoder_close(w->enc);
	w->enc = NULL;
	encoder_image_free(&w->img);
	return NULL;
}

int video_worker_start(enum video_codec codec, struct ev_loop *loop, ev_async *wake, int fps,
	int quality, struct video_worker **out)
{
	struct video_worker *w = xcalloc(1, sizeof(*w));
	*out = NULL;
	w->codec = codec;
	w->loop = loop;
	w->wake = wake;
	w->fps = fps;
	w->quality = quality;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return RD_ERR_IO;
	}
	pthread_setname_np(w->thread, codec == VIDEO_CODEC_H264 ? "rd-enc-h264" : "rd-enc-vp9");
	*out = w;
	return 0;
}

int video_worker_stop(struct video_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	int owed = 0;
	if (w->job_pending && w->job.frame)
		owed++;
	if (w->frame_done)
		owed++;
	struct video_packet *p = w->out_head;
	while (p) {
		struct video_packet *n = video_worker_next(p);
		video_packet_unref(p);
		p = n;
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return owed;
}

bool video_worker_post(struct video_worker *w, const struct video_job *job)
{
	pthread_mutex_lock(&w->mu);
	bool ok = !w->job_pending;
	if (ok) {
		w->job = *job;
		w->job_pending = true;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

bool video_worker_idle(struct video_worker *w)
{
	pthread_mutex_lock(&w->mu);
	bool idle = !w->job_pending;
	pthread_mutex_unlock(&w->mu);
	return idle;
}

void video_worker_set_rate(struct video_worker *w, int fps, int quality)
{
	pthread_mutex_lock(&w->mu);
	w->fps = fps;
	w->quality = quality;
	w->rate_changed = true;
	pthread_mutex_unlock(&w->mu);
}

void video_worker_counts(struct video_worker *w, uint64_t *encoded, uint64_t *keyframes)
{
	pthread_mutex_lock(&w->mu);
	*encoded = w->encoded;
	*keyframes = w->keyframes;
	pthread_mutex_unlock(&w->mu);
}

void video_worker_collect(struct video_worker *w, bool *frame_done, struct video_packet **pkts,
	int *err)
{
	pthread_mutex_lock(&w->mu);
	*frame_done = w->frame_done;
	w->frame_done = false;
	*pkts = w->out_head;
	w->out_head = w->out_tail = NULL;
	*err = w->err;
	w->err = 0;
	pthread_mutex_unlock(&w->mu);
}

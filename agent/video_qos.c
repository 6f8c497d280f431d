/* video_qos: per-controller rate decisions (see video_qos.h). */
#include "video_qos.h"

#include <math.h>

#include "util.h"

/* Per level: share of the asked frame rate and of the asked bitrate ratio.
 * Quality gives way first (a picture that keeps moving is worth more than a
 * sharp one that stutters), then the frame rate. */
static const struct {
	double fps, ratio;
} levels[QOS_LEVELS] = {
	{ 1.00, 1.00 },
	{ 1.00, 0.70 },
	{ 0.75, 0.50 },
	{ 0.50, 0.40 },
	{ 0.34, 0.30 },
	{ 0.25, 0.25 },
	{ 0.15, 0.20 },
	{ 0.10, 0.15 },
};

void qos_init(struct video_qos *q, int max_fps, int base_quality)
{
	*q = (struct video_qos){ 0 };
	q->max_fps = RD_CLAMP(max_fps > 0 ? max_fps : 30, QOS_FPS_MIN, QOS_FPS_MAX);
	q->base_quality = RD_CLAMP(base_quality > 0 ? base_quality : 50, 1, 100);
}

double qos_ratio_of(int image_quality, int custom_image_quality)
{
	switch (image_quality) {
	case HBB__IMAGE_QUALITY__Low:
		return QOS_RATIO_LOW;
	case HBB__IMAGE_QUALITY__Balanced:
		return QOS_RATIO_BALANCED;
	case HBB__IMAGE_QUALITY__Best:
		return QOS_RATIO_BEST;
	default:
		break;
	}
	if (custom_image_quality <= 0)
		return 0;
	double r = (double)(((unsigned)custom_image_quality >> 8) & 0xFFF) * 2.0 / 100.0;
	return RD_CLAMP(r, QOS_RATIO_MIN, QOS_RATIO_MAX);
}

int qos_ratio_to_quality(int base_quality, double ratio)
{
	/* encoder.h: bits per pixel grow by a factor of 60 over 99 quality
	 * steps, so a ratio r is log(r) / log(60) * 99 steps. */
	if (ratio <= 0)
		ratio = 1.0;
	double steps = log(ratio) / log(60.0) * 99.0;
	int q = (int)lround(base_quality + steps);
	return RD_CLAMP(q, 1, 100);
}

bool qos_apply_option(struct video_qos *q, const Hbb__OptionMessage *o)
{
	bool changed = false;
	if (!o)
		return false;
	double r = qos_ratio_of((int)o->image_quality, o->custom_image_quality);
	if (r > 0 && r != q->want_ratio) {
		q->want_ratio = r;
		changed = true;
	}
	if (o->custom_fps > 0) {
		int fps = RD_CLAMP(o->custom_fps, QOS_FPS_MIN, QOS_FPS_MAX);
		if (fps != q->want_fps) {
			q->want_fps = fps;
			changed = true;
		}
	}
	return changed;
}

int qos_fps(const struct video_qos *q)
{
	int want = q->want_fps > 0 ? q->want_fps : q->max_fps;
	if (want > q->max_fps)
		want = q->max_fps;
	int fps = (int)lround(want * levels[q->level].fps);
	return RD_CLAMP(fps, QOS_FPS_MIN, want);
}

double qos_ratio(const struct video_qos *q)
{
	double want = q->want_ratio > 0 ? q->want_ratio : 1.0;
	double r = want * levels[q->level].ratio;
	return r < QOS_RATIO_FLOOR && want >= QOS_RATIO_FLOOR ? QOS_RATIO_FLOOR : r;
}

int qos_quality(const struct video_qos *q)
{
	return qos_ratio_to_quality(q->base_quality, qos_ratio(q));
}

static bool ack_stalled(const struct video_qos *q, double now)
{
	return q->ack_required && q->in_flight > 0 && now - q->ack_progress > QOS_ACK_TIMEOUT;
}

enum qos_change qos_sample(struct video_qos *q, double now, uint32_t rtt_ms, bool backed_up)
{
	bool bad = rtt_ms > QOS_RTT_HIGH_MS || backed_up || ack_stalled(q, now) || q->lost_unseen;
	q->lost_unseen = false;
	bool good = !bad && rtt_ms < QOS_RTT_OK_MS;
	if (bad) {
		q->good = 0;
		q->bad++;
		if (q->bad < QOS_BAD_SAMPLES || q->level == QOS_LEVELS - 1 ||
		    (q->last_down > 0 && now - q->last_down < QOS_STEP_DOWN_GAP))
			return QOS_SAME;
		q->level++;
		q->last_down = now;
		return QOS_DOWN;
	}
	q->bad = 0;
	if (!good) {
		q->good = 0;
		return QOS_SAME;
	}
	if (q->level == 0 || ++q->good < QOS_GOOD_SAMPLES)
		return QOS_SAME;
	q->good = 0;
	q->level--;
	return QOS_UP;
}

bool qos_ack_ready(struct video_qos *q, double now)
{
	if (!q->ack_required || q->in_flight < QOS_ACK_WINDOW)
		return true;
	if (ack_stalled(q, now)) {
		/* Lost (or a controller that never acks): start counting again. */
		q->acks_lost += q->in_flight;
		q->lost_unseen = true;
		q->in_flight = 0;
		q->ack_progress = now;
		return true;
	}
	return false;
}

bool qos_ack_may_send(struct video_qos *q, double now)
{
	if (!q->ack_required)
		return true;
	if (q->in_flight < QOS_ACK_WINDOW + QOS_ACK_SLACK)
		return true;
	return qos_ack_ready(q, now);
}

void qos_ack_sent(struct video_qos *q, double now)
{
	if (!q->ack_required)
		return;
	if (q->in_flight == 0)
		q->ack_progress = now;
	q->in_flight++;
}

void qos_ack_received(struct video_qos *q, double now)
{
	if (q->in_flight > 0)
		q->in_flight--;
	q->ack_progress = now;
}

/* Unit tests for agent/video_qos: what a controller's options ask for, the
 * frame-acknowledgement window, and the rate steps taken from round trips
 * and send queues. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/video_qos.h"

static void test_ratio_of(void **state)
{
	(void)state;
	assert_true(qos_ratio_of(HBB__IMAGE_QUALITY__Low, 0) == QOS_RATIO_LOW);
	assert_true(qos_ratio_of(HBB__IMAGE_QUALITY__Balanced, 0) == QOS_RATIO_BALANCED);
	assert_true(qos_ratio_of(HBB__IMAGE_QUALITY__Best, 0) == QOS_RATIO_BEST);
	assert_true(qos_ratio_of(0, 0) == 0);
	/* custom: ((v >> 8) & 0xFFF) * 2 / 100, clamped to [0.2, 40] */
	assert_true(qos_ratio_of(0, 50 << 8) == 1.0);
	assert_true(qos_ratio_of(0, 150 << 8) == 3.0);
	assert_true(qos_ratio_of(0, 5 << 8) == QOS_RATIO_MIN);
	assert_true(qos_ratio_of(0, 4000 << 8) == QOS_RATIO_MAX);
	assert_true(qos_ratio_of(0, (0x1000 | 50) << 8) == 1.0);  /* bits past 12 ignored */
	assert_true(qos_ratio_of(0, (50 << 8) | 0x7f) == 1.0);    /* low byte ignored */
	assert_true(qos_ratio_of(0, 0x7f) == QOS_RATIO_MIN);      /* q 0 but present */
	/* the preset wins over a custom value */
	assert_true(qos_ratio_of(HBB__IMAGE_QUALITY__Low, 150 << 8) == QOS_RATIO_LOW);
	/* an unknown preset falls back to the custom value, or nothing */
	assert_true(qos_ratio_of(7, 100 << 8) == 2.0);
	assert_true(qos_ratio_of(7, 0) == 0);
}

static void test_ratio_to_quality(void **state)
{
	(void)state;
	assert_int_equal(qos_ratio_to_quality(50, 1.0), 50);
	assert_int_equal(qos_ratio_to_quality(50, 0), 50);
	/* a factor of 60 in bitrate is the whole 99-step scale */
	assert_int_equal(qos_ratio_to_quality(1, 60.0), 100);
	assert_int_equal(qos_ratio_to_quality(100, 1.0 / 60.0), 1);
	int lo = qos_ratio_to_quality(50, QOS_RATIO_LOW), hi = qos_ratio_to_quality(50, QOS_RATIO_BEST);
	assert_in_range(lo, 32, 35);   /* 99 * log(0.5) / log(60) = -16.8 */
	assert_in_range(hi, 65, 68);
	assert_int_equal(qos_ratio_to_quality(90, QOS_RATIO_MAX), 100);
	assert_int_equal(qos_ratio_to_quality(10, QOS_RATIO_MIN), 1);
	for (double r = 0.2; r < 40; r *= 1.5)
		assert_true(qos_ratio_to_quality(50, r) <= qos_ratio_to_quality(50, r * 1.5));
}

static void test_options(void **state)
{
	(void)state;
	struct video_qos q;
	qos_init(&q, 30, 50);
	assert_int_equal(qos_fps(&q), 30);
	assert_int_equal(qos_quality(&q), 50);
	assert_false(qos_apply_option(&q, NULL));
	Hbb__OptionMessage o = HBB__OPTION_MESSAGE__INIT;
	assert_false(qos_apply_option(&q, &o));     /* nothing asked: defaults kept */
	assert_int_equal(qos_fps(&q), 30);
	o.custom_fps = 5;
	o.image_quality = HBB__IMAGE_QUALITY__Low;
	assert_true(qos_apply_option(&q, &o));
	assert_false(qos_apply_option(&q, &o));     /* the same again changes nothing */
	assert_int_equal(qos_fps(&q), 5);
	assert_int_equal(qos_quality(&q), qos_ratio_to_quality(50, QOS_RATIO_LOW));
	/* a later message with only one field keeps the other */
	Hbb__OptionMessage o2 = HBB__OPTION_MESSAGE__INIT;
	o2.custom_image_quality = 100 << 8;
	assert_true(qos_apply_option(&q, &o2));
	assert_int_equal(qos_fps(&q), 5);
	assert_true(qos_ratio(&q) == 2.0);
	/* more than the agent's configured rate is capped by it */
	Hbb__OptionMessage o3 = HBB__OPTION_MESSAGE__INIT;
	o3.custom_fps = 60;
	assert_true(qos_apply_option(&q, &o3));
	assert_int_equal(qos_fps(&q), 30);
	o3.custom_fps = 500;   /* out of 1..120 */
	qos_apply_option(&q, &o3);
	assert_int_equal(q.want_fps, QOS_FPS_MAX);
	o3.custom_fps = -4;    /* absent-like: kept */
	assert_false(qos_apply_option(&q, &o3));
	assert_int_equal(q.want_fps, QOS_FPS_MAX);
	struct video_qos fast;
	qos_init(&fast, 120, 50);
	o3.custom_fps = 90;
	qos_apply_option(&fast, &o3);
	assert_int_equal(qos_fps(&fast), 90);
}

/* Feed n samples one second apart from *t. */
static enum qos_change feed(struct video_qos *q, double *t, int n, uint32_t rtt, bool backed)
{
	enum qos_change last = QOS_SAME;
	for (int i = 0; i < n; i++) {
		*t += 1.0;
		enum qos_change c = qos_sample(q, *t, rtt, backed);
		if (c != QOS_SAME)
			last = c;
	}
	return last;
}

static void test_adapt_down_and_up(void **state)
{
	(void)state;
	struct video_qos q;
	double t = 100;
	qos_init(&q, 30, 50);
	assert_int_equal(feed(&q, &t, 20, 5, false), QOS_SAME);   /* healthy: nothing moves */
	assert_int_equal(q.level, 0);
	/* one slow sample is not enough, the second steps down */
	t += 1;
	assert_int_equal(qos_sample(&q, t, 400, false), QOS_SAME);
	t += 1;
	assert_int_equal(qos_sample(&q, t, 400, false), QOS_DOWN);
	assert_int_equal(q.level, 1);
	/* quality gives way before the frame rate */
	assert_int_equal(qos_fps(&q), 30);
	assert_true(qos_quality(&q) < 50);
	/* at most one step per QOS_STEP_DOWN_GAP */
	t += 0.5;
	assert_int_equal(qos_sample(&q, t, 400, false), QOS_SAME);
	t += QOS_STEP_DOWN_GAP;
	assert_int_equal(qos_sample(&q, t, 400, false), QOS_DOWN);
	assert_int_equal(q.level, 2);
	assert_true(qos_fps(&q) < 30);
	/* keeps going down, monotonically, to the floor and no further */
	int prev_fps = qos_fps(&q), prev_q = qos_quality(&q);
	for (int i = 0; i < 40; i++) {
		feed(&q, &t, 1, 600, false);
		assert_true(qos_fps(&q) <= prev_fps);
		assert_true(qos_quality(&q) <= prev_q);
		prev_fps = qos_fps(&q);
		prev_q = qos_quality(&q);
	}
	assert_int_equal(q.level, QOS_LEVELS - 1);
	assert_true(qos_fps(&q) >= QOS_FPS_MIN && qos_fps(&q) <= 3);
	assert_true(qos_ratio(&q) >= QOS_RATIO_FLOOR - 1e-9);
	/* between the thresholds: hold */
	assert_int_equal(feed(&q, &t, 10, 120, false), QOS_SAME);
	assert_int_equal(q.level, QOS_LEVELS - 1);
	/* recovery is slow: QOS_GOOD_SAMPLES healthy samples per step */
	assert_int_equal(feed(&q, &t, QOS_GOOD_SAMPLES - 1, 10, false), QOS_SAME);
	assert_int_equal(feed(&q, &t, 1, 10, false), QOS_UP);
	assert_int_equal(q.level, QOS_LEVELS - 2);
	/* a middle sample resets the count */
	feed(&q, &t, QOS_GOOD_SAMPLES - 1, 10, false);
	feed(&q, &t, 1, 120, false);
	assert_int_equal(feed(&q, &t, QOS_GOOD_SAMPLES - 1, 10, false), QOS_SAME);
	assert_int_equal(q.level, QOS_LEVELS - 2);
	/* all the way back to what was asked */
	feed(&q, &t, QOS_GOOD_SAMPLES * QOS_LEVELS, 10, false);
	assert_int_equal(q.level, 0);
	assert_int_equal(qos_fps(&q), 30);
	assert_int_equal(qos_quality(&q), 50);
}

static void test_adapt_queue_and_asked(void **state)
{
	(void)state;
	struct video_qos q;
	double t = 0;
	qos_init(&q, 30, 50);
	Hbb__OptionMessage o = HBB__OPTION_MESSAGE__INIT;
	o.custom_fps = 10;
	o.image_quality = HBB__IMAGE_QUALITY__Best;
	qos_apply_option(&q, &o);
	/* a backed-up queue is slow even with a short round trip */
	assert_int_equal(feed(&q, &t, 2, 3, true), QOS_DOWN);
	feed(&q, &t, 4, 3, true);
	assert_true(q.level >= 2);
	/* steps apply to what the controller asked, not to the agent's maximum */
	assert_true(qos_fps(&q) < 10);
	assert_true(qos_ratio(&q) < QOS_RATIO_BEST);
	/* healthy again: back to the asked rate, never above it */
	feed(&q, &t, 100, 3, false);
	assert_int_equal(q.level, 0);
	assert_int_equal(qos_fps(&q), 10);
	assert_true(qos_ratio(&q) == QOS_RATIO_BEST);
}

static void test_ack_window(void **state)
{
	(void)state;
	struct video_qos q;
	double t = 10;
	qos_init(&q, 30, 50);
	/* without video_ack_required nothing is counted */
	for (int i = 0; i < 100; i++)
		qos_ack_sent(&q, t);
	assert_true(qos_ack_ready(&q, t));
	assert_true(qos_ack_may_send(&q, t));
	assert_int_equal(q.in_flight, 0);

	qos_init(&q, 30, 50);
	q.ack_required = true;
	for (int i = 0; i < QOS_ACK_WINDOW; i++) {
		assert_true(qos_ack_ready(&q, t));
		qos_ack_sent(&q, t);
	}
	assert_false(qos_ack_ready(&q, t));      /* capture waits */
	/* frames already in the encoder may still go, up to the slack */
	for (int i = 0; i < QOS_ACK_SLACK; i++) {
		assert_true(qos_ack_may_send(&q, t));
		qos_ack_sent(&q, t);
	}
	assert_false(qos_ack_may_send(&q, t));   /* beyond: skipped */
	qos_ack_received(&q, t + 0.1);
	qos_ack_received(&q, t + 0.1);
	qos_ack_received(&q, t + 0.1);
	assert_true(qos_ack_ready(&q, t + 0.1));
	/* more acks than frames do not go negative */
	for (int i = 0; i < 10; i++)
		qos_ack_received(&q, t + 0.2);
	assert_int_equal(q.in_flight, 0);
	/* the window is measured from the last progress, not from the first frame */
	t = 20;
	for (int i = 0; i < QOS_ACK_WINDOW; i++)
		qos_ack_sent(&q, t);
	assert_false(qos_ack_ready(&q, t + QOS_ACK_TIMEOUT - 0.1));
	qos_ack_received(&q, t + 2.5);
	qos_ack_sent(&q, t + 2.5);
	assert_false(qos_ack_ready(&q, t + 2.5 + QOS_ACK_TIMEOUT - 0.1));
}

static void test_ack_lost(void **state)
{
	(void)state;
	struct video_qos q;
	double t = 50;
	qos_init(&q, 30, 50);
	q.ack_required = true;
	for (int i = 0; i < QOS_ACK_WINDOW; i++)
		qos_ack_sent(&q, t);
	assert_false(qos_ack_ready(&q, t + 1));
	/* a controller that stops acking is given up on after the timeout */
	assert_true(qos_ack_ready(&q, t + QOS_ACK_TIMEOUT + 0.1));
	assert_int_equal(q.in_flight, 0);
	assert_int_equal((int)q.acks_lost, QOS_ACK_WINDOW);
	/* and that counts as a slow link even with a short round trip */
	t += QOS_ACK_TIMEOUT + 0.2;
	assert_int_equal(qos_sample(&q, t, 5, false), QOS_SAME);
	for (int i = 0; i < QOS_ACK_WINDOW; i++)
		qos_ack_sent(&q, t);
	t += QOS_ACK_TIMEOUT + 0.5;
	assert_int_equal(qos_sample(&q, t, 5, false), QOS_DOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratio_of),
		cmocka_unit_test(test_ratio_to_quality),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_adapt_down_and_up),
		cmocka_unit_test(test_adapt_queue_and_asked),
		cmocka_unit_test(test_ack_window),
		cmocka_unit_test(test_ack_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

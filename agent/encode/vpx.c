/* vpx: VP9 through libvpx in real-time mode: VPX_DL_REALTIME, row
 * multithreading with tile columns, no lag, screen-content tuning and
 * cyclic-refresh AQ. Keyframes only on request. Rate: CBR at the bitrate
 * ceiling with the quantizer floored by the quality, so easy content costs
 * little; both changed live through vpx_codec_enc_config_set.
 *
 * Not error resilient: every subscriber decodes from a keyframe on and skips
 * to the next keyframe when it falls behind, so no decoder ever misses a frame
 * its successors depend on, and the resilient mode's per-frame reset of the
 * entropy contexts would cost about half the bytes of a scrolling terminal.
 *
 * Speed: cpu-used 6 is the fastest at which a terminal scrolling a log costs
 * little (1080p, quality 50: 32 kB/s of inter pictures at 6, 220-290 kB/s at
 * 7-9 for the same quantizer; from 7 up libvpx's motion search is a small
 * diamond that misses the line-sized steps). It costs more per picture, so it
 * runs while it fits in half the time between pictures (the rest is for
 * capture, conversion and whatever draws the screen); when it does not
 * (full-screen motion), 8 (9 from 1080p up) takes over, and 6 is tried again
 * when pictures come slowly or 8 or 9 leaves room for three times its cost,
 * after a hold that doubles while the tries keep failing. */
#define RD_LOG_SUBSYS "vpx"
#include "encoder.h"

#include <stdlib.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "err.h"
#include "log.h"
#include "util.h"

struct enc_vpx {
	struct encoder base;
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	int64_t last_pts;
	/* speed choice (see above) */
	int speed;              /* cpu-used of the next picture */
	int applied;            /* the encoder's cpu-used */
	int fast_speed;
	double interval_ms;     /* moving average of the time between pictures */
	double search_ms;       /* ... of encode time at SEARCH_SPEED */
	double fast_ms;         /* ... at fast_speed */
	int64_t hold_until;     /* pts before which fast_speed stays */
	int hold_ms;
	int search_ok;          /* pictures in a row that fitted at SEARCH_SPEED */
};

#define SEARCH_SPEED 6
#define SEARCH_SHARE 0.5        /* of the time between pictures */
#define HOLD_MIN_MS 1000
#define HOLD_MAX_MS 16000

static void set_rate(struct enc_vpx *v)
{
	v->cfg.rc_target_bitrate = (unsigned)encoder_bitrate_kbps(&v->base);
	v->cfg.rc_min_quantizer = (unsigned)encoder_quality_to_level(ENCODER_CODEC_VP9,
		v->base.cfg.quality);
	v->cfg.rc_max_quantizer = 63;
}

/* The rate control gives a keyframe on a fresh buffer a coarse quantizer
 * (text at about 32 dB) and takes seconds to sharpen what stays still, so a
 * keyframe's quantizer is held within KEY_Q_SPAN of the quality's floor: a
 * 1080p terminal's keyframe grows by about a quarter and its text gains about
 * 5 dB. */
#define KEY_Q_SPAN 8

static void limit_key_q(struct enc_vpx *v, bool key)
{
	unsigned q = key ? v->cfg.rc_min_quantizer + KEY_Q_SPAN : 63;
	if (q > 63)
		q = 63;
	if (q == v->cfg.rc_max_quantizer)
		return;
	v->cfg.rc_max_quantizer = q;
	if (vpx_codec_enc_config_set(&v->ctx, &v->cfg) != VPX_CODEC_OK)
		log_warn("quantizer limit %u refused: %s", q, vpx_codec_error(&v->ctx));
}

static int log2_floor(int n)
{
	int l = 0;
	while (n > 1) {
		n >>= 1;
		l++;
	}
	return l;
}

/* The fast speed: 8; 9 from 1080p up, where 8 does not hold 30 fps on two cores. */
static int fast_speed(int width, int height)
{
	return (long)width * height >= 1920L * 1080 ? 9 : 8;
}

static double average(double avg, double x)
{
	return avg < 0 ? x : 0.75 * avg + 0.25 * x;
}

/* Before a picture at pts: note the interval and choose the speed. */
static void speed_before(struct enc_vpx *v, int64_t pts)
{
	if (v->last_pts >= 0) {
		double d = (double)(pts - v->last_pts);
		v->interval_ms = average(v->interval_ms, d > 1000 ? 1000 : d);
	}
	if (v->speed == SEARCH_SPEED || pts < v->hold_until)
		return;
	/* Try the search again when pictures come at most 12 a second (at 30
	 * fps nominal: a terminal, an editor; a busy machine slows motion to
	 * that too, but then the try fails and the hold grows), or when the
	 * fast speed leaves room for three times its cost. */
	double nominal = 1000.0 / v->base.cfg.fps;
	if (v->interval_ms >= 2.5 * nominal ||
	    (v->fast_ms >= 0 && 3 * v->fast_ms <= v->interval_ms * SEARCH_SHARE)) {
		v->speed = SEARCH_SPEED;
		v->search_ms = -1;
		v->search_ok = 0;
	}
}

/* After a picture that took ms to encode at v->speed. */
static void speed_after(struct enc_vpx *v, int64_t pts, double ms)
{
	if (v->speed != SEARCH_SPEED) {
		v->fast_ms = average(v->fast_ms, ms);
		return;
	}
	v->search_ms = average(v->search_ms, ms);
	if (v->search_ms <= v->interval_ms * SEARCH_SHARE) {
		if (++v->search_ok >= 30)
			v->hold_ms = HOLD_MIN_MS;
		return;
	}
	log_debug("%.1f ms per picture at speed %d, %.1f ms apart: speed %d for %d ms",
		v->search_ms, SEARCH_SPEED, v->interval_ms, v->fast_speed, v->hold_ms);
	v->speed = v->fast_speed;
	v->hold_until = pts + v->hold_ms;
	v->hold_ms = v->hold_ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS : v->hold_ms * 2;
}

#define CTRL(id, val) do { \
	if (vpx_codec_control(&v->ctx, id, val) != VPX_CODEC_OK) \
		log_warn("control " #id " refused: %s", vpx_codec_error(&v->ctx)); \
} while (0)

static int vpx_open(const struct encoder_config *cfg, struct encoder **out)
{
	struct enc_vpx *v = xcalloc(1, sizeof(*v));
	vpx_codec_iface_t *iface = vpx_codec_vp9_cx();
	v->base.ops = &encoder_vpx_ops;
	v->base.cfg = *cfg;
	if (vpx_codec_enc_config_default(iface, &v->cfg, 0) != VPX_CODEC_OK) {
		free(v);
		return RD_ERR_UNSUPPORTED;
	}
	v->cfg.g_w = (unsigned)cfg->width;
	v->cfg.g_h = (unsigned)cfg->height;
	v->cfg.g_timebase.num = 1;
	v->cfg.g_timebase.den = 1000;
	v->cfg.g_threads = (unsigned)cfg->threads;
	v->cfg.g_lag_in_frames = 0;
	v->cfg.g_pass = VPX_RC_ONE_PASS;
	v->cfg.g_error_resilient = 0;
	v->cfg.rc_end_usage = VPX_CBR;
	v->cfg.rc_dropframe_thresh = 0;
	v->cfg.rc_resize_allowed = 0;
	v->cfg.rc_undershoot_pct = 50;
	v->cfg.rc_overshoot_pct = 50;
	v->cfg.rc_buf_initial_sz = 500;
	v->cfg.rc_buf_optimal_sz = 600;
	v->cfg.rc_buf_sz = 1000;
	v->cfg.kf_mode = VPX_KF_DISABLED;
	set_rate(v);
	if (vpx_codec_enc_init(&v->ctx, iface, &v->cfg, 0) != VPX_CODEC_OK) {
		log_err("init: %s", vpx_codec_error(&v->ctx));
		free(v);
		return RD_ERR_INVAL;
	}
	v->fast_speed = fast_speed(cfg->width, cfg->height);
	v->speed = v->applied = SEARCH_SPEED;
	v->interval_ms = 1000.0 / cfg->fps;
	v->search_ms = v->fast_ms = -1;
	v->hold_ms = HOLD_MIN_MS;
	CTRL(VP8E_SET_CPUUSED, v->speed);
	CTRL(VP9E_SET_ROW_MT, 1);
	CTRL(VP9E_SET_TILE_COLUMNS, log2_floor(cfg->threads));
	CTRL(VP9E_SET_FRAME_PARALLEL_DECODING, 0);
	CTRL(VP9E_SET_AQ_MODE, 3);
	CTRL(VP9E_SET_TUNE_CONTENT, VP9E_CONTENT_SCREEN);
	CTRL(VP9E_SET_NOISE_SENSITIVITY, 0);
	/* A keyframe may take up to nine pictures' share of the rate (0.3 s
	 * at the ceiling): below that, text on a fresh screen starts blurred
	 * and takes seconds to sharpen. */
	CTRL(VP8E_SET_MAX_INTRA_BITRATE_PCT, 900);
	CTRL(VP9E_SET_COLOR_SPACE, VPX_CS_BT_601);
	v->last_pts = -1;
	*out = &v->base;
	return 0;
}

static void vpx_close(struct encoder *e)
{
	struct enc_vpx *v = (struct enc_vpx *)e;
	vpx_codec_destroy(&v->ctx);
	free(v);
}

static int vpx_encode(struct encoder *e, const struct encoder_image *img, int64_t pts_ms,
	bool force_key, struct encoder_packet *out)
{
	struct enc_vpx *v = (struct enc_vpx *)e;
	vpx_image_t vi;
	if (!vpx_img_wrap(&vi, VPX_IMG_FMT_I420, (unsigned)img->width, (unsigned)img->height, 1,
			(unsigned char *)img->planes[0]))
		return RD_ENC_FATAL;
	for (int i = 0; i < 3; i++) {
		vi.planes[i] = (unsigned char *)img->planes[i];
		vi.stride[i] = img->strides[i];
	}
	/* libvpx wants increasing timestamps. */
	if (pts_ms <= v->last_pts)
		pts_ms = v->last_pts + 1;
	unsigned long dur = (unsigned long)(1000 / e->cfg.fps);
	if (v->last_pts >= 0 && pts_ms - v->last_pts > (int64_t)dur)
		dur = (unsigned long)(pts_ms - v->last_pts);
	speed_before(v, pts_ms);
	if (v->speed != v->applied) {
		CTRL(VP8E_SET_CPUUSED, v->speed);
		v->applied = v->speed;
	}
	v->last_pts = pts_ms;
	limit_key_q(v, force_key);
	double t0 = rd_now();
	if (vpx_codec_encode(&v->ctx, &vi, pts_ms, dur, force_key ? VPX_EFLAG_FORCE_KF : 0,
			VPX_DL_REALTIME) != VPX_CODEC_OK) {
		log_err("encode: %s", vpx_codec_error(&v->ctx));
		return RD_ENC_FATAL;
	}
	if (!force_key)
		speed_after(v, pts_ms, (rd_now() - t0) * 1000);
	vpx_codec_iter_t it = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	int n = 0;
	while ((pkt = vpx_codec_get_cx_data(&v->ctx, &it))) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT)
			continue;
		if (n++ == 0) {
			out->data = pkt->data.frame.buf;
			out->len = pkt->data.frame.sz;
			out->key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
			out->pts_ms = pkt->data.frame.pts;
		}
	}
	if (n > 1)
		log_warn("%d packets for one picture; only the first is sent", n);
	return n ? RD_ENC_DONE : RD_ENC_RETRY;
}

/* libvpx times pictures by their pts, so the bitrate ceiling follows the
 * rate pictures come at. */
static int vpx_set_rate(struct encoder *e, int fps)
{
	struct enc_vpx *v = (struct enc_vpx *)e;
	if (fps)
		e->cfg.fps = fps;
	set_rate(v);
	if (vpx_codec_enc_config_set(&v->ctx, &v->cfg) != VPX_CODEC_OK) {
		log_warn("reconfigure: %s", vpx_codec_error(&v->ctx));
		return RD_ERR_INVAL;
	}
	return 0;
}

const struct encoder_ops encoder_vpx_ops = {
	.name = "vpx-vp9",
	.codec = ENCODER_CODEC_VP9,
	.open = vpx_open,
	.close = vpx_close,
	.encode = vpx_encode,
	.set_rate = vpx_set_rate,
};

/* vpx: VP9 through libvpx in real-time mode: VPX_DL_REALTIME at cpu-used 8 (9 at 1080p),
 * row multithreading with tile columns, no lag, error resilient, screen-content
 * tuning and cyclic-refresh AQ. Keyframes only on request. Rate: CBR at the
 * bitrate ceiling with the quantizer floored by the quality, so easy content
 * costs little; both changed live through vpx_codec_enc_config_set. */
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
};

static void set_rate(struct enc_vpx *v)
{
	v->cfg.rc_target_bitrate = (unsigned)encoder_bitrate_kbps(&v->base);
	v->cfg.rc_min_quantizer = (unsigned)encoder_quality_to_level(VIDEO_CODEC_VP9,
		v->base.cfg.quality);
	v->cfg.rc_max_quantizer = 63;
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

/* Speed 8; 9 from 1080p up, where 8 does not hold 30 fps on two cores. */
static int vpx_speed(int width, int height)
{
	return (long)width * height >= 1920L * 1080 ? 9 : 8;
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
	v->cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
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
	CTRL(VP8E_SET_CPUUSED, vpx_speed(cfg->width, cfg->height));
	CTRL(VP9E_SET_ROW_MT, 1);
	CTRL(VP9E_SET_TILE_COLUMNS, log2_floor(cfg->threads));
	CTRL(VP9E_SET_FRAME_PARALLEL_DECODING, 0);
	CTRL(VP9E_SET_AQ_MODE, 3);
	CTRL(VP9E_SET_TUNE_CONTENT, VP9E_CONTENT_SCREEN);
	CTRL(VP9E_SET_NOISE_SENSITIVITY, 0);
	CTRL(VP8E_SET_MAX_INTRA_BITRATE_PCT, 300);
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
	v->last_pts = pts_ms;
	if (vpx_codec_encode(&v->ctx, &vi, pts_ms, dur, force_key ? VPX_EFLAG_FORCE_KF : 0,
			VPX_DL_REALTIME) != VPX_CODEC_OK) {
		log_err("encode: %s", vpx_codec_error(&v->ctx));
		return RD_ENC_FATAL;
	}
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

static int vpx_reconfigure(struct encoder *e)
{
	struct enc_vpx *v = (struct enc_vpx *)e;
	set_rate(v);
	if (vpx_codec_enc_config_set(&v->ctx, &v->cfg) != VPX_CODEC_OK) {
		log_warn("reconfigure: %s", vpx_codec_error(&v->ctx));
		return RD_ERR_INVAL;
	}
	return 0;
}

const struct encoder_ops encoder_vpx_ops = {
	.name = "vpx-vp9",
	.codec = VIDEO_CODEC_VP9,
	.open = vpx_open,
	.close = vpx_close,
	.encode = vpx_encode,
	.reconfigure = vpx_reconfigure,
};

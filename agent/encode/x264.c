/* x264: H.264 through libx264, tuned for latency: preset ultrafast, tune
 * zerolatency (no B-frames, no lookahead, sliced threads) with a wider motion
 * search for scrolling, baseline profile,
 * Annex B with SPS/PPS before every IDR, IDR only on request. Rate: CRF from
 * the quality with a VBV ceiling, both changed live by x264_encoder_reconfig. */
#define RD_LOG_SUBSYS "x264"
#include "encoder.h"

#include <stdlib.h>
#include <x264.h>

#include "err.h"
#include "log.h"
#include "util.h"

struct enc_x264 {
	struct encoder base;
	x264_t *h;
	x264_param_t param;
};

static void set_rate(struct enc_x264 *x, x264_param_t *p)
{
	int kbps = encoder_bitrate_kbps(&x->base);
	p->rc.i_rc_method = X264_RC_CRF;
	p->rc.f_rf_constant = (float)encoder_quality_to_level(ENCODER_CODEC_H264, x->base.cfg.quality);
	p->rc.i_vbv_max_bitrate = kbps;
	/* Half a second of buffer: keyframes fit, latency stays low. */
	p->rc.i_vbv_buffer_size = kbps / 2 > 50 ? kbps / 2 : 50;
}

static int x264_open(const struct encoder_config *cfg, struct encoder **out)
{
	struct enc_x264 *x = xcalloc(1, sizeof(*x));
	x264_param_t *p = &x->param;
	int rc = RD_ERR_UNSUPPORTED;
	x->base.ops = &encoder_x264_ops;
	x->base.cfg = *cfg;
	if (x264_param_default_preset(p, "ultrafast", "zerolatency") < 0)
		goto fail;
	p->i_log_level = X264_LOG_ERROR;
	p->i_threads = cfg->threads;
	p->b_sliced_threads = 1;
	p->i_width = cfg->width;
	p->i_height = cfg->height;
	p->i_csp = X264_CSP_I420;
	p->i_fps_num = (uint32_t)cfg->fps;
	p->i_fps_den = 1;
	/* Frames come only when the screen changed, but variable-rate input makes
	 * x264 hold each picture until the next one arrives: rate control assumes
	 * the nominal rate instead, and timestamps (ms) pass through. */
	p->b_vfr_input = 0;
	p->i_timebase_num = 1;
	p->i_timebase_den = 1000;
	p->i_keyint_max = X264_KEYINT_MAX_INFINITE;
	p->b_annexb = 1;
	p->b_repeat_headers = 1;
	p->b_aud = 0;
	p->vui.b_fullrange = 0;
	p->vui.i_colmatrix = 6;	/* BT.601, as libyuv converts */
	/* Uneven multi-hexagon search over 64 pixels instead of ultrafast's small
	 * diamond: a terminal scrolling several lines per frame is found as
	 * motion (a third of the bytes) at about the same CPU. */
	p->analyse.i_me_method = X264_ME_UMH;
	p->analyse.i_me_range = 64;
	set_rate(x, p);
	if (x264_param_apply_profile(p, "baseline") < 0)
		goto fail;
	x->h = x264_encoder_open(p);
	if (!x->h) {
		rc = RD_ERR_INVAL;
		goto fail;
	}
	*out = &x->base;
	return 0;
fail:
	free(x);
	return rc;
}

static void x264_close(struct encoder *e)
{
	struct enc_x264 *x = (struct enc_x264 *)e;
	x264_encoder_close(x->h);
	free(x);
}

static int x264_encode(struct encoder *e, const struct encoder_image *img, int64_t pts_ms,
	bool force_key, struct encoder_packet *out)
{
	struct enc_x264 *x = (struct enc_x264 *)e;
	x264_picture_t in, pic_out;
	x264_nal_t *nals;
	int n_nals;
	x264_picture_init(&in);
	in.img.i_csp = X264_CSP_I420;
	in.img.i_plane = 3;
	for (int i = 0; i < 3; i++) {
		in.img.plane[i] = (uint8_t *)img->planes[i];
		in.img.i_stride[i] = img->strides[i];
	}
	in.i_pts = pts_ms;
	in.i_type = force_key ? X264_TYPE_IDR : X264_TYPE_AUTO;
	int size = x264_encoder_encode(x->h, &nals, &n_nals, &in, &pic_out);
	if (size < 0) {
		log_err("encode failed at %dx%d", img->width, img->height);
		return RD_ENC_FATAL;
	}
	if (size == 0)
		return RD_ENC_RETRY;
	/* The payloads of one picture's NAL units are contiguous. */
	out->data = nals[0].p_payload;
	out->len = (size_t)size;
	out->key = pic_out.b_keyframe != 0;
	out->pts_ms = pic_out.i_pts;
	return RD_ENC_DONE;
}

/* x264 runs at the nominal rate it was opened with (b_vfr_input off): its
 * ceiling stays the one for that rate whatever fps is now, which keeps the
 * bits per picture and lets the bitrate fall with the rate. */
static int x264_set_rate(struct encoder *e, int fps)
{
	(void)fps;
	struct enc_x264 *x = (struct enc_x264 *)e;
	x264_param_t p;
	x264_encoder_parameters(x->h, &p);
	set_rate(x, &p);
	if (x264_encoder_reconfig(x->h, &p) < 0) {
		log_warn("reconfig to quality %d, %d kbit/s refused", e->cfg.quality,
			encoder_bitrate_kbps(e));
		return RD_ERR_INVAL;
	}
	return 0;
}

const struct encoder_ops encoder_x264_ops = {
	.name = "x264",
	.codec = ENCODER_CODEC_H264,
	.open = x264_open,
	.close = x264_close,
	.encode = x264_encode,
	.set_rate = x264_set_rate,
};

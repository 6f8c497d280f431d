/* encoder: backend choice per codec and the rate mapping shared by backends. */
#define RD_LOG_SUBSYS "encoder"
#include "encoder.h"

#include <math.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "util.h"

static const struct encoder_ops *const backends[] = {
	&encoder_x264_ops,
	&encoder_vpx_ops,
};

int encoder_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > 4 ? 4 : (int)n;
}

int encoder_quality_to_kbps(int quality, int width, int height, int fps)
{
	double q = RD_CLAMP(quality, 1, 100);
	double bpp = 0.005 * pow(60.0, (q - 1) / 99.0);
	double kbps = bpp * width * height * RD_CLAMP(fps, 1, 120) / 1000.0;
	return RD_CLAMP((int)kbps, 100, 60000);
}

int encoder_quality_to_level(enum encoder_codec codec, int quality)
{
	int q = RD_CLAMP(quality, 1, 100);
	if (codec == ENCODER_CODEC_H264)
		return 40 - (q - 1) * 22 / 99;
	/* VP9's quantizer scale is not H.264's: 17 at quality 50 gives a
	 * terminal's text at least the PSNR of CRF 30 (39-42 dB). */
	return 31 - (q - 1) * 30 / 99;
}

int encoder_bitrate_kbps(const struct encoder *e)
{
	if (e->cfg.bitrate_kbps > 0)
		return e->cfg.bitrate_kbps;
	return encoder_quality_to_kbps(e->cfg.quality, e->cfg.width, e->cfg.height, e->cfg.fps);
}

int encoder_open(const struct encoder_config *cfg, struct encoder **out)
{
	*out = NULL;
	if (cfg->width < 16 || cfg->height < 16 || (cfg->width & 1) || (cfg->height & 1) ||
	    cfg->width > 8192 || cfg->height > 8192)
		return RD_ERR_INVAL;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (backends[i]->codec != cfg->codec)
			continue;
		struct encoder_config c = *cfg;
		c.fps = RD_CLAMP(c.fps ? c.fps : 30, 1, 120);
		c.quality = RD_CLAMP(c.quality ? c.quality : 50, 1, 100);
		if (c.threads <= 0)
			c.threads = encoder_default_threads();
		int rc = backends[i]->open(&c, out);
		if (rc < 0) {
			log_err("%s: cannot open %dx%d: %s", backends[i]->name, c.width, c.height,
				rd_strerror(rc));
			return rc;
		}
		log_info("%s: %dx%d at %d fps, quality %d, up to %d kbit/s, %d threads",
			backends[i]->name, c.width, c.height, c.fps, c.quality,
			encoder_bitrate_kbps(*out), c.threads);
		return 0;
	}
	return RD_ERR_UNSUPPORTED;
}

void encoder_close(struct encoder *e)
{
	if (e)
		e->ops->close(e);
}

const char *encoder_name(const struct encoder *e)
{
	return e->ops->name;
}

int encoder_encode(struct encoder *e, const struct encoder_image *img, int64_t pts_ms,
	bool force_key, struct encoder_packet *out)
{
	if (img->width != e->cfg.width || img->height != e->cfg.height)
		return RD_ENC_REINIT;
	int rc = e->ops->encode(e, img, pts_ms, force_key || e->frames == 0, out);
	if (rc == RD_ENC_DONE)
		e->frames++;
	return rc;
}

int encoder_set_rate(struct encoder *e, int fps, int quality, int bitrate_kbps)
{
	e->cfg.quality = RD_CLAMP(quality, 1, 100);
	e->cfg.bitrate_kbps = bitrate_kbps > 0 ? bitrate_kbps : 0;
	return e->ops->set_rate(e, fps > 0 ? fps : 0);
}

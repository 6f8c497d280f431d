/* convert: BGRX capture frames to I420 with libyuv, damaged rectangles only. */
#include "encoder.h"

#include <libyuv/convert.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "err.h"

int encoder_image_alloc(struct encoder_image *img, int width, int height)
{
	memset(img, 0, sizeof(*img));
	width &= ~1;
	height &= ~1;
	if (width < 2 || height < 2)
		return RD_ERR_INVAL;
	int sy = (width + 31) & ~31, sc = (width / 2 + 31) & ~31;
	size_t ysz = (size_t)sy * height, csz = (size_t)sc * (height / 2);
	void *buf;
	if (posix_memalign(&buf, 64, ysz + 2 * csz) != 0)
		return RD_ERR_NOMEM;
	uint8_t *p = buf;
	/* Black until the first frame arrives. */
	memset(p, 16, ysz);
	memset(p + ysz, 128, 2 * csz);
	img->width = width;
	img->height = height;
	img->planes[0] = p;
	img->planes[1] = p + ysz;
	img->planes[2] = p + ysz + csz;
	img->strides[0] = sy;
	img->strides[1] = sc;
	img->strides[2] = sc;
	return 0;
}

void encoder_image_free(struct encoder_image *img)
{
	free((void *)img->planes[0]);
	memset(img, 0, sizeof(*img));
}

static void convert_rect(struct encoder_image *img, const struct capture_frame *f,
	int x0, int y0, int x1, int y1)
{
	/* Chroma is shared by 2x2 pixels: widen to even edges. */
	x0 &= ~1;
	y0 &= ~1;
	x1 = (x1 + 1) & ~1;
	y1 = (y1 + 1) & ~1;
	if (x1 > img->width)
		x1 = img->width;
	if (y1 > img->height)
		y1 = img->height;
	if (x0 >= x1 || y0 >= y1)
		return;
	const uint8_t *src = f->data + (size_t)y0 * f->stride + (size_t)x0 * 4;
	uint8_t *y = (uint8_t *)img->planes[0] + (size_t)y0 * img->strides[0] + x0;
	uint8_t *u = (uint8_t *)img->planes[1] + (size_t)(y0 / 2) * img->strides[1] + x0 / 2;
	uint8_t *v = (uint8_t *)img->planes[2] + (size_t)(y0 / 2) * img->strides[2] + x0 / 2;
	/* libyuv's "ARGB" is B, G, R, A in memory: our BGRX. */
	ARGBToI420(src, f->stride, y, img->strides[0], u, img->strides[1], v, img->strides[2],
		x1 - x0, y1 - y0);
}

void encoder_image_convert(struct encoder_image *img, const struct capture_frame *f,
	const struct capture_rect *rects, int n_rects)
{
	long long area = 0, total = (long long)img->width * img->height;
	for (int i = 0; i < n_rects; i++)
		area += (long long)rects[i].w * rects[i].h;
	/* Rows of one call run through libyuv's SIMD loop at full speed; many
	 * rectangles covering most of the picture cost more than one pass. */
	if (n_rects <= 0 || area * 4 >= total * 3) {
		convert_rect(img, f, 0, 0, img->width, img->height);
		return;
	}
	for (int i = 0; i < n_rects; i++)
		convert_rect(img, f, rects[i].x, rects[i].y, rects[i].x + rects[i].w,
			rects[i].y + rects[i].h);
}

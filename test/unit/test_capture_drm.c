/* Unit tests of tile_damage: the tile compare and format conversion that the
 * drm and pipewire capture backends run on every frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <drm_fourcc.h>

#include "agent/capture.h"
#include "agent/capture/tile_damage.h"
#include "err.h"

#define W 200
#define H 130

static uint8_t *make_src(int bpp, int pitch)
{
	uint8_t *p = malloc((size_t)pitch * H);
	assert_non_null(p);
	for (int i = 0; i < pitch * H; i++)
		p[i] = (uint8_t)(i * 7 + i / 13);
	(void)bpp;
	return p;
}

static void new_frame(struct capture_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->width = W;
	f->height = H;
}

static void test_unsupported(void **state)
{
	(void)state;
	struct tile_damage *s;
	assert_int_equal(tile_damage_new(W, H, DRM_FORMAT_NV12, &s), RD_ERR_UNSUPPORTED);
	assert_int_equal(tile_damage_bpp(DRM_FORMAT_XRGB8888), 4);
	assert_int_equal(tile_damage_bpp(DRM_FORMAT_RGB565), 2);
	assert_int_equal(tile_damage_bpp(DRM_FORMAT_NV12), 0);
}

/* XRGB8888 with a padded pitch: the first update takes all; pixels match. */
static void test_xrgb_copy(void **state)
{
	(void)state;
	int pitch = W * 4 + 64;
	uint8_t *src = make_src(4, pitch);
	struct tile_damage *s;
	struct capture_frame f;
	assert_int_equal(tile_damage_new(W, H, DRM_FORMAT_XRGB8888, &s), 0);
	new_frame(&f);
	int tiles = tile_damage_update(s, src, pitch, false, true, &f);
	assert_int_equal(tiles, 4 * 3);
	struct capture_rect bb = { 0 };
	for (int i = 0; i < f.n_damage; i++)
		capture_rect_union(&bb, &f.damage[i]);
	assert_int_equal(bb.x, 0);
	assert_int_equal(bb.y, 0);
	assert_int_equal(bb.w, W);
	assert_int_equal(bb.h, H);
	int stride;
	const uint8_t *out = tile_damage_pixels(s, &stride);
	assert_int_equal(stride, W * 4);
	for (int y = 0; y < H; y++)
		assert_memory_equal(out + (size_t)y * stride, src + (size_t)y * pitch, W * 4);
	tile_damage_free(s);
	free(src);
}

/* A scan of src (W x H in format fmt) after its first, full update into f. */
static struct tile_damage *scan_started(uint32_t fmt, const uint8_t *src, int pitch,
				     struct capture_frame *f)
{
	struct tile_damage *s;

	assert_int_equal(tile_damage_new(W, H, fmt, &s), 0);
	new_frame(f);
	tile_damage_update(s, src, pitch, false, true, f);
	return s;
}

/* One update without change reads at most the rows of 1 in step. */
static void idle_reads_at_most(struct tile_damage *s, const uint8_t *src, int pitch, int step)
{
	struct capture_frame f;
	uint64_t before = tile_damage_bytes_read(s);

	new_frame(&f);
	tile_damage_update(s, src, pitch, false, false, &f);
	assert_true(tile_damage_bytes_read(s) - before <= (uint64_t)pitch * (H / step + 1));
}

/* A change is found within step updates; f holds the damage of the one
 * that found it. */
static void found_within(struct tile_damage *s, const uint8_t *src, int pitch, int step,
			 struct capture_frame *f)
{
	int found_after = -1;

	for (int i = 0; i < step && found_after < 0; i++) {
		new_frame(f);
		if (tile_damage_update(s, src, pitch, false, false, f) > 0)
			found_after = i;
	}
	assert_true(found_after >= 0);
}

/* An idle source gives no damage; a one-pixel change is found within
 * RD_TILE_DAMAGE_STEP updates (at once with all_rows) as exactly its tile. */
static void test_damage_found(void **state)
{
	(void)state;
	int pitch = W * 4;
	uint8_t *src = make_src(4, pitch);
	struct capture_frame f;
	struct tile_damage *s = scan_started(DRM_FORMAT_XRGB8888, src, pitch, &f);
	for (int i = 0; i < RD_TILE_DAMAGE_IDLE_AFTER / 2; i++) {
		new_frame(&f);
		assert_int_equal(tile_damage_update(s, src, pitch, false, false, &f), 0);
		assert_int_equal(f.n_damage, 0);
	}
	/* An idle update reads about 1/STEP of the rows. */
	idle_reads_at_most(s, src, pitch, RD_TILE_DAMAGE_STEP);
	src[101 * pitch + 150 * 4 + 1] ^= 0x55;
	found_within(s, src, pitch, RD_TILE_DAMAGE_STEP, &f);
	assert_int_equal(f.n_damage, 1);
	assert_int_equal(f.damage[0].x, 128);
	assert_int_equal(f.damage[0].y, 64);
	assert_int_equal(f.damage[0].w, 64);
	assert_int_equal(f.damage[0].h, 64);
	int stride;
	const uint8_t *out = tile_damage_pixels(s, &stride);
	assert_int_equal(out[101 * stride + 150 * 4 + 1], src[101 * pitch + 150 * 4 + 1]);
	/* Idle for long: only one row in RD_TILE_DAMAGE_STEP_IDLE is read, and a
	 * change is still found within that many updates. */
	for (int i = 0; i < RD_TILE_DAMAGE_IDLE_AFTER + 1; i++) {
		new_frame(&f);
		assert_int_equal(tile_damage_update(s, src, pitch, false, false, &f), 0);
	}
	idle_reads_at_most(s, src, pitch, RD_TILE_DAMAGE_STEP_IDLE);
	src[33 * pitch + 10 * 4] ^= 0x0f;
	found_within(s, src, pitch, RD_TILE_DAMAGE_STEP_IDLE, &f);
	assert_int_equal(f.damage[0].x, 0);
	assert_int_equal(f.damage[0].y, 0);
	/* all_rows finds a change on any row at the first update. */
	src[3 * pitch + 5 * 4] ^= 0xff;
	new_frame(&f);
	assert_int_equal(tile_damage_update(s, src, pitch, true, false, &f), 1);
	assert_int_equal(f.damage[0].x, 0);
	assert_int_equal(f.damage[0].y, 0);
	tile_damage_free(s);
	free(src);
}

/* Neighbouring changed tiles merge: a run across, and runs of the same
 * columns stacked down, make one rectangle. */
static void test_damage_merge(void **state)
{
	(void)state;
	int pitch = W * 4;
	uint8_t *src = make_src(4, pitch);
	struct capture_frame f;
	struct tile_damage *s = scan_started(DRM_FORMAT_XRGB8888, src, pitch, &f);
	for (int y = 10; y < 100; y++)
		for (int x = 10; x < 100; x++)
			src[y * pitch + 4 * x] ^= 1;
	new_frame(&f);
	assert_int_equal(tile_damage_update(s, src, pitch, true, false, &f), 4);
	assert_int_equal(f.n_damage, 1);
	assert_int_equal(f.damage[0].x, 0);
	assert_int_equal(f.damage[0].y, 0);
	assert_int_equal(f.damage[0].w, 128);
	assert_int_equal(f.damage[0].h, 128);
	tile_damage_free(s);
	free(src);
}

static void test_rgb565(void **state)
{
	(void)state;
	static const uint16_t px[5] = { 0xf800, 0x07e0, 0x001f, 0x8410, 0xffff };
	static const uint8_t want[5][3] = {	/* B, G, R */
		{ 0, 0, 255 }, { 0, 255, 0 }, { 255, 0, 0 }, { 132, 130, 132 }, { 255, 255, 255 },
	};
	int pitch = W * 2;
	uint8_t *src = calloc((size_t)pitch, H);
	assert_non_null(src);
	for (int i = 0; i < 5; i++)
		memcpy(src + 77 * pitch + 2 * (190 + i), &px[i], 2);
	struct capture_frame f;
	struct tile_damage *s = scan_started(DRM_FORMAT_RGB565, src, pitch, &f);
	int stride;
	const uint8_t *out = tile_damage_pixels(s, &stride);
	for (int i = 0; i < 5; i++)
		assert_memory_equal(out + 77 * stride + 4 * (190 + i), want[i], 3);
	assert_int_equal(out[0], 0);	/* black stays black */
	/* A later change converts only its tile, correctly. */
	uint16_t red = 0xf800;
	memcpy(src + 5 * pitch + 2 * 5, &red, 2);
	new_frame(&f);
	assert_int_equal(tile_damage_update(s, src, pitch, true, false, &f), 1);
	assert_int_equal(out[5 * stride + 4 * 5 + 2], 255);
	assert_int_equal(out[5 * stride + 4 * 5], 0);
	tile_damage_free(s);
	free(src);
}

static void test_xbgr(void **state)
{
	(void)state;
	int pitch = W * 4;
	uint8_t *src = calloc((size_t)pitch, H);
	assert_non_null(src);
	uint8_t rgbx[4] = { 10, 20, 30, 0 };	/* XBGR8888 little-endian: R, G, B, X */
	memcpy(src + 50 * pitch + 4 * 60, rgbx, 4);
	struct tile_damage *s;
	struct capture_frame f;
	assert_int_equal(tile_damage_new(W, H, DRM_FORMAT_XBGR8888, &s), 0);
	new_frame(&f);
	tile_damage_update(s, src, pitch, false, true, &f);
	int stride;
	const uint8_t *out = tile_damage_pixels(s, &stride);
	const uint8_t want[3] = { 30, 20, 10 };
	assert_memory_equal(out + 50 * stride + 4 * 60, want, 3);
	tile_damage_free(s);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_xrgb_copy),
		cmocka_unit_test(test_damage_found),
		cmocka_unit_test(test_damage_merge),
		cmocka_unit_test(test_rgb565),
		cmocka_unit_test(test_xbgr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

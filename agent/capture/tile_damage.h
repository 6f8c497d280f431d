/* tile_damage: damage detection and pixel conversion for framebuffers read
 * from memory, for backends that get no damage from their source (the drm
 * backend's scanout buffer, PipeWire buffers).
 *
 * A scan keeps a mirror of the source in its own format. Each update
 * compares source rows with the mirror tile by tile (64x64); changed tiles
 * are copied into the mirror, converted to BGRX and reported as damage. An
 * update reads only every 8th row (a different one each time, so every row
 * is looked at within 8 updates), and once nothing has changed for 30
 * updates only every 32nd row; a full update reads every row. For
 * XRGB8888 and ARGB8888 the mirror is the BGRX image itself (no conversion). */
#ifndef RD_AGENT_TILE_DAMAGE_H
#define RD_AGENT_TILE_DAMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

#define RD_TILE_DAMAGE_TILE 64
#define RD_TILE_DAMAGE_STEP 8
#define RD_TILE_DAMAGE_STEP_IDLE 32
#define RD_TILE_DAMAGE_IDLE_AFTER 30

struct tile_damage;

/* Bytes per pixel of a supported fourcc (XRGB8888, ARGB8888, XBGR8888,
 * ABGR8888, RGB565), or 0 when the format is not supported. */
int tile_damage_bpp(uint32_t fourcc);
/* A scan for a w x h source in format fourcc; RD_ERR_UNSUPPORTED or
 * RD_ERR_NOMEM. The BGRX image starts black and is taken whole by the first
 * update. */
int tile_damage_new(int w, int h, uint32_t fourcc, struct tile_damage **out);
void tile_damage_free(struct tile_damage *s);
/* Compare src (the source, pitch bytes per row) with the mirror and add the
 * changed areas to f's damage list. all_rows reads every row (after a page
 * flip, or when nothing may be missed); copy_all copies the whole source and
 * reports it all as damaged. Returns the number of changed tiles. */
int tile_damage_update(struct tile_damage *s, const uint8_t *src, int pitch, bool all_rows,
	bool copy_all, struct capture_frame *f);
/* The BGRX image (width x height, stride bytes per row). */
const uint8_t *tile_damage_pixels(const struct tile_damage *s, int *stride);
/* Bytes of the source read by updates so far. */
uint64_t tile_damage_bytes_read(const struct tile_damage *s);

#endif

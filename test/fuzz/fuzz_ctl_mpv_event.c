/* Fuzz target: the reader of mpv's JSON IPC lines and the coordinate mapping. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctl/mpv_input.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_mpv_event ev;
	if (size > CTL_MPV_LINE_MAX)
		return 0;
	if (ctl_mpv_parse_event((const char *)data, size, &ev) != RD_OK)
		return 0;
	if (ev.nargs < 0 || ev.nargs > CTL_MPV_MAX_ARGS)
		__builtin_trap();
	for (int i = 0; i < ev.nargs; i++)
		if (strnlen(ev.args[i], CTL_MPV_ARG_MAX) >= CTL_MPV_ARG_MAX)
			__builtin_trap();
	if (ev.kind == CTL_MPV_OSD) {
		int x, y;
		if (ctl_mpv_map(&ev.osd, 1920, 1080, ev.osd.w / 2, ev.osd.h / 2, &x, &y) &&
		    (x < 0 || x >= 1920 || y < 0 || y >= 1080))
			__builtin_trap();
	}
	return 0;
}

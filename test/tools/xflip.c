/* xflip: a full-screen X window that turns from black to white (and back) on
 * every key press; the screen change an input-latency benchmark waits for.
 *   xflip [--log FILE] [--box N]   (DISPLAY from the environment; runs until killed)
 * With --log, each flip is written as "<n> <monotonic ms>" (for checking).
 * With --box, only an N x N square in the middle flips (as a typed character
 * would change a small part of the screen); the rest stays as it was. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xcb/xcb.h>

int main(int argc, char **argv)
{
	FILE *log = NULL;
	int box = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--log") && !(log = fopen(argv[i + 1], "w"))) {
			perror(argv[i + 1]);
			return 1;
		}
		if (!strcmp(argv[i], "--box"))
			box = atoi(argv[i + 1]);
	}
	xcb_connection_t *c = xcb_connect(NULL, NULL);
	if (xcb_connection_has_error(c)) {
		fprintf(stderr, "xflip: cannot open the display\n");
		return 1;
	}
	xcb_screen_t *s = xcb_setup_roots_iterator(xcb_get_setup(c)).data;
	xcb_window_t w = xcb_generate_id(c);
	uint32_t colour[2] = { s->black_pixel, s->white_pixel };
	uint32_t vals[3] = { colour[0], 1, XCB_EVENT_MASK_KEY_PRESS | XCB_EVENT_MASK_EXPOSURE };
	int ww = s->width_in_pixels, wh = s->height_in_pixels;
	if (box > 0 && box < ww && box < wh)
		ww = wh = box;
	xcb_create_window(c, XCB_COPY_FROM_PARENT, w, s->root, (int16_t)((s->width_in_pixels - ww) / 2),
		(int16_t)((s->height_in_pixels - wh) / 2), (uint16_t)ww, (uint16_t)wh, 0, XCB_WINDOW_CLASS_INPUT_OUTPUT, s->root_visual,
		XCB_CW_BACK_PIXEL | XCB_CW_OVERRIDE_REDIRECT | XCB_CW_EVENT_MASK, vals);
	xcb_map_window(c, w);
	xcb_set_input_focus(c, XCB_INPUT_FOCUS_POINTER_ROOT, w, XCB_CURRENT_TIME);
	xcb_flush(c);
	unsigned n = 0;
	xcb_generic_event_t *ev;
	while ((ev = xcb_wait_for_event(c)) != NULL) {
		if ((ev->response_type & 0x7f) == XCB_KEY_PRESS) {
			n++;
			xcb_change_window_attributes(c, w, XCB_CW_BACK_PIXEL, &colour[n & 1]);
			xcb_clear_area(c, 0, w, 0, 0, 0, 0);
			xcb_flush(c);
			if (log) {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				fprintf(log, "%u %.3f\n", n, ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
				fflush(log);
			}
		}
		free(ev);
	}
	return 0;
}

/* xflip: a full-screen X window that turns from black to white (and back) on
 * every key press; the screen change an input-latency benchmark waits for.
 *   xflip [--log FILE]   (DISPLAY from the environment; runs until killed)
 * With --log, each flip is written as "<n> <monotonic ms>" (for checking). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xcb/xcb.h>

int main(int argc, char **argv)
{
	FILE *log = NULL;
	if (argc == 3 && !strcmp(argv[1], "--log") && !(log = fopen(argv[2], "w"))) {
		perror(argv[2]);
		return 1;
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
	xcb_create_window(c, XCB_COPY_FROM_PARENT, w, s->root, 0, 0, s->width_in_pixels,
		s->height_in_pixels, 0, XCB_WINDOW_CLASS_INPUT_OUTPUT, s->root_visual,
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

/* What the PipeWire test producers (pipewire-pattern, pw-dmabuf-src) share:
 * a Video/Source node in BGRx at 10 fps that drives its own graph from a
 * timer on its own main loop, ended by SIGTERM or SIGINT.
 *
 * Prints "ready" once connected; a stream error is printed and ends the
 * loop. The producer keeps its own stream events (format, buffers,
 * process), answers a format with pw_src_buffers, and from then on the
 * timer asks it for a frame every 100 ms. */
#ifndef RD_TEST_PW_SRC_COMMON_H
#define RD_TEST_PW_SRC_COMMON_H

#include <pipewire/pipewire.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>
#include <stdbool.h>
#include <stdint.h>

struct pw_src {
	const char *prog;            /* names the messages */
	struct pw_main_loop *loop;
	struct pw_stream *stream;
	struct spa_hook listener;
	struct spa_source *timer;
	bool negotiated;             /* a format is set: the timer drives frames */
};

/* PipeWire and the main loop, with SIGTERM and SIGINT ending it. A producer
 * adds its own signals after this and before pw_src_stream: PipeWire's
 * threads must start with them blocked. 0, or -1 with a message. */
int pw_src_init(struct pw_src *s, const char *prog);
/* The stream of node NODE (DESC its name for the stream) with the producer's
 * events, whose callbacks get ud. 0, or -1 with a message. */
int pw_src_stream(struct pw_src *s, const char *desc, const char *node,
	const struct pw_stream_events *events, void *ud);
/* The offered format: BGRx, WxH, 10 fps; with the linear DRM modifier,
 * mandatory, when linear. */
const struct spa_pod *pw_src_format(struct spa_pod_builder *b, int w, int h, bool linear);
/* Offer WxH (see pw_src_format), connect as the driver with flags added and
 * start the frame timer. 0, or -1 with a message. */
int pw_src_connect(struct pw_src *s, int w, int h, bool linear, enum pw_stream_flags flags);
/* Offer WxH again (the link renegotiates). */
void pw_src_reoffer(struct pw_src *s, int w, int h, bool linear);
/* Whether a param_changed is a format; then its video info. */
bool pw_src_format_parse(uint32_t id, const struct spa_pod *param, struct spa_video_info_raw *info);
/* Answer a format: 2 to 8 buffers of one block of data_type (an spa_data_type),
 * of size and stride bytes when not 0; frames start. */
void pw_src_buffers(struct pw_src *s, uint32_t data_type, uint32_t size, uint32_t stride);
/* Run until a signal or an error, then free the stream, loop and PipeWire. */
void pw_src_run(struct pw_src *s);

#endif

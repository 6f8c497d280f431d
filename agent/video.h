/* video: the agent's media pipeline, shared by all sessions.
 *
 * capture backend (capture.h) -> BGRX -> I420 (libyuv) -> encoder (encoder.h)
 * on a worker thread -> ev_async -> encoded packets delivered on the loop to
 * every subscriber of that codec. One encoder runs per codec in use; capture
 * runs only while someone subscribes. Capture opens without blocking the
 * loop: a backend that has to wait (PipeWire, the portal) does so on the
 * loop's watchers, and subscribers meanwhile wait for "video ready". An unchanged screen (no damage) is not
 * encoded. Packets are reference counted: a subscriber that wants to keep one
 * past the callback takes a reference; a slow subscriber simply drops packets
 * until the next keyframe and asks for one. */
#ifndef RD_AGENT_VIDEO_H
#define RD_AGENT_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encoder.h"

struct ev_loop;
struct video;
struct video_sub;

/* The encoders' codecs (encoder.h) under the pipeline's names. */
enum video_codec {
	VIDEO_CODEC_VP9 = ENCODER_CODEC_VP9,
	VIDEO_CODEC_H264 = ENCODER_CODEC_H264,
};

struct video_packet {
	enum video_codec codec;
	uint8_t *data;
	size_t len;
	bool key;
	int64_t pts_ms;   /* ms since the capture started */
	int width;
	int height;
	unsigned refs;    /* loop thread only */
};

void video_packet_ref(struct video_packet *p);
void video_packet_unref(struct video_packet *p);

struct video_config {
	const char *backend;  /* "auto", "x11", "drm", "pipewire", "testsrc" */
	const char *display;  /* X display (":0"), DRM card path, PipeWire node; NULL = default */
	int fps;              /* target frames per second (1..120) */
	int quality;          /* 1..100, maps to bitrate per pixel */
	const char *state_dir; /* the agent's data folder (capture_config.state_dir) */
	/* An open still under way when video_new returned has ended: rc 0, or
	 * the rd_err of the failure (logged). Optional; must not free the video. */
	void (*on_opened)(int rc, void *ud);
	void *ud;
};

struct video_display {
	int width;
	int height;
	char name[64];
	bool cursor_embedded;
};

/* Open the pipeline: starts opening the capture backend (so the display size
 * is known for PeerInfo) but captures nothing until the first subscriber. A
 * backend that opens at once is open on return; otherwise the open goes on
 * (video_opening) and cfg->on_opened tells its end. An rd_err when it failed
 * at once. cfg's strings are copied. */
int video_new(struct ev_loop *loop, const struct video_config *cfg, struct video **out);
/* Only when no subscriber is left. */
void video_free(struct video *v);
/* Current display geometry (after a probe or the latest frame); 0x0 while
 * capture is still opening. */
int video_get_display(struct video *v, struct video_display *out);
/* Name of the capture backend in use ("x11", "testsrc"...), "opening" while
 * it opens, "none" when the open failed. */
const char *video_backend_name(const struct video *v);
/* The capture is still opening. */
bool video_opening(const struct video *v);
/* Capture failed for good (its open, or later): subscribers were told. */
bool video_failed(const struct video *v);

struct video_sub_ops {
	/* A packet of the subscribed codec (the first one is a keyframe). */
	void (*on_packet)(struct video_packet *pkt, void *ud);
	/* The display changed size; a keyframe of the new size follows. */
	void (*on_resize)(const struct video_display *d, void *ud);
	/* Capture failed for good (logged already): the open failed when
	 * video_sub_opened() is false. */
	void (*on_error)(int err, void *ud);
	/* Capture opened after this subscriber came (optional; else on_resize is
	 * called): the display is known now, frames follow. */
	void (*on_ready)(const struct video_display *d, void *ud);
};

/* Allowed while capture opens (frames follow once it has). */
int video_subscribe(struct video *v, enum video_codec codec, const struct video_sub_ops *ops,
	void *ud, struct video_sub **out);
/* May be called from the subscriber's own callbacks. */
void video_unsubscribe(struct video_sub *s);
/* Has capture opened (for this subscriber's pipeline)? */
bool video_sub_opened(const struct video_sub *s);
/* Ask for a keyframe for this subscriber's codec (after loss or a skip). */
void video_request_keyframe(struct video_sub *s);
/* What this subscriber asks for, live. Several subscribers share one
 * capture: it runs at the highest fps asked by any of them (the configured
 * fps when none asks), each codec's encoder at the best quality asked by its
 * subscribers. */
void video_set_fps(struct video_sub *s, int fps);
void video_set_quality(struct video_sub *s, int quality);
/* Frame pacing (optional): ready(ud) says whether this subscriber takes a
 * frame now; capture skips a tick when no live subscriber is ready. */
void video_sub_set_ready(struct video_sub *s, bool (*ready)(void *ud));
/* The subscriber became ready again: grab at once if a tick was skipped for
 * it, rather than at the next tick. */
void video_sub_kick(struct video_sub *s);
/* The bitrate ceiling of this subscriber's encoder now (kbit/s), 0 before
 * the display size is known. */
uint32_t video_target_kbps(const struct video_sub *s);

/* Now on the clock of video_packet.pts_ms (started here if capture has
 * not started yet), for other media that must line up with the picture. */
int64_t video_clock_ms(struct video *v);

/* Counters since video_new (for status output, tests and benchmarks). */
struct video_stats {
	uint64_t ticks;           /* capture timer ticks while capturing */
	uint64_t frames_captured; /* frames with damage read from the backend */
	uint64_t frames_encoded;  /* pictures encoded, all codecs */
	uint64_t packets;         /* packets delivered to at least one subscriber */
	uint64_t bytes;           /* bytes of those packets */
	uint64_t keyframes;
	bool capturing;           /* the timer runs (someone subscribes) */
	int encoders;             /* worker threads running */
};
void video_get_stats(const struct video *v, struct video_stats *out);

#endif

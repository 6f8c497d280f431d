/* viewer: shows decoded frames in mpv (ffplay as fallback) by writing raw
 * I420 video to its stdin. Raw frames need no probing or decoding in the
 * player, which keeps latency to one frame; a new remote size starts a new
 * player process with the new geometry. When the player exits on its own
 * (the user closed the window) on_closed is called. A slow player skips
 * frames: only the newest waiting frame is kept. Extra mpv arguments (its
 * input script and socket, say) come from the owner, who hears of each
 * player that starts through on_started. */
#ifndef RD_CTL_VIEWER_H
#define RD_CTL_VIEWER_H

struct ev_loop;
struct AVFrame;
struct ctl_viewer;

#define CTL_VIEWER_MAX_ARGS 8

struct ctl_viewer_ops {
	void (*on_closed)(struct ctl_viewer *v, void *ud);
	/* Optional: a player started for a w x h remote screen. kind is "mpv"
	 * (it was given the extra arguments set at that time) or "ffplay"
	 * (it takes none). ctl_viewer_set_args may be called from here. */
	void (*on_started)(struct ctl_viewer *v, const char *kind, int w, int h, void *ud);
};

/* kind: "mpv" or "ffplay". The loop must be the default loop (child watchers). */
struct ctl_viewer *ctl_viewer_new(struct ev_loop *loop, const char *kind, const char *title,
	const struct ctl_viewer_ops *ops, void *ud);
/* Extra arguments for each mpv started from now on (copied; n up to
 * CTL_VIEWER_MAX_ARGS, 0 for none). RD_ERR_INVAL when n is out of range. */
int ctl_viewer_set_args(struct ctl_viewer *v, const char *const *args, int n);
/* Queue a frame (copied). RD_ERR_IO when no player could be started. */
int ctl_viewer_frame(struct ctl_viewer *v, const struct AVFrame *f);
/* Sound from now on (channels 1 or 2; 0 off): the next frame starts a player
 * that reads picture and sound as one Matroska stream (libavformat) and
 * plays them in step by the agent's times (frame->pts, in ms). */
void ctl_viewer_set_audio(struct ctl_viewer *v, unsigned channels);
/* One Opus packet at pts_ms (the agent's clock); dropped before the first
 * picture and when sound is off. */
int ctl_viewer_audio(struct ctl_viewer *v, const uint8_t *data, size_t len, int64_t pts_ms,
	int dur_ms);
/* Frames written so far. */
unsigned long ctl_viewer_frames(const struct ctl_viewer *v);
/* Close the pipe, let the players exit (they are ended after 2 s), free. */
void ctl_viewer_free(struct ctl_viewer *v);

#endif

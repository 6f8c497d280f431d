/* view: the verbs that receive video: connect, screenshot, record. Each
 * checks its options and runs one session into its sink (sink_*.c). */
#include <string.h>

#include "audio_file.h"
#include "ctl.h"
#include "err.h"
#include "media.h"
#include "run.h"
#include "sink.h"

static int finish(struct ctl *c)
{
	return ctl_result_print(&c->res, c->set.json, c->set.verbose);
}

static bool codec_ok(struct ctl *c)
{
	const char *k = c->vs.codec;
	if (!k || !strcmp(k, "auto") || !strcmp(k, "h264") || !strcmp(k, "vp9"))
		return true;
	ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "--codec takes h264, vp9 or auto");
	return false;
}

int ctl_verb_screenshot(struct ctl *c)
{
	struct ctl_run_opts o = { 0 };
	if (!c->vs.output || !c->vs.output[0]) {
		ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "screenshot needs -o FILE.png");
	} else if (codec_ok(c)) {
		o.sink = ctl_sink_shot_new(c, &c->res);
		ctl_run(c, &o, &c->res, NULL);
	}
	return finish(c);
}

int ctl_verb_record(struct ctl *c)
{
	struct ctl_run_opts o = { 0 };
	const char *k = c->vs.codec;
	enum ctl_codec want = k && !strcmp(k, "h264") ? CTL_CODEC_H264 : CTL_CODEC_VP9;
	if (!c->vs.output || !c->vs.output[0])
		ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "record needs -o FILE.mkv|.webm|.mp4");
	else if (ctl_recorder_check_path(c->vs.output, want) == RD_ERR_INVAL)
		ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "record writes .mkv, .webm or .mp4");
	else if (ctl_recorder_check_path(c->vs.output, want) == RD_ERR_UNSUPPORTED)
		ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "WebM holds VP9, not H.264: use "
			"--codec vp9 or .mkv/.mp4");
	else if (codec_ok(c)) {
		/* WebM cannot take H.264: ask for VP9 when the codec is left to the agent. */
		if ((!k || !strcmp(k, "auto")) && ctl_recorder_check_path(c->vs.output, CTL_CODEC_H264)
		    != RD_OK) {
			static char vp9[] = "vp9";
			c->vs.codec = vp9;
		}
		o.sink = ctl_sink_record_new(c, &c->res);
		ctl_run(c, &o, &c->res, NULL);
		if (c->vs.codec && !strcmp(c->vs.codec, "vp9") && k != c->vs.codec)
			c->vs.codec = (char *)k;
	}
	return finish(c);
}

int ctl_verb_listen(struct ctl *c)
{
	struct ctl_run_opts o = { 0 };
	if (!c->vs.output || !c->vs.output[0]) {
		ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "listen needs -o FILE.opus|.ogg|.wav");
	} else if (ctl_audio_file_check_path(c->vs.output) != RD_OK) {
		ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "listen writes .opus, .ogg or .wav");
	} else {
		/* The picture is not wanted: ask for as few frames as the agent sends. */
		if (c->vs.fps == 0)
			c->vs.fps = 1;
		o.sink = ctl_sink_listen_new(c, &c->res);
		ctl_run(c, &o, &c->res, NULL);
	}
	return finish(c);
}

int ctl_verb_connect(struct ctl *c)
{
	struct ctl_run_opts o = { 0 };
	const char *v = c->vs.viewer;
	if (!v || (strcmp(v, "mpv") && strcmp(v, "ffplay") && strcmp(v, "none"))) {
		ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "--viewer takes mpv, ffplay or none");
	} else if (codec_ok(c)) {
		o.sink = ctl_sink_view_new(c, &c->res);
		ctl_run(c, &o, &c->res, NULL);
	}
	return finish(c);
}

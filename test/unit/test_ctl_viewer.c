/* Unit tests of rdctl's viewer (ctl/viewer.c) and of connect's sink that
 * drives it (ctl/sink_view.c), with a fake run (ctl_sink_harness.h). The
 * players are small scripts in a private PATH that write down their
 * arguments and read their standard input to the end. */
#include "ctl_sink_harness.h"

#include <dirent.h>
#include <sys/stat.h>

#include "ctl/viewer.h"

#include <libavformat/avformat.h>

static void players_done(void);

static int group_setup(void **state)
{
	(void)state;
	tmpdir_make("viewer");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return tmpdir_remove();
}

static int setup(void **state)
{
	(void)state;
	harness_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ctl_result_free(&res);
	players_done();	/* the PATH of a test that failed half-way */
	return 0;
}

/* Any packet: the view sink only notes that video came. */
static bool put(struct ctl_sink *k)
{
	static const uint8_t junk[16];
	return k->ops->packet(k, CTL_CODEC_H264, junk, sizeof(junk), true, 0);
}

static char bindir[300], outdir[300];

/* A player that writes its arguments to outdir/NAME.PID, one a line, and
 * reads its input to the end. */
static void fake_player(const char *name)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", bindir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done >'%s/%s.'$$.tmp\n"
		"/bin/mv '%s/%s.'$$.tmp '%s/%s.'$$\nexec /bin/cat >'%s/in-%s.'$$\n", outdir, name, outdir,
		name, outdir, name, outdir, name);
	fclose(f);
	chmod(path, 0755);
}

static char saved_path[4096];

/* A PATH with only the given players in it. */
static void players(const char *a, const char *b)
{
	char cmd[1400];
	snprintf(bindir, sizeof(bindir), "%s/bin", tmpdir);
	snprintf(outdir, sizeof(outdir), "%s/out", tmpdir);
	snprintf(cmd, sizeof(cmd), "/bin/rm -rf '%s' '%s' && /bin/mkdir -p '%s' '%s'", bindir, outdir,
		bindir, outdir);
	assert_int_equal(system(cmd), 0);
	if (a)
		fake_player(a);
	if (b)
		fake_player(b);
	if (!saved_path[0])
		rd_strlcpy(saved_path, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin",
			sizeof(saved_path));
	setenv("PATH", bindir, 1);
}

static void players_done(void)
{
	if (saved_path[0])
		setenv("PATH", saved_path, 1);
}

/* The arguments of the player NAME started for width w (waits up to 5 s,
 * running the loop: a new size waits for the frame being written). */
static bool player_args(const char *name, int w, char *out, size_t outsz)
{
	char want[64];
	snprintf(want, sizeof(want), "--demuxer-rawvideo-w=%d\n", w);
	if (!strcmp(name, "ffplay"))
		snprintf(want, sizeof(want), "%dx", w);
	for (int tries = 0; tries < 500; tries++) {
		DIR *d = opendir(outdir);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char path[700];
			size_t n;
			if (strncmp(e->d_name, name, strlen(name)) || strstr(e->d_name, ".tmp"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", outdir, e->d_name);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			n = fread(out, 1, outsz - 1, f);
			out[n] = '\0';
			fclose(f);
			if (strstr(out, want)) {
				closedir(d);
				return true;
			}
		}
		if (d)
			closedir(d);
		ev_run(ev_default_loop(0), EVRUN_NOWAIT);
		usleep(10000);
	}
	return false;
}

struct seen {
	int started, closed;
	char kind[16];
	int w, h;
	bool rearm;       /* give the next player other arguments */
};

static void seen_closed(struct ctl_viewer *v, void *ud)
{
	(void)v;
	((struct seen *)ud)->closed++;
}

static void seen_started(struct ctl_viewer *v, const char *kind, int w, int h, void *ud)
{
	struct seen *s = ud;
	s->started++;
	rd_strlcpy(s->kind, kind, sizeof(s->kind));
	s->w = w;
	s->h = h;
	if (s->rearm) {
		const char *next[] = { "--next=1" };
		assert_int_equal(ctl_viewer_set_args(v, next, 1), RD_OK);
	}
}

static const struct ctl_viewer_ops seen_ops = { .on_closed = seen_closed,
	.on_started = seen_started };

/* mpv gets the extra arguments in place; on_started may change them for the
 * next player, which a new remote size starts. */
static void test_viewer_args(void **state)
{
	char args[4096];
	struct seen s = { .rearm = true };
	(void)state;
	players("mpv", NULL);
	struct ctl_viewer *v = ctl_viewer_new(ev_default_loop(0), "mpv", "the title", &seen_ops, &s);
	const char *extra[] = { "--first=a b", "--second" };
	assert_int_equal(ctl_viewer_set_args(v, extra, CTL_VIEWER_MAX_ARGS + 1), RD_ERR_INVAL);
	assert_int_equal(ctl_viewer_set_args(v, extra, 2), RD_OK);
	AVFrame *f = picture(W, H);
	assert_int_equal(ctl_viewer_frame(v, f), RD_OK);
	av_frame_free(&f);
	assert_int_equal(s.started, 1);
	assert_string_equal(s.kind, "mpv");
	assert_int_equal(s.w, W);
	assert_int_equal(s.h, H);
	assert_true(player_args("mpv", W, args, sizeof(args)));
	assert_non_null(strstr(args, "--input-default-bindings=yes\n--first=a b\n--second\n"
		"--title=the title\n"));
	assert_non_null(strstr(args, "\n-\n"));
	f = picture(2 * W, 2 * H);
	assert_int_equal(ctl_viewer_frame(v, f), RD_OK);
	av_frame_free(&f);
	assert_true(player_args("mpv", 2 * W, args, sizeof(args)));
	assert_int_equal(s.started, 2);
	assert_int_equal(s.w, 2 * W);
	assert_non_null(strstr(args, "--input-default-bindings=yes\n--next=1\n--title=the title\n"));
	assert_null(strstr(args, "--first"));
	assert_int_equal(s.closed, 0);
	ctl_viewer_free(v);
	players_done();
}

/* No mpv: ffplay shows the picture, without mpv's arguments. No player at
 * all: the frame fails and on_closed says so. */
static void test_viewer_fallback(void **state)
{
	char args[4096];
	struct seen s = { 0 };
	(void)state;
	players("ffplay", NULL);
	struct ctl_viewer *v = ctl_viewer_new(ev_default_loop(0), "mpv", "t", &seen_ops, &s);
	const char *extra[] = { "--script=x.lua" };
	ctl_viewer_set_args(v, extra, 1);
	AVFrame *f = picture(W, H);
	assert_int_equal(ctl_viewer_frame(v, f), RD_OK);
	assert_int_equal(s.started, 1);
	assert_string_equal(s.kind, "ffplay");
	assert_true(player_args("ffplay", W, args, sizeof(args)));
	assert_null(strstr(args, "--script"));
	ctl_viewer_free(v);

	players(NULL, NULL);
	s = (struct seen){ 0 };
	v = ctl_viewer_new(ev_default_loop(0), "mpv", "t", &seen_ops, &s);
	assert_int_equal(ctl_viewer_frame(v, f), RD_ERR_IO);
	assert_int_equal(s.started, 0);
	assert_int_equal(s.closed, 1);
	av_frame_free(&f);
	ctl_viewer_free(v);
	players_done();
}

/* connect's sink: mpv gets the input script and a socket of its own for
 * each remote size; frames are counted; Ctrl+C after the picture came is a
 * normal end. */
static void test_view(void **state)
{
	char args[4096], dir[300] = "", want[700];
	(void)state;
	players("mpv", NULL);
	c.vs.viewer = "mpv";
	c.vs.duration = 30;
	struct ctl_sink *k = sink_open(ctl_sink_view_new(&c, &res));
	assert_int_equal(k->ops->flags, CTL_SINK_MEDIA | CTL_SINK_ACK | CTL_SINK_GOODBYE |
		CTL_SINK_AUDIO);
	assert_true(run.stop_after == 30);
	assert_false(k->ops->finish(k, CTL_SINK_SIGNAL));	/* no picture yet: interrupted */
	assert_true(put(k));
	frame(k, W, H);
	assert_true(player_args("mpv", W, args, sizeof(args)));
	char *sock = strstr(args, "--input-ipc-server=");
	assert_non_null(sock);
	sscanf(sock, "--input-ipc-server=%299[^\n]", dir);
	assert_non_null(strstr(dir, "/ipc-1"));
	*strrchr(dir, '/') = '\0';
	snprintf(want, sizeof(want), "--script=%s/rdesk-input.lua\n", dir);
	assert_non_null(strstr(args, want));
	frame(k, 2 * W, 2 * H);
	assert_true(player_args("mpv", 2 * W, args, sizeof(args)));
	snprintf(want, sizeof(want), "--input-ipc-server=%s/ipc-2\n", dir);
	assert_non_null(strstr(args, want));
	assert_int_equal(res.frames, 2);
	assert_false(k->ops->finish(k, CTL_SINK_TIME));	/* run.c ends it */
	assert_false(k->ops->finish(k, CTL_SINK_END));
	assert_int_equal(run.finished, 0);
	assert_true(k->ops->finish(k, CTL_SINK_SIGNAL));
	assert_int_equal(run.finished, 1);
	assert_null(res.error);
	k->ops->free(k);
	/* The script and the socket folder went with it. */
	struct stat st;
	assert_int_not_equal(stat(dir, &st), 0);
	players_done();
}

/* Sound: after Misc.audio_format the player reads one Matroska stream with
 * the picture (raw I420) and the sound (Opus) that libavformat reads back. */
static void test_view_sound(void **state)
{
	char args[4096] = "", path[800] = "";
	(void)state;
	players("mpv", NULL);
	c.vs.viewer = "mpv";
	c.vs.duration = 0;
	struct ctl_sink *k = sink_open(ctl_sink_view_new(&c, &res));
	Hbb__AudioFormat af = HBB__AUDIO_FORMAT__INIT;
	af.sample_rate = 48000;
	af.channels = 2;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_AUDIO_FORMAT;
	misc.audio_format = &af;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	k->ops->message(k, &m);
	assert_true(put(k));
	frame(k, W, H);
	uint8_t opus[] = { 0xfc, 0xff, 0xfe };	/* 20 ms CELT, stereo */
	Hbb__AudioFrame fr = HBB__AUDIO_FRAME__INIT;
	fr.data.data = opus;
	fr.data.len = sizeof(opus);
	Hbb__Message am = HBB__MESSAGE__INIT;
	am.union_case = HBB__MESSAGE__UNION_AUDIO_FRAME;
	am.audio_frame = &fr;
	for (int i = 0; i < 5; i++) {
		fr.rdesk_pts = 1000 + 20 * i;
		k->ops->message(k, &am);
	}
	frame(k, W, H);
	/* The player: Matroska, no raw video demuxer. */
	for (int tries = 0; tries < 500 && !args[0]; tries++) {
		DIR *d = opendir(outdir);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL)
			if (!strncmp(e->d_name, "mpv.", 4) && !strstr(e->d_name, ".tmp")) {
				snprintf(path, sizeof(path), "%s/%s", outdir, e->d_name);
				FILE *f = fopen(path, "r");
				size_t n = f ? fread(args, 1, sizeof(args) - 1, f) : 0;
				args[n] = '\0';
				if (f)
					fclose(f);
				snprintf(path, sizeof(path), "%s/in-%s", outdir, e->d_name);
			}
		if (d)
			closedir(d);
		if (!args[0])
			usleep(10000);
	}
	assert_non_null(strstr(args, "--demuxer-lavf-format=matroska\n"));
	assert_null(strstr(args, "--demuxer=rawvideo"));
	k->ops->free(k);	/* the pipe closes: the player's input is complete */
	AVFormatContext *ic = NULL;
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	assert_int_equal(ic->nb_streams, 2);
	assert_int_equal(ic->streams[0]->codecpar->codec_id, AV_CODEC_ID_RAWVIDEO);
	assert_int_equal(ic->streams[0]->codecpar->width, W);
	assert_int_equal(ic->streams[1]->codecpar->codec_id, AV_CODEC_ID_OPUS);
	assert_int_equal(ic->streams[1]->codecpar->sample_rate, 48000);
	int audio = 0, video = 0;
	AVPacket *p = av_packet_alloc();
	while (av_read_frame(ic, p) >= 0) {
		if (p->stream_index == 1)
			audio++;
		else
			video++;
		av_packet_unref(p);
	}
	av_packet_free(&p);
	avformat_close_input(&ic);
	assert_int_equal(video, 2);
	assert_int_equal(audio, 5);
	players_done();
}

/* --viewer none: frames are counted, nothing is started; no --duration, no stop. */
static void test_view_none(void **state)
{
	(void)state;
	c.vs.viewer = "none";
	struct ctl_sink *k = sink_open(ctl_sink_view_new(&c, &res));
	assert_true(run.stop_after < 0);
	for (int i = 0; i < 3; i++) {
		assert_true(put(k));
		frame(k, W, H);
	}
	assert_int_equal(res.frames, 3);
	assert_int_equal(run.finished, 0);
	k->ops->free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_viewer_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_viewer_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_sound, setup, teardown),
	};
	return cmocka_run_group_tests_name("ctl_viewer", tests, group_setup, group_teardown);
}

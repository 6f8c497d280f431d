/* sink_shot: screenshot's sink: the first decoded frame as a PNG file. */
#include <stdlib.h>

#include "ctl.h"
#include "err.h"
#include "media.h"
#include "run.h"
#include "sink.h"
#include "util.h"

struct shot {
	struct ctl_sink base;
	struct ctl *c;
	struct ctl_result *res;
};

static void shot_frame(struct ctl_sink *k, const struct AVFrame *f)
{
	struct shot *sh = (struct shot *)k;
	const char *out = sh->c->vs.output;
	double t0 = rd_now();
	int rc = ctl_png_write(f, out);
	ctl_result_phase(sh->res, CTL_PH_WRITE, (rd_now() - t0) * 1000.0);
	if (rc != RD_OK)
		ctl_result_fail(sh->res, CTL_EXIT_FAIL, "write_failed", "cannot write %s: %s", out,
			rd_strerror(rc));
	else
		sh->res->output = out;
	sh->res->frames = 1;
	ctl_run_finish(k->run);
}

static void shot_free(struct ctl_sink *k)
{
	free(k);
}

static const struct ctl_sink_ops shot_ops = {
	.flags = CTL_SINK_MEDIA, .frame = shot_frame, .free = shot_free,
};

struct ctl_sink *ctl_sink_shot_new(struct ctl *c, struct ctl_result *res)
{
	struct shot *sh = xcalloc(1, sizeof(*sh));
	sh->base.ops = &shot_ops;
	sh->c = c;
	sh->res = res;
	return &sh->base;
}

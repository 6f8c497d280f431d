/* input_verbs: the scriptable input verbs (type, key, click, move, clipboard,
 * wait-for-change). Each runs one session with itself as the sink: it acts
 * once the agent says what it allows, and ends the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <libavutil/frame.h>

#define RD_LOG_SUBSYS "rdctl"
#include "ctl.h"
#include "err.h"
#include "input.h"
#include "log.h"
#include "run.h"
#include "session.h"
#include "sink.h"
#include "util.h"

/* How long to wait after login for the agent to say what it allows. */
#define PERM_WAIT_SECS 3.0
/* How long clipboard get waits for the text. */
#define CLIP_WAIT_SECS 5.0
#define CLIP_READ_MAX (4u * 1024 * 1024)

enum iv_kind { IV_TYPE, IV_KEY, IV_CLICK, IV_MOVE, IV_CLIP_GET, IV_CLIP_SET, IV_WAIT };

struct iv {
	struct ctl_sink base;     /* first: the run hands the session to this sink */
	struct ctl *c;
	enum iv_kind kind;
	struct run *r;
	struct ctl_session *s;
	ev_timer timer;
	bool timer_on, done, clip_ok;
	struct ctl_key keys[64];
	int nkeys;
	int x, y, button;
	const char *text;
	char *owned_text;
	size_t text_len;
	/* wait-for-change */
	bool region;
	int rx, ry, rw, rh;
	uint8_t *ref;
	int ref_w, ref_h;
	double t_ref;
};

static void iv_timer_stop(struct iv *v)
{
	if (v->timer_on)
		ev_timer_stop(ctl_run_loop(v->r), &v->timer);
	v->timer_on = false;
}

static void iv_finish(struct iv *v)
{
	if (v->done)
		return;
	v->done = true;
	iv_timer_stop(v);
	ctl_run_finish(v->r);
}

static void iv_timer_start(struct iv *v, double secs)
{
	iv_timer_stop(v);
	ev_timer_set(&v->timer, secs, 0);
	ev_timer_start(ctl_run_loop(v->r), &v->timer);
	v->timer_on = true;
}

/* A mouse event at the verb's point. */
static int iv_mouse(struct iv *v, int type, int button)
{
	struct ctl_input_msg im;
	return ctl_session_send(v->s, ctl_input_mouse(&im, type, button, v->x, v->y, NULL, 0));
}

/* The agent said what it allows (or we stopped waiting): do the verb. */
static void iv_act(struct iv *v)
{
	struct ctl_input_msg im;
	int rc = RD_OK;
	switch (v->kind) {
	case IV_TYPE:
		rc = ctl_session_send(v->s, ctl_input_text(&im, v->text));
		break;
	case IV_KEY:
		for (int i = 0; i < v->nkeys && rc == RD_OK; i++)
			rc = ctl_session_send(v->s, ctl_input_key(&im, &v->keys[i], true, true));
		break;
	case IV_CLICK:
		rc = iv_mouse(v, CTL_MOUSE_MOVE, 0);
		for (int i = 0; i < (v->c->vs.dbl ? 2 : 1) && rc == RD_OK; i++) {
			rc = iv_mouse(v, CTL_MOUSE_DOWN, v->button);
			if (rc == RD_OK)
				rc = iv_mouse(v, CTL_MOUSE_UP, v->button);
		}
		break;
	case IV_MOVE:
		rc = iv_mouse(v, CTL_MOUSE_MOVE, 0);
		break;
	case IV_CLIP_SET:
		rc = ctl_session_send(v->s, ctl_input_clipboard(&im, v->text, v->text_len));
		break;
	case IV_CLIP_GET:
		iv_timer_start(v, CLIP_WAIT_SECS);
		return;
	case IV_WAIT:
		return;
	}
	if (rc != RD_OK)
		ctl_result_fail(&v->c->res, CTL_EXIT_FAIL, "send_failed", "cannot send to %s: %s",
			v->c->id, rd_strerror(rc));
	iv_finish(v);
}

static void iv_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct iv *v = w->data;
	(void)loop;
	(void)revents;
	v->timer_on = false;
	switch (v->kind) {
	case IV_CLIP_GET:
		ctl_result_fail(&v->c->res, CTL_EXIT_TIMEOUT, "timeout", "%s sent no clipboard text "
			"within %.0f s", v->c->id, CLIP_WAIT_SECS);
		iv_finish(v);
		break;
	case IV_WAIT:
		ctl_result_fail(&v->c->res, CTL_EXIT_TIMEOUT, "timeout", "the screen of %s did not "
			"change within %.1f s", v->c->id, v->c->vs.wait);
		iv_finish(v);
		break;
	default:
		/* An agent that does not say what it allows: go ahead. */
		iv_act(v);
		break;
	}
}

static void iv_on_ready(struct ctl_sink *k, struct ctl_session *s, int w, int h)
{
	struct iv *v = (struct iv *)k;
	(void)w;
	(void)h;
	v->r = k->run;
	v->s = s;
	ev_timer_init(&v->timer, iv_on_timer, PERM_WAIT_SECS, 0);
	v->timer.data = v;
	if (v->kind != IV_WAIT)
		iv_timer_start(v, PERM_WAIT_SECS);
}

static void iv_clip_text(struct iv *v, const Hbb__Clipboard *cb)
{
	size_t len = cb->content.len, shown = len;
	if (cb->format != HBB__CLIPBOARD_FORMAT__Text || cb->compress)
		return;
	if (v->c->set.json) {
		/* The JSON result holds a bounded excerpt; long text goes out in text mode. */
		if (shown > 1200)
			shown = 1200;
		struct rd_json *j = &v->c->res.extra;
		rd_json_strn(j, "text", (const char *)cb->content.data, shown);
		rd_json_uint(j, "bytes", len);
		rd_json_bool(j, "truncated", shown < len);
	} else if (len) {
		fwrite(cb->content.data, 1, len, stdout);
		fflush(stdout);
	}
	iv_finish(v);
}

static void iv_on_message(struct ctl_sink *k, const Hbb__Message *m)
{
	struct iv *v = (struct iv *)k;
	if (v->done)
		return;
	if (m->union_case == HBB__MESSAGE__UNION_CLIPBOARD && v->kind == IV_CLIP_GET && v->clip_ok) {
		iv_clip_text(v, m->clipboard);
		return;
	}
	if (m->union_case != HBB__MESSAGE__UNION_MISC || !m->misc ||
	    m->misc->union_case != HBB__MISC__UNION_PERMISSION_INFO || !m->misc->permission_info)
		return;
	const Hbb__PermissionInfo *pi = m->misc->permission_info;
	if (pi->permission == HBB__PERMISSION_INFO__PERMISSION__Clipboard) {
		v->clip_ok = pi->enabled;
		return;
	}
	if (pi->permission != HBB__PERMISSION_INFO__PERMISSION__Keyboard || v->kind == IV_WAIT)
		return;
	bool clip = v->kind == IV_CLIP_GET || v->kind == IV_CLIP_SET;
	if (clip && !v->clip_ok) {
		ctl_result_fail(&v->c->res, CTL_EXIT_FAIL, "no_clipboard", "%s has no clipboard to %s "
			"(a console has none, or the host is view-only)", v->c->id,
			v->kind == IV_CLIP_GET ? "read" : "set");
		iv_finish(v);
		return;
	}
	if (!clip && !pi->enabled) {
		ctl_result_fail(&v->c->res, CTL_EXIT_FAIL, "input_refused", "%s refuses keyboard and "
			"mouse input (view-only, or no input backend on the host)", v->c->id);
		iv_finish(v);
		return;
	}
	iv_timer_stop(v);
	iv_act(v);
}

static void iv_on_frame(struct ctl_sink *k, const AVFrame *f)
{
	struct iv *v = (struct iv *)k;
	if (v->done)
		return;
	if (!v->ref) {
		v->ref_w = f->width;
		v->ref_h = f->height;
		v->ref = xmalloc((size_t)f->width * (size_t)f->height);
		for (int y = 0; y < f->height; y++)
			memcpy(v->ref + (size_t)y * (size_t)f->width, f->data[0] + (size_t)y * (size_t)f->linesize[0],
				(size_t)f->width);
		if (!v->region) {
			v->rx = v->ry = 0;
			v->rw = f->width;
			v->rh = f->height;
		}
		if (v->rx >= f->width || v->ry >= f->height) {
			ctl_result_fail(&v->c->res, CTL_EXIT_USAGE, "usage", "--region lies outside the "
				"%dx%d screen", f->width, f->height);
			iv_finish(v);
			return;
		}
		if (v->rx + v->rw > f->width)
			v->rw = f->width - v->rx;
		if (v->ry + v->rh > f->height)
			v->rh = f->height - v->ry;
		v->t_ref = rd_now();
		iv_timer_start(v, v->c->vs.wait);
		log_info("reference frame %dx%d, watching %d,%d %dx%d", f->width, f->height, v->rx, v->ry,
			v->rw, v->rh);
		return;
	}
	bool changed = f->width != v->ref_w || f->height != v->ref_h ||
		ctl_input_region_changed(v->ref, v->ref_w, f->data[0], f->linesize[0], v->rx, v->ry, v->rw,
			v->rh, 24, 0.0005);
	if (!changed)
		return;
	struct rd_json *j = &v->c->res.extra;
	rd_json_bool(j, "changed", true);
	rd_json_num(j, "after_ms", (rd_now() - v->t_ref) * 1000.0, 1);
	rd_json_arr(j, "region");
	rd_json_int(j, NULL, v->rx);
	rd_json_int(j, NULL, v->ry);
	rd_json_int(j, NULL, v->rw);
	rd_json_int(j, NULL, v->rh);
	rd_json_end(j, ']');
	snprintf(v->c->res.extra_text, sizeof(v->c->res.extra_text), "changed after %.1f ms\n",
		(rd_now() - v->t_ref) * 1000.0);
	iv_finish(v);
}

/* The run is over: nothing of the verb stays on the loop. */
static void iv_free(struct ctl_sink *k)
{
	struct iv *v = (struct iv *)k;
	iv_timer_stop(v);
	free(v->ref);
	v->ref = NULL;
	free(v->owned_text);
	v->owned_text = NULL;
}

/* Input verbs send once the agent says what it allows; wait-for-change
 * also watches the decoded picture. */
static const struct ctl_sink_ops iv_ops = {
	.flags = CTL_SINK_GOODBYE, .open = iv_on_ready, .message = iv_on_message, .free = iv_free,
};
static const struct ctl_sink_ops iv_wait_ops = {
	.flags = CTL_SINK_GOODBYE, .open = iv_on_ready, .message = iv_on_message,
	.frame = iv_on_frame, .free = iv_free,
};

static int iv_run(struct ctl *c, struct iv *v)
{
	struct ctl_run_opts o = { .sink = &v->base };
	v->base.ops = v->kind == IV_WAIT ? &iv_wait_ops : &iv_ops;
	ctl_run(c, &o, &c->res, NULL);
	return ctl_result_print(&c->res, c->set.json, c->set.verbose);
}

static int usage(struct ctl *c, const char *msg)
{
	ctl_result_fail(&c->res, CTL_EXIT_USAGE, "usage", "%s", msg);
	return ctl_result_print(&c->res, c->set.json, c->set.verbose);
}

static bool parse_xy(struct ctl *c, struct iv *v)
{
	char *e1, *e2;
	long x = strtol(c->pos[1], &e1, 10), y = strtol(c->pos[2], &e2, 10);
	if (*e1 || *e2 || !*c->pos[1] || !*c->pos[2] || x < 0 || y < 0 || x > 65535 || y > 65535)
		return false;
	v->x = (int)x;
	v->y = (int)y;
	return true;
}

int ctl_verb_type(struct ctl *c)
{
	struct iv v = { .c = c, .kind = IV_TYPE, .text = c->pos[1] };
	if (strlen(v.text) > 4096)
		return usage(c, "type takes at most 4096 bytes of text");
	return iv_run(c, &v);
}

int ctl_verb_key(struct ctl *c)
{
	struct iv v = { .c = c, .kind = IV_KEY };
	char msg[200];
	for (int i = 1; i < c->npos && v.nkeys < 64; i++) {
		if (ctl_keymap_parse_combo(c->pos[i], &v.keys[v.nkeys++]) != RD_OK) {
			snprintf(msg, sizeof(msg), "not a key combination: '%.60s' (e.g. ctrl+alt+f2, Return, "
				"shift+Tab, a)", c->pos[i]);
			return usage(c, msg);
		}
	}
	return iv_run(c, &v);
}

int ctl_verb_click(struct ctl *c)
{
	struct iv v = { .c = c, .kind = IV_CLICK };
	const char *b = c->vs.button ? c->vs.button : "left";
	if (!parse_xy(c, &v))
		return usage(c, "click takes X Y as whole numbers of remote pixels");
	v.button = !strcmp(b, "left") ? CTL_BTN_LEFT : !strcmp(b, "right") ? CTL_BTN_RIGHT
		: !strcmp(b, "middle") ? CTL_BTN_MIDDLE : 0;
	if (!v.button)
		return usage(c, "--button takes left, middle or right");
	return iv_run(c, &v);
}

int ctl_verb_move(struct ctl *c)
{
	struct iv v = { .c = c, .kind = IV_MOVE };
	if (!parse_xy(c, &v))
		return usage(c, "move takes X Y as whole numbers of remote pixels");
	return iv_run(c, &v);
}

static char *read_stdin(size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = xmalloc(cap);
	size_t got;
	while ((got = fread(b + n, 1, cap - n, stdin)) > 0) {
		n += got;
		if (n > CLIP_READ_MAX) {
			free(b);
			return NULL;
		}
		if (n == cap) {
			cap *= 2;
			char *nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return NULL;
			}
			b = nb;
		}
	}
	*len = n;
	return b;
}

int ctl_verb_clipboard(struct ctl *c)
{
	struct iv v = { .c = c };
	const char *op = c->pos[1];
	if (!strcmp(op, "get")) {
		if (c->npos != 2)
			return usage(c, "clipboard get takes no text");
		v.kind = IV_CLIP_GET;
	} else if (!strcmp(op, "set")) {
		v.kind = IV_CLIP_SET;
		if (c->npos == 3) {
			v.text = c->pos[2];
			v.text_len = strlen(v.text);
		} else if (!(v.owned_text = read_stdin(&v.text_len))) {
			return usage(c, "clipboard set: standard input is over 4 MiB or unreadable");
		} else {
			v.text = v.owned_text;
		}
	} else {
		return usage(c, "clipboard takes get or set");
	}
	return iv_run(c, &v);
}

int ctl_verb_wait_for_change(struct ctl *c)
{
	struct iv v = { .c = c, .kind = IV_WAIT };
	if (c->vs.region) {
		if (ctl_input_parse_region(c->vs.region, &v.rx, &v.ry, &v.rw, &v.rh) != RD_OK)
			return usage(c, "--region takes X,Y,W,H (W and H above zero)");
		v.region = true;
	}
	return iv_run(c, &v);
}

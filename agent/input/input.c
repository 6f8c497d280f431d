/* input: backend choice and the per-session layer (see input.h). */
#define RD_LOG_SUBSYS "input"
#include "input.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "util.h"

static int input__try(const struct input_ops *ops, const struct input_config *cfg, struct input **out)
{
	rd_skip_reason_clear();
	int rc = ops->open(cfg, out);
	if (rc == RD_OK) {
		(*out)->ops = ops;
		log_notice("input backend %s", ops->name);
		return rc;
	}
	log_info("input backend %s skipped: %s", ops->name, rd_skip_reason_or(rc));
	return rc;
}

int input_open(const struct input_config *cfg, struct input **out)
{
	const char *b = cfg->backend ? cfg->backend : "auto";
	*out = NULL;
	if (!strcmp(b, "none")) {
		log_notice("input disabled by configuration ([input] backend = none)");
		return RD_ERR_UNSUPPORTED;
	}
	if (!strcmp(b, "xdo"))
		return input__try(&input_xdo_ops, cfg, out);
	if (!strcmp(b, "uinput"))
		return input__try(&input_uinput_ops, cfg, out);
	if (strcmp(b, "auto") != 0)
		return RD_ERR_CONFIG;
	/* Match the capture backend: X11 capture means an X server takes XTest. */
	bool x11 = cfg->capture && !strcmp(cfg->capture, "x11");
	const struct input_ops *order[2] = { x11 ? &input_xdo_ops : &input_uinput_ops,
		x11 ? &input_uinput_ops : &input_xdo_ops };
	struct input_config c = *cfg;
	c.probing = true;
	int rc = RD_ERR_UNSUPPORTED;
	for (size_t i = 0; i < 2; i++)
		if ((rc = input__try(order[i], &c, out)) == RD_OK)
			return rc;
	log_warn("no input backend works here; remote input is refused");
	return rc;
}

void input_close(struct input *in)
{
	if (in)
		in->ops->close(in);
}

const char *input_name(const struct input *in)
{
	return in ? in->ops->name : "none";
}

int input_scale(int v, int src, int dst_max)
{
	if (src <= 1 || dst_max <= 0)
		return v < 0 ? 0 : v > dst_max ? dst_max : v;
	if (v < 0)
		v = 0;
	if (v > src - 1)
		v = src - 1;
	return (int)(((int64_t)v * dst_max + (src - 1) / 2) / (src - 1));
}

/* ---- per-session layer ---- */

struct held_key {
	enum input_key_kind kind;
	uint32_t code;
	/* modifiers pressed on this key's behalf, released with it */
	uint32_t implied[4];
	int n_implied;
};

struct input_client {
	struct input *in;
	char peer[64];
	int disp_w, disp_h;
	struct held_key held[RD_INPUT_MAX_HELD];
	int nheld;
	unsigned buttons;          /* RD_INPUT_BTN_* held */
	uint64_t events, refused;
	bool warned;
	bool warned_size;
};

struct input_client *input_client_new(struct input *in, const char *peer)
{
	struct input_client *c = xcalloc(1, sizeof(*c));
	c->in = in;
	rd_strlcpy(c->peer, peer ? peer : "", sizeof(c->peer));
	return c;
}

void input_client_release_all(struct input_client *c)
{
	if (!c || !c->in)
		return;
	unsigned n = (unsigned)c->nheld;
	for (int i = c->nheld - 1; i >= 0; i--) {
		struct held_key *h = &c->held[i];
		c->in->ops->key(c->in, h->kind, h->code, false);
		for (int j = h->n_implied - 1; j >= 0; j--)
			c->in->ops->key(c->in, RD_INPUT_KEY_CONTROL, h->implied[j], false);
	}
	c->nheld = 0;
	for (unsigned b = 1; b <= RD_INPUT_BTN_FORWARD; b <<= 1)
		if (c->buttons & b) {
			c->in->ops->button(c->in, (enum input_button)b, false);
			n++;
		}
	c->buttons = 0;
	if (c->in->ops->flush)
		c->in->ops->flush(c->in);
	if (n)
		log_info("%s: released %u held keys and buttons", c->peer, n);
}

void input_client_free(struct input_client *c)
{
	if (!c)
		return;
	input_client_release_all(c);
	free(c);
}

void input_client_set_display(struct input_client *c, int width, int height)
{
	c->disp_w = width;
	c->disp_h = height;
}

uint64_t input_client_events(const struct input_client *c) { return c->events; }
unsigned input_client_held(const struct input_client *c)
{
	unsigned n = (unsigned)c->nheld;
	for (unsigned b = 1; b <= RD_INPUT_BTN_FORWARD; b <<= 1)
		n += !!(c->buttons & b);
	return n;
}

static int client__refuse(struct input_client *c, int rc)
{
	c->refused++;
	if (!c->warned) {
		c->warned = true;
		log_warn("%s: input refused: %s", c->peer, c->in ? rd_strerror(rc)
			: "no input backend on this host");
	}
	return rc;
}

/* End of one event: push it out, then count it or refuse it. */
static int client__done(struct input_client *c, int rc)
{
	if (c->in->ops->flush)
		c->in->ops->flush(c->in);
	if (rc != RD_OK)
		return client__refuse(c, rc);
	c->events++;
	return RD_OK;
}

static bool is_modifier(uint32_t ck)
{
	switch (ck) {
	case HBB__CONTROL_KEY__Alt: case HBB__CONTROL_KEY__Control: case HBB__CONTROL_KEY__Shift:
	case HBB__CONTROL_KEY__Meta: case HBB__CONTROL_KEY__RShift: case HBB__CONTROL_KEY__RControl:
	case HBB__CONTROL_KEY__RAlt: case HBB__CONTROL_KEY__RWin:
		return true;
	default:
		return false;
	}
}

static int client__find(struct input_client *c, enum input_key_kind kind, uint32_t code)
{
	for (int i = 0; i < c->nheld; i++)
		if (c->held[i].kind == kind && c->held[i].code == code)
			return i;
	return -1;
}

/* Is this modifier held by the client, alone or on behalf of a held key? */
static bool client__mod_held(struct input_client *c, uint32_t ck)
{
	if (client__find(c, RD_INPUT_KEY_CONTROL, ck) >= 0)
		return true;
	for (int i = 0; i < c->nheld; i++)
		for (int j = 0; j < c->held[i].n_implied; j++)
			if (c->held[i].implied[j] == ck)
				return true;
	return false;
}

/* Press the listed modifiers that are not held yet; returns how many went down. */
static int client__mods_down(struct input_client *c, const Hbb__KeyEvent *e, uint32_t *out, int max)
{
	int n = 0;
	for (size_t i = 0; i < e->n_modifiers && n < max; i++) {
		uint32_t m = (uint32_t)e->modifiers[i];
		if (!is_modifier(m) || client__mod_held(c, m))
			continue;
		bool dup = false;
		for (int j = 0; j < n; j++)
			dup |= out[j] == m;
		if (dup)
			continue;
		if (c->in->ops->key(c->in, RD_INPUT_KEY_CONTROL, m, true) == RD_OK)
			out[n++] = m;
	}
	return n;
}

static void client__mods_up(struct input_client *c, const uint32_t *mods, int n)
{
	for (int i = n - 1; i >= 0; i--)
		c->in->ops->key(c->in, RD_INPUT_KEY_CONTROL, mods[i], false);
}

static int client__key_down(struct input_client *c, const Hbb__KeyEvent *e, enum input_key_kind kind,
	uint32_t code)
{
	if (client__find(c, kind, code) >= 0)
		return RD_OK; /* auto-repeat from the controller: the key is down already */
	if (c->nheld >= RD_INPUT_MAX_HELD)
		return RD_ERR_LIMIT;
	struct held_key *h = &c->held[c->nheld];
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->code = code;
	h->n_implied = client__mods_down(c, e, h->implied, 4);
	int rc = c->in->ops->key(c->in, kind, code, true);
	if (rc != RD_OK) {
		client__mods_up(c, h->implied, h->n_implied);
		return rc;
	}
	c->nheld++;
	return RD_OK;
}

static int client__key_up(struct input_client *c, enum input_key_kind kind, uint32_t code)
{
	int i = client__find(c, kind, code);
	int rc = c->in->ops->key(c->in, kind, code, false);
	if (i < 0)
		return rc;
	struct held_key h = c->held[i];
	memmove(&c->held[i], &c->held[i + 1], (size_t)(c->nheld - i - 1) * sizeof(c->held[0]));
	c->nheld--;
	client__mods_up(c, h.implied, h.n_implied);
	return rc;
}

static int client__key_press(struct input_client *c, const Hbb__KeyEvent *e, enum input_key_kind kind,
	uint32_t code)
{
	uint32_t mods[4];
	int n = client__mods_down(c, e, mods, 4);
	int rc = c->in->ops->key(c->in, kind, code, true);
	if (rc == RD_OK)
		rc = c->in->ops->key(c->in, kind, code, false);
	client__mods_up(c, mods, n);
	return rc;
}

int input_client_key(struct input_client *c, const Hbb__KeyEvent *e)
{
	enum input_key_kind kind;
	uint32_t code;
	if (!c->in)
		return client__refuse(c, RD_ERR_UNSUPPORTED);
	switch (e->union_case) {
	case HBB__KEY_EVENT__UNION_SEQ: {
		size_t len = e->seq ? strlen(e->seq) : 0;
		if (len > RD_INPUT_TEXT_MAX)
			return client__refuse(c, RD_ERR_TOOBIG);
		int rc = c->in->ops->text(c->in, e->seq ? e->seq : "", len);
		return client__done(c, rc);
	}
	case HBB__KEY_EVENT__UNION_CONTROL_KEY:
		kind = RD_INPUT_KEY_CONTROL;
		code = (uint32_t)e->control_key;
		break;
	case HBB__KEY_EVENT__UNION_UNICODE:
		kind = RD_INPUT_KEY_CHAR;
		code = e->unicode;
		break;
	case HBB__KEY_EVENT__UNION_CHR:
		/* Map mode: the controlled side's native code (X11 keycode on Linux);
		 * Legacy and Translate: a character code. */
		kind = e->mode == HBB__KEYBOARD_MODE__Map ? RD_INPUT_KEY_CODE : RD_INPUT_KEY_CHAR;
		code = e->chr;
		break;
	default:
		return client__refuse(c, RD_ERR_UNSUPPORTED);
	}
	int rc;
	if (e->press)
		rc = client__key_press(c, e, kind, code);
	else if (e->down)
		rc = client__key_down(c, e, kind, code);
	else
		rc = client__key_up(c, kind, code);
	return client__done(c, rc);
}

int input_client_mouse(struct input_client *c, const Hbb__MouseEvent *e)
{
	if (!c->in)
		return client__refuse(c, RD_ERR_UNSUPPORTED);
	int type = e->mask & 7;
	unsigned buttons = ((unsigned)e->mask >> 3) & 31;
	int rc = RD_OK;
	switch (type) {
	case 0: /* move */
	case 1: /* down */
	case 2: /* up */
		/* Without the captured size (capture not open yet, or failed) a
		 * backend that works in the screen's pixels takes them as they are;
		 * a device scale cannot be guessed, and the move is dropped. */
		if (c->disp_w > 0 && c->disp_h > 0)
			rc = c->in->ops->move(c->in, input_scale(e->x, c->disp_w, c->in->max_x),
				input_scale(e->y, c->disp_h, c->in->max_y));
		else if (c->in->pixels)
			rc = c->in->ops->move(c->in, input_scale(e->x, 0, c->in->max_x),
				input_scale(e->y, 0, c->in->max_y));
		else if (!c->warned_size) {
			c->warned_size = true;
			log_warn("%s: pointer moves dropped until the screen size is known", c->peer);
		}
		for (unsigned b = 1; rc == RD_OK && type && b <= RD_INPUT_BTN_FORWARD; b <<= 1) {
			if (!(buttons & b))
				continue;
			rc = c->in->ops->button(c->in, (enum input_button)b, type == 1);
			if (type == 1)
				c->buttons |= b;
			else
				c->buttons &= ~b;
		}
		break;
	case 3: { /* wheel: deltas, clamped to a sane number of clicks */
		int dx = e->x > 20 ? 20 : e->x < -20 ? -20 : e->x;
		int dy = e->y > 20 ? 20 : e->y < -20 ? -20 : e->y;
		rc = c->in->ops->wheel(c->in, dx, dy);
		break;
	}
	default:
		rc = RD_ERR_UNSUPPORTED; /* trackpad and relative moves are not offered */
		break;
	}
	return client__done(c, rc);
}

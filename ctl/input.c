/* input: see input.h. */
#include "input.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

Hbb__Message *ctl_input_key(struct ctl_input_msg *msg, const struct ctl_key *k, bool press,
	bool down)
{
	Hbb__KeyEvent *e = &msg->u.key;
	int n = k->nmods < CTL_KEY_MAX_MODS ? k->nmods : CTL_KEY_MAX_MODS;
	hbb__key_event__init(e);
	for (int i = 0; i < n; i++)
		msg->mods[i] = (Hbb__ControlKey)k->mods[i];
	e->press = press;
	e->down = press || down;
	e->mode = HBB__KEYBOARD_MODE__Legacy;
	if (k->control) {
		e->union_case = HBB__KEY_EVENT__UNION_CONTROL_KEY;
		e->control_key = (Hbb__ControlKey)k->control;
	} else {
		e->union_case = HBB__KEY_EVENT__UNION_UNICODE;
		e->unicode = k->chr;
	}
	e->n_modifiers = (size_t)(n > 0 ? n : 0);
	e->modifiers = msg->mods;
	hbb__message__init(&msg->m);
	msg->m.union_case = HBB__MESSAGE__UNION_KEY_EVENT;
	msg->m.key_event = e;
	return &msg->m;
}

Hbb__Message *ctl_input_text(struct ctl_input_msg *msg, const char *utf8)
{
	Hbb__KeyEvent *e = &msg->u.key;
	hbb__key_event__init(e);
	e->press = true;
	e->mode = HBB__KEYBOARD_MODE__Translate;
	e->union_case = HBB__KEY_EVENT__UNION_SEQ;
	e->seq = (char *)utf8;
	hbb__message__init(&msg->m);
	msg->m.union_case = HBB__MESSAGE__UNION_KEY_EVENT;
	msg->m.key_event = e;
	return &msg->m;
}

Hbb__Message *ctl_input_mouse(struct ctl_input_msg *msg, int type, int buttons, int x, int y,
	const int *mods, int nmods)
{
	Hbb__MouseEvent *e = &msg->u.mouse;
	int n = nmods < CTL_KEY_MAX_MODS ? nmods : CTL_KEY_MAX_MODS;
	hbb__mouse_event__init(e);
	for (int i = 0; i < n; i++)
		msg->mods[i] = (Hbb__ControlKey)mods[i];
	e->mask = (buttons << 3) | type;
	e->x = x;
	e->y = y;
	e->n_modifiers = (size_t)(n > 0 ? n : 0);
	e->modifiers = msg->mods;
	hbb__message__init(&msg->m);
	msg->m.union_case = HBB__MESSAGE__UNION_MOUSE_EVENT;
	msg->m.mouse_event = e;
	return &msg->m;
}

Hbb__Message *ctl_input_clipboard(struct ctl_input_msg *msg, const char *text, size_t len)
{
	Hbb__Clipboard *c = &msg->u.clip;
	hbb__clipboard__init(c);
	c->content.data = (uint8_t *)text;
	c->content.len = len;
	c->format = HBB__CLIPBOARD_FORMAT__Text;
	hbb__message__init(&msg->m);
	msg->m.union_case = HBB__MESSAGE__UNION_CLIPBOARD;
	msg->m.clipboard = c;
	return &msg->m;
}

int ctl_input_parse_region(const char *s, int *x, int *y, int *w, int *h)
{
	char tail;
	if (!s || sscanf(s, "%d,%d,%d,%d%c", x, y, w, h, &tail) != 4)
		return RD_ERR_INVAL;
	if (*x < 0 || *y < 0 || *w <= 0 || *h <= 0 || *x > 65535 || *y > 65535 || *w > 65535 || *h > 65535)
		return RD_ERR_INVAL;
	return RD_OK;
}

bool ctl_input_region_changed(const uint8_t *a, int astride, const uint8_t *b, int bstride,
	int x, int y, int w, int h, int level, double share)
{
	long n = 0, total = (long)w * h;
	for (int r = y; r < y + h; r++) {
		const uint8_t *pa = a + (size_t)r * (size_t)astride + x;
		const uint8_t *pb = b + (size_t)r * (size_t)bstride + x;
		for (int i = 0; i < w; i++) {
			int d = pa[i] - pb[i];
			n += d > level || d < -level;
		}
	}
	return n >= 4 && (double)n > share * (double)total;
}


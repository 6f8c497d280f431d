/* mpv_event: the I/O-free half of mpv_input (see mpv_input.h): reading one
 * JSON line of mpv's IPC into a ctl_mpv_event, and mapping window points to
 * remote pixels. The fuzzer drives it directly. */
#include "mpv_input.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

/* ---- a small JSON reader for mpv's event lines ---- */

#define JSON_DEPTH 16

struct jp {
	const char *p, *end;
	int depth;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(char *out, size_t outsz, size_t *o, unsigned cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) { b[0] = (char)cp; n = 1; }
	else if (cp < 0x800) { b[0] = (char)(0xc0 | (cp >> 6)); b[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
	else if (cp < 0x10000) { b[0] = (char)(0xe0 | (cp >> 12)); b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
	else { b[0] = (char)(0xf0 | (cp >> 18)); b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); b[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
	if (*o + n < outsz) {
		memcpy(out + *o, b, n);
		*o += n;
	}
}

/* A string into out (NUL-terminated, cut to fit; out may be NULL to skip). */
static int jstring(struct jp *j, char *out, size_t outsz)
{
	size_t o = 0;
	if (j->p >= j->end || *j->p != '"')
		return RD_ERR_PROTO;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p++;
		if (c < 0x20)
			return RD_ERR_PROTO;
		if (c != '\\') {
			if (out && o + 1 < outsz)
				out[o++] = (char)c;
			continue;
		}
		if (j->p >= j->end)
			return RD_ERR_PROTO;
		char e = *j->p++;
		unsigned cp;
		switch (e) {
		case '"': case '\\': case '/': cp = (unsigned char)e; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (j->end - j->p < 4 || hex4(j->p, &cp))
				return RD_ERR_PROTO;
			j->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				unsigned lo;
				if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return RD_ERR_PROTO;
				j->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return RD_ERR_PROTO;
			}
			break;
		default:
			return RD_ERR_PROTO;
		}
		if (out)
			put_utf8(out, outsz, &o, cp);
	}
	if (j->p >= j->end)
		return RD_ERR_PROTO;
	j->p++;
	if (out && outsz)
		out[o] = '\0';
	return RD_OK;
}

static int jnumber(struct jp *j, double *out)
{
	char buf[64];
	size_t n = 0;
	while (j->p < j->end && n + 1 < sizeof(buf) && strchr("+-0123456789.eE", *j->p) && *j->p)
		buf[n++] = *j->p++;
	buf[n] = '\0';
	if (n == 0)
		return RD_ERR_PROTO;
	char *e;
	double v = strtod(buf, &e);
	if (*e || !isfinite(v))
		return RD_ERR_PROTO;
	*out = v;
	return RD_OK;
}

static int jvalue(struct jp *j);

static int jword(struct jp *j, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return RD_ERR_PROTO;
	j->p += n;
	return RD_OK;
}

/* Walk an object or array; each member or element goes to fn (NULL = skip). */
typedef int (*member_fn)(struct jp *j, const char *key, void *ud);

static int jcontainer(struct jp *j, bool object, member_fn fn, void *ud)
{
	char key[32];
	if (++j->depth > JSON_DEPTH)
		return RD_ERR_PROTO;
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == (object ? '}' : ']')) {
		j->p++;
		j->depth--;
		return RD_OK;
	}
	for (;;) {
		ws(j);
		if (object) {
			if (jstring(j, key, sizeof(key)) != RD_OK)
				return RD_ERR_PROTO;
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				return RD_ERR_PROTO;
			j->p++;
			ws(j);
		}
		if (j->p >= j->end)
			return RD_ERR_PROTO;
		int rc = fn ? fn(j, object ? key : NULL, ud) : jvalue(j);
		if (rc != RD_OK)
			return rc;
		ws(j);
		if (j->p >= j->end)
			return RD_ERR_PROTO;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p != (object ? '}' : ']'))
			return RD_ERR_PROTO;
		j->p++;
		j->depth--;
		return RD_OK;
	}
}

static int jvalue(struct jp *j)
{
	double d;
	ws(j);
	if (j->p >= j->end)
		return RD_ERR_PROTO;
	switch (*j->p) {
	case '{': return jcontainer(j, true, NULL, NULL);
	case '[': return jcontainer(j, false, NULL, NULL);
	case '"': return jstring(j, NULL, 0);
	case 't': return jword(j, "true");
	case 'f': return jword(j, "false");
	case 'n': return jword(j, "null");
	default: return jnumber(j, &d);
	}
}

struct parse_state {
	struct ctl_mpv_event *ev;
	char event[32];
	char name[32];
	bool have_osd;
	int osd_fields;
};

static int on_arg(struct jp *j, const char *key, void *ud)
{
	struct parse_state *st = ud;
	(void)key;
	if (*j->p != '"' || st->ev->nargs >= CTL_MPV_MAX_ARGS)
		return jvalue(j);
	return jstring(j, st->ev->args[st->ev->nargs++], CTL_MPV_ARG_MAX);
}

static int on_osd(struct jp *j, const char *key, void *ud)
{
	struct parse_state *st = ud;
	static const char *const names[] = { "w", "h", "ml", "mr", "mt", "mb" };
	int *fields[] = { &st->ev->osd.w, &st->ev->osd.h, &st->ev->osd.ml, &st->ev->osd.mr,
		&st->ev->osd.mt, &st->ev->osd.mb };
	for (size_t i = 0; i < RD_ARRAY_LEN(names); i++) {
		if (strcmp(key, names[i]) != 0)
			continue;
		double d;
		if (jnumber(j, &d) != RD_OK || d < 0 || d > 1e5)
			return RD_ERR_PROTO;
		*fields[i] = (int)d;
		st->osd_fields |= 1 << i;
		return RD_OK;
	}
	return jvalue(j);
}

static int on_top(struct jp *j, const char *key, void *ud)
{
	struct parse_state *st = ud;
	if (!strcmp(key, "event") && *j->p == '"')
		return jstring(j, st->event, sizeof(st->event));
	if (!strcmp(key, "name") && *j->p == '"')
		return jstring(j, st->name, sizeof(st->name));
	if (!strcmp(key, "args") && *j->p == '[')
		return jcontainer(j, false, on_arg, st);
	if (!strcmp(key, "data") && *j->p == '{') {
		st->have_osd = true;
		return jcontainer(j, true, on_osd, st);
	}
	return jvalue(j);
}

int ctl_mpv_parse_event(const char *line, size_t len, struct ctl_mpv_event *out)
{
	struct jp j = { line, line + len, 0 };
	struct parse_state st = { .ev = out };
	memset(out, 0, sizeof(*out));
	ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return RD_ERR_PROTO;
	int rc = jcontainer(&j, true, on_top, &st);
	ws(&j);
	if (rc != RD_OK || j.p != j.end) {
		memset(out, 0, sizeof(*out));
		return RD_ERR_PROTO;
	}
	if (!strcmp(st.event, "client-message"))
		out->kind = CTL_MPV_MESSAGE;
	else if (!strcmp(st.event, "property-change") && !strcmp(st.name, "osd-dimensions") &&
	    st.have_osd && (st.osd_fields & 3) == 3)
		out->kind = CTL_MPV_OSD;
	return RD_OK;
}

bool ctl_mpv_map(const struct ctl_mpv_osd *osd, int rw, int rh, int wx, int wy, int *rx, int *ry)
{
	int vw = osd->w - osd->ml - osd->mr, vh = osd->h - osd->mt - osd->mb;
	if (vw <= 0 || vh <= 0 || rw <= 0 || rh <= 0)
		return false;
	long x = ((long)(wx - osd->ml) * rw) / vw, y = ((long)(wy - osd->mt) * rh) / vh;
	*rx = (int)(x < 0 ? 0 : x >= rw ? rw - 1 : x);
	*ry = (int)(y < 0 ? 0 : y >= rh ? rh - 1 : y);
	return true;
}

/* metrics: Prometheus text exposition and its HTTP/1.0 endpoint. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "err.h"
#include "metrics.h"
#include "util.h"

#define RD_LOG_SUBSYS "metrics"
#include "log.h"

struct rd_metric {
	struct rd_metric_family *fam;
	char *labels;                 /* NULL or k="v",... */
	double value;
	double (*fn)(void *ud);
	void *ud;
	struct rd_metric *next;       /* within the family, registration order */
};

struct rd_metric_family {
	char *name;
	char *help;
	enum rd_metric_type type;
	struct rd_metric *first, *last;
	struct rd_metric_family *next;
};

struct metrics_client {
	struct rd_metrics *owner;
	int fd;
	ev_io io;
	ev_timer deadline;
	char req[RD_METRICS_REQ_MAX];
	size_t req_len;
	struct rd_buf out;
	bool responding;
	bool draining;                /* response sent: discard input until EOF */
	bool dead;                    /* waiting to be reaped */
	struct metrics_client *next;
};

struct rd_metrics {
	struct rd_metric_family *first, *last;
	struct ev_loop *loop;
	int lfd;
	ev_io accept_io;
	ev_idle reaper;
	struct metrics_client *clients;
	unsigned nclients;
	double timeout;
	bool (*health)(void *ud, char *msg, size_t msgsz);
	void *health_ud;
};

struct rd_metrics *rd_metrics_new(void)
{
	struct rd_metrics *m = xcalloc(1, sizeof(*m));
	m->lfd = -1;
	m->timeout = RD_METRICS_TIMEOUT;
	return m;
}

static bool name_valid(const char *s)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* k="v"(,k="v")*: names valid, values without '"', '\\' or control characters. */
static bool labels_valid(const char *s)
{
	const char *p = s;
	for (;;) {
		const char *eq = strchr(p, '=');
		if (!eq || eq == p || eq[1] != '"')
			return false;
		char key[128];
		size_t kl = (size_t)(eq - p);
		if (kl >= sizeof(key))
			return false;
		memcpy(key, p, kl);
		key[kl] = 0;
		if (!name_valid(key))
			return false;
		p = eq + 2;
		while (*p && *p != '"') {
			if ((unsigned char)*p < 0x20 || *p == '\\')
				return false;
			p++;
		}
		if (*p != '"')
			return false;
		p++;
		if (!*p)
			return true;
		if (*p != ',')
			return false;
		p++;
	}
}

static struct rd_metric *metric_add(struct rd_metrics *m, const char *name, const char *help,
	const char *labels, enum rd_metric_type type)
{
	if (!m || !name_valid(name) || (labels && *labels && !labels_valid(labels)))
		return NULL;
	if (help && strchr(help, '\n'))
		return NULL;
	struct rd_metric_family *f;
	for (f = m->first; f; f = f->next)
		if (!strcmp(f->name, name))
			break;
	if (f && f->type != type)
		return NULL;
	if (!f) {
		f = xcalloc(1, sizeof(*f));
		f->name = xstrdup(name);
		f->help = xstrdup(help ? help : "");
		f->type = type;
		if (m->last)
			m->last->next = f;
		else
			m->first = f;
		m->last = f;
	}
	for (struct rd_metric *x = f->first; x; x = x->next) {
		const char *a = x->labels ? x->labels : "", *b = labels ? labels : "";
		if (!strcmp(a, b))
			return NULL; /* same series twice */
	}
	struct rd_metric *x = xcalloc(1, sizeof(*x));
	x->fam = f;
	x->labels = labels && *labels ? xstrdup(labels) : NULL;
	if (f->last)
		f->last->next = x;
	else
		f->first = x;
	f->last = x;
	return x;
}

struct rd_metric *rd_metrics_counter(struct rd_metrics *m, const char *name,
	const char *help, const char *labels)
{
	return metric_add(m, name, help, labels, RD_METRIC_COUNTER);
}

struct rd_metric *rd_metrics_gauge(struct rd_metrics *m, const char *name,
	const char *help, const char *labels)
{
	return metric_add(m, name, help, labels, RD_METRIC_GAUGE);
}

struct rd_metric *rd_metrics_gauge_fn(struct rd_metrics *m, const char *name,
	const char *help, const char *labels, double (*fn)(void *ud), void *ud)
{
	if (!fn)
		return NULL;
	struct rd_metric *x = metric_add(m, name, help, labels, RD_METRIC_GAUGE);
	if (x) {
		x->fn = fn;
		x->ud = ud;
	}
	return x;
}

void rd_metric_inc(struct rd_metric *c)
{
	if (c)
		c->value += 1;
}

void rd_metric_add(struct rd_metric *c, double v)
{
	if (c && (c->fam->type == RD_METRIC_GAUGE || v >= 0))
		c->value += v;
}

void rd_metric_set(struct rd_metric *g, double v)
{
	if (g)
		g->value = v;
}

double rd_metric_value(const struct rd_metric *x)
{
	if (!x)
		return 0;
	return x->fn ? x->fn(x->ud) : x->value;
}

static int put_str(struct rd_buf *out, const char *s)
{
	return rd_buf_put(out, s, strlen(s));
}

static int put_value(struct rd_buf *out, double v)
{
	char tmp[64];
	if (isnan(v))
		snprintf(tmp, sizeof(tmp), "NaN");
	else if (isinf(v))
		snprintf(tmp, sizeof(tmp), v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(tmp, sizeof(tmp), "%.0f", v);
	else
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	return put_str(out, tmp);
}

int rd_metrics_render(const struct rd_metrics *m, struct rd_buf *out)
{
	int rc = RD_OK;
	for (const struct rd_metric_family *f = m->first; f && rc == RD_OK; f = f->next) {
		rc |= put_str(out, "# HELP ");
		rc |= put_str(out, f->name);
		rc |= put_str(out, " ");
		rc |= put_str(out, f->help);
		rc |= put_str(out, "\n# TYPE ");
		rc |= put_str(out, f->name);
		rc |= put_str(out, f->type == RD_METRIC_COUNTER ? " counter\n" : " gauge\n");
		for (const struct rd_metric *x = f->first; x && rc == RD_OK; x = x->next) {
			rc |= put_str(out, f->name);
			if (x->labels) {
				rc |= put_str(out, "{");
				rc |= put_str(out, x->labels);
				rc |= put_str(out, "}");
			}
			rc |= put_str(out, " ");
			rc |= put_value(out, rd_metric_value(x));
			rc |= put_str(out, "\n");
		}
	}
	return rc == RD_OK ? RD_OK : RD_ERR_NOMEM;
}

void rd_metrics_set_health(struct rd_metrics *m,
	bool (*fn)(void *ud, char *msg, size_t msgsz), void *ud)
{
	m->health = fn;
	m->health_ud = ud;
}

void rd_metrics_set_timeout(struct rd_metrics *m, double secs)
{
	if (secs > 0)
		m->timeout = secs;
}

/* ---- HTTP endpoint ---- */

static void client_kill(struct metrics_client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	ev_io_stop(c->owner->loop, &c->io);
	ev_timer_stop(c->owner->loop, &c->deadline);
	ev_idle_start(c->owner->loop, &c->owner->reaper);
}

static void reap_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	struct rd_metrics *m = w->data;
	struct metrics_client **pp = &m->clients;
	while (*pp) {
		struct metrics_client *c = *pp;
		if (c->dead) {
			*pp = c->next;
			close(c->fd);
			rd_buf_free(&c->out);
			free(c);
			m->nclients--;
		} else {
			pp = &c->next;
		}
	}
	ev_idle_stop(loop, w);
}

static void client_flush(struct metrics_client *c)
{
	while (rd_buf_size(&c->out) > 0) {
		ssize_t n = write(c->fd, rd_buf_ptr(&c->out), rd_buf_size(&c->out));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_kill(c);
			return;
		}
		rd_buf_consume(&c->out, (size_t)n);
	}
	/* Lingering close: reading what the client still sends until it closes
	 * (or the deadline) keeps the kernel from answering with a reset that
	 * would destroy the response in flight. */
	shutdown(c->fd, SHUT_WR);
	c->draining = true;
	ev_io_stop(c->owner->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_READ);
	ev_io_start(c->owner->loop, &c->io);
}

static void client_drain(struct metrics_client *c)
{
	char sink[4096];
	ssize_t n = read(c->fd, sink, sizeof(sink));
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0)
		client_kill(c);
}

static void client_respond(struct metrics_client *c, int status, const char *reason,
	const char *ctype, const struct rd_buf *body)
{
	char head[256];
	size_t blen = body ? rd_buf_size(body) : 0;
	int hl = snprintf(head, sizeof(head),
		"HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"Cache-Control: no-store\r\nConnection: close\r\n\r\n",
		status, reason, ctype, blen);
	c->responding = true;
	ev_timer_stop(c->owner->loop, &c->deadline);
	ev_timer_set(&c->deadline, c->owner->timeout, 0);
	ev_timer_start(c->owner->loop, &c->deadline);
	if (rd_buf_put(&c->out, head, (size_t)hl) || (blen && rd_buf_put(&c->out, rd_buf_ptr(body), blen))) {
		client_kill(c);
		return;
	}
	ev_io_stop(c->owner->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(c->owner->loop, &c->io);
	client_flush(c);
}

static void respond_text(struct metrics_client *c, int status, const char *reason, const char *text)
{
	struct rd_buf body;
	rd_buf_init(&body, 0);
	if (rd_buf_put(&body, text, strlen(text)) == RD_OK)
		client_respond(c, status, reason, "text/plain; charset=utf-8", &body);
	else
		client_kill(c);
	rd_buf_free(&body);
}

/* The whole head has arrived: answer the request line. */
static void client_handle(struct metrics_client *c)
{
	char method[8] = "", path[64] = "", ver[16] = "";
	char *eol = strpbrk(c->req, "\r\n");
	if (eol)
		*eol = 0;
	if (sscanf(c->req, "%7s %63s %15s", method, path, ver) != 3 || strncmp(ver, "HTTP/1.", 7)) {
		respond_text(c, 400, "Bad Request", "bad request\n");
		return;
	}
	char *q = strchr(path, '?');
	if (q)
		*q = 0;
	if (strcmp(method, "GET")) {
		respond_text(c, 405, "Method Not Allowed", "only GET\n");
		return;
	}
	if (!strcmp(path, "/metrics")) {
		struct rd_buf body;
		rd_buf_init(&body, 0);
		if (rd_metrics_render(c->owner, &body) == RD_OK)
			client_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", &body);
		else
			respond_text(c, 500, "Internal Server Error", "render failed\n");
		rd_buf_free(&body);
	} else if (!strcmp(path, "/healthz")) {
		char msg[200] = "ok";
		bool good = true;
		if (c->owner->health)
			good = c->owner->health(c->owner->health_ud, msg, sizeof(msg));
		char text[210];
		snprintf(text, sizeof(text), "%s\n", msg);
		respond_text(c, good ? 200 : 503, good ? "OK" : "Service Unavailable", text);
	} else {
		respond_text(c, 404, "Not Found", "not found\n");
	}
}

static bool head_complete(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == '\n' && s[i + 1] == '\n')
			return true;
		if (i + 3 < len && !memcmp(s + i, "\r\n\r\n", 4))
			return true;
	}
	return false;
}

static void client_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct metrics_client *c = w->data;
	if (c->draining) {
		client_drain(c);
		return;
	}
	if (c->responding) {
		if (revents & EV_WRITE)
			client_flush(c);
		return;
	}
	size_t room = sizeof(c->req) - 1 - c->req_len;
	if (room == 0) {
		respond_text(c, 431, "Request Header Fields Too Large", "request too large\n");
		return;
	}
	ssize_t n = read(c->fd, c->req + c->req_len, room);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		client_kill(c);
		return;
	}
	size_t scan_from = c->req_len > 3 ? c->req_len - 3 : 0;
	c->req_len += (size_t)n;
	c->req[c->req_len] = 0;
	if (memchr(c->req + scan_from, 0, c->req_len - scan_from)) {
		respond_text(c, 400, "Bad Request", "bad request\n");
		return;
	}
	if (head_complete(c->req + scan_from, c->req_len - scan_from))
		client_handle(c);
	else if (c->req_len == sizeof(c->req) - 1)
		respond_text(c, 431, "Request Header Fields Too Large", "request too large\n");
}

static void client_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct metrics_client *c = w->data;
	if (!c->responding)
		log_debug("scraper timed out before its request was complete");
	client_kill(c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct rd_metrics *m = w->data;
	for (int i = 0; i < 8; i++) {
		struct rd_sockaddr peer;
		int fd = rd_net_accept(m->lfd, &peer);
		if (fd == RD_ERR_AGAIN)
			return;
		if (fd < 0) {
			if (fd == RD_ERR_LIMIT)
				log_warn("accept: out of file descriptors");
			return;
		}
		if (m->nclients >= RD_METRICS_CLIENTS_MAX) {
			close(fd);
			continue;
		}
		struct metrics_client *c = xcalloc(1, sizeof(*c));
		c->owner = m;
		c->fd = fd;
		rd_buf_init(&c->out, 0);
		ev_io_init(&c->io, client_io_cb, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->deadline, client_deadline_cb, m->timeout, 0);
		c->deadline.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_start(loop, &c->deadline);
		c->next = m->clients;
		m->clients = c;
		m->nclients++;
	}
}

int rd_metrics_listen(struct rd_metrics *m, struct ev_loop *loop, const struct rd_sockaddr *addr)
{
	if (m->lfd >= 0)
		return RD_ERR_EXISTS;
	int fd = rd_net_tcp_listen(addr, 128, 0);
	if (fd < 0)
		return fd;
	m->loop = loop;
	m->lfd = fd;
	ev_io_init(&m->accept_io, accept_cb, fd, EV_READ);
	m->accept_io.data = m;
	ev_io_start(loop, &m->accept_io);
	ev_idle_init(&m->reaper, reap_cb);
	m->reaper.data = m;
	return RD_OK;
}

int rd_metrics_local_addr(const struct rd_metrics *m, struct rd_sockaddr *out)
{
	if (m->lfd < 0)
		return RD_ERR_CLOSED;
	return rd_net_local_addr(m->lfd, out);
}

void rd_metrics_stop(struct rd_metrics *m)
{
	if (!m || m->lfd < 0)
		return;
	ev_io_stop(m->loop, &m->accept_io);
	close(m->lfd);
	m->lfd = -1;
	for (struct metrics_client *c = m->clients; c; c = c->next)
		client_kill(c);
	reap_cb(m->loop, &m->reaper, 0);
}

void rd_metrics_free(struct rd_metrics *m)
{
	if (!m)
		return;
	rd_metrics_stop(m);
	struct rd_metric_family *f = m->first;
	while (f) {
		struct rd_metric_family *fn = f->next;
		struct rd_metric *x = f->first;
		while (x) {
			struct rd_metric *xn = x->next;
			free(x->labels);
			free(x);
			x = xn;
		}
		free(f->name);
		free(f->help);
		free(f);
		f = fn;
	}
	free(m);
}

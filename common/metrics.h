/* metrics: counters and gauges in Prometheus text format, served over a tiny
 * HTTP/1.0 endpoint on a libev loop (GET /metrics, GET /healthz).
 *
 * A metric is registered once by name with help text and an optional label set
 * written in Prometheus syntax without braces (`outcome="ok"`); several series
 * may share a name (same type and help) with different labels. A computed gauge
 * calls back at render time. The endpoint is bounded: a request must fit in
 * RD_METRICS_REQ_MAX bytes and arrive within the request timeout, at most
 * RD_METRICS_CLIENTS_MAX clients are served at once, and every connection is
 * closed after one response. Rendering and updates are I/O free; the server
 * is only as busy as its scrapers. Single-threaded: call from the loop thread. */
#ifndef RD_METRICS_H
#define RD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "net.h"

struct ev_loop;
struct rd_metrics;
struct rd_metric;

#define RD_METRICS_REQ_MAX 4096      /* request line + headers */
#define RD_METRICS_CLIENTS_MAX 16    /* concurrent scrapers */
#define RD_METRICS_TIMEOUT 5.0       /* seconds from accept to the whole request */

enum rd_metric_type {
	RD_METRIC_COUNTER,
	RD_METRIC_GAUGE,
};

struct rd_metrics *rd_metrics_new(void);
/* Stops the endpoint (if serving) and frees every metric. */
void rd_metrics_free(struct rd_metrics *m);

/* Register a series. name must match [a-zA-Z_:][a-zA-Z0-9_:]*; labels is NULL
 * or `k="v",k2="v2"` (label values are escaped by the caller's choice of
 * text: no newline, backslash or quote inside a value). Returns NULL when the
 * name or labels are invalid, or the name exists with another type. The
 * returned pointer stays valid until rd_metrics_free. */
struct rd_metric *rd_metrics_counter(struct rd_metrics *m, const char *name,
	const char *help, const char *labels);
struct rd_metric *rd_metrics_gauge(struct rd_metrics *m, const char *name,
	const char *help, const char *labels);
/* A gauge whose value is fn(ud), computed at every render. */
struct rd_metric *rd_metrics_gauge_fn(struct rd_metrics *m, const char *name,
	const char *help, const char *labels, double (*fn)(void *ud), void *ud);

void rd_metric_inc(struct rd_metric *c);
void rd_metric_add(struct rd_metric *c, double v);
void rd_metric_set(struct rd_metric *g, double v);
double rd_metric_value(const struct rd_metric *x);

/* Append the whole exposition (text format 0.0.4) to out. */
int rd_metrics_render(const struct rd_metrics *m, struct rd_buf *out);

/* /healthz answers 200 "ok" unless fn returns false (then 503 with msg). */
void rd_metrics_set_health(struct rd_metrics *m,
	bool (*fn)(void *ud, char *msg, size_t msgsz), void *ud);
/* Per-request deadline in seconds (default RD_METRICS_TIMEOUT). */
void rd_metrics_set_timeout(struct rd_metrics *m, double secs);

/* Listen on addr (port 0 picks one) and serve on loop. RD_ERR_EXISTS when
 * already serving; RD_ERR_IO (errno kept) when the bind fails. */
int rd_metrics_listen(struct rd_metrics *m, struct ev_loop *loop, const struct rd_sockaddr *addr);
/* The bound address (after rd_metrics_listen). */
int rd_metrics_local_addr(const struct rd_metrics *m, struct rd_sockaddr *out);
/* Stop listening and drop open scrapers. */
void rd_metrics_stop(struct rd_metrics *m);

#endif

/* resolve: a worker thread for name lookups, results posted with ev_async.
 *
 * The resolver is shared by the loop and the worker and freed by whichever
 * lets go last (refs, under mu), so rd_resolver_free never waits for a
 * lookup that hangs. The worker signals the loop only under mu and only
 * while stop is false; the owner sets stop before it stops the watcher. The
 * watcher runs while lookups are pending, so it keeps the loop alive exactly
 * as long as a callback is still to come. */
#include "resolve.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "err.h"
#include "util.h"

enum q_state { Q_QUEUED, Q_RUNNING, Q_DONE };

struct rd_resolve {
	struct rd_resolve *next;
	enum q_state state;
	bool cancelled;
	char name[RD_RESOLVE_NAME_MAX];
	uint16_t port;
	rd_resolve_done done;
	void *ud;
	int err;
	struct rd_sockaddr addr;
};

struct q_list {
	struct rd_resolve *head, *tail;
};

struct rd_resolver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ev_loop *loop;
	ev_async async;
	rd_resolve_fn fn;
	struct q_list queue;     /* waiting for the worker */
	struct q_list done;      /* answered, waiting for the loop */
	size_t count;            /* queued + running + done */
	int refs;                /* the owner, and the worker once started */
	bool started;
	bool stop;
};

static void list_push(struct q_list *l, struct rd_resolve *q)
{
	q->next = NULL;
	if (l->tail)
		l->tail->next = q;
	else
		l->head = q;
	l->tail = q;
}

static struct rd_resolve *list_pop(struct q_list *l)
{
	struct rd_resolve *q = l->head;
	if (q) {
		l->head = q->next;
		if (!l->head)
			l->tail = NULL;
		q->next = NULL;
	}
	return q;
}

static bool list_unlink(struct q_list *l, struct rd_resolve *q)
{
	struct rd_resolve *prev = NULL;
	for (struct rd_resolve *p = l->head; p; prev = p, p = p->next) {
		if (p != q)
			continue;
		if (prev)
			prev->next = p->next;
		else
			l->head = p->next;
		if (l->tail == p)
			l->tail = prev;
		return true;
	}
	return false;
}

static void list_free(struct q_list *l)
{
	struct rd_resolve *q;
	while ((q = list_pop(l)))
		free(q);
}

static void resolver__destroy(struct rd_resolver *r)
{
	list_free(&r->queue);
	list_free(&r->done);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* Drop one reference (mu held; released here); frees on the last one. */
static void resolver__unref_unlock(struct rd_resolver *r)
{
	bool last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (last)
		resolver__destroy(r);
}

static void *resolver__worker(void *arg)
{
	struct rd_resolver *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && !r->queue.head)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		struct rd_resolve *q = list_pop(&r->queue);
		q->state = Q_RUNNING;
		pthread_mutex_unlock(&r->mu);
		struct rd_sockaddr addr;
		memset(&addr, 0, sizeof(addr));
		int err = r->fn(q->name, q->port, &addr);
		pthread_mutex_lock(&r->mu);
		if (r->stop) {
			free(q);
			break;
		}
		q->err = err;
		q->addr = addr;
		q->state = Q_DONE;
		list_push(&r->done, q);
		ev_async_send(r->loop, &r->async);
	}
	resolver__unref_unlock(r);
	return NULL;
}

static void resolver__on_async(struct ev_loop *loop, ev_async *w, int revents)
{
	struct rd_resolver *r = w->data;
	(void)revents;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		struct rd_resolve *q = list_pop(&r->done);
		if (q)
			r->count--;
		if (r->count == 0)
			ev_async_stop(loop, &r->async);
		pthread_mutex_unlock(&r->mu);
		if (!q)
			return;
		if (!q->cancelled)
			q->done(q->err, q->err == RD_OK ? &q->addr : NULL, q->ud);
		free(q);
	}
}

struct rd_resolver *rd_resolver_new(struct ev_loop *loop, rd_resolve_fn fn)
{
	struct rd_resolver *r = xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->loop = loop;
	r->fn = fn ? fn : rd_net_addr_parse;
	r->refs = 1;
	ev_async_init(&r->async, resolver__on_async);
	r->async.data = r;
	return r;
}

/* The worker, detached and with every signal blocked (the loop's thread
 * takes them). mu held. */
static bool resolver__start_worker(struct rd_resolver *r)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	if (pthread_attr_init(&attr) != 0)
		return false;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&t, &attr, resolver__worker, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return false;
	r->started = true;
	r->refs++;
	return true;
}

struct rd_resolve *rd_resolve_start(struct rd_resolver *r, const char *name, uint16_t default_port,
	rd_resolve_done done, void *ud)
{
	if (!name || strlen(name) >= RD_RESOLVE_NAME_MAX || !done)
		return NULL;
	pthread_mutex_lock(&r->mu);
	if (r->count >= RD_RESOLVE_QUEUE_MAX || (!r->started && !resolver__start_worker(r))) {
		pthread_mutex_unlock(&r->mu);
		return NULL;
	}
	struct rd_resolve *q = xcalloc(1, sizeof(*q));
	rd_strlcpy(q->name, name, sizeof(q->name));
	q->port = default_port;
	q->done = done;
	q->ud = ud;
	q->state = Q_QUEUED;
	list_push(&r->queue, q);
	if (r->count++ == 0)
		ev_async_start(r->loop, &r->async);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return q;
}

void rd_resolve_cancel(struct rd_resolver *r, struct rd_resolve *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&r->mu);
	if (q->state == Q_QUEUED && list_unlink(&r->queue, q)) {
		free(q);
		if (--r->count == 0)
			ev_async_stop(r->loop, &r->async);
	} else {
		q->cancelled = true; /* freed when it comes back */
	}
	pthread_mutex_unlock(&r->mu);
}

size_t rd_resolver_pending(struct rd_resolver *r)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->count;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void rd_resolver_free(struct rd_resolver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	list_free(&r->queue);
	list_free(&r->done);
	r->count = 0;
	pthread_mutex_unlock(&r->mu);
	/* No ev_async_send can come any more: stop is set. */
	ev_async_stop(r->loop, &r->async);
	pthread_mutex_lock(&r->mu);
	resolver__unref_unlock(r);
}

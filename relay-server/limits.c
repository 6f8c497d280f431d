/* limits: token buckets with a fair FIFO of throttled directions. */
#include <stdint.h>
#include <stdlib.h>

#include "util.h"

#include "limits.h"

#define MIN_CHUNK 4096.0      /* never grant less unless less was asked for */
#define BURST_SECS 0.05       /* bucket size in seconds of rate */
#define PAIR_BURST_MIN (64.0 * 1024)
#define TOTAL_BURST_MIN (128.0 * 1024)

struct token {
	double tokens;
	double rate;  /* 0 = unlimited */
	double burst;
	double last;
};

struct relay_waiter {
	struct relay_bucket *b;
	void (*resume)(void *ud);
	void *ud;
	struct relay_waiter *prev, *next;
	bool queued;
	double since;
};

struct relay_bucket {
	struct relay_limits *l;
	struct token t;
};

struct relay_limits {
	struct token total;
	double pair_rate;
	struct relay_waiter *head, *tail;
	size_t nqueued;
	double since_sum;         /* sum of `since` over queued waiters */
	double throttled_done;    /* seconds of finished waits */
	struct relay_waiter *serving;
	double serve_budget;
};

static void token_init(struct token *t, double rate, double burst_min, double now)
{
	t->rate = rate;
	t->burst = rate * BURST_SECS;
	if (t->burst < burst_min)
		t->burst = burst_min;
	t->tokens = t->burst;
	t->last = now;
}

static void token_refill(struct token *t, double now)
{
	if (t->rate <= 0 || now <= t->last)
		return;
	t->tokens += (now - t->last) * t->rate;
	if (t->tokens > t->burst)
		t->tokens = t->burst;
	t->last = now;
}

struct relay_limits *relay_limits_new(double total_rate, double pair_rate, double now)
{
	struct relay_limits *l = xcalloc(1, sizeof(*l));
	token_init(&l->total, total_rate > 0 ? total_rate : 0, TOTAL_BURST_MIN, now);
	l->pair_rate = pair_rate > 0 ? pair_rate : 0;
	return l;
}

void relay_limits_free(struct relay_limits *l)
{
	free(l);
}

bool relay_limits_enabled(const struct relay_limits *l)
{
	return l->total.rate > 0 || l->pair_rate > 0;
}

struct relay_bucket *relay_bucket_new(struct relay_limits *l, double now)
{
	struct relay_bucket *b = xcalloc(1, sizeof(*b));
	b->l = l;
	token_init(&b->t, l->pair_rate, PAIR_BURST_MIN, now);
	return b;
}

void relay_bucket_free(struct relay_bucket *b)
{
	free(b);
}

struct relay_waiter *relay_waiter_new(struct relay_bucket *b, void (*resume)(void *ud), void *ud)
{
	struct relay_waiter *w = xcalloc(1, sizeof(*w));
	w->b = b;
	w->resume = resume;
	w->ud = ud;
	return w;
}

static void enqueue(struct relay_limits *l, struct relay_waiter *w, double since)
{
	w->next = NULL;
	w->prev = l->tail;
	if (l->tail)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	if (!w->queued) {
		w->queued = true;
		w->since = since;
		l->since_sum += since;
		l->nqueued++;
	}
}

/* Unlink only; the caller decides whether the wait ended. */
static void unlink_waiter(struct relay_limits *l, struct relay_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		l->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		l->tail = w->prev;
	w->prev = w->next = NULL;
}

static void dequeue(struct relay_limits *l, struct relay_waiter *w, double now)
{
	unlink_waiter(l, w);
	w->queued = false;
	l->nqueued--;
	l->since_sum -= w->since;
	if (now > w->since)
		l->throttled_done += now - w->since;
	if (l->nqueued == 0)
		l->since_sum = 0;
}

void relay_waiter_free(struct relay_waiter *w, double now)
{
	if (!w)
		return;
	struct relay_limits *l = w->b->l;
	if (w->queued)
		dequeue(l, w, now);
	if (l->serving == w)
		l->serving = NULL;
	free(w);
}

size_t relay_limits_grant(struct relay_waiter *w, size_t want, double now)
{
	struct relay_limits *l = w->b->l;
	if (!relay_limits_enabled(l) || want == 0)
		return want;
	if (w->queued)
		return 0;
	token_refill(&l->total, now);
	token_refill(&w->b->t, now);
	double cap = (double)want;
	if (l->serving == w) {
		if (l->serve_budget < cap)
			cap = l->serve_budget;
	} else if (l->nqueued > 0) {
		enqueue(l, w, now); /* others wait already: no jumping the queue */
		return 0;
	}
	if (l->total.rate > 0 && l->total.tokens < cap)
		cap = l->total.tokens;
	if (w->b->t.rate > 0 && w->b->t.tokens < cap)
		cap = w->b->t.tokens;
	double need = (double)want < MIN_CHUNK ? (double)want : MIN_CHUNK;
	if (cap < need || cap < 1) {
		enqueue(l, w, now);
		return 0;
	}
	return (size_t)cap;
}

void relay_limits_used(struct relay_waiter *w, size_t n)
{
	struct relay_limits *l = w->b->l;
	if (!relay_limits_enabled(l))
		return;
	if (l->total.rate > 0)
		l->total.tokens -= (double)n;
	if (w->b->t.rate > 0)
		w->b->t.tokens -= (double)n;
	if (l->serving == w)
		l->serve_budget -= (double)n;
}

void relay_limits_tick(struct relay_limits *l, double now)
{
	token_refill(&l->total, now);
	size_t n = l->nqueued;
	double quantum = 1e18;
	if (l->total.rate > 0 && n > 0) {
		quantum = l->total.tokens / (double)n;
		if (quantum < MIN_CHUNK)
			quantum = MIN_CHUNK;
	}
	for (size_t i = 0; i < n && l->head; i++) {
		if (l->total.rate > 0 && l->total.tokens < MIN_CHUNK)
			break;
		struct relay_waiter *w = l->head;
		token_refill(&w->b->t, now);
		if (w->b->t.rate > 0 && w->b->t.tokens < MIN_CHUNK) {
			unlink_waiter(l, w); /* its own bucket is empty: to the back */
			enqueue(l, w, w->since);
			continue;
		}
		dequeue(l, w, now);
		l->serving = w;
		l->serve_budget = quantum;
		w->resume(w->ud);
		l->serving = NULL;
	}
}

bool relay_limits_pending(const struct relay_limits *l)
{
	return l->nqueued > 0;
}

size_t relay_limits_queued(const struct relay_limits *l)
{
	return l->nqueued;
}

double relay_limits_throttled_seconds(const struct relay_limits *l, double now)
{
	return l->throttled_done + (double)l->nqueued * now - l->since_sum;
}

/* limits: token buckets for the relay's bandwidth, one per pair
 * (--single-bandwidth, both directions together) and one in total
 * (--total-bandwidth), without I/O: time is passed in.
 *
 * A direction of a pair asks for bytes with relay_limits_grant(). When the
 * answer is 0 it is queued and must stop reading; relay_limits_tick(), called
 * from a timer every RELAY_LIMITS_TICK seconds while relay_limits_pending() is
 * true, refills the buckets and resumes queued directions in FIFO order, each
 * with at most a fair share of the total bucket, so active pairs share the
 * total rate evenly and nobody jumps the queue. Time spent queued is
 * accounted. A rate of 0 means unlimited. */
#ifndef RELAY_LIMITS_H
#define RELAY_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

#define RELAY_LIMITS_TICK 0.005

struct relay_limits;
struct relay_bucket;
struct relay_waiter;

/* Rates in bytes per second; 0 = unlimited. */
struct relay_limits *relay_limits_new(double total_rate, double pair_rate, double now);
void relay_limits_free(struct relay_limits *l);
/* False when both rates are unlimited (grant then always says yes). */
bool relay_limits_enabled(const struct relay_limits *l);

/* One bucket per pair. Its waiters must be freed before it. */
struct relay_bucket *relay_bucket_new(struct relay_limits *l, double now);
void relay_bucket_free(struct relay_bucket *b);

/* One waiter per direction; resume(ud) is called from relay_limits_tick()
 * when the direction may move bytes again. */
struct relay_waiter *relay_waiter_new(struct relay_bucket *b, void (*resume)(void *ud), void *ud);
/* Leaves the queue if queued. */
void relay_waiter_free(struct relay_waiter *w, double now);

/* How many of want bytes may move now (0: w is queued and must wait). */
size_t relay_limits_grant(struct relay_waiter *w, size_t want, double now);
/* n bytes (at most the last grant) were moved. */
void relay_limits_used(struct relay_waiter *w, size_t n);
/* Refill and resume queued waiters. */
void relay_limits_tick(struct relay_limits *l, double now);
/* True while some waiter is queued (keep the tick timer running). */
bool relay_limits_pending(const struct relay_limits *l);
size_t relay_limits_queued(const struct relay_limits *l);
/* Total seconds directions have spent queued (queued time so far included). */
double relay_limits_throttled_seconds(const struct relay_limits *l, double now);

#endif

/* srclimit: how many of something each source holds at once (open
 * connections, connections waiting for their peer), with a cap per source.
 * Sources are keyed as in ratelimit.h: an IPv4 address, or the /64 of an
 * IPv6 address, never the port. The table is sized once for the most sources
 * the caller can have at a time and never grows; a source has an entry while
 * its count is above zero. I/O free; time is passed in. */
#ifndef RD_SRCLIMIT_H
#define RD_SRCLIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "net.h"

#define RD_SRCLIMIT_SOURCES_MAX ((size_t)1 << 22)

struct rd_srclimit;

/* Room for max_sources sources at once (at most RD_SRCLIMIT_SOURCES_MAX; the
 * table holds twice as many slots, a power of two). per_source >= 1. NULL on
 * a bad argument. */
struct rd_srclimit *rd_srclimit_new(size_t max_sources, unsigned per_source);
void rd_srclimit_free(struct rd_srclimit *t);

/* One more for src's source: RD_OK; RD_ERR_LIMIT when it holds per_source
 * already; RD_ERR_NOMEM when max_sources other sources hold something. */
int rd_srclimit_take(struct rd_srclimit *t, const struct rd_sockaddr *src);
/* One less for src's source. Every RD_OK of take is matched by one put with
 * an address of the same source (the same one is simplest); a put without a
 * take is ignored. */
void rd_srclimit_put(struct rd_srclimit *t, const struct rd_sockaddr *src);

unsigned rd_srclimit_count(const struct rd_srclimit *t, const struct rd_sockaddr *src);
unsigned rd_srclimit_per_source(const struct rd_srclimit *t);
/* Sources that hold something. */
size_t rd_srclimit_sources(const struct rd_srclimit *t);

/* After a refusal of src: whether to log it now, at most once per interval
 * for a source over its cap (its entry remembers when). *refused gets the
 * refusals of that source since its last logged one (this one included).
 * A source without an entry (the table was full) logs with the others
 * without one, once per interval together. */
bool rd_srclimit_log_ok(struct rd_srclimit *t, const struct rd_sockaddr *src, double now,
	double interval, unsigned long *refused);

#endif

/* slow-resolve: an LD_PRELOAD library for tests. getaddrinfo() of a name
 * ending in ".slow.rdesk.test" sleeps RD_SLOW_RESOLVE_SECS seconds (default
 * 3) and then answers as for 127.0.0.1, like a name server that is slow to
 * reply; every other name goes to the C library. Each slow lookup appends
 * "NAME start" and "NAME done" lines to $RD_SLOW_RESOLVE_LOG when it is set,
 * so a test can tell that the slow path ran. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOW_SUFFIX ".slow.rdesk.test"

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

static void slow__log(const char *node, const char *what)
{
	const char *path = getenv("RD_SLOW_RESOLVE_LOG");
	FILE *f = path && *path ? fopen(path, "a") : NULL;
	if (f) {
		fprintf(f, "%s %s\n", node, what);
		fclose(f);
	}
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
	struct addrinfo **res)
{
	gai_fn real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
	size_t n = node ? strlen(node) : 0, sl = strlen(SLOW_SUFFIX);
	if (!real)
		return EAI_FAIL;
	if (n <= sl || strcmp(node + n - sl, SLOW_SUFFIX) != 0)
		return real(node, service, hints, res);
	const char *env = getenv("RD_SLOW_RESOLVE_SECS");
	double secs = env && *env ? atof(env) : 3.0;
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	slow__log(node, "start");
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	slow__log(node, "done");
	return real("127.0.0.1", service, hints, res);
}

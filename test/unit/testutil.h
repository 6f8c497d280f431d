/* Small helpers shared by the unit tests: hex strings to bytes and back, a
 * scratch folder, the count of open descriptors. */
#ifndef RD_TEST_TESTUTIL_H
#define RD_TEST_TESTUTIL_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes the hex string s (even length, no separators) into out; returns
 * the number of bytes written. */
static inline size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Writes n bytes as lower-case hex into out (2 * n + 1 bytes, NUL-ended). */
static inline void hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* A new folder $TMPDIR/rd-test-TAG.XXXXXX (or under /tmp) into dir; 0 or -1. */
static inline int tu_tmpdir_make(char *dir, size_t len, const char *tag)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, len, "%s/rd-test-%s.XXXXXX", t ? t : "/tmp", tag);
	return mkdtemp(dir) ? 0 : -1;
}

/* Remove the folder and all in it; 0 or -1. */
static inline int tu_tmpdir_remove(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Descriptors open in this process (with the one counting them). */
static inline int tu_open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

#endif

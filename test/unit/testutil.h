/* Small helpers shared by the unit tests: hex strings to bytes and back.
 * Include after <stdint.h>, <stdio.h> and <string.h>. */
#ifndef RD_TEST_TESTUTIL_H
#define RD_TEST_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

#endif

/* Fuzz the Xauthority parser of rd-agent-helper: any bytes, for the display
 * number in the first two bytes and the host "testhost". A cookie found must
 * be the data of an entry in the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/helper/xauth.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned display = ((unsigned)data[0] << 8 | data[1]) % 10000;
	/* A copy of exactly the bytes, so a read past them is caught. */
	uint8_t *buf = malloc(size - 2 ? size - 2 : 1);
	memcpy(buf, data + 2, size - 2);
	uint8_t cookie[XAUTH_COOKIE_LEN];
	int rc = xauth_find_cookie(buf, size - 2, "testhost", display, cookie);
	CHECK(rc == RD_OK || rc == RD_ERR_NOTFOUND || rc == RD_ERR_PROTO);
	if (rc == RD_OK)
		CHECK(memmem(buf, size - 2, cookie, sizeof(cookie)) != NULL);
	free(buf);
	return 0;
}

/* Fuzz the known_peers parser: any text, any ID. A hit must be 32 bytes that
 * re-encode to a line the parser finds again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ctl/known_peers.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[40];
	uint8_t pk[32], again[32];
	size_t idlen = 0;
	/* The first line names the ID to look for. */
	while (idlen < size && idlen < sizeof(id) - 1 && data[idlen] != '\n' && data[idlen] != ' ' &&
	       data[idlen] != '\t' && data[idlen] != '\r' && data[idlen])
		idlen++;
	memcpy(id, data, idlen);
	id[idlen] = '\0';
	if (known_peers_find((const char *)data, size, id, pk, NULL) == RD_OK) {
		char b64[RD_B64_PK_LEN + 1], line[128];
		rd_pk_to_b64(pk, b64);
		int n = snprintf(line, sizeof(line), "%s %s\n", id, b64);
		CHECK(known_peers_find(line, (size_t)n, id, again, NULL) == RD_OK);
		CHECK(memcmp(pk, again, 32) == 0);
	}
	return 0;
}

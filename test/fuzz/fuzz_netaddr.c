/* Fuzz rd_net_addr_parse_numeric: any accepted input prints to a form that
 * parses back to the same address, and the printed form fits RD_ADDRSTRLEN. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_sockaddr a, b;
	char s[RD_ADDRSTRLEN], ip[RD_ADDRSTRLEN];
	char *in;

	if (size > 256)
		return 0;
	in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (rd_net_addr_parse_numeric(in, 21116, &a) == RD_OK) {
		rd_net_addr_str(&a, s, sizeof(s));
		if (strlen(s) >= RD_ADDRSTRLEN - 1)
			abort();
		if (rd_net_addr_parse_numeric(s, 1, &b) != RD_OK || !rd_net_addr_equal(&a, &b))
			abort();
		rd_net_addr_ip_str(&a, ip, sizeof(ip));
		if (rd_net_addr_parse_numeric(ip, rd_net_addr_port(&a), &b) != RD_OK ||
		    !rd_net_addr_equal(&a, &b))
			abort();
		(void)rd_net_addr_is_loopback(&a);
		(void)rd_net_addr_is_unspecified(&a);
	}
	free(in);
	return 0;
}

/* addr: the wire encoding of socket addresses ("AddrMangle") used in every
 * socket_addr / local_addr field. IPv4 is time-salted (10-16 bytes), IPv6 is 16
 * address bytes + port u16le (18 bytes). I/O free. */
#ifndef RD_ADDR_H
#define RD_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define RD_ADDR_MANGLE_MAX 18

/* Encode sa (IPv4, IPv6 or v4-mapped IPv6, which is encoded as IPv4 unless it is
 * loopback) with salt tm. Returns the length written to out (1..18) or an rd_err. */
int rd_addr_mangle_tm(const struct rd_sockaddr *sa, uint32_t tm, uint8_t out[RD_ADDR_MANGLE_MAX]);
/* Same with tm = current unix time in microseconds truncated to 32 bits. */
int rd_addr_mangle(const struct rd_sockaddr *sa, uint8_t out[RD_ADDR_MANGLE_MAX]);

/* Decode. Empty input gives 0.0.0.0:0 and RD_OK. Length > 16 and != 18 is
 * RD_ERR_PROTO (out is set to [::]:0). */
int rd_addr_demangle(const uint8_t *in, size_t len, struct rd_sockaddr *out);

#endif

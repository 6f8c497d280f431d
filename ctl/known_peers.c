/* known_peers: see known_peers.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "known_peers.h"
#include "util.h"

#define KP_FILE_MAX (4u * 1024 * 1024)
#define KP_ID_MAX 128

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* One line [p, end): RD_OK with the id span and pk, else RD_ERR_PROTO, or
 * RD_ERR_NOTFOUND for blank and comment lines. */
static int parse_line(const char *p, const char *end, const char **idp, size_t *idlen,
	uint8_t pk[32])
{
	while (p < end && is_space(*p))
		p++;
	if (p == end || *p == '#')
		return RD_ERR_NOTFOUND;
	const char *id = p;
	while (p < end && !is_space(*p))
		p++;
	*idp = id;
	*idlen = (size_t)(p - id);
	if (*idlen == 0 || *idlen > KP_ID_MAX)
		return RD_ERR_PROTO;
	while (p < end && is_space(*p))
		p++;
	const char *k = p;
	while (p < end && !is_space(*p))
		p++;
	size_t klen = (size_t)(p - k);
	if (klen != RD_B64_PK_LEN)
		return RD_ERR_PROTO;
	char b64[RD_B64_PK_LEN + 1];
	memcpy(b64, k, klen);
	b64[klen] = '\0';
	return rd_pk_from_b64(b64, pk) == RD_OK ? RD_OK : RD_ERR_PROTO;
}

int known_peers_find(const char *text, size_t len, const char *id, uint8_t pk[32], unsigned *bad)
{
	const char *p = text, *end = text + len;
	size_t want = strlen(id);
	int rc = RD_ERR_NOTFOUND;
	if (bad)
		*bad = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *lid;
		size_t lidlen;
		uint8_t k[32];
		int r = parse_line(p, le, &lid, &lidlen, k);
		if (r == RD_OK && lidlen == want && memcmp(lid, id, want) == 0) {
			memcpy(pk, k, 32);
			rc = RD_OK;
		} else if (r == RD_ERR_PROTO && bad) {
			(*bad)++;
		}
		p = nl ? nl + 1 : end;
	}
	return rc;
}

int known_peers_check(const char *path, const char *id, const uint8_t pk[32], uint8_t pinned[32])
{
	char *text = NULL;
	size_t len = 0;
	int rc = rd_read_file(path, KP_FILE_MAX, &text, &len);
	if (rc == RD_ERR_IO && errno == ENOENT)
		return RD_ERR_NOTFOUND;
	if (rc != RD_OK)
		return rc;
	rc = known_peers_find(text, len, id, pinned, NULL);
	free(text);
	if (rc != RD_OK)
		return rc;
	return memcmp(pinned, pk, 32) == 0 ? RD_OK : RD_ERR_MISMATCH;
}

int known_peers_add(const char *path, const char *id, const uint8_t pk[32])
{
	char dir[4096], b64[RD_B64_PK_LEN + 1], line[KP_ID_MAX + 64];
	int rc = RD_OK;
	for (const char *s = id; *s; s++)
		if (is_space(*s) || *s == '\n' || *s == '#')
			return RD_ERR_INVAL;
	if (strlen(id) > KP_ID_MAX)
		return RD_ERR_INVAL;
	rd_strlcpy(dir, path, sizeof(dir));
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if ((rc = rd_mkdir_p(dir, 0700)) != RD_OK)
			return rc;
	}
	rd_pk_to_b64(pk, b64);
	int n = snprintf(line, sizeof(line), "%s %s\n", id, b64);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return RD_ERR_IO;
	if (write(fd, line, (size_t)n) != n)
		rc = RD_ERR_IO;
	if (close(fd) != 0)
		rc = RD_ERR_IO;
	return rc;
}

int ctl_path_expand(const char *in, char *out, size_t outsz)
{
	if (in[0] == '~' && (in[1] == '/' || in[1] == '\0')) {
		const char *home = getenv("HOME");
		if (!home || !*home)
			return RD_ERR_CONFIG;
		if ((size_t)snprintf(out, outsz, "%s%s", home, in + 1) >= outsz)
			return RD_ERR_TOOBIG;
		return RD_OK;
	}
	return rd_strlcpy(out, in, outsz) >= outsz ? RD_ERR_TOOBIG : RD_OK;
}

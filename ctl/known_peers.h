/* known_peers: the peer keys rdctl pinned on first use, one line per peer
 * ("ID BASE64-PK"), '#' comments, like ssh's known_hosts. */
#ifndef RD_CTL_KNOWN_PEERS_H
#define RD_CTL_KNOWN_PEERS_H

#include <stddef.h>
#include <stdint.h>

/* Parse text (not NUL-terminated) for id. RD_OK with pk filled when a valid line
 * names id (the last one wins), RD_ERR_NOTFOUND when none does. Malformed lines
 * are skipped and counted in *bad (may be NULL). I/O free. */
int known_peers_find(const char *text, size_t len, const char *id, uint8_t pk[32], unsigned *bad);

/* Compare pk with the pin for id in the file at path: RD_OK same key,
 * RD_ERR_NOTFOUND no pin (a missing file is no pin), RD_ERR_MISMATCH another key
 * (pinned copied out), or a read error. */
int known_peers_check(const char *path, const char *id, const uint8_t pk[32], uint8_t pinned[32]);
/* Append a pin (creates the folder 0700 and the file 0600). */
int known_peers_add(const char *path, const char *id, const uint8_t pk[32]);

/* "~/x" -> "$HOME/x" into out (other paths copied). */
int ctl_path_expand(const char *in, char *out, size_t outsz);

#endif

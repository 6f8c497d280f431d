/* portal_msg: what the ScreenCast portal's answers carry, and the restore
 * token between runs (private to portal.c). */
#ifndef RD_AGENT_PORTAL_MSG_H
#define RD_AGENT_PORTAL_MSG_H

#include <stdint.h>
#include <systemd/sd-bus.h>

#define PORTAL_TOKEN_MAX 512

/* Results of the Responses (each fills what it carries). */
struct portal_answer {
	char session[256];         /* session object path */
	char restore_token[PORTAL_TOKEN_MAX];
	int n_streams;
	uint32_t node_id;          /* of the first stream */
	int width, height;         /* 0 when not said */
};

/* Read a Response's results (a{sv}) into a; a negative errno when malformed. */
int portal_answer_read(struct portal_answer *a, sd_bus_message *m);

/* The token kept in file (NULL: the one of this process's last session), ""
 * when none or malformed. */
void portal_token_load(const char *file, char out[PORTAL_TOKEN_MAX]);
/* Keep token (in memory, and in file when not NULL, mode 0600). */
void portal_token_store(const char *file, const char *token);

#endif

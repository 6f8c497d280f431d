/* password: where the peer's password comes from (see password.c). */
#ifndef RD_CTL_PASSWORD_H
#define RD_CTL_PASSWORD_H

#include <stddef.h>

struct ctl;
/* RD_OK with the password in out; RD_ERR_NOTFOUND when there is none (no file,
 * no variable, no terminal); RD_ERR_IO when the file cannot be read. */
int ctl_password_get(const struct ctl *c, char *out, size_t outsz);

#endif

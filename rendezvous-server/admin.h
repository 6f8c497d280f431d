/* admin: what an operator does to the data directory beside the server:
 * the lock that tells a running server from a stopped one, and releasing an
 * ID (--forget). */
#ifndef RV_ADMIN_H
#define RV_ADMIN_H

#include <stdbool.h>

/* Lock the data directory: shared by a running server (several may share
 * it, as before), exclusive for --forget, which a running server would undo
 * from memory. Returns an fd to keep open (closing it unlocks) or
 * RD_ERR_LIMIT when the lock is held the other way, RD_ERR_IO otherwise. */
int rv_datadir_lock(const char *dir, bool exclusive);

/* --forget ID: delete the binding of ID from DIR/rendezvous.db. Prints what
 * it did; returns the exit status (0 done, 1 not found or error, 2 usage). */
int rv_admin_forget(const char *dir, const char *id);

#endif

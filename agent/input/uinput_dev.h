/* uinput_dev: create the rdesk virtual keyboard or absolute pointer through a
 * uinput device node. Shared by the uinput input backend (through the privsep
 * client's direct mode) and rd-agent-helper, so the device is made one way. */
#ifndef RD_AGENT_UINPUT_DEV_H
#define RD_AGENT_UINPUT_DEV_H

#include <stdbool.h>

/* The pointer's absolute axes run 0..UINPUT_DEV_ABS_MAX. */
#define UINPUT_DEV_ABS_MAX 32767
#define UINPUT_DEV_KEYBOARD_NAME "rdesk virtual keyboard"
#define UINPUT_DEV_POINTER_NAME "rdesk virtual pointer"

/* Open path (normally /dev/uinput) and create the device; *fd keeps it alive
 * (closing it removes the device). RD_ERR_NOTFOUND (no such node or no
 * uinput driver), RD_ERR_PERM, or RD_ERR_IO when an ioctl fails; errno kept. */
int uinput_dev_create(const char *path, bool pointer, int *fd);

#endif

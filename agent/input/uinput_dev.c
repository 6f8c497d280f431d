/* uinput_dev: the rdesk virtual keyboard and pointer (see uinput_dev.h). */
#include "uinput_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/uinput.h>

#include "err.h"
#include "util.h"

/* Buttons, wheels and two absolute axes. */
static bool ud__pointer_bits(int fd)
{
	const int btns[] = { BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA };
	bool ok = true;
	for (size_t i = 0; i < RD_ARRAY_LEN(btns); i++)
		ok = ok && ioctl(fd, UI_SET_KEYBIT, btns[i]) == 0;
	ok = ok && ioctl(fd, UI_SET_EVBIT, EV_ABS) == 0 && ioctl(fd, UI_SET_EVBIT, EV_REL) == 0 &&
		ioctl(fd, UI_SET_RELBIT, REL_WHEEL) == 0 && ioctl(fd, UI_SET_RELBIT, REL_HWHEEL) == 0 &&
		ioctl(fd, UI_SET_PROPBIT, INPUT_PROP_DIRECT) == 0;
	for (int axis = ABS_X; ok && axis <= ABS_Y; axis++) {
		struct uinput_abs_setup a;
		memset(&a, 0, sizeof(a));
		a.code = (uint16_t)axis;
		a.absinfo.minimum = 0;
		a.absinfo.maximum = UINPUT_DEV_ABS_MAX;
		ok = ioctl(fd, UI_ABS_SETUP, &a) == 0;
	}
	return ok;
}

int uinput_dev_create(const char *path, bool pointer, int *out)
{
	*out = -1;
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT || errno == ENODEV || errno == ENXIO ? RD_ERR_NOTFOUND
			: errno == EACCES || errno == EPERM ? RD_ERR_PERM : RD_ERR_IO;
	bool ok = ioctl(fd, UI_SET_EVBIT, EV_KEY) == 0 && ioctl(fd, UI_SET_EVBIT, EV_SYN) == 0;
	if (pointer)
		ok = ok && ud__pointer_bits(fd);
	else
		for (int k = KEY_ESC; ok && k <= KEY_MICMUTE; k++)
			ok = ioctl(fd, UI_SET_KEYBIT, k) == 0;
	struct uinput_setup us;
	memset(&us, 0, sizeof(us));
	us.id.bustype = BUS_VIRTUAL;
	us.id.vendor = 0x7264;  /* "rd" */
	us.id.product = pointer ? 2 : 1;
	us.id.version = 1;
	rd_strlcpy(us.name, pointer ? UINPUT_DEV_POINTER_NAME : UINPUT_DEV_KEYBOARD_NAME,
		sizeof(us.name));
	ok = ok && ioctl(fd, UI_DEV_SETUP, &us) == 0 && ioctl(fd, UI_DEV_CREATE) == 0;
	if (!ok) {
		int e = errno;
		close(fd);
		errno = e;
		return RD_ERR_IO;
	}
	*out = fd;
	return RD_OK;
}

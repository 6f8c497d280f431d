/* Fuzz target: rdctl's recorder reading the picture size out of keyframes
 * (VP9 uncompressed header, H.264 SPS) and starting a new file when it
 * changes. Input: byte 0 picks the codec (even: VP9, odd: H.264), byte 1
 * where the rest splits into two keyframes. Files go to a private folder. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/media.h"
#include "err.h"

static char dir[64];

static void cleanup(void)
{
	char p[128];
	for (int i = 1; i <= 3; i++) {
		snprintf(p, sizeof(p), i == 1 ? "%s/r.mkv" : "%s/r-%d.mkv", dir, i);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];
	struct ctl_recorder *r;
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-rec.XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
	}
	if (size < 2)
		return 0;
	enum ctl_codec codec = data[0] & 1 ? CTL_CODEC_H264 : CTL_CODEC_VP9;
	size_t split = 2 + (size - 2) * data[1] / 256;
	snprintf(path, sizeof(path), "%s/r.mkv", dir);
	if (ctl_recorder_new(path, codec, 64, 64, &r) != RD_OK)
		return 0;
	if (ctl_recorder_write(r, data + 2, split - 2, true, 0) == RD_OK &&
	    ctl_recorder_write(r, data + split, size - split, true, 40) == RD_OK)
		ctl_recorder_write(r, data + 2, split - 2, false, 80);
	ctl_recorder_finish(r, 120, NULL, NULL);
	return 0;
}

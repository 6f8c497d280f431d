/* Fuzz target: rdctl's key combination and mpv key name parsers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctl/keymap.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[CTL_COMBO_MAX + 8];
	struct ctl_key k;
	char out[64];
	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ctl_keymap_parse_combo(s, &k) == RD_OK) {
		if (k.nmods < 0 || k.nmods > CTL_KEY_MAX_MODS || (!k.control && !k.chr))
			__builtin_trap();
		ctl_keymap_format(&k, out, sizeof(out));
	}
	if (ctl_keymap_parse_mpv(s, &k) == RD_OK)
		ctl_keymap_format(&k, out, sizeof(out));
	return 0;
}

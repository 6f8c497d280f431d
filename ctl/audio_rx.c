/* audio_rx: sound messages onto one time line (see audio_rx.h). */
#define RD_LOG_SUBSYS "audio"
#include "audio_rx.h"

#include <opus/opus.h>

#include "log.h"

int ctl_audio_packet_ms(const uint8_t *data, size_t len)
{
	if (!data || len == 0 || len > 1275 * 3)
		return -1;
	int n = opus_packet_get_nb_samples(data, (opus_int32)len, 48000);
	if (n <= 0 || n % 48 != 0 || n > 48 * 120)
		return -1;
	return n / 48;
}

static bool rx__format(struct ctl_audio_rx *rx, const Hbb__AudioFormat *af)
{
	static const unsigned rates[] = { 8000, 12000, 16000, 24000, 48000 };
	bool ok = false;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		ok |= af->sample_rate == rates[i];
	if (!ok || (af->channels != 1 && af->channels != 2)) {
		log_info("audio format %u Hz, %u channels refused", af->sample_rate, af->channels);
		rx->have_format = false;
		return true;
	}
	if (!rx->have_format)
		log_debug("audio: Opus, %u Hz, %u channels", af->sample_rate, af->channels);
	rx->have_format = true;
	rx->rate = af->sample_rate;
	rx->channels = af->channels;
	return true;
}

/* Silence the agent skipped, up to pts: one-byte packets of the last length. */
static void rx__fill(struct ctl_audio_rx *rx, int64_t pts, ctl_audio_fn fn, void *ud)
{
	uint8_t filler = (uint8_t)(rx->toc & 0xfc);	/* code 0: one frame, empty */
	int ms = rx->last_ms;
	for (int i = 0; i < CTL_AUDIO_FILL_MAX && rx->next_pts + ms <= pts + ms / 2; i++) {
		fn(ud, &filler, 1, rx->next_pts, ms);
		rx->next_pts += ms;
		rx->filled++;
	}
	if (rx->next_pts + ms <= pts + ms / 2)
		rx->next_pts = pts;	/* a gap past the bound: jump */
}

static void rx__frame(struct ctl_audio_rx *rx, const Hbb__AudioFrame *af, ctl_audio_fn fn, void *ud)
{
	int ms = ctl_audio_packet_ms(af->data.data, af->data.len);
	if (!rx->have_format || ms < 0) {
		if (rx->bad++ == 0)
			log_info("audio frame %s, dropped", rx->have_format ? "malformed" : "before its format");
		return;
	}
	int64_t pts = af->rdesk_pts ? af->rdesk_pts : rx->next_pts;
	if (!rx->started) {
		rx->started = true;
		rx->next_pts = pts;
	} else if (pts > rx->next_pts) {
		rx__fill(rx, pts, fn, ud);
	}
	rx->toc = af->data.data[0];
	rx->last_ms = ms;
	fn(ud, af->data.data, af->data.len, rx->next_pts, ms);
	rx->next_pts += ms;
	rx->packets++;
}

void ctl_audio_rx_fill_to(struct ctl_audio_rx *rx, int64_t pts, ctl_audio_fn fn, void *ud)
{
	if (rx->started && rx->last_ms > 0 && pts > rx->next_pts)
		rx__fill(rx, pts, fn, ud);
}

bool ctl_audio_rx_message(struct ctl_audio_rx *rx, const Hbb__Message *m, ctl_audio_fn fn, void *ud)
{
	if (m->union_case == HBB__MESSAGE__UNION_MISC && m->misc &&
	    m->misc->union_case == HBB__MISC__UNION_AUDIO_FORMAT && m->misc->audio_format)
		return rx__format(rx, m->misc->audio_format);
	if (m->union_case == HBB__MESSAGE__UNION_AUDIO_FRAME && m->audio_frame) {
		rx__frame(rx, m->audio_frame, fn, ud);
		return true;
	}
	return false;
}

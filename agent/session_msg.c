/* session_msg: PeerInfo, VideoFrame and SwitchDisplay. */
#include "session_msg.h"

#include <stdlib.h>

#include "err.h"
#include "pb.h"

/* Fills pi (and the objects it points to, all owned by the caller's frame). */
struct peer_info_parts {
	Hbb__PeerInfo pi;
	Hbb__DisplayInfo di;
	Hbb__DisplayInfo *dis[1];
	Hbb__SupportedEncoding enc;
	Hbb__Resolution orig;
};

static void msg__peer_info(struct peer_info_parts *p, const struct session_host *host,
	const struct video_display *d)
{
	*p = (struct peer_info_parts){ .pi = HBB__PEER_INFO__INIT, .di = HBB__DISPLAY_INFO__INIT,
		.enc = HBB__SUPPORTED_ENCODING__INIT, .orig = HBB__RESOLUTION__INIT };
	p->di.width = d->width;
	p->di.height = d->height;
	p->di.name = (char *)(d->name[0] ? d->name : "0");
	p->di.online = 1;
	p->di.cursor_embedded = d->cursor_embedded;
	p->di.scale = 1.0;
	p->orig.width = d->width;
	p->orig.height = d->height;
	p->di.original_resolution = &p->orig;
	p->dis[0] = &p->di;
	p->enc.h264 = true;
	p->pi.hostname = (char *)(host->hostname ? host->hostname : "");
	p->pi.username = (char *)"";
	p->pi.platform = (char *)"Linux";
	p->pi.version = (char *)RD_VERSION;
	p->pi.n_displays = d->width > 0 ? 1 : 0;
	p->pi.displays = p->dis;
	p->pi.current_display = 0;
	p->pi.encoding = &p->enc;
}

int session_msg_send_login_ok(session_send_fn send, void *ud, const struct session_host *host,
	const struct video_display *d)
{
	struct peer_info_parts p;
	msg__peer_info(&p, host, d);
	Hbb__LoginResponse lr = HBB__LOGIN_RESPONSE__INIT;
	lr.union_case = HBB__LOGIN_RESPONSE__UNION_PEER_INFO;
	lr.peer_info = &p.pi;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_LOGIN_RESPONSE;
	m.login_response = &lr;
	return rd_pb_send(&m.base, send, ud);
}

int session_msg_send_video(session_send_fn send, void *ud, const struct video_packet *pkt)
{
	Hbb__EncodedVideoFrame f = HBB__ENCODED_VIDEO_FRAME__INIT;
	f.data.data = pkt->data;
	f.data.len = pkt->len;
	f.key = pkt->key;
	f.pts = pkt->pts_ms;
	Hbb__EncodedVideoFrame *fs[1] = { &f };
	Hbb__EncodedVideoFrames efs = HBB__ENCODED_VIDEO_FRAMES__INIT;
	efs.n_frames = 1;
	efs.frames = fs;
	Hbb__VideoFrame vf = HBB__VIDEO_FRAME__INIT;
	vf.display = 0;
	if (pkt->codec == VIDEO_CODEC_H264) {
		vf.union_case = HBB__VIDEO_FRAME__UNION_H264S;
		vf.h264s = &efs;
	} else {
		vf.union_case = HBB__VIDEO_FRAME__UNION_VP9S;
		vf.vp9s = &efs;
	}
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_VIDEO_FRAME;
	m.video_frame = &vf;
	return rd_pb_send(&m.base, send, ud);
}

int session_msg_send_display(session_send_fn send, void *ud, const struct session_host *host,
	const struct video_display *d)
{
	Hbb__Resolution orig = HBB__RESOLUTION__INIT;
	orig.width = d->width;
	orig.height = d->height;
	Hbb__SwitchDisplay sw = HBB__SWITCH_DISPLAY__INIT;
	sw.display = 0;
	sw.width = d->width;
	sw.height = d->height;
	sw.cursor_embedded = d->cursor_embedded;
	sw.original_resolution = &orig;
	Hbb__Misc misc = HBB__MISC__INIT;
	misc.union_case = HBB__MISC__UNION_SWITCH_DISPLAY;
	misc.switch_display = &sw;
	Hbb__Message m = HBB__MESSAGE__INIT;
	m.union_case = HBB__MESSAGE__UNION_MISC;
	m.misc = &misc;
	int rc = rd_pb_send(&m.base, send, ud);
	if (rc < 0)
		return rc;
	struct peer_info_parts p;
	msg__peer_info(&p, host, d);
	Hbb__Message pm = HBB__MESSAGE__INIT;
	pm.union_case = HBB__MESSAGE__UNION_PEER_INFO;
	pm.peer_info = &p.pi;
	return rd_pb_send(&pm.base, send, ud);
}

/* ---- pure helpers of the session core ---- */

enum video_codec session_choose_codec(const Hbb__SupportedDecoding *sd)
{
	if (!sd)
		return VIDEO_CODEC_VP9;
	/* VP9 decoding is assumed of every RustDesk viewer (§11); both encoders
	 * are always built in. */
	bool vp9 = true;
	bool h264 = sd->ability_h264 > 0;
	switch (sd->prefer) {
	case HBB__SUPPORTED_DECODING__PREFER_CODEC__H264:
		if (h264)
			return VIDEO_CODEC_H264;
		break;
	case HBB__SUPPORTED_DECODING__PREFER_CODEC__VP9:
		if (vp9)
			return VIDEO_CODEC_VP9;
		break;
	default:
		break;
	}
	/* Auto (or an unavailable preference): H.264 before VP9, as RustDesk. */
	if (h264)
		return VIDEO_CODEC_H264;
	if (vp9)
		return VIDEO_CODEC_VP9;
	return 0;
}

const char *session_path_name(enum session_path p)
{
	switch (p) {
	case SESSION_PATH_PUNCH: return "punch";
	case SESSION_PATH_LOCAL: return "lan";
	case SESSION_PATH_RELAY: return "relay";
	case SESSION_PATH_DIRECT: return "direct";
	}
	return "?";
}

const char *session_state_name(enum session_state st)
{
	switch (st) {
	case SESSION_HANDSHAKE: return "handshake";
	case SESSION_LOGIN: return "login";
	case SESSION_ACTIVE: return "active";
	case SESSION_CLOSED: return "closed";
	}
	return "?";
}

int session_msg_audio_option(const Hbb__OptionMessage *o)
{
	if (!o || o->disable_audio == HBB__OPTION_MESSAGE__BOOL_OPTION__NotSet)
		return -1;
	return o->disable_audio == HBB__OPTION_MESSAGE__BOOL_OPTION__Yes ? 0 : 1;
}

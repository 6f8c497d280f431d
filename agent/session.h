/* session: one controller's session as an I/O-free state machine (PROTOCOL.md
 * §9-11). Frames (decrypted payloads) and time go in; frames to send, crypto
 * to switch on, video to start and closes come out through session_ops. The
 * I/O layer (session_io.c) wires it to an rd_conn and the video pipeline; the
 * unit test drives it directly.
 *
 * States: HANDSHAKE (SignedId sent, waiting for PublicKey) -> LOGIN (Hash
 * sent, waiting for LoginRequest) -> ACTIVE (video flows) -> CLOSED.
 * The core never frees itself: ops->close asks the owner to close, and the
 * owner calls session_free later.
 *
 * Before login a session is inert: until LoginResponse{peer_info} is queued,
 * only the handshake, LoginRequest, TestDelay and Misc.close_reason have an
 * effect. Anything else is dropped, counted (session_prelogin_dropped) and
 * logged once per session, and no op but send, set_crypto, pk_refresh and
 * close is called (get_display too, once the password is right, to build
 * the PeerInfo). ops->logged_in is the one place where the owner creates
 * what a logged-in session uses. */
#ifndef RD_AGENT_SESSION_H
#define RD_AGENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "login.h"
#include "message.pb-c.h"
#include "net.h"
#include "session_types.h"
#include "video.h"
#include "video_qos.h"

#define SESSION_HANDSHAKE_TIMEOUT 18.0   /* CONNECT/READ_TIMEOUT of §12 */
#define SESSION_LOGIN_TIMEOUT 30.0       /* from start to a successful login, less the
                                          * time the login guard held a login back */
#define SESSION_IDLE_TIMEOUT 30.0        /* nothing received -> "Timeout" */
#define SESSION_DELAY_PERIOD 1.0         /* TestDelay probe */
#define SESSION_LOGIN_TRIES 3            /* wrong passwords on one connection */

struct session_ops {
	/* Queue one frame (plaintext here; the conn encrypts once crypto is on). */
	int (*send)(void *ud, const uint8_t *payload, size_t len);
	/* Encrypt both directions from the next frame on. */
	void (*set_crypto)(void *ud, const struct rd_crypto_stream *cs);
	/* Current display geometry for PeerInfo (at login, and after). */
	void (*get_display)(void *ud, struct video_display *d);
	/* The login succeeded and LoginResponse{peer_info} is queued: called once,
	 * before any other op below. The owner creates here, and nowhere else,
	 * what a logged-in session uses (input, clipboard, larger frame and queue
	 * limits, and any later audio, file or tunnel state). */
	void (*logged_in)(void *ud);
	/* Start video in codec: right after logged_in, and when the controller
	 * changes its codec preference. */
	void (*start_video)(void *ud, enum video_codec codec);
	void (*request_keyframe)(void *ud);
	/* Close after what was queued is flushed. reason is an rd_err or RD_OK. */
	void (*close)(void *ud, int reason);
	/* The controller said our key at the server looks stale (optional). */
	void (*pk_refresh)(void *ud);
	/* Input hooks (optional; input injection plugs in here). */
	void (*on_key_event)(void *ud, const Hbb__KeyEvent *e);
	void (*on_mouse_event)(void *ud, const Hbb__MouseEvent *e);
	void (*on_clipboard)(void *ud, const Hbb__Clipboard *c);
	/* Video rate hooks (optional). The rate this controller should get
	 * changed (its options, or adaptation to its link); fps 1..120, quality
	 * on the encoder's 1..100 scale. */
	void (*set_video_rate)(void *ud, int fps, int quality);
	/* The bitrate the encoder aims at now (kbit/s), for TestDelay. */
	uint32_t (*target_kbps)(void *ud);
	/* Whether this session's send queue is backing up. */
	bool (*backed_up)(void *ud);
	/* An acknowledgement opened the frame window again. */
	void (*video_ready)(void *ud);
	/* Sound on or off (optional): once after start_video, as the login's
	 * OptionMessage.disable_audio asks (on unless Yes), and again when a
	 * later Misc.option changes it. Never before logged_in. */
	void (*set_audio)(void *ud, bool on);
};

struct session;

struct session *session_new(const struct session_host *host, const struct rd_sockaddr *peer,
	enum session_path path, const struct session_ops *ops, void *ud);
void session_free(struct session *s);

/* The agent's configured frame rate (default and cap) and quality (what
 * ratio 1.0 means); call before session_start. */
void session_set_video_limits(struct session *s, int max_fps, int base_quality);

/* Send SignedId. now is monotonic seconds, here and in every call below (the
 * login guard's clock too). */
int session_start(struct session *s, double now);
/* One received frame payload (already decrypted). */
void session_on_frame(struct session *s, const uint8_t *payload, size_t len, double now);
/* Timers: TestDelay every second, deadlines. Call about once a second. */
void session_tick(struct session *s, double now);

enum session_video_result {
	SESSION_VIDEO_SENT = 0,
	SESSION_VIDEO_SKIPPED = 1,  /* slow peer or waiting for a keyframe */
	SESSION_VIDEO_IGNORED = 2,  /* not active, or another codec */
};
/* Offer one encoded packet at time now (monotonic s); writable says whether
 * the send queue has room, and with LoginRequest.video_ack_required a full
 * acknowledgement window skips the packet too. A skipped packet makes the
 * session wait for the next keyframe (and ask for one once). */
enum session_video_result session_video_packet(struct session *s, const struct video_packet *pkt,
	bool writable, double now);
/* May capture make a frame for this session (its ack window has room)? */
bool session_video_ready(struct session *s, double now);
/* The rate this session should get now (see video_qos.h). */
void session_video_rate(const struct session *s, int *fps, int *quality);
const struct video_qos *session_qos(const struct session *s);
/* The display changed size: SwitchDisplay and a new PeerInfo go out. */
void session_display_changed(struct session *s, const struct video_display *d);
/* Close with Misc.close_reason (e.g. on SIGTERM). */
void session_close(struct session *s, const char *reason);

enum session_state session_state(const struct session *s);
enum session_path session_path(const struct session *s);
enum video_codec session_codec(const struct session *s);
enum rd_crypto_mode session_crypto_mode(const struct session *s);
bool session_encrypted(const struct session *s);
/* The controller's ID from LoginRequest.my_id (escaped for logs), or "". */
const char *session_peer_id(const struct session *s);
const struct rd_sockaddr *session_peer(const struct session *s);
uint32_t session_rtt_ms(const struct session *s);
uint64_t session_frames_sent(const struct session *s);
uint64_t session_frames_skipped(const struct session *s);
/* Messages dropped because they came before the login succeeded. */
uint64_t session_prelogin_dropped(const struct session *s);
/* The controller wants sound (after login; false before). */
bool session_audio_wanted(const struct session *s);

#endif

/* session_io: every controller's session wired to its rd_conn (own send
 * queue) and to the shared video pipeline. */
#ifndef RD_AGENT_SESSION_IO_H
#define RD_AGENT_SESSION_IO_H

#include "buf.h"
#include "json.h"
#include "session.h"
#include "audio/audio.h"

struct ev_loop;
struct rd_conn;
struct video;
struct sio_set;

#define SIO_MAX_SESSIONS 16
#define SIO_MAX_PENDING_PER_SOURCE 4         /* not yet logged in, from one IPv4 address or IPv6 /64 */
#define SIO_FRAME_MAX_PRELOGIN (64u * 1024)  /* before login, frames are small */
#define SIO_SNDQ_SOFT_PRELOGIN (64u << 10)   /* and so is what may queue for a peer */
#define SIO_SNDQ_HARD_PRELOGIN (256u << 10)
#define SIO_SNDQ_SOFT (2u << 20)             /* over this a session skips frames */
#define SIO_SNDQ_HARD (32u << 20)            /* over this it is closed */
#define SIO_SNDQ_BACKED (512u << 10)         /* over this the link counts as slow */

/* Borrowed (the strings must outlive the set; *audio is copied). */
struct sio_set_config {
	const struct session_host *host;   /* what every session shares */
	const char *input_backend;
	const char *display;               /* X display for input, NULL: $DISPLAY */
	bool view_only;
	size_t clipboard_max;
	int fps;                           /* configured frame rate (default and cap) */
	int quality;                       /* configured quality */
	const struct audio_config *audio;  /* sound; NULL: off ([audio] enabled = no) */
};

struct sio_set_ops {
	/* The video pipeline, opened on first use; NULL when no capture works. */
	struct video *(*video)(void *ud);
	/* A controller found our key at the server stale: register it again. */
	void (*pk_refresh)(void *ud);
};

struct sio_set *sio_set_new(struct ev_loop *loop, const struct sio_set_config *cfg,
	const struct sio_set_ops *ops, void *ud);
/* Only when every session is gone (sio_set_count() == 0). */
void sio_set_free(struct sio_set *set);
/* Run a session on c (takes it over). Refused (closed) past SIO_MAX_SESSIONS,
 * or when its source already has SIO_MAX_PENDING_PER_SOURCE sessions that
 * have not logged in (so one address cannot hold every slot). */
/* peer: the controller's address when it is not the socket's peer (relay). */
void sio_set_add(struct sio_set *set, struct rd_conn *c, enum session_path path,
	const struct rd_sockaddr *peer);
void sio_set_tick(struct sio_set *set, double now);
/* Misc.close_reason to everyone, then close after flushing. */
void sio_set_close_all(struct sio_set *set, const char *reason);
unsigned sio_set_count(const struct sio_set *set);
/* Messages dropped because they came before a login, all sessions so far. */
uint64_t sio_set_prelogin_dropped(const struct sio_set *set);
/* The "sessions" array, a member of the object open in j. */
void sio_set_status_json(const struct sio_set *set, struct rd_json *j);

#endif

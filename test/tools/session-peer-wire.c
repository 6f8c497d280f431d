/* session-peer's connection: the socket, the frames (sealed once the
 * handshake is done) and the controller's side of the handshake. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "codec.h"
#include "err.h"
#include "handshake.h"
#include "util.h"

#include "session-peer.h"

void sp_die(const char *what, const char *detail)
{
	fprintf(stderr, "session-peer: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

void sp_out(const struct sp *p, const char *fmt, ...)
{
	if (p->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void sp_write(struct sp *p, const uint8_t *payload, size_t len)
{
	if (p->eof || p->write_failed)
		return;
	struct rd_buf sealed, framed;
	rd_buf_init(&sealed, 0);
	rd_buf_init(&framed, 0);
	if (p->crypto) {
		if (rd_crypto_seal(&p->cs, payload, len, &sealed) != RD_OK)
			sp_die("seal", NULL);
		payload = rd_buf_ptr(&sealed);
		len = rd_buf_size(&sealed);
	}
	if (rd_frame_append(&framed, payload, len) != RD_OK)
		sp_die("frame", NULL);
	const uint8_t *q = rd_buf_ptr(&framed);
	size_t left = rd_buf_size(&framed);
	while (left > 0) {
		ssize_t n = write(p->fd, q, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->write_failed = true; /* the agent closed, or stopped reading */
			break;
		}
		q += n;
		left -= (size_t)n;
	}
	rd_buf_free(&sealed);
	rd_buf_free(&framed);
}

void sp_send(struct sp *p, const Hbb__Message *m)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rd_pb_pack(&m->base, &buf, &len) != RD_OK)
		sp_die("pack", NULL);
	sp_write(p, buf, len);
	free(buf);
}

int sp_read_frame(struct sp *p, double secs, struct rd_buf *out)
{
	double until = rd_now() + secs;
	for (;;) {
		const uint8_t *pl;
		size_t plen, used;
		int rc = rd_frame_next(rd_buf_ptr(&p->in), rd_buf_size(&p->in), RD_FRAME_MAX_SESSION,
			&pl, &plen, &used);
		if (rc == RD_OK) {
			rd_buf_reset(out);
			if (p->crypto)
				rc = rd_crypto_open(&p->cs, pl, plen, out);
			else
				rc = rd_buf_put(out, pl, plen);
			if (rc != RD_OK)
				sp_die("a frame from the agent does not open", rd_strerror(rc));
			rd_buf_consume(&p->in, used);
			return 1;
		}
		if (rc != RD_ERR_TRUNCATED)
			sp_die("bad frame from the agent", rd_strerror(rc));
		double left = until - rd_now();
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			return 0;
		uint8_t *dst = rd_buf_reserve(&p->in, 1 << 16);
		if (!dst)
			sp_die("out of memory", NULL);
		ssize_t n = read(p->fd, dst, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		rd_buf_commit(&p->in, (size_t)n);
	}
}

void sp_disconnect(struct sp *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	rd_buf_reset(&p->in);
	rd_crypto_stream_wipe(&p->cs);
	p->crypto = p->eof = p->write_failed = false;
	p->salt[0] = p->challenge[0] = '\0';
	p->video_frames = 0;
}

static int sp__connect(struct sp *p)
{
	/* For a flood, a small receive buffer, so that the echoes the agent
	 * queues stay with it; writes give up after a while when the agent
	 * stops reading. */
	int rcvbuf = 4096;
	struct timeval tv = { .tv_sec = 5 };
	p->fd = socket(p->addr.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0 ||
	    (p->small_rcvbuf && setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) ||
	    setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    (p->have_local && bind(p->fd, &p->local.u.sa, p->local.len) < 0) ||
	    connect(p->fd, &p->addr.u.sa, p->addr.len) < 0)
		return RD_ERR_IO;
	return RD_OK;
}

int sp_handshake(struct sp *p)
{
	sp_disconnect(p);
	int rc = sp__connect(p);
	if (rc != RD_OK)
		return rc;
	struct rd_buf f;
	rd_buf_init(&f, 0);
	struct rd_handshake *h = NULL;
	uint8_t *reply = NULL;
	size_t rlen = 0;
	rc = sp_read_frame(p, 10, &f) == 1 ? RD_OK : RD_ERR_PROTO; /* the SignedId */
	if (rc == RD_OK) {
		h = rd_handshake_ctl_new(p->id, p->pk, RD_FEAT_KDF);
		rc = rd_handshake_ctl_on_signed_id(h, rd_buf_ptr(&f), rd_buf_size(&f), &reply, &rlen);
	}
	if (rc == RD_OK) {
		sp_out(p, "rx signed_id\n");
		sp_write(p, reply, rlen);
		rc = rd_handshake_stream(h, &p->cs);
		p->crypto = rc == RD_OK;
	}
	free(reply);
	rd_handshake_free(h);
	rd_buf_free(&f);
	return rc;
}

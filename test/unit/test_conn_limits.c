/* conn: first-message and idle timeouts, send queue limits against a peer
 * that does not read, closing inside on_frame, pausing, close after flush. */
#include "conn_harness.h"

static void test_first_message_timeout(void **state)
{
	struct rd_conn_limits lim = { .first_msg_timeout = 0.2 };
	struct peer b, c;
	int sv[2], sv2[2];
	(void)state;

	/* nothing at all */
	peer_init(&b);
	pair(sv);
	b.c = rd_conn_new(loop, sv[1], false, &lim, &ops, &b);
	assert_true(run_until(is_closed, &b, 3));
	assert_int_equal(b.reason, RD_ERR_TIMEOUT);
	close(sv[0]);
	peer_done(&b);

	/* bytes, but never a whole frame */
	peer_init(&c);
	pair(sv2);
	c.c = rd_conn_new(loop, sv2[1], false, &lim, &ops, &c);
	assert_int_equal(write(sv2[0], "\x01", 1), 1); /* half of a 2-byte header */
	assert_true(run_until(is_closed, &c, 3));
	assert_int_equal(c.reason, RD_ERR_TIMEOUT);
	assert_int_equal(c.nframes, 0);
	close(sv2[0]);
	peer_done(&c);

	/* heartbeats (empty frames) are delivered but do not disarm it */
	peer_init(&c);
	pair(sv2);
	c.c = rd_conn_new(loop, sv2[1], false, &lim, &ops, &c);
	for (int i = 0; i < 20 && !c.closed; i++) {
		(void)!send(sv2[0], "\x00", 1, MSG_NOSIGNAL);
		run_for(0.05);
	}
	assert_true(run_until(is_closed, &c, 3));
	assert_int_equal(c.reason, RD_ERR_TIMEOUT);
	assert_true(c.nframes >= 1);
	close(sv2[0]);
	peer_done(&c);

	/* a frame in time disarms it (generous deadline: a busy machine may
	 * stall us before the first loop iteration) */
	lim.first_msg_timeout = 0.5;
	peer_init(&b);
	pair(sv);
	assert_int_equal(write(sv[0], "\x04x", 2), 2);
	b.c = rd_conn_new(loop, sv[1], false, &lim, &ops, &b);
	run_for(0.8);
	assert_int_equal(b.closed, 0);
	assert_int_equal(b.nframes, 1);
	close(sv[0]);
	assert_true(run_until(is_closed, &b, 2));
	assert_int_equal(b.reason, RD_ERR_EOF);
	peer_done(&b);
}

static void test_idle_timeout(void **state)
{
	struct rd_conn_limits lim = { .idle_timeout = 0.5 };
	struct peer b;
	int sv[2];
	(void)state;

	peer_init(&b);
	pair(sv);
	b.c = rd_conn_new(loop, sv[1], false, &lim, &ops, &b);
	/* heartbeats every 0.1 s keep it open well past the idle time */
	for (int i = 0; i < 9; i++) {
		assert_int_equal(write(sv[0], "\x00", 1), 1);
		run_for(0.1);
		assert_int_equal(b.closed, 0);
	}
	assert_int_equal(b.nframes, 9);
	/* pausing suspends it */
	rd_conn_pause_read(b.c, true);
	run_for(0.8);
	assert_int_equal(b.closed, 0);
	rd_conn_pause_read(b.c, false);
	/* then silence closes it */
	assert_true(run_until(is_closed, &b, 3));
	assert_int_equal(b.reason, RD_ERR_TIMEOUT);
	close(sv[0]);
	peer_done(&b);
}

static bool drained(void *arg)
{
	return ((struct peer *)arg)->drained > 0;
}

/* The far end never reads: first the soft limit, then the hard one. */
static void test_queue_limits(void **state)
{
	struct rd_conn_limits lim = { .sndq_soft = 256 * 1024, .sndq_hard = 1024 * 1024 };
	static uint8_t chunk[16384];
	struct peer a;
	int sv[2], i, rc = RD_OK;
	uint8_t sink[65536];
	(void)state;

	peer_init(&a);
	pair(sv);
	a.c = rd_conn_new(loop, sv[0], false, &lim, &ops, &a);
	for (i = 0; i < 1000 && rd_conn_writable(a.c); i++) {
		assert_int_equal(rd_conn_send(a.c, chunk, sizeof(chunk)), RD_OK);
		ev_run(loop, EVRUN_NOWAIT);
	}
	assert_false(rd_conn_writable(a.c));
	assert_true(rd_conn_queued(a.c) >= lim.sndq_soft);
	assert_true(rd_conn_queued(a.c) <= lim.sndq_hard);
	assert_int_equal(a.drained, 0);

	/* the peer reads everything: back under the soft limit, on_drain once */
	for (i = 0; i < 200 && !a.drained; i++) {
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
		run_until(drained, &a, 0.05);
	}
	assert_int_equal(a.drained, 1);
	assert_true(rd_conn_writable(a.c));

	/* and stops reading: sends go on past soft until the hard limit closes */
	for (i = 0; i < 1000 && rc == RD_OK; i++)
		rc = rd_conn_send(a.c, chunk, sizeof(chunk));
	assert_int_equal(rc, RD_ERR_LIMIT);
	assert_true(rd_conn_closing(a.c));
	assert_int_equal(rd_conn_send(a.c, chunk, 1), RD_ERR_CLOSED);
	assert_true(run_until(is_closed, &a, 2));
	assert_int_equal(a.reason, RD_ERR_LIMIT);
	close(sv[1]);
	peer_done(&a);
}

/* on_frame closes (after sending) with more frames already buffered. */
static void test_close_in_frame(void **state)
{
	struct peer a, b;
	int sv[2];
	(void)state;

	peers_connect(&a, &b, sv);
	b.close_at = 2;
	b.send_then_close = true;
	for (int i = 0; i < 5; i++)
		assert_int_equal(rd_conn_send(a.c, "frame", 5), RD_OK);
	assert_true(run_until(is_closed, &b, 2));
	assert_int_equal(b.nframes, 2);
	assert_int_equal(b.closed, 1);
	assert_int_equal(b.reason, RD_OK);
	/* the reply sent just before the close was written at once */
	assert_true(run_until(is_closed, &a, 2));
	assert_int_equal(a.reason, RD_ERR_EOF);
	assert_int_equal(a.nframes, 1);
	assert_memory_equal(rd_buf_ptr(&a.got), "bye", 3);
	run_for(0.05);
	assert_int_equal(b.closed, 1);
	peer_done(&a);
	peer_done(&b);
}

static bool has_two(void *arg)
{
	return ((struct peer *)arg)->nframes >= 3;
}

static void test_pause(void **state)
{
	struct peer a, b;
	int sv[2];
	(void)state;

	peers_connect(&a, &b, sv);
	b.pause_at = 1;
	/* one write, three frames: two stay buffered while paused */
	assert_int_equal(rd_conn_send_raw(a.c, "\x04" "a" "\x04" "b" "\x04" "c", 6), RD_OK);
	run_for(0.2);
	assert_int_equal(b.nframes, 1);
	rd_conn_pause_read(b.c, false);
	assert_true(run_until(has_two, &b, 2));
	assert_memory_equal(rd_buf_ptr(&b.got), "abc", 3);
	peer_done(&a);
	peer_done(&b);
}

/* After close_after_flush the peer gets every byte, then EOF. */
static void test_close_after_flush(void **state)
{
	uint8_t *big = malloc(MIB);
	struct peer a, b;
	int sv[2];
	(void)state;

	peers_connect(&a, &b, sv);
	fill(big, MIB, 3);
	assert_int_equal(rd_conn_send(a.c, big, MIB), RD_OK);
	assert_int_equal(rd_conn_send(a.c, "last", 4), RD_OK);
	rd_conn_close_after_flush(a.c);
	assert_int_equal(rd_conn_send(a.c, "x", 1), RD_ERR_CLOSED);
	assert_true(run_until(is_closed, &b, 5));
	assert_int_equal(b.reason, RD_ERR_EOF);
	assert_int_equal(b.nframes, 2);
	assert_memory_equal(rd_buf_ptr(&b.got), big, MIB);
	assert_memory_equal(rd_buf_ptr(&b.got) + MIB, "last", 4);
	assert_true(run_until(is_closed, &a, 2));
	assert_int_equal(a.reason, RD_OK);
	free(big);
	peer_done(&a);
	peer_done(&b);
}

/* A peer that never reads: the flush-close gives up after 5 s. */
static void test_close_after_flush_timeout(void **state)
{
	uint8_t *big = calloc(1, 4 * MIB);
	struct peer a;
	int sv[2];
	(void)state;

	peer_init(&a);
	pair(sv);
	a.c = rd_conn_new(loop, sv[0], false, NULL, &ops, &a);
	assert_int_equal(rd_conn_send(a.c, big, 4 * MIB), RD_OK);
	rd_conn_close_after_flush(a.c);
	assert_true(rd_conn_closing(a.c));
	assert_false(rd_conn_writable(a.c));
	run_for(1);
	assert_int_equal(a.closed, 0);
	assert_true(run_until(is_closed, &a, 8));
	assert_int_equal(a.reason, RD_ERR_TIMEOUT);
	close(sv[1]);
	free(big);
	peer_done(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_message_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_in_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_after_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_after_flush_timeout, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/sysgenid: the ioctls (SPEC section 4), both numberings.
 */
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <termios.h>
#include <time.h>
#include <linux/capability.h>

#include "sgtest.h"

/* ---- GET_OUTDATED_WATCHERS and SET_WATCHER_TRACKING ---- */

TEST(outdated_counts_tracked_files_across_processes)
{
	struct sg_holder h = { .rw = 2, .ro = 1 };
	struct sg_child c[3];
	int ro = sg_open(O_RDONLY);
	struct sg_msg m;
	int i, n;

	/* Settle: every other watcher is outdated now and stays so. */
	sg_bump(ro);
	n = sg_outdated(ro);
	ASSERT_LE(0, n);
	for (i = 0; i < 3; i++) {
		c[i] = sg_spawn(sg_holder_fn, &h);
		ASSERT_EQ(1, sg_recv(c[i].from, &m, SG_GUARD_MS));
	}
	/* Up to date: none counts yet. */
	EXPECT_EQ(n, sg_outdated(ro));
	sg_bump(ro);
	EXPECT_EQ(n + 6, sg_outdated(ro));
	for (i = 0; i < 3; i++) {
		sg_tell(&c[i], SG_CMD_EXIT);
		waitpid(c[i].pid, NULL, 0);
		c[i].pid = 0;
		sg_reap(&c[i]);
	}
	EXPECT_EQ(n, sg_outdated(ro));
	close(ro);
}

TEST(outdated_drops_when_another_process_confirms)
{
	struct sg_holder h = { .rw = 2 };
	struct sg_child c = sg_spawn(sg_holder_fn, &h);
	int ro = sg_open(O_RDONLY);
	struct sg_msg m;
	int n;

	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	sg_bump(ro);
	n = sg_outdated(ro);
	ASSERT_LE(2, n);
	sg_tell(&c, SG_CMD_ACK);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(n - 2, sg_outdated(ro));
	sg_reap(&c);
	close(ro);
}

TEST(outdated_drops_on_close)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	int n;

	sg_bump(ro);
	n = sg_outdated(ro);
	ASSERT_LE(1, n);
	close(fd);
	EXPECT_EQ(n - 1, sg_outdated(ro));
	close(ro);
}

TEST(outdated_drops_when_holder_is_killed)
{
	struct sg_holder h = { .rw = 3, .ro = 2 };
	struct sg_child c = sg_spawn(sg_holder_fn, &h);
	int ro = sg_open(O_RDONLY);
	struct sg_msg m;
	int n;

	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	sg_bump(ro);
	n = sg_outdated(ro);
	ASSERT_LE(3, n);
	/* sg_reap() kills it with its files open, and waits for it. */
	sg_reap(&c);
	EXPECT_EQ(n - 3, sg_outdated(ro));
	close(ro);
}

TEST(read_only_files_never_count)
{
	int ro = sg_open(O_RDONLY);
	int fds[5], i, n;

	sg_bump(ro);
	n = sg_outdated(ro);
	for (i = 0; i < 5; i++)
		fds[i] = sg_open(O_RDONLY);
	sg_bump(ro);
	EXPECT_EQ(n, sg_outdated(ro));
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(1, sg_ready(fds[i]));
		close(fds[i]);
	}
	EXPECT_EQ(n, sg_outdated(ro));
	close(ro);
}

TEST(set_tracking_off_and_on)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	int wo = sg_open(O_WRONLY);
	int n;

	sg_bump(ro);
	n = sg_outdated(ro);
	ASSERT_LE(2, n);
	EXPECT_EQ(0, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 0));
	EXPECT_EQ(n - 1, sg_outdated(ro));
	/* Off twice is off. */
	EXPECT_EQ(0, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 0));
	EXPECT_EQ(n - 1, sg_outdated(ro));
	/* An untracked file does not count on the next event either. */
	sg_bump(ro);
	EXPECT_EQ(n - 1, sg_outdated(ro));
	/* Back on while outdated: counted again, and once. */
	EXPECT_EQ(0, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 1));
	EXPECT_EQ(n, sg_outdated(ro));
	EXPECT_EQ(0, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 1));
	EXPECT_EQ(n, sg_outdated(ro));
	/* Untracked, then confirmed, then tracked: not outdated. */
	EXPECT_EQ(0, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 0));
	sg_ack(fd);
	EXPECT_EQ(0, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 1));
	EXPECT_EQ(n - 1, sg_outdated(ro));
	/* O_WRONLY is write access too. */
	EXPECT_EQ(0, ioctl(wo, SYSGENID_SET_WATCHER_TRACKING, 0));
	EXPECT_EQ(n - 2, sg_outdated(ro));
	close(wo);
	close(fd);
	EXPECT_EQ(n - 2, sg_outdated(ro));
	close(ro);
}

TEST(set_tracking_read_only_file_ebadf)
{
	int ro = sg_open(O_RDONLY);
	int n;

	sg_bump(ro);
	n = sg_outdated(ro);
	EXPECT_EQ(-1, ioctl(ro, SYSGENID_SET_WATCHER_TRACKING, 1));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, ioctl(ro, SYSGENID_SET_WATCHER_TRACKING, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(n, sg_outdated(ro));
	close(ro);
}

TEST(set_tracking_argument_out_of_range_einval)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	int n;

	sg_bump(ro);
	n = sg_outdated(ro);
	EXPECT_EQ(-1, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 2));
	EXPECT_EQ(EINVAL, errno);
	/* Not truncated to 32 bits: still "0" or "1" would be wrong. */
	EXPECT_EQ(-1, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 1UL << 32));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING,
			    (1UL << 32) | 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(n, sg_outdated(ro));
	close(fd);
	close(ro);
}

/* ---- WAIT_WATCHERS, both numberings ---- */

FIXTURE(wait) {
	int ro;
};

FIXTURE_VARIANT(wait) {
	unsigned long cmd;
};

FIXTURE_VARIANT_ADD(wait, v4) {
	.cmd = SYSGENID_WAIT_WATCHERS,
};

FIXTURE_VARIANT_ADD(wait, v6) {
	.cmd = SYSGENID_WAIT_WATCHERS_V6,
};

FIXTURE_SETUP(wait)
{
	self->ro = sg_open(O_RDONLY);
	/* These tests need every other watcher up to date. */
	if (sg_outdated(self->ro))
		SKIP(return, "%d outdated watchers elsewhere",
		     sg_outdated(self->ro));
}

FIXTURE_TEARDOWN(wait)
{
	close(self->ro);
}

struct waiter {
	unsigned long cmd;
	unsigned long timeout;
	int flags;	/* of the waiter's own file */
	bool ack;	/* confirm it before waiting */
	bool restart;	/* SIGUSR1's handler has SA_RESTART */
};

/*
 * Child: open its file, report, wait for "go", confirm if asked, report
 * "waiting", call WAIT_WATCHERS and report its result and the guard.
 */
static void waiter_fn(void *arg, int in, int out)
{
	struct waiter *w = arg;
	int fd = sg_open(w->flags | O_NONBLOCK);
	long ret;

	sg_catch(SIGUSR1, sg_noop_handler);
	if (w->restart) {
		struct sigaction sa = { .sa_handler = sg_noop_handler,
					.sa_flags = SA_RESTART };

		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGUSR1, &sa, NULL))
			sg_die("sigaction");
	}
	sg_send(out, 0, 0);
	sg_wait_cmd(in);
	if (w->ack)
		sg_ack(fd);
	sg_arm_guard();
	sg_send(out, 0, 0);
	ret = ioctl(fd, w->cmd, w->timeout);
	sg_send(out, ret, ret < 0 ? errno : 0);
}

/* Start a waiter; its file is opened before the test's next event. */
static struct sg_child start_waiter(struct waiter *w)
{
	struct sg_child c = sg_spawn(waiter_fn, w);
	struct sg_msg m;

	if (sg_recv(c.from, &m, SG_GUARD_MS) != 1)
		sg_die("waiter did not start");
	return c;
}

static void go_waiter(struct sg_child *c)
{
	struct sg_msg m;

	sg_tell(c, 0);
	if (sg_recv(c->from, &m, SG_GUARD_MS) != 1)
		sg_die("waiter did not go");
}

TEST_F(wait, none_outdated_returns_0)
{
	struct waiter w = { .cmd = variant->cmd, .flags = O_RDWR };
	struct sg_child c = start_waiter(&w);
	struct sg_msg m;

	go_waiter(&c);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(0, m.ret);
	EXPECT_EQ(0, m.guard);
	sg_reap(&c);
}

TEST_F(wait, blocks_until_last_watcher_confirms)
{
	struct waiter w = { .cmd = variant->cmd, .flags = O_RDWR,
			    .ack = true };
	struct sg_holder h = { .rw = 1 };
	struct sg_child a = sg_spawn(sg_holder_fn, &h);
	struct sg_child b = sg_spawn(sg_holder_fn, &h);
	struct sg_child c = start_waiter(&w);
	struct sg_msg m;

	ASSERT_EQ(1, sg_recv(a.from, &m, SG_GUARD_MS));
	ASSERT_EQ(1, sg_recv(b.from, &m, SG_GUARD_MS));
	sg_bump(self->ro);
	ASSERT_EQ(3, sg_outdated(self->ro));
	go_waiter(&c);
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SYS_ioctl));
	ASSERT_EQ(0, sg_recv(c.from, &m, 0));
	sg_tell(&a, SG_CMD_ACK);
	ASSERT_EQ(1, sg_recv(a.from, &m, SG_GUARD_MS));
	/* One watcher is still outdated: still asleep. */
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SYS_ioctl));
	ASSERT_EQ(0, sg_recv(c.from, &m, 0));
	sg_tell(&b, SG_CMD_ACK);
	ASSERT_EQ(1, sg_recv(b.from, &m, SG_GUARD_MS));
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(0, m.ret);
	EXPECT_EQ(0, m.err);
	EXPECT_EQ(0, m.guard);
	sg_reap(&c);
	sg_reap(&b);
	sg_reap(&a);
}

TEST_F(wait, timeout_expires_etime)
{
	struct waiter w = { .cmd = variant->cmd, .flags = O_RDONLY,
			    .timeout = 100 };
	int fd = sg_open(O_RDWR);
	struct sg_child c = start_waiter(&w);
	struct sg_msg m;

	sg_bump(self->ro);
	go_waiter(&c);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(-1, m.ret);
	EXPECT_EQ(ETIME, m.err);
	EXPECT_EQ(0, m.guard);
	sg_reap(&c);
	close(fd);
}

TEST_F(wait, caller_outdated_eintr)
{
	struct waiter w = { .cmd = variant->cmd, .flags = O_RDWR };
	struct sg_child c = start_waiter(&w);
	struct sg_msg m;

	sg_bump(self->ro);
	go_waiter(&c);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(-1, m.ret);
	EXPECT_EQ(EINTR, m.err);
	/* EINTR from the guard's alarm would not count. */
	EXPECT_EQ(0, m.guard);
	sg_reap(&c);
}

TEST_F(wait, event_while_waiting_eintr)
{
	struct waiter w = { .cmd = variant->cmd, .flags = O_RDWR,
			    .ack = true };
	struct sg_holder h = { .rw = 1 };
	struct sg_child a = sg_spawn(sg_holder_fn, &h);
	struct sg_child c = start_waiter(&w);
	struct sg_msg m;

	ASSERT_EQ(1, sg_recv(a.from, &m, SG_GUARD_MS));
	sg_bump(self->ro);
	go_waiter(&c);
	/*
	 * Held up by the holder's file, asleep in the call: the event must
	 * end the wait, not find the caller outdated on entry.
	 */
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SYS_ioctl));
	ASSERT_EQ(0, sg_recv(c.from, &m, 0));
	sg_bump(self->ro);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(-1, m.ret);
	EXPECT_EQ(EINTR, m.err);
	EXPECT_EQ(0, m.guard);
	sg_reap(&c);
	sg_reap(&a);
}

TEST_F(wait, signal_interrupts_eintr)
{
	struct waiter w = { .cmd = variant->cmd, .flags = O_RDONLY };
	int fd = sg_open(O_RDWR);
	struct sg_child c = start_waiter(&w);
	struct sg_msg m;

	sg_bump(self->ro);
	go_waiter(&c);
	/* Asleep: its own file is untracked, so no EINTR of its own. */
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SYS_ioctl));
	ASSERT_EQ(0, sg_recv(c.from, &m, 0));
	kill(c.pid, SIGUSR1);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(-1, m.ret);
	EXPECT_EQ(EINTR, m.err);
	EXPECT_EQ(0, m.guard);
	sg_reap(&c);
	close(fd);
}

/*
 * Signals faster than the timeout, with SA_RESTART: a call restarted with
 * its full timeout each time would never end. It must fail with EINTR
 * (never restarted, as libsysgenid documents) long before the signals
 * stop, and never be the guard's doing.
 */
TEST_F(wait, sa_restart_signals_never_restart_it)
{
	struct waiter w = { .cmd = variant->cmd, .flags = O_RDONLY,
			    .timeout = 300, .restart = true };
	int fd = sg_open(O_RDWR);
	struct sg_child c = start_waiter(&w);
	struct sg_msg m;
	int i, got = 0;

	/* A lagging watcher: the test's own, never confirmed. */
	sg_bump(self->ro);
	go_waiter(&c);
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SYS_ioctl));
	/* 30 signals, 100 ms apart: ten times the timeout. */
	for (i = 0; i < 30 && !got; i++) {
		kill(c.pid, SIGUSR1);
		got = sg_recv(c.from, &m, 100);
	}
	ASSERT_EQ(1, got);
	EXPECT_EQ(-1, m.ret);
	EXPECT_EQ(EINTR, m.err);
	EXPECT_EQ(0, m.guard);
	sg_reap(&c);
	close(fd);
}

/* A stop and a continue run no handler: the wait goes on to its end. */
TEST_F(wait, stop_and_continue_does_not_end_it)
{
	struct waiter w = { .cmd = variant->cmd, .flags = O_RDONLY,
			    .timeout = 1000 };
	int fd = sg_open(O_RDWR);
	struct sg_child c = start_waiter(&w);
	struct sg_msg m;
	int st;

	sg_bump(self->ro);
	go_waiter(&c);
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SYS_ioctl));
	kill(c.pid, SIGSTOP);
	ASSERT_EQ(c.pid, waitpid(c.pid, &st, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(st));
	kill(c.pid, SIGCONT);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(-1, m.ret);
	EXPECT_EQ(ETIME, m.err);
	EXPECT_EQ(0, m.guard);
	sg_reap(&c);
	close(fd);
}

/* ---- WAIT_WATCHERS and threads sharing one tracked file ---- */

struct shared {
	unsigned long cmd;
	int fd;			/* X: the tracked file the threads share */
	int stop;
	long waits, eintr, etime, zero, other;
};

/* Thread A: WAIT_WATCHERS on X, again and again. */
static void *shared_waiter(void *arg)
{
	struct shared *sh = arg;

	while (!sg_load(&sh->stop)) {
		long r = ioctl(sh->fd, sh->cmd, 50UL);

		__atomic_add_fetch(&sh->waits, 1, __ATOMIC_RELAXED);
		if (!r) {
			__atomic_add_fetch(&sh->zero, 1, __ATOMIC_RELAXED);
		} else if (errno == EINTR) {
			/* Again at once: X may be confirmed meanwhile. */
			__atomic_add_fetch(&sh->eintr, 1, __ATOMIC_RELAXED);
		} else if (errno == ETIME) {
			__atomic_add_fetch(&sh->etime, 1, __ATOMIC_RELAXED);
		} else {
			__atomic_add_fetch(&sh->other, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* Thread B: confirm X the moment it is outdated. */
static void *shared_confirmer(void *arg)
{
	struct shared *sh = arg;
	__u32 g;

	while (!sg_load(&sh->stop)) {
		if (sg_read(sh->fd, &g) == 4 && write(sh->fd, &g, 4) != 4 &&
		    errno != EINVAL)
			sg_die("confirm");
	}
	return NULL;
}

/*
 * Threads A (waiting) and B (confirming) share the tracked file X while
 * another process holds a tracked file Y that never confirms, and events
 * come one after the other. Y is outdated throughout, so WAIT_WATCHERS on
 * X must never return 0: an event ends A's wait with EINTR (X outdated),
 * even when B has confirmed X before A returns.
 */
TEST_F(wait, shared_file_never_0_while_another_lags)
{
	struct shared sh = { .cmd = variant->cmd };
	struct sg_holder h = { .rw = 1 };
	struct sg_child y = sg_spawn(sg_holder_fn, &h);
	struct timespec now, end;
	const __u32 *gen;
	pthread_t t[3];
	struct sg_msg m;
	int i, n;

	alarm(SG_GUARD_S);
	ASSERT_EQ(1, sg_recv(y.from, &m, SG_GUARD_MS));
	sh.fd = sg_open(O_RDWR | O_NONBLOCK);
	gen = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, self->ro, 0);
	ASSERT_NE(MAP_FAILED, gen);
	/* Y is outdated from now on. */
	sg_bump(self->ro);
	ASSERT_LE(1, sg_outdated(self->ro));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, shared_waiter, &sh));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, shared_confirmer, &sh));
	/* 10 s of events, well within the guard. */
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 10;
	for (n = 0; !sg_load(&sh.zero); n++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec > end.tv_nsec))
			break;
		/* One event each (as sg_bump(), without its mapping). */
		ASSERT_EQ(0, ioctl(self->ro, SYSGENID_FORCE_GEN_UPDATE,
				   (unsigned long)sg_load(gen)));
	}
	sg_store(&sh.stop, 1);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%d events, %ld waits: %ld EINTR, %ld ETIME, %ld zero",
	       n, sh.waits, sh.eintr, sh.etime, sh.zero);
	EXPECT_EQ(0, sh.zero);
	EXPECT_EQ(0, sh.other);
	/* The path was taken: events ended waits. */
	EXPECT_LT(0, sh.eintr);
	/* Y still lags. */
	EXPECT_LE(1, sg_outdated(self->ro));
	sg_reap(&y);
	munmap((void *)gen, sg_page());
	close(sh.fd);
}

TEST_F(wait, timeout_above_u32_einval)
{
	int fd = sg_open(O_RDWR);

	/* Outdated watcher present: a truncated 1 ms timeout would ETIME. */
	sg_bump(self->ro);
	alarm(SG_GUARD_S);
	EXPECT_EQ(-1, ioctl(self->ro, variant->cmd, (1UL << 32) | 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* ---- FORCE_GEN_UPDATE and TRIGGER_GEN_UPDATE ---- */

FIXTURE(force) {
	int ro;
};

FIXTURE_VARIANT(force) {
	unsigned long cmd;
};

FIXTURE_VARIANT_ADD(force, v4) {
	.cmd = SYSGENID_FORCE_GEN_UPDATE,
};

FIXTURE_VARIANT_ADD(force, v6) {
	.cmd = SYSGENID_TRIGGER_GEN_UPDATE,
};

/* A read-only file: privilege is a matter of capabilities only. */
FIXTURE_SETUP(force)
{
	self->ro = sg_open(O_RDONLY);
}

FIXTURE_TEARDOWN(force)
{
	close(self->ro);
}

TEST_F(force, moves_by_one)
{
	__u32 g = sg_gen();

	ASSERT_EQ(0, ioctl(self->ro, variant->cmd, (unsigned long)g));
	EXPECT_EQ(g + 1, sg_gen());
	ASSERT_EQ(1, sg_ready(self->ro));
}

TEST_F(force, minimum_ahead_is_taken)
{
	__u32 g = sg_gen();

	ASSERT_EQ(0, ioctl(self->ro, variant->cmd, (unsigned long)(g + 1000)));
	EXPECT_EQ(g + 1000, sg_gen());
	/* The largest step ahead. */
	ASSERT_EQ(0, ioctl(self->ro, variant->cmd,
			   (unsigned long)(__u32)(g + 1000 + 0x7fffffff)));
	EXPECT_EQ((__u32)(g + 1000 + 0x7fffffff), sg_gen());
}

TEST_F(force, minimum_behind_moves_by_one)
{
	__u32 g = sg_gen();

	ASSERT_EQ(0, ioctl(self->ro, variant->cmd, (unsigned long)(g - 3)));
	EXPECT_EQ(g + 1, sg_gen());
}

/* (s32)(min - current) is negative: not ahead, so just one step. */
TEST_F(force, minimum_half_a_turn_away_moves_by_one)
{
	__u32 g = sg_gen();

	ASSERT_EQ(0, ioctl(self->ro, variant->cmd,
			   (unsigned long)(__u32)(g + 0x80000000)));
	EXPECT_EQ(g + 1, sg_gen());
}

TEST_F(force, source_text_example_5_with_8_gives_8)
{
	sg_set_gen(self->ro, 5);
	ASSERT_EQ(0, ioctl(self->ro, variant->cmd, 8UL));
	EXPECT_EQ(8, sg_gen());
}

TEST_F(force, wraps_from_ffffffff_to_0)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g;

	sg_set_gen(self->ro, 0xffffffff);
	ASSERT_EQ(0, ioctl(self->ro, variant->cmd, 0xffffffffUL));
	EXPECT_EQ(0, sg_gen());
	ASSERT_EQ(4, sg_read(fd, &g));
	EXPECT_EQ(0, g);
	EXPECT_EQ(4, write(fd, &g, 4));
	close(fd);
}

TEST_F(force, minimum_across_the_wrap_is_taken)
{
	sg_set_gen(self->ro, 0xfffffffe);
	ASSERT_EQ(0, ioctl(self->ro, variant->cmd, 3UL));
	EXPECT_EQ(3, sg_gen());
}

TEST_F(force, minimum_above_u32_einval)
{
	__u32 g = sg_gen();

	EXPECT_EQ(-1, ioctl(self->ro, variant->cmd, 1UL << 32));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->ro, variant->cmd,
			    (1UL << 32) | (__u32)(g + 100)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(g, sg_gen());
	EXPECT_EQ(0, sg_ready(self->ro));
}

/* How a child gives up its privilege before trying a forced update. */
enum drop {
	DROP_BOTH_CAPS,		/* root, every capability but the two */
	DROP_TO_NOBODY,		/* uid 65534, no capability */
	DROP_INTO_USERNS,	/* root of a user namespace it just made */
	KEEP_CR_ONLY,		/* uid 65534, CAP_CHECKPOINT_RESTORE only */
	KEEP_SA_ONLY,		/* uid 65534, CAP_SYS_ADMIN only */
};

struct dropper {
	unsigned long cmd;
	enum drop how;
};

static int capset_all(__u64 eff, __u64 perm)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2] = {
		{ (__u32)eff, (__u32)perm, 0 },
		{ eff >> 32, perm >> 32, 0 },
	};

	return syscall(SYS_capset, &hdr, d);
}

static __u64 cap_eff(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d))
		sg_die("capget");
	return d[0].effective | (__u64)d[1].effective << 32;
}

static __u64 all_caps(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
}

static int become_nobody(__u64 keep)
{
	if (prctl(PR_SET_KEEPCAPS, 1) || setgroups(0, NULL) ||
	    setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return -1;
	/* KEEPCAPS kept the permitted set; make @keep all that is left. */
	if (capset_all(keep, keep))
		return -1;
	return cap_eff() == keep && getuid() == 65534 ? 0 : -1;
}

/*
 * Child: drop privilege as told, report (-1 when it could not), then
 * report the result of a forced update through a file opened before.
 */
static void dropper_fn(void *arg, int in, int out)
{
	struct dropper *d = arg;
	int fd = sg_open(O_RDONLY);
	__u64 both = 1ULL << CAP_SYS_ADMIN | 1ULL << CAP_CHECKPOINT_RESTORE;
	int ret = -1;
	long r;

	(void)in;
	switch (d->how) {
	case DROP_BOTH_CAPS:
		ret = capset_all(all_caps() & ~both, all_caps() & ~both);
		if (!ret && (cap_eff() & both))
			ret = -1;
		break;
	case DROP_TO_NOBODY:
		ret = become_nobody(0);
		break;
	case DROP_INTO_USERNS:
		ret = unshare(CLONE_NEWUSER);
		/* Full capabilities, in the new namespace only. */
		if (!ret && !(cap_eff() & 1ULL << CAP_SYS_ADMIN))
			ret = -1;
		break;
	case KEEP_CR_ONLY:
		ret = become_nobody(1ULL << CAP_CHECKPOINT_RESTORE);
		break;
	case KEEP_SA_ONLY:
		ret = become_nobody(1ULL << CAP_SYS_ADMIN);
		break;
	}
	sg_send(out, ret, ret ? errno : 0);
	if (ret)
		return;
	r = ioctl(fd, d->cmd, (unsigned long)sg_gen());
	sg_send(out, r, r ? errno : 0);
}

/*
 * Run a dropper; the update returns @expect_ret, 0 when it ran or -1 with
 * @expect_err. Skips if it can't drop privilege.
 */
static void force_as(struct __test_metadata *_metadata, unsigned long cmd,
		     enum drop how, long expect_ret, int expect_err)
{
	struct dropper d = { .cmd = cmd, .how = how };
	struct sg_child c;
	struct sg_msg m;
	__u32 g = sg_gen();

	c = sg_spawn(dropper_fn, &d);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	if (m.ret) {
		sg_reap(&c);
		SKIP(return, "cannot drop privilege: %s", strerror(m.err));
	}
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(expect_ret, m.ret);
	EXPECT_EQ(expect_err, m.err);
	EXPECT_EQ(expect_ret ? g : g + 1, sg_gen());
	sg_reap(&c);
}

TEST_F(force, without_both_capabilities_eperm)
{
	force_as(_metadata, variant->cmd, DROP_BOTH_CAPS, -1, EPERM);
}

TEST_F(force, as_nobody_eperm)
{
	force_as(_metadata, variant->cmd, DROP_TO_NOBODY, -1, EPERM);
}

TEST_F(force, root_of_own_user_namespace_eperm)
{
	force_as(_metadata, variant->cmd, DROP_INTO_USERNS, -1, EPERM);
}

TEST_F(force, cap_checkpoint_restore_alone_suffices)
{
	force_as(_metadata, variant->cmd, KEEP_CR_ONLY, 0, 0);
}

TEST_F(force, cap_sys_admin_alone_suffices)
{
	force_as(_metadata, variant->cmd, KEEP_SA_ONLY, 0, 0);
}

/* ---- unknown commands ---- */

static void expect_enotty(struct __test_metadata *_metadata,
			  const unsigned int *cmds, int n)
{
	int fd = sg_open(O_RDWR);
	__u32 g = sg_gen();
	int i;

	for (i = 0; i < n; i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(fd, cmds[i], 0UL)) {
			TH_LOG("cmd %#x", cmds[i]);
		}
		EXPECT_EQ(ENOTTY, errno) {
			TH_LOG("cmd %#x", cmds[i]);
		}
	}
	/* None of them moved the counter or touched the file. */
	EXPECT_EQ(g, sg_gen());
	EXPECT_EQ(0, sg_ready(fd));
	close(fd);
}

TEST(unknown_nr_0_and_4_enotty)
{
	static const unsigned int cmds[] = {
		_IO(SYSGENID_IOCTL, 0), _IO(SYSGENID_IOCTL, 4),
		_IO(SYSGENID_IOCTL_V6, 0), _IO(SYSGENID_IOCTL_V6, 4),
	};

	expect_enotty(_metadata, cmds, ARRAY_SIZE(cmds));
}

TEST(direction_and_size_bits_matter_enotty)
{
	static const unsigned int cmds[] = {
		_IOR(SYSGENID_IOCTL, 1, __u32),
		_IOW(SYSGENID_IOCTL, 3, __u32),
		_IOW(SYSGENID_IOCTL_V6, 1, __u32),
		_IOW(SYSGENID_IOCTL_V6, 3, __u32),
		_IOWR(SYSGENID_IOCTL_V6, 2, __u32),
	};

	expect_enotty(_metadata, cmds, ARRAY_SIZE(cmds));
}

TEST(foreign_tcgets_enotty)
{
	int fd = sg_open(O_RDWR);
	struct termios t;

	EXPECT_EQ(-1, ioctl(fd, TCGETS, &t));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_HARNESS_MAIN

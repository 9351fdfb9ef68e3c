// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/sysgenid: read(), write(), poll() and epoll (SPEC sections 1 and 2).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>

#include "sgtest.h"

/* Child: open a watcher, report ready, block in read(), report the result. */
static void reader_fn(void *arg, int in, int out)
{
	int fd = sg_open(O_RDWR);
	__u32 g = 0;
	ssize_t n;

	(void)arg;
	(void)in;
	sg_send(out, 0, 0);
	n = sg_read(fd, &g);
	sg_send(out, n == 4 ? (long)g : -1, n == 4 ? 0 : n < 0 ? errno : EIO);
}

TEST(read_blocks_until_another_process_bumps)
{
	struct sg_child c = sg_spawn(reader_fn, NULL);
	int fd = sg_open(O_RDONLY);
	struct sg_msg m;
	__u32 g;

	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	/* Asleep in read(): nothing happened since it opened. */
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SYS_read));
	ASSERT_EQ(0, sg_recv(c.from, &m, 0));
	sg_bump(fd);
	g = sg_gen();
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(0, m.err);
	EXPECT_EQ((long)g, m.ret);
	sg_reap(&c);
	close(fd);
}

TEST(read_nonblock_up_to_date_eagain)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g;

	EXPECT_EQ(-1, sg_read(fd, &g));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST(read_3_byte_buffer_einval)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	char buf[4];

	/* Up to date: the size is refused before the file would block. */
	EXPECT_EQ(-1, read(fd, buf, 3));
	EXPECT_EQ(EINVAL, errno);
	/* Outdated: no partial read of the value either. */
	sg_bump(fd);
	EXPECT_EQ(-1, read(fd, buf, 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, sg_ready(fd));
	close(fd);
}

TEST(read_large_buffer_returns_4_bytes)
{
	int fd = sg_open(O_RDWR);
	__u32 buf[4] = { 0, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef };

	sg_bump(fd);
	EXPECT_EQ(4, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(sg_gen(), buf[0]);
	EXPECT_EQ(0xdeadbeef, buf[1]);
	close(fd);
}

TEST(read_repeats_new_value_until_confirmed)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g, v;
	int i;

	sg_bump(fd);
	g = sg_gen();
	for (i = 0; i < 3; i++) {
		v = ~g;
		ASSERT_EQ(4, sg_read(fd, &v));
		EXPECT_EQ(g, v);
	}
	ASSERT_EQ(4, write(fd, &g, 4));
	EXPECT_EQ(-1, sg_read(fd, &v));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

/* Child: blocked read() with a handler lacking SA_RESTART. */
static void sigread_fn(void *arg, int in, int out)
{
	int fd = sg_open(O_RDWR);
	__u32 g;
	ssize_t n;

	(void)arg;
	(void)in;
	sg_catch(SIGUSR1, sg_noop_handler);
	sg_send(out, 0, 0);
	n = sg_read(fd, &g);
	sg_send(out, n, n < 0 ? errno : 0);
}

TEST(read_interrupted_by_signal_eintr)
{
	struct sg_child c = sg_spawn(sigread_fn, NULL);
	struct sg_msg m;

	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	/* Asleep in read(): one signal interrupts the wait itself. */
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SYS_read));
	ASSERT_EQ(0, sg_recv(c.from, &m, 0));
	kill(c.pid, SIGUSR1);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(-1, m.ret);
	EXPECT_EQ(EINTR, m.err);
	sg_reap(&c);
}

TEST(write_3_and_5_bytes_einval)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g[2];

	sg_bump(fd);
	ASSERT_EQ(4, sg_read(fd, &g[0]));
	g[1] = 0;
	EXPECT_EQ(-1, write(fd, g, 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(fd, g, 5));
	EXPECT_EQ(EINVAL, errno);
	/* Neither confirmed anything. */
	EXPECT_EQ(1, sg_ready(fd));
	close(fd);
}

TEST(write_stale_value_einval)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 old, g;

	sg_bump(fd);
	ASSERT_EQ(4, sg_read(fd, &old));
	sg_bump(fd);
	EXPECT_EQ(-1, write(fd, &old, 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, sg_ready(fd));
	ASSERT_EQ(4, sg_read(fd, &g));
	EXPECT_EQ(old + 1, g);
	close(fd);
}

TEST(write_value_not_reached_einval)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g, ahead;

	sg_bump(fd);
	ASSERT_EQ(4, sg_read(fd, &g));
	ahead = g + 1;
	EXPECT_EQ(-1, write(fd, &ahead, 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, sg_ready(fd));
	EXPECT_EQ(g, sg_gen());
	close(fd);
}

TEST(write_current_value_confirms)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g, v;

	sg_bump(fd);
	ASSERT_EQ(4, sg_read(fd, &g));
	EXPECT_EQ(4, write(fd, &g, 4));
	EXPECT_EQ(0, sg_ready(fd));
	EXPECT_EQ(-1, sg_read(fd, &v));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST(write_on_read_only_file_ebadf)
{
	int fd = sg_open(O_RDONLY | O_NONBLOCK);
	__u32 g;

	sg_bump(fd);
	ASSERT_EQ(4, sg_read(fd, &g));
	EXPECT_EQ(-1, write(fd, &g, 4));
	EXPECT_EQ(EBADF, errno);
	close(fd);
}

TEST(confirm_twice_counts_once)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	int other = sg_open(O_RDWR);
	__u32 g;
	int n;

	sg_bump(fd);
	n = sg_outdated(fd);
	ASSERT_LE(2, n);
	ASSERT_EQ(4, sg_read(fd, &g));
	EXPECT_EQ(4, write(fd, &g, 4));
	EXPECT_EQ(n - 1, sg_outdated(fd));
	/* Harmless, and @other is still outdated: the count must not drop. */
	EXPECT_EQ(4, write(fd, &g, 4));
	EXPECT_EQ(n - 1, sg_outdated(fd));
	EXPECT_EQ(1, sg_ready(other));
	close(other);
	close(fd);
}

TEST(poll_not_ready_while_up_to_date)
{
	int fd = sg_open(O_RDWR);

	EXPECT_EQ(0, sg_ready(fd));
	close(fd);
}

TEST(poll_in_rdnorm_after_bump)
{
	int fd = sg_open(O_RDWR);
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDNORM };

	sg_bump(fd);
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM, p.revents);
	close(fd);
}

TEST(poll_cleared_by_confirmation)
{
	int fd = sg_open(O_RDWR);

	sg_bump(fd);
	ASSERT_EQ(1, sg_ready(fd));
	sg_ack(fd);
	EXPECT_EQ(0, sg_ready(fd));
	close(fd);
}

TEST(select_readable_after_bump_only)
{
	int fd = sg_open(O_RDWR);
	struct timeval tv = { 0 };
	fd_set rfds;

	FD_ZERO(&rfds);
	FD_SET(fd, &rfds);
	EXPECT_EQ(0, select(fd + 1, &rfds, NULL, NULL, &tv));
	sg_bump(fd);
	FD_ZERO(&rfds);
	FD_SET(fd, &rfds);
	EXPECT_EQ(1, select(fd + 1, &rfds, NULL, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(fd, &rfds));
	close(fd);
}

/* Child: open a watcher, report ready, sleep in poll(), report revents. */
static void poller_fn(void *arg, int in, int out)
{
	struct pollfd p = { .fd = sg_open(O_RDWR), .events = POLLIN };
	int n;

	(void)arg;
	(void)in;
	sg_send(out, 0, 0);
	n = poll(&p, 1, SG_GUARD_MS);
	sg_send(out, n, p.revents);
}

TEST(poll_sleeper_woken_by_bump)
{
	struct sg_child c = sg_spawn(poller_fn, NULL);
	int fd = sg_open(O_RDONLY);
	struct sg_msg m;

	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	ASSERT_EQ(0, sg_wait_asleep(c.pid, SG_SYS_poll));
	ASSERT_EQ(0, sg_recv(c.from, &m, 0));
	sg_bump(fd);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	/* 0 would be the poll timeout: the guard fired. */
	EXPECT_EQ(1, m.ret);
	EXPECT_TRUE(m.err & POLLIN);
	sg_reap(&c);
	close(fd);
}

TEST(epoll_in_after_bump_cleared_by_confirmation)
{
	int fd = sg_open(O_RDWR);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	sg_bump(fd);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	EXPECT_EQ(fd, ev.data.fd);
	EXPECT_TRUE(ev.events & EPOLLIN);
	/* Level triggered: still there until confirmed. */
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	sg_ack(fd);
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	close(ep);
	close(fd);
}

#define MANY 1000

TEST(epoll_1000_files_all_ready)
{
	static struct epoll_event evs[MANY + 1];
	static int fds[MANY];
	struct rlimit rl = { MANY + 64, MANY + 64 };
	static char seen[MANY + 64];
	int ep, i, n, nseen = 0, tries;

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	for (i = 0; i < MANY; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		fds[i] = sg_open(O_RDONLY);
		ASSERT_GT(MANY + 64, fds[i]);
		ev.data.fd = fds[i];
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev));
	}
	EXPECT_EQ(0, epoll_wait(ep, evs, MANY + 1, 0));
	sg_bump(fds[0]);
	for (tries = 0; tries < 10 && nseen < MANY; tries++) {
		n = epoll_wait(ep, evs, MANY + 1, SG_GUARD_MS);
		ASSERT_LT(0, n);
		for (i = 0; i < n; i++) {
			if (!(evs[i].events & EPOLLIN) || seen[evs[i].data.fd])
				continue;
			seen[evs[i].data.fd] = 1;
			nseen++;
		}
	}
	EXPECT_EQ(MANY, nseen);
	close(ep);
	for (i = 0; i < MANY; i++)
		close(fds[i]);
}

TEST(two_events_coalesce_into_the_latest)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g0 = sg_gen(), g, old = g0 + 1;

	sg_bump(fd);
	sg_bump(fd);
	ASSERT_EQ(4, sg_read(fd, &g));
	EXPECT_EQ(g0 + 2, g);
	/* Never asked to confirm the first one. */
	EXPECT_EQ(-1, write(fd, &old, 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(4, write(fd, &g, 4));
	EXPECT_EQ(0, sg_ready(fd));
	close(fd);
}

TEST(outdated_count_counts_a_file_once)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	int n;

	sg_bump(ro);
	n = sg_outdated(ro);
	ASSERT_LE(1, n);
	sg_bump(ro);
	EXPECT_EQ(n, sg_outdated(ro));
	sg_ack(fd);
	EXPECT_EQ(n - 1, sg_outdated(ro));
	close(fd);
	close(ro);
}

TEST(counter_back_at_acked_value_still_outdated)
{
	int ro = sg_open(O_RDONLY);
	int fd, n, i;
	__u32 acked, g;

	/* Settle: every other watcher is outdated now and stays so. */
	sg_bump(ro);
	fd = sg_open(O_RDWR | O_NONBLOCK);
	acked = sg_gen();
	n = sg_outdated(ro);

	/* Four quarter turns, each ahead of the last: round to @acked. */
	for (i = 1; i <= 4; i++) {
		__u32 min = acked + i * 0x40000000u;

		ASSERT_EQ(0, ioctl(ro, SYSGENID_FORCE_GEN_UPDATE,
				   (unsigned long)min));
	}
	ASSERT_EQ(acked, sg_gen());
	EXPECT_EQ(1, sg_ready(fd));
	EXPECT_EQ(n + 1, sg_outdated(ro));
	ASSERT_EQ(4, sg_read(fd, &g));
	EXPECT_EQ(acked, g);
	EXPECT_EQ(4, write(fd, &g, 4));
	EXPECT_EQ(0, sg_ready(fd));
	EXPECT_EQ(n, sg_outdated(ro));
	close(fd);
	close(ro);
}

TEST_HARNESS_MAIN

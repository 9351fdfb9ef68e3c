/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the in-guest tests of /dev/sysgenid.
 *
 * Every TEST runs in its own process (the kselftest harness forks). The
 * counter and the watcher counts are system-wide, so tests read them and
 * assert deltas. "Another process" is a child made with sg_spawn(); it talks
 * to the test over two pipes, one struct sg_msg at a time.
 *
 * Guards: a child arms alarm(SG_GUARD_S) with the default action, so a child
 * stuck past it dies and never reports, and the test, waiting at most
 * SG_GUARD_MS for a report, fails. A child whose blocking call must tell a
 * signal from the guard installs sg_guard_handler and reports sg_guard_fired.
 */
#ifndef SGTEST_H
#define SGTEST_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sysgenid.h>

#include "kselftest_harness.h"

#define SG_GUARD_S	20
#define SG_GUARD_MS	(SG_GUARD_S * 1000)

/*
 * Every access to memory that changes under the program (a mapped page the
 * driver writes) or that another thread or a signal handler shares goes
 * through these: one whole access each time, never cached in a register
 * nor hoisted out of a loop.
 */
#define sg_load(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define sg_store(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)

#define sg_die(fmt, ...) do {						\
	fprintf(stderr, "# %s:%d: " fmt ": %s\n", __FILE__, __LINE__,	\
		##__VA_ARGS__, strerror(errno));			\
	abort();							\
} while (0)

static inline int sg_open(int flags)
{
	int fd = open(SYSGENID_DEVICE, flags | O_CLOEXEC);

	if (fd < 0)
		sg_die("open %s", SYSGENID_DEVICE);
	return fd;
}

/* The value of "KEY: N" in @fd's fdinfo (of this process), else -1. */
static inline long long sg_fdinfo(int fd, const char *key)
{
	char path[64], line[128], *s;
	size_t n = strlen(key);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (v < 0 && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, n) || line[n] != ':')
			continue;
		s = line + n + 1 + strspn(line + n + 1, " \t");
		if (*s >= '0' && *s <= '9')
			v = strtoll(s, NULL, 10);
	}
	fclose(f);
	return v;
}

static inline size_t sg_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* The current generation, through a fresh read-only mapping. */
static inline __u32 sg_gen(void)
{
	int fd = sg_open(O_RDONLY);
	const __u32 *p;
	__u32 g;

	p = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		sg_die("mmap");
	g = sg_load(p);
	munmap((void *)p, sg_page());
	close(fd);
	return g;
}

static inline int sg_outdated(int fd)
{
	return ioctl(fd, SYSGENID_GET_OUTDATED_WATCHERS, 0);
}

/*
 * One event, whatever the current value: a minimum equal to the current
 * generation is not ahead of it, so the counter moves by exactly one.
 */
static inline void sg_bump(int fd)
{
	if (ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, (unsigned long)sg_gen()))
		sg_die("FORCE_GEN_UPDATE");
}

/*
 * Move the counter to @target. A forced minimum is only taken when ahead
 * in serial arithmetic, so go round in quarter turns when it is not.
 */
static inline void sg_set_gen(int fd, __u32 target)
{
	__u32 g;

	while ((g = sg_gen()) != target) {
		__u32 min = (__s32)(target - g) > 0 ? target : g + 0x40000000;

		if (ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, (unsigned long)min))
			sg_die("FORCE_GEN_UPDATE");
		if (sg_gen() != min) {
			errno = 0;
			sg_die("minimum %#x not taken", min);
		}
	}
}

/* read() of one generation: 4, or -1 with errno. */
static inline ssize_t sg_read(int fd, __u32 *gen)
{
	return read(fd, gen, sizeof(*gen));
}

/* Confirm whatever the file reports; the file must be outdated. */
static inline void sg_ack(int fd)
{
	__u32 g;

	if (sg_read(fd, &g) != 4 || write(fd, &g, sizeof(g)) != 4)
		sg_die("confirm");
}

/* 1 if @fd polls readable now, 0 if not. */
static inline int sg_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 0) < 0)
		sg_die("poll");
	return !!(p.revents & POLLIN);
}

static inline int sg_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* ---- guard for calls that must tell a signal from the alarm ---- */

static sig_atomic_t sg_guard_fired;

static inline void sg_guard_handler(int sig)
{
	(void)sig;
	sg_store(&sg_guard_fired, 1);
}

static inline void sg_noop_handler(int sig)
{
	(void)sig;
}

/* Install @fn for @sig without SA_RESTART, so a blocked call sees EINTR. */
static inline void sg_catch(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		sg_die("sigaction");
}

static inline void sg_arm_guard(void)
{
	sg_store(&sg_guard_fired, 0);
	sg_catch(SIGALRM, sg_guard_handler);
	alarm(SG_GUARD_S);
}

/* ---- other processes ---- */

struct sg_msg {
	long ret;
	int err;
	int guard;	/* the child's guard fired */
};

struct sg_child {
	pid_t pid;
	int to;		/* test -> child */
	int from;	/* child -> test */
};

static inline void sg_send(int fd, long ret, int err)
{
	struct sg_msg m = {
		.ret = ret, .err = err, .guard = sg_load(&sg_guard_fired),
	};

	if (write(fd, &m, sizeof(m)) != sizeof(m))
		sg_die("pipe write");
}

/*
 * Wait up to @ms for one message on @fd: 1 got it, 0 timed out (the guard
 * fired), -1 end of file (the other side died without reporting).
 */
static inline int sg_recv(int fd, struct sg_msg *m, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		sg_die("poll");
	if (!n)
		return 0;
	n = read(fd, m, sizeof(*m));
	if (n == 0)
		return -1;
	if (n != sizeof(*m))
		sg_die("pipe read");
	return 1;
}

/*
 * Fork a child running @fn(@arg, in, out): it reads commands on @in and
 * reports on @out; returning from @fn exits it. Its guard is armed with the
 * default action.
 */
static inline struct sg_child sg_spawn(void (*fn)(void *, int, int),
				       void *arg)
{
	struct sg_child c;
	int down[2], up[2];

	if (pipe2(down, O_CLOEXEC) || pipe2(up, O_CLOEXEC))
		sg_die("pipe");
	fflush(NULL);
	c.pid = fork();
	if (c.pid < 0)
		sg_die("fork");
	if (!c.pid) {
		/* Leave no watcher behind when the test aborts. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(down[1]);
		close(up[0]);
		alarm(SG_GUARD_S);
		fn(arg, down[0], up[1]);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	c.to = down[1];
	c.from = up[0];
	return c;
}

/* poll(2) is ppoll(2) where there is no poll system call (arm64). */
#ifdef SYS_poll
#define SG_SYS_poll SYS_poll
#else
#define SG_SYS_poll SYS_ppoll
#endif

/*
 * Wait until process @pid is asleep in system call @nr: /proc/PID/syscall
 * shows the call's number only while the task sleeps in it (it says
 * "running" otherwise). Then the peer is on the driver's wait queue, not
 * about to enter the call. 0 once it is, -1 if the guard's time ran out.
 */
static inline int sg_wait_asleep(pid_t pid, long nr)
{
	char path[64], buf[128];
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	for (i = 0; i < SG_GUARD_MS; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			if (strtol(buf, NULL, 10) == nr &&
			    strncmp(buf, "running", 7))
				return 0;
		}
		usleep(1000);
	}
	return -1;
}

/* Tell the child to go on (any value; what it means is up to the child). */
static inline void sg_tell(struct sg_child *c, long v)
{
	sg_send(c->to, v, 0);
}

/* In the child: wait for the test's next command; exit on end of file. */
static inline long sg_wait_cmd(int in)
{
	struct sg_msg m;

	if (sg_recv(in, &m, -1) != 1)
		_exit(0);
	return m.ret;
}

/* Kill (if still there) and reap a child; close its pipes. */
static inline int sg_reap(struct sg_child *c)
{
	int status = 0;

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &status, 0);
		c->pid = 0;
	}
	close(c->to);
	close(c->from);
	return status;
}

/*
 * A holder: opens @arg files (see struct sg_holder), reports ready, then
 * serves commands: SG_CMD_ACK confirms every file, SG_CMD_EXIT leaves
 * (closing them all). Each command is answered once done.
 */
enum { SG_CMD_ACK = 1, SG_CMD_EXIT };

struct sg_holder {
	int rw;		/* files opened O_RDWR (tracked) */
	int ro;		/* files opened O_RDONLY (never tracked) */
};

static inline void sg_holder_fn(void *arg, int in, int out)
{
	struct sg_holder *h = arg;
	int fds[64], n = h->rw + h->ro, i;

	for (i = 0; i < n; i++)
		fds[i] = sg_open(i < h->rw ? O_RDWR : O_RDONLY);
	sg_send(out, 0, 0);
	for (;;) {
		long cmd = sg_wait_cmd(in);

		if (cmd == SG_CMD_EXIT)
			_exit(0);
		for (i = 0; i < h->rw; i++)
			sg_ack(fds[i]);
		sg_send(out, 0, 0);
	}
}

#endif /* SGTEST_H */

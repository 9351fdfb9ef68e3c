// SPDX-License-Identifier: GPL-2.0
/*
 * clone-watch MODE: a /dev/sysgenid watcher for the clone tests and the demo.
 *
 * MODE is how it waits for a generation event:
 *   read    a blocking read() loop
 *   epoll   epoll_wait() on the file, then read()
 *   mmap    polls the mapped page every millisecond
 *   orch    an orchestrator: read(), confirm, then SYSGENID_WAIT_WATCHERS
 *           until every tracked watcher has confirmed
 *   slow    a blocking read() loop that sleeps SLOW_MS before it confirms,
 *           and says so first ("confirming"): host-ready.t checks that
 *           sysgenid ready reports only after that line
 *
 * Each opens /dev/sysgenid read-write (a tracked watcher) and reports on
 * stdout, one write() per line so that watchers sharing a serial port never
 * interleave:
 *
 *   @w MODE opened gen=N          N: the generation acknowledged at open
 *   @w MODE saw gen=N             an event, N: the generation it reported
 *   @w MODE confirming gen=N      slow only: just before the write()
 *   @w MODE confirmed gen=N       write() of N succeeded
 *   @w MODE waited gen=N ret=R outdated=K   orch only: WAIT_WATCHERS gave R
 *   @w MODE error WHAT: MESSAGE   and exit 1
 *
 * The host stamps each line when it arrives. Watchers run until killed, so
 * that a second event would show.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/sysgenid.h>

/* Long enough never to fire in a passing run; firing is a failure. */
#define WAIT_TIMEOUT_MS 120000
/* A watcher slow enough that a report not waiting for it comes first. */
#define SLOW_MS 2000

static const char *mode;

static void report(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "@w %s ", mode);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, n) != n)
		exit(1);
}

static void die(const char *what)
{
	report("error %s: %s", what, strerror(errno));
	exit(1);
}

/* The generation the file acknowledged at open, from its fdinfo. */
static __u32 acked_gen(int fd)
{
	char path[64], line[128];
	unsigned int gen;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		die("fdinfo");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "sysgenid-acked: %u", &gen) == 1) {
			fclose(f);
			return gen;
		}
	}
	fclose(f);
	errno = ENOENT;
	die("fdinfo sysgenid-acked");
	return 0;
}

static __u32 read_gen(int fd)
{
	__u32 gen;

	if (read(fd, &gen, sizeof(gen)) != sizeof(gen))
		die("read");
	return gen;
}

/* Returns 0, or -1 with EINVAL when gen is no longer current. */
static int confirm(int fd, __u32 gen)
{
	if (write(fd, &gen, sizeof(gen)) != sizeof(gen))
		return -1;
	report("confirmed gen=%u", gen);
	return 0;
}

static void confirm_or_die(int fd, __u32 gen)
{
	/* A newer event came in between: read() will report it. */
	if (confirm(fd, gen) && errno != EINVAL)
		die("write");
}

static void watch_read(int fd)
{
	__u32 gen;

	for (;;) {
		gen = read_gen(fd);
		report("saw gen=%u", gen);
		confirm_or_die(fd, gen);
	}
}

static void watch_slow(int fd)
{
	const struct timespec pause = {
		.tv_sec = SLOW_MS / 1000,
		.tv_nsec = SLOW_MS % 1000 * 1000000L,
	};
	__u32 gen;

	for (;;) {
		gen = read_gen(fd);
		report("saw gen=%u", gen);
		nanosleep(&pause, NULL);
		report("confirming gen=%u", gen);
		confirm_or_die(fd, gen);
	}
}

static void watch_epoll(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	__u32 gen;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll");
	for (;;) {
		if (epoll_wait(ep, &ev, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		gen = read_gen(fd);
		report("saw gen=%u", gen);
		confirm_or_die(fd, gen);
	}
}

static void watch_mmap(int fd, __u32 acked)
{
	const struct timespec tick = { .tv_nsec = 1000000 };
	const volatile __u32 *page;
	__u32 gen;

	page = mmap(NULL, sizeof(*page), PROT_READ, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED)
		die("mmap");
	for (;;) {
		gen = *page;
		if (gen == acked) {
			nanosleep(&tick, NULL);
			continue;
		}
		report("saw gen=%u", gen);
		if (confirm(fd, gen)) {
			if (errno != EINVAL)
				die("write");
			continue;	/* moved again meanwhile: look again */
		}
		acked = gen;
	}
}

static void watch_orch(int fd)
{
	__u32 gen;
	int ret;

	for (;;) {
		gen = read_gen(fd);
		report("saw gen=%u", gen);
		confirm_or_die(fd, gen);
		ret = ioctl(fd, SYSGENID_WAIT_WATCHERS, WAIT_TIMEOUT_MS);
		if (ret < 0 && errno == EINTR)
			continue;	/* a newer event: handle it first */
		report("waited gen=%u ret=%s outdated=%d", gen,
		       ret < 0 ? strerror(errno) : "0",
		       ioctl(fd, SYSGENID_GET_OUTDATED_WATCHERS));
	}
}

int main(int argc, char **argv)
{
	__u32 acked;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s read|epoll|mmap|orch|slow\n", argv[0]);
		return 2;
	}
	mode = argv[1];

	fd = open(SYSGENID_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open");
	acked = acked_gen(fd);
	report("opened gen=%u", acked);

	if (!strcmp(mode, "read"))
		watch_read(fd);
	else if (!strcmp(mode, "epoll"))
		watch_epoll(fd);
	else if (!strcmp(mode, "mmap"))
		watch_mmap(fd, acked);
	else if (!strcmp(mode, "orch"))
		watch_orch(fd);
	else if (!strcmp(mode, "slow"))
		watch_slow(fd);
	errno = EINVAL;
	die("mode");
	return 1;
}

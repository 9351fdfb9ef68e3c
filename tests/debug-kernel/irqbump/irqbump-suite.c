// SPDX-License-Identifier: GPL-2.0
/*
 * 49-irqbump, in the guest of the debug kernel only: loads irqbump.ko,
 * which reports a sysgenid event from a hard-IRQ hrtimer every 2 ms, and
 * meanwhile takes every process-context path that holds sysgenid's lock
 * (open, close, confirm, tracking, fdinfo) or waits on its queues (read,
 * poll, WAIT_WATCHERS), plus forced updates, for SECONDS (default 10).
 * Lockdep and CONFIG_DEBUG_ATOMIC_SLEEP then report any path that could
 * deadlock with, or sleep in, an event in hard IRQ; this suite fails on
 * such a report and so does the harness's "kernel log clean".
 *
 * It runs alone: the other suites assume that only they move the counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/sysgenid.h>

#define MODULE_PATH	"/lib/sysgenid/irqbump.ko"
#define NTHREAD		4

static int seconds = 10;
static volatile int stop;
static long ops[NTHREAD], forced;
static int failures;
static int test_no;

static void __attribute__((format(printf, 2, 3)))
result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures += !ok;
}

static __u32 gen_of(volatile __u32 *p)
{
	return *p;
}

/* Every lock user and sleeper in process context, round and round. */
static void *worker(void *arg)
{
	long id = (long)arg;
	char path[64], buf[256];
	struct pollfd p;
	__u32 g;
	int fd, ro, f;

	while (!stop) {
		fd = open(SYSGENID_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		ro = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ro < 0) {
			perror("# open");
			exit(1);
		}
		p.fd = fd;
		p.events = POLLIN;
		poll(&p, 1, 1);
		if (read(fd, &g, 4) == 4 && write(fd, &g, 4) != 4 &&
		    errno != EINVAL)
			perror("# confirm");
		ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 0UL);
		ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 1UL);
		ioctl(ro, SYSGENID_WAIT_WATCHERS, 1UL);
		ioctl(fd, SYSGENID_WAIT_WATCHERS_V6, 1UL);
		ioctl(ro, SYSGENID_GET_OUTDATED_WATCHERS, 0UL);
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		f = open(path, O_RDONLY | O_CLOEXEC);
		if (f >= 0) {
			if (read(f, buf, sizeof(buf)) < 0)
				perror("# fdinfo");
			close(f);
		}
		/* A blocking read, ended by the next event from the timer. */
		if (id == 0) {
			int b = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);

			if (b >= 0) {
				if (read(b, &g, 4) != 4)
					perror("# blocking read");
				close(b);
			}
		}
		/* Events from process context too, against the IRQ ones. */
		if (id == 1 && !ioctl(ro, SYSGENID_FORCE_GEN_UPDATE, 0UL))
			__atomic_add_fetch(&forced, 1, __ATOMIC_RELAXED);
		close(ro);
		close(fd);
		ops[id]++;
	}
	return NULL;
}

/* The kernel log, whole; NULL if it cannot be read. */
static char *kernel_log(void)
{
	int n = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *b;

	if (n <= 0)
		return NULL;
	b = calloc(1, n + 1);
	if (!b)
		return NULL;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, b, n);
	if (n < 0) {
		free(b);
		return NULL;
	}
	b[n] = 0;
	return b;
}

static const char *const bad[] = {
	"inconsistent lock state", "possible irq lock inversion",
	"possible circular locking", "BUG: sleeping function",
	"BUG: scheduling while atomic", "WARNING:", "BUG:",
};

int main(int argc, char **argv)
{
	pthread_t t[NTHREAD];
	struct timespec ts = { 0 };
	volatile __u32 *page;
	long events = -1, outside = -1, total = 0;
	char *log, *s;
	__u32 g0, g1;
	int fd, ro, i;
	size_t k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		seconds = atoi(argv[1]);
	printf("1..5\n");

	ro = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);
	page = ro < 0 ? MAP_FAILED :
		mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
	fd = open(MODULE_PATH, O_RDONLY | O_CLOEXEC);
	if (page == MAP_FAILED || fd < 0 ||
	    syscall(SYS_finit_module, fd, "period_us=2000", 0)) {
		result(false, "irqbump loaded: %s", strerror(errno));
		return 1;
	}
	close(fd);
	result(true, "irqbump loaded: an event every 2 ms from hard IRQ");

	g0 = gen_of(page);
	for (i = 0; i < NTHREAD; i++)
		pthread_create(&t[i], NULL, worker, (void *)(long)i);
	ts.tv_sec = seconds;
	nanosleep(&ts, NULL);
	stop = 1;
	for (i = 0; i < NTHREAD; i++) {
		pthread_join(t[i], NULL);
		total += ops[i];
	}
	g1 = gen_of(page);

	result(!syscall(SYS_delete_module, "irqbump", O_NONBLOCK),
	       "irqbump unloaded");
	printf("# %ld rounds of the process-context paths, %ld forced "
	       "updates, the generation moved by %u\n",
	       total, forced, g1 - g0);
	/* Every worker went round; reading blocked until a timer event. */
	result(total > 0 && ops[0] > 0,
	       "process-context paths ran while events came from hard IRQ");

	log = kernel_log();
	s = log ? strstr(log, "irqbump: ") : NULL;
	while (s && sscanf(s, "irqbump: %ld events, %ld outside hard IRQ",
			   &events, &outside) != 2)
		s = strstr(s + 1, "irqbump: ");
	result(events > 0 && outside == 0,
	       "%ld events from the timer, %ld of them outside hard IRQ",
	       events, outside);

	s = NULL;
	for (k = 0; log && k < sizeof(bad) / sizeof(bad[0]) && !s; k++)
		s = strstr(log, bad[k]);
	if (s) {
		char line[160];

		snprintf(line, sizeof(line), "%s", s);
		line[strcspn(line, "\n")] = 0;
		result(false, "kernel log clean: %s", line);
	} else {
		result(log != NULL, "kernel log clean (no lockdep report)");
	}
	free(log);
	return failures ? 1 : 0;
}

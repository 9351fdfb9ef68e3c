// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-fanout: from a bump to the last confirmation, as the orchestrator
 * that bumped sees it: SYSGENID_FORCE_GEN_UPDATE, then
 * SYSGENID_WAIT_WATCHERS until it returns, on one clock. N watchers,
 * N = 1, 10, 100, 1k, 10k, two ways:
 *
 *   epoll  one process, N threads and N watcher files in one epoll set
 *          (EPOLLONESHOT: each ready file goes to one thread, which reads,
 *          confirms and re-arms it)
 *   proc   N processes, each blocked in read() on its own file, then
 *          write() of the value read
 *
 * Before each round every watcher has confirmed and the run queues are
 * empty, so that the bump finds all N asleep. The median and the minimum
 * over the rounds (15, or 7 for N above 1000): on a shared host the
 * minimum is the figure least disturbed by the neighbours.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "bench.h"

#define ROUNDS		15
#define MAX_WATCHERS	10000
#define STACK_SIZE	(64 * 1024)
#define WAIT_MS		120000

static int counts[16] = { 1, 10, 100, 1000, 10000 };
static int nr_counts = 5;

/* Shared with every watcher, threads and processes alike. */
struct shared {
	atomic_ulong started;
	atomic_ulong confirmed;
};

static struct shared *sh;
static const volatile uint32_t *map;
static int probe;
static int epfd;

/* read() then confirm: true once confirmed, false on a stale value. */
static int confirm(int fd)
{
	uint32_t gen;

	if (read(fd, &gen, sizeof(gen)) != sizeof(gen))
		die("watcher: read: %s", strerror(errno));
	if (write(fd, &gen, sizeof(gen)) == sizeof(gen)) {
		atomic_fetch_add(&sh->confirmed, 1);
		return 1;
	}
	if (errno != EINVAL)
		die("watcher: write: %s", strerror(errno));
	return 0;
}

static void __attribute__((noreturn)) proc_watcher(void)
{
	int fd = sg_open(O_RDWR);

	atomic_fetch_add(&sh->started, 1);
	for (;;)
		confirm(fd);
}

static void *epoll_watcher(void *arg)
{
	struct epoll_event ev;

	(void)arg;
	atomic_fetch_add(&sh->started, 1);
	for (;;) {
		if (epoll_wait(epfd, &ev, 1, -1) != 1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		confirm(ev.data.fd);
		ev.events = EPOLLIN | EPOLLONESHOT;
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, ev.data.fd, &ev))
			die("epoll_ctl: %s", strerror(errno));
	}
	return NULL;
}

static void __attribute__((noreturn)) epoll_server(int n)
{
	pthread_attr_t attr;
	pthread_t t;
	int i;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };

		ev.data.fd = sg_open(O_RDWR | O_NONBLOCK);
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
			die("epoll_ctl: %s", strerror(errno));
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (i = 0; i < n; i++)
		if ((errno = pthread_create(&t, &attr, epoll_watcher, NULL)))
			die("pthread_create #%d: %s", i, strerror(errno));
	for (;;)
		pause();
}

/* Tasks running or runnable, this one included, from /proc/loadavg. */
static int running(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	int r = -1;

	if (f) {
		if (fscanf(f, "%*s %*s %*s %d/", &r) != 1)
			r = -1;
		fclose(f);
	}
	return r;
}

/* Wait for @want confirmations, then for every watcher to be asleep. */
static void settle(unsigned long want)
{
	uint64_t deadline = now_ns() + 10000000000ull;

	while (atomic_load(&sh->confirmed) < want)
		if (now_ns() > deadline)
			die("only %lu of %lu confirmations",
			    atomic_load(&sh->confirmed), want);
	deadline = now_ns() + 2000000000ull;
	while (running() > 1 && now_ns() < deadline)
		usleep(1000);
	usleep(5000);
}

static double round_us(void)
{
	uint64_t t0, t1;

	t0 = now_ns();
	if (ioctl(probe, SYSGENID_FORCE_GEN_UPDATE, (unsigned long)*map))
		die("FORCE_GEN_UPDATE: %s", strerror(errno));
	if (ioctl(probe, SYSGENID_WAIT_WATCHERS, WAIT_MS))
		die("WAIT_WATCHERS: %s", strerror(errno));
	t1 = now_ns();
	return (t1 - t0) / 1000.0;
}

static void measure(const char *mode, int n)
{
	static pid_t pids[MAX_WATCHERS];
	int proc = !strcmp(mode, "proc"), np = proc ? n : 1, i;
	int rounds = n > 1000 ? 7 : ROUNDS;
	double us[ROUNDS];
	char key[32];
	uint64_t t0;

	atomic_store(&sh->started, 0);
	atomic_store(&sh->confirmed, 0);
	t0 = now_ns();
	for (i = 0; i < np; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork #%d: %s", i, strerror(errno));
		if (!pids[i]) {
			if (proc)
				proc_watcher();
			epoll_server(n);
		}
	}
	while (atomic_load(&sh->started) < (unsigned long)n)
		usleep(1000);
	printf("# fanout %s: %d watchers up in %.1f s\n", mode, n,
	       (now_ns() - t0) / 1e9);

	for (i = 0; i < rounds; i++) {
		settle((unsigned long)n * i);
		us[i] = round_us();
	}
	settle((unsigned long)n * rounds);

	for (i = 0; i < np; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < np; i++)
		waitpid(pids[i], NULL, 0);

	snprintf(key, sizeof(key), "%s-n%d-us", mode, n);
	result("fanout", key, median(us, rounds));
	snprintf(key, sizeof(key), "%s-n%d-us-min", mode, n);
	result("fanout", key, us[0]);		/* median() sorted us[] */

	/* The dead tasks are freed after an RCU grace period: let it pass. */
	sleep(1);
	settle(0);
}

/* Arguments: the values of N, instead of the default ones. */
int main(int argc, char **argv)
{
	int i;

	if (argc > 1) {
		for (nr_counts = 0; nr_counts < argc - 1 && nr_counts < 16;
		     nr_counts++) {
			counts[nr_counts] = atoi(argv[nr_counts + 1]);
			if (counts[nr_counts] < 1 ||
			    counts[nr_counts] > MAX_WATCHERS)
				die("N: 1 to %d", MAX_WATCHERS);
		}
	}

	raise_nofile(MAX_WATCHERS);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	probe = sg_open(O_RDONLY);
	map = mmap(NULL, sizeof(*map), PROT_READ, MAP_SHARED, probe, 0);
	if (map == MAP_FAILED)
		die("mmap: %s", strerror(errno));

	for (i = 0; i < nr_counts; i++) {
		measure("epoll", counts[i]);
		measure("proc", counts[i]);
	}
	return 0;
}

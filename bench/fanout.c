// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-fanout: from a bump to the last confirmation, as the orchestrator
 * that bumped sees it: SYSGENID_FORCE_GEN_UPDATE, then
 * SYSGENID_WAIT_WATCHERS until it returns, on one clock. N watchers,
 * N = 1, 10, 100, 1k, 10k, two ways:
 *
 *   epoll          one process, N threads and N watcher files in one epoll
 *                  set (EPOLLONESHOT: each ready file goes to one thread,
 *                  which reads, confirms and re-arms it)
 *   proc           N processes, each blocked in read() on its own file,
 *                  then write() of the value read
 *
 * and, as controls without sysgenid, the same pattern on a futex: the
 * orchestrator moves a shared word and wakes every waiter (FUTEX_WAKE), each
 * waiter counts itself down and the last one wakes the orchestrator:
 *
 *   futex-threads  N threads of one process
 *   futex-procs    N processes
 *
 * A cost per watcher that grows with N in the controls as in sysgenid's
 * modes comes from the tasks (scheduler, memory), not from the driver.
 *
 * Before each round every watcher has confirmed and the run queues are
 * empty, so that the bump finds all N asleep. The median and the minimum
 * over the rounds (31 up to N = 100, 15 up to 1000, then 7): on a shared
 * host the minimum is the figure least disturbed by the neighbours.
 *
 * Arguments, if any: the values of N.
 */
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "bench.h"

#define ROUNDS		31
#define MAX_COUNTS	16
#define MAX_WATCHERS	10000
#define STACK_SIZE	(64 * 1024)
#define WAIT_MS		120000

enum mode { EPOLL, PROC, FUTEX_THREADS, FUTEX_PROCS, NR_MODES };

static const char *const mode_names[NR_MODES] = {
	"epoll", "proc", "futex-threads", "futex-procs",
};

static int counts[MAX_COUNTS] = { 1, 10, 100, 1000, 10000 };
static int nr_counts = 5;

/* Shared with every watcher, threads and processes alike. */
struct shared {
	atomic_ulong started;
	atomic_ulong confirmed;
	atomic_uint gen;	/* the futex controls' generation */
	atomic_int outdated;	/* and their outdated count */
};

static struct shared *sh;
static const volatile uint32_t *map;
static int probe;
static int epfd;

static long futex(void *addr, int op, int val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* read() then confirm; a stale value (EINVAL) is read again. */
static void confirm(int fd)
{
	uint32_t gen;

	if (read(fd, &gen, sizeof(gen)) != sizeof(gen))
		die("watcher: read: %s", strerror(errno));
	if (write(fd, &gen, sizeof(gen)) == sizeof(gen))
		atomic_fetch_add(&sh->confirmed, 1);
	else if (errno != EINVAL)
		die("watcher: write: %s", strerror(errno));
}

static void *proc_watcher(void *arg)
{
	int fd = sg_open(O_RDWR);

	(void)arg;
	atomic_fetch_add(&sh->started, 1);
	for (;;)
		confirm(fd);
	return NULL;
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

static void *futex_watcher(void *arg)
{
	unsigned int seen = atomic_load(&sh->gen), gen;

	(void)arg;
	atomic_fetch_add(&sh->started, 1);
	for (;;) {
		while ((gen = atomic_load(&sh->gen)) == seen)
			futex(&sh->gen, FUTEX_WAIT, seen);
		seen = gen;
		atomic_fetch_add(&sh->confirmed, 1);
		if (atomic_fetch_sub(&sh->outdated, 1) == 1)
			futex(&sh->outdated, FUTEX_WAKE, 1);
	}
	return NULL;
}

/* The process of the threaded modes: N watcher threads, then sleep. */
static void __attribute__((noreturn)) threads(int n, void *(*fn)(void *))
{
	pthread_attr_t attr;
	pthread_t t;
	int i;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (i = 0; i < n; i++) {
		int err = pthread_create(&t, &attr, fn, NULL);

		if (err)
			die("pthread_create #%d: %s", i, strerror(err));
	}
	for (;;)
		pause();
}

static void __attribute__((noreturn)) epoll_server(int n)
{
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
	threads(n, epoll_watcher);
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

/* One event, until the last watcher confirmed it: microseconds. */
static double round_us(enum mode mode, int n)
{
	uint64_t t0, t1;
	int left;

	t0 = now_ns();
	if (mode == EPOLL || mode == PROC) {
		if (ioctl(probe, SYSGENID_FORCE_GEN_UPDATE,
			  (unsigned long)*map))
			die("FORCE_GEN_UPDATE: %s", strerror(errno));
		if (ioctl(probe, SYSGENID_WAIT_WATCHERS, WAIT_MS))
			die("WAIT_WATCHERS: %s", strerror(errno));
	} else {
		atomic_store(&sh->outdated, n);
		atomic_fetch_add(&sh->gen, 1);
		futex(&sh->gen, FUTEX_WAKE, INT_MAX);
		while ((left = atomic_load(&sh->outdated)) > 0)
			futex(&sh->outdated, FUTEX_WAIT, left);
	}
	t1 = now_ns();
	return (t1 - t0) / 1000.0;
}

static void measure(enum mode mode, int n)
{
	static pid_t pids[MAX_WATCHERS];
	int procs = mode == PROC || mode == FUTEX_PROCS;
	int rounds = n > 1000 ? 7 : n > 100 ? 15 : ROUNDS;
	int np = procs ? n : 1, i;
	double us[ROUNDS];
	char key[48];
	uint64_t t0;

	atomic_store(&sh->started, 0);
	atomic_store(&sh->confirmed, 0);
	t0 = now_ns();
	for (i = 0; i < np; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork #%d: %s", i, strerror(errno));
		if (pids[i])
			continue;
		switch (mode) {
		case EPOLL:
			epoll_server(n);
		case PROC:
			proc_watcher(NULL);
			break;
		case FUTEX_THREADS:
			threads(n, futex_watcher);
		default:
			futex_watcher(NULL);
		}
		_exit(1);
	}
	while (atomic_load(&sh->started) < (unsigned long)n)
		usleep(1000);
	printf("# fanout %s: %d watchers up in %.1f s\n", mode_names[mode], n,
	       (now_ns() - t0) / 1e9);

	for (i = 0; i < rounds; i++) {
		settle((unsigned long)n * i);
		us[i] = round_us(mode, n);
	}
	settle((unsigned long)n * rounds);

	for (i = 0; i < np; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < np; i++)
		waitpid(pids[i], NULL, 0);

	snprintf(key, sizeof(key), "%s-n%d-us", mode_names[mode], n);
	result("fanout", key, median(us, rounds));
	snprintf(key, sizeof(key), "%s-n%d-us-min", mode_names[mode], n);
	result("fanout", key, us[0]);		/* median() sorted us[] */

	/* The dead tasks are freed after an RCU grace period: let it pass. */
	sleep(1);
	settle(0);
}

int main(int argc, char **argv)
{
	int i, m;

	nr_counts = parse_counts(argc, argv, counts, MAX_COUNTS, nr_counts,
				 MAX_WATCHERS);

	raise_nofile(MAX_WATCHERS);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	probe = sg_open(O_RDONLY);
	map = mmap(NULL, sizeof(*map), PROT_READ, MAP_SHARED, probe, 0);
	if (map == MAP_FAILED)
		die("mmap: %s", strerror(errno));

	for (i = 0; i < nr_counts; i++)
		for (m = 0; m < NR_MODES; m++)
			measure(m, counts[i]);
	return 0;
}

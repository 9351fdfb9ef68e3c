// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-bump: the latency of SYSGENID_FORCE_GEN_UPDATE against N idle,
 * tracked watchers (files opened O_RDWR that nobody reads or polls), for
 * N = 0, 1k, 10k, 100k.
 *
 * Holder processes keep the files open, PER_HOLDER each. Three figures per
 * N, medians over ROUNDS:
 *
 *   warm     BATCH bumps in a row, per bump: the ioctl's own cost
 *   confirm  one bump, timed alone (less the clock's cost), right after
 *            the holders confirmed every file: it finds all N up to date
 *            and has to make all N outdated, the case where a driver that
 *            visited its watchers would pay the most
 *   touch    the same after the holders read() every file instead, which
 *            touches as much memory but changes no state (all N stay
 *            outdated): the control for "confirm"
 *
 * Passing over N files evicts the orchestrator's code and data from the
 * caches (under QEMU's TCG, from its software TLB too), the more so the
 * larger N: "confirm" and "touch" grow alike with N when that eviction,
 * and not the driver, is what they measure.
 */
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "bench.h"

#define PER_HOLDER	25000
#define MAX_HOLDERS	8
#define ROUNDS		15
#define BATCH		500

static const int counts[] = { 0, 1000, 10000, 100000 };

struct holder {
	pid_t pid;
	int cmd;	/* we write: 'c' confirm all, 't' touch (read) all */
	int ack;	/* it writes: 'r' ready, 'k' confirmed */
};

static const volatile uint32_t *map;
static int probe;

static void holder_main(int n, int cmd, int ack)
{
	int *fds = calloc(n + 1, sizeof(*fds));
	uint32_t gen;
	char c;
	int i;

	if (!fds)
		die("holder: out of memory");
	for (i = 0; i < n; i++)
		fds[i] = sg_open(O_RDWR);
	if (write(ack, "r", 1) != 1)
		_exit(1);
	while (read(cmd, &c, 1) == 1) {
		gen = *map;
		for (i = 0; i < n; i++) {
			if (c == 'c' &&
			    write(fds[i], &gen, sizeof(gen)) != sizeof(gen))
				die("holder: confirm: %s", strerror(errno));
			/* Outdated files: read() returns at once. */
			if (c == 't' &&
			    read(fds[i], &gen, sizeof(gen)) != sizeof(gen))
				die("holder: read: %s", strerror(errno));
		}
		if (write(ack, "k", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

static void expect(struct holder *h, char want)
{
	char c;

	if (read(h->ack, &c, 1) != 1 || c != want)
		die("holder %d did not answer '%c'", (int)h->pid, want);
}

/*
 * At least one holder, even for no file, so that the orchestrator sleeps
 * and wakes between rounds whatever N is.
 */
static int spawn(struct holder *hs, int n)
{
	int nh = 0, cmd[2], ack[2];

	do {
		int share = n < PER_HOLDER ? n : PER_HOLDER;
		struct holder *h = &hs[nh++];

		if (nh > MAX_HOLDERS)
			die("too many holders");
		if (pipe(cmd) || pipe(ack))
			die("pipe: %s", strerror(errno));
		h->pid = fork();
		if (h->pid < 0)
			die("fork: %s", strerror(errno));
		if (!h->pid) {
			/* Only its own pipes: the others must see EOF. */
			for (int j = 0; j < nh - 1; j++) {
				close(hs[j].cmd);
				close(hs[j].ack);
			}
			close(cmd[1]);
			close(ack[0]);
			holder_main(share, cmd[0], ack[1]);
		}
		close(cmd[0]);
		close(ack[1]);
		h->cmd = cmd[1];
		h->ack = ack[0];
		n -= share;
	} while (n > 0);
	for (int i = 0; i < nh; i++)
		expect(&hs[i], 'r');
	return nh;
}

static void bump(void)
{
	if (ioctl(probe, SYSGENID_FORCE_GEN_UPDATE, (unsigned long)*map))
		die("FORCE_GEN_UPDATE: %s", strerror(errno));
}

/* The median cost of reading the clock, taken off the single figures. */
static double clock_cost(void)
{
	double v[101];
	int i;

	for (i = 0; i < 101; i++) {
		uint64_t t0 = now_ns();

		v[i] = now_ns() - t0;
	}
	return median(v, 101);
}

/* Every holder passes over its files: 'c' confirm, 't' touch. */
static double pass(struct holder *hs, int nh, const char *cmd)
{
	uint64_t t0 = now_ns();
	int i;

	for (i = 0; i < nh; i++)
		if (write(hs[i].cmd, cmd, 1) != 1)
			die("holder gone");
	for (i = 0; i < nh; i++)
		expect(&hs[i], 'k');
	return (now_ns() - t0) / 1e9;
}

/* One bump, timed alone; @n watchers must be outdated after it. */
static double single(int n, double clk)
{
	uint64_t t0, t1;

	t0 = now_ns();
	bump();
	t1 = now_ns();
	if (ioctl(probe, SYSGENID_GET_OUTDATED_WATCHERS) != n)
		die("the bump did not leave %d watchers outdated", n);
	return t1 - t0 - clk;
}

static void put(int n, const char *what, double *v)
{
	char key[32];

	snprintf(key, sizeof(key), "n%d-%s-ns", n, what);
	result("bump", key, median(v, ROUNDS));
}

static void measure(int n, double clk)
{
	double warm[ROUNDS], confirm[ROUNDS], touch[ROUNDS], passing = 0;
	struct holder hs[MAX_HOLDERS];
	uint64_t start = now_ns(), t0;
	int nh, r, i;

	nh = spawn(hs, n);
	printf("# bump: %d watchers in %d holders, opened in %.1f s\n", n, nh,
	       (now_ns() - start) / 1e9);

	for (r = 0; r < ROUNDS; r++) {
		passing += pass(hs, nh, "c");
		if (ioctl(probe, SYSGENID_GET_OUTDATED_WATCHERS))
			die("watchers still outdated after confirming");
		confirm[r] = single(n, clk);

		passing += pass(hs, nh, "t");
		touch[r] = single(n, clk);

		t0 = now_ns();
		for (i = 0; i < BATCH; i++)
			bump();
		warm[r] = (double)(now_ns() - t0) / BATCH;
	}
	printf("# bump: a pass over the files took %.2f s\n",
	       passing / ROUNDS / 2);

	for (i = 0; i < nh; i++)
		close(hs[i].cmd);	/* EOF: the holder exits */
	for (i = 0; i < nh; i++) {
		waitpid(hs[i].pid, NULL, 0);
		close(hs[i].ack);
	}

	put(n, "warm", warm);
	put(n, "confirm", confirm);
	put(n, "touch", touch);
}

int main(void)
{
	double clk;
	size_t i;

	raise_nofile(PER_HOLDER);
	probe = sg_open(O_RDONLY);
	map = mmap(NULL, sizeof(*map), PROT_READ, MAP_SHARED, probe, 0);
	if (map == MAP_FAILED)
		die("mmap: %s", strerror(errno));

	clk = clock_cost();
	result("bump", "clock-ns", clk);
	for (i = 0; i < ARRAY_SIZE(counts); i++)
		measure(counts[i], clk);
	return 0;
}

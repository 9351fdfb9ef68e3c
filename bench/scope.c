// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-scope: what a scope (a pid namespace's generation) costs.
 *
 * N containers are made, each a pid namespace whose init sleeps on a pipe;
 * then each opens a probe of /dev/sysgenid, which makes its scope. The
 * kernel memory a scope costs is the drop in MemFree across the opens,
 * over N: the scope (struct sysgenid_scope, its page) and the open file
 * (struct file, struct sysgenid_file). Then the cost of a root event (SYSGENID_FORCE_GEN_UPDATE, which
 * walks the scopes, never the files) with no scope and with N:
 *
 *	RESULT scope n              N
 *	RESULT scope mem-bytes      kernel memory per scope, bytes
 *	RESULT scope force-0-ns     root event, no other scope: median ns
 *	RESULT scope force-N-ns     root event, N scopes: median ns
 */
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "bench.h"

#define N_DEFAULT	1000
#define ROUNDS		200

static long mem_free_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * A container: its init says it runs on @f->ready, opens a probe once it
 * reads a byte from @f->open and says so again, then sleeps until the
 * write end of @f->go, which it closes, is closed. Returns the pid of the
 * process that waits for it.
 */
struct fleet {
	pid_t *pids;
	int ready[2], open[2], go[2];
};

static pid_t container(const struct fleet *f)
{
	pid_t pid = fork();
	char c = 'r';

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid)
		return pid;
	close(f->go[1]);
	close(f->open[1]);
	if (unshare(CLONE_NEWPID))
		die("unshare: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		if (write(f->ready[1], &c, 1) != 1 ||
		    read(f->open[0], &c, 1) != 1)
			_exit(1);
		sg_open(O_RDONLY);
		if (write(f->ready[1], &c, 1) != 1)
			_exit(1);
		(void)!read(f->go[0], &c, 1);	/* EOF: the bench is done */
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	_exit(0);
}

static void wait_ready(const struct fleet *f, int n)
{
	char c;

	for (int i = 0; i < n; i++)
		if (read(f->ready[0], &c, 1) != 1)
			die("a container did not answer");
}

static void start(struct fleet *f, int n)
{
	if (pipe(f->ready) || pipe(f->open) || pipe(f->go))
		die("pipe: %s", strerror(errno));
	f->pids = calloc(n, sizeof(*f->pids));
	for (int i = 0; i < n; i++)
		f->pids[i] = container(f);
	wait_ready(f, n);
}

/* Each container opens its probe, which makes its scope. */
static void open_all(struct fleet *f, int n)
{
	for (int i = 0; i < n; i++)
		if (write(f->open[1], "o", 1) != 1)
			die("open pipe: %s", strerror(errno));
	wait_ready(f, n);
}

static void stop(struct fleet *f, int n)
{
	close(f->go[1]);
	for (int i = 0; i < n; i++)
		waitpid(f->pids[i], NULL, 0);
	free(f->pids);
}

static long settled_free(void)
{
	/* Let RCU and the workqueues finish what came before. */
	usleep(500000);
	return mem_free_kb();
}

static double force_ns(int fd)
{
	double v[ROUNDS];

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t = now_ns();

		if (ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, 0))
			die("FORCE_GEN_UPDATE: %s", strerror(errno));
		v[i] = now_ns() - t;
	}
	return median(v, ROUNDS);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : N_DEFAULT;
	int fd = sg_open(O_RDONLY);
	struct fleet f;
	long free0, free1;

	if (n < 1 || n > 100000)
		die("N: 1 to 100000");
	result("scope", "n", n);
	result("scope", "force-0-ns", force_ns(fd));

	start(&f, n);
	free0 = settled_free();
	open_all(&f, n);
	free1 = settled_free();
	result("scope", "mem-bytes", (free0 - free1) * 1024.0 / n);
	result("scope", "force-N-ns", force_ns(fd));
	stop(&f, n);
	return 0;
}

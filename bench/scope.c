// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-scope: what a scope (a pid namespace's generation) costs.
 *
 * N containers are made, each a pid namespace whose init sleeps on a pipe,
 * and N files of the root scope are opened. Binding each file to a
 * container (SYSGENID_SET_SCOPE, with /proc/PID/ns/pid_for_children of
 * the process that made it) makes the container's scope and allocates
 * nothing else, so what the kernel holds after, less what it held before,
 * over N, is what a scope costs: its struct in the slab caches (read from
 * /proc/slabinfo), and its page with it in the kernel memory charged to
 * the benchmark's own memory cgroup (memory.stat's "kernel": the module
 * allocates both with __GFP_ACCOUNT), which MemFree, moving with the
 * per-CPU page lists, cannot show. Then the cost of a root event (FORCE_GEN_UPDATE,
 * which walks the scopes, never the files) with no scope and with N:
 *
 *	RESULT scope n              N
 *	RESULT scope page-bytes     the page size: a scope's page
 *	RESULT scope slab-bytes     slab objects per scope, bytes
 *	RESULT scope cache:NAME     objects per scope gained by cache NAME
 *	RESULT scope memcg-bytes    kernel memory charged per scope, bytes
 *	RESULT scope force-0-ns     root event, no other scope: median ns
 *	RESULT scope force-N-ns     root event, N scopes: median ns
 */
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "slabinfo.h"

#define N_DEFAULT	1000
#define ROUNDS		200

#define CGROUP	"/sys/fs/cgroup"
#define MEMCG	CGROUP "/sgb-scope"

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

/* Into a memory cgroup of its own, where the guest has cgroup v2. */
static bool memcg_enter(void)
{
	if (mount("none", CGROUP, "cgroup2", 0, NULL) && errno != EBUSY)
		return false;
	if (!write_file(CGROUP "/cgroup.subtree_control", "+memory") ||
	    (mkdir(MEMCG, 0755) && errno != EEXIST))
		return false;
	return write_file(MEMCG "/cgroup.procs", "0");
}

/* The kernel memory charged to it, in bytes; -1 if none is known. */
static long memcg_kernel(void)
{
	FILE *f = fopen(MEMCG "/memory.stat", "r");
	char line[128];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "kernel %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * A container: its init says it runs on @f->ready, then sleeps until the
 * write end of @f->go, which it closes, is closed. Returns the pid of the
 * process that made it (whose pid_for_children is the namespace).
 */
struct fleet {
	pid_t *pids;
	int ready[2], go[2];
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
	if (unshare(CLONE_NEWPID))
		die("unshare: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
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
	if (pipe(f->ready) || pipe(f->go))
		die("pipe: %s", strerror(errno));
	f->pids = calloc(n, sizeof(*f->pids));
	for (int i = 0; i < n; i++)
		f->pids[i] = container(f);
	wait_ready(f, n);
}

/* The namespace of each container, opened before any is measured. */
static int *open_namespaces(const struct fleet *f, int n)
{
	int *ns = calloc(n, sizeof(*ns));
	char path[64];

	if (!ns)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/pid_for_children",
			 f->pids[i]);
		ns[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (ns[i] < 0)
			die("%s: %s", path, strerror(errno));
	}
	return ns;
}

static void stop(struct fleet *f, int n)
{
	close(f->go[1]);
	for (int i = 0; i < n; i++)
		waitpid(f->pids[i], NULL, 0);
	free(f->pids);
}

static long settled_kernel(void)
{
	/* Let RCU and the workqueues finish what came before. */
	usleep(500000);
	return memcg_kernel();
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
	static struct snap before, after;
	int n = argc > 1 ? atoi(argv[1]) : N_DEFAULT;
	int fd = sg_open(O_RDONLY), *fds, *ns;
	long mem0, mem1, bytes = 0;
	bool memcg = memcg_enter();
	struct fleet f;
	char key[96];

	if (n < 1 || n > 100000)
		die("N: 1 to 100000");
	raise_nofile(2 * n + 16);
	result("scope", "n", n);
	result("scope", "page-bytes", sysconf(_SC_PAGESIZE));
	result("scope", "force-0-ns", force_ns(fd));

	start(&f, n);
	fds = calloc(n, sizeof(*fds));
	if (!fds)
		die("out of memory");
	for (int i = 0; i < n; i++)
		fds[i] = sg_open(O_RDONLY);
	ns = open_namespaces(&f, n);
	mem0 = settled_kernel();
	take(&before);
	/* Each bind makes a scope, and allocates nothing else. */
	for (int i = 0; i < n; i++)
		if (ioctl(fds[i], SYSGENID_SET_SCOPE, ns[i]))
			die("SET_SCOPE: %s", strerror(errno));
	take(&after);
	mem1 = settled_kernel();
	for (int i = 0; i < after.n; i++) {
		const struct cache *c = &after.c[i];
		long d = gained(&before, c);

		bytes += d * c->objsize;
		if (d < n / 2)
			continue;
		snprintf(key, sizeof(key), "cache:%s", c->name);
		result("scope", key, (double)d / n);
	}
	result("scope", "slab-bytes", (double)bytes / n);
	if (memcg && mem0 >= 0 && mem1 >= 0)
		result("scope", "memcg-bytes", (double)(mem1 - mem0) / n);
	else
		printf("# no memory cgroup: no kernel memory figure\n");
	result("scope", "force-N-ns", force_ns(fd));
	for (int i = 0; i < n; i++) {
		close(fds[i]);
		close(ns[i]);
	}
	free(fds);
	free(ns);
	stop(&f, n);
	return 0;
}

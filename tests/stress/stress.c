// SPDX-License-Identifier: GPL-2.0
/*
 * 50-stress: threads in several processes open, close, read, confirm,
 * poll, map, fork and bump /dev/sysgenid at once, for a bounded time
 * (sysgenid.stress=SECONDS on the kernel command line, or
 * SYSGENID_STRESS_SECONDS; default 20).
 *
 * Every worker thread owns its files and records what it knows of each
 * in shared memory: tracked or not, and the generation it acknowledged.
 * Bumps only ever add one, so generations are unique during the test and
 * a file is outdated exactly when its acknowledged generation is not the
 * current one. Workers run each operation under the read side of a
 * process-shared rwlock; the coordinator takes the write side to make the
 * system quiet, computes the counts from the records and compares them with
 * the ioctl and sysfs. Blocked readers (read, poll, epoll) hold nothing
 * while they sleep: the coordinator bumps while they are blocked and waits,
 * under a guard, for each of them to return. At the end every file must
 * see the final generation, WAIT_WATCHERS must return once all confirmed,
 * and the module must unload (and is loaded again for the suites after).
 */
#include <pthread.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "sg.h"

#define NPROC		3	/* worker processes */
#define NWORK		3	/* worker threads per process */
#define NREAD		3	/* blocked readers per process */
#define NTHREAD		(NWORK + NREAD)
#define NSLOT		(NPROC * NTHREAD)
#define NFILE		10	/* files per worker thread */
#define NMSG		16	/* failure messages kept */
#define GUARD_S		120	/* no single wait may take longer */
#define MODULE_PATH	"/lib/sysgenid/sysgenid.ko"

enum { R_IDLE, R_WAITING, R_RETURNED };
enum { F_OPS, F_FINAL, F_RANGE, F_NR };

struct sfile {
	bool used;
	bool readable;
	bool writable;
	bool tracked;
	bool nonblock;
	int fd;			/* -1 once closed while a mapping keeps it */
	__u32 acked;		/* the generation it acknowledged */
	uintptr_t map;		/* its mapping in the owner's process, or 0 */
};

struct slot {
	struct sfile f[NFILE];
	int rstate;		/* readers: R_*, atomic */
	__u32 rgot;		/* readers: what the blocking call saw */
	unsigned long ops;
};

struct shared {
	pthread_rwlock_t gate;
	bool stop;
	bool calm;		/* workers do not bump: readers settle */
	__u32 final_gen;
	int fails[F_NR];
	int nmsg;
	char msg[NMSG][160];
	unsigned long samples;
	struct slot slot[NSLOT];
};

static struct shared *sh;
static size_t page;

/* ---- failures, from any thread of any process ---- */

static void failf(int kind, const char *fmt, ...)
{
	int i = __atomic_fetch_add(&sh->nmsg, 1, __ATOMIC_RELAXED);
	va_list ap;

	__atomic_fetch_add(&sh->fails[kind], 1, __ATOMIC_RELAXED);
	if (i >= NMSG)
		return;
	va_start(ap, fmt);
	vsnprintf(sh->msg[i], sizeof(sh->msg[i]), fmt, ap);
	va_end(ap);
}

#define fail_op(fmt, ...) \
	failf(F_OPS, "line %d: " fmt ": %s", __LINE__, ##__VA_ARGS__, \
	      strerror(errno))

static void sample(long v, const char *what)
{
	__atomic_fetch_add(&sh->samples, 1, __ATOMIC_RELAXED);
	if (!sg_count_sane(v))
		failf(F_RANGE, "%s = %ld (0x%lx)", what, v, (unsigned long)v);
}

/* ---- one worker thread ---- */

struct worker {
	struct slot *s;
	uint64_t rng;
	int probe;			/* the process's read-only file */
	volatile __u32 *gen;		/* and its mapping */
};

static unsigned int pick(struct worker *w, unsigned int n)
{
	return sg_rand(&w->rng) % n;
}

static __u32 cur(struct worker *w)
{
	return *w->gen;
}

enum { ANY = 0, RD = 1, WR = 2 };

/* A random file with an open fd, and with the access modes in @need. */
static struct sfile *any_file(struct worker *w, int need)
{
	unsigned int i, start = pick(w, NFILE);

	for (i = 0; i < NFILE; i++) {
		struct sfile *f = &w->s->f[(start + i) % NFILE];

		if (f->used && f->fd >= 0 &&
		    (!(need & RD) || f->readable) &&
		    (!(need & WR) || f->writable))
			return f;
	}
	return NULL;
}

/* The generation this file acknowledged, from /proc/self/fdinfo. */
static long fdinfo_acked(int fd)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int pfd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return -1;
	n = read(pfd, buf, sizeof(buf) - 1);
	close(pfd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "sysgenid-acked: ");
	return p ? (long)strtoul(p + 16, NULL, 10) : -1;
}

/*
 * Open a file. When a bump raced with open() the acknowledged generation is
 * one of those seen around it: fdinfo says which, and must lie in between.
 */
static bool open_file(struct worker *w, struct sfile *f, int acc, bool nb)
{
	__u32 g0, g1;
	long acked;
	int fd;

	g0 = cur(w);
	fd = open(SYSGENID_DEVICE, acc | (nb ? O_NONBLOCK : 0) | O_CLOEXEC);
	g1 = cur(w);
	if (fd < 0) {
		fail_op("open");
		return false;
	}
	acked = g0;
	if (g0 != g1) {
		acked = fdinfo_acked(fd);
		if (acked < 0 || !sg_before_eq(g0, acked) ||
		    !sg_before_eq(acked, g1))
			failf(F_OPS, "open: fdinfo acked %ld, not in [%u, %u]",
			      acked, g0, g1);
	}
	*f = (struct sfile){
		.used = true, .fd = fd, .acked = acked, .nonblock = nb,
		.readable = acc != O_WRONLY, .writable = acc != O_RDONLY,
		.tracked = acc != O_RDONLY,
	};
	return true;
}

static void op_open(struct worker *w)
{
	static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR };
	unsigned int i;

	for (i = 0; i < NFILE; i++)
		if (!w->s->f[i].used)
			break;
	if (i < NFILE)
		open_file(w, &w->s->f[i], acc[pick(w, 3)], pick(w, 2));
}

static void forget(struct sfile *f)
{
	*f = (struct sfile){ .fd = -1 };
}

static void op_close(struct worker *w)
{
	struct sfile *f = any_file(w, ANY);

	if (!f)
		return;
	if (close(f->fd))
		fail_op("close");
	f->fd = -1;
	/* A mapping keeps the file, and its watcher, alive. */
	if (!f->map)
		forget(f);
}

/*
 * A read that must not block unless the file is known outdated. Returns
 * what read() returned; checks it against what the worker knows.
 */
static ssize_t do_read(struct worker *w, struct sfile *f, __u32 *v)
{
	char buf[16];
	size_t len = 4 + pick(w, 3) * 4;	/* bigger is fine */
	bool outdated, toggled = false;
	__u32 g0, g1;
	ssize_t n;

	g0 = cur(w);
	outdated = f->acked != g0;
	if (!f->nonblock && !outdated) {
		if (fcntl(f->fd, F_SETFL, O_NONBLOCK))
			fail_op("fcntl");
		toggled = true;
	}
	n = read(f->fd, buf, len);
	g1 = cur(w);
	if (toggled && fcntl(f->fd, F_SETFL, 0))
		fail_op("fcntl");

	if (n == 4) {
		memcpy(v, buf, 4);
		if (!sg_before_eq(g0, *v) || !sg_before_eq(*v, g1) ||
		    *v == f->acked)
			failf(F_OPS, "read %u: acked %u, current %u..%u",
			      *v, f->acked, g0, g1);
	} else if (n < 0 && errno == EAGAIN) {
		if (outdated)
			failf(F_OPS, "read: EAGAIN, acked %u, current %u",
			      f->acked, g0);
	} else {
		fail_op("read returned %zd", n);
	}
	return n;
}

static void op_read(struct worker *w)
{
	struct sfile *f = any_file(w, RD);
	__u32 v;

	if (f)
		do_read(w, f, &v);
}

static void op_short_read(struct worker *w)
{
	struct sfile *f = any_file(w, ANY);
	char buf[4];

	if (f && (read(f->fd, buf, pick(w, 4)) != -1 ||
		  errno != (f->readable ? EINVAL : EBADF)))
		fail_op("read of under 4 bytes");
}

/*
 * Confirm what read() reports, or on a write-only file what the mapping
 * shows; a bump in between makes it stale.
 */
static void op_confirm(struct worker *w)
{
	struct sfile *f = any_file(w, WR);
	__u32 v;

	if (!f)
		return;
	if (!f->readable)
		v = cur(w);
	else if (do_read(w, f, &v) != 4)
		return;
	if (write(f->fd, &v, 4) == 4)
		f->acked = v;
	else if (errno != EINVAL || cur(w) == v)
		fail_op("confirm %u", v);
}

/* A generation already gone never becomes current again. */
static void op_stale_write(struct worker *w)
{
	struct sfile *f = any_file(w, ANY);
	__u32 v = cur(w) - 1 - pick(w, 3);

	if (f && (write(f->fd, &v, 4) != -1 ||
		  errno != (f->writable ? EINVAL : EBADF)))
		fail_op("stale write (%s)", f->writable ? "rw" : "ro");
}

static void op_poll(struct worker *w)
{
	struct sfile *f = any_file(w, ANY);
	struct pollfd p;
	__u32 g0, g1;
	int n;

	if (!f)
		return;
	p = (struct pollfd){ .fd = f->fd, .events = POLLIN };
	g0 = cur(w);
	n = poll(&p, 1, 0);
	g1 = cur(w);
	if (n < 0)
		fail_op("poll");
	else if (f->acked != g0 && !(p.revents & POLLIN))
		failf(F_OPS, "poll: not readable, acked %u, current %u",
		      f->acked, g0);
	else if (f->acked == g1 && (p.revents & POLLIN))
		failf(F_OPS, "poll: readable, acked %u = current", f->acked);
}

/* Mapping needs read access, as for any file. */
static void op_map(struct worker *w)
{
	struct sfile *f = any_file(w, RD);
	__u32 g0, g1, v;
	void *p;

	if (!f || f->map)
		return;
	g0 = cur(w);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, f->fd, 0);
	if (p == MAP_FAILED) {
		fail_op("mmap");
		return;
	}
	v = *(volatile __u32 *)p;
	g1 = cur(w);
	if (!sg_before_eq(g0, v) || !sg_before_eq(v, g1))
		failf(F_OPS, "mapping shows %u, current %u..%u", v, g0, g1);
	/* The mapping may never become writable. */
	if (!mprotect(p, page, PROT_READ | PROT_WRITE) || errno != EACCES)
		fail_op("mprotect to write");
	f->map = (uintptr_t)p;
}

static void op_unmap(struct worker *w)
{
	unsigned int i, start = pick(w, NFILE);

	for (i = 0; i < NFILE; i++) {
		struct sfile *f = &w->s->f[(start + i) % NFILE];

		if (!f->used || !f->map)
			continue;
		if (munmap((void *)f->map, page))
			fail_op("munmap");
		f->map = 0;
		if (f->fd < 0)
			forget(f);	/* the last reference: released */
		return;
	}
}

static void op_bump(struct worker *w)
{
	__u32 g0 = cur(w);

	if (__atomic_load_n(&sh->calm, __ATOMIC_RELAXED))
		return;
	/* A minimum not ahead of the counter: exactly one step. */
	if (ioctl(w->probe, SYSGENID_FORCE_GEN_UPDATE, (unsigned long)g0))
		fail_op("FORCE_GEN_UPDATE");
	else if (cur(w) == g0)
		failf(F_OPS, "bump: the mapping still shows %u", g0);
}

static void op_track(struct worker *w)
{
	struct sfile *f = any_file(w, ANY);
	unsigned long on = pick(w, 2);

	if (!f)
		return;
	if (ioctl(f->fd, SYSGENID_SET_WATCHER_TRACKING, on)) {
		if (f->writable || errno != EBADF)
			fail_op("SET_WATCHER_TRACKING %lu", on);
	} else if (!f->writable) {
		failf(F_OPS, "SET_WATCHER_TRACKING on a read-only file: 0");
	} else {
		f->tracked = on;
	}
}

static void op_wait(struct worker *w)
{
	struct sfile *f = any_file(w, ANY);
	bool must_intr;
	long r;

	if (!f)
		return;
	must_intr = f->tracked && f->acked != cur(w);
	r = sg_ioctl(f->fd, pick(w, 2) ? SYSGENID_WAIT_WATCHERS :
		     SYSGENID_WAIT_WATCHERS_V6, 1 + pick(w, 3));
	if (r == 0 && !must_intr)
		return;
	if (r == -1 && errno == EINTR && f->tracked)
		return;
	if (r == -1 && errno == ETIME && !must_intr)
		return;
	fail_op("WAIT_WATCHERS returned %ld (tracked %d, must EINTR %d)", r,
		f->tracked, must_intr);
}

static void op_count(struct worker *w)
{
	sample(sg_ioctl(w->probe, SYSGENID_GET_OUTDATED_WATCHERS, 0),
	       "GET_OUTDATED_WATCHERS");
	sample(sg_sysfs("outdated_watchers"), "sysfs outdated_watchers");
	sample(sg_sysfs("watchers"), "sysfs watchers");
}

static void op_fdinfo(struct worker *w)
{
	struct sfile *f = any_file(w, ANY);
	long acked;

	if (!f)
		return;
	acked = fdinfo_acked(f->fd);
	if (acked != (long)f->acked)
		failf(F_OPS, "fdinfo acked %ld, the file acknowledged %u",
		      acked, f->acked);
}

/*
 * fork(): the child shares the open files, so it only looks (poll, the
 * mappings) and closes its copies, which releases nothing; it opens files
 * of its own and exits with them open, which releases them. The parent
 * waits, so the child is gone before the system is next quiet. Only
 * async-signal-safe calls in the child: the parent has threads.
 */
static int child(struct worker *w, bool bump)
{
	__u32 g = cur(w);
	int i, fd;

	for (i = 0; i < NFILE; i++) {
		struct sfile *f = &w->s->f[i];
		struct pollfd p = { .fd = f->fd, .events = POLLIN };

		if (!f->used)
			continue;
		if (f->map && !sg_before_eq(f->acked,
					     *(volatile __u32 *)f->map))
			return 10;
		if (f->fd < 0)
			continue;
		if (poll(&p, 1, 0) != 1 && f->acked != g)
			return 11;
		if (close(f->fd))
			return 12;
	}
	fd = open(SYSGENID_DEVICE, O_RDWR);
	if (fd < 0)
		return 13;
	if (bump && ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, (unsigned long)g))
		return 14;
	return 0;
}

static void op_fork(struct worker *w)
{
	/* A child bumps too, but not in a calm round (see op_bump()). */
	bool bump = pick(w, 2) &&
		    !__atomic_load_n(&sh->calm, __ATOMIC_RELAXED);
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		fail_op("fork");
		return;
	}
	if (!pid)
		_exit(child(w, bump));
	if (waitpid(pid, &status, 0) != pid)
		fail_op("waitpid");
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		failf(F_OPS, "fork: child status 0x%x", status);
}

static void op_toggle_nonblock(struct worker *w)
{
	struct sfile *f = any_file(w, ANY);

	if (!f)
		return;
	f->nonblock = !f->nonblock;
	if (fcntl(f->fd, F_SETFL, f->nonblock ? O_NONBLOCK : 0))
		fail_op("fcntl");
}

static void (*const ops[])(struct worker *) = {
	op_open, op_open, op_open, op_close, op_close,
	op_read, op_read, op_short_read, op_confirm, op_confirm, op_confirm,
	op_stale_write, op_poll, op_poll, op_map, op_unmap, op_bump,
	op_track, op_wait, op_count, op_fdinfo, op_fork, op_toggle_nonblock,
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* After the final bump: every file is outdated and shows it; confirm. */
static void finish_files(struct worker *w)
{
	__u32 final = sh->final_gen, v;
	struct pollfd p;
	unsigned int i;

	for (i = 0; i < NFILE; i++) {
		struct sfile *f = &w->s->f[i];

		if (!f->used)
			continue;
		if (f->map && *(volatile __u32 *)f->map != final)
			failf(F_FINAL, "mapping shows %u, final %u",
			      *(volatile __u32 *)f->map, final);
		if (f->fd >= 0) {
			p = (struct pollfd){ .fd = f->fd, .events = POLLIN };
			if (poll(&p, 1, 0) != 1)
				failf(F_FINAL, "poll: not readable after the final bump");
			fcntl(f->fd, F_SETFL, O_NONBLOCK);
			v = final;
			if (f->readable && (read(f->fd, &v, 4) != 4 ||
					    v != final))
				failf(F_FINAL, "read: not the final %u", final);
			else if (f->writable && write(f->fd, &v, 4) != 4)
				failf(F_FINAL, "confirm of the final %u",
				      final);
			close(f->fd);
		}
		if (f->map)
			munmap((void *)f->map, page);
		forget(f);
	}
}

static bool gate_enter(void)
{
	pthread_rwlock_rdlock(&sh->gate);
	if (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
		return true;
	pthread_rwlock_unlock(&sh->gate);
	return false;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (gate_enter()) {
		ops[pick(w, NOPS)](w);
		w->s->ops++;
		pthread_rwlock_unlock(&sh->gate);
	}
	finish_files(w);
	return NULL;
}

/*
 * A reader: one tracked file, confirmed, then a blocking read(), poll() or
 * epoll_wait(), holding nothing, until an event makes the file outdated.
 */
static void *reader_main(void *arg)
{
	struct worker *w = arg;
	struct sfile *f = &w->s->f[0];
	int kind = (w->s - sh->slot) % NTHREAD % 3;
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = -1;
	__u32 v = 0;

	pthread_rwlock_rdlock(&sh->gate);
	open_file(w, f, O_RDWR, false);
	pthread_rwlock_unlock(&sh->gate);
	if (kind == 2) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &ev))
			fail_op("epoll");
	}

	for (;;) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		ssize_t n = 4;

		__atomic_store_n(&w->s->rstate, R_WAITING, __ATOMIC_SEQ_CST);
		if (kind == 0)
			n = read(f->fd, &v, 4);
		else if (kind == 1)
			n = poll(&p, 1, -1) == 1 ? 4 : -1;
		else
			n = epoll_wait(ep, &ev, 1, -1) == 1 ? 4 : -1;
		if (n == 4 && kind)
			n = read(f->fd, &v, 4);	/* outdated: does not block */
		w->s->rgot = v;
		__atomic_store_n(&w->s->rstate, R_RETURNED, __ATOMIC_SEQ_CST);

		if (!gate_enter())
			break;
		if (n != 4)
			fail_op("reader %d: returned %zd", kind, n);
		else if (v == f->acked)
			failf(F_OPS, "reader %d: woke with its own %u", kind,
			      v);
		else if (write(f->fd, &v, 4) == 4)
			f->acked = v;
		else if (errno != EINVAL)
			fail_op("reader %d: confirm", kind);
		w->s->ops++;
		__atomic_store_n(&w->s->rstate, R_IDLE, __ATOMIC_SEQ_CST);
		pthread_rwlock_unlock(&sh->gate);
	}
	if (ep >= 0)
		close(ep);
	finish_files(w);
	return NULL;
}

static int worker_process(int p, uint64_t seed)
{
	struct worker w[NTHREAD];
	pthread_t th[NTHREAD];
	volatile __u32 *gen;
	int i, probe;

	probe = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);
	if (probe < 0)
		return 2;
	gen = mmap(NULL, page, PROT_READ, MAP_SHARED, probe, 0);
	if (gen == MAP_FAILED)
		return 3;
	for (i = 0; i < NTHREAD; i++) {
		int n = p * NTHREAD + i;

		w[i] = (struct worker){
			.s = &sh->slot[n], .probe = probe, .gen = gen,
			.rng = sg_seed_mix(seed, n),
		};
		if (pthread_create(&th[i], NULL, i < NWORK ? worker_main :
				   reader_main, &w[i]))
			return 4;
	}
	for (i = 0; i < NTHREAD; i++)
		pthread_join(th[i], NULL);
	return 0;
}

/* ---- the coordinator ---- */

static int probe;
static volatile __u32 *gen;
static unsigned long checks, mismatches_out, mismatches_w, wakes, wake_rounds;

/* With the gate held for writing: compare the counts with the records. */
static void check_quiet(long base_w)
{
	long want_w = base_w, want_o = 0, io, so, sw;
	__u32 g = *gen;
	int s, i;

	for (s = 0; s < NSLOT; s++)
		for (i = 0; i < NFILE; i++) {
			struct sfile *f = &sh->slot[s].f[i];

			if (!f->used || !f->tracked)
				continue;
			want_w++;
			want_o += f->acked != g;
		}
	io = sg_ioctl(probe, SYSGENID_GET_OUTDATED_WATCHERS, 0);
	so = sg_sysfs("outdated_watchers");
	sw = sg_sysfs("watchers");
	sample(io, "GET_OUTDATED_WATCHERS");
	sample(so, "sysfs outdated_watchers");
	sample(sw, "sysfs watchers");
	checks++;
	if (io != want_o || so != want_o) {
		if (!mismatches_out++)
			printf("# check %lu: outdated: ioctl %ld, sysfs %ld, files %ld\n",
			       checks, io, so, want_o);
	}
	if (sw != want_w) {
		if (!mismatches_w++)
			printf("# check %lu: watchers: sysfs %ld, files %ld\n",
			       checks, sw, want_w);
	}
}

/*
 * With the gate held for writing: bump once, and every reader that was
 * blocked (or about to block) must return with the new generation.
 */
static bool wake_check(void)
{
	bool waiting[NSLOT];
	struct timespec ts = { 0, 1000000 };
	__u32 g;
	int s, left;

	for (s = 0; s < NSLOT; s++)
		waiting[s] = __atomic_load_n(&sh->slot[s].rstate,
					     __ATOMIC_SEQ_CST) == R_WAITING;
	if (ioctl(probe, SYSGENID_FORCE_GEN_UPDATE, (unsigned long)*gen))
		return false;
	g = *gen;
	wake_rounds++;
	sg_guard("a blocked reader did not return after a bump", GUARD_S);
	do {
		left = 0;
		for (s = 0; s < NSLOT; s++)
			left += waiting[s] &&
				__atomic_load_n(&sh->slot[s].rstate,
						__ATOMIC_SEQ_CST) == R_WAITING;
		if (left)
			nanosleep(&ts, NULL);
	} while (left);
	sg_guard(NULL, 0);
	/*
	 * A reader whose file was already outdated may have returned before
	 * the bump: what it saw must still be newer than what it confirmed.
	 */
	for (s = 0; s < NSLOT; s++) {
		__u32 got = sh->slot[s].rgot, acked = sh->slot[s].f[0].acked;

		if (!waiting[s])
			continue;
		wakes++;
		if (got == acked || !sg_before_eq(acked, got) ||
		    !sg_before_eq(got, g))
			failf(F_OPS, "reader %d woke with %u: acked %u, now %u",
			      s, got, acked, g);
	}
	return true;
}

static bool is_reader(int s)
{
	return s % NTHREAD >= NWORK;
}

/*
 * In a calm round, give every reader up to a second to go back to sleep
 * before the gate closes: a slow guest must not leave a round with nobody
 * asleep. Those not asleep by then are left out of that round's check.
 */
static void settle_readers(void)
{
	struct timespec ts = { 0, 1000000 };
	int s, n, awake;

	for (n = 0; n < 1000; n++) {
		awake = 0;
		for (s = 0; s < NSLOT; s++)
			awake += is_reader(s) &&
				__atomic_load_n(&sh->slot[s].rstate,
						__ATOMIC_SEQ_CST) != R_WAITING;
		if (!awake)
			return;
		nanosleep(&ts, NULL);
	}
}

static void gate_lock(void)
{
	sg_guard("quiescing the workers", GUARD_S);
	pthread_rwlock_wrlock(&sh->gate);
	sg_guard(NULL, 0);
}

static int test_no, failed;

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	failed += !ok;
	printf("%sok %d - ", ok ? "" : "not ", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void skip(const char *name, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++test_no, name, why);
	fflush(stdout);
}

static bool module_users(char *who, size_t len)
{
	char line[256];
	bool busy = false;
	FILE *f = fopen("/proc/modules", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char name[64], users[128];
		int refs;

		if (sscanf(line, "%63s %*u %d %127s", name, &refs,
			   users) == 3 && !strcmp(name, "sysgenid") && refs) {
			snprintf(who, len, "%d users: %s", refs, users);
			busy = true;
		}
	}
	fclose(f);
	return busy;
}

static void unload_reload(void)
{
	char who[160];
	int fd;

	if (module_users(who, sizeof(who))) {
		skip("module unloads", who);
		skip("module loads again, counter at 0", "not unloaded");
		return;
	}
	result(!syscall(SYS_delete_module, "sysgenid", O_NONBLOCK) &&
	       access(SG_SYSFS, F_OK) && errno == ENOENT, "module unloads");
	fd = open(MODULE_PATH, O_RDONLY | O_CLOEXEC);
	result(fd >= 0 && !syscall(SYS_finit_module, fd, "", 0) &&
	       sg_sysfs("generation") == 0 && !access(SYSGENID_DEVICE, R_OK),
	       "module loads again, counter at 0");
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	unsigned long secs = sg_setting("SYSGENID_STRESS_SECONDS",
					"sysgenid.stress", 20);
	uint64_t seed = sg_setting("SYSGENID_STRESS_SEED",
				   "sysgenid.stress_seed", time(NULL));
	pthread_rwlockattr_t ra;
	struct timespec end, now;
	unsigned long ops = 0, i;
	pid_t pids[NPROC];
	bool counts_valid;
	long base_w, r;
	int p, status, bad = 0, waiter;

	if (argc > 1)
		secs = strtoul(argv[1], NULL, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	printf("1..11\n");
	printf("# %lu s, %d processes of %d workers and %d blocked readers; seed %llu\n",
	       secs, NPROC, NWORK, NREAD, (unsigned long long)seed);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	probe = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);
	gen = probe < 0 ? MAP_FAILED :
		mmap(NULL, page, PROT_READ, MAP_SHARED, probe, 0);
	if (sh == MAP_FAILED || gen == MAP_FAILED) {
		printf("Bail out! setup: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < NSLOT; i++)
		for (p = 0; p < NFILE; p++)
			forget(&sh->slot[i].f[p]);
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setpshared(&ra, PTHREAD_PROCESS_SHARED);
	/* The coordinator must get through a stream of readers. */
	pthread_rwlockattr_setkind_np(&ra,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&sh->gate, &ra);

	/* Other processes' watchers would make the expected counts guesses. */
	base_w = sg_sysfs("watchers");
	counts_valid = base_w == 0;
	result(sg_count_sane(base_w), "setup: %ld watchers before the test",
	       base_w);

	for (p = 0; p < NPROC; p++) {
		pids[p] = fork();
		if (pids[p] < 0) {
			printf("Bail out! fork: %s\n", strerror(errno));
			return 1;
		}
		if (!pids[p])
			_exit(worker_process(p, seed));
	}

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs;
	for (i = 0;; i++) {
		uint64_t rng = sg_seed_mix(seed, NSLOT + i);
		long ms = 20 + sg_rand(&rng) % 200;
		struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

		/*
		 * Every other round, workers stop bumping for a while, so
		 * that more readers are asleep when the coordinator bumps.
		 */
		__atomic_store_n(&sh->calm, i % 2, __ATOMIC_RELAXED);
		nanosleep(&ts, NULL);
		if (i % 2)
			settle_readers();
		gate_lock();
		check_quiet(base_w);
		if (i % 2 && !wake_check())
			bad++;
		/* A bump makes every watcher outdated: check that too. */
		if (i % 2)
			check_quiet(base_w);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		pthread_rwlock_unlock(&sh->gate);
	}

	/* The end: one last bump that every file must see. */
	sh->stop = true;
	waiter = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);
	if (!wake_check())
		bad++;
	sh->final_gen = *gen;
	pthread_rwlock_unlock(&sh->gate);

	/* Workers confirm the final generation, then close everything. */
	sg_guard("WAIT_WATCHERS after every watcher confirmed", GUARD_S);
	r = sg_ioctl(waiter, SYSGENID_WAIT_WATCHERS, 0);
	sg_guard(NULL, 0);
	close(waiter);

	sg_guard("the workers' exit", GUARD_S);
	for (p = 0; p < NPROC; p++) {
		if (waitpid(pids[p], &status, 0) != pids[p] ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("# worker process %d: status 0x%x\n", p, status);
			bad++;
		}
	}
	sg_guard(NULL, 0);
	for (i = 0; i < NSLOT; i++)
		ops += sh->slot[i].ops;

	for (i = 0; i < NMSG && i < (unsigned long)sh->nmsg; i++)
		printf("# %s\n", sh->msg[i]);
	result(!bad && !sh->fails[F_OPS],
	       "%lu operations returned what the SPEC says (%d wrong)", ops,
	       sh->fails[F_OPS]);
	if (counts_valid) {
		result(!mismatches_out,
		       "outdated count matched the files at %lu quiet points (%lu wrong)",
		       checks, mismatches_out);
		result(!mismatches_w,
		       "watcher count matched the files at %lu quiet points (%lu wrong)",
		       checks, mismatches_w);
	} else {
		skip("outdated count matched the files", "other watchers");
		skip("watcher count matched the files", "other watchers");
	}
	result(!sh->fails[F_RANGE],
	       "counts never negative or wrapped (%lu samples, %d bad)",
	       sh->samples, sh->fails[F_RANGE]);
	if (!wakes)
		for (i = 0; i < NSLOT; i++)
			if (is_reader(i))
				printf("# reader %lu: state %d, %lu returns\n",
				       i, sh->slot[i].rstate, sh->slot[i].ops);
	result(!bad && wakes > 0,
	       "no lost wake-up: %lu blocked readers returned after %lu bumps",
	       wakes, wake_rounds);
	result(!sh->fails[F_FINAL], "every file saw the final generation %u",
	       sh->final_gen);
	result(r == 0, "WAIT_WATCHERS returned once every watcher confirmed (%ld)",
	       r);
	if (counts_valid)
		result(sg_sysfs("watchers") == 0 &&
		       sg_sysfs("outdated_watchers") == 0 &&
		       sg_ioctl(probe, SYSGENID_GET_OUTDATED_WATCHERS, 0) == 0,
		       "no watcher left once every file closed");
	else
		skip("no watcher left once every file closed",
		     "other watchers");

	munmap((void *)gen, page);
	close(probe);
	unload_reload();
	return failed ? 1 : 0;
}

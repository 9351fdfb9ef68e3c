// SPDX-License-Identifier: GPL-2.0
/*
 * 51-fuzz: random sequences of calls on /dev/sysgenid with random
 * arguments (buffer sizes and pointers, O_NONBLOCK, ioctl numbers and
 * arguments, mmap offsets, lengths, protections and flags, mprotect,
 * mremap, munmap, poll, fork, close), a fixed number of iterations,
 * deterministic from a seed printed at the start so that a failure replays:
 *
 *	sysgenid.fuzz_seed=N sysgenid.fuzz_iters=N  (kernel command line)
 *	SYSGENID_FUZZ_SEED=N SYSGENID_FUZZ_ITERS=N  (environment)
 *
 * The fuzzer keeps a model of its files: open or kept by a mapping,
 * tracked or not, outdated or not (it makes every event itself). Every
 * call's result is compared with what the SPEC and the kernel's generic
 * checks predict for those arguments; an errno outside the call's
 * documented set fails too, and so does a count that disagrees with the
 * model. The harness checks that the kernel log stays clean.
 */
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "sg.h"

#define NF		8	/* file slots */
#define NM		6	/* mapping slots */
#define CLOSED_FD	900	/* never open */
#ifdef __aarch64__
/*
 * arm64's TASK_SIZE_MAX is 1 << VA_BITS: 48, or 52 (Debian's 6.12), which
 * main() finds out by asking access_ok() (probe_user_top()); B_HIGH lies
 * above both.
 */
#define USER_TOP	(1UL << 48)
#define HIGH_ADDR	(1UL << 53)
#else
#define USER_TOP	0x7ffffffff000UL	/* x86-64 TASK_SIZE_MAX */
#define HIGH_ADDR	0x0000800000000000UL
#endif
static unsigned long user_top = USER_TOP;
#define NFAIL_SHOWN	20

struct ffile {
	bool alive;		/* an fd or a mapping holds it */
	int fd;			/* -1 when only mappings hold it */
	int acc;		/* O_RDONLY, O_WRONLY, O_RDWR; -1: O_PATH */
	bool nonblock;
	bool tracked;
	bool inherited;		/* in a fork child: the parent's file */
	unsigned long acked;	/* event number it acknowledged */
	int maps;
};

struct fmap {
	void *addr;		/* NULL: free slot */
	int file;
};

enum call {
	C_OPEN, C_CLOSE, C_READ, C_WRITE, C_IOCTL, C_MMAP, C_MUNMAP,
	C_MPROTECT, C_MREMAP, C_POLL, C_FCNTL, C_FORK, C_COUNT, C_NR
};

static const char *const call_name[C_NR] = {
	"open", "close", "read", "write", "ioctl", "mmap", "munmap",
	"mprotect", "mremap", "poll", "fcntl", "fork", "counts",
};

/* What each call may fail with: the SPEC, then the kernel's own checks. */
static const int documented[C_NR][8] = {
	[C_OPEN]	= { ENOTDIR },
	[C_CLOSE]	= { EBADF },
	[C_READ]	= { EINVAL, EAGAIN, EINTR, EFAULT, EBADF },
	[C_WRITE]	= { EINVAL, EFAULT, EBADF },
	[C_IOCTL]	= { ENOTTY, EINVAL, EPERM, EBADF, EINTR, ETIME },
	[C_MMAP]	= { EINVAL, EPERM, EACCES, EBADF, ENOMEM, EOVERFLOW,
			    ENODEV },	/* the ID page, without an ID device */
	[C_MUNMAP]	= { EINVAL },
	[C_MPROTECT]	= { EACCES, EINVAL, ENOMEM },
	[C_MREMAP]	= { EFAULT, EINVAL, ENOMEM },
	[C_POLL]	= { EINTR },
	[C_FCNTL]	= { EBADF },
};

static struct ffile files[NF];
static struct fmap maps[NM];
static unsigned long events;	/* generation events so far, all ours */
static uint64_t rng;
static unsigned long iter;
static int probe;
static volatile __u32 *gen;
/* The VM generation ID page, NULL where the guest has none. */
static volatile __u32 *id_page;
static size_t page;
static bool in_child, model_counts;
static unsigned long calls[C_NR], fails[C_NR], nfail_shown;
static char *scratch;		/* rw page, then a PROT_NONE page */
static unsigned long *child_events;	/* shared: a fork child's bumps */
static timer_t interrupter;
static char last[160];		/* the last call checked, for messages */
static volatile sig_atomic_t interrupts;

static uint64_t rnd(uint64_t n)
{
	return n ? sg_rand(&rng) % n : 0;
}

static void failure(enum call c, const char *fmt, ...)
{
	va_list ap;

	fails[c]++;
	if (nfail_shown++ >= NFAIL_SHOWN)
		return;
	printf("# %siter %lu: %s: ", in_child ? "child, " : "", iter,
	       call_name[c]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static const char *ename(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	case ENOTTY: return "ENOTTY";
	case EPERM: return "EPERM";
	case ETIME: return "ETIME";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOTDIR: return "ENOTDIR";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/*
 * Check a call's outcome: @err is 0 for success, else the errno; @want is
 * the predicted one, @also a second outcome the kernel may equally give
 * (-1: none).
 */
static bool expect(enum call c, int err, int want, int also,
		   const char *what)
{
	int i;

	calls[c]++;
	snprintf(last, sizeof(last), "%s", what);
	if (err) {
		for (i = 0; i < 8 && documented[c][i]; i++)
			if (documented[c][i] == err)
				break;
		if (i == 8 || !documented[c][i]) {
			failure(c, "%s: undocumented %s", what, ename(err));
			return false;
		}
	}
	if (err == want || err == also)
		return true;
	failure(c, "%s: %s, expected %s", what, ename(err), ename(want));
	return false;
}

static bool outdated(const struct ffile *f)
{
	return f->acked != events;
}

static bool readable(const struct ffile *f)
{
	return f->acc == O_RDONLY || f->acc == O_RDWR;
}

static bool writable(const struct ffile *f)
{
	return f->acc == O_WRONLY || f->acc == O_RDWR;
}

/* ---- the interrupter, for calls that may sleep ---- */

static void on_interrupt(int sig)
{
	(void)sig;
	interrupts++;
}

/* Signal every 5 ms until disarmed: whatever sleeps gets EINTR. */
static void interrupt_arm(bool on)
{
	struct itimerspec its = { 0 };

	if (on)
		its.it_value.tv_nsec = its.it_interval.tv_nsec = 5000000;
	timer_settime(interrupter, 0, &its, NULL);
}

/* ---- arguments ---- */

/* An fd: mostly one of ours, sometimes a closed one or garbage. */
static int pick_fd(struct ffile **fp)
{
	int i = rnd(NF + 2);

	*fp = NULL;
	if (i < NF && files[i].alive && files[i].fd >= 0) {
		*fp = &files[i];
		return files[i].fd;
	}
	return i == NF ? -1 : CLOSED_FD;
}

enum buf_kind { B_GOOD, B_NULL, B_ONE, B_KERNEL, B_HIGH, B_NONE, B_RO,
		B_EDGE, B_NR };

static const char *const buf_name[B_NR] = {
	"good", "NULL", "(void *)1", "kernel address", "above user space",
	"PROT_NONE page", "read-only mapping", "2 bytes before PROT_NONE",
};

/* A buffer, and how many of its first bytes are accessible (r, w). */
static char *pick_buf(enum buf_kind *k, size_t *rd_ok, size_t *wr_ok)
{
	*k = rnd(3) ? B_GOOD : rnd(B_NR);
	*rd_ok = *wr_ok = 0;
	switch (*k) {
	case B_GOOD:
		*rd_ok = *wr_ok = page;
		return scratch;
	case B_NULL:
		return NULL;
	case B_ONE:
		return (char *)1;
	case B_KERNEL:
		return (char *)0xffffffff81000000UL;
	case B_HIGH:
		return (char *)HIGH_ADDR;
	case B_NONE:
		return scratch + page;
	case B_RO:
		*rd_ok = 4;
		return (char *)gen;
	case B_EDGE:
	default:
		*rd_ok = *wr_ok = 2;
		return scratch + page - 2;
	}
}

static size_t pick_len(void)
{
	static const size_t lens[] = {
		0, 1, 2, 3, 4, 4, 4, 5, 7, 8, 4096, 1UL << 31,
		(size_t)SSIZE_MAX + 1, SIZE_MAX,
	};

	return lens[rnd(sizeof(lens) / sizeof(lens[0]))];
}

/* access_ok(): the range must lie in user space. */
static bool range_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	return a <= user_top && len <= user_top - a;
}

/* ---- calls ---- */

static int slot_free(void)
{
	int i;

	for (i = 0; i < NF; i++)
		if (!files[i].alive)
			return i;
	return -1;
}

static void do_open(void)
{
	static const int accs[] = { O_RDONLY, O_WRONLY, O_RDWR };
	int i = slot_free(), acc = accs[rnd(3)], flags, fd, want = 0;
	bool path = !rnd(10), dir = !rnd(20), nb = rnd(2);
	struct ffile *f;

	if (i < 0)
		return;
	flags = acc | (nb ? O_NONBLOCK : 0) | (path ? O_PATH : 0) |
		(dir ? O_DIRECTORY : 0) | O_CLOEXEC;
	if (dir)
		want = ENOTDIR;
	fd = open(SYSGENID_DEVICE, flags);
	if (!expect(C_OPEN, fd < 0 ? errno : 0, want, -1, "open") || fd < 0)
		return;
	f = &files[i];
	*f = (struct ffile){
		.alive = true, .fd = fd, .acc = path ? -1 : acc,
		.nonblock = nb, .acked = events,
	};
	f->tracked = writable(f);
}

/* In a fork child, the parent still holds what the child inherited. */
static void release_if_unused(struct ffile *f)
{
	if (f->fd < 0 && !f->maps && !f->inherited)
		f->alive = false;
}

/* What the guard names if the call hangs: the call, then its arguments. */
static char guard_what[160];

static void guard_name(const char *what)
{
	snprintf(guard_what, sizeof(guard_what),
		 "a call did not return (%siter %lu, %s)",
		 in_child ? "child, " : "", iter, what);
}

static void do_close(void)
{
	struct ffile *f;
	int fd = pick_fd(&f), r;

	r = close(fd);
	expect(C_CLOSE, r ? errno : 0, f ? 0 : EBADF, -1, "close");
	if (f && !r) {
		f->fd = -1;
		release_if_unused(f);
	}
}

static void do_read(void)
{
	struct ffile *f;
	int fd = pick_fd(&f), want, also = -1;
	size_t len = pick_len(), rd_ok, wr_ok;
	enum buf_kind k;
	char *buf = pick_buf(&k, &rd_ok, &wr_ok);
	bool sleeps = false;
	char what[96];
	ssize_t n;

	if (!f || !readable(f))
		want = EBADF;
	else if (!range_ok(buf, len))
		want = EFAULT;
	else if ((ssize_t)len < 0)
		want = EINVAL;
	else if (len < 4)
		want = EINVAL;
	else if (!outdated(f))
		want = f->nonblock ? EAGAIN : (sleeps = true, EINTR);
	else if (wr_ok < 4)
		want = EFAULT;
	else
		want = 0;

	snprintf(what, sizeof(what), "read(%s, %s, %zu)",
		 f ? (f->nonblock ? "nonblock" : "blocking") : "bad fd",
		 buf_name[k], len);
	guard_name(what);
	interrupt_arm(sleeps);
	n = read(fd, buf, len);
	interrupt_arm(false);
	if (!expect(C_READ, n < 0 ? errno : 0, want, also, what) || n < 0)
		return;
	if (n != 4)
		failure(C_READ, "%s returned %zd", what, n);
	else if (*(__u32 *)buf != *gen)
		failure(C_READ, "%s: %u, current %u", what, *(__u32 *)buf,
			*gen);
}

static void do_write(void)
{
	struct ffile *f;
	int fd = pick_fd(&f), want;
	size_t len = rnd(2) ? 4 : pick_len(), rd_ok, wr_ok;
	enum buf_kind k;
	char *buf = pick_buf(&k, &rd_ok, &wr_ok);
	__u32 v = *gen;
	char what[96];
	ssize_t n;

	/* The current generation, or one that is not. */
	switch (rnd(4)) {
	case 1:
		v--;
		break;
	case 2:
		v++;
		break;
	case 3:
		v = rnd(1ULL << 32);
		break;
	}
	if (k == B_GOOD)
		memcpy(buf, &v, 4);
	else if (k == B_RO)
		v = *gen;	/* the mapping: always current */

	/* A confirmation would change the parent's file. */
	if (in_child && f && f->inherited)
		return;
	if (!f || !writable(f))
		want = EBADF;
	else if (!range_ok(buf, len))
		want = EFAULT;
	else if ((ssize_t)len < 0 || len != 4)
		want = EINVAL;
	else if (rd_ok < 4)
		want = EFAULT;
	else if (v != *gen)
		want = EINVAL;
	else
		want = 0;

	snprintf(what, sizeof(what), "write(%s, %s, %zu) of %s",
		 f ? "fd" : "bad fd", buf_name[k], len,
		 v == *gen ? "the current generation" : "another");
	n = write(fd, buf, len);
	if (!expect(C_WRITE, n < 0 ? errno : 0, want, -1, what) || n < 0)
		return;
	if (n != 4)
		failure(C_WRITE, "%s returned %zd", what, n);
	f->acked = events;
}

static unsigned long expected_outdated(void)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < NF; i++)
		n += files[i].alive && files[i].tracked && outdated(&files[i]);
	return n;
}

static unsigned long expected_watchers(void)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < NF; i++)
		n += files[i].alive && files[i].tracked;
	return n;
}

static unsigned long pick_cmd(void)
{
	static const unsigned long known[] = {
		SYSGENID_GET_OUTDATED_WATCHERS, SYSGENID_WAIT_WATCHERS,
		SYSGENID_FORCE_GEN_UPDATE, SYSGENID_SET_WATCHER_TRACKING,
		SYSGENID_WAIT_WATCHERS_V6, SYSGENID_TRIGGER_GEN_UPDATE,
		SYSGENID_BUMP_SCOPE, SYSGENID_SET_SCOPE,
	};
	const unsigned int n = sizeof(known) / sizeof(known[0]);
	unsigned long cmd;

	switch (rnd(6)) {
	case 0:
	case 1:
		return known[rnd(n)];
	case 2:		/* a known one with direction and size bits */
		return known[rnd(n)] | _IOC(rnd(4), 0, 0, 1 + rnd(16));
	case 3:		/* either magic, any number */
		return _IOC(rnd(4), rnd(2) ? SYSGENID_IOCTL :
			    SYSGENID_IOCTL_V6, rnd(256), rnd(2) ? 0 : rnd(64));
	case 4:		/* high bits: the syscall takes an unsigned int */
		return known[rnd(n)] | (rnd(0xffffffffUL) + 1) << 32;
	default:
		/*
		 * Anything but the types of the VFS's own commands, which it
		 * serves before the driver (FIGETBSZ, FIONBIO, FIFREEZE...).
		 */
		do {
			cmd = rnd(1ULL << 32);
		} while (memchr("\0TfX\x94\x15", _IOC_TYPE(cmd), 6));
		return cmd;
	}
}

static unsigned long pick_arg(void)
{
	static const unsigned long args[] = {
		0, 1, 2, 3, 0xffffffffUL, 0x100000000UL, ~0UL,
	};

	switch (rnd(4)) {
	case 0:
		return sg_rand(&rng);
	case 1:
		return *gen + rnd(3) + rnd(2) * 0x80000000UL;
	default:
		return args[rnd(sizeof(args) / sizeof(args[0]))];
	}
}

static void do_ioctl(void)
{
	struct ffile *f;
	int fd = pick_fd(&f), want = 0, also = -1;
	unsigned long cmd = pick_cmd(), arg = pick_arg();
	unsigned int nr = cmd;
	bool sleeps = false, bump = false;
	__u32 before = *gen, after;
	char what[96];
	long r;

	snprintf(what, sizeof(what), "ioctl(%s, 0x%lx, 0x%lx)",
		 f ? "fd" : "bad fd", cmd, arg);
	if (!f || f->acc < 0) {
		want = EBADF;
	} else if (nr == SYSGENID_GET_OUTDATED_WATCHERS) {
		want = 0;
	} else if (nr == SYSGENID_WAIT_WATCHERS ||
		   nr == SYSGENID_WAIT_WATCHERS_V6) {
		if (arg > 0xffffffffUL)
			want = EINVAL;
		else if (f->tracked && outdated(f))
			want = EINTR;
		else if (!model_counts)
			return;		/* others' watchers: it may sleep */
		else if (!expected_outdated())
			want = 0;
		else	/* sleeps: times out, or the interrupter ends it */
			want = EINTR, also = ETIME, sleeps = true;
	} else if (nr == SYSGENID_FORCE_GEN_UPDATE ||
		   nr == SYSGENID_TRIGGER_GEN_UPDATE) {
		want = arg > 0xffffffffUL ? EINVAL : 0;
		bump = !want;
	} else if (nr == SYSGENID_BUMP_SCOPE) {
		/* Every file here is of the root scope: the host's event. */
		want = arg ? EINVAL : 0;
		bump = !want;
	} else if (nr == SYSGENID_SET_SCOPE) {
		/* No file here is a pid namespace's; fget() skips O_PATH. */
		int fl = arg > INT_MAX ? -1 : fcntl(arg, F_GETFL);

		want = fl < 0 || fl & O_PATH ? EBADF : EINVAL;
	} else if (nr == SYSGENID_SET_WATCHER_TRACKING) {
		if (in_child && f->inherited)
			return;
		if (!writable(f))
			want = EBADF, also = arg > 1 ? EINVAL : -1;
		else if (arg > 1)
			want = EINVAL;
	} else {
		want = ENOTTY;
	}

	interrupt_arm(sleeps);
	r = sg_ioctl(fd, cmd, arg);
	interrupt_arm(false);
	if (!expect(C_IOCTL, r < 0 ? errno : 0, want, also, what) || r < 0)
		return;

	after = *gen;
	if (nr == SYSGENID_GET_OUTDATED_WATCHERS) {
		if (!sg_count_sane(r) ||
		    (model_counts && (unsigned long)r != expected_outdated()))
			failure(C_IOCTL, "%s = %ld, model %lu", what, r,
				expected_outdated());
	} else if (bump) {
		/* SPEC 4: the minimum if it is ahead of the current one. */
		__u32 min = arg;
		__u32 next = (__s32)(min - before) > 0 ? min : before + 1;

		if (after != next)
			failure(C_IOCTL, "%s: %u -> %u, expected %u", what,
				before, after, next);
		events++;
	} else if (nr == SYSGENID_SET_WATCHER_TRACKING) {
		f->tracked = arg;
	} else if (r) {
		failure(C_IOCTL, "%s returned %ld", what, r);
	}
	if (!bump && after != before)
		failure(C_IOCTL, "%s moved the counter", what);
}

static int map_free(void)
{
	int i;

	for (i = 0; i < NM; i++)
		if (!maps[i].addr)
			return i;
	return -1;
}

static void do_mmap(void)
{
	static const int prots[] = {
		PROT_READ, PROT_READ, PROT_READ, PROT_NONE, PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_EXEC,
	};
	static const int types[] = {
		MAP_SHARED, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_PRIVATE,
	};
	static const size_t lens[] = { 4096, 4096, 4096, 0, 1, 4095, 4097,
		8192, 1UL << 40, ~0UL };
	static const unsigned long offs[] = { 0, 0, 0, 4096, 1, 2048,
		0x7ffffffffffff000UL, ~0xfffUL };
	int m = map_free(), prot = prots[rnd(8)], type = types[rnd(4)];
	int flags = type | (rnd(4) ? 0 : MAP_POPULATE);
	size_t len = lens[rnd(10)], alen = (len + page - 1) & ~(page - 1);
	unsigned long off = offs[rnd(8)];
	int want, also = -1;
	bool driver = false;
	struct ffile *f;
	int fd = pick_fd(&f);
	char what[128];
	void *p;

	if (m < 0)
		return;
	/*
	 * In the order of the kernel's checks: the syscall, do_mmap(), its
	 * file_mmap_ok() (a character device may map up to ULONG_MAX), the
	 * access modes, then the driver.
	 */
	if (off & (page - 1))
		want = EINVAL;
	else if (!f || f->acc < 0)
		want = EBADF;
	else if (!len)
		want = EINVAL;
	else if (!alen || len > user_top)
		want = ENOMEM;
	else if (off / page > (~0UL - alen) / page)
		want = EOVERFLOW;
	else if (type != MAP_PRIVATE && (prot & PROT_WRITE) && !writable(f))
		want = EACCES;
	else if (!readable(f))
		want = EACCES;
	else
		driver = true;
	/* Offset 0: the generation; one page: the VM generation ID page. */
	if (driver)
		want = off > (unsigned long)page || alen != page ||
		       type == MAP_PRIVATE ? EINVAL :
		       prot & PROT_WRITE ? EPERM : off && !id_page ? ENODEV : 0;
	/* A noexec /dev would refuse PROT_EXEC before the driver. */
	if (driver && (prot & PROT_EXEC))
		also = EPERM;
	/* A private writable mapping is charged first: overcommit. */
	if (driver && type == MAP_PRIVATE && (prot & PROT_WRITE) &&
	    alen > page)
		also = ENOMEM;

	snprintf(what, sizeof(what), "mmap(%zu, prot 0x%x, flags 0x%x, %s, 0x%lx)",
		 len, prot, flags, f ? "fd" : "bad fd", off);
	p = mmap(NULL, len, prot, flags, fd, off);
	if (!expect(C_MMAP, p == MAP_FAILED ? errno : 0, want, also, what) ||
	    p == MAP_FAILED)
		return;
	maps[m] = (struct fmap){ .addr = p, .file = f - files };
	f->maps++;
	if (prot & PROT_READ) {
		const __u32 *w = p;
		const volatile __u32 *ref = off ? id_page : gen;
		size_t i;

		if (!off && w[0] != *gen)
			failure(C_MMAP, "%s shows %u, current %u", what, w[0],
				*gen);
		/* The rest as the probe's own mapping shows it. */
		for (i = !off; i < page / 4; i++)
			if (w[i] != ref[i]) {
				failure(C_MMAP, "%s: word %zu is 0x%x, not 0x%x",
					what, i, w[i], ref[i]);
				break;
			}
	}
}

static struct fmap *pick_map(void)
{
	int i = rnd(NM);

	return maps[i].addr ? &maps[i] : NULL;
}

static void unmapped(struct fmap *m)
{
	struct ffile *f = &files[m->file];

	m->addr = NULL;
	f->maps--;
	release_if_unused(f);
}

static void do_munmap(void)
{
	struct fmap *m = pick_map();
	int r, want = 0;
	size_t len = page;
	char *a;

	if (!m)
		return;
	a = m->addr;
	switch (rnd(4)) {
	case 0:
		a++;
		want = EINVAL;
		break;
	case 1:
		len = 0;
		want = EINVAL;
		break;
	}
	r = munmap(a, len);
	if (expect(C_MUNMAP, r ? errno : 0, want, -1, "munmap") && !r)
		unmapped(m);
}

static void do_mprotect(void)
{
	static const int prots[] = {
		PROT_READ, PROT_NONE, PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_EXEC,
	};
	struct fmap *m = pick_map();
	int prot = prots[rnd(5)], r, want, also = -1;
	char what[48];

	if (!m)
		return;
	want = prot & PROT_WRITE ? EACCES : 0;
	if (prot & PROT_EXEC)
		also = EACCES;	/* a noexec /dev */
	snprintf(what, sizeof(what), "mprotect(prot 0x%x)", prot);
	r = mprotect(m->addr, page, prot);
	expect(C_MPROTECT, r ? errno : 0, want, also, what);
}

static void do_mremap(void)
{
	struct fmap *m = pick_map();
	size_t len;
	void *p;
	int r;

	if (!m)
		return;
	switch (rnd(3)) {
	case 0:		/* grow, in place or moved */
		len = page * (2 + rnd(3));
		p = mremap(m->addr, page, len, rnd(2) ? MREMAP_MAYMOVE : 0);
		r = p == MAP_FAILED ? errno : 0;
		expect(C_MREMAP, r, EFAULT, -1, "mremap to grow");
		break;
	case 1:		/* the same size */
		p = mremap(m->addr, page, page, MREMAP_MAYMOVE);
		r = p == MAP_FAILED ? errno : 0;
		if (expect(C_MREMAP, r, 0, -1, "mremap to the same size") &&
		    !r)
			m->addr = p;
		break;
	default:	/* to nothing */
		p = mremap(m->addr, page, 0, MREMAP_MAYMOVE);
		r = p == MAP_FAILED ? errno : 0;
		expect(C_MREMAP, r, EINVAL, -1, "mremap to 0 bytes");
		break;
	}
}

/*
 * poll() reports POLLIN | POLLRDNORM on an outdated file, nothing on an up
 * to date one (never POLLOUT), POLLNVAL on a closed or O_PATH fd.
 */
static void do_poll(void)
{
	struct pollfd p[NF];
	short want[NF];
	int n = rnd(NF + 1), ready = 0, i, r, timeout = rnd(2) ? 0 : -1;
	bool sleeps;

	for (i = 0; i < n; i++) {
		struct ffile *f;

		p[i] = (struct pollfd){ .fd = pick_fd(&f),
			.events = POLLIN | POLLRDNORM | POLLOUT };
		if (p[i].fd < 0)
			want[i] = 0;
		else if (!f || f->acc < 0)
			want[i] = POLLNVAL;
		else
			want[i] = outdated(f) ? POLLIN | POLLRDNORM : 0;
		ready += !!want[i];
	}
	/* Nothing ready and no timeout: it sleeps until interrupted. */
	sleeps = !ready && timeout < 0;
	interrupt_arm(sleeps);
	r = poll(p, n, timeout);
	interrupt_arm(false);
	if (!expect(C_POLL, r < 0 ? errno : 0, sleeps ? EINTR : 0, -1,
		    "poll") || r < 0)
		return;
	if (r != ready)
		failure(C_POLL, "%d ready, expected %d", r, ready);
	for (i = 0; i < n; i++)
		if (p[i].revents != want[i]) {
			failure(C_POLL, "fd %d: revents 0x%x, expected 0x%x",
				p[i].fd, p[i].revents, want[i]);
			break;
		}
}

static void do_fcntl(void)
{
	struct ffile *f;
	int fd = pick_fd(&f), r;
	bool nb = rnd(2);

	if (in_child && f && f->inherited)
		return;		/* the flags belong to the shared file */
	/* O_PATH files take no F_SETFL. */
	r = fcntl(fd, F_SETFL, nb ? O_NONBLOCK : 0);
	if (expect(C_FCNTL, r ? errno : 0, f && f->acc >= 0 ? 0 : EBADF, -1,
		   "fcntl") && !r)
		f->nonblock = nb;
}

static void do_counts(void)
{
	long o = sg_sysfs("outdated_watchers"), w = sg_sysfs("watchers");

	calls[C_COUNT]++;
	if (!sg_count_sane(o) || !sg_count_sane(w))
		failure(C_COUNT, "sysfs: %ld outdated of %ld watchers", o, w);
	else if (model_counts && ((unsigned long)o != expected_outdated() ||
				  (unsigned long)w != expected_watchers()))
		failure(C_COUNT, "sysfs: %ld outdated of %ld watchers, model %lu of %lu",
			o, w, expected_outdated(), expected_watchers());
}

static void one_call(bool allow_fork);

/*
 * fork(): the child gets a copy of the model and a seed of its own, makes
 * calls that leave the parent's files as they are (it does bump, and says
 * how often in its exit status), and exits with its files open.
 */
static void do_fork(void)
{
	uint64_t child_seed = sg_rand(&rng);
	unsigned long n = 20 + rnd(60), i;
	int status, j;
	pid_t pid;

	calls[C_FORK]++;
	fflush(stdout);
	*child_events = 0;
	pid = fork();
	if (pid < 0) {
		failure(C_FORK, "fork: %s", strerror(errno));
		return;
	}
	if (!pid) {
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL,
					.sigev_signo = SIGUSR1 };
		unsigned long ev0 = events;

		/* POSIX timers are not inherited. */
		if (timer_create(CLOCK_MONOTONIC, &sev, &interrupter))
			_exit(255);
		in_child = true;
		rng = child_seed ? child_seed : 1;
		nfail_shown = 0;
		memset(fails, 0, sizeof(fails));
		for (j = 0; j < NF; j++)
			files[j].inherited = files[j].alive;
		for (i = 0; i < n; i++) {
			one_call(false);
			*child_events = events - ev0;
		}
		for (j = 0; j < C_NR; j++)
			if (fails[j])
				_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		failure(C_FORK, "child (seed %llu) status 0x%x",
			(unsigned long long)child_seed, status);
	events += *child_events;
}

/* Each call's share of the iterations, in percent. */
static const struct {
	enum call c;
	unsigned int share;
	void (*fn)(void);
} mix[] = {
	{ C_OPEN, 10, do_open }, { C_CLOSE, 6, do_close },
	{ C_READ, 14, do_read }, { C_WRITE, 12, do_write },
	{ C_IOCTL, 20, do_ioctl }, { C_MMAP, 10, do_mmap },
	{ C_MUNMAP, 4, do_munmap }, { C_MPROTECT, 4, do_mprotect },
	{ C_MREMAP, 4, do_mremap }, { C_POLL, 6, do_poll },
	{ C_FCNTL, 4, do_fcntl }, { C_FORK, 2, do_fork },
	{ C_COUNT, 4, do_counts },
};

static void one_call(bool allow_fork)
{
	unsigned int c = rnd(100), i;
	long r;

	for (i = 0; c >= mix[i].share; i++)
		c -= mix[i].share;
	if (mix[i].c == C_FORK && !allow_fork)
		i++;
	/* No call may hang: a sleeping one is interrupted within 5 ms. */
	guard_name(call_name[mix[i].c]);
	/* A fork child's fires first: it names the call that hung. */
	sg_guard(guard_what, in_child ? 50 : 60);
	snprintf(last, sizeof(last), "%s", call_name[mix[i].c]);
	mix[i].fn();

	/* The model and the driver agree after every call. */
	r = sg_ioctl(probe, SYSGENID_GET_OUTDATED_WATCHERS, 0);
	if (model_counts && r != (long)expected_outdated())
		failure(C_COUNT, "after %s: %ld outdated, model %lu", last, r,
			expected_outdated());
}

/*
 * arm64: a read() of an up-to-date file with O_NONBLOCK is EAGAIN if
 * vfs_read()'s access_ok() passes, EFAULT if not: at 1 << 51, that says
 * whether the kernel's TASK_SIZE_MAX is 1 << 52.
 */
static void probe_user_top(void)
{
#ifdef __aarch64__
	int fd = open(SYSGENID_DEVICE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && read(fd, (void *)(1UL << 51), 4) < 0 &&
	    errno == EAGAIN)
		user_top = 1UL << 52;
	if (fd >= 0)
		close(fd);
#endif
}

int main(void)
{
	uint64_t seed = sg_setting("SYSGENID_FUZZ_SEED", "sysgenid.fuzz_seed",
				   0);
	unsigned long iters = sg_setting("SYSGENID_FUZZ_ITERS",
					 "sysgenid.fuzz_iters", 20000);
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL,
				.sigev_signo = SIGUSR1 };
	struct sigaction sa = { .sa_handler = on_interrupt };
	long base;
	int c, i, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ts.tv_sec * 1000003ULL ^ ts.tv_nsec;
	}
	rng = sg_seed_mix(seed, 0);
	printf("1..%d\n", C_NR);
	printf("# seed %llu, %lu iterations (replay: sysgenid.fuzz_seed=%llu)\n",
	       (unsigned long long)seed, iters, (unsigned long long)seed);

	/* No SA_RESTART: a sleeping call must come back with EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	scratch = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	child_events = mmap(NULL, page, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	probe = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);
	gen = probe < 0 ? MAP_FAILED :
		mmap(NULL, page, PROT_READ, MAP_SHARED, probe, 0);
	if (scratch == MAP_FAILED || gen == MAP_FAILED ||
	    child_events == MAP_FAILED ||
	    mprotect(scratch + page, page, PROT_NONE) ||
	    timer_create(CLOCK_MONOTONIC, &sev, &interrupter)) {
		printf("Bail out! setup: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < NF; i++)
		files[i].fd = -1;
	id_page = mmap(NULL, page, PROT_READ, MAP_SHARED, probe, page);
	if (id_page == MAP_FAILED)
		id_page = NULL;
	printf("# VM generation ID page: %s\n", id_page ? "mapped" : "none");
	probe_user_top();
	printf("# user space ends at 0x%lx\n", user_top);

	/* Others' watchers would make the counts unpredictable. */
	base = sg_sysfs("watchers");
	model_counts = base == 0;
	if (!model_counts)
		printf("# %ld other watchers: counts not compared\n", base);

	for (iter = 0; iter < iters; iter++) {
		/* Progress: the harness takes a long silence for a hang. */
		if (iter && !(iter % 2000))
			printf("# %lu calls\n", iter);
		one_call(true);
	}
	sg_guard(NULL, 0);

	for (c = 0; c < C_NR; c++) {
		printf("%sok %d - %s: %lu calls as documented (%lu wrong)\n",
		       fails[c] ? "not " : "", c + 1, call_name[c], calls[c],
		       fails[c]);
		failed += !!fails[c];
	}
	printf("# %d interrupts, %lu events\n", (int)interrupts, events);
	return failed ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * 52-bad-inputs: each bad input of the table in docs/bad-inputs.md, tried
 * once, in a fixed order. For each it prints a machine-readable line
 *
 *	# BADINPUT <tab> call <tab> input <tab> result <tab> what the SPEC says
 *
 * (the result: the errno's name, or what a successful call returned), which
 * tests/stress/bad-inputs-table turns into the table, and a TAP result:
 * whether that is what the SPEC says (some inputs the SPEC leaves open:
 * those only report).
 */
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>

#include "sg.h"

static int test_no, failed;
static size_t page;
/* NULL, hidden from the compiler's checks of read() and write(). */
static void *volatile null;

static const char *ename(int e)
{
	static const struct { int e; const char *name; } names[] = {
		{ EINVAL, "EINVAL" }, { EAGAIN, "EAGAIN" }, { EINTR, "EINTR" },
		{ EFAULT, "EFAULT" }, { EBADF, "EBADF" }, { ENOTTY, "ENOTTY" },
		{ EPERM, "EPERM" }, { ETIME, "ETIME" }, { EACCES, "EACCES" },
		{ ENOMEM, "ENOMEM" }, { EOVERFLOW, "EOVERFLOW" },
		{ ENOTDIR, "ENOTDIR" },
	};
	static char buf[16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* A syscall's outcome as the table shows it: "EINVAL", or "returns 4". */
static const char *outcome(long r, int err)
{
	static char buf[32];

	if (r < 0)
		return ename(err);
	snprintf(buf, sizeof(buf), "returns %ld", r);
	return buf;
}

/* @want NULL: the SPEC leaves it open, only report. */
static void report(const char *call, const char *input, const char *want,
		   const char *got)
{
	bool ok = !want || !strcmp(got, want);

	printf("# BADINPUT\t%s\t%s\t%s\t%s\n", call, input, got,
	       want ? want : "not said");
	printf("%sok %d - %s, %s: %s", ok ? "" : "not ", ++test_no, call,
	       input, got);
	if (!ok)
		printf(" (SPEC: %s)", want);
	else if (!want)
		printf(" (the SPEC does not say)");
	printf("\n");
	failed += !ok;
}

#define TRY(call, input, want, expr) do {			\
	long r_ = (expr);					\
	report(call, input, want, outcome(r_, errno));		\
} while (0)

static int dev(int flags)
{
	int fd = open(SYSGENID_DEVICE, flags | O_CLOEXEC);

	if (fd < 0) {
		printf("Bail out! open %s: %s\n", SYSGENID_DEVICE,
		       strerror(errno));
		exit(1);
	}
	return fd;
}

static __u32 gen_of(void)
{
	return (__u32)sg_sysfs("generation");
}

/* One event, whatever the counter shows: its minimum is not ahead. */
static void bump(int fd)
{
	if (ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, (unsigned long)gen_of())) {
		printf("Bail out! FORCE_GEN_UPDATE: %s\n", strerror(errno));
		exit(1);
	}
}

static void confirm(int fd)
{
	__u32 g;

	if (read(fd, &g, 4) != 4 || write(fd, &g, 4) != 4) {
		printf("Bail out! read and write back: %s\n", strerror(errno));
		exit(1);
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A blocking read of an up-to-date file, interrupted by a signal. */
static long interrupted_read(int fd)
{
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	struct itimerval off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	__u32 g;
	long r;
	int err;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);		/* no SA_RESTART */
	setitimer(ITIMER_REAL, &it, NULL);	/* repeats until it lands */
	r = read(fd, &g, 4);
	err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	errno = err;
	return r;
}

/* FORCE_GEN_UPDATE from a child that is not capable: by @how. */
static const char *uncapable_force(int fd, bool userns)
{
	static char res[32];
	int status, pipefd[2];
	pid_t pid;

	if (pipe(pipefd))
		return "pipe failed";
	pid = fork();
	if (!pid) {
		const char *got;
		long r;

		if (userns ? unshare(CLONE_NEWUSER) :
		    setresuid(65534, 65534, 65534)) {
			got = userns ? "unshare failed" : "setresuid failed";
		} else {
			r = ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, 0UL);
			got = outcome(r, errno);
		}
		if (write(pipefd[1], got, strlen(got) + 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	res[0] = '\0';
	if (pid < 0 || read(pipefd[0], res, sizeof(res) - 1) <= 0)
		snprintf(res, sizeof(res), "no answer");
	close(pipefd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return res;
}

static void reads(void)
{
	int rw = dev(O_RDWR | O_NONBLOCK), wo = dev(O_WRONLY);
	int blk = dev(O_RDWR);
	int path = open(SYSGENID_DEVICE, O_PATH | O_CLOEXEC);
	char buf[4096];
	void *ro;

	TRY("read", "0 bytes", "EINVAL", read(rw, buf, 0));
	TRY("read", "3 bytes", "EINVAL", read(rw, buf, 3));
	TRY("read", "4 bytes, file up to date, O_NONBLOCK", "EAGAIN",
	    read(rw, buf, 4));
	TRY("read", "4 bytes, file up to date, blocking, signal", "EINTR",
	    interrupted_read(blk));
	bump(rw);
	TRY("read", "3 bytes, file outdated", "EINVAL", read(rw, buf, 3));
	TRY("read", "4096 bytes, file outdated", "returns 4",
	    read(rw, buf, sizeof(buf)));
	TRY("read", "NULL buffer, file outdated", "EFAULT", read(rw, null, 4));
	ro = mmap(NULL, page, PROT_READ, MAP_SHARED, rw, 0);
	TRY("read", "into a read-only mapping, file outdated", "EFAULT",
	    read(rw, ro, 4));
	TRY("read", "buffer beyond user space", "EFAULT",
	    read(rw, (void *)0xffffffff81000000UL, 4));
	TRY("read", "file opened O_WRONLY", "EBADF", read(wo, buf, 4));
	TRY("read", "O_PATH file", "EBADF", read(path, buf, 4));
	munmap(ro, page);
	close(rw);
	close(wo);
	close(blk);
	close(path);
}

static void writes(void)
{
	int rw = dev(O_RDWR), ro = dev(O_RDONLY);
	__u32 v[2];

	bump(rw);
	v[0] = gen_of();
	TRY("write", "0 bytes", "EINVAL", write(rw, v, 0));
	TRY("write", "3 bytes", "EINVAL", write(rw, v, 3));
	TRY("write", "5 bytes", "EINVAL", write(rw, v, 5));
	TRY("write", "8 bytes (the generation twice)", "EINVAL",
	    (v[1] = v[0], write(rw, v, 8)));
	TRY("write", "NULL buffer", "EFAULT", write(rw, null, 4));
	v[0] = gen_of() - 1;
	TRY("write", "a past generation", "EINVAL", write(rw, v, 4));
	v[0] = gen_of() + 1;
	TRY("write", "a generation not reached yet", "EINVAL",
	    write(rw, v, 4));
	v[0] = gen_of();
	TRY("write", "file opened O_RDONLY", "EBADF", write(ro, v, 4));
	TRY("write", "the current generation", "returns 4", write(rw, v, 4));
	TRY("write", "the current generation again", "returns 4",
	    write(rw, v, 4));
	close(rw);
	close(ro);
}

static void ioctls(void)
{
	int rw = dev(O_RDWR), ro = dev(O_RDONLY), other = dev(O_RDWR);
	char got[32];
	long r;

	TRY("ioctl", "_IO(0x2d, 0)", "ENOTTY", sg_ioctl(ro, _IO(0x2d, 0), 0));
	TRY("ioctl", "_IO(0x2d, 4)", "ENOTTY", sg_ioctl(ro, _IO(0x2d, 4), 0));
	TRY("ioctl", "_IO(0xE4, 4)", "ENOTTY", sg_ioctl(ro, _IO(0xE4, 4), 0));
	TRY("ioctl", "_IOR(0x2d, 1, __u32)", "ENOTTY",
	    sg_ioctl(ro, _IOR(0x2d, 1, __u32), 0));
	TRY("ioctl", "_IOW(0xE4, 3, __u32)", "ENOTTY",
	    sg_ioctl(ro, _IOW(0xE4, 3, __u32), 0));
	TRY("ioctl", "TCGETS (a terminal's)", "ENOTTY",
	    sg_ioctl(ro, TCGETS, 0));

	/* The argument is ignored; the syscall takes a 32-bit number. */
	r = sg_ioctl(ro, SYSGENID_GET_OUTDATED_WATCHERS, ~0UL);
	report("ioctl", "GET_OUTDATED_WATCHERS, argument ~0", "the count",
	       r >= 0 ? "the count" : ename(errno));
	r = sg_ioctl(ro, SYSGENID_GET_OUTDATED_WATCHERS | 1UL << 32, 0);
	report("ioctl", "GET_OUTDATED_WATCHERS | 1 << 32 as the number",
	       "the count", r >= 0 ? "the count" : ename(errno));

	TRY("ioctl", "SET_WATCHER_TRACKING 2", "EINVAL",
	    sg_ioctl(rw, SYSGENID_SET_WATCHER_TRACKING, 2));
	TRY("ioctl", "SET_WATCHER_TRACKING 1 << 32", "EINVAL",
	    sg_ioctl(rw, SYSGENID_SET_WATCHER_TRACKING, 1UL << 32));
	TRY("ioctl", "SET_WATCHER_TRACKING 1, file opened O_RDONLY", "EBADF",
	    sg_ioctl(ro, SYSGENID_SET_WATCHER_TRACKING, 1));
	TRY("ioctl", "SET_WATCHER_TRACKING 2, file opened O_RDONLY", NULL,
	    sg_ioctl(ro, SYSGENID_SET_WATCHER_TRACKING, 2));

	/*
	 * A guest without a VM generation ID device (arm64 under QEMU) gets
	 * ENODEV before the pointer is looked at: that says nothing of the
	 * bad pointer, and docs/bad-inputs.md is a guest's with the device.
	 */
	r = sg_ioctl(ro, SYSGENID_SYNC_GEN, 8);
	if (r < 0 && errno == ENODEV)
		printf("ok %d - ioctl, SYNC_GEN, pointer to no memory # SKIP"
		       " no VM generation ID device: ENODEV\n", ++test_no);
	else
		report("ioctl", "SYNC_GEN, pointer to no memory", "EFAULT",
		       outcome(r, errno));
	TRY("ioctl", "_IOR(0xE4, 4, __u64)", "ENOTTY",
	    sg_ioctl(ro, _IOR(0xE4, 4, __u64), 0));

	TRY("ioctl", "WAIT_WATCHERS 1 << 32", "EINVAL",
	    sg_ioctl(ro, SYSGENID_WAIT_WATCHERS, 1UL << 32));
	TRY("ioctl", "WAIT_WATCHERS_V6 ~0", "EINVAL",
	    sg_ioctl(ro, SYSGENID_WAIT_WATCHERS_V6, ~0UL));
	bump(rw);
	/* @other stays outdated: the wait times out, or ends for the caller. */
	confirm(rw);
	TRY("ioctl", "WAIT_WATCHERS 1 ms, another watcher outdated", "ETIME",
	    sg_ioctl(ro, SYSGENID_WAIT_WATCHERS, 1));
	TRY("ioctl", "WAIT_WATCHERS, own file tracked and outdated", "EINTR",
	    sg_ioctl(other, SYSGENID_WAIT_WATCHERS, 0));
	confirm(other);

	TRY("ioctl", "FORCE_GEN_UPDATE 1 << 32", "EINVAL",
	    sg_ioctl(ro, SYSGENID_FORCE_GEN_UPDATE, 1UL << 32));
	TRY("ioctl", "TRIGGER_GEN_UPDATE ~0", "EINVAL",
	    sg_ioctl(ro, SYSGENID_TRIGGER_GEN_UPDATE, ~0UL));
	snprintf(got, sizeof(got), "%s", uncapable_force(ro, false));
	report("ioctl", "FORCE_GEN_UPDATE by an unprivileged user", "EPERM",
	       got);
	snprintf(got, sizeof(got), "%s", uncapable_force(ro, true));
	report("ioctl", "FORCE_GEN_UPDATE by root of its own user namespace",
	       "EPERM", got);
	close(rw);
	close(ro);
	close(other);
}

static long map(int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return -1;
	munmap(p, len);
	return 0;
}

static void maps(void)
{
	int rw = dev(O_RDWR), ro = dev(O_RDONLY), wo = dev(O_WRONLY);
	void *p;

	TRY("mmap", "PROT_WRITE, MAP_SHARED, file opened O_RDWR", "EPERM",
	    map(rw, page, PROT_READ | PROT_WRITE, MAP_SHARED, 0));
	TRY("mmap", "PROT_WRITE, MAP_SHARED, file opened O_RDONLY", "EACCES",
	    map(ro, page, PROT_READ | PROT_WRITE, MAP_SHARED, 0));
	TRY("mmap", "PROT_READ, MAP_PRIVATE", "EINVAL",
	    map(ro, page, PROT_READ, MAP_PRIVATE, 0));
	TRY("mmap", "offset of two pages", "EINVAL",
	    map(ro, page, PROT_READ, MAP_SHARED, 2 * page));
	TRY("mmap", "VM generation ID page, PROT_WRITE", "EPERM",
	    map(rw, page, PROT_READ | PROT_WRITE, MAP_SHARED, page));
	TRY("mmap", "VM generation ID page, two pages", "EINVAL",
	    map(ro, 2 * page, PROT_READ, MAP_SHARED, page));
	TRY("mmap", "two pages", "EINVAL",
	    map(ro, 2 * page, PROT_READ, MAP_SHARED, 0));
	TRY("mmap", "0 bytes", "EINVAL", map(ro, 0, PROT_READ, MAP_SHARED, 0));
	TRY("mmap", "file opened O_WRONLY", "EACCES",
	    map(wo, page, PROT_READ, MAP_SHARED, 0));
	TRY("mmap", "1 byte (one page)", "returns 0",
	    map(ro, 1, PROT_READ, MAP_SHARED, 0));
	TRY("mmap", "PROT_READ | PROT_EXEC", "EPERM",
	    map(ro, page, PROT_READ | PROT_EXEC, MAP_SHARED, 0));

	p = mmap(NULL, page, PROT_READ, MAP_SHARED, rw, 0);
	if (p == MAP_FAILED) {
		printf("Bail out! mmap: %s\n", strerror(errno));
		exit(1);
	}
	TRY("mprotect", "PROT_READ | PROT_WRITE", "EACCES",
	    mprotect(p, page, PROT_READ | PROT_WRITE));
	TRY("mprotect", "PROT_READ | PROT_EXEC", "EACCES",
	    mprotect(p, page, PROT_READ | PROT_EXEC));
	TRY("mremap", "to two pages, MREMAP_MAYMOVE", "EFAULT",
	    mremap(p, page, 2 * page, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0);
	munmap(p, page);
	close(rw);
	close(ro);
	close(wo);
}

static void opens(void)
{
	int fd = open(SYSGENID_DEVICE, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = errno;

	report("open", "O_DIRECTORY", "ENOTDIR", outcome(fd, err));
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	opens();
	reads();
	writes();
	ioctls();
	maps();
	printf("1..%d\n", test_no);
	return failed ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * 30-lib-api: every call of libsysgenid, in the guest, error paths
 * included. The counter is system-wide: checks read it, then compare.
 *
 * Blocking calls run under a guard: alarm(GUARD_S) sets guard_fired, and a
 * check that sees it fails, whatever the call returned.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsysgenid.h"
#include "tap.h"

#define GUARD_S		60

static volatile sig_atomic_t guard_fired;

static void on_alarm(int sig)
{
	(void)sig;
	guard_fired = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void guard(bool on)
{
	guard_fired = 0;
	alarm(on ? GUARD_S : 0);
}

/* A decimal sysfs attribute of the device, or -1. */
static long long attr(const char *name)
{
	char path[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/sysgenid/%s", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The value of "KEY: N" in this process's fdinfo of fd, or -1. */
static long long fdinfo(int fd, const char *key)
{
	char path[64], line[128];
	size_t len = strlen(key);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Is the mapping at p read-only and shared ("r--s") in /proc/self/maps? */
static bool mapped_ro_shared(const volatile void *p)
{
	unsigned long lo, hi, a = (unsigned long)p;
	char line[512], perms[8];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
		    a >= lo && a < hi)
			found = !strcmp(perms, "r--s") &&
				strstr(line, LIBSYSGENID_DEVICE);
	fclose(f);
	return found;
}

static bool ahead(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static void test_no_device(void)
{
	struct sysgenid *h = NULL;
	bool down;

	down = system("rmmod sysgenid") == 0;
	if (!tap_ok(down, "rmmod sysgenid (no handle open)"))
		return;
	tap_is(sysgenid_supported(), 0, "supported() is 0 without the device");
	tap_is(sysgenid_open(&h), -ENOENT,
	       "open() without the device: -ENOENT");
	tap_is(sysgenid_open_probe(&h), -ENOENT,
	       "open_probe() without the device: -ENOENT");
	tap_ok(!h, "no handle returned on failure");
	tap_ok(system("insmod /lib/sysgenid/sysgenid.ko") == 0,
	       "insmod sysgenid.ko again");
}

static void test_open(struct sysgenid *w, struct sysgenid *p)
{
	int wfl = fcntl(sysgenid_fd(w), F_GETFL);
	int pfl = fcntl(sysgenid_fd(p), F_GETFL);

	tap_ok((wfl & O_ACCMODE) == O_RDWR && (wfl & O_NONBLOCK),
	       "watcher fd is O_RDWR | O_NONBLOCK");
	tap_ok((pfl & O_ACCMODE) == O_RDONLY && (pfl & O_NONBLOCK),
	       "probe fd is O_RDONLY | O_NONBLOCK");
	tap_ok(fcntl(sysgenid_fd(w), F_GETFD) & FD_CLOEXEC &&
	       fcntl(sysgenid_fd(p), F_GETFD) & FD_CLOEXEC,
	       "both fds are close-on-exec");
	tap_is(fdinfo(sysgenid_fd(w), "sysgenid-tracked"), 1,
	       "watcher is tracked");
	tap_is(fdinfo(sysgenid_fd(p), "sysgenid-tracked"), 0,
	       "probe is not tracked");
	tap_ok(mapped_ro_shared(sysgenid_map(w)) &&
	       mapped_ro_shared(sysgenid_map(p)),
	       "both maps are read-only and shared (r--s)");
}

static void test_read(struct sysgenid *w, struct sysgenid *p)
{
	uint32_t g = 1234, gen = attr("generation");

	tap_is(sysgenid_get(w, &g), 0, "get() on the watcher");
	tap_is(g, gen, "get() equals sysfs generation");
	tap_is(sysgenid_peek(sysgenid_map(p)), gen,
	       "peek() on the probe equals sysfs generation");
	tap_ok(!sysgenid_changed(sysgenid_map(p), gen),
	       "changed() false before any event");
	tap_is(sysgenid_wait(w, 0, &g), -ETIME,
	       "wait(0) on an up-to-date watcher: -ETIME");
	tap_is(sysgenid_wait(p, 10, &g), -ETIME,
	       "wait(10 ms) on an up-to-date probe: -ETIME");
	tap_is(sysgenid_outdated_watchers(p), attr("outdated_watchers"),
	       "outdated_watchers() equals sysfs");
}

static void test_event(struct sysgenid *w, struct sysgenid *p)
{
	struct pollfd pfd = { .fd = sysgenid_fd(w), .events = POLLIN };
	uint32_t before, after, g = 0;
	int outdated;

	sysgenid_get(p, &before);
	tap_is(sysgenid_bump(p, before), 0, "bump(current) through a probe");
	sysgenid_get(w, &after);
	tap_ok(after == before + 1, "bump(current) moves by one (%u -> %u)",
	       before, after);
	tap_ok(sysgenid_changed(sysgenid_map(w), before),
	       "changed() true after the event");
	tap_ok(poll(&pfd, 1, 0) == 1 && pfd.revents & POLLIN,
	       "watcher fd polls POLLIN");
	tap_is(sysgenid_wait(w, 0, &g), 0, "wait(0) on an outdated watcher");
	tap_is(g, after, "wait() returns the new generation");
	g = 0;
	tap_is(sysgenid_wait(p, -1, &g), 0, "wait(-1) on an outdated probe");
	tap_is(g, after, "the probe sees the new generation");

	outdated = sysgenid_outdated_watchers(p);
	tap_ok(outdated >= 1, "outdated_watchers() counts the watcher (%d)",
	       outdated);
	tap_is(sysgenid_wait_watchers(w, 50), -EINTR,
	       "wait_watchers() on an outdated watcher: -EINTR");
	tap_is(sysgenid_wait_watchers(p, 50), -ETIME,
	       "wait_watchers(50 ms) while a watcher lags: -ETIME");

	tap_is(sysgenid_confirm(w, after - 1), -EINVAL,
	       "confirm(stale generation): -EINVAL");
	tap_is(sysgenid_confirm(p, after), -EBADF,
	       "confirm() on a probe: -EBADF");
	tap_is(sysgenid_confirm(w, after), 0, "confirm(new generation)");
	tap_is(sysgenid_confirm(w, after), 0, "confirm() twice is harmless");
	tap_is(sysgenid_wait(w, 0, &g), -ETIME,
	       "wait(0) after confirm: -ETIME");
	tap_is(sysgenid_outdated_watchers(p), outdated - 1,
	       "confirm() drops outdated_watchers() by one");

	guard(true);
	tap_ok(sysgenid_wait_watchers(p, -1) == 0 && !guard_fired,
	       "wait_watchers(-1, no limit) returns once no watcher lags");
	guard(false);
}

/*
 * Timeout 0 checks without waiting, in sysgenid_wait_watchers() as in
 * sysgenid_wait(). A short guard: 0 must not wait at all (in 1.0 it waited
 * without a limit).
 */
static void test_wait_watchers_zero(struct sysgenid *w, struct sysgenid *p)
{
	uint32_t cur, g;
	int err;

	alarm(5);
	guard_fired = 0;
	err = sysgenid_wait_watchers(p, 0);
	tap_ok(err == 0 && !guard_fired,
	       "wait_watchers(0), nobody outdated: 0 at once (got %d)", err);

	sysgenid_get(p, &cur);
	sysgenid_bump(p, cur);
	err = sysgenid_wait_watchers(p, 0);
	tap_ok(err == -ETIME && !guard_fired,
	       "wait_watchers(0) while a watcher lags: -ETIME at once (got %d)",
	       err);
	err = sysgenid_wait_watchers(w, 0);
	tap_ok(err == -EINTR && !guard_fired,
	       "wait_watchers(0) on an outdated watcher: -EINTR (got %d)", err);
	alarm(0);
	tap_is(sysgenid_wait(w, 0, &g), 0, "wait(0) takes the event");
	tap_is(sysgenid_confirm(w, g), 0, "confirm it");
	guard(true);
	tap_ok(sysgenid_wait_watchers(p, GUARD_S * 1000) == 0 && !guard_fired,
	       "wait_watchers(ms) once confirmed: 0");
	guard(false);
}

static void test_bump_min(struct sysgenid *w, struct sysgenid *p)
{
	uint32_t cur, g;

	sysgenid_get(p, &cur);
	tap_is(sysgenid_bump(p, cur + 10), 0, "bump(current + 10)");
	sysgenid_get(p, &g);
	tap_ok(g == cur + 10, "moves to the minimum when ahead (%u)", g);

	cur = g;
	tap_is(sysgenid_bump(p, cur - 5), 0, "bump(current - 5)");
	sysgenid_get(p, &g);
	tap_ok(g == cur + 1, "moves by one when the minimum is behind (%u)", g);

	/* Round the counter: 0xffffffff is ahead once past the half way. */
	cur = g;
	sysgenid_bump(p, cur + 0x7fffffff);
	sysgenid_bump(p, 0xffffffff);
	sysgenid_get(p, &g);
	tap_is(g, 0xffffffff, "bump() reaches 0xffffffff");
	tap_is(sysgenid_bump(p, g), 0, "bump() from 0xffffffff");
	sysgenid_get(p, &cur);
	tap_is(cur, 0, "the counter wraps to 0");
	tap_ok(sysgenid_changed(sysgenid_map(p), 0xffffffff) &&
	       ahead(cur, 0xffffffff), "changed() across the wrap");

	tap_is(sysgenid_wait(w, 0, &g), 0, "the watcher sees the wrap");
	tap_is(g, cur, "it reads 0");
	tap_is(sysgenid_confirm(w, g), 0, "and confirms 0");
}

static void test_tracking(struct sysgenid *w, struct sysgenid *p)
{
	uint32_t cur, g;
	int before;

	tap_is(sysgenid_set_tracking(p, true), -EBADF,
	       "set_tracking() on a probe: -EBADF");
	tap_is(sysgenid_set_tracking(w, false), 0, "set_tracking(false)");
	tap_is(fdinfo(sysgenid_fd(w), "sysgenid-tracked"), 0,
	       "fdinfo shows it untracked");

	before = sysgenid_outdated_watchers(p);
	sysgenid_get(p, &cur);
	sysgenid_bump(p, cur);
	tap_is(sysgenid_outdated_watchers(p), before,
	       "an untracked watcher is not counted outdated");
	tap_is(sysgenid_wait(w, 0, &g), 0, "but it still sees the event");

	tap_is(sysgenid_set_tracking(w, true), 0, "set_tracking(true)");
	tap_is(sysgenid_outdated_watchers(p), before + 1,
	       "tracked again, it counts as outdated");
	tap_is(sysgenid_confirm(w, g), 0, "confirm");
	tap_is(sysgenid_outdated_watchers(p), before, "and it no longer lags");
}

/* A child shares the watcher: its confirmation serves the parent too. */
static void test_fork(struct sysgenid *w, struct sysgenid *p)
{
	uint32_t cur, g;
	int status;
	pid_t pid;

	sysgenid_get(p, &cur);
	sysgenid_bump(p, cur);
	pid = fork();
	if (pid == 0) {
		alarm(GUARD_S);
		/* The mapping and the file came along. */
		if (sysgenid_wait(w, -1, &g) || sysgenid_confirm(w, g))
			_exit(1);
		_exit(sysgenid_peek(sysgenid_map(p)) == g ? 0 : 2);
	}
	tap_ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0,
	       "after fork() the child confirms on the inherited handle");
	tap_is(sysgenid_wait(w, 0, &g), -ETIME,
	       "the parent's watcher is confirmed too (one open file)");
}

/* Without privilege: bump() fails with -EPERM, the rest works. */
static void test_unprivileged(void)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct sysgenid *h;
		uint32_t g;

		alarm(GUARD_S);
		/* Root changing all its uids loses every capability. */
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		if (sysgenid_supported() != 1)
			_exit(11);
		if (sysgenid_open(&h))
			_exit(12);
		sysgenid_get(h, &g);
		if (sysgenid_bump(h, g) != -EPERM)
			_exit(13);
		if (sysgenid_outdated_watchers(h) < 0)
			_exit(14);
		sysgenid_close(h);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status))
		printf("# unprivileged child failed at step %d\n",
		       WEXITSTATUS(status));
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "unprivileged: open() works, bump() is -EPERM");
}

/*
 * A signal interrupts wait(): a child sends SIGUSR1 every 50 ms until it is
 * killed, so one lands while the parent sleeps in poll(), however late.
 */
static void test_signal(struct sysgenid *w)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	pid_t parent = getpid(), pid;
	uint32_t g;
	int err;

	sigaction(SIGUSR1, &sa, NULL);
	pid = fork();
	if (pid == 0) {
		alarm(GUARD_S);
		for (;;) {
			usleep(50000);
			kill(parent, SIGUSR1);
		}
	}
	guard(true);
	err = sysgenid_wait(w, -1, &g);
	tap_ok(err == -EINTR && !guard_fired,
	       "a signal interrupts wait(-1): -EINTR, even with SA_RESTART");
	guard(false);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

struct waiter {
	struct sysgenid *h;
	uint32_t gen;
	int err;
};

static void *wait_thread(void *arg)
{
	struct waiter *t = arg;

	/* A wait past the guard fails: no hang even if a wakeup is lost. */
	t->err = sysgenid_wait(t->h, GUARD_S * 1000, &t->gen);
	return NULL;
}

/* Threads may wait on one handle at once; one event wakes them all. */
static void test_threads(struct sysgenid *w, struct sysgenid *p)
{
	struct waiter t[2] = { { .h = w }, { .h = w } };
	pthread_t tid[2];
	uint32_t cur;
	int i;

	for (i = 0; i < 2; i++)
		pthread_create(&tid[i], NULL, wait_thread, &t[i]);
	usleep(100000);	/* not an assertion: a late thread returns at once */
	sysgenid_get(p, &cur);
	sysgenid_bump(p, cur);
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	tap_ok(!t[0].err && !t[1].err &&
	       t[0].gen == cur + 1 && t[1].gen == cur + 1,
	       "two threads waiting on one watcher both get the event");
	tap_is(sysgenid_confirm(w, cur + 1), 0, "one confirmation for both");
}

/* How many mappings of /dev/sysgenid process pid (0: this one) has. */
static int device_mappings_of(pid_t pid)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, LIBSYSGENID_DEVICE))
			n++;
	fclose(f);
	return n;
}

static int device_mappings(void)
{
	return device_mappings_of(0);
}

/* Does /proc/PID/fd list no descriptor at all? */
static bool no_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	bool none = true;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			none = false;
	closedir(dir);
	return none;
}

/*
 * A child that inherits a watcher's mappings, closes every descriptor and
 * lives on holds no watcher once its parent is gone: the mappings come
 * from a read-only open of their own.
 */
static void test_fork_mapping(struct sysgenid *w, struct sysgenid *p)
{
	long long watchers = attr("watchers");
	int fds[2], status, i;
	pid_t a, c = 0;
	uint32_t cur, g;
	bool done;

	if (pipe(fds))
		return (void)tap_ok(false, "pipe");
	a = fork();
	if (a == 0) {
		struct sysgenid *h;

		alarm(GUARD_S);
		if (sysgenid_open(&h))
			_exit(1);
		c = fork();
		if (c == 0) {
			/* Every descriptor goes; the mappings stay. */
			for (i = 0; i < 1024; i++)
				close(i);
			for (;;)
				pause();
		}
		if (write(fds[1], &c, sizeof(c)) != sizeof(c))
			_exit(2);
		_exit(attr("watchers") == watchers + 1 ? 0 : 3);
	}
	close(fds[1]);
	if (read(fds[0], &c, sizeof(c)) != sizeof(c))
		c = 0;
	close(fds[0]);
	tap_ok(waitpid(a, &status, 0) == a && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0,
	       "a process opened a watcher (counted), forked, and exited");
	if (!tap_ok(c > 0, "its child lives on"))
		return;

	guard(true);
	while (!(done = no_fds(c)) && !guard_fired)
		usleep(10000);
	tap_ok(done && !guard_fired, "the child closed every descriptor");
	guard(false);
	tap_ok(device_mappings_of(c) >= 1,
	       "the child still maps /dev/sysgenid");
	tap_is(attr("watchers"), watchers,
	       "the exited owner's watcher is gone, although the child maps it");
	sysgenid_get(p, &cur);
	sysgenid_bump(p, cur);
	tap_is(sysgenid_outdated_watchers(p), watchers,
	       "after an event, only the live watchers are outdated");
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	sysgenid_wait(w, 0, &g);
	sysgenid_confirm(w, g);
}

/* The sysfs attribute vmgenid: page, ioctl or none. */
static int sysfs_protection(void)
{
	char buf[16] = "";
	FILE *f = fopen("/sys/class/misc/sysgenid/vmgenid", "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	if (!strcmp(buf, "page\n"))
		return SYSGENID_PROTECTION_PAGE;
	if (!strcmp(buf, "ioctl\n"))
		return SYSGENID_PROTECTION_IOCTL;
	if (!strcmp(buf, "none\n"))
		return SYSGENID_PROTECTION_NONE;
	return -1;
}

/*
 * In a child where every ioctl() fails with EHOSTDOWN (seccomp): check()
 * with nothing changed must not need one (a few loads), while
 * check_sync() must (the control that the filter bites). Returns 0, or
 * the step that went wrong.
 */
static int check_without_syscall(struct sysgenid *q, uint32_t cur)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EHOSTDOWN),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	int status;
	uint32_t g;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		alarm(GUARD_S);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(1);
		if (sysgenid_check_sync(q, cur, &g) != -EHOSTDOWN)
			_exit(2);
		if (sysgenid_check(q, cur, &g) != 0 || g != cur)
			_exit(3);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 100;
	return WEXITSTATUS(status);
}

/*
 * The checks without a window, on a guest with or without a VM generation
 * ID device (tests/vm/boot -g none). The ID cannot change in here (that
 * takes a clone: tests/clone/), so every check must find the ID unchanged
 * and agree with the counter; sync must make no event.
 */
static void test_vmgenid(struct sysgenid *w, struct sysgenid *p)
{
	int prot = sysfs_protection(), got, maps, err, r;
	struct sysgenid *q;
	uint32_t cur, g, after;

	if (!tap_ok(prot >= 0, "sysfs vmgenid is page, ioctl or none (%d)",
		    prot))
		return;
	printf("# this guest: %s\n", prot == SYSGENID_PROTECTION_PAGE ?
	       "ID page" : prot == SYSGENID_PROTECTION_IOCTL ? "ioctl" :
	       "no VM generation ID device");
	maps = device_mappings();
	err = sysgenid_open_probe(&q);
	tap_is(err, 0, "open_probe() whatever the ID device");
	if (err)
		return;
	tap_is(device_mappings() - maps,
	       prot == SYSGENID_PROTECTION_PAGE ? 2 : 1,
	       "a handle maps the ID page exactly when the kernel offers it");
	got = sysgenid_protection(q);
	tap_is(got, prot, "protection() agrees with sysfs vmgenid");
	tap_is(sysgenid_protection(w), prot, "on a watcher too");

	sysgenid_get(q, &cur);
	g = cur + 1;
	err = sysgenid_sync(q, &g);
	if (prot == SYSGENID_PROTECTION_NONE) {
		tap_is(err, -ENODEV, "sync() without an ID device: -ENODEV");
		tap_is(g, cur + 1, "sync() failing leaves gen alone");
	} else {
		tap_is(err, 0, "sync()");
		tap_is(g, cur, "sync() with the ID unchanged: the generation");
	}
	sysgenid_get(q, &after);
	tap_is(after, cur, "sync() with the ID unchanged is no event");
	tap_is(sysgenid_wait(w, 0, &g), -ETIME,
	       "the watcher is still up to date after sync()");

	g = 0;
	r = sysgenid_check(q, cur, &g);
	tap_ok(r == 0 && g == cur, "check(current): 0, gen set (%d, %u)",
	       r, g);
	r = check_without_syscall(q, cur);
	tap_ok(r == 0, "check() with nothing changed makes no system call "
	       "(check_sync() does: the control) (step %d)", r);
	r = sysgenid_check(q, cur - 1, &g);
	tap_ok(r == 1 && g == cur, "check(older): 1, gen is the current one");
	g = 0;
	r = sysgenid_check_sync(q, cur, &g);
	tap_ok(r == 0 && g == cur,
	       "check_sync(current): 0, gen set, falls back without a device (%d)",
	       r);
	sysgenid_get(q, &after);
	tap_is(after, cur, "neither check made an event");

	/* An event the counter shows: every check reports it. */
	sysgenid_bump(p, cur);
	r = sysgenid_check(q, cur, &g);
	tap_ok(r == 1 && g == cur + 1, "check() after an event: 1, new gen");
	r = sysgenid_check_sync(q, cur, &g);
	tap_ok(r == 1 && g == cur + 1,
	       "check_sync() after an event: 1, new gen");
	tap_ok(sysgenid_changed(sysgenid_map(q), cur),
	       "changed(), the one load, still works");
	/* A bump keeps the ID: the generation now stands for it too. */
	sysgenid_get(q, &cur);
	tap_is(sysgenid_check(q, cur, &g), 0,
	       "check() after a bump: the ID still matches");
	sysgenid_close(q);
	sysgenid_wait(w, 0, &g);
	sysgenid_confirm(w, g);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct sysgenid *w, *p;
	long long watchers;
	int err;

	sigaction(SIGALRM, &sa, NULL);
	sysgenid_close(NULL);

	test_no_device();

	tap_is(sysgenid_supported(), 1, "supported() is 1");
	watchers = attr("watchers");
	err = sysgenid_open(&w);
	tap_is(err, 0, "open() a watcher");
	err |= sysgenid_open_probe(&p);
	tap_is(err, 0, "open_probe()");
	if (err)
		return tap_done();
	tap_is(attr("watchers"), watchers + 1,
	       "the watcher counts as one watcher, the probe as none");

	test_open(w, p);
	test_read(w, p);
	test_event(w, p);
	test_bump_min(w, p);
	test_tracking(w, p);
	test_fork(w, p);
	test_unprivileged();
	test_signal(w);
	test_threads(w, p);
	test_wait_watchers_zero(w, p);
	test_fork_mapping(w, p);
	test_vmgenid(w, p);

	sysgenid_close(w);
	sysgenid_close(p);
	tap_is(attr("watchers"), watchers, "close() leaves no watcher behind");
	return tap_done();
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the stress test and the fuzzer: settings from the
 * command line, the environment or the kernel command line; the guard; the
 * counts as the ioctl and sysfs report them.
 */
#ifndef SG_H
#define SG_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/sysgenid.h>

#define SG_SYSFS	"/sys/class/misc/sysgenid/"

/*
 * A setting: $env if set, else "key=value" on the kernel command line (the
 * guest's init passes no arguments), else @def.
 */
static inline unsigned long sg_setting(const char *env, const char *key,
				       unsigned long def)
{
	const char *s = getenv(env);
	static const char sep[] = " \n";
	char buf[4096], *w, *save;
	size_t klen = strlen(key);
	ssize_t n;
	int fd;

	if (s && *s)
		return strtoul(s, NULL, 0);
	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return def;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return def;
	buf[n] = '\0';
	for (w = strtok_r(buf, sep, &save); w; w = strtok_r(NULL, sep, &save))
		if (!strncmp(w, key, klen) && w[klen] == '=')
			return strtoul(w + klen + 1, NULL, 0);
	return def;
}

/*
 * The guard: when it fires the test has failed, whatever happens next. The
 * handler says so on the results channel and kills the test's whole process
 * group (the guest runs each suite as its own session).
 */
static const char *sg_guard_what = "";

static inline void sg_guard_fire(int sig)
{
	static const char head[] = "not ok - guard fired: ";

	(void)sig;
	if (write(1, head, sizeof(head) - 1) < 0 ||
	    write(1, sg_guard_what, strlen(sg_guard_what)) < 0 ||
	    write(1, "\n", 1) < 0)
		_exit(1);
	kill(0, SIGKILL);
	_exit(1);
}

/* Arm the guard for @what, for @secs seconds; sg_guard(NULL, 0) disarms. */
static inline void sg_guard(const char *what, unsigned int secs)
{
	signal(SIGALRM, sg_guard_fire);
	sg_guard_what = what ? what : "";
	alarm(secs);
}

/*
 * The ioctl's whole return value: glibc's ioctl() returns an int, which
 * would turn a wrapped count into -1 that looks like an error.
 */
static inline long sg_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	return syscall(SYS_ioctl, fd, cmd, arg);
}

/* A sysfs attribute of the device, or -1 with errno. */
static inline long sg_sysfs(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SG_SYSFS "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (long)strtoul(buf, NULL, 10);
}

/* A count is sane when it is neither an error nor a wrapped negative. */
static inline int sg_count_sane(long v)
{
	return v >= 0 && v < 0x80000000L;
}

/* Serial-number order (RFC 1982), as the counter wraps. */
static inline int sg_before_eq(__u32 a, __u32 b)
{
	return (__s32)(b - a) >= 0;
}

/* xorshift64*: fast, and replayable from a seed. */
static inline uint64_t sg_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static inline uint64_t sg_seed_mix(uint64_t seed, uint64_t n)
{
	uint64_t s = seed ^ (n + 1) * 0x9e3779b97f4a7c15ULL;

	return s ? s : 1;
}

#endif /* SG_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the in-guest benchmarks share: a clock, medians, limits, output.
 *
 * Every figure is printed as one line on stdout,
 *
 *	RESULT <group> <key> <value>
 *
 * which bench/bench.py collects from the guest's results channel. Other
 * lines are comments ("# ...") for the log.
 */
#ifndef SYSGENID_BENCH_H
#define SYSGENID_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <linux/sysgenid.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("# error: ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts @v in place. */
static inline double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * The values of N from the arguments, if any, into @counts (room for @size),
 * each 1 to @max; returns how many, or @n (the defaults) without arguments.
 */
static inline int parse_counts(int argc, char **argv, int *counts, int size,
			       int n, int max)
{
	int i;

	if (argc > size + 1)
		die("at most %d values of N", size);
	if (argc == 1)
		return n;
	for (i = 1; i < argc; i++) {
		counts[i - 1] = atoi(argv[i]);
		if (counts[i - 1] < 1 || counts[i - 1] > max)
			die("N: 1 to %d", max);
	}
	return argc - 1;
}

static inline void result(const char *group, const char *key, double value)
{
	printf("RESULT %s %s %.6g\n", group, key, value);
	fflush(stdout);
}

/* Room for @n descriptors: nr_open and the hard limit too (we are root). */
static inline void raise_nofile(unsigned long n)
{
	struct rlimit rl = { n + 64, n + 64 };
	unsigned long nr_open = 0;
	FILE *f;

	f = fopen("/proc/sys/fs/nr_open", "r+");
	if (f) {
		if (fscanf(f, "%lu", &nr_open) == 1 && nr_open < rl.rlim_max) {
			rewind(f);
			fprintf(f, "%lu\n", (unsigned long)rl.rlim_max);
		}
		fclose(f);
	}
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit(RLIMIT_NOFILE, %lu): %s", n + 64,
		    strerror(errno));
}

/* Tasks running or runnable, this one included, from /proc/loadavg. */
static inline int running(void)
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

static inline int sg_open(int flags)
{
	int fd = open(SYSGENID_DEVICE, flags | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", SYSGENID_DEVICE, strerror(errno));
	return fd;
}

#endif /* SYSGENID_BENCH_H */

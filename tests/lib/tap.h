/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal TAP producer for the in-guest tests of libsysgenid: one
 * "ok N - name" or "not ok N - name" per check, "# ..." for diagnostics,
 * and the plan "1..N" at the end (tap_done()).
 */
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static inline bool tap_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

static inline void tap_skip(const char *name, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_n, name, why);
	fflush(stdout);
}

/* A check of a function returning 0 or -errno: print what it returned. */
#define tap_is(got, want, name) ({					\
	long __g = (got), __w = (want);					\
	if (__g != __w)							\
		printf("# %s: got %ld, want %ld\n", name, __g, __w);	\
	tap_ok(__g == __w, "%s", name);					\
})

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif /* TAP_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * Workflow 1: a watchdog thread. It sleeps in sysgenid_wait() until the
 * system generation changes, rebuilds what must be unique (here: reseeds a
 * PRNG), then confirms, while the main thread goes on with its work.
 *
 * Usage: sysgenid-watchdog [EVENTS]   exit after EVENTS events (default:
 * never). Prints "ready" once watching, then a line per event.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libsysgenid.h>

static unsigned long long seed;

static void reseed_app_env(void)
{
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed ^= 0x9e3779b97f4a7c15ULL;	/* never here in practice */
}

struct watchdog {
	struct sysgenid *h;
	unsigned long events;	/* 0: forever */
	int err;
};

static void *watchdog_thread(void *arg)
{
	struct watchdog *wd = arg;
	unsigned long n = 0;
	uint32_t gen;

	do {
		/* Blocks until the generation changes. */
		wd->err = sysgenid_wait(wd->h, -1, &gen);
		if (wd->err == -EINTR)
			continue;
		if (wd->err)
			break;

		reseed_app_env();
		printf("watchdog: generation %u: reseeded\n", gen);
		fflush(stdout);

		/* -EINVAL: a newer event came meanwhile; wait returns it. */
		wd->err = sysgenid_confirm(wd->h, gen);
		if (wd->err && wd->err != -EINVAL)
			break;
		if (!wd->err)
			n++;
	} while (!wd->events || n < wd->events);
	return NULL;
}

int main(int argc, char **argv)
{
	struct watchdog wd = { 0 };
	pthread_t tid;
	int err;

	if (argc > 1)
		wd.events = strtoul(argv[1], NULL, 0);

	err = sysgenid_open(&wd.h);
	if (err) {
		fprintf(stderr, "watchdog: %s: %s\n", LIBSYSGENID_DEVICE,
			strerror(-err));
		return 1;
	}
	reseed_app_env();
	printf("ready\n");
	fflush(stdout);

	pthread_create(&tid, NULL, watchdog_thread, &wd);
	/* The application's work would go on here. */
	pthread_join(tid, NULL);

	sysgenid_close(wd.h);
	if (wd.err) {
		fprintf(stderr, "watchdog: %s\n", strerror(-wd.err));
		return 1;
	}
	return 0;
}

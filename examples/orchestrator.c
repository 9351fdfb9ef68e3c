// SPDX-License-Identifier: GPL-2.0
/*
 * Workflow 4: an orchestrator. On a generation change it pauses the
 * service, confirms its own watcher, waits for every other watcher to
 * confirm (at most TIMEOUT_MS), then resumes the service.
 *
 * Usage: sysgenid-orchestrator [TIMEOUT_MS [EVENTS]]
 * Defaults: 5000 ms, forever. Prints "ready", then per event "paused
 * generation N" and "resumed generation N: all watchers up to date" or
 * "resumed generation N: K watchers still outdated".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsysgenid.h>

static int handle_sysgen_update(struct sysgenid *h, uint32_t gen,
				uint32_t timeout_ms)
{
	int err;

	printf("paused generation %u\n", gen);	/* pause_service() */
	fflush(stdout);

	/* Confirm this watcher, so that it does not wait for itself. */
	err = sysgenid_confirm(h, gen);
	if (err)
		return err;	/* -EINVAL: a newer event to handle first */

	err = sysgenid_wait_watchers(h, timeout_ms);
	if (err == -ETIME)
		printf("resumed generation %u: %d watchers still outdated\n",
		       gen, sysgenid_outdated_watchers(h));
	else if (!err)
		printf("resumed generation %u: all watchers up to date\n",
		       gen);
	fflush(stdout);
	/* -EINTR: an event came while waiting; handle it at once. */
	return err == -ETIME ? 0 : err;
}

int main(int argc, char **argv)
{
	uint32_t timeout = argc > 1 ? strtoul(argv[1], NULL, 0) : 5000;
	unsigned long events = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
	unsigned long n = 0;
	struct sysgenid *h;
	uint32_t gen;
	int err;

	err = sysgenid_open(&h);
	if (err) {
		fprintf(stderr, "orchestrator: %s: %s\n", LIBSYSGENID_DEVICE,
			strerror(-err));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	while (!events || n < events) {
		err = sysgenid_wait(h, -1, &gen);
		if (!err)
			err = handle_sysgen_update(h, gen, timeout);
		if (!err)
			n++;
		else if (err != -EINVAL && err != -EINTR)
			break;
	}
	sysgenid_close(h);
	if (err && err != -EINVAL && err != -EINTR) {
		fprintf(stderr, "orchestrator: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

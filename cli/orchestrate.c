// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid(1): the orchestrator's commands, wait-watchers and bump.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* sysgenid wait-watchers */

/*
 * Any user may open a tracked watcher and never confirm: an orchestrator
 * that waited without a limit by default could be held for ever. The
 * default is finite; sysgenid laggards names whoever holds it up.
 */
#define WAIT_WATCHERS_TIMEOUT_MS	30000

static const char wait_watchers_help[] =
	"Usage: sysgenid wait-watchers [--timeout MS]\n"
	"Wait until every watcher has confirmed the current generation.\n"
	"  -t, --timeout MS   exit 3 after MS ms (default 30000; 0: no limit)\n"
	"'sysgenid laggards' names the watchers that hold it up.\n";

int cmd_wait_watchers(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 't' },
		{ }
	};
	const struct cmd_opts o = { wait_watchers_help, lo, ":ht:" };
	unsigned long timeout = WAIT_WATCHERS_TIMEOUT_MS;
	struct sysgenid *h;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		if (!parse_num(optarg, INT_MAX, &timeout))
			return usage_error("bad timeout '%s'", optarg);
	}

	/* A probe: it is no watcher, so it never waits for itself. */
	if (open_handle(&h, false))
		return EXIT_ERROR;
	/* The library's -1 is no limit; its 0 would not wait at all. */
	err = sysgenid_wait_watchers(h, timeout ? (int)timeout : -1);
	sysgenid_close(h);
	if (err == -ETIME) {
		msg("%s", strerror(ETIME));
		return EXIT_TIMEOUT;
	}
	return err ? fail(err, NULL) : EXIT_OK;
}

/* sysgenid bump */

static const char bump_help[] =
	"Usage: sysgenid bump [--min N]\n"
	"Force a generation event and print the new generation. Needs\n"
	"CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN.\n"
	"  -m, --min N   move to N if N is ahead of the current generation,\n"
	"                else by one (the default)\n";

int cmd_bump(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "min", required_argument, NULL, 'm' },
		{ }
	};
	const struct cmd_opts o = { bump_help, lo, ":hm:" };
	unsigned long min = 0;
	bool has_min = false;
	struct sysgenid *h;
	uint32_t gen;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		if (!parse_num(optarg, UINT32_MAX, &min))
			return usage_error("bad generation '%s'", optarg);
		has_min = true;
	}

	if (open_handle(&h, false))
		return EXIT_ERROR;
	/* The current generation is never ahead of itself: one step. */
	if (!has_min) {
		sysgenid_get(h, &gen);
		min = gen;
	}
	err = sysgenid_bump(h, min);
	/* The page shows the new value before the update returns. */
	sysgenid_get(h, &gen);
	sysgenid_close(h);
	if (err)
		return fail(err, NULL);
	printf("%" PRIu32 "\n", gen);
	return EXIT_OK;
}

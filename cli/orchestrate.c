// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid(1): the orchestrator's commands, wait-watchers and bump.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* sysgenid wait-watchers */

static const char wait_watchers_help[] =
	"Usage: sysgenid wait-watchers [--timeout MS]\n"
	"Wait until every watcher has confirmed the current generation.\n"
	"  -t, --timeout MS   exit 3 after MS ms (0, the default: no limit)\n";

int cmd_wait_watchers(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 't' },
		{ }
	};
	const struct cmd_opts o = { wait_watchers_help, lo, ":ht:" };
	unsigned long timeout = 0;
	struct sysgenid *h;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		if (!parse_num(optarg, UINT32_MAX, &timeout))
			return usage_error("bad timeout '%s'", optarg);
	}

	/* A probe: it is no watcher, so it never waits for itself. */
	if (open_handle(&h, false))
		return EXIT_ERROR;
	err = sysgenid_wait_watchers(h, timeout);
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

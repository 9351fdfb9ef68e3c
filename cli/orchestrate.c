// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid(1): the orchestrator's commands, wait-watchers and bump.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
	"Usage: sysgenid bump [--min N | --scope[=PID]]\n"
	"Force a generation event and print the new generation. Needs\n"
	"CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (in the initial user\n"
	"namespace; with --scope, over the container's).\n"
	"  -m, --min N      move to N if N is ahead of the current generation,\n"
	"                   else by one (the default)\n"
	"  -s, --scope[=PID]  an event for a container alone: the scope of\n"
	"                   this process's pid namespace, or of PID's (which\n"
	"                   must be this one's or below it), and every scope\n"
	"                   below it; the kernel's RNG is not reseeded\n";

/* An event for the scope of PID's pid namespace (0: this process's). */
static int bump_scope(unsigned long pid)
{
	char path[64];
	struct sysgenid *h;
	uint32_t gen;
	int ns, err;

	if (pid) {
		snprintf(path, sizeof(path), "/proc/%lu/ns/pid", pid);
		ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0)
			return fail(-errno, path);
		err = sysgenid_open_scope(&h, ns);
		close(ns);
		if (err)
			return fail(err, err == -EPERM ? "not a scope of yours" :
				    LIBSYSGENID_DEVICE);
	} else if (open_handle(&h, false)) {
		return EXIT_ERROR;
	}
	err = sysgenid_bump_scope(h);
	sysgenid_get(h, &gen);
	sysgenid_close(h);
	if (err == -ENOTTY)
		return fail(err, "no scopes in this module");
	if (err)
		return fail(err, NULL);
	printf("%" PRIu32 "\n", gen);
	return EXIT_OK;
}

int cmd_bump(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "min", required_argument, NULL, 'm' },
		{ "scope", optional_argument, NULL, 's' },
		{ }
	};
	const struct cmd_opts o = { bump_help, lo, ":hm:s::" };
	unsigned long min = 0, pid = 0;
	bool has_min = false, scope = false;
	struct sysgenid *h;
	uint32_t gen;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		if (c == 's') {
			if (optarg && (!parse_num(optarg, INT32_MAX, &pid) ||
				       !pid))
				return usage_error("bad process ID '%s'",
						   optarg);
			scope = true;
			continue;
		}
		if (!parse_num(optarg, UINT32_MAX, &min))
			return usage_error("bad generation '%s'", optarg);
		has_min = true;
	}
	if (scope && has_min)
		return usage_error("%s", "--min and --scope: choose one");
	if (scope)
		return bump_scope(pid);

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

// SPDX-License-Identifier: GPL-2.0
/*
 * criu-victim REPORT [EVENTS]: the process that 34-criu checkpoints and
 * restores.
 *
 * Holds a watcher and a probe from libsysgenid and appends to REPORT (opened
 * anew for each line, so that no open file of it needs restoring):
 *   "ready PID GEN"    once both handles are open, GEN the generation then
 *   "event N GEN"      for each of the EVENTS (default 0) events it takes
 *                      and confirms before the dump
 *   "armed GEN"        then, GEN the generation it caches for the dump
 *   "probe GEN"        when the probe's mapping shows another generation
 *   "watcher GEN"      when the watcher reports an event, then confirms
 *   "confirmed GEN"    and exits 0; "error ..." and exit 1 on failure.
 * It polls in short steps, so that a restore finds it between two waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libsysgenid.h"

static const char *path;

static void report(const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, n) != n)
			n = -1;
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct sysgenid *w, *p;
	bool probed = false;
	uint32_t gen0, g;
	int err, n, events = 0;

	if (argc < 2 || argc > 3)
		return 2;
	path = argv[1];
	if (argc == 3)
		events = atoi(argv[2]);
	err = sysgenid_open(&w);
	if (!err)
		err = sysgenid_open_probe(&p);
	if (err) {
		report("error open: %s\n", strerror(-err));
		return 1;
	}
	sysgenid_get(p, &gen0);
	report("ready %d %u\n", getpid(), gen0);
	for (n = 1; n <= events; n++) {
		do
			err = sysgenid_wait(w, -1, &g);
		while (err == -EINTR);
		if (!err)
			err = sysgenid_confirm(w, g);
		if (err) {
			report("error event %d: %s\n", n, strerror(-err));
			return 1;
		}
		sysgenid_get(p, &gen0);
		report("event %d %u\n", n, gen0);
	}
	report("armed %u\n", gen0);

	for (;;) {
		if (!probed && sysgenid_changed(sysgenid_map(p), gen0)) {
			report("probe %u\n", sysgenid_peek(sysgenid_map(p)));
			probed = true;
		}
		err = sysgenid_wait(w, 50, &g);
		if (err == -ETIME || err == -EINTR)
			continue;
		if (err) {
			report("error wait: %s\n", strerror(-err));
			return 1;
		}
		report("watcher %u\n", g);
		err = sysgenid_confirm(w, g);
		if (err == -EINVAL)
			continue;
		if (err) {
			report("error confirm: %s\n", strerror(-err));
			return 1;
		}
		if (!probed)
			report("probe %u\n", sysgenid_peek(sysgenid_map(p)));
		report("confirmed %u\n", g);
		return 0;
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid(1): the commands that look and report: get, status, laggards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

/* sysgenid get */

static const char get_help[] =
	"Usage: sysgenid get\n"
	"Print the current generation.\n";

int cmd_get(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const struct cmd_opts o = { get_help, lo, ":h" };
	struct sysgenid *h;
	uint32_t gen;
	int c;

	c = next_opt(argc, argv, &o);
	if (c != -1)
		return c - EXIT_NOW(0);
	if (open_handle(&h, false))
		return EXIT_ERROR;
	sysgenid_get(h, &gen);
	sysgenid_close(h);
	printf("%" PRIu32 "\n", gen);
	return EXIT_OK;
}

/* sysgenid status */

static const char status_help[] =
	"Usage: sysgenid status [--json]\n"
	"Print the generation, the number of watchers and of outdated\n"
	"watchers.\n"
	"  -j, --json    one JSON object\n";

/* One sysfs attribute: a decimal number and a newline. */
static int read_attr(const char *name, long long *val)
{
	char path[128], buf[32];
	ssize_t n;
	char *end;
	int fd;

	snprintf(path, sizeof(path), SYSFS_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	errno = 0;
	*val = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EPROTO;
	return 0;
}

int cmd_status(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ }
	};
	const struct cmd_opts o = { status_help, lo, ":hj" };
	long long gen, watchers = -1, outdated;
	bool json = false;
	char wbuf[24];
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		json = true;
	}

	err = read_attr("generation", &gen);
	if (!err)
		err = read_attr("watchers", &watchers);
	if (!err)
		err = read_attr("outdated_watchers", &outdated);
	if (err == -ENOENT) {
		/* No sysfs: the device tells all but the watcher count. */
		struct sysgenid *h;
		uint32_t g;

		if (open_handle(&h, false))
			return EXIT_ERROR;
		sysgenid_get(h, &g);
		gen = g;
		watchers = -1;
		outdated = sysgenid_outdated_watchers(h);
		sysgenid_close(h);
		if (outdated < 0)
			return fail(outdated, "outdated watchers");
	} else if (err) {
		return fail(err, SYSFS_DIR);
	}

	if (watchers < 0)
		strcpy(wbuf, json ? "null" : "unknown");
	else
		snprintf(wbuf, sizeof(wbuf), "%lld", watchers);
	if (json)
		printf("{\"generation\": %lld, \"watchers\": %s, "
		       "\"outdated_watchers\": %lld}\n", gen, wbuf, outdated);
	else
		printf("generation: %lld\nwatchers: %s\n"
		       "outdated watchers: %lld\n", gen, wbuf, outdated);
	return EXIT_OK;
}

/* sysgenid laggards */

static const char laggards_help[] =
	"Usage: sysgenid laggards\n"
	"List the outdated tracked watchers that hold up wait-watchers, one\n"
	"a line: PID FD COMMAND.\n";

/* Is fd's fdinfo showing "sysgenid-tracked: 1" and "sysgenid-outdated: 1"? */
static bool is_laggard(const char *pid, const char *fd)
{
	bool tracked = false, outdated = false;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "sysgenid-tracked: 1\n"))
			tracked = true;
		else if (!strcmp(line, "sysgenid-outdated: 1\n"))
			outdated = true;
	}
	fclose(f);
	return tracked && outdated;
}

static void comm_of(const char *pid, char *comm, size_t size)
{
	char path[64];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	f = fopen(path, "re");
	if (f) {
		n = fread(comm, 1, size - 1, f);
		fclose(f);
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static bool is_pid(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

int cmd_laggards(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const struct cmd_opts o = { laggards_help, lo, ":h" };
	struct dirent *p, *f;
	DIR *proc, *fds;
	int c;

	c = next_opt(argc, argv, &o);
	if (c != -1)
		return c - EXIT_NOW(0);

	proc = opendir("/proc");
	if (!proc)
		return fail(-errno, "/proc");
	while ((p = readdir(proc))) {
		char path[300], link[64], comm[32];
		ssize_t n;

		if (!is_pid(p->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;	/* gone, or not ours to see */
		while ((f = readdir(fds))) {
			if (!is_pid(f->d_name))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
				 p->d_name, f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n < 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, LIBSYSGENID_DEVICE) ||
			    !is_laggard(p->d_name, f->d_name))
				continue;
			comm_of(p->d_name, comm, sizeof(comm));
			printf("%s %s %s\n", p->d_name, f->d_name, comm);
		}
		closedir(fds);
	}
	closedir(proc);
	return EXIT_OK;
}

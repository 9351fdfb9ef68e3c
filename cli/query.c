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
	"watchers, and what shows a clone before its notification arrives:\n"
	"\"ID page\" (mapped: a check of a few loads), \"ioctl\" (sysgenid\n"
	"sync, one system call) or \"none\" (no VM generation ID device).\n"
	"Then the scope: the pid namespace whose generation this is (a\n"
	"container's; level 0 is the host's), as /proc/PID/ns/pid names it.\n"
	"In a container, the generation and outdated watchers are its\n"
	"scope's, and the watchers unknown.\n"
	"  -j, --json    one JSON object\n";

/*
 * Which check has no window here, as libsysgenid finds it (and catches up
 * on the way, so that the generation read afterwards is the current one);
 * from sysfs when the device cannot be opened; NULL when unknown.
 */
static const char *protection(void)
{
	static const char *const names[] = {
		[SYSGENID_PROTECTION_NONE] = "none",
		[SYSGENID_PROTECTION_IOCTL] = "ioctl",
		[SYSGENID_PROTECTION_PAGE] = "ID page",
	};
	struct sysgenid *h;
	char buf[16] = "";
	ssize_t n;
	int fd, p;

	if (!sysgenid_open_probe(&h)) {
		p = sysgenid_protection(h);
		sysgenid_close(h);
		if (p >= 0 && p < (int)(sizeof(names) / sizeof(names[0])))
			return names[p];
		return NULL;
	}
	fd = open(SYSFS_DIR "/vmgenid", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && !strncmp(buf, "page\n", n))
		return names[SYSGENID_PROTECTION_PAGE];
	if (n > 0 && !strncmp(buf, "ioctl\n", n))
		return names[SYSGENID_PROTECTION_IOCTL];
	if (n > 0 && !strncmp(buf, "none\n", n))
		return names[SYSGENID_PROTECTION_NONE];
	return NULL;
}

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

/*
 * The scope of a probe: its pid namespace's inode number and level, from
 * fdinfo; -ENOENT from a module without scopes.
 */
static int scope_of(const struct sysgenid *h, unsigned long *inum,
		    unsigned int *level)
{
	char path[64], line[128];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", sysgenid_fd(h));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		found += sscanf(line, "sysgenid-scope: %lu", inum) == 1;
		found += sscanf(line, "sysgenid-scope-level: %u", level) == 1;
	}
	fclose(f);
	return found == 2 ? 0 : -ENOENT;
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
	unsigned int level = 0;
	unsigned long inum = 0;
	const char *prot;
	bool json = false, scoped;
	char wbuf[24], pbuf[24], sbuf[48];
	struct sysgenid *h;
	uint32_t g;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		json = true;
	}

	prot = protection();
	/* sysfs shows the host's scope; a container's comes from the device. */
	scoped = !sysgenid_open_probe(&h);
	if (scoped) {
		scoped = !scope_of(h, &inum, &level);
		if (scoped && level) {
			sysgenid_get(h, &g);
			gen = g;
			outdated = sysgenid_outdated_watchers(h);
			sysgenid_close(h);
			if (outdated < 0)
				return fail(outdated, "outdated watchers");
			goto print;
		}
		sysgenid_close(h);
	}
	err = read_attr("generation", &gen);
	if (!err)
		err = read_attr("watchers", &watchers);
	if (!err)
		err = read_attr("outdated_watchers", &outdated);
	if (err == -ENOENT) {
		/* No sysfs: the device tells all but the watcher count. */
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

print:
	sbuf[0] = '\0';
	if (scoped && json)
		snprintf(sbuf, sizeof(sbuf),
			 ", \"scope\": \"pid:[%lu]\", \"scope_level\": %u",
			 inum, level);
	else if (scoped)
		snprintf(sbuf, sizeof(sbuf), "scope: pid:[%lu] (level %u)\n",
			 inum, level);
	if (watchers < 0)
		strcpy(wbuf, json ? "null" : "unknown");
	else
		snprintf(wbuf, sizeof(wbuf), "%lld", watchers);
	if (!prot)
		strcpy(pbuf, json ? "null" : "unknown");
	else
		snprintf(pbuf, sizeof(pbuf), json ? "\"%s\"" : "%s", prot);
	if (json)
		printf("{\"generation\": %lld, \"watchers\": %s, "
		       "\"outdated_watchers\": %lld, \"protection\": %s%s}\n",
		       gen, wbuf, outdated, pbuf, sbuf);
	else
		printf("generation: %lld\nwatchers: %s\n"
		       "outdated watchers: %lld\nprotection: %s\n%s",
		       gen, wbuf, outdated, pbuf, sbuf);
	return EXIT_OK;
}

/* sysgenid sync */

static const char sync_help[] =
	"Usage: sysgenid sync\n"
	"Catch up with the hypervisor: if the VM generation ID changed since\n"
	"the current generation (a clone whose notification has not arrived\n"
	"yet), make that generation event now. Print the generation. Needs\n"
	"no privilege; fails without a VM generation ID device.\n";

int cmd_sync(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const struct cmd_opts o = { sync_help, lo, ":h" };
	struct sysgenid *h;
	uint32_t gen;
	int c, err;

	c = next_opt(argc, argv, &o);
	if (c != -1)
		return c - EXIT_NOW(0);
	if (open_handle(&h, false))
		return EXIT_ERROR;
	err = sysgenid_sync(h, &gen);
	sysgenid_close(h);
	if (err == -ENODEV) {
		msg("no VM generation ID device: only the hypervisor's "
		    "notification and bump move the counter");
		return EXIT_ERROR;
	}
	if (err == -ENOTTY) {
		msg("the loaded module predates SYSGENID_SYNC_GEN");
		return EXIT_ERROR;
	}
	if (err)
		return fail(err, NULL);
	printf("%" PRIu32 "\n", gen);
	return EXIT_OK;
}

/* sysgenid laggards */

static const char laggards_help[] =
	"Usage: sysgenid laggards\n"
	"List the outdated tracked watchers that hold up wait-watchers, one\n"
	"a line: PID FD COMMAND (only the processes this user may inspect).\n";

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

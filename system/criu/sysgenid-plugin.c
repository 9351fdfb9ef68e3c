// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid_plugin.so: lets CRIU checkpoint and restore processes that hold
 * /dev/sysgenid open or mapped (criu --libdir DIR, DIR holding this file).
 *
 * CRIU does not know the device: it refuses the files and the mapping.
 * - An open file is dumped as its access mode and whether it is a tracked
 *   watcher, in sysgenid-ID.img beside the other images, and restored as a
 *   new open of the device with the same mode and tracking.
 * - The mapping is claimed as a device mapping: CRIU dumps no content for
 *   it, and restores it by mapping the device again, so the restored
 *   process sees the live counter.
 * - The image also holds the generation the file had acknowledged and its
 *   scope's value at dump. Once every task is restored and before any
 *   runs again, the plugin moves the restored tree's scope (the root
 *   task's pid namespace: a container's own event, the host's only for a
 *   tree restored into the host's namespace), until its value is none of
 *   those: a restore on another host, or after a module reload, starts
 *   from another counter and could land on a cached value by chance.
 * A restored file acknowledges the generation current at restore time, so
 * the move is an event for every restored watcher. sysgenid-action.sh does
 * the same for a tree that held no sysgenid file.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criu-plugin.h>
#include <linux/sysgenid.h>

static int image_name(char *buf, size_t size, int id)
{
	return snprintf(buf, size, "sysgenid-%08x.img", (unsigned int)id);
}

/* Is st the device's own node? -ENOTSUP tells CRIU "not mine". */
static int is_sysgenid(const struct stat *st)
{
	struct stat dev;

	if (!S_ISCHR(st->st_mode) || stat(SYSGENID_DEVICE, &dev) ||
	    st->st_rdev != dev.st_rdev)
		return -ENOTSUP;
	return 0;
}

/* The file's tracking (0 or 1) and acknowledged generation, from fdinfo. */
static int fd_state(int fd, unsigned int *acked)
{
	char path[64], line[64];
	int val = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "sysgenid-tracked: %d", &val);
		sscanf(line, "sysgenid-acked: %u", acked);
	}
	fclose(f);
	return val;
}

/* The generation that fd's mapping shows (its scope's), in *gen. */
static int mapped_gen(int fd, unsigned int *gen)
{
	long page = sysconf(_SC_PAGESIZE);
	const volatile uint32_t *p;

	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*gen = *p;
	munmap((void *)p, page);
	return 0;
}

static int sysgenid_dump_file(int fd, int id)
{
	char name[32], buf[64];
	struct stat st;
	int img, n, flags, track, ret;
	unsigned int acked = 0, gen;

	if (fstat(fd, &st))
		return -errno;
	ret = is_sysgenid(&st);
	if (ret)
		return ret;

	flags = fcntl(fd, F_GETFL);
	track = fd_state(fd, &acked);
	if (flags < 0 || track < 0)
		return -EIO;
	/* A write-only file cannot be mapped: what it confirmed will do. */
	if (mapped_gen(fd, &gen))
		gen = acked;

	image_name(name, sizeof(name), id);
	img = openat(criu_get_image_dir(), name,
		     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (img < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d %d %u %u\n",
		     flags & (O_ACCMODE | O_NONBLOCK), track, acked, gen);
	ret = write(img, buf, n) == n ? 0 : -EIO;
	close(img);
	return ret;
}

static int sysgenid_restore_file(int id)
{
	int img, fd, flags, track, n;
	char name[32], buf[64];

	image_name(name, sizeof(name), id);
	img = openat(criu_get_image_dir(), name, O_RDONLY | O_CLOEXEC);
	if (img < 0)
		return errno == ENOENT ? -ENOTSUP : -errno;	/* not ours */
	n = read(img, buf, sizeof(buf) - 1);
	close(img);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	if (sscanf(buf, "%d %d", &flags, &track) != 2)
		return -EIO;

	fd = open(SYSGENID_DEVICE, flags);
	if (fd < 0)
		return -errno;
	/* Files with write access are tracked from open(). */
	if ((flags & O_ACCMODE) != O_RDONLY && !track &&
	    ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 0) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/*
 * The generations in the images, two per file (the one it acknowledged,
 * its scope's at dump), in a malloc()ed *gens; how many files, or -errno.
 * Images of an older plugin hold no generation.
 */
static int dumped(unsigned int **gens, int *ngens)
{
	int dir = dup(criu_get_image_dir()), fd, n, files = 0;
	unsigned int acked, at_dump, *more;
	struct dirent *de;
	char buf[64];
	DIR *d;

	*gens = NULL;
	*ngens = 0;
	d = dir < 0 ? NULL : fdopendir(dir);
	if (!d) {
		n = -errno;
		if (dir >= 0)
			close(dir);
		return n;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "sysgenid-", 9))
			continue;
		files++;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (sscanf(buf, "%*d %*d %u %u", &acked, &at_dump) != 2)
			continue;
		more = realloc(*gens, (*ngens + 2) * sizeof(**gens));
		if (!more)
			break;
		*gens = more;
		more[(*ngens)++] = acked;
		more[(*ngens)++] = at_dump;
	}
	closedir(d);
	return files;
}

static bool among(unsigned int gen, const unsigned int *gens, int n)
{
	while (n--)
		if (gens[n] == gen)
			return true;
	return false;
}

/* The event for the tree whose root task is pid: its scope's. */
static int move_scope(int pid, const unsigned int *gens, int ngens)
{
	unsigned int gen;
	char path[64];
	int fd, ns, i, ret = 0;

	fd = open(SYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || ioctl(fd, SYSGENID_SET_SCOPE, ns))
		ret = -errno;
	if (ns >= 0)
		close(ns);
	/* A module without scopes: the host's event, as the script's. */
	if (ret == -ENOTTY)
		ret = ioctl(fd, SYSGENID_FORCE_GEN_UPDATE, 0) ? -errno : 0;
	else if (!ret)
		for (i = 0; i < 8; i++) {
			if (ioctl(fd, SYSGENID_BUMP_SCOPE, 0)) {
				ret = -errno;
				break;
			}
			ret = mapped_gen(fd, &gen);
			if (ret || !among(gen, gens, ngens))
				break;
			ret = -EAGAIN;
		}
	close(fd);
	return ret;
}

/*
 * Called in CRIU's own process for every restored task, the root first,
 * before any runs again. CRIU ignores what this returns: a tree that could
 * not be told is killed, task by task, rather than let run unaware (as a
 * failing action script fails the restore).
 */
static int sysgenid_resume_late(int pid)
{
	static int failed = -1;	/* not yet known */
	unsigned int *gens;
	int ret, ngens;

	if (failed < 0) {
		/* No file of the device in the tree: the script's part. */
		ret = dumped(&gens, &ngens);
		if (ret > 0)
			ret = move_scope(pid, gens, ngens);
		free(gens);
		failed = ret < 0;
		if (failed)
			fprintf(stderr, "sysgenid: no event for the restored tree: %s\n",
				strerror(-ret));
	}
	if (!failed)
		return -ENOTSUP;
	kill(pid, SIGKILL);
	return -EIO;
}

static int sysgenid_handle_vma(int fd, const struct stat *st)
{
	(void)fd;
	return is_sysgenid(st);
}

CR_PLUGIN_REGISTER_DUMMY("sysgenid")
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__DUMP_EXT_FILE, sysgenid_dump_file)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__RESTORE_EXT_FILE, sysgenid_restore_file)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__HANDLE_DEVICE_VMA, sysgenid_handle_vma)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__RESUME_DEVICES_LATE, sysgenid_resume_late)

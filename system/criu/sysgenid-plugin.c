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
 * A restored file acknowledges the generation current at restore time; run
 * sysgenid-action.sh as the restore's action script so that a generation
 * event follows and every restored watcher learns of the restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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

static int tracked(int fd)
{
	char path[64], line[64];
	int val = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "sysgenid-tracked: %d", &val);
	fclose(f);
	return val;
}

static int sysgenid_dump_file(int fd, int id)
{
	char name[32], buf[64];
	struct stat st;
	int img, n, flags, track, ret;

	if (fstat(fd, &st))
		return -errno;
	ret = is_sysgenid(&st);
	if (ret)
		return ret;

	flags = fcntl(fd, F_GETFL);
	track = tracked(fd);
	if (flags < 0 || track < 0)
		return -EIO;

	image_name(name, sizeof(name), id);
	img = openat(criu_get_image_dir(), name,
		     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (img < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d %d\n",
		     flags & (O_ACCMODE | O_NONBLOCK), track);
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

static int sysgenid_handle_vma(int fd, const struct stat *st)
{
	(void)fd;
	return is_sysgenid(st);
}

CR_PLUGIN_REGISTER_DUMMY("sysgenid")
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__DUMP_EXT_FILE, sysgenid_dump_file)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__RESTORE_EXT_FILE, sysgenid_restore_file)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__HANDLE_DEVICE_VMA, sysgenid_handle_vma)

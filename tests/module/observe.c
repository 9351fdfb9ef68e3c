// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/sysgenid: the device node, fdinfo and sysfs (SPEC sections 2 and 6).
 */
#include <ctype.h>
#include <grp.h>
#include <sys/sysmacros.h>

#include "sgtest.h"

#define SYSFS "/sys/class/misc/sysgenid/"

/* Read a small file whole; its length, or -1. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* A sysfs attribute: exactly a decimal number and a newline, else -1. */
static long long attr(const char *name)
{
	char path[128], buf[64], *end;
	long long v;

	snprintf(path, sizeof(path), SYSFS "%s", name);
	if (slurp(path, buf, sizeof(buf)) < 2 || !isdigit(buf[0]))
		return -1;
	v = strtoll(buf, &end, 10);
	return strcmp(end, "\n") ? -1 : v;
}

TEST(device_node_is_a_char_device_mode_0666)
{
	struct stat st;
	char buf[32];
	unsigned int maj, min;
	int n;

	ASSERT_EQ(0, stat(SYSGENID_DEVICE, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 07777);
	/* The node is the misc device's. */
	ASSERT_LT(0, slurp(SYSFS "dev", buf, sizeof(buf)));
	n = sscanf(buf, "%u:%u", &maj, &min);
	ASSERT_EQ(2, n);
	EXPECT_EQ(maj, major(st.st_rdev));
	EXPECT_EQ(min, minor(st.st_rdev));
}

/* Child: as nobody, open a watcher, then confirm the test's event. */
static void nobody_fn(void *arg, int in, int out)
{
	int fd;
	__u32 g;

	(void)arg;
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534)) {
		sg_send(out, -1, errno);
		return;
	}
	fd = open(SYSGENID_DEVICE, O_RDWR | O_CLOEXEC);
	sg_send(out, fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
	if (fd < 0)
		return;
	sg_wait_cmd(in);
	if (sg_read(fd, &g) != 4 || write(fd, &g, 4) != 4) {
		sg_send(out, -1, errno);
		return;
	}
	sg_send(out, g, 0);
}

TEST(unprivileged_process_opens_and_confirms)
{
	struct sg_child c = sg_spawn(nobody_fn, NULL);
	int ro = sg_open(O_RDONLY);
	struct sg_msg m;
	int n;

	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	ASSERT_EQ(0, m.ret);
	sg_bump(ro);
	n = sg_outdated(ro);
	sg_tell(&c, 0);
	ASSERT_EQ(1, sg_recv(c.from, &m, SG_GUARD_MS));
	EXPECT_EQ(sg_gen(), (__u32)m.ret);
	EXPECT_EQ(n - 1, sg_outdated(ro));
	sg_reap(&c);
	close(ro);
}

TEST(fdinfo_of_fresh_files)
{
	int fd = sg_open(O_RDWR);
	int wo = sg_open(O_WRONLY);
	int ro = sg_open(O_RDONLY);
	__u32 g = sg_gen();

	EXPECT_EQ(g, sg_fdinfo(fd, "sysgenid-acked"));
	EXPECT_EQ(1, sg_fdinfo(fd, "sysgenid-tracked"));
	EXPECT_EQ(0, sg_fdinfo(fd, "sysgenid-outdated"));
	EXPECT_EQ(1, sg_fdinfo(wo, "sysgenid-tracked"));
	EXPECT_EQ(g, sg_fdinfo(ro, "sysgenid-acked"));
	EXPECT_EQ(0, sg_fdinfo(ro, "sysgenid-tracked"));
	EXPECT_EQ(0, sg_fdinfo(ro, "sysgenid-outdated"));
	close(ro);
	close(wo);
	close(fd);
}

TEST(fdinfo_follows_events_and_confirmations)
{
	int fd = sg_open(O_RDWR);
	int ro = sg_open(O_RDONLY);
	__u32 g = sg_gen();

	sg_bump(ro);
	sg_bump(ro);
	/* Acknowledged is still the old one until confirmed. */
	EXPECT_EQ(g, sg_fdinfo(fd, "sysgenid-acked"));
	EXPECT_EQ(1, sg_fdinfo(fd, "sysgenid-outdated"));
	EXPECT_EQ(1, sg_fdinfo(ro, "sysgenid-outdated"));
	EXPECT_EQ(0, sg_fdinfo(ro, "sysgenid-tracked"));
	sg_ack(fd);
	EXPECT_EQ(g + 2, sg_fdinfo(fd, "sysgenid-acked"));
	EXPECT_EQ(0, sg_fdinfo(fd, "sysgenid-outdated"));
	EXPECT_EQ(1, sg_fdinfo(fd, "sysgenid-tracked"));
	/* Counter back at the acknowledged value: still outdated. */
	sg_set_gen(ro, g + 2 + 0x40000000);
	sg_set_gen(ro, g + 2);
	EXPECT_EQ(g + 2, sg_fdinfo(fd, "sysgenid-acked"));
	EXPECT_EQ(1, sg_fdinfo(fd, "sysgenid-outdated"));
	close(ro);
	close(fd);
}

TEST(fdinfo_tracked_follows_set_watcher_tracking)
{
	int fd = sg_open(O_RDWR);

	ASSERT_EQ(0, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 0));
	EXPECT_EQ(0, sg_fdinfo(fd, "sysgenid-tracked"));
	ASSERT_EQ(0, ioctl(fd, SYSGENID_SET_WATCHER_TRACKING, 1));
	EXPECT_EQ(1, sg_fdinfo(fd, "sysgenid-tracked"));
	close(fd);
}

TEST(sysfs_attributes_are_read_only_0444)
{
	static const char *const names[] = {
		"generation", "watchers", "outdated_watchers",
	};
	char path[128];
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), SYSFS "%s", names[i]);
		ASSERT_EQ(0, stat(path, &st)) {
			TH_LOG("%s", path);
		}
		EXPECT_EQ(0444, st.st_mode & 07777) {
			TH_LOG("%s", path);
		}
		EXPECT_EQ(-1, open(path, O_WRONLY | O_CLOEXEC));
	}
}

TEST(sysfs_generation_follows_the_counter)
{
	int ro = sg_open(O_RDONLY);

	EXPECT_EQ(sg_gen(), attr("generation"));
	sg_bump(ro);
	EXPECT_EQ(sg_gen(), attr("generation"));
	sg_set_gen(ro, 0xffffffff);
	EXPECT_EQ(0xffffffffLL, attr("generation"));
	sg_bump(ro);
	EXPECT_EQ(0, attr("generation"));
	close(ro);
}

TEST(sysfs_watchers_counts_tracked_files)
{
	long long w = attr("watchers");
	int fds[5], i;

	ASSERT_LE(0, w);
	for (i = 0; i < 5; i++)
		fds[i] = sg_open(i < 3 ? O_RDWR : O_RDONLY);
	EXPECT_EQ(w + 3, attr("watchers"));
	ASSERT_EQ(0, ioctl(fds[0], SYSGENID_SET_WATCHER_TRACKING, 0));
	EXPECT_EQ(w + 2, attr("watchers"));
	for (i = 0; i < 5; i++)
		close(fds[i]);
	EXPECT_EQ(w, attr("watchers"));
}

TEST(sysfs_outdated_watchers_matches_the_ioctl)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR);
	int n;

	sg_bump(ro);
	n = sg_outdated(ro);
	ASSERT_LE(1, n);
	EXPECT_EQ(n, attr("outdated_watchers"));
	sg_ack(fd);
	EXPECT_EQ(n - 1, attr("outdated_watchers"));
	close(fd);
	close(ro);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/sysgenid: the VM generation ID (SPEC sections 2 and 4): the ID in
 * the generation page, the hypervisor's ID page at SYSGENID_VMGENID_PGOFF
 * and SYSGENID_SYNC_GEN, on a guest with QEMU's vmgenid device (the
 * harness always gives one; tests/clone/host-window.t covers a guest
 * without, and what a clone sees).
 */
#include "sgtest.h"

static const struct sysgenid_page *map_page(int fd)
{
	void *p = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		sg_die("mmap");
	return p;
}

static const unsigned char *map_id_page(int fd)
{
	void *p = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, fd,
		       SYSGENID_VMGENID_PGOFF * sg_page());

	if (p == MAP_FAILED)
		sg_die("mmap of the ID page");
	return p;
}

static void sysfs_read(const char *attr, char *buf, size_t n)
{
	char path[128];
	int fd;
	ssize_t r;

	snprintf(path, sizeof(path), "/sys/class/misc/sysgenid/%s", attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		sg_die("open %s", path);
	r = read(fd, buf, n - 1);
	if (r < 0)
		sg_die("read %s", path);
	buf[r] = '\0';
	close(fd);
}

TEST(sysfs_says_page_and_reseed)
{
	char buf[32];

	sysfs_read("vmgenid", buf, sizeof(buf));
	EXPECT_STREQ("page\n", buf);
	/* Debian's kernels do not export add_vmfork_randomness(). */
	sysfs_read("reseed", buf, sizeof(buf));
	EXPECT_TRUE(!strcmp(buf, "ioctl\n") || !strcmp(buf, "vmfork\n"))
		TH_LOG("reseed: %s", buf);
}

TEST(id_page_holds_the_id_the_generation_stands_for)
{
	int ro = sg_open(O_RDONLY);
	const struct sysgenid_page *p = map_page(ro);
	const unsigned char *id = map_id_page(ro);
	size_t i, differ = 0, nonzero = 0;

	/* QEMU's blob: the ID at offset 40, the rest of its page zero. */
	ASSERT_EQ(40, sg_load(&p->vmgenid_offset));
	for (i = 0; i < SYSGENID_VMGENID_SIZE; i++) {
		differ += sg_load(&id[40 + i]) != sg_load(&p->vmgenid[i]);
		nonzero += sg_load(&p->vmgenid[i]) != 0;
	}
	EXPECT_EQ(0, differ);
	EXPECT_NE(0, nonzero);
	for (i = 0; i < sg_page(); i++)
		if (i < 40 || i >= 40 + SYSGENID_VMGENID_SIZE)
			EXPECT_EQ(0, sg_load(&id[i]));
	close(ro);
}

TEST(sync_without_a_change_is_no_event)
{
	int ro = sg_open(O_RDONLY);
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g = sg_gen(), got = ~g, v;

	ASSERT_EQ(0, ioctl(ro, SYSGENID_SYNC_GEN, &got));
	EXPECT_EQ(g, got);
	EXPECT_EQ(g, sg_gen());
	EXPECT_EQ(-1, read(fd, &v, sizeof(v)));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
	close(ro);
}

TEST(sync_after_a_forced_update_returns_it)
{
	int ro = sg_open(O_RDONLY);
	__u32 g = sg_gen(), got;

	ASSERT_EQ(0, ioctl(ro, SYSGENID_FORCE_GEN_UPDATE, 0UL));
	ASSERT_EQ(0, ioctl(ro, SYSGENID_SYNC_GEN, &got));
	EXPECT_EQ(g + 1, got);
	/* A forced update leaves the ID alone: no second event. */
	EXPECT_EQ(g + 1, sg_gen());
	close(ro);
}

TEST(sync_bad_pointer_efault)
{
	int ro = sg_open(O_RDONLY);

	EXPECT_EQ(-1, ioctl(ro, SYSGENID_SYNC_GEN, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	close(ro);
}

TEST(sync_wrong_size_or_direction_enotty)
{
	int ro = sg_open(O_RDONLY);
	__u64 big;

	EXPECT_EQ(-1, ioctl(ro, _IOR(SYSGENID_IOCTL_V6, 4, __u64), &big));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(ro, _IO(SYSGENID_IOCTL_V6, 4), 0));
	EXPECT_EQ(ENOTTY, errno);
	close(ro);
}

TEST(id_page_is_read_only)
{
	int fd = sg_open(O_RDWR);
	void *p = mmap(NULL, sg_page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       SYSGENID_VMGENID_PGOFF * sg_page());

	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	p = (void *)map_id_page(fd);
	EXPECT_EQ(-1, mprotect(p, sg_page(), PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, sg_page());
	close(fd);
}

TEST(id_page_private_or_too_long_einval)
{
	int ro = sg_open(O_RDONLY);
	off_t off = SYSGENID_VMGENID_PGOFF * sg_page();

	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ, MAP_PRIVATE, ro,
				   off));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * sg_page(), PROT_READ, MAP_SHARED,
				   ro, off));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, ro,
				   2 * sg_page()));
	EXPECT_EQ(EINVAL, errno);
	close(ro);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid.ko: unloading is refused while a file or a mapping is open, and
 * the module loads and unloads cleanly, starting at generation 0.
 *
 * Runs last among the driver's suites: it unloads the module the guest
 * loaded, and always leaves /lib/sysgenid/sysgenid.ko loaded again.
 */
#include <dirent.h>

#include "sgtest.h"

#define MODULE_NAME	"sysgenid"
#define MODULE_PATH	"/lib/sysgenid/sysgenid.ko"
#define MODULE_SYSFS	"/sys/module/" MODULE_NAME

static bool loaded(void)
{
	return !access(MODULE_SYSFS, F_OK);
}

static int unload(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK);
}

static int load(void)
{
	int fd = open(MODULE_PATH, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

/* Another module (sysgenid_acpi) holding ours would make rmmod fail. */
static int nr_holders(void)
{
	DIR *d = opendir(MODULE_SYSFS "/holders");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

FIXTURE(load) {
};

FIXTURE_SETUP(load)
{
	ASSERT_TRUE(loaded());
	if (nr_holders())
		SKIP(return, "another module uses " MODULE_NAME);
}

/* Whatever happened, leave the module loaded for the suites after us. */
FIXTURE_TEARDOWN(load)
{
	if (!loaded())
		ASSERT_EQ(0, load());
}

static bool refused(int ret)
{
	/* EWOULDBLOCK since 3.13; EBUSY from older kernels. */
	return ret == -1 && (errno == EWOULDBLOCK || errno == EBUSY);
}

TEST_F(load, unload_refused_while_a_file_is_open)
{
	int fd = sg_open(O_RDWR | O_NONBLOCK);
	__u32 g;

	EXPECT_TRUE(refused(unload()));
	ASSERT_TRUE(loaded());
	/* And the file still works. */
	sg_bump(fd);
	EXPECT_EQ(4, sg_read(fd, &g));
	EXPECT_EQ(sg_gen(), g);
	close(fd);
}

TEST_F(load, unload_refused_while_a_mapping_is_open)
{
	int fd = sg_open(O_RDONLY);
	const __u32 *p = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, fd, 0);
	int ro;

	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	EXPECT_TRUE(refused(unload()));
	ASSERT_TRUE(loaded());
	ro = sg_open(O_RDONLY);
	sg_bump(ro);
	close(ro);
	EXPECT_EQ(sg_gen(), sg_load(p));
	munmap((void *)p, sg_page());
}

TEST_F(load, unload_succeeds_once_all_is_closed)
{
	int fd = sg_open(O_RDWR);
	void *p = mmap(NULL, sg_page(), PROT_READ, MAP_SHARED, fd, 0);

	ASSERT_NE(MAP_FAILED, p);
	munmap(p, sg_page());
	close(fd);
	ASSERT_EQ(0, unload());
	EXPECT_FALSE(loaded());
	EXPECT_EQ(-1, access(SYSGENID_DEVICE, F_OK));
	EXPECT_EQ(-1, access("/sys/class/misc/sysgenid", F_OK));
	ASSERT_EQ(0, load());
}

TEST_F(load, loads_at_generation_0)
{
	int ro = sg_open(O_RDONLY);

	sg_set_gen(ro, 12345);
	close(ro);
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load());
	EXPECT_EQ(0, sg_gen());
	ro = sg_open(O_RDWR | O_NONBLOCK);
	EXPECT_EQ(0, sg_ready(ro));
	EXPECT_EQ(0, sg_outdated(ro));
	close(ro);
}

TEST_F_TIMEOUT(load, load_and_unload_10_times, 120)
{
	int i, fd;

	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, unload()) {
			TH_LOG("unload %d: %s", i, strerror(errno));
		}
		ASSERT_EQ(0, load()) {
			TH_LOG("load %d: %s", i, strerror(errno));
		}
		/* Usable at once: node, counter, events. */
		fd = sg_open(O_RDWR | O_NONBLOCK);
		EXPECT_EQ(0, sg_gen());
		sg_bump(fd);
		EXPECT_EQ(1, sg_gen());
		EXPECT_EQ(1, sg_outdated(fd));
		close(fd);
	}
	EXPECT_TRUE(loaded());
}

TEST_HARNESS_MAIN

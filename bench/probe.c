// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-probe: what it costs to ask "has the generation moved?", five ways.
 *
 *   lib-check  sysgenid_changed() of libsysgenid.h on the mapped page:
 *              one atomic load compared with a cached value
 *   id-check   the check without a window: the counter, and the first
 *              8 bytes of the hypervisor's VM generation ID (the ID page)
 *              against those of the ID the generation stands for
 *   sync       SYSGENID_SYNC_GEN when nothing changed
 *   plain-load the same comparison on an ordinary volatile variable: the
 *              floor every other figure is divided by
 *   syscall    getppid(), the cheapest system call, for reference
 *   read       non-blocking read() of an up-to-date file: EAGAIN
 *   ioctl      SYSGENID_GET_OUTDATED_WATCHERS
 *   sysfs      pread() of /sys/class/misc/sysgenid/generation, open once
 *
 * Each is timed over a large loop, REPS times, the methods taking turns so
 * that a noisy moment spreads over all of them; the figure is the median
 * of the nanoseconds per call.
 */
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "bench.h"
#include "libsysgenid.h"

#define REPS		11
#define LOAD_LOOPS	(1u << 23)
#define CALL_LOOPS	(1u << 14)

enum { LIB, PLAIN, IDCHECK, SYSCALL, READ, IOCTL, SYNC, SYSFS, NR_METHODS };

static const char *const names[NR_METHODS] = {
	"lib-check", "plain-load", "id-check", "syscall", "read", "ioctl",
	"sync", "sysfs",
};

static volatile uint32_t plain;

static const volatile uint32_t *map;
static int dev_fd, sysfs_fd;
/* The generation page's ID and the hypervisor's, as 8-byte words. */
static const volatile uint64_t *acted, *hv;

/*
 * Loads the ID before the generation: see struct sysgenid_page. The first
 * 8 of the ID's 16 bytes tell a new random ID (2^-60 to keep them).
 */
static inline bool id_check(const volatile uint32_t *m,
			    const volatile uint64_t *a,
			    const volatile uint64_t *h, uint32_t cached)
{
	uint64_t moved = a[0] ^ h[0];

	return (moved | (__atomic_load_n(m, __ATOMIC_ACQUIRE) ^ cached)) != 0;
}

/* The checks' results are summed so that no loop can be thrown away. */
static unsigned long sink;

static double run(int method)
{
	/* In a register, as a caller's would be: the check is the one load. */
	const volatile uint32_t *m = map;
	uint32_t cached = sysgenid_peek(m), v;
	unsigned int i, loops;
	unsigned long n = 0;
	uint64_t t0, t1;
	char buf[16];

	loops = method <= IDCHECK ? LOAD_LOOPS : CALL_LOOPS;
	t0 = now_ns();
	switch (method) {
	case LIB:
		for (i = 0; i < loops; i++)
			n += sysgenid_changed(m, cached);
		break;
	case PLAIN:
		for (i = 0; i < loops; i++)
			n += plain != cached;
		break;
	case IDCHECK: {
		const volatile uint64_t *a = acted, *h = hv;

		for (i = 0; i < loops; i++)
			n += id_check(m, a, h, cached);
		break;
	}
	case SYSCALL:
		for (i = 0; i < loops; i++)
			n += syscall(SYS_getppid);
		break;
	case SYNC:
		for (i = 0; i < loops; i++)
			n += ioctl(dev_fd, SYSGENID_SYNC_GEN, &v);
		break;
	case READ:
		for (i = 0; i < loops; i++)
			n += read(dev_fd, &v, sizeof(v));
		break;
	case IOCTL:
		for (i = 0; i < loops; i++)
			n += ioctl(dev_fd, SYSGENID_GET_OUTDATED_WATCHERS);
		break;
	case SYSFS:
		for (i = 0; i < loops; i++)
			n += pread(sysfs_fd, buf, sizeof(buf), 0);
		break;
	}
	t1 = now_ns();
	sink += n;
	return (double)(t1 - t0) / loops;
}

int main(void)
{
	double ns[NR_METHODS][REPS];
	long page = sysconf(_SC_PAGESIZE);
	struct sysgenid *h;
	void *id_page;
	uint32_t v;
	int m, r, ret;

	ret = sysgenid_open_probe(&h);
	if (ret)
		die("sysgenid_open_probe: %s", strerror(-ret));
	map = sysgenid_map(h);
	plain = sysgenid_peek(map);
	id_page = mmap(NULL, page, PROT_READ, MAP_SHARED, sysgenid_fd(h),
		       SYSGENID_VMGENID_PGOFF * page);
	if (id_page == MAP_FAILED)
		die("mmap of the VM generation ID page: %s", strerror(errno));
	acted = (const volatile uint64_t *)
		((const volatile struct sysgenid_page *)map)->vmgenid;
	hv = (const volatile uint64_t *)((const char *)id_page +
		((const volatile struct sysgenid_page *)map)->vmgenid_offset);

	dev_fd = sg_open(O_RDONLY | O_NONBLOCK);
	if (read(dev_fd, &v, sizeof(v)) != -1 || errno != EAGAIN)
		die("read() of an up-to-date file did not fail with EAGAIN");
	sysfs_fd = open("/sys/class/misc/sysgenid/generation",
			O_RDONLY | O_CLOEXEC);
	if (sysfs_fd < 0)
		die("open generation attribute: %s", strerror(errno));

	/* One untimed round: page in, warm caches and TCG's translations. */
	for (m = 0; m < NR_METHODS; m++)
		run(m);
	for (r = 0; r < REPS; r++)
		for (m = 0; m < NR_METHODS; m++)
			ns[m][r] = run(m);

	for (m = 0; m < NR_METHODS; m++) {
		char key[32];

		snprintf(key, sizeof(key), "%s-ns", names[m]);
		result("probe", key, median(ns[m], REPS));
		snprintf(key, sizeof(key), "%s-ns-min", names[m]);
		result("probe", key, ns[m][0]);
	}
	printf("# probe: sink %lu\n", sink);
	sysgenid_close(h);
	return 0;
}

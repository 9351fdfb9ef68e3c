// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-probe: what it costs to ask "has the generation moved?", five ways.
 *
 *   lib-check  sysgenid_changed() of libsysgenid.h on the mapped page:
 *              one atomic load compared with a cached value
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
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "bench.h"
#include "libsysgenid.h"

#define REPS		11
#define LOAD_LOOPS	(1u << 23)
#define CALL_LOOPS	(1u << 14)

enum { LIB, PLAIN, SYSCALL, READ, IOCTL, SYSFS, NR_METHODS };

static const char *const names[NR_METHODS] = {
	"lib-check", "plain-load", "syscall", "read", "ioctl", "sysfs",
};

static volatile uint32_t plain;

static const volatile uint32_t *map;
static int dev_fd, sysfs_fd;

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

	loops = method <= PLAIN ? LOAD_LOOPS : CALL_LOOPS;
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
	case SYSCALL:
		for (i = 0; i < loops; i++)
			n += syscall(SYS_getppid);
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
	struct sysgenid *h;
	uint32_t v;
	int m, r, ret;

	ret = sysgenid_open_probe(&h);
	if (ret)
		die("sysgenid_open_probe: %s", strerror(-ret));
	map = sysgenid_map(h);
	plain = sysgenid_peek(map);

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

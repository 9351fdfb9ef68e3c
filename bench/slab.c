// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-slab: kernel memory per open file of /dev/sysgenid, from the slab
 * caches (/proc/slabinfo, SLUB, booted with slab_nomerge so that every
 * cache counts its own objects).
 *
 * N files of /dev/null are opened first, then N watchers (O_RDWR) of
 * /dev/sysgenid, and the caches are read before and after each. /dev/null
 * allocates nothing of its own, so its figure is what any open file costs
 * (struct file, in the filp cache); what /dev/sysgenid costs beyond it is
 * the module's. Per cache that grew by at least N/20 objects:
 *
 *	RESULT mem DEV:CACHE:objs  objects gained
 *	RESULT mem size:CACHE      object size in the cache (with metadata)
 *
 * and over all caches DEV:bytes (objects times size) and DEV:slab-bytes
 * (pages held by slabs).
 */
#include "slabinfo.h"

#define N		100000

static void experiment(const char *label, const char *path)
{
	static struct snap before, after;
	static int fds[N];
	long bytes = 0, slab_bytes = 0;
	char key[128];
	int i;

	/* Files closed before are freed after an RCU grace period. */
	sleep(2);
	take(&before);
	for (i = 0; i < N; i++) {
		fds[i] = open(path, O_RDWR | O_CLOEXEC);
		if (fds[i] < 0)
			die("open %s #%d: %s", path, i, strerror(errno));
	}
	take(&after);
	for (i = 0; i < N; i++)
		close(fds[i]);

	for (i = 0; i < after.n; i++) {
		const struct cache *a = &after.c[i];
		const struct cache *b = find(&before, a->name);
		long d = gained(&before, a);

		bytes += d * a->objsize;
		slab_bytes += a->slab_bytes - (b ? b->slab_bytes : 0);
		if (d < N / 20)
			continue;
		snprintf(key, sizeof(key), "%s:%s:objs", label, a->name);
		result("mem", key, d);
		snprintf(key, sizeof(key), "size:%s", a->name);
		result("mem", key, a->objsize);
	}
	snprintf(key, sizeof(key), "%s:bytes", label);
	result("mem", key, bytes);
	snprintf(key, sizeof(key), "%s:slab-bytes", label);
	result("mem", key, slab_bytes);
}

int main(void)
{
	raise_nofile(N);
	result("mem", "files", N);
	experiment("null", "/dev/null");
	experiment("sysgenid", SYSGENID_DEVICE);
	return 0;
}

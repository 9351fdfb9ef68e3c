// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-restore: the watcher of the VM restore benchmark. Blocks in read(),
 * confirms, and only then says so on stdout (the guest's results channel),
 * where the host times the line's arrival against the QMP "cont" that
 * resumed the clone. "@sgb ready" tells the host that it may save the VM.
 * One write() per line: other programs share the port.
 *
 * sgb-restore id|counter: a detector that checks every millisecond, as a
 * busy server between requests would, and says "@sgb seen-id t=S" or
 * "@sgb seen-counter t=S" when it sees the clone, by the VM generation ID
 * page (ahead of the notification) or by the counter alone, with the
 * guest's CLOCK_MONOTONIC.
 */
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"

static int detect(bool by_id)
{
	const struct timespec ms = { 0, 1000000 };
	long page = sysconf(_SC_PAGESIZE);
	const volatile struct sysgenid_page *p;
	const volatile unsigned char *id = NULL;
	int fd = sg_open(O_RDONLY), i;
	struct timespec t;
	uint32_t cached;
	bool seen;

	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (by_id) {
		id = mmap(NULL, page, PROT_READ, MAP_SHARED, fd,
			  SYSGENID_VMGENID_PGOFF * page);
		if (id == MAP_FAILED)
			die("mmap of the ID page: %s", strerror(errno));
		id += p->vmgenid_offset;
	}
	cached = p->generation;
	printf("@sgb ready %s\n", by_id ? "id" : "counter");
	do {
		nanosleep(&ms, NULL);
		seen = p->generation != cached;
		for (i = 0; by_id && i < SYSGENID_VMGENID_SIZE; i++)
			seen |= id[i] != p->vmgenid[i];
	} while (!seen);
	clock_gettime(CLOCK_MONOTONIC, &t);
	printf("@sgb seen-%s t=%.6f\n", by_id ? "id" : "counter",
	       t.tv_sec + t.tv_nsec / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t gen;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2)
		return detect(!strcmp(argv[1], "id"));
	fd = sg_open(O_RDWR);
	printf("@sgb ready\n");
	for (;;) {
		if (read(fd, &gen, sizeof(gen)) != sizeof(gen))
			die("read: %s", strerror(errno));
		/* A newer event in between: read it and confirm that one. */
		if (write(fd, &gen, sizeof(gen)) != sizeof(gen))
			continue;
		printf("@sgb confirmed gen=%u\n", gen);
	}
}

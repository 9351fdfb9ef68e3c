// SPDX-License-Identifier: GPL-2.0
/*
 * sgb-restore: the watcher of the VM restore benchmark. Blocks in read(),
 * confirms, and only then says so on stdout (the guest's results channel),
 * where the host times the line's arrival against the QMP "cont" that
 * resumed the clone. "@sgb ready" tells the host that it may save the VM.
 * One write() per line: other programs share the port.
 */
#include "bench.h"

int main(void)
{
	int fd = sg_open(O_RDWR);
	uint32_t gen;

	setvbuf(stdout, NULL, _IOLBF, 0);
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

// SPDX-License-Identifier: GPL-2.0
/*
 * vsock-listen PORT: an AF_VSOCK listener for host-ready.t, which tests
 * `sysgenid ready --vsock` inside the guest over vsock_loopback (CID 1):
 * the test host has no vhost-vsock. Prints "@v listening" once bound, then
 * for each connection what it sent, and "@v eof" at its end, one write()
 * per line; runs until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		exit(1);
}

int main(int argc, char **argv)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
	};
	char buf[256];
	int s, c;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	sa.svm_port = strtoul(argv[1], NULL, 10);
	s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s, 8)) {
		snprintf(buf, sizeof(buf), "@v error %s\n", strerror(errno));
		say(buf);
		return 1;
	}
	say("@v listening\n");
	for (;;) {
		c = accept(s, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write(STDOUT_FILENO, buf, n) != n)
				return 1;
		say("@v eof\n");
		close(c);
	}
}

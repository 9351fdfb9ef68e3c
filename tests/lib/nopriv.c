// SPDX-License-Identifier: GPL-2.0
/*
 * sg-nopriv CMD [ARG]...: run CMD as uid and gid 65534 (nobody), without
 * supplementary groups and so without any capability. busybox's setpriv
 * cannot change uids.
 */
#include <grp.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sg-nopriv CMD [ARG]...\n");
		return 2;
	}
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534)) {
		perror("sg-nopriv");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}

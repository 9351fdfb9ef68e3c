// SPDX-License-Identifier: GPL-2.0
/*
 * sg-after-open CMD [ARG]...: run CMD under ptrace and, the moment its
 * first open() of /dev/sysgenid with write access (a watcher) returns,
 * force one generation event, then let it run on untraced. Exits with
 * CMD's status (128 + N for a signal), 125 on a failure of its own.
 *
 * For tests of what a program does with an event that lands right after
 * it opened its watcher: deterministic, where a racing bumper is not.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __aarch64__
#include <elf.h>
#include <sys/uio.h>
#endif

#include "libsysgenid.h"

/*
 * At a system call's exit: its number and its return value. arm64 has no
 * open(2), only openat(2), and no PTRACE_GETREGS: its NT_PRSTATUS regset
 * holds the number in x8 and the return value in x0.
 */
#ifdef __aarch64__
static int call_exit(pid_t pid, long *nr, long *ret)
{
	struct user_regs_struct regs;	/* glibc: user_pt_regs */
	struct iovec iov = { &regs, sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov))
		return -1;
	*nr = regs.regs[8];
	*ret = regs.regs[0];
	return 0;
}

static int is_open(long nr)
{
	return nr == SYS_openat;
}
#else
static int call_exit(pid_t pid, long *nr, long *ret)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
		return -1;
	*nr = regs.orig_rax;
	*ret = regs.rax;
	return 0;
}

static int is_open(long nr)
{
	return nr == SYS_openat || nr == SYS_open;
}
#endif

/* Is fd of pid /dev/sysgenid, open for writing? */
static int is_watcher(pid_t pid, long fd)
{
	char path[64], link[64], line[128];
	unsigned int flags = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = '\0';
	if (strcmp(link, LIBSYSGENID_DEVICE))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%ld", pid, fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "flags: %o", &flags);
	fclose(f);
	return (flags & O_ACCMODE) != O_RDONLY;
}

static int bump(void)
{
	struct sysgenid *h;
	uint32_t gen;
	int err;

	err = sysgenid_open_probe(&h);
	if (err)
		return err;
	sysgenid_get(h, &gen);
	err = sysgenid_bump(h, gen);
	sysgenid_close(h);
	return err;
}

int main(int argc, char **argv)
{
	long nr, ret;
	int status, in_call = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: sg-after-open CMD [ARG]...\n");
		return 125;
	}
	pid = fork();
	if (pid < 0)
		return 125;
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		return 125;
	ptrace(PTRACE_SETOPTIONS, pid, NULL,
	       (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL))
			return 125;
		if (waitpid(pid, &status, 0) != pid)
			return 125;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			fprintf(stderr, "sg-after-open: no watcher opened\n");
			return 125;
		}
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;	/* exec's SIGTRAP: nothing to pass on */
		in_call = !in_call;
		if (in_call)
			continue;	/* at the entry: look at the exit */
		if (call_exit(pid, &nr, &ret) == 0 && is_open(nr) &&
		    ret >= 0 && is_watcher(pid, ret))
			break;
	}
	if (bump()) {
		fprintf(stderr, "sg-after-open: bump failed\n");
		kill(pid, SIGKILL);
		return 125;
	}
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
		128 + WTERMSIG(status);
}

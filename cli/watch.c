// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid(1): sysgenid watch, which prints, handles (--exec, --hooks) and
 * confirms each new generation.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define HOOK_TIMEOUT_MS		30000

/* sysgenid watch */

static const char watch_help[] =
	"Usage: sysgenid watch [--exec CMD] [--hooks DIR] [--hook-timeout MS]\n"
	"                      [--once] [--timeout MS]\n"
	"Print each new generation, handle it, then confirm it.\n"
	"  -e, --exec CMD          run CMD with /bin/sh -c\n"
	"  -d, --hooks DIR         then run DIR's executables in name order\n"
	"  -k, --hook-timeout MS   kill CMD or a hook after MS ms (default\n"
	"                          30000, 0: no limit)\n"
	"  -1, --once              exit after the first generation\n"
	"  -t, --timeout MS        exit 3 after MS ms without an event\n"
	"                          (0, the default: no limit)\n"
	"CMD and hooks get SYSGENID_GENERATION and SYSGENID_PREVIOUS in their\n"
	"environment. One that fails or times out is logged on stderr and the\n"
	"generation is still confirmed.\n";

struct watch {
	const char *exec;
	const char *hooks;
	int hook_timeout;
	uint32_t gen, prev;
};

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

/*
 * Runs argv in its own process group and waits for it at most timeout_ms
 * (0: no limit); on timeout kills the whole group. Logs any failure.
 */
static void run(const struct watch *w, const char *name, char *const argv[],
		bool out_to_err)
{
	char genv[16], prevv[16];
	int status, pidfd;
	pid_t pid;

	snprintf(genv, sizeof(genv), "%" PRIu32, w->gen);
	snprintf(prevv, sizeof(prevv), "%" PRIu32, w->prev);

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		msg("%s: fork: %s", name, strerror(errno));
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (null > STDIN_FILENO) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
		if (out_to_err)
			dup2(STDERR_FILENO, STDOUT_FILENO);
		setenv("SYSGENID_GENERATION", genv, 1);
		setenv("SYSGENID_PREVIOUS", prevv, 1);
		execv(argv[0], argv);
		msg("%s: %s", name, strerror(errno));
		_exit(127);
	}
	/* Both sides set the group: no window where a kill could miss it. */
	setpgid(pid, pid);

	pidfd = w->hook_timeout ? pidfd_open(pid) : -1;
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		int64_t deadline = now_ms() + w->hook_timeout;
		int64_t left;
		int n;

		do {
			left = deadline - now_ms();
			n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		} while (n < 0 && errno == EINTR);
		close(pidfd);
		if (n == 0) {
			kill(-pid, SIGKILL);
			msg("%s: killed after %d ms", name, w->hook_timeout);
		}
	} else if (w->hook_timeout) {
		msg("%s: pidfd_open: %s; waiting without a limit", name,
		    strerror(errno));
	}

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return;
	if (WIFEXITED(status) && WEXITSTATUS(status))
		msg("%s: exit status %d", name, WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		msg("%s: killed by signal %d", name, WTERMSIG(status));
}

/* Like run-parts: skip dot files, backups (~) and non-executables. */
static int hook_filter(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && d->d_name[len - 1] != '~';
}

static void run_hooks(const struct watch *w)
{
	struct dirent **names;
	int i, n;

	n = scandir(w->hooks, &names, hook_filter, alphasort);
	if (n < 0) {
		/* No hooks directory is no hook. */
		if (errno != ENOENT)
			msg("%s: %s", w->hooks, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		char path[PATH_MAX], label[PATH_MAX + 8];
		char *argv[] = { path, NULL };
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", w->hooks,
			 names[i]->d_name);
		if (!stat(path, &st) && S_ISREG(st.st_mode) &&
		    !access(path, X_OK)) {
			snprintf(label, sizeof(label), "hook %s", path);
			run(w, label, argv, true);
		}
		free(names[i]);
	}
	free(names);
}

int cmd_watch(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "exec", required_argument, NULL, 'e' },
		{ "hooks", required_argument, NULL, 'd' },
		{ "hook-timeout", required_argument, NULL, 'k' },
		{ "once", no_argument, NULL, '1' },
		{ "timeout", required_argument, NULL, 't' },
		{ }
	};
	const struct cmd_opts o = { watch_help, lo, ":he:d:k:1t:" };
	struct watch w = { .hook_timeout = HOOK_TIMEOUT_MS };
	unsigned long timeout = 0, v;
	struct sysgenid *h;
	bool once = false;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'e':
			w.exec = optarg;
			break;
		case 'd':
			w.hooks = optarg;
			break;
		case 'k':
			if (!parse_num(optarg, INT_MAX, &v))
				return usage_error("bad timeout '%s'", optarg);
			w.hook_timeout = v;
			break;
		case '1':
			once = true;
			break;
		case 't':
			if (!parse_num(optarg, INT_MAX, &timeout))
				return usage_error("bad timeout '%s'", optarg);
			break;
		default:
			return c - EXIT_NOW(0);
		}
	}

	if (open_handle(&h, true))
		return EXIT_ERROR;
	sysgenid_get(h, &w.prev);

	for (;;) {
		err = sysgenid_wait(h, timeout ? (int)timeout : -1, &w.gen);
		if (err == -ETIME) {
			msg("no generation event in %lu ms", timeout);
			sysgenid_close(h);
			return EXIT_TIMEOUT;
		}
		if (err) {
			sysgenid_close(h);
			return fail(err, NULL);
		}

		printf("%" PRIu32 "\n", w.gen);
		fflush(stdout);

		if (w.exec) {
			char *sh[] = { "/bin/sh", "-c", (char *)w.exec, NULL };

			run(&w, "exec", sh, false);
		}
		if (w.hooks)
			run_hooks(&w);

		/* -EINVAL: a newer event came; the next wait returns it. */
		err = sysgenid_confirm(h, w.gen);
		if (err && err != -EINVAL) {
			sysgenid_close(h);
			return fail(err, "confirm");
		}
		w.prev = w.gen;
		if (once && !err)
			break;
	}
	sysgenid_close(h);
	return EXIT_OK;
}

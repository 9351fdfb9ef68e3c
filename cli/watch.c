// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid(1): sysgenid watch, which prints, handles (--exec, --hooks) and
 * confirms each new generation.
 *
 * SIGTERM, SIGINT and SIGHUP arrive through a signalfd, polled with the
 * device and with the running hook: a hook runs in a process group of its
 * own, so the signal is forwarded to that group, the hook is reaped, and
 * only then does the command exit, by the same signal.
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
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define HOOK_TIMEOUT_MS		30000

/* sysgenid watch */

static const char watch_help[] =
	"Usage: sysgenid watch [--exec CMD] [--hooks DIR] [--hook-timeout MS]\n"
	"                      [--verbose] [--once] [--timeout MS]\n"
	"Print each new generation, handle it, then confirm it.\n"
	"  -e, --exec CMD          run CMD with /bin/sh -c\n"
	"  -d, --hooks DIR         then run DIR's executables in name order\n"
	"  -k, --hook-timeout MS   kill CMD or a hook after MS ms (default\n"
	"                          30000, 0: no limit)\n"
	"  -v, --verbose           log each CMD or hook that succeeded too\n"
	"  -1, --once              exit after the first generation\n"
	"  -t, --timeout MS        exit 3 after MS ms without an event\n"
	"                          (0, the default: no limit)\n"
	"CMD and hooks get SYSGENID_GENERATION and SYSGENID_PREVIOUS in their\n"
	"environment. One that fails or times out is logged on stderr and the\n"
	"generation is still confirmed. SIGTERM, SIGINT or SIGHUP is passed on\n"
	"to the running CMD or hook, which is waited for before exiting.\n";

struct watch {
	const char *exec;
	const char *hooks;
	int hook_timeout;
	bool verbose;
	uint32_t gen, prev;
	int sigfd;		/* -1: signals as usual */
	sigset_t oldmask;	/* what the hooks get */
	int stop;		/* the signal that stops the command, or 0 */
};

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

/*
 * Takes SIGTERM, SIGINT and SIGHUP through a signalfd, but leaves alone a
 * signal that was ignored when the command started (SIGINT for a
 * background job of a shell without job control): it stays ignored.
 */
static void catch_signals(struct watch *w)
{
	struct sigaction sa;
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (!sigaction(stop_signals[i], NULL, &sa) &&
		    sa.sa_handler != SIG_IGN)
			sigaddset(&set, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &set, &w->oldmask);
	w->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w->sigfd < 0) {
		msg("signalfd: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &w->oldmask, NULL);
	}
}

/* The pending stop signal, if any, into w->stop. */
static void take_signal(struct watch *w)
{
	struct signalfd_siginfo si;

	while (read(w->sigfd, &si, sizeof(si)) == sizeof(si))
		if (!w->stop)
			w->stop = si.ssi_signo;
}

/* Exits by w->stop, as the command would have without catching it. */
static void die_by_signal(const struct watch *w)
{
	sigset_t one;

	fflush(NULL);
	signal(w->stop, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, w->stop);
	raise(w->stop);			/* pending while blocked */
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	_exit(128 + w->stop);
}

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

/*
 * Waits for the child pid at most timeout_ms (0: no limit); on timeout
 * kills its whole group. A stop signal is forwarded to the group, and the
 * wait goes on (a second one kills the group). Returns whether the child
 * was killed for its timeout.
 */
static bool wait_child(struct watch *w, pid_t pid)
{
	struct pollfd pfd[2] = {
		{ .fd = pidfd_open(pid), .events = POLLIN },
		{ .fd = w->sigfd, .events = POLLIN },
	};
	int64_t deadline = now_ms() + w->hook_timeout;
	int left, n;

	if (pfd[0].fd < 0) {
		if (w->hook_timeout)
			msg("pidfd_open: %s; waiting without a limit",
			    strerror(errno));
		return false;	/* waitpid() will do */
	}
	for (;;) {
		left = -1;
		if (w->hook_timeout) {
			int64_t rest = deadline - now_ms();

			left = rest > 0 ? (int)rest : 0;
		}
		n = left ? poll(pfd, w->sigfd >= 0 ? 2 : 1, left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			kill(-pid, SIGKILL);
			close(pfd[0].fd);
			return true;
		}
		if (n < 0 || pfd[0].revents)
			break;
		if (pfd[1].revents) {
			int had = w->stop;

			take_signal(w);
			if (w->stop)
				kill(-pid, had ? SIGKILL : w->stop);
		}
	}
	close(pfd[0].fd);
	return false;
}

/*
 * Runs argv in its own process group and waits for it at most
 * w->hook_timeout (0: no limit); on timeout kills the whole group. Logs
 * any failure.
 */
static void run(struct watch *w, const char *name, char *const argv[],
		bool out_to_err)
{
	char genv[16], prevv[16];
	bool timed_out;
	int status;
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
		sigprocmask(SIG_SETMASK, &w->oldmask, NULL);
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

	timed_out = wait_child(w, pid);
	if (timed_out)
		msg("%s: killed after %d ms", name, w->hook_timeout);

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return;
	if (w->stop)
		return;		/* it was told to stop, and did */
	if (WIFEXITED(status) && WEXITSTATUS(status))
		msg("%s: exit status %d", name, WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		msg("%s: killed by signal %d", name, WTERMSIG(status));
	else if (w->verbose && !timed_out)
		msg("%s: done for generation %" PRIu32, name, w->gen);
}

/* Like run-parts: skip dot files, backups (~) and non-executables. */
static int hook_filter(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && d->d_name[len - 1] != '~';
}

static void run_hooks(struct watch *w)
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
		if (!w->stop && !stat(path, &st) && S_ISREG(st.st_mode) &&
		    !access(path, X_OK)) {
			snprintf(label, sizeof(label), "hook %s", path);
			run(w, label, argv, true);
		}
		free(names[i]);
	}
	free(names);
}

/*
 * The generation the watcher acknowledged when it was opened, from its
 * fdinfo: the counter read after open() would be the new generation if an
 * event came in between, and SYSGENID_PREVIOUS would equal
 * SYSGENID_GENERATION. Without /proc, the counter it is.
 */
static uint32_t acked_gen(const struct sysgenid *h)
{
	char path[64], line[128];
	unsigned long v;
	uint32_t gen;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", sysgenid_fd(h));
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "sysgenid-acked: %lu", &v) == 1) {
				fclose(f);
				return v;
			}
		}
		fclose(f);
	}
	sysgenid_get(h, &gen);
	return gen;
}

/*
 * Waits for an event, at most timeout_ms (0: no limit), or for a stop
 * signal (0 with w->stop set).
 */
static int wait_event(struct watch *w, struct sysgenid *h,
		      unsigned long timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = sysgenid_fd(h), .events = POLLIN },
		{ .fd = w->sigfd, .events = POLLIN },
	};
	int64_t deadline = now_ms() + timeout_ms;
	int err, left, n;

	for (;;) {
		err = sysgenid_wait(h, 0, &w->gen);
		if (err != -ETIME)
			return err;
		left = -1;
		if (timeout_ms) {
			int64_t rest = deadline - now_ms();

			if (rest <= 0)
				return -ETIME;
			left = rest;
		}
		n = poll(pfd, w->sigfd >= 0 ? 2 : 1, left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && pfd[1].revents) {
			take_signal(w);
			if (w->stop)
				return 0;
		}
	}
}

int cmd_watch(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "exec", required_argument, NULL, 'e' },
		{ "hooks", required_argument, NULL, 'd' },
		{ "hook-timeout", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "once", no_argument, NULL, '1' },
		{ "timeout", required_argument, NULL, 't' },
		{ }
	};
	const struct cmd_opts o = { watch_help, lo, ":he:d:k:v1t:" };
	struct watch w = { .hook_timeout = HOOK_TIMEOUT_MS, .sigfd = -1 };
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
		case 'v':
			w.verbose = true;
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

	catch_signals(&w);
	if (open_handle(&h, true))
		return EXIT_ERROR;
	w.prev = acked_gen(h);

	for (;;) {
		err = wait_event(&w, h, timeout);
		if (w.stop)
			break;
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
		if (w.hooks && !w.stop)
			run_hooks(&w);
		if (w.stop)
			break;

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
	if (w.stop)
		die_by_signal(&w);
	return EXIT_OK;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid: the system generation counter from the shell, on libsysgenid.
 * docs/sysgenid.1 is the manual; the exit codes are below.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsysgenid.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_TIMEOUT = 3,
};

#define SYSFS_DIR		"/sys/class/misc/sysgenid"
#define HOOK_TIMEOUT_MS		30000

static const char *cmd = "";	/* the running command, for messages */

static void msg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* One line on stderr: "sysgenid: CMD: what". */
static void msg(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sysgenid: %s%s%s\n", cmd, *cmd ? ": " : "", line);
}

static int fail(int err, const char *what)
{
	msg("%s%s%s", what ? what : "", what ? ": " : "", strerror(-err));
	return EXIT_ERROR;
}

static int usage_error(const char *fmt, const char *arg)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, arg);
	msg("%s (see 'sysgenid %s%s--help')", what, cmd, *cmd ? " " : "");
	return EXIT_USAGE;
}

/* A decimal or 0x-prefixed number within [0, max]. */
static bool parse_num(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static int open_handle(struct sysgenid **h, bool watcher)
{
	int err = watcher ? sysgenid_open(h) : sysgenid_open_probe(h);

	return err ? fail(err, LIBSYSGENID_DEVICE) : 0;
}

/* A command's options; every command has -h, --help and no operand. */
struct cmd_opts {
	const char *help;
	const struct option *longopts;
	const char *shortopts;
};

/*
 * The next option of a command: its value, -1 when done, or 256 + the exit
 * status when the command must stop here (--help, a usage error).
 */
#define EXIT_NOW(status)	(256 + (status))

static int next_opt(int argc, char **argv, const struct cmd_opts *o)
{
	int c = getopt_long(argc, argv, o->shortopts, o->longopts, NULL);

	switch (c) {
	case -1:
		if (optind == argc)
			return -1;
		c = usage_error("unexpected argument '%s'", argv[optind]);
		break;
	case 'h':
		fputs(o->help, stdout);
		c = EXIT_OK;
		break;
	case '?':
		c = usage_error("bad option '%s'", argv[optind - 1]);
		break;
	case ':':
		c = usage_error("option '%s' needs a value", argv[optind - 1]);
		break;
	default:
		return c;
	}
	return EXIT_NOW(c);
}

/* sysgenid get */

static const char get_help[] =
	"Usage: sysgenid get\n"
	"Print the current generation.\n";

static int cmd_get(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const struct cmd_opts o = { get_help, lo, ":h" };
	struct sysgenid *h;
	uint32_t gen;
	int c;

	c = next_opt(argc, argv, &o);
	if (c != -1)
		return c - EXIT_NOW(0);
	if (open_handle(&h, false))
		return EXIT_ERROR;
	sysgenid_get(h, &gen);
	sysgenid_close(h);
	printf("%" PRIu32 "\n", gen);
	return EXIT_OK;
}

/* sysgenid status */

static const char status_help[] =
	"Usage: sysgenid status [--json]\n"
	"Print the generation, the number of watchers and of outdated\n"
	"watchers.\n"
	"  -j, --json    one JSON object\n";

/* One sysfs attribute: a decimal number and a newline. */
static int read_attr(const char *name, long long *val)
{
	char path[128], buf[32];
	ssize_t n;
	char *end;
	int fd;

	snprintf(path, sizeof(path), SYSFS_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	errno = 0;
	*val = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EPROTO;
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ }
	};
	const struct cmd_opts o = { status_help, lo, ":hj" };
	long long gen, watchers = -1, outdated;
	bool json = false;
	char wbuf[24];
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		json = true;
	}

	err = read_attr("generation", &gen);
	if (!err)
		err = read_attr("watchers", &watchers);
	if (!err)
		err = read_attr("outdated_watchers", &outdated);
	if (err == -ENOENT) {
		/* No sysfs: the device tells all but the watcher count. */
		struct sysgenid *h;
		uint32_t g;

		if (open_handle(&h, false))
			return EXIT_ERROR;
		sysgenid_get(h, &g);
		gen = g;
		watchers = -1;
		outdated = sysgenid_outdated_watchers(h);
		sysgenid_close(h);
		if (outdated < 0)
			return fail(outdated, "outdated watchers");
	} else if (err) {
		return fail(err, SYSFS_DIR);
	}

	if (watchers < 0)
		strcpy(wbuf, json ? "null" : "unknown");
	else
		snprintf(wbuf, sizeof(wbuf), "%lld", watchers);
	if (json)
		printf("{\"generation\": %lld, \"watchers\": %s, "
		       "\"outdated_watchers\": %lld}\n", gen, wbuf, outdated);
	else
		printf("generation: %lld\nwatchers: %s\n"
		       "outdated watchers: %lld\n", gen, wbuf, outdated);
	return EXIT_OK;
}

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

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static int cmd_watch(int argc, char **argv)
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

/* sysgenid wait-watchers */

static const char wait_watchers_help[] =
	"Usage: sysgenid wait-watchers [--timeout MS]\n"
	"Wait until every watcher has confirmed the current generation.\n"
	"  -t, --timeout MS   exit 3 after MS ms (0, the default: no limit)\n";

static int cmd_wait_watchers(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 't' },
		{ }
	};
	const struct cmd_opts o = { wait_watchers_help, lo, ":ht:" };
	unsigned long timeout = 0;
	struct sysgenid *h;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		if (!parse_num(optarg, UINT32_MAX, &timeout))
			return usage_error("bad timeout '%s'", optarg);
	}

	/* A probe: it is no watcher, so it never waits for itself. */
	if (open_handle(&h, false))
		return EXIT_ERROR;
	err = sysgenid_wait_watchers(h, timeout);
	sysgenid_close(h);
	if (err == -ETIME) {
		msg("%s", strerror(ETIME));
		return EXIT_TIMEOUT;
	}
	return err ? fail(err, NULL) : EXIT_OK;
}

/* sysgenid bump */

static const char bump_help[] =
	"Usage: sysgenid bump [--min N]\n"
	"Force a generation event and print the new generation. Needs\n"
	"CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN.\n"
	"  -m, --min N   move to N if N is ahead of the current generation,\n"
	"                else by one (the default)\n";

static int cmd_bump(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "min", required_argument, NULL, 'm' },
		{ }
	};
	const struct cmd_opts o = { bump_help, lo, ":hm:" };
	unsigned long min = 0;
	bool has_min = false;
	struct sysgenid *h;
	uint32_t gen;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		if (c >= EXIT_NOW(0))
			return c - EXIT_NOW(0);
		if (!parse_num(optarg, UINT32_MAX, &min))
			return usage_error("bad generation '%s'", optarg);
		has_min = true;
	}

	if (open_handle(&h, false))
		return EXIT_ERROR;
	/* The current generation is never ahead of itself: one step. */
	if (!has_min) {
		sysgenid_get(h, &gen);
		min = gen;
	}
	err = sysgenid_bump(h, min);
	/* The page shows the new value before the update returns. */
	sysgenid_get(h, &gen);
	sysgenid_close(h);
	if (err)
		return fail(err, NULL);
	printf("%" PRIu32 "\n", gen);
	return EXIT_OK;
}

/* sysgenid laggards */

static const char laggards_help[] =
	"Usage: sysgenid laggards\n"
	"List the outdated tracked watchers that hold up wait-watchers, one\n"
	"a line: PID FD COMMAND.\n";

/* Is fd's fdinfo showing "sysgenid-tracked: 1" and "sysgenid-outdated: 1"? */
static bool is_laggard(const char *pid, const char *fd)
{
	bool tracked = false, outdated = false;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "sysgenid-tracked: 1\n"))
			tracked = true;
		else if (!strcmp(line, "sysgenid-outdated: 1\n"))
			outdated = true;
	}
	fclose(f);
	return tracked && outdated;
}

static void comm_of(const char *pid, char *comm, size_t size)
{
	char path[64];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	f = fopen(path, "re");
	if (f) {
		n = fread(comm, 1, size - 1, f);
		fclose(f);
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static bool is_pid(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static int cmd_laggards(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const struct cmd_opts o = { laggards_help, lo, ":h" };
	struct dirent *p, *f;
	DIR *proc, *fds;
	int c;

	c = next_opt(argc, argv, &o);
	if (c != -1)
		return c - EXIT_NOW(0);

	proc = opendir("/proc");
	if (!proc)
		return fail(-errno, "/proc");
	while ((p = readdir(proc))) {
		char path[300], link[64], comm[32];
		ssize_t n;

		if (!is_pid(p->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;	/* gone, or not ours to see */
		while ((f = readdir(fds))) {
			if (!is_pid(f->d_name))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
				 p->d_name, f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n < 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, LIBSYSGENID_DEVICE) ||
			    !is_laggard(p->d_name, f->d_name))
				continue;
			comm_of(p->d_name, comm, sizeof(comm));
			printf("%s %s %s\n", p->d_name, f->d_name, comm);
		}
		closedir(fds);
	}
	closedir(proc);
	return EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "get", cmd_get },
	{ "status", cmd_status },
	{ "watch", cmd_watch },
	{ "wait-watchers", cmd_wait_watchers },
	{ "bump", cmd_bump },
	{ "laggards", cmd_laggards },
};

static const char main_help[] =
	"Usage: sysgenid COMMAND [OPTION]...\n"
	"       sysgenid --help | --version\n"
	"The system generation counter, /dev/sysgenid.\n"
	"\n"
	"Commands:\n"
	"  get            print the current generation\n"
	"  status         generation, watchers, outdated watchers\n"
	"  watch          print, handle and confirm each new generation\n"
	"  wait-watchers  wait until every watcher is up to date\n"
	"  bump           force a generation event (privileged)\n"
	"  laggards       list the outdated watchers\n"
	"\n"
	"'sysgenid COMMAND --help' describes a command. Exit status: 0 ok,\n"
	"1 error, 2 usage error, 3 timeout.\n";

int main(int argc, char **argv)
{
	size_t i;

	opterr = 0;	/* usage_error() words the messages */
	if (argc < 2)
		return usage_error("%s", "missing command");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(main_help, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("sysgenid %s\n", VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			cmd = commands[i].name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	return usage_error("unknown command '%s'", argv[1]);
}

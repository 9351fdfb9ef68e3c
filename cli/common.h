/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sysgenid(1): what the commands share. Each command group has a file of
 * its own: query.c (get, status, laggards, sync), watch.c (watch and its
 * hooks), orchestrate.c (wait-watchers, bump), ready.c (ready); main.c
 * dispatches.
 */
#ifndef SYSGENID_CLI_COMMON_H
#define SYSGENID_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "libsysgenid.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

/* The exit codes. */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_TIMEOUT = 3,
};

#define SYSFS_DIR		"/sys/class/misc/sysgenid"

/* The running command, for messages. */
extern const char *cmd;

/* One line on stderr: "sysgenid: CMD: what". */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Says "WHAT: strerror(-err)" and returns EXIT_ERROR. */
int fail(int err, const char *what);
/* Says what is wrong with the command line and returns EXIT_USAGE. */
int usage_error(const char *fmt, const char *arg);
/* A decimal or 0x-prefixed number within [0, max]: sysgenid(1). */
bool parse_num(const char *s, unsigned long max, unsigned long *out);
/* Opens a watcher or a probe; on failure says so and returns EXIT_ERROR. */
int open_handle(struct sysgenid **h, bool watcher);
int64_t now_ms(void);

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
int next_opt(int argc, char **argv, const struct cmd_opts *o);

/* The commands: argv[0] is the command's name. */
int cmd_get(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_laggards(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_wait_watchers(int argc, char **argv);
int cmd_bump(int argc, char **argv);
int cmd_ready(int argc, char **argv);

#endif /* SYSGENID_CLI_COMMON_H */

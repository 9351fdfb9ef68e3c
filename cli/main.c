// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid: the system generation counter from the shell, on libsysgenid.
 * docs/sysgenid.1 is the manual; common.h has the exit codes.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "get", cmd_get },
	{ "status", cmd_status },
	{ "sync", cmd_sync },
	{ "watch", cmd_watch },
	{ "wait-watchers", cmd_wait_watchers },
	{ "bump", cmd_bump },
	{ "laggards", cmd_laggards },
	{ "ready", cmd_ready },
};

static const char main_help[] =
	"Usage: sysgenid COMMAND [OPTION]...\n"
	"       sysgenid --help | --version\n"
	"The system generation counter, /dev/sysgenid.\n"
	"\n"
	"Commands:\n"
	"  get            print the current generation\n"
	"  status         generation, watchers, outdated watchers, protection\n"
	"  sync           catch up with the hypervisor's VM generation ID\n"
	"  watch          print, handle and confirm each new generation\n"
	"  wait-watchers  wait until every watcher is up to date\n"
	"  bump           force a generation event (privileged)\n"
	"  laggards       list the outdated watchers\n"
	"  ready          tell the host when the watchers caught up\n"
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

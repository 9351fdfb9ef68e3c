// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid(1): messages, option and number parsing, opening the device.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

const char *cmd = "";

void msg(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sysgenid: %s%s%s\n", cmd, *cmd ? ": " : "", line);
}

int fail(int err, const char *what)
{
	msg("%s%s%s", what ? what : "", what ? ": " : "", strerror(-err));
	return EXIT_ERROR;
}

int usage_error(const char *fmt, const char *arg)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, arg);
	msg("%s (see 'sysgenid %s%s--help')", what, cmd, *cmd ? " " : "");
	return EXIT_USAGE;
}

/*
 * Decimal, or hexadecimal after 0x or 0X: never octal, so that 010 is ten
 * (strtoul()'s base 0 would read it as eight). No sign, no blanks.
 */
bool parse_num(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
		if (!isxdigit((unsigned char)*s))
			return false;
	} else if (!isdigit((unsigned char)*s)) {
		return false;
	}
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

int open_handle(struct sysgenid **h, bool watcher)
{
	int err = watcher ? sysgenid_open(h) : sysgenid_open_probe(h);

	return err ? fail(err, LIBSYSGENID_DEVICE) : 0;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int next_opt(int argc, char **argv, const struct cmd_opts *o)
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

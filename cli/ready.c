// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid(1): sysgenid ready, which tells the host when the guest has
 * caught up with a generation: after every event, once no tracked watcher
 * is outdated, one line "ready GENERATION" over a virtio-serial port and,
 * where the guest has one, an AF_VSOCK connection.
 *
 * It watches through a probe (a read-only file), so that it is never a
 * watcher itself and never waits for itself. A probe stays outdated after
 * its first event, so it is opened again after each one: the new file
 * acknowledges the generation current at its open.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "common.h"

#define READY_PORT		"/dev/virtio-ports/org.sysgenid.ready"
#define READY_VSOCK_CID		VMADDR_CID_HOST
#define READY_VSOCK_PORT	5999
/* How long a wait lasts before it says, once, how many hold it up. */
#define READY_WARN_MS		30000

static const char ready_help[] =
	"Usage: sysgenid ready [--port PATH] [--vsock[=CID:PORT]]\n"
	"Tell the host \"ready GENERATION\" at start and after every event,\n"
	"once no watcher is outdated; runs until killed.\n"
	"  -p, --port PATH        the virtio-serial port (default\n"
	"                         " READY_PORT ")\n"
	"  -v, --vsock[=CID:PORT] also connect to AF_VSOCK CID:PORT (default\n"
	"                         2:5999, the host) for each line; a missing\n"
	"                         port is then no error\n"
	"Each line is also printed on stdout once sent.\n";

struct ready {
	const char *port;
	int fd;			/* the port, or -1 */
	bool vsock;		/* still to be tried */
	unsigned int cid, vport;
};

/* CID:PORT, CID: or :PORT; an empty part keeps its default. */
static bool parse_vsock(const char *s, struct ready *r)
{
	const char *colon = strchr(s, ':');
	char cid[16];
	unsigned long v;
	size_t n;

	if (!colon)
		return false;
	n = colon - s;
	if (n >= sizeof(cid))
		return false;
	memcpy(cid, s, n);
	cid[n] = '\0';
	if (n) {
		if (!parse_num(cid, UINT32_MAX, &v))
			return false;
		r->cid = v;
	}
	if (colon[1]) {
		if (!parse_num(colon + 1, UINT32_MAX, &v))
			return false;
		r->vport = v;
	}
	return true;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * One connection per line: a connection made before a snapshot does not
 * survive the restore (the transport is reset), and the host end of a
 * clone is a new listener. No listener is no error: the next line tries
 * again. No AF_VSOCK, or no transport, is said once, and vsock is off.
 */
static void send_vsock(struct ready *r, const char *line, size_t len)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = r->cid,
		.svm_port = r->vport,
	};
	int s, err;

	s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		err = errno;
		if (err == EAFNOSUPPORT || err == ENODEV) {
			msg("no AF_VSOCK here (%s): %s", strerror(err),
			    r->fd >= 0 ? "the serial port only" :
			    "nowhere to report");
			r->vsock = false;
		} else {
			msg("vsock socket: %s", strerror(err));
		}
		return;
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		if (err == ENODEV || err == ENETUNREACH || err == EAFNOSUPPORT) {
			msg("no vsock transport to CID %u (%s): %s", r->cid,
			    strerror(err), r->fd >= 0 ? "the serial port only" :
			    "nowhere to report");
			r->vsock = false;
		} else {
			msg("vsock %u:%u: connect: %s", r->cid, r->vport,
			    strerror(err));
		}
		close(s);
		return;
	}
	err = write_all(s, line, len);
	if (err)
		msg("vsock %u:%u: write: %s", r->cid, r->vport, strerror(-err));
	close(s);
}

static int send_line(struct ready *r, uint32_t gen)
{
	char line[32];
	int len, err;

	len = snprintf(line, sizeof(line), "ready %" PRIu32 "\n", gen);
	if (r->fd >= 0) {
		/* Blocks while the host end is closed: the line waits. */
		err = write_all(r->fd, line, len);
		if (err)
			return fail(err, r->port);
	}
	if (r->vsock)
		send_vsock(r, line, len);
	if (r->fd < 0 && !r->vsock) {
		msg("%s", "no port and no vsock left to report to");
		return EXIT_ERROR;
	}
	fputs(line, stdout);
	fflush(stdout);
	return EXIT_OK;
}

/*
 * Waits until no watcher is outdated at one generation and returns it in
 * gen: a generation that moved during the wait is waited for again, so
 * that the one reported is the one the watchers caught up with.
 */
static int wait_ready(const struct sysgenid *h, uint32_t *gen)
{
	uint32_t before, after;
	bool warned = false;
	int err;

	for (;;) {
		sysgenid_get(h, &before);
		err = sysgenid_wait_watchers(h, READY_WARN_MS);
		if (err == -ETIME) {
			if (!warned)
				msg("generation %u: %d watcher(s) still outdated after %d ms",
				    (unsigned int)before,
				    sysgenid_outdated_watchers(h), READY_WARN_MS);
			warned = true;
			continue;
		}
		/* A probe is no watcher: -EINTR is a signal. */
		if (err == -EINTR)
			continue;
		if (err)
			return fail(err, "wait for watchers");
		sysgenid_get(h, &after);
		if (after == before)
			break;
	}
	*gen = after;
	return EXIT_OK;
}

int cmd_ready(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "vsock", optional_argument, NULL, 'v' },
		{ }
	};
	const struct cmd_opts o = { ready_help, lo, ":hp:v::" };
	struct ready r = {
		.port = READY_PORT, .fd = -1,
		.cid = READY_VSOCK_CID, .vport = READY_VSOCK_PORT,
	};
	struct sysgenid *h;
	uint32_t gen, reported;
	int c, err;

	while ((c = next_opt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'p':
			r.port = optarg;
			break;
		case 'v':
			r.vsock = true;
			if (optarg && !parse_vsock(optarg, &r))
				return usage_error("bad vsock address '%s' (CID:PORT)",
						   optarg);
			break;
		default:
			return c - EXIT_NOW(0);
		}
	}

	r.fd = open(r.port, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (r.fd < 0) {
		err = errno;
		if (!r.vsock || err != ENOENT) {
			msg("%s: %s", r.port, strerror(err));
			return EXIT_ERROR;
		}
		msg("%s: %s: vsock only", r.port, strerror(err));
	}

	if (open_handle(&h, false))
		return EXIT_ERROR;
	/* Once at start: the host learns that the service is up. */
	err = wait_ready(h, &gen);
	if (!err)
		err = send_line(&r, gen);
	reported = gen;

	while (!err) {
		/* A fresh probe acknowledges the current generation. */
		sysgenid_close(h);
		if (open_handle(&h, false))
			return EXIT_ERROR;
		sysgenid_get(h, &gen);
		while (gen == reported) {
			err = sysgenid_wait(h, -1, &gen);
			if (err == -EINTR)
				continue;
			if (err) {
				sysgenid_close(h);
				return fail(err, "wait for an event");
			}
		}
		err = wait_ready(h, &gen);
		if (!err && gen != reported) {
			err = send_line(&r, gen);
			reported = gen;
		}
	}
	sysgenid_close(h);
	return err;
}

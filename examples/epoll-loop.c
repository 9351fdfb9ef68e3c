// SPDX-License-Identifier: GPL-2.0
/*
 * Workflow 2: an event loop. The sysgenid descriptor sits in epoll beside
 * the application's other descriptors (here: standard input) and becomes
 * readable when the generation changes.
 *
 * Usage: sysgenid-epoll-loop < INPUT
 * Echoes each input line as "input: LINE", handles each generation as
 * "generation N: handled", and exits at the end of input.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <libsysgenid.h>

static int handle_sysgenid(struct sysgenid *h)
{
	uint32_t gen;
	int err;

	/* Readable: the wait returns at once with the new generation. */
	err = sysgenid_wait(h, 0, &gen);
	if (err)
		return err == -ETIME ? 0 : err;	/* spurious wakeup */

	printf("generation %u: handled\n", gen);	/* rebuild the world */
	fflush(stdout);

	err = sysgenid_confirm(h, gen);
	return err == -EINVAL ? 0 : err;	/* stale: readable again */
}

/* Returns 0 at the end of input. */
static int handle_input(void)
{
	char buf[256], *line, *save;
	ssize_t n;

	/* read(), not stdio: epoll knows nothing of stdio's buffer. */
	n = read(STDIN_FILENO, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("input: %s\n", line);
	fflush(stdout);
	return 1;
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, events[8];
	struct sysgenid *h;
	int epfd, err, i, n;

	err = sysgenid_open(&h);
	if (err) {
		fprintf(stderr, "epoll-loop: %s: %s\n", LIBSYSGENID_DEVICE,
			strerror(-err));
		return 1;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = sysgenid_fd(h);
	epoll_ctl(epfd, EPOLL_CTL_ADD, sysgenid_fd(h), &ev);
	ev.data.fd = STDIN_FILENO;
	epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev);

	for (;;) {
		n = epoll_wait(epfd, events, 8, -1);
		if (n < 0) {
			perror("epoll-loop: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			if (events[i].data.fd == sysgenid_fd(h)) {
				err = handle_sysgenid(h);
				if (err) {
					fprintf(stderr, "epoll-loop: %s\n",
						strerror(-err));
					goto out;
				}
			} else if (!handle_input()) {
				goto out;
			}
		}
	}
out:
	close(epfd);
	sysgenid_close(h);
	return err ? 1 : 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsysgenid: a thin, exact layer over /dev/sysgenid.
 * libsysgenid.h documents every call.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/sysgenid.h>

#include "libsysgenid.h"

struct sysgenid {
	int fd;
	const volatile uint32_t *map;
};

static int open_flags(struct sysgenid **out, int flags)
{
	struct sysgenid *h;
	void *map;
	int err;

	h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;

	h->fd = open(LIBSYSGENID_DEVICE, flags | O_CLOEXEC | O_NONBLOCK);
	if (h->fd < 0) {
		err = -errno;
		goto fail;
	}

	map = mmap(NULL, SYSGENID_GEN_SIZE, PROT_READ, MAP_SHARED, h->fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		close(h->fd);
		goto fail;
	}
	h->map = map;

	*out = h;
	return 0;

fail:
	free(h);
	return err;
}

int sysgenid_open(struct sysgenid **out)
{
	return open_flags(out, O_RDWR);
}

int sysgenid_open_probe(struct sysgenid **out)
{
	return open_flags(out, O_RDONLY);
}

void sysgenid_close(struct sysgenid *h)
{
	if (!h)
		return;

	/* Unmap first: the mapping holds the file, and so the watcher. */
	munmap((void *)h->map, SYSGENID_GEN_SIZE);
	close(h->fd);
	free(h);
}

int sysgenid_fd(const struct sysgenid *h)
{
	return h->fd;
}

const volatile uint32_t *sysgenid_map(const struct sysgenid *h)
{
	return h->map;
}

int sysgenid_get(const struct sysgenid *h, uint32_t *gen)
{
	*gen = sysgenid_peek(h->map);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sysgenid_wait(const struct sysgenid *h, int timeout_ms, uint32_t *gen)
{
	struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int left = timeout_ms;
	uint32_t val;
	ssize_t n;

	for (;;) {
		n = read(h->fd, &val, sizeof(val));
		if (n == sizeof(val)) {
			*gen = val;
			return 0;
		}
		if (n >= 0)
			return -EIO;	/* the device never reads short */
		/*
		 * EAGAIN: up to date. Also after poll() said otherwise, when
		 * another user of the same file confirmed in between.
		 */
		if (errno != EAGAIN)
			return -errno;

		if (timeout_ms > 0) {
			int64_t rest = deadline - now_ms();

			left = rest > 0 ? (int)rest : 0;
		}
		if (left == 0)
			return -ETIME;

		n = poll(&pfd, 1, left);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIME;
	}
}

int sysgenid_confirm(const struct sysgenid *h, uint32_t gen)
{
	ssize_t n = write(h->fd, &gen, sizeof(gen));

	if (n < 0)
		return -errno;
	return n == sizeof(gen) ? 0 : -EIO;
}

/* The ioctls take their argument by value and return their result. */
static int sysgenid_ioctl(const struct sysgenid *h, unsigned long cmd,
			  unsigned long arg)
{
	int ret = ioctl(h->fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

int sysgenid_outdated_watchers(const struct sysgenid *h)
{
	return sysgenid_ioctl(h, SYSGENID_GET_OUTDATED_WATCHERS, 0);
}

int sysgenid_wait_watchers(const struct sysgenid *h, uint32_t timeout_ms)
{
	return sysgenid_ioctl(h, SYSGENID_WAIT_WATCHERS, timeout_ms);
}

int sysgenid_bump(const struct sysgenid *h, uint32_t min)
{
	return sysgenid_ioctl(h, SYSGENID_FORCE_GEN_UPDATE, min);
}

int sysgenid_set_tracking(const struct sysgenid *h, bool track)
{
	return sysgenid_ioctl(h, SYSGENID_SET_WATCHER_TRACKING, track);
}

int sysgenid_supported(void)
{
	int fd = open(LIBSYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		/* No node, or a node whose driver is gone. */
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
			return 0;
		return -errno;
	}
	close(fd);
	return 1;
}

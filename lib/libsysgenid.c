// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsysgenid: a thin, exact layer over /dev/sysgenid.
 * libsysgenid.h documents every call.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/sysgenid.h>

#include "libsysgenid.h"

struct sysgenid {
	int fd;
	/* The page of mmap() offset 0: the generation, the ID it stands for. */
	const volatile struct sysgenid_page *page;
	/* The hypervisor's ID, in its own page; NULL when not mapped. */
	const volatile unsigned char *vmgenid;
	const volatile void *vmgenid_page;
	size_t page_size;
};

/*
 * The mappings come from a read-only open of their own, never from a
 * watcher's file: a mapping holds its file, and a child that inherits it
 * (fork()) would keep the watcher alive, and outdated, after the owner
 * closed it or exited.
 */
static int map_pages(struct sysgenid *h, int flags, int pidns_fd)
{
	void *map;
	int fd, err;

	fd = (flags & O_ACCMODE) == O_RDONLY ? h->fd :
		open(LIBSYSGENID_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* The mapping's file in the same scope as the handle's. */
	if (fd != h->fd && pidns_fd >= 0 &&
	    ioctl(fd, SYSGENID_SET_SCOPE, pidns_fd)) {
		err = -errno;
		goto out;
	}

	map = mmap(NULL, h->page_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	h->page = map;

	/*
	 * ENODEV: no ID page (none that the hypervisor dedicates to the ID,
	 * or turned off); EINVAL: a module older than the ID page. The
	 * checks then fall back to the counter (and SYSGENID_SYNC_GEN).
	 */
	err = 0;
	map = mmap(NULL, h->page_size, PROT_READ, MAP_SHARED, fd,
		   SYSGENID_VMGENID_PGOFF * h->page_size);
	if (map != MAP_FAILED) {
		uint32_t off = h->page->vmgenid_offset;

		if (off && off <= h->page_size - SYSGENID_VMGENID_SIZE) {
			h->vmgenid_page = map;
			h->vmgenid = (const volatile unsigned char *)map + off;
		} else {
			munmap(map, h->page_size);
		}
	} else if (errno != ENODEV && errno != EINVAL) {
		err = -errno;
		munmap((void *)h->page, h->page_size);
	}
out:
	if (fd != h->fd)
		close(fd);
	return err;
}

/* pidns_fd: a pid namespace whose scope the handle binds to, or -1. */
static int open_flags(struct sysgenid **out, int flags, int pidns_fd)
{
	struct sysgenid *h;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->page_size = sysconf(_SC_PAGESIZE);

	h->fd = open(LIBSYSGENID_DEVICE, flags | O_CLOEXEC | O_NONBLOCK);
	if (h->fd < 0) {
		err = -errno;
		goto fail;
	}

	if (pidns_fd >= 0 && ioctl(h->fd, SYSGENID_SET_SCOPE, pidns_fd)) {
		err = -errno;
		close(h->fd);
		goto fail;
	}

	err = map_pages(h, flags, pidns_fd);
	if (err) {
		close(h->fd);
		goto fail;
	}

	*out = h;
	return 0;

fail:
	free(h);
	return err;
}

int sysgenid_open(struct sysgenid **out)
{
	return open_flags(out, O_RDWR, -1);
}

int sysgenid_open_probe(struct sysgenid **out)
{
	return open_flags(out, O_RDONLY, -1);
}

int sysgenid_open_scope(struct sysgenid **out, int pidns_fd)
{
	if (pidns_fd < 0)
		return -EBADF;
	return open_flags(out, O_RDONLY, pidns_fd);
}

void sysgenid_close(struct sysgenid *h)
{
	if (!h)
		return;

	if (h->vmgenid_page)
		munmap((void *)h->vmgenid_page, h->page_size);
	munmap((void *)h->page, h->page_size);
	close(h->fd);
	free(h);
}

int sysgenid_fd(const struct sysgenid *h)
{
	return h->fd;
}

const volatile uint32_t *sysgenid_map(const struct sysgenid *h)
{
	return &h->page->generation;
}

int sysgenid_get(const struct sysgenid *h, uint32_t *gen)
{
	*gen = sysgenid_peek(&h->page->generation);
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

/*
 * sysgenid_wait_watchers@LIBSYSGENID_1, for programs built against 1.0:
 * 0 waits without a limit, as the ioctl's argument.
 */
int sysgenid_wait_watchers_v1(const struct sysgenid *h, uint32_t timeout_ms);
int sysgenid_wait_watchers_v1(const struct sysgenid *h, uint32_t timeout_ms)
{
	return sysgenid_ioctl(h, SYSGENID_WAIT_WATCHERS, timeout_ms);
}
__asm__(".symver sysgenid_wait_watchers_v1,sysgenid_wait_watchers@LIBSYSGENID_1");

/* From 1.1 on, @timeout_ms means what it means for sysgenid_wait(). */
int sysgenid_wait_watchers_v1_1(const struct sysgenid *h, int timeout_ms);
int sysgenid_wait_watchers_v1_1(const struct sysgenid *h, int timeout_ms)
{
	int ret;

	if (timeout_ms < 0)
		return sysgenid_ioctl(h, SYSGENID_WAIT_WATCHERS, 0);
	if (timeout_ms > 0)
		return sysgenid_ioctl(h, SYSGENID_WAIT_WATCHERS, timeout_ms);

	/*
	 * 0: no waiting. Nobody outdated is success at once; otherwise the
	 * kernel's shortest wait tells an outdated caller (-EINTR, at once)
	 * from a laggard elsewhere (-ETIME).
	 */
	ret = sysgenid_outdated_watchers(h);
	if (ret <= 0)
		return ret;
	return sysgenid_ioctl(h, SYSGENID_WAIT_WATCHERS, 1);
}
__asm__(".symver sysgenid_wait_watchers_v1_1,sysgenid_wait_watchers@@LIBSYSGENID_1.1");

int sysgenid_bump(const struct sysgenid *h, uint32_t min)
{
	return sysgenid_ioctl(h, SYSGENID_FORCE_GEN_UPDATE, min);
}

int sysgenid_bump_scope(const struct sysgenid *h)
{
	return sysgenid_ioctl(h, SYSGENID_BUMP_SCOPE, 0);
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

int sysgenid_sync(const struct sysgenid *h, uint32_t *gen)
{
	uint32_t val;

	if (ioctl(h->fd, SYSGENID_SYNC_GEN, &val) < 0)
		return -errno;
	*gen = val;
	return 0;
}

/*
 * The hypervisor's ID differs from the one the generation stands for?
 * Both are 16 bytes; the ID page's never changes while the guest runs.
 */
static bool vmgenid_moved(const struct sysgenid *h, const uint64_t acted[2])
{
	uint64_t hv[2];

	memcpy(hv, (const void *)h->vmgenid, sizeof(hv));
	return (hv[0] ^ acted[0]) | (hv[1] ^ acted[1]);
}

int sysgenid_check(const struct sysgenid *h, uint32_t cached, uint32_t *gen)
{
	uint64_t acted[2];
	uint32_t cur;
	int err;

	if (!h->vmgenid) {
		cur = sysgenid_peek(&h->page->generation);
	} else {
		/*
		 * The ID the generation stands for, then the generation: the
		 * kernel writes them in the other order, so a generation read
		 * after a matching ID is never older than that ID's event.
		 */
		memcpy(acted, (const void *)h->page->vmgenid, sizeof(acted));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		cur = sysgenid_peek(&h->page->generation);
		if (vmgenid_moved(h, acted)) {
			/* A clone the kernel has not heard of yet: tell it. */
			err = sysgenid_sync(h, &cur);
			if (err)
				return err;
		}
	}
	*gen = cur;
	return cur != cached;
}

int sysgenid_check_sync(const struct sysgenid *h, uint32_t cached,
			uint32_t *gen)
{
	uint32_t cur;
	int err;

	err = sysgenid_sync(h, &cur);
	/* ENODEV: no ID device; ENOTTY: a module without the ioctl. */
	if (err == -ENODEV || err == -ENOTTY)
		cur = sysgenid_peek(&h->page->generation);
	else if (err)
		return err;
	*gen = cur;
	return cur != cached;
}

int sysgenid_protection(const struct sysgenid *h)
{
	uint32_t gen;
	int err;

	if (h->vmgenid)
		return SYSGENID_PROTECTION_PAGE;
	err = sysgenid_sync(h, &gen);
	if (!err)
		return SYSGENID_PROTECTION_IOCTL;
	if (err == -ENODEV || err == -ENOTTY)
		return SYSGENID_PROTECTION_NONE;
	return err;
}

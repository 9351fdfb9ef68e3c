/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysgenid: the system generation counter, /dev/sysgenid, from C.
 *
 * The counter is a system-wide uint32_t that moves when the system is
 * restored from a snapshot or cloned, or when a privileged orchestrator
 * forces an update. It wraps: compare generations with != only.
 *
 * Two kinds of handle:
 *  - a watcher (sysgenid_open()) is counted by the kernel: after every
 *    event it is outdated until it confirms the new generation, and
 *    orchestrators (sysgenid_wait_watchers()) wait for it;
 *  - a probe (sysgenid_open_probe()) is not counted and cannot confirm:
 *    for code that only checks the counter, such as a crypto library.
 * Both map the counter's page read-only and shared, so that sysgenid_map()
 * and sysgenid_get() cost one memory load and no system call.
 *
 * Errors: functions return a negative errno value (-ENOENT when the
 * device is missing: the module is not loaded). The library never prints,
 * exits or aborts.
 *
 * Threads: a handle does not change after it is opened, and the kernel
 * serialises every operation on the file, so any function may be called on
 * one handle from several threads at once, except sysgenid_close(), which
 * must be the last call. Threads sharing a watcher share its acknowledgement:
 * one confirmation serves all of them.
 *
 * fork(): the child inherits the file (the same open file, hence the same
 * watcher and acknowledgement) and the mapping. A child that handles events
 * on its own opens its own handle; either process may close its copy.
 * Handles are opened with O_CLOEXEC: they do not survive execve().
 *
 * The header does not need the kernel's <linux/sysgenid.h>.
 */
#ifndef LIBSYSGENID_H
#define LIBSYSGENID_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBSYSGENID_DEVICE	"/dev/sysgenid"

/* An open handle on /dev/sysgenid. Opaque. */
struct sysgenid;

/**
 * sysgenid_open() - open a watcher
 * @out: set to the new handle on success
 *
 * Opens the device for reading and writing: the file is a tracked watcher
 * whose acknowledged generation is the current one. Its file descriptor
 * (sysgenid_fd()) is non-blocking.
 *
 * Return: 0; -ENOENT without the device; another -errno from open() or
 * mmap(), or -ENOMEM.
 */
int sysgenid_open(struct sysgenid **out);

/**
 * sysgenid_open_probe() - open a probe
 * @out: set to the new handle on success
 *
 * Opens the device read-only: the file is never counted as a watcher and
 * cannot confirm, so it holds up no orchestrator. It can still read the
 * counter, wait for an event, count and wait for watchers, and force an
 * update (with the privilege for it).
 *
 * Return: as sysgenid_open().
 */
int sysgenid_open_probe(struct sysgenid **out);

/**
 * sysgenid_close() - close a handle
 * @h: the handle, or NULL (nothing happens)
 *
 * Unmaps the page and closes the file: a watcher stops being one. Pointers
 * from sysgenid_map() become invalid.
 */
void sysgenid_close(struct sysgenid *h);

/**
 * sysgenid_fd() - the handle's file descriptor
 * @h: the handle
 *
 * For event loops: the descriptor polls readable (POLLIN, EPOLLIN) while
 * the handle is outdated; then call sysgenid_wait() with a timeout of 0.
 * It is non-blocking and close-on-exec. Do not close it.
 *
 * Return: the file descriptor.
 */
int sysgenid_fd(const struct sysgenid *h);

/**
 * sysgenid_map() - the mapped counter
 * @h: the handle
 *
 * The returned pointer stays valid until sysgenid_close(). Read it with
 * sysgenid_peek() or sysgenid_changed() only.
 *
 * Return: a pointer to the current generation in the read-only mapping.
 */
const volatile uint32_t *sysgenid_map(const struct sysgenid *h);

/**
 * sysgenid_peek() - read the mapped counter
 * @map: from sysgenid_map()
 *
 * One atomic load with acquire ordering, no system call: async-signal-safe
 * and thread-safe. The kernel updates the page before it reports an event
 * in any other way.
 *
 * Return: the current generation.
 */
static inline uint32_t sysgenid_peek(const volatile uint32_t *map)
{
	return __atomic_load_n(map, __ATOMIC_ACQUIRE);
}

/**
 * sysgenid_changed() - has the counter moved since @cached was read?
 * @map: from sysgenid_map()
 * @cached: a generation read earlier
 *
 * As sysgenid_peek(): one load, async-signal-safe and thread-safe.
 *
 * Return: true when the current generation differs from @cached.
 */
static inline bool sysgenid_changed(const volatile uint32_t *map,
				    uint32_t cached)
{
	return sysgenid_peek(map) != cached;
}

/**
 * sysgenid_get() - the current generation
 * @h: the handle
 * @gen: set to the current generation
 *
 * Reads the mapping, as sysgenid_peek(sysgenid_map(h)).
 *
 * Return: 0.
 */
int sysgenid_get(const struct sysgenid *h, uint32_t *gen);

/**
 * sysgenid_wait() - wait until the handle is outdated
 * @h: the handle
 * @timeout_ms: how long to wait in milliseconds; 0 to check without
 *	waiting, a negative value to wait without a time limit
 * @gen: set to the new generation on success
 *
 * Returns at once while the handle is outdated: after an event, until it
 * confirms. A watcher then handles the event and calls sysgenid_confirm()
 * with @gen. A probe cannot confirm: once an event happened it stays
 * outdated, so a probe compares generations instead.
 *
 * Return: 0 with @gen set; -ETIME when @timeout_ms expires (as
 * sysgenid_wait_watchers()); -EINTR when a signal arrives (the call is not
 * restarted, whatever SA_RESTART says); another -errno from poll() or read().
 */
int sysgenid_wait(const struct sysgenid *h, int timeout_ms, uint32_t *gen);

/**
 * sysgenid_confirm() - confirm a generation
 * @h: a watcher
 * @gen: the generation from sysgenid_wait()
 *
 * Tells the kernel that this watcher has handled every event up to @gen:
 * it is up to date, and no longer holds up sysgenid_wait_watchers().
 * Confirming twice is harmless.
 *
 * Return: 0; -EINVAL when @gen is no longer the current generation (another
 * event happened: wait again, handle it and confirm that); -EBADF on a
 * probe.
 */
int sysgenid_confirm(const struct sysgenid *h, uint32_t gen);

/**
 * sysgenid_outdated_watchers() - count the outdated watchers
 * @h: the handle
 *
 * Return: the number of watchers in the whole system that lived through an
 * event and have not confirmed it, or a -errno.
 */
int sysgenid_outdated_watchers(const struct sysgenid *h);

/**
 * sysgenid_wait_watchers() - wait until no watcher is outdated
 * @h: the handle
 * @timeout_ms: the longest wait in milliseconds; 0 waits without a limit
 *
 * For orchestrators, after sysgenid_confirm() of their own watcher, or from
 * a probe.
 *
 * Return: 0 once no watcher is outdated; -ETIME when the timeout expires;
 * -EINTR when @h is itself an outdated watcher (at once, or because an event
 * arrived while waiting: handle it, confirm, and call again) or when a
 * signal arrives.
 */
int sysgenid_wait_watchers(const struct sysgenid *h, uint32_t timeout_ms);

/**
 * sysgenid_bump() - force a generation event
 * @h: the handle (a probe will do)
 * @min: the lowest acceptable new generation
 *
 * The counter moves to @min when @min is ahead of it (serial-number
 * arithmetic: (int32_t)(@min - current) > 0), else by one. Pass the value
 * of sysgenid_get() for a plain step of one. Used after a container
 * restore, or on a hypervisor without a generation ID device.
 *
 * Return: 0; -EPERM without CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN in the
 * initial user namespace.
 */
int sysgenid_bump(const struct sysgenid *h, uint32_t min);

/**
 * sysgenid_set_tracking() - count a watcher or not
 * @h: a watcher
 * @track: whether the kernel counts it among the watchers
 *
 * A watcher that stops being tracked still reads, polls and confirms, but
 * no longer holds up sysgenid_wait_watchers().
 *
 * Return: 0; -EBADF on a probe.
 */
int sysgenid_set_tracking(const struct sysgenid *h, bool track);

/**
 * sysgenid_supported() - is /dev/sysgenid there?
 *
 * Opens and closes a probe.
 *
 * Return: 1 when the device can be opened; 0 when it is missing (the
 * module is not loaded, or the node does not exist); another -errno, such
 * as -EACCES, when it exists but cannot be opened.
 */
int sysgenid_supported(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBSYSGENID_H */

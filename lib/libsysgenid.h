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
 * and sysgenid_get() cost one memory load and no system call, and, where
 * the kernel offers it, the hypervisor's VM generation ID page.
 *
 * Three checks tell a caller whether the system changed generation:
 *  - sysgenid_changed(): one load of the counter. Between a clone's first
 *    instruction and the moment the guest handles the hypervisor's
 *    notification, the counter still shows the old generation: a window of
 *    some milliseconds in which a clone does not know that it is one;
 *  - sysgenid_check(): the counter and, where the ID page is mapped, the
 *    hypervisor's ID against the one the generation stands for, in a few
 *    loads. It sees a clone at its first call (no window) and then makes
 *    the kernel catch up, with one system call, so that the caller and
 *    the kernel agree on the new generation. Without an ID page it is
 *    sysgenid_changed();
 *  - sysgenid_check_sync(): one system call every time (SYSGENID_SYNC_GEN),
 *    no window where the kernel can read the hypervisor's ID but cannot
 *    map it (an ID in shared system memory, as on Firecracker).
 * sysgenid_protection() says which of them closes the window here.
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
 * watcher and acknowledgement) and the mappings. A child that handles
 * events on its own opens its own handle; either process may close its
 * copy. The mappings come from a read-only open of their own, which is no
 * watcher: a child that closes its descriptors no longer holds the
 * watcher, even while it keeps the mappings. Handles are opened with
 * O_CLOEXEC: they do not survive execve().
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
 * mmap() (not ENODEV for the ID page: a handle without one falls back to
 * the counter), or -ENOMEM.
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
 * sysgenid_open_scope() - open a probe of a container's scope
 * @out: set to the new handle on success
 * @pidns_fd: a file descriptor of the container's pid namespace
 *	(/proc/PID/ns/pid)
 *
 * Every handle belongs to a scope: that of the pid namespace its opener
 * was in (a container's, or the host's, the root scope). An event of a
 * scope reaches every scope below it, and a container's stays in its
 * subtree. This opens a probe, as sysgenid_open_probe(), of the
 * scope of @pidns_fd instead: a container manager in the host's
 * namespace reads, waits for and bumps (sysgenid_bump_scope()) that
 * container's generation with it.
 *
 * Return: as sysgenid_open(); -EBADF or -EINVAL if @pidns_fd is not a pid
 * namespace's, -EPERM without CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN over
 * it or if it is not the caller's or below it, -ENOTTY from a module
 * without scopes.
 *
 * Since 1.2.
 */
int sysgenid_open_scope(struct sysgenid **out, int pidns_fd);

/**
 * sysgenid_close() - close a handle
 * @h: the handle, or NULL (nothing happens)
 *
 * Unmaps the pages and closes the file: a watcher stops being one (in this
 * process: a copy inherited by fork() lives on until the child closes
 * it). Pointers from sysgenid_map() become invalid.
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
 * @timeout_ms: how long to wait in milliseconds, as for sysgenid_wait():
 *	0 to check without waiting, a negative value to wait without a time
 *	limit (which any user who opens a watcher and never confirms can
 *	stretch for ever: orchestrators should pass a limit)
 *
 * For orchestrators, after sysgenid_confirm() of their own watcher, or from
 * a probe.
 *
 * Since 1.1 (symbol version LIBSYSGENID_1.1). Programs built against 1.0
 * keep the old meaning, where @timeout_ms was a uint32_t and 0 waited
 * without a limit (the ioctl's own argument).
 *
 * Return: 0 once no watcher is outdated; -ETIME when the timeout expires
 * (at once for 0 while a watcher lags); -EINTR when @h is itself an
 * outdated watcher (at once, or because an event arrived while waiting:
 * handle it, confirm, and call again) or when a signal arrives.
 */
int sysgenid_wait_watchers(const struct sysgenid *h, int timeout_ms);

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
 * sysgenid_bump_scope() - an event for the handle's scope and below
 * @h: the handle (a probe will do), of a container's scope
 *
 * One event in the handle's scope and in every scope below it, and in no
 * other: a container manager tells a restored container, and it alone,
 * that it is a copy. Its generation moves to a value no scope has had
 * since the module was loaded. The kernel's random number generator is
 * the host's and is not reseeded. From the root scope it is
 * sysgenid_bump() of one step.
 *
 * Return: 0; -EPERM without CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN over
 * the user namespace that owns the scope's pid namespace, or if that
 * namespace is not the caller's or below it; -ENOTTY from a module
 * without scopes.
 *
 * Since 1.2.
 */
int sysgenid_bump_scope(const struct sysgenid *h);

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

/**
 * sysgenid_sync() - catch up with the hypervisor's VM generation ID
 * @h: the handle (a probe will do)
 * @gen: set to the current generation on success
 *
 * One system call (SYSGENID_SYNC_GEN): when the hypervisor's ID differs
 * from the one the current generation stands for, the kernel performs
 * that event at once (the random number generator is reseeded, the
 * counter moves, every watcher is told), as the hypervisor's notification
 * would have; whichever comes first makes the one event of an ID change.
 * Needs no privilege. Costs one comparison when nothing changed.
 *
 * Since 1.1.
 *
 * Return: 0 with @gen set; -ENODEV when the kernel cannot read a VM
 * generation ID (no ID device); -ENOTTY with a module older than the
 * ioctl; -EFAULT.
 */
int sysgenid_sync(const struct sysgenid *h, uint32_t *gen);

/**
 * sysgenid_check() - has the system changed generation since @cached?
 * @h: the handle
 * @cached: a generation read earlier
 * @gen: set to the current generation on success
 *
 * Loads the ID the generation stands for, the generation, and, where the
 * ID page is mapped, the hypervisor's ID: no system call while nothing
 * changed. A clone whose kernel has not handled the hypervisor's
 * notification yet shows a changed ID: then sysgenid_sync() makes the
 * event at once, and @gen is the new generation, the one every other
 * process now sees too. Without an ID page (sysgenid_protection() is not
 * SYSGENID_PROTECTION_PAGE) it is sysgenid_changed(), with its window.
 * Thread-safe; not async-signal-safe only in that it may make the one
 * system call.
 *
 * Since 1.1.
 *
 * Return: 1 when the generation differs from @cached, 0 when it does not,
 * @gen set in both cases; a -errno of sysgenid_sync().
 */
int sysgenid_check(const struct sysgenid *h, uint32_t cached, uint32_t *gen);

/**
 * sysgenid_check_sync() - sysgenid_check() with one system call every time
 * @h: the handle
 * @cached: a generation read earlier
 * @gen: set to the current generation on success
 *
 * Calls sysgenid_sync() every time, so that it also closes the window
 * where the kernel reads the hypervisor's ID but cannot map it. Without
 * an ID device (-ENODEV, or -ENOTTY from an older module) it falls back to
 * the counter, as sysgenid_changed().
 *
 * Since 1.1.
 *
 * Return: as sysgenid_check().
 */
int sysgenid_check_sync(const struct sysgenid *h, uint32_t cached,
			uint32_t *gen);

/* What sysgenid_protection() reports: which check has no window. */
enum sysgenid_protection {
	/* No VM generation ID device: only the notification moves the
	 * counter; every check has the window. */
	SYSGENID_PROTECTION_NONE = 0,
	/* The kernel reads the ID but cannot map it: sysgenid_check_sync(). */
	SYSGENID_PROTECTION_IOCTL = 1,
	/* The ID page is mapped: sysgenid_check() in a few loads. */
	SYSGENID_PROTECTION_PAGE = 2,
};

/**
 * sysgenid_protection() - what closes the window on this machine
 * @h: the handle
 *
 * SYSGENID_PROTECTION_PAGE when @h maps the ID page; otherwise asks the
 * kernel with sysgenid_sync() (which catches up, if there is anything to
 * catch up with).
 *
 * Since 1.1.
 *
 * Return: an enum sysgenid_protection value, or another -errno of
 * sysgenid_sync().
 */
int sysgenid_protection(const struct sysgenid *h);

#ifdef __cplusplus
}
#endif

#endif /* LIBSYSGENID_H */

/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * sysgenid: the system generation counter, /dev/sysgenid.
 *
 * The counter is a __u32 that moves on every system generation event: a
 * virtual machine restored from a snapshot or cloned, or an update forced by
 * a privileged orchestrator. It wraps from 0xffffffff to 0, so compare
 * generations with != only.
 *
 * read() on /dev/sysgenid blocks until the file is outdated (an event
 * happened since it was opened or last confirmed), then returns the current
 * generation as a native-endian __u32; write() of that value confirms it.
 * poll() reports EPOLLIN while the file is outdated. A read-only shared
 * mapping of offset 0 shows the current generation in its first four bytes
 * (struct sysgenid_page). Mappings are never writable nor executable:
 * PROT_WRITE fails with EPERM (EACCES on a read-only file), PROT_EXEC with
 * EPERM, and mprotect() to either with EACCES.
 *
 * Between the moment a virtual machine resumes and the moment the guest
 * handles the hypervisor's notification, the counter still shows the old
 * generation. Where the hypervisor writes the new VM generation ID into
 * guest memory before the VM runs (QEMU does), that window closes: the
 * page at offset SYSGENID_VMGENID_PGOFF (in pages) is the hypervisor's own
 * ID page, mapped read-only, and a check that compares the ID there with
 * the one in struct sysgenid_page sees a clone at its first load.
 * SYSGENID_SYNC_GEN then turns the changed ID into the event at once.
 *
 * Every ioctl but SYSGENID_SYNC_GEN takes its argument by value in the
 * ioctl's unsigned long and returns its result as the syscall's return
 * value.
 */
#ifndef _UAPI_LINUX_SYSGENID_H
#define _UAPI_LINUX_SYSGENID_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SYSGENID_DEVICE		"/dev/sysgenid"

/* Size of a generation as read(), write() and the mapping carry it. */
#define SYSGENID_GEN_SIZE	sizeof(__u32)

/* Size of a VM generation ID. */
#define SYSGENID_VMGENID_SIZE	16

/**
 * struct sysgenid_page - the start of the page that mmap() offset 0 maps
 * @generation: the current generation
 * @vmgenid_offset: the byte offset of the VM generation ID in the ID page
 *	(mmap() offset SYSGENID_VMGENID_PGOFF); 0 when there is no ID page
 * @vmgenid: the VM generation ID that @generation stands for: the one the
 *	kernel found when it loaded, then the one of the last VM generation
 *	event; zero when the kernel cannot read an ID
 *
 * The rest of the page is zero. The kernel writes @generation before
 * @vmgenid: a reader that loads @vmgenid first and then @generation never
 * pairs a new ID with an old generation.
 */
struct sysgenid_page {
	__u32 generation;
	__u32 vmgenid_offset;
	__u8 vmgenid[SYSGENID_VMGENID_SIZE];
};

/*
 * mmap() offset, in pages, of the hypervisor's VM generation ID page: one
 * read-only page whose bytes at sysgenid_page.vmgenid_offset are the ID
 * the hypervisor wrote last. Only a page that the hypervisor dedicates to
 * the ID is ever mapped (QEMU's); elsewhere, or when the administrator
 * turned it off, mmap() of this offset fails with ENODEV.
 */
#define SYSGENID_VMGENID_PGOFF	1

/* The numbering of the v4 patch. */
#define SYSGENID_IOCTL		0x2d

/**
 * define SYSGENID_GET_OUTDATED_WATCHERS - count the outdated watchers
 *
 * Argument: none.
 *
 * Return: the number of tracked files (watchers) that lived through a
 * generation event and have not confirmed it yet.
 */
#define SYSGENID_GET_OUTDATED_WATCHERS	_IO(SYSGENID_IOCTL, 1)

/**
 * define SYSGENID_WAIT_WATCHERS - wait until no watcher is outdated
 *
 * Argument: a timeout in milliseconds, 0 to wait without a timeout.
 *
 * Return: 0 once no tracked file is outdated. Fails with EINTR when the
 * caller's own file is tracked and outdated, at once or because an event
 * arrived while waiting: handle the event, confirm, and call again. Fails
 * with EINTR too when a signal handler runs: never restarted, whatever
 * SA_RESTART says. Fails with ETIME when the timeout expires and with
 * EINVAL for a timeout above 0xffffffff.
 */
#define SYSGENID_WAIT_WATCHERS		_IO(SYSGENID_IOCTL, 2)

/**
 * define SYSGENID_FORCE_GEN_UPDATE - force a generation event
 *
 * Argument: the minimum new generation. The counter moves to it when it is
 * ahead of the current generation in serial-number arithmetic
 * ((__s32)(min - current) > 0), else to the current generation plus one.
 *
 * Return: 0. Fails with EPERM unless the caller has CAP_CHECKPOINT_RESTORE
 * or CAP_SYS_ADMIN in the initial user namespace, and with EINVAL for a
 * minimum above 0xffffffff.
 */
#define SYSGENID_FORCE_GEN_UPDATE	_IO(SYSGENID_IOCTL, 3)

/* The numbering deployed from patch v6 on. */
#define SYSGENID_IOCTL_V6	0xE4

/**
 * define SYSGENID_SET_WATCHER_TRACKING - count this file as a watcher or not
 *
 * Argument: 1 to track the file, 0 to stop tracking it. Files opened with
 * write access are tracked from open(); read-only files never are.
 *
 * Return: 0. Fails with EBADF on a file opened without write access and
 * with EINVAL for an argument other than 0 or 1.
 */
#define SYSGENID_SET_WATCHER_TRACKING	_IO(SYSGENID_IOCTL_V6, 1)

/**
 * define SYSGENID_WAIT_WATCHERS_V6 - SYSGENID_WAIT_WATCHERS, v6 numbering
 */
#define SYSGENID_WAIT_WATCHERS_V6	_IO(SYSGENID_IOCTL_V6, 2)

/**
 * define SYSGENID_TRIGGER_GEN_UPDATE - SYSGENID_FORCE_GEN_UPDATE, v6 numbering
 */
#define SYSGENID_TRIGGER_GEN_UPDATE	_IO(SYSGENID_IOCTL_V6, 3)

/**
 * define SYSGENID_SYNC_GEN - catch up with the hypervisor's VM generation ID
 *
 * Argument: a pointer to a __u32 that receives the current generation.
 *
 * Compares the VM generation ID in guest memory with the one the current
 * generation stands for (struct sysgenid_page.vmgenid). When it changed,
 * performs that event at once, as the hypervisor's notification would:
 * the kernel's random number generator is reseeded with the new ID, then
 * the counter moves and every watcher is told. Whichever comes first, this
 * call or the notification, makes the one event of an ID change; the other
 * finds nothing to do. Needs no privilege (it only reports what the
 * hypervisor did) and costs one comparison when nothing changed.
 *
 * Return: 0, with the current generation stored. Fails with ENODEV where
 * the kernel cannot read a VM generation ID, and with EFAULT.
 */
#define SYSGENID_SYNC_GEN		_IOR(SYSGENID_IOCTL_V6, 4, __u32)

/**
 * define SYSGENID_BUMP_SCOPE - an event for this file's scope and below
 *
 * Argument: 0.
 *
 * A file belongs to the scope of the pid namespace its opener was in (a
 * container); scopes nest as pid namespaces do. This makes one event in
 * the file's scope and in every scope below it, and in no other: a
 * container manager tells a restored container, and only it, that it is
 * a copy. The scope's generation moves to a value no scope has had since
 * the module was loaded; the kernel's random number generator, which is
 * the host's, is not reseeded. From the initial pid namespace's scope it
 * is SYSGENID_FORCE_GEN_UPDATE with argument 0.
 *
 * Return: 0. Fails with EPERM unless the caller has CAP_CHECKPOINT_RESTORE
 * or CAP_SYS_ADMIN over the user namespace that owns the scope's pid
 * namespace and that namespace is the caller's or below it, and with
 * EINVAL for an argument other than 0.
 */
#define SYSGENID_BUMP_SCOPE		_IO(SYSGENID_IOCTL_V6, 5)

/**
 * define SYSGENID_SET_SCOPE - bind this file to a container's scope
 *
 * Argument: a file descriptor of a pid namespace (/proc/PID/ns/pid).
 *
 * A file belongs to the scope of its opener's pid namespace; this binds
 * it to the scope of the given one instead, so that a container manager
 * in the host's namespace can watch a container or make its events
 * (SYSGENID_BUMP_SCOPE). Only for a file that has not been read, written,
 * polled, mapped nor waited on, and once. A watcher stays one, up to date
 * in its new scope.
 *
 * Return: 0. Fails with EBADF for a descriptor not open or opened O_PATH,
 * EINVAL if it is not a pid namespace's, EPERM as SYSGENID_BUMP_SCOPE does
 * for that namespace's scope, and EBUSY for a file used or bound before.
 */
#define SYSGENID_SET_SCOPE		_IO(SYSGENID_IOCTL_V6, 6)

#endif /* _UAPI_LINUX_SYSGENID_H */

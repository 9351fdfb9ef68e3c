// SPDX-License-Identifier: GPL-2.0
/*
 * System Generation ID: a u32 counter that moves whenever the system is
 * restored from a snapshot or cloned, so that software holding world-unique
 * state (RNG state, UUIDs, nonces, leases) learns that it must renew it.
 *
 * Each open file of /dev/sysgenid acknowledges a generation. A file is
 * outdated once an event has happened since it acknowledged one; read()
 * and poll() report that, write() of the current generation confirms it.
 * Files opened with write access are tracked watchers: orchestrators can
 * count the outdated ones and wait for them.
 *
 * Events are numbered by sysgenid_seq. A file remembers the number it
 * acknowledged, so an event marks every file outdated without visiting
 * any of them, and the outdated-watcher count is simply reset to the number
 * of watchers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "compat.h"
#include "sysgenid.h"

/**
 * struct sysgenid_file - the state of one open file
 * @acked_seq: number of the last event this file acknowledged; written
 *	under sysgenid_lock, read without it
 * @acked_gen: the generation it acknowledged, for fdinfo
 * @tracked: whether the file counts as a watcher
 */
struct sysgenid_file {
	atomic64_t acked_seq;
	u32 acked_gen;
	bool tracked;
};

/*
 * Serialises events, confirmations and the watcher counts. Events may come
 * in any context, hard IRQ included (the vmgenid driver of a device-tree
 * platform reports from its interrupt handler), so every holder disables
 * interrupts.
 */
static DEFINE_SPINLOCK(sysgenid_lock);

/*
 * The generation lives in the first word of the page that user space maps,
 * so that the mapping is the one copy of it and can never lag behind.
 */
static u32 *sysgenid_gen;

/*
 * Number of events so far. It only serves to compare with a file's
 * acked_seq. 64 bits on every architecture: a file would have to sleep
 * through exactly 2^64 events to miss them, where 2^32 forced updates, a
 * matter of hours, would do with an unsigned long on a 32-bit kernel.
 * atomic64_t, so that lockless readers never see it torn there.
 */
static atomic64_t sysgenid_seq = ATOMIC64_INIT(0);

static unsigned int sysgenid_watchers;
static unsigned int sysgenid_outdated_watchers;

/* Readers and pollers wait here for events. */
static DECLARE_WAIT_QUEUE_HEAD(sysgenid_event_wait);
/* SYSGENID_WAIT_WATCHERS callers wait here for the outdated count to drop. */
static DECLARE_WAIT_QUEUE_HEAD(sysgenid_watchers_wait);

static bool vmfork = true;
module_param(vmfork, bool, 0444);
MODULE_PARM_DESC(vmfork,
		 "Count the VM generation changes that the kernel's vmgenid driver reports (default: on)");

static bool sysgenid_is_outdated(const struct sysgenid_file *priv)
{
	/* Pairs with the release in sysgenid_advance(). */
	return atomic64_read_acquire(&sysgenid_seq) !=
	       atomic64_read(&priv->acked_seq);
}

/* The helpers below are called with sysgenid_lock held. */

static void sysgenid_drop_outdated(void)
{
	WRITE_ONCE(sysgenid_outdated_watchers, sysgenid_outdated_watchers - 1);
	if (!sysgenid_outdated_watchers)
		wake_up_interruptible(&sysgenid_watchers_wait);
}

static void sysgenid_track(struct sysgenid_file *priv)
{
	WRITE_ONCE(priv->tracked, true);
	WRITE_ONCE(sysgenid_watchers, sysgenid_watchers + 1);
	if (sysgenid_is_outdated(priv))
		WRITE_ONCE(sysgenid_outdated_watchers,
			   sysgenid_outdated_watchers + 1);
}

static void sysgenid_untrack(struct sysgenid_file *priv)
{
	WRITE_ONCE(priv->tracked, false);
	WRITE_ONCE(sysgenid_watchers, sysgenid_watchers - 1);
	if (sysgenid_is_outdated(priv))
		sysgenid_drop_outdated();
}

/*
 * One event: the generation moves to @min if @use_min and @min is ahead of
 * it (serial-number arithmetic), else forward by one.
 */
static void sysgenid_advance(bool use_min, u32 min)
{
	unsigned long flags;
	u32 gen;

	spin_lock_irqsave(&sysgenid_lock, flags);
	gen = *sysgenid_gen;
	if (use_min && (s32)(min - gen) > 0)
		gen = min;
	else
		gen++;
	WRITE_ONCE(*sysgenid_gen, gen);
	/*
	 * Publish the event after the value: whoever sees the new sequence
	 * number reads at least this generation, and the page shows it
	 * before any read() or poll() can report it.
	 */
	atomic64_set_release(&sysgenid_seq, atomic64_read(&sysgenid_seq) + 1);
	WRITE_ONCE(sysgenid_outdated_watchers, sysgenid_watchers);
	spin_unlock_irqrestore(&sysgenid_lock, flags);

	wake_up_interruptible_poll(&sysgenid_event_wait, EPOLLIN | EPOLLRDNORM);
	/* Watchers waiting for the others are outdated now: tell them. */
	wake_up_interruptible(&sysgenid_watchers_wait);
}

/**
 * sysgenid_bump_generation() - report a system generation event
 *
 * Moves the generation forward by one, marks every open file outdated and
 * wakes the processes waiting for it. The cost does not depend on the
 * number of open files.
 *
 * Context: Any context, hard IRQ included. Takes a spinlock with
 * interrupts disabled; does not sleep.
 */
void sysgenid_bump_generation(void)
{
	sysgenid_advance(false, 0);
}
EXPORT_SYMBOL_GPL(sysgenid_bump_generation);

static long sysgenid_force_update(unsigned long min)
{
	if (min > U32_MAX)
		return -EINVAL;
	/* The counter is system-wide: only the initial namespace may move it. */
	if (!checkpoint_restore_ns_capable(&init_user_ns))
		return -EPERM;

	sysgenid_advance(true, min);
	return 0;
}

/* 0: go on waiting; 1: no watcher is outdated; -EINTR: the caller is. */
static int sysgenid_watchers_state(const struct sysgenid_file *priv)
{
	if (READ_ONCE(priv->tracked) && sysgenid_is_outdated(priv))
		return -EINTR;
	return !READ_ONCE(sysgenid_outdated_watchers);
}

static long sysgenid_wait_watchers(const struct sysgenid_file *priv,
				   unsigned long timeout_ms)
{
	long timeout = MAX_SCHEDULE_TIMEOUT;
	int state = 0;
	long ret;

	if (timeout_ms > U32_MAX)
		return -EINVAL;
	if (timeout_ms)
		timeout = msecs_to_jiffies(timeout_ms);

	/*
	 * Decide from the state that ended the wait: evaluated again, it
	 * could find the caller's file confirmed meanwhile by another
	 * thread sharing it, and report 0 while other watchers are still
	 * outdated.
	 */
	ret = wait_event_interruptible_timeout(sysgenid_watchers_wait,
					       (state = sysgenid_watchers_state(priv)),
					       timeout);
	/*
	 * A signal whose handler ran: -EINTR, whatever SA_RESTART says. A
	 * restarted call would start its full timeout again, so that
	 * signals arriving faster than the timeout would keep it from ever
	 * expiring; the caller knows its own deadline. Without a handler
	 * (a stop and continue, a ptrace attach) the call restarts, as
	 * select() does.
	 */
	if (ret < 0)
		return -ERESTARTNOHAND;
	if (!ret)
		return -ETIME;
	return state < 0 ? -EINTR : 0;
}

static long sysgenid_set_tracking(struct file *file, unsigned long track)
{
	struct sysgenid_file *priv = file->private_data;

	/* A file that cannot confirm must never hold up an orchestrator. */
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (track > 1)
		return -EINVAL;

	spin_lock_irq(&sysgenid_lock);
	if (track && !priv->tracked)
		sysgenid_track(priv);
	else if (!track && priv->tracked)
		sysgenid_untrack(priv);
	spin_unlock_irq(&sysgenid_lock);
	return 0;
}

static long sysgenid_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	switch (cmd) {
	case SYSGENID_GET_OUTDATED_WATCHERS:
		return READ_ONCE(sysgenid_outdated_watchers);
	case SYSGENID_WAIT_WATCHERS:
	case SYSGENID_WAIT_WATCHERS_V6:
		return sysgenid_wait_watchers(file->private_data, arg);
	case SYSGENID_FORCE_GEN_UPDATE:
	case SYSGENID_TRIGGER_GEN_UPDATE:
		return sysgenid_force_update(arg);
	case SYSGENID_SET_WATCHER_TRACKING:
		return sysgenid_set_tracking(file, arg);
	default:
		return -ENOTTY;
	}
}

static int sysgenid_open(struct inode *inode, struct file *file)
{
	struct sysgenid_file *priv;

	/* Charged to the opener's memory cgroup: anyone may open the node. */
	priv = kzalloc(sizeof(*priv), GFP_KERNEL_ACCOUNT);
	if (!priv)
		return -ENOMEM;
	spin_lock_irq(&sysgenid_lock);
	atomic64_set(&priv->acked_seq, atomic64_read(&sysgenid_seq));
	priv->acked_gen = *sysgenid_gen;
	/* Only a file that can confirm is a watcher from the start. */
	if (file->f_mode & FMODE_WRITE)
		sysgenid_track(priv);
	spin_unlock_irq(&sysgenid_lock);

	file->private_data = priv;
	return stream_open(inode, file);
}

static int sysgenid_release(struct inode *inode, struct file *file)
{
	struct sysgenid_file *priv = file->private_data;

	spin_lock_irq(&sysgenid_lock);
	if (priv->tracked)
		sysgenid_untrack(priv);
	spin_unlock_irq(&sysgenid_lock);

	kfree(priv);
	return 0;
}

static ssize_t sysgenid_read(struct file *file, char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct sysgenid_file *priv = file->private_data;
	u32 gen;
	int ret;

	if (count < sizeof(gen))
		return -EINVAL;

	if (!sysgenid_is_outdated(priv)) {
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(sysgenid_event_wait,
					       sysgenid_is_outdated(priv));
		if (ret)
			return ret;
	}

	/* Ordered after the sequence load: at least the reported event. */
	gen = READ_ONCE(*sysgenid_gen);
	if (copy_to_user(buf, &gen, sizeof(gen)))
		return -EFAULT;
	return sizeof(gen);
}

static ssize_t sysgenid_write(struct file *file, const char __user *buf,
			      size_t count, loff_t *ppos)
{
	struct sysgenid_file *priv = file->private_data;
	ssize_t ret = sizeof(u32);
	u32 gen;

	if (count != sizeof(gen))
		return -EINVAL;
	if (copy_from_user(&gen, buf, sizeof(gen)))
		return -EFAULT;

	spin_lock_irq(&sysgenid_lock);
	if (gen != *sysgenid_gen) {
		/* Stale or not yet reached: the caller must read again. */
		ret = -EINVAL;
	} else if (sysgenid_is_outdated(priv)) {
		if (priv->tracked)
			sysgenid_drop_outdated();
		atomic64_set(&priv->acked_seq, atomic64_read(&sysgenid_seq));
		priv->acked_gen = gen;
	}
	spin_unlock_irq(&sysgenid_lock);
	return ret;
}

static __poll_t sysgenid_poll(struct file *file, poll_table *wait)
{
	struct sysgenid_file *priv = file->private_data;

	poll_wait(file, &sysgenid_event_wait, wait);
	return sysgenid_is_outdated(priv) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int sysgenid_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* Data, never code: no PROT_EXEC now, nor by a later mprotect(). */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vm_flags_clear(vma, VM_MAYEXEC);

	/* VM_MAYSHARE: a read-only file's shared mapping lacks VM_SHARED. */
	if (vma->vm_pgoff || vma_pages(vma) != 1 ||
	    !(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;

	/* Never writable, not even by a later mprotect(). */
	vm_flags_clear(vma, VM_MAYWRITE);
	/* Also VM_DONTEXPAND and VM_DONTDUMP; the mapping is kept on fork(). */
	return remap_pfn_range(vma, vma->vm_start,
			       page_to_pfn(virt_to_page(sysgenid_gen)),
			       PAGE_SIZE, vma->vm_page_prot);
}

static void sysgenid_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct sysgenid_file *priv = file->private_data;
	bool tracked, outdated;
	u32 acked;

	spin_lock_irq(&sysgenid_lock);
	acked = priv->acked_gen;
	tracked = priv->tracked;
	outdated = sysgenid_is_outdated(priv);
	spin_unlock_irq(&sysgenid_lock);

	seq_printf(m, "sysgenid-acked: %u\n", acked);
	seq_printf(m, "sysgenid-tracked: %d\n", tracked);
	seq_printf(m, "sysgenid-outdated: %d\n", outdated);
}

static const struct file_operations sysgenid_fops = {
	.owner		= THIS_MODULE,
	.open		= sysgenid_open,
	.release	= sysgenid_release,
	.read		= sysgenid_read,
	.write		= sysgenid_write,
	.poll		= sysgenid_poll,
	.mmap		= sysgenid_mmap,
	.unlocked_ioctl	= sysgenid_ioctl,
	/* Arguments are values, never pointers: no translation needed. */
	.compat_ioctl	= sysgenid_ioctl,
	.show_fdinfo	= sysgenid_show_fdinfo,
};

static ssize_t generation_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(*sysgenid_gen));
}
static DEVICE_ATTR_RO(generation);

static ssize_t watchers_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(sysgenid_watchers));
}
static DEVICE_ATTR_RO(watchers);

static ssize_t outdated_watchers_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(sysgenid_outdated_watchers));
}
static DEVICE_ATTR_RO(outdated_watchers);

static struct attribute *sysgenid_attrs[] = {
	&dev_attr_generation.attr,
	&dev_attr_watchers.attr,
	&dev_attr_outdated_watchers.attr,
	NULL
};
ATTRIBUTE_GROUPS(sysgenid);

static struct miscdevice sysgenid_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "sysgenid",
	.fops	= &sysgenid_fops,
	.groups	= sysgenid_groups,
	.mode	= 0666,
};

/* Backend: VM generation ID changes seen by the kernel's vmgenid driver. */
static int sysgenid_vmfork_notify(struct notifier_block *nb,
				  unsigned long action, void *data)
{
	sysgenid_bump_generation();
	return NOTIFY_DONE;
}

static struct notifier_block sysgenid_vmfork_nb = {
	.notifier_call = sysgenid_vmfork_notify,
};

static int __init sysgenid_init(void)
{
	int ret;

	sysgenid_gen = (u32 *)get_zeroed_page(GFP_KERNEL);
	if (!sysgenid_gen)
		return -ENOMEM;

	ret = misc_register(&sysgenid_misc);
	if (ret)
		goto err_free;

	/* Without CONFIG_VMGENID this registers nothing and succeeds. */
	if (vmfork) {
		ret = register_random_vmfork_notifier(&sysgenid_vmfork_nb);
		if (ret)
			goto err_misc;
	}
	return 0;

err_misc:
	misc_deregister(&sysgenid_misc);
err_free:
	free_page((unsigned long)sysgenid_gen);
	return ret;
}
module_init(sysgenid_init);

static void __exit sysgenid_exit(void)
{
	if (vmfork)
		unregister_random_vmfork_notifier(&sysgenid_vmfork_nb);
	misc_deregister(&sysgenid_misc);
	/* No file, hence no mapping, is left: each holds a module reference. */
	free_page((unsigned long)sysgenid_gen);
}
module_exit(sysgenid_exit);

MODULE_DESCRIPTION("System Generation ID: a counter of VM snapshot restores and clones");
MODULE_LICENSE("GPL");

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
 * Events are numbered by each scope's seq. A file remembers the number it
 * acknowledged, so an event marks every file outdated without visiting
 * any of them, and the outdated-watcher count is simply reset to the number
 * of watchers.
 *
 * A file belongs to the scope of the pid namespace its opener was in: a
 * container. Scopes form a tree, as pid namespaces do, and each has its
 * own generation, page, sequence and watcher counts. An event in a scope
 * is one for every scope below it; a VM restore is one at the root, whose
 * generation counts events as if there were no scopes. The other scopes
 * take their values from one clock that starts at a random value and
 * moves on every event, so that a container's value never comes back.
 *
 * Every event reseeds the kernel's RNG before anyone can learn of it, so
 * that clones told of an event never draw the same random numbers. Where
 * the hypervisor writes a VM generation ID into guest memory before the VM
 * runs, the driver reads it too: a change is one event, whoever notices it
 * first (the hypervisor's notification or SYSGENID_SYNC_GEN), and user
 * space may map the page that holds it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/acpi.h>
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kdev_t.h>
#include <linux/magic.h>
#include <linux/major.h>
#include <linux/miscdevice.h>
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/proc_ns.h>
#include <linux/random.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timex.h>
#include <linux/user_namespace.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "sysgenid.h"

/**
 * struct sysgenid_scope - the generation of one pid namespace and below
 * @page: the page that user space maps; its first word is the generation
 * @seq: number of events so far in this scope; compared with the files'
 *	acked_seq. 64 bits on every architecture: a file would have to sleep
 *	through exactly 2^64 events to miss them, where 2^32 forced updates,
 *	a matter of hours, would do with an unsigned long on a 32-bit kernel.
 *	atomic64_t, so that lockless readers never see it torn there.
 * @watchers: the tracked files of this scope
 * @outdated: of those, the outdated ones
 * @tree_watchers: @watchers summed over the subtree, this scope included
 * @tree_outdated: @outdated summed over the subtree
 * @event_wait: readers and pollers wait here for events
 * @watchers_wait: SYSGENID_WAIT_WATCHERS callers wait here for
 *	@tree_outdated to drop to 0
 * @parent: the scope of the parent pid namespace, NULL for the root
 * @children: the scopes of child pid namespaces
 * @sibling: in the parent's @children
 * @ns: the pid namespace, referenced (a namespace's address may be reused
 *	once it is freed)
 * @ref: files, mappings, child scopes, and the tree's own while @cached
 * @cached: the tree holds the scope while its pid namespace has tasks, so
 *	that a container's generation lasts as long as the container, open
 *	files or not; under sysgenid_scope_lock
 *
 * The counts, @seq's writers and the tree's lists are under sysgenid_lock.
 */
struct sysgenid_scope {
	struct sysgenid_page *page;
	atomic64_t seq;
	unsigned int watchers;
	unsigned int outdated;
	unsigned int tree_watchers;
	unsigned int tree_outdated;
	wait_queue_head_t event_wait;
	wait_queue_head_t watchers_wait;
	struct sysgenid_scope *parent;
	struct list_head children;
	struct list_head sibling;
	struct pid_namespace *ns;
	refcount_t ref;
	bool cached;
};

/**
 * struct sysgenid_file - the state of one open file
 * @scope: the scope of the opener's pid namespace, or the one
 *	SYSGENID_SET_SCOPE bound it to, referenced
 * @unbound: the scope it had before SYSGENID_SET_SCOPE, referenced until
 *	release: a lockless reader may still look at it
 * @acked_seq: number of the last event of @scope this file acknowledged;
 *	written under sysgenid_lock, read without it
 * @acked_gen: the generation it acknowledged, for fdinfo
 * @tracked: whether the file counts as a watcher
 * @used: whether it was read, written, polled, mapped or waited on, after
 *	which its scope is fixed; set under sysgenid_lock
 */
struct sysgenid_file {
	struct sysgenid_scope *scope;
	struct sysgenid_scope *unbound;
	atomic64_t acked_seq;
	u32 acked_gen;
	bool tracked;
	bool used;
};

/*
 * Serialises events, confirmations, the watcher counts and the scope
 * tree's lists. Events may come in any context, hard IRQ included (the
 * vmgenid driver of a device-tree platform reports from its interrupt
 * handler), so every holder disables interrupts.
 */
static DEFINE_SPINLOCK(sysgenid_lock);

/* Serialises the creation and the freeing of scopes, which sleep. */
static DEFINE_MUTEX(sysgenid_scope_lock);

/*
 * The initial pid namespace's scope, whose generation counts the events
 * from 0 at load. It lives as long as the module: its page is the one
 * sysfs shows, and which the backends' events move first.
 */
static struct sysgenid_scope sysgenid_root = {
	.seq		= ATOMIC64_INIT(0),
	.event_wait	= __WAIT_QUEUE_HEAD_INITIALIZER(sysgenid_root.event_wait),
	.watchers_wait	= __WAIT_QUEUE_HEAD_INITIALIZER(sysgenid_root.watchers_wait),
	.children	= LIST_HEAD_INIT(sysgenid_root.children),
	.ns		= &init_pid_ns,
	.ref		= REFCOUNT_INIT(1),
};

/*
 * The generation of the other scopes: a clock that starts at a random
 * value and moves on every event and every new scope, under sysgenid_lock.
 */
static u32 sysgenid_clock;

static bool vmfork = true;
module_param(vmfork, bool, 0444);
MODULE_PARM_DESC(vmfork,
		 "Count the VM generation changes that the kernel's vmgenid driver reports (default: on)");

static bool vmgenid_map = true;
module_param(vmgenid_map, bool, 0444);
MODULE_PARM_DESC(vmgenid_map,
		 "Let user space map the hypervisor's VM generation ID page where it holds nothing else (default: on)");

/*
 * The VM generation ID as the hypervisor writes it, NULL where the driver
 * cannot read one, and the page that holds it and nothing else, 0 where
 * there is no such page.
 */
static const u8 *sysgenid_vmgenid;
static phys_addr_t sysgenid_vmgenid_page;
static void *sysgenid_vmgenid_base;	/* for memunmap() */

/*
 * Serialises the events that reseed the RNG (VM generation ID changes and
 * forced updates), so that each ID change is one event.
 */
static DEFINE_MUTEX(sysgenid_event_lock);

/*
 * How an event reseeds the CRNG: the RNDRESEEDCRNG ioctl of the random
 * device, which every kernel since 4.17 has. Not add_vmfork_randomness():
 * it calls the VM fork chain, whose lock the chain's own caller holds
 * while our notifier takes sysgenid_event_lock (lockdep: a circular
 * dependency).
 */
static struct file *sysgenid_random;
static long sysgenid_reseed_err;

/*
 * The file's scope, fixed from now on: SYSGENID_SET_SCOPE applies to a
 * file before any use, so that no wait queue or mapping of another scope
 * is ever left behind.
 */
static struct sysgenid_scope *sysgenid_use(struct sysgenid_file *priv)
{
	if (!READ_ONCE(priv->used)) {
		spin_lock_irq(&sysgenid_lock);
		priv->used = true;
		spin_unlock_irq(&sysgenid_lock);
	}
	return READ_ONCE(priv->scope);
}

static bool sysgenid_is_outdated(const struct sysgenid_file *priv)
{
	/* Pairs with the release in sysgenid_advance(). */
	return atomic64_read_acquire(&READ_ONCE(priv->scope)->seq) !=
	       atomic64_read(&priv->acked_seq);
}

/* The helpers below are called with sysgenid_lock held. */

/*
 * Adds @watchers and @outdated to @scope's own counts and to the subtree
 * counts of it and of every scope above it; wakes the orchestrators whose
 * subtree has no outdated watcher left.
 */
static void sysgenid_count(struct sysgenid_scope *scope, int watchers,
			   int outdated)
{
	struct sysgenid_scope *s;

	WRITE_ONCE(scope->watchers, scope->watchers + watchers);
	WRITE_ONCE(scope->outdated, scope->outdated + outdated);
	for (s = scope; s; s = s->parent) {
		WRITE_ONCE(s->tree_watchers, s->tree_watchers + watchers);
		WRITE_ONCE(s->tree_outdated, s->tree_outdated + outdated);
		if (outdated < 0 && !s->tree_outdated)
			wake_up_interruptible(&s->watchers_wait);
	}
}

static void sysgenid_track(struct sysgenid_file *priv)
{
	WRITE_ONCE(priv->tracked, true);
	sysgenid_count(priv->scope, 1, sysgenid_is_outdated(priv));
}

static void sysgenid_untrack(struct sysgenid_file *priv)
{
	WRITE_ONCE(priv->tracked, false);
	sysgenid_count(priv->scope, -1, -(int)sysgenid_is_outdated(priv));
}

/* The VM generation ID in the root page, as two words that change whole. */
static bool sysgenid_vmgenid_acted_on(const u8 *id)
{
	const u64 *page = (const u64 *)sysgenid_root.page->vmgenid;
	u64 w[2];

	memcpy(w, id, sizeof(w));
	return READ_ONCE(page[0]) == w[0] && READ_ONCE(page[1]) == w[1];
}

static void sysgenid_set_vmgenid(struct sysgenid_page *pg, const u8 *id)
{
	u64 *page = (u64 *)pg->vmgenid;
	u64 w[2];

	memcpy(w, id, sizeof(w));
	WRITE_ONCE(page[0], w[0]);
	WRITE_ONCE(page[1], w[1]);
}

/* The scope after @s in a preorder walk of @top's subtree, or NULL. */
static struct sysgenid_scope *sysgenid_next(struct sysgenid_scope *s,
					    struct sysgenid_scope *top)
{
	if (!list_empty(&s->children))
		return list_first_entry(&s->children, struct sysgenid_scope,
					sibling);
	for (; s != top; s = s->parent)
		if (!list_is_last(&s->sibling, &s->parent->children))
			return list_next_entry(s, sibling);
	return NULL;
}

/*
 * One event in @top and every scope below it: the root's generation moves
 * to @min if @use_min and @min is ahead of it (serial-number arithmetic),
 * else forward by one; every other scope's to the clock's next value.
 * @vmgenid, if not NULL, is the VM generation ID the event stands for.
 * The walk visits scopes, never files.
 */
static void sysgenid_advance(struct sysgenid_scope *top, bool use_min,
			     u32 min, const u8 *vmgenid)
{
	struct sysgenid_scope *s;
	unsigned long flags;
	int rise;
	u32 gen;

	spin_lock_irqsave(&sysgenid_lock, flags);
	/* Every file of the subtree is outdated now: what the tree gains. */
	rise = top->tree_watchers - top->tree_outdated;
	sysgenid_clock++;
	for (s = top; s; s = sysgenid_next(s, top)) {
		gen = sysgenid_clock;
		if (s == &sysgenid_root) {
			gen = s->page->generation;
			if (use_min && (s32)(min - gen) > 0)
				gen = min;
			else
				gen++;
		}
		WRITE_ONCE(s->page->generation, gen);
		if (vmgenid) {
			/* After the generation: see struct sysgenid_page. */
			smp_wmb();
			sysgenid_set_vmgenid(s->page, vmgenid);
		}
		/*
		 * Publish the event after the value: whoever sees the new
		 * sequence number reads at least this generation, and the
		 * page shows it before any read() or poll() can report it.
		 */
		atomic64_set_release(&s->seq, atomic64_read(&s->seq) + 1);
		WRITE_ONCE(s->outdated, s->watchers);
		WRITE_ONCE(s->tree_outdated, s->tree_watchers);
		wake_up_interruptible_poll(&s->event_wait,
					   EPOLLIN | EPOLLRDNORM);
		/* Watchers waiting for the others are outdated now. */
		wake_up_interruptible(&s->watchers_wait);
	}
	for (s = top->parent; s; s = s->parent)
		WRITE_ONCE(s->tree_outdated, s->tree_outdated + rise);
	spin_unlock_irqrestore(&sysgenid_lock, flags);
}

/**
 * sysgenid_bump_generation() - report a system generation event
 *
 * Moves the generation forward by one, marks every open file outdated and
 * wakes the processes waiting for it: an event at the root scope, and so
 * in every container's. The cost grows with the number of scopes, not
 * with the number of open files.
 *
 * Context: Any context, hard IRQ included. Takes a spinlock with
 * interrupts disabled; does not sleep.
 */
void sysgenid_bump_generation(void)
{
	sysgenid_advance(&sysgenid_root, false, 0, NULL);
}
EXPORT_SYMBOL_GPL(sysgenid_bump_generation);

/* The random device, for RNDRESEEDCRNG from a kernel worker. */
static int sysgenid_random_init(void)
{
	struct file *f = filp_open("/dev/urandom", O_RDONLY, 0);
	struct inode *inode;

	if (IS_ERR(f))
		return PTR_ERR(f);
	/* Whatever its path, the node must be the kernel's random device. */
	inode = file_inode(f);
	if (!S_ISCHR(inode->i_mode) || imajor(inode) != MEM_MAJOR ||
	    (iminor(inode) != 8 && iminor(inode) != 9)) {
		filp_close(f, NULL);
		return -ENODEV;
	}
	/* Read locklessly by reseed_show(). */
	WRITE_ONCE(sysgenid_random, f);
	return 0;
}

static void sysgenid_reseed_work_fn(struct work_struct *work)
{
	/*
	 * Built in, the driver starts before there is a /dev: the first
	 * event opens the random device. A kernel worker resolves the path
	 * in the initial namespaces and holds CAP_SYS_ADMIN, which
	 * RNDRESEEDCRNG requires.
	 */
	if (!sysgenid_random) {
		sysgenid_reseed_err = sysgenid_random_init();
		if (sysgenid_reseed_err)
			return;
	}
	sysgenid_reseed_err = vfs_ioctl(sysgenid_random, RNDRESEEDCRNG, 0);
}

static DECLARE_WORK(sysgenid_reseed_work, sysgenid_reseed_work_fn);

/*
 * Mixes @buf into the input pool and reseeds the CRNG from it at once:
 * add_device_randomness() alone leaves the CRNG as it is until its next
 * scheduled reseed, up to a minute later, and clones would draw the same
 * numbers until then.
 */
static void sysgenid_reseed(const void *buf, size_t len)
{
	lockdep_assert_held(&sysgenid_event_lock);

	add_device_randomness(buf, len);
	queue_work(system_unbound_wq, &sysgenid_reseed_work);
	flush_work(&sysgenid_reseed_work);
	/* -ENODATA: the CRNG is not seeded yet; it will be from this pool. */
	if (sysgenid_reseed_err && sysgenid_reseed_err != -ENODATA)
		pr_warn_ratelimited("reseeding the CRNG failed (%ld): clones may draw the same random numbers until its next scheduled reseed\n",
				    sysgenid_reseed_err);
}

/*
 * Turns a change of the VM generation ID into one event. @reseed is false
 * where the kernel's vmgenid driver has reseeded the RNG with the new ID.
 */
static void sysgenid_vmgenid_sync(bool reseed)
{
	u8 id[SYSGENID_VMGENID_SIZE];

	mutex_lock(&sysgenid_event_lock);
	memcpy(id, sysgenid_vmgenid, sizeof(id));
	if (!sysgenid_vmgenid_acted_on(id)) {
		if (reseed)
			sysgenid_reseed(id, sizeof(id));
		sysgenid_advance(&sysgenid_root, false, 0, id);
	}
	mutex_unlock(&sysgenid_event_lock);
}

/**
 * sysgenid_vmgenid_changed() - the hypervisor says the VM generation ID changed
 *
 * For the drivers of VM generation ID devices. If the ID differs from the
 * one the current generation stands for, reseeds the kernel's RNG with it
 * and makes one event. A notification for an ID already acted on, such as
 * one that SYSGENID_SYNC_GEN was quicker to see, is no event.
 *
 * Context: Process context. Sleeps.
 * Return: 0, or -ENODEV if sysgenid cannot read a VM generation ID.
 */
int sysgenid_vmgenid_changed(void)
{
	if (!sysgenid_vmgenid)
		return -ENODEV;
	sysgenid_vmgenid_sync(true);
	return 0;
}
EXPORT_SYMBOL_GPL(sysgenid_vmgenid_changed);

static long sysgenid_sync_gen(struct sysgenid_file *priv, u32 __user *out)
{
	struct sysgenid_scope *scope = sysgenid_use(priv);
	u8 id[SYSGENID_VMGENID_SIZE];

	if (!sysgenid_vmgenid)
		return -ENODEV;
	memcpy(id, sysgenid_vmgenid, sizeof(id));
	if (!sysgenid_vmgenid_acted_on(id))
		sysgenid_vmgenid_sync(true);
	/* The ID in the page is written after the generation. */
	smp_rmb();
	return put_user(READ_ONCE(scope->page->generation), out);
}

static long sysgenid_force_update(unsigned long min)
{
	struct {
		u32 gen;
		unsigned long cycles;
	} seed;

	if (min > U32_MAX)
		return -EINVAL;
	/* The counter is system-wide: only the initial namespace may move it. */
	if (!checkpoint_restore_ns_capable(&init_user_ns))
		return -EPERM;

	/*
	 * No new ID comes with a forced update. Reseeding still draws on
	 * the CPU's seed instruction where there is one, and the cycle
	 * counter differs between clones.
	 */
	mutex_lock(&sysgenid_event_lock);
	seed.gen = READ_ONCE(sysgenid_root.page->generation);
	seed.cycles = random_get_entropy();
	sysgenid_reseed(&seed, sizeof(seed));
	sysgenid_advance(&sysgenid_root, true, min, NULL);
	mutex_unlock(&sysgenid_event_lock);
	return 0;
}

/*
 * Whether @ns is @anc or below it. pid namespaces never move, and the
 * caller holds a reference on @ns.
 */
static bool sysgenid_pidns_within(struct pid_namespace *ns,
				  struct pid_namespace *anc)
{
	while (ns->level > anc->level)
		ns = ns->parent;
	return ns == anc;
}

/*
 * An event for the caller's file's scope and the scopes below it, made by
 * a container manager for its own containers: allowed with
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN over the user namespace that
 * owns the scope's pid namespace, which must be the caller's or below it.
 * At the root it is SYSGENID_FORCE_GEN_UPDATE. The kernel's RNG is the
 * host's: a container's event does not reseed it.
 */
static long sysgenid_bump_scope(struct sysgenid_file *priv,
				unsigned long arg)
{
	struct sysgenid_scope *scope = sysgenid_use(priv);

	if (arg)
		return -EINVAL;
	if (scope == &sysgenid_root)
		return sysgenid_force_update(0);
	if (!sysgenid_pidns_within(scope->ns, task_active_pid_ns(current)) ||
	    !checkpoint_restore_ns_capable(scope->ns->user_ns))
		return -EPERM;
	mutex_lock(&sysgenid_event_lock);
	sysgenid_advance(scope, false, 0, NULL);
	mutex_unlock(&sysgenid_event_lock);
	return 0;
}

static struct sysgenid_scope *sysgenid_scope_get(struct pid_namespace *ns);
static void sysgenid_scope_put(struct sysgenid_scope *scope);

/*
 * Binds a file that was never used to the scope of the pid namespace that
 * @nsfd names (/proc/PID/ns/pid), so that a container manager in the
 * host's namespace can watch or bump a container's scope: the caller needs
 * the same rights over it as SYSGENID_BUMP_SCOPE. Once.
 */
static long sysgenid_set_scope(struct sysgenid_file *priv, unsigned long nsfd)
{
	struct sysgenid_scope *scope, *old;
	struct ns_common *nsc;
	struct pid_namespace *ns;
	struct file *f;
	bool tracked;
	long ret = 0;

	f = nsfd <= INT_MAX ? fget(nsfd) : NULL;
	if (!f)
		return -EBADF;
	if (file_inode(f)->i_sb->s_magic != NSFS_MAGIC) {
		ret = -EINVAL;
		goto out;
	}
	nsc = get_proc_ns(file_inode(f));
	if (nsc->ops->type != CLONE_NEWPID) {
		ret = -EINVAL;
		goto out;
	}
	ns = container_of(nsc, struct pid_namespace, ns);
	if (!sysgenid_pidns_within(ns, task_active_pid_ns(current)) ||
	    !checkpoint_restore_ns_capable(ns->user_ns)) {
		ret = -EPERM;
		goto out;
	}
	/* The open file keeps the namespace. */
	scope = sysgenid_scope_get(ns);
	if (IS_ERR(scope)) {
		ret = PTR_ERR(scope);
		goto out;
	}

	spin_lock_irq(&sysgenid_lock);
	old = priv->scope;
	if (priv->used || priv->unbound) {
		ret = -EBUSY;
	} else {
		/* A watcher moves with it, up to date in its new scope. */
		tracked = priv->tracked;
		if (tracked)
			sysgenid_untrack(priv);
		atomic64_set(&priv->acked_seq, atomic64_read(&scope->seq));
		priv->acked_gen = scope->page->generation;
		WRITE_ONCE(priv->scope, scope);
		priv->unbound = old;
		if (tracked)
			sysgenid_track(priv);
	}
	spin_unlock_irq(&sysgenid_lock);
	if (ret)
		sysgenid_scope_put(scope);
out:
	fput(f);
	return ret;
}

/*
 * 0: go on waiting; 1: no watcher of the caller's scope subtree is
 * outdated; -EINTR: the caller is.
 */
static int sysgenid_watchers_state(const struct sysgenid_file *priv,
				   const struct sysgenid_scope *scope)
{
	if (READ_ONCE(priv->tracked) && sysgenid_is_outdated(priv))
		return -EINTR;
	return !READ_ONCE(scope->tree_outdated);
}

static long sysgenid_wait_watchers(struct sysgenid_file *priv,
				   unsigned long timeout_ms)
{
	struct sysgenid_scope *scope = sysgenid_use(priv);
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
	ret = wait_event_interruptible_timeout(scope->watchers_wait,
					       (state = sysgenid_watchers_state(priv, scope)),
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
	struct sysgenid_file *priv = file->private_data;

	switch (cmd) {
	case SYSGENID_GET_OUTDATED_WATCHERS:
		return READ_ONCE(sysgenid_use(priv)->tree_outdated);
	case SYSGENID_WAIT_WATCHERS:
	case SYSGENID_WAIT_WATCHERS_V6:
		return sysgenid_wait_watchers(priv, arg);
	case SYSGENID_FORCE_GEN_UPDATE:
	case SYSGENID_TRIGGER_GEN_UPDATE:
		return sysgenid_force_update(arg);
	case SYSGENID_SET_WATCHER_TRACKING:
		return sysgenid_set_tracking(file, arg);
	case SYSGENID_SYNC_GEN:
		return sysgenid_sync_gen(priv, (u32 __user *)arg);
	case SYSGENID_BUMP_SCOPE:
		return sysgenid_bump_scope(priv, arg);
	case SYSGENID_SET_SCOPE:
		return sysgenid_set_scope(priv, arg);
	default:
		return -ENOTTY;
	}
}

#ifdef CONFIG_COMPAT
static long sysgenid_compat_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	/* Only SYSGENID_SYNC_GEN takes a pointer; the others take values. */
	if (cmd == SYSGENID_SYNC_GEN)
		arg = (unsigned long)compat_ptr(arg);
	return sysgenid_ioctl(file, cmd, arg);
}
#else
#define sysgenid_compat_ioctl NULL
#endif

/* Drops a reference; the last one frees the scope, then its parent's. */
static void sysgenid_scope_put(struct sysgenid_scope *scope)
{
	struct sysgenid_scope *parent;

	while (refcount_dec_and_mutex_lock(&scope->ref, &sysgenid_scope_lock)) {
		parent = scope->parent;
		spin_lock_irq(&sysgenid_lock);
		list_del(&scope->sibling);
		spin_unlock_irq(&sysgenid_lock);
		mutex_unlock(&sysgenid_scope_lock);

		free_page((unsigned long)scope->page);
		put_pid_ns(scope->ns);
		kfree(scope);
		scope = parent;
	}
}

/* The child scope of @parent for @ns, or NULL. */
static struct sysgenid_scope *sysgenid_child(struct sysgenid_scope *parent,
					     struct pid_namespace *ns)
{
	struct sysgenid_scope *s;

	list_for_each_entry(s, &parent->children, sibling)
		if (s->ns == ns)
			return s;
	return NULL;
}

/* Whether tasks may still join @ns: false once its init has exited. */
static bool sysgenid_pidns_alive(struct pid_namespace *ns)
{
	return READ_ONCE(ns->pid_allocated) & PIDNS_ADDING;
}

/*
 * Drops the tree's reference on the scopes of pid namespaces that died
 * (all of them with @all, at unload); those that no file or mapping holds
 * are freed. A walk over scopes, made when a scope is made.
 */
static void sysgenid_scope_reap(bool all)
{
	struct sysgenid_scope *s, *dead[16];
	int i, n;

	do {
		n = 0;
		mutex_lock(&sysgenid_scope_lock);
		for (s = &sysgenid_root; s && n < ARRAY_SIZE(dead);
		     s = sysgenid_next(s, &sysgenid_root)) {
			if (s->cached && (all || !sysgenid_pidns_alive(s->ns))) {
				s->cached = false;
				dead[n++] = s;
			}
		}
		mutex_unlock(&sysgenid_scope_lock);
		/* Children first: each holds its parent. */
		for (i = n - 1; i >= 0; i--)
			sysgenid_scope_put(dead[i]);
	} while (n == ARRAY_SIZE(dead));
}

/* A new scope for @ns below @parent, which it references. */
static struct sysgenid_scope *sysgenid_scope_new(struct sysgenid_scope *parent,
						 struct pid_namespace *ns)
{
	struct sysgenid_scope *scope;

	lockdep_assert_held(&sysgenid_scope_lock);

	/* Charged to the opener: anyone may make pid namespaces. */
	scope = kzalloc(sizeof(*scope), GFP_KERNEL_ACCOUNT);
	if (!scope)
		return NULL;
	scope->page = (struct sysgenid_page *)
		get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!scope->page) {
		kfree(scope);
		return NULL;
	}
	atomic64_set(&scope->seq, 0);
	init_waitqueue_head(&scope->event_wait);
	init_waitqueue_head(&scope->watchers_wait);
	INIT_LIST_HEAD(&scope->children);
	scope->ns = get_pid_ns(ns);
	/* The caller's reference and the tree's. */
	refcount_set(&scope->ref, 2);
	scope->cached = true;
	refcount_inc(&parent->ref);
	scope->parent = parent;
	scope->page->vmgenid_offset = sysgenid_root.page->vmgenid_offset;

	spin_lock_irq(&sysgenid_lock);
	/* A value no scope has had since load, and the ID of the root's. */
	scope->page->generation = ++sysgenid_clock;
	memcpy(scope->page->vmgenid, sysgenid_root.page->vmgenid,
	       sizeof(scope->page->vmgenid));
	list_add_tail(&scope->sibling, &parent->children);
	spin_unlock_irq(&sysgenid_lock);
	return scope;
}

/*
 * The scope of @ns, referenced, made with the missing ones above it if it
 * has none yet; an ERR_PTR on failure.
 */
static struct sysgenid_scope *sysgenid_scope_get(struct pid_namespace *ns)
{
	struct pid_namespace *chain[MAX_PID_NS_LEVEL + 1];
	struct sysgenid_scope *scope = &sysgenid_root, *child;
	struct pid_namespace *p;
	int level;

	if (WARN_ON_ONCE(ns->level > MAX_PID_NS_LEVEL))
		return ERR_PTR(-EINVAL);
	for (p = ns; p->level; p = p->parent)
		chain[p->level] = p;

	mutex_lock(&sysgenid_scope_lock);
	/* The common case: a scope of a living namespace. */
	if (ns->level) {
		for (level = 1, scope = &sysgenid_root;
		     scope && level <= ns->level; level++)
			scope = sysgenid_child(scope, chain[level]);
		if (scope && refcount_inc_not_zero(&scope->ref)) {
			mutex_unlock(&sysgenid_scope_lock);
			return scope;
		}
		mutex_unlock(&sysgenid_scope_lock);
		/* Making one: first free the scopes of dead namespaces. */
		sysgenid_scope_reap(false);
		mutex_lock(&sysgenid_scope_lock);
		scope = &sysgenid_root;
	}
	refcount_inc(&scope->ref);
	for (level = 1; level <= ns->level; level++) {
		child = sysgenid_child(scope, chain[level]);
		if (child) {
			refcount_inc(&child->ref);
		} else {
			child = sysgenid_scope_new(scope, chain[level]);
			if (!child) {
				mutex_unlock(&sysgenid_scope_lock);
				sysgenid_scope_put(scope);
				return ERR_PTR(-ENOMEM);
			}
		}
		/* The child holds its parent now; the walk moves down. */
		refcount_dec(&scope->ref);
		scope = child;
	}
	mutex_unlock(&sysgenid_scope_lock);
	return scope;
}

static int sysgenid_open(struct inode *inode, struct file *file)
{
	struct sysgenid_scope *scope;
	struct sysgenid_file *priv;

	/* Charged to the opener's memory cgroup: anyone may open the node. */
	priv = kzalloc(sizeof(*priv), GFP_KERNEL_ACCOUNT);
	if (!priv)
		return -ENOMEM;
	scope = sysgenid_scope_get(task_active_pid_ns(current));
	if (IS_ERR(scope)) {
		kfree(priv);
		return PTR_ERR(scope);
	}
	priv->scope = scope;

	spin_lock_irq(&sysgenid_lock);
	atomic64_set(&priv->acked_seq, atomic64_read(&scope->seq));
	priv->acked_gen = scope->page->generation;
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

	sysgenid_scope_put(priv->scope);
	if (priv->unbound)
		sysgenid_scope_put(priv->unbound);
	kfree(priv);
	return 0;
}

static ssize_t sysgenid_read(struct file *file, char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct sysgenid_file *priv = file->private_data;
	struct sysgenid_scope *scope = sysgenid_use(priv);
	u32 gen;
	int ret;

	if (count < sizeof(gen))
		return -EINVAL;

	if (!sysgenid_is_outdated(priv)) {
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(scope->event_wait,
					       sysgenid_is_outdated(priv));
		if (ret)
			return ret;
	}

	/* Ordered after the sequence load: at least the reported event. */
	gen = READ_ONCE(scope->page->generation);
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
	priv->used = true;
	if (gen != priv->scope->page->generation) {
		/* Stale or not yet reached: the caller must read again. */
		ret = -EINVAL;
	} else if (sysgenid_is_outdated(priv)) {
		if (priv->tracked)
			sysgenid_count(priv->scope, 0, -1);
		atomic64_set(&priv->acked_seq,
			     atomic64_read(&priv->scope->seq));
		priv->acked_gen = gen;
	}
	spin_unlock_irq(&sysgenid_lock);
	return ret;
}

static __poll_t sysgenid_poll(struct file *file, poll_table *wait)
{
	struct sysgenid_file *priv = file->private_data;

	poll_wait(file, &sysgenid_use(priv)->event_wait, wait);
	return sysgenid_is_outdated(priv) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* A mapping of a scope's page keeps the scope, and so the page. */
static void sysgenid_vm_open(struct vm_area_struct *vma)
{
	struct sysgenid_scope *scope = vma->vm_private_data;

	refcount_inc(&scope->ref);
}

static void sysgenid_vm_close(struct vm_area_struct *vma)
{
	sysgenid_scope_put(vma->vm_private_data);
}

static const struct vm_operations_struct sysgenid_vm_ops = {
	.open	= sysgenid_vm_open,
	.close	= sysgenid_vm_close,
};

static int sysgenid_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct sysgenid_file *priv = file->private_data;
	struct sysgenid_scope *scope = sysgenid_use(priv);
	phys_addr_t phys;
	int ret;

	/* VM_MAYSHARE: a read-only file's shared mapping lacks VM_SHARED. */
	if (vma->vm_pgoff > SYSGENID_VMGENID_PGOFF || vma_pages(vma) != 1 ||
	    !(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/* Data, never code, never writable. */
	if (vma->vm_flags & (VM_WRITE | VM_EXEC))
		return -EPERM;

	if (!vma->vm_pgoff)
		phys = virt_to_phys(scope->page);
	else if (sysgenid_vmgenid_page)
		phys = sysgenid_vmgenid_page;
	else
		return -ENODEV;

	/* Nor made so by a later mprotect(). */
	vm_flags_clear(vma, VM_MAYWRITE | VM_MAYEXEC);
	/* Also VM_DONTEXPAND and VM_DONTDUMP; the mapping is kept on fork(). */
	ret = remap_pfn_range(vma, vma->vm_start, PHYS_PFN(phys), PAGE_SIZE,
			      vma->vm_page_prot);
	if (ret)
		return ret;
	vma->vm_private_data = scope;
	vma->vm_ops = &sysgenid_vm_ops;
	sysgenid_vm_open(vma);
	return 0;
}

static void sysgenid_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct sysgenid_file *priv = file->private_data;
	struct sysgenid_scope *scope;
	bool tracked, outdated;
	u32 acked;

	spin_lock_irq(&sysgenid_lock);
	scope = priv->scope;
	acked = priv->acked_gen;
	tracked = priv->tracked;
	outdated = sysgenid_is_outdated(priv);
	spin_unlock_irq(&sysgenid_lock);

	seq_printf(m, "sysgenid-acked: %u\n", acked);
	seq_printf(m, "sysgenid-tracked: %d\n", tracked);
	seq_printf(m, "sysgenid-outdated: %d\n", outdated);
	/* The pid namespace, as /proc/PID/ns/pid names it: pid:[INUM]. */
	seq_printf(m, "sysgenid-scope: %u\n", scope->ns->ns.inum);
	seq_printf(m, "sysgenid-scope-level: %u\n", scope->ns->level);
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
	.compat_ioctl	= sysgenid_compat_ioctl,
	.show_fdinfo	= sysgenid_show_fdinfo,
};

static ssize_t generation_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(sysgenid_root.page->generation));
}
static DEVICE_ATTR_RO(generation);

static ssize_t watchers_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(sysgenid_root.tree_watchers));
}
static DEVICE_ATTR_RO(watchers);

static ssize_t outdated_watchers_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(sysgenid_root.tree_outdated));
}
static DEVICE_ATTR_RO(outdated_watchers);

/* How an event reseeds the RNG: see sysgenid_reseed(). */
static ssize_t reseed_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	const char *how = READ_ONCE(sysgenid_random) ? "ioctl" : "none";

	return sysfs_emit(buf, "%s\n", how);
}
static DEVICE_ATTR_RO(reseed);

/* How a clone can be seen before its notification. */
static ssize_t vmgenid_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	const char *how = sysgenid_vmgenid ? "ioctl" : "none";

	return sysfs_emit(buf, "%s\n", sysgenid_vmgenid_page ? "page" : how);
}
static DEVICE_ATTR_RO(vmgenid);

static struct attribute *sysgenid_attrs[] = {
	&dev_attr_generation.attr,
	&dev_attr_watchers.attr,
	&dev_attr_outdated_watchers.attr,
	&dev_attr_reseed.attr,
	&dev_attr_vmgenid.attr,
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

static void sysgenid_vmfork_work_fn(struct work_struct *work)
{
	sysgenid_vmgenid_sync(false);
}

static DECLARE_WORK(sysgenid_vmfork_work, sysgenid_vmfork_work_fn);

/*
 * Backend: VM generation ID changes seen by the kernel's vmgenid driver,
 * which has reseeded the RNG by the time it calls the chain.
 */
static int sysgenid_vmfork_notify(struct notifier_block *nb,
				  unsigned long action, void *data)
{
	/* With no ID to compare, each notification is one change. */
	if (!sysgenid_vmgenid)
		sysgenid_bump_generation();
	/* The device-tree vmgenid calls the chain from its interrupt. */
	else if (!in_task())
		schedule_work(&sysgenid_vmfork_work);
	else
		sysgenid_vmgenid_sync(false);
	return NOTIFY_DONE;
}

static struct notifier_block sysgenid_vmfork_nb = {
	.notifier_call = sysgenid_vmfork_notify,
};

#ifdef CONFIG_ACPI

static const struct acpi_device_id sysgenid_vmgenid_ids[] = {
	{ "QEMUVGID", 0 },
	{ "VMGENCTR", 0 },
	{ "VMGENID", 0 },
	{ "VM_GEN_COUNTER", 0 },	/* the compatible ID */
	{ }
};

/* ADDR returns the physical address of the ID as two integers, low, high. */
static int sysgenid_acpi_addr(acpi_handle handle, phys_addr_t *addr)
{
	struct acpi_buffer buf = { ACPI_ALLOCATE_BUFFER, NULL };
	union acpi_object *obj;
	int ret = -EINVAL;
	u32 lo, hi;

	if (ACPI_FAILURE(acpi_evaluate_object(handle, "ADDR", NULL, &buf)))
		return -ENODEV;
	obj = buf.pointer;
	if (obj && obj->type == ACPI_TYPE_PACKAGE && obj->package.count == 2 &&
	    obj->package.elements[0].type == ACPI_TYPE_INTEGER &&
	    obj->package.elements[1].type == ACPI_TYPE_INTEGER) {
		lo = lower_32_bits(obj->package.elements[0].integer.value);
		hi = lower_32_bits(obj->package.elements[1].integer.value);
		*addr = (u64)hi << 32 | lo;
		ret = 0;
	}
	ACPI_FREE(buf.pointer);
	return ret;
}

/*
 * QEMU puts the ID at offset 40 of a 4 KiB blob of its own (fw_cfg file
 * etc/vmgenid_guid), page-aligned, outside the kernel's RAM and otherwise
 * zero: that page holds nothing else and may be shown to user space. Other
 * hypervisors keep the ID beside other data (Firecracker in guest memory).
 */
#define SYSGENID_QEMU_VMGENID_OFFSET	40
#define SYSGENID_QEMU_BLOB_SIZE		SZ_4K

static bool sysgenid_vmgenid_page_ok(struct acpi_device *adev,
				     phys_addr_t addr, const u8 *page)
{
	size_t end = SYSGENID_QEMU_VMGENID_OFFSET + SYSGENID_VMGENID_SIZE;
	size_t blob = SYSGENID_QEMU_BLOB_SIZE;

	/* The page must be the blob: 4 KiB pages only. */
	return blob == PAGE_SIZE &&
	       !strcmp(acpi_device_hid(adev), "QEMUVGID") &&
	       offset_in_page(addr) == SYSGENID_QEMU_VMGENID_OFFSET &&
	       region_intersects(addr & PAGE_MASK, PAGE_SIZE,
				 IORESOURCE_SYSTEM_RAM,
				 IORES_DESC_NONE) == REGION_DISJOINT &&
	       !memchr_inv(page, 0, SYSGENID_QEMU_VMGENID_OFFSET) &&
	       !memchr_inv(page + end, 0, PAGE_SIZE - end);
}

/* Finds the VM generation ID, whichever driver owns its device. */
static int sysgenid_vmgenid_init(void)
{
	const struct acpi_device_id *id;
	struct acpi_device *adev = NULL;
	phys_addr_t addr, page;
	u8 *base;
	int ret;

	for (id = sysgenid_vmgenid_ids; id->id[0] && !adev; id++)
		adev = acpi_dev_get_first_match_dev(id->id, NULL, -1);
	if (!adev)
		return -ENODEV;

	ret = sysgenid_acpi_addr(adev->handle, &addr);
	if (ret)
		goto out;

	page = addr & PAGE_MASK;
	base = memremap(page, PAGE_SIZE, MEMREMAP_WB);
	if (base && sysgenid_vmgenid_page_ok(adev, addr, base)) {
		if (vmgenid_map) {
			sysgenid_vmgenid_page = page;
			sysgenid_root.page->vmgenid_offset =
				offset_in_page(addr);
		}
	} else {
		if (base)
			memunmap(base);
		page = addr;
		base = memremap(page, SYSGENID_VMGENID_SIZE, MEMREMAP_WB);
		if (!base) {
			ret = -ENOMEM;
			goto out;
		}
	}
	sysgenid_vmgenid_base = base;
	sysgenid_vmgenid = base + (addr - page);

	/* The ID at load time is the reference, not an event. */
	sysgenid_set_vmgenid(sysgenid_root.page, sysgenid_vmgenid);
	add_device_randomness(sysgenid_vmgenid, SYSGENID_VMGENID_SIZE);
	pr_info("VM generation ID of %s at %pa%s\n", dev_name(&adev->dev),
		&addr, sysgenid_vmgenid_page ? ", mappable" : "");
out:
	acpi_dev_put(adev);
	return ret;
}

static void sysgenid_vmgenid_exit(void)
{
	if (sysgenid_vmgenid_base)
		memunmap(sysgenid_vmgenid_base);
}

#else

static int sysgenid_vmgenid_init(void)
{
	return -ENODEV;
}

static void sysgenid_vmgenid_exit(void)
{
}

#endif /* CONFIG_ACPI */

static void sysgenid_cleanup(void)
{
	sysgenid_vmgenid_exit();
	if (sysgenid_random)
		filp_close(sysgenid_random, NULL);
	free_page((unsigned long)sysgenid_root.page);
}

static int __init sysgenid_init(void)
{
	int ret;

	sysgenid_root.page = (struct sysgenid_page *)get_zeroed_page(GFP_KERNEL);
	if (!sysgenid_root.page)
		return -ENOMEM;
	sysgenid_clock = get_random_u32();

	/* Built in, this fails: see sysgenid_reseed_work_fn(). */
	sysgenid_random_init();
	ret = sysgenid_vmgenid_init();
	if (ret && ret != -ENODEV)
		pr_warn("cannot read the VM generation ID (%d)\n", ret);

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
	sysgenid_cleanup();
	return ret;
}
module_init(sysgenid_init);

static void __exit sysgenid_exit(void)
{
	if (vmfork)
		unregister_random_vmfork_notifier(&sysgenid_vmfork_nb);
	flush_work(&sysgenid_vmfork_work);
	misc_deregister(&sysgenid_misc);
	/*
	 * No file, hence no mapping, is left: each holds a module reference.
	 * Only the tree holds scopes now.
	 */
	sysgenid_scope_reap(true);
	sysgenid_cleanup();
}
module_exit(sysgenid_exit);

MODULE_DESCRIPTION("System Generation ID: a counter of VM snapshot restores and clones");
MODULE_LICENSE("GPL");

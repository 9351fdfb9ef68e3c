// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: reports a sysgenid event from hard-IRQ context every
 * few milliseconds, as the vmgenid driver of a device-tree platform does
 * from its interrupt handler (6.10+), so that lockdep and
 * CONFIG_DEBUG_ATOMIC_SLEEP check the event path against every
 * process-context user of sysgenid's lock. Never shipped: the debug
 * kernel's suite 49-irqbump loads it (tests/debug-kernel/).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/module.h>

#include "sysgenid.h"

static unsigned int period_us = 2000;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "Time between two events, in microseconds (default 2000)");

static struct hrtimer irqbump_timer;
static atomic_t irqbump_events = ATOMIC_INIT(0);
static atomic_t irqbump_not_hardirq = ATOMIC_INIT(0);

static enum hrtimer_restart irqbump_fire(struct hrtimer *t)
{
	/* HRTIMER_MODE_REL_HARD: expires in hard-IRQ context, even on RT. */
	if (!in_hardirq())
		atomic_inc(&irqbump_not_hardirq);
	sysgenid_bump_generation();
	atomic_inc(&irqbump_events);
	hrtimer_forward_now(t, ns_to_ktime((u64)period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static int __init irqbump_init(void)
{
	if (!period_us)
		return -EINVAL;
	hrtimer_init(&irqbump_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	irqbump_timer.function = irqbump_fire;
	hrtimer_start(&irqbump_timer, ns_to_ktime((u64)period_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	pr_info("an event every %u us from hard IRQ\n", period_us);
	return 0;
}
module_init(irqbump_init);

static void __exit irqbump_exit(void)
{
	hrtimer_cancel(&irqbump_timer);
	/* The suite reads this line from the kernel log. */
	pr_info("%d events, %d outside hard IRQ\n",
		atomic_read(&irqbump_events), atomic_read(&irqbump_not_hardirq));
}
module_exit(irqbump_exit);

MODULE_DESCRIPTION("sysgenid test: events from hard-IRQ context");
MODULE_LICENSE("GPL");

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels sysgenid builds for, kept
 * here so that the driver reads as it would upstream.
 */
#ifndef _SYSGENID_COMPAT_H
#define _SYSGENID_COMPAT_H

#include <linux/acpi.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/version.h>

/* v6.3 made vma->vm_flags read-only and added accessors. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_clear(struct vm_area_struct *vma,
				  unsigned long flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* v6.10 has acpi_bus_register_driver() fill in the driver's owner. */
#ifdef CONFIG_ACPI
static inline void sysgenid_acpi_driver_owner(struct acpi_driver *drv)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
	drv->owner = THIS_MODULE;
#endif
}
#endif

#endif /* _SYSGENID_COMPAT_H */

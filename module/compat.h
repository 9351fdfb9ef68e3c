/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels sysgenid builds for, kept
 * here so that the driver reads as it would upstream.
 */
#ifndef _SYSGENID_COMPAT_H
#define _SYSGENID_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

/* v6.3 made vma->vm_flags read-only and added accessors. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_clear(struct vm_area_struct *vma,
				  unsigned long flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * v6.10 moved the built-in vmgenid driver from the ACPI bus to the platform
 * bus. sysgenid_acpi binds on the same bus, so that one device is driven by
 * one of the two, never both.
 */
#define SYSGENID_VMGENID_PLATFORM_DRIVER \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0))

#endif /* _SYSGENID_COMPAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sysgenid: the interface for backends that report system generation events.
 * Upstream this would be include/linux/sysgenid.h.
 */
#ifndef _LINUX_SYSGENID_H
#define _LINUX_SYSGENID_H

#include <uapi/linux/sysgenid.h>

void sysgenid_bump_generation(void);
int sysgenid_vmgenid_changed(void);

#endif /* _LINUX_SYSGENID_H */

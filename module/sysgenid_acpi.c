// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid_acpi: the ACPI backend of sysgenid.
 *
 * Drives the Virtual Machine Generation ID device of QEMU, Hyper-V and
 * Firecracker where the kernel's own vmgenid driver does not: kernels
 * without CONFIG_VMGENID, or an administrator's choice (force=1). The
 * hypervisor writes a new 16-byte ID into guest memory when it restores or
 * clones the VM, then notifies the device (0x80); sysgenid reads the ID,
 * reseeds the kernel's RNG with it and makes the event.
 *
 * One device is driven by one driver, never two: this one registers on the
 * bus that the kernel's vmgenid driver uses, found when it loads (vmgenid
 * moved from the ACPI bus to the platform bus in v6.10), so that the
 * driver core binds a device to one of the two.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/acpi.h>
#include <linux/device.h>
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/platform_device.h>

#include "compat.h"
#include "sysgenid.h"

#define SYSGENID_ACPI_NOTIFY_CHANGED	0x80

static bool force;
module_param(force, bool, 0444);
MODULE_PARM_DESC(force,
		 "Bind even where the kernel's vmgenid driver could: it then misses the devices this driver takes (default: off)");

/* Runs on kacpi_notify_wq, in process context. */
static void sysgenid_acpi_notify(acpi_handle handle, u32 event, void *data)
{
	if (event == SYSGENID_ACPI_NOTIFY_CHANGED)
		sysgenid_vmgenid_changed();
}

static void sysgenid_acpi_remove_notify(void *handle)
{
	/* Also waits for a notification in progress to return. */
	acpi_remove_notify_handler(handle, ACPI_DEVICE_NOTIFY,
				   sysgenid_acpi_notify);
}

/* Device-managed on the bound device: unbinding undoes it. */
static int sysgenid_acpi_setup(struct device *dev, struct acpi_device *adev)
{
	acpi_status status;
	int ret;

	/* sysgenid reads the ID; an ID changed since it loaded is an event. */
	ret = sysgenid_vmgenid_changed();
	if (ret) {
		dev_err(dev, "sysgenid cannot read this device's ID\n");
		return ret;
	}
	status = acpi_install_notify_handler(adev->handle, ACPI_DEVICE_NOTIFY,
					     sysgenid_acpi_notify, NULL);
	if (ACPI_FAILURE(status)) {
		dev_err(dev, "installing the notify handler: %s\n",
			acpi_format_exception(status));
		return -ENODEV;
	}
	return devm_add_action_or_reset(dev, sysgenid_acpi_remove_notify,
					adev->handle);
}

static const struct acpi_device_id sysgenid_acpi_ids[] = {
	{ "QEMUVGID", 0 },
	{ "VMGENCTR", 0 },
	{ "VMGENID", 0 },
	{ "VM_GEN_COUNTER", 0 },	/* the compatible ID */
	{ }
};
MODULE_DEVICE_TABLE(acpi, sysgenid_acpi_ids);

static int sysgenid_acpi_probe(struct platform_device *pdev)
{
	struct acpi_device *adev = ACPI_COMPANION(&pdev->dev);

	if (!adev)
		return -ENODEV;
	return sysgenid_acpi_setup(&pdev->dev, adev);
}

static struct platform_driver sysgenid_acpi_platform_driver = {
	.probe = sysgenid_acpi_probe,
	.driver = {
		.name = KBUILD_MODNAME,
		.acpi_match_table = sysgenid_acpi_ids,
	},
};

static int sysgenid_acpi_add(struct acpi_device *adev)
{
	return sysgenid_acpi_setup(&adev->dev, adev);
}

static struct acpi_driver sysgenid_acpi_bus_driver = {
	.name = KBUILD_MODNAME,
	.ids = sysgenid_acpi_ids,
	.ops = {
		.add = sysgenid_acpi_add,
	},
};

/* Which of the two is registered, if any. */
static bool sysgenid_acpi_on_platform, sysgenid_acpi_registered;

/*
 * Whether the kernel's vmgenid driver is registered, and whether on the
 * platform bus or on the ACPI bus that the device's ACPI node sits on
 * (acpi_bus_type is not exported).
 */
static bool sysgenid_acpi_vmgenid(struct acpi_device *adev, bool *on_platform)
{
	*on_platform = driver_find("vmgenid", &platform_bus_type);
	return *on_platform || driver_find("vmgenid", adev->dev.bus);
}

static int __init sysgenid_acpi_init(void)
{
	const struct acpi_device_id *id;
	struct acpi_device *adev = NULL;
	bool vmgenid;
	int ret;

	for (id = sysgenid_acpi_ids; id->id[0] && !adev; id++)
		adev = acpi_dev_get_first_match_dev(id->id, NULL, -1);
	if (!adev)
		return -ENODEV;

	/* MODULE_SOFTDEP does this for modprobe; insmod needs it too. */
	if (IS_MODULE(CONFIG_VMGENID))
		request_module("vmgenid");
	vmgenid = sysgenid_acpi_vmgenid(adev, &sysgenid_acpi_on_platform);
	acpi_dev_put(adev);

	if (vmgenid && !force) {
		pr_info("the kernel's vmgenid driver serves VM generation ID devices, and sysgenid hears it; not binding (force=1 overrides)\n");
		return 0;
	}

	/* Without vmgenid either bus serves: the ACPI bus, on every kernel. */
	if (sysgenid_acpi_on_platform) {
		ret = platform_driver_register(&sysgenid_acpi_platform_driver);
	} else {
		sysgenid_acpi_driver_owner(&sysgenid_acpi_bus_driver);
		ret = acpi_bus_register_driver(&sysgenid_acpi_bus_driver);
	}
	sysgenid_acpi_registered = !ret;
	return ret;
}
module_init(sysgenid_acpi_init);

static void __exit sysgenid_acpi_exit(void)
{
	if (!sysgenid_acpi_registered)
		return;
	if (sysgenid_acpi_on_platform)
		platform_driver_unregister(&sysgenid_acpi_platform_driver);
	else
		acpi_bus_unregister_driver(&sysgenid_acpi_bus_driver);
}
module_exit(sysgenid_acpi_exit);

MODULE_SOFTDEP("pre: vmgenid");
MODULE_DESCRIPTION("sysgenid backend for the ACPI VM Generation ID device");
MODULE_LICENSE("GPL");

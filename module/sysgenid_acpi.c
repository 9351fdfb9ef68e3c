// SPDX-License-Identifier: GPL-2.0
/*
 * sysgenid_acpi: the ACPI backend of sysgenid.
 *
 * Drives the Virtual Machine Generation ID device of QEMU, Hyper-V and
 * Firecracker on kernels without CONFIG_VMGENID, or where the built-in
 * vmgenid driver is not bound. The hypervisor writes a new 16-byte ID into
 * guest memory when it restores or clones the VM, then notifies the device
 * (0x80): a changed ID is one sysgenid event.
 *
 * It binds on the bus the built-in driver binds on (compat.h), so that a
 * device is driven by one of the two, never both: a change of the ID is
 * exactly one event whichever modules are loaded.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/acpi.h>
#include <linux/device.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/random.h>
#include <linux/string.h>

#include "compat.h"
#include "sysgenid.h"

#define SYSGENID_ACPI_NOTIFY_CHANGED	0x80

enum { VMGENID_SIZE = 16 };

struct sysgenid_acpi {
	acpi_handle handle;
	const u8 *id;			/* written by the hypervisor */
	struct mutex lock;		/* one notification at a time */
	u8 last_id[VMGENID_SIZE];	/* under lock */
};

/*
 * Runs on kacpi_notify_wq, which is not ordered: two notifications can run
 * at once, hence the lock around compare-and-update.
 */
static void sysgenid_acpi_notify(acpi_handle handle, u32 event, void *data)
{
	struct sysgenid_acpi *s = data;
	u8 id[VMGENID_SIZE];

	if (event != SYSGENID_ACPI_NOTIFY_CHANGED)
		return;

	mutex_lock(&s->lock);
	memcpy(id, s->id, sizeof(id));
	if (memcmp(id, s->last_id, sizeof(id))) {
		memcpy(s->last_id, id, sizeof(id));
		/* Reseed before waking the watchers that will draw on it. */
		add_device_randomness(id, sizeof(id));
		sysgenid_bump_generation();
	}
	mutex_unlock(&s->lock);
}

static void sysgenid_acpi_remove_notify(void *data)
{
	struct sysgenid_acpi *s = data;

	/* Also waits for a notification in progress to return. */
	acpi_remove_notify_handler(s->handle, ACPI_DEVICE_NOTIFY,
				   sysgenid_acpi_notify);
}

/* ADDR returns the physical address of the ID as two integers, low, high. */
static int sysgenid_acpi_addr(struct device *dev, acpi_handle handle,
			      phys_addr_t *addr)
{
	struct acpi_buffer buf = { ACPI_ALLOCATE_BUFFER, NULL };
	union acpi_object *obj;
	acpi_status status;
	int ret = 0;
	u32 lo, hi;

	status = acpi_evaluate_object(handle, "ADDR", NULL, &buf);
	if (ACPI_FAILURE(status)) {
		dev_err(dev, "evaluating ADDR: %s\n",
			acpi_format_exception(status));
		return -ENODEV;
	}

	obj = buf.pointer;
	if (obj && obj->type == ACPI_TYPE_PACKAGE && obj->package.count == 2 &&
	    obj->package.elements[0].type == ACPI_TYPE_INTEGER &&
	    obj->package.elements[1].type == ACPI_TYPE_INTEGER) {
		lo = lower_32_bits(obj->package.elements[0].integer.value);
		hi = lower_32_bits(obj->package.elements[1].integer.value);
		*addr = (u64)hi << 32 | lo;
	} else {
		dev_err(dev, "ADDR is not a package of two integers\n");
		ret = -EINVAL;
	}

	ACPI_FREE(buf.pointer);
	return ret;
}

/* Everything is device-managed: unbinding undoes it in reverse order. */
static int sysgenid_acpi_setup(struct device *dev, struct acpi_device *adev)
{
	struct sysgenid_acpi *s;
	acpi_status status;
	phys_addr_t addr;
	void *id;
	int ret;

	s = devm_kzalloc(dev, sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->handle = adev->handle;
	mutex_init(&s->lock);

	ret = sysgenid_acpi_addr(dev, s->handle, &addr);
	if (ret)
		return ret;

	id = devm_memremap(dev, addr, VMGENID_SIZE, MEMREMAP_WB);
	if (IS_ERR(id))
		return PTR_ERR(id);
	s->id = id;

	/* The ID at bind time is the reference, not an event. */
	memcpy(s->last_id, s->id, VMGENID_SIZE);
	add_device_randomness(s->last_id, VMGENID_SIZE);

	status = acpi_install_notify_handler(s->handle, ACPI_DEVICE_NOTIFY,
					     sysgenid_acpi_notify, s);
	if (ACPI_FAILURE(status)) {
		dev_err(dev, "installing the notify handler: %s\n",
			acpi_format_exception(status));
		return -ENODEV;
	}
	return devm_add_action_or_reset(dev, sysgenid_acpi_remove_notify, s);
}

static const struct acpi_device_id sysgenid_acpi_ids[] = {
	{ "QEMUVGID", 0 },
	{ "VMGENCTR", 0 },
	{ "VMGENID", 0 },
	{ "VM_GEN_COUNTER", 0 },	/* the compatible ID */
	{ }
};
MODULE_DEVICE_TABLE(acpi, sysgenid_acpi_ids);

#if SYSGENID_VMGENID_PLATFORM_DRIVER

static int sysgenid_acpi_probe(struct platform_device *pdev)
{
	struct acpi_device *adev = ACPI_COMPANION(&pdev->dev);

	if (!adev)
		return -ENODEV;
	return sysgenid_acpi_setup(&pdev->dev, adev);
}

static struct platform_driver sysgenid_acpi_driver = {
	.probe = sysgenid_acpi_probe,
	.driver = {
		.name = KBUILD_MODNAME,
		.acpi_match_table = sysgenid_acpi_ids,
	},
};
module_platform_driver(sysgenid_acpi_driver);

#else

static int sysgenid_acpi_add(struct acpi_device *adev)
{
	return sysgenid_acpi_setup(&adev->dev, adev);
}

static struct acpi_driver sysgenid_acpi_driver = {
	.name = KBUILD_MODNAME,
	.ids = sysgenid_acpi_ids,
	.owner = THIS_MODULE,
	.ops = {
		.add = sysgenid_acpi_add,
	},
};
module_acpi_driver(sysgenid_acpi_driver);

#endif

MODULE_DESCRIPTION("sysgenid backend for the ACPI VM Generation ID device");
MODULE_LICENSE("GPL");

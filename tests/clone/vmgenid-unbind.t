#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/clone/vmgenid-unbind.t KERNEL: the kernel's own vmgenid driver
survives a sysfs unbind followed by a restore, and works once bound again.

Not a host-*.t: make check does not run it, since it fails on Debian's 6.12
as it is; make check-debug runs it on its kernel, which carries the fix.
From 6.10 to at least 6.12.118, unbinding vmgenid leaves its ACPI
notify handler installed, and the next notification, which QEMU raises on
every restore, dereferences the driver data that the unbind cleared: the
guest oopses (and, booted by tests/vm/boot, panics). The fix is
upstream/vmgenid/0001-*.patch; run this test on a kernel that carries it
(make check-debug, once its tree has the series) or, to show the bug, on
one that does not: there it fails, and must.

One chain of guests, each saved and restored as the next, on one vCPU with
-cpu max (RDRAND: the CRNG is ready at boot, so that the kernel logs its
reseed on a VM fork):

  origin     vmgenid bound (vmgenid.ko loaded where it is a module, the
             debug kernel), then unbound through sysfs: its device has no
             driver
  unbound    a clone with a new ID: QEMU notifies it (GPE 05 counted); the
             guest must still answer SETTLE seconds later and its kernel
             log show no Oops, BUG, KASAN report or warning. vmgenid is
             then bound again through sysfs, which must succeed
  rebound    a clone with a new ID: the notification must reach vmgenid,
             which reseeds the CRNG ("crng reseeded due to virtual machine
             fork" once more in the kernel log) and tells sysgenid (the
             generation moves by exactly one); log clean
  unloaded   only where vmgenid is a module: it is unloaded, and a clone
             with a new ID is notified; it must answer and its log stay
             clean (a handler left behind would run unloaded code)

Where the kernel has no vmgenid driver for QEMU's device at all, the
scenario is skipped, not passed. Up to 6.9 vmgenid sits on the ACPI bus,
whose unbind removes the handler: the test passes there.

Run by tests/debug-kernel/check; SYSGENID_KVER, KDIR and
SYSGENID_KERNEL name a kernel that is not installed (make check-debug,
which stages that tree's drivers/virt/vmgenid.ko). SETTLE_MIN (default 5)
in seconds. Consoles under build/vmgenid-unbind/KVER/.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clonetest as ct  # noqa: E402
from clonetest import GUARD, vmctl  # noqa: E402

SETTLE = float(os.environ.get("SETTLE_MIN", "5"))
BAD_LOG = re.compile(ct.BAD_LOG.pattern +
                     r"|KASAN|UBSAN|general protection fault|"
                     r"unable to handle")
RESEED = "crng reseeded due to virtual machine fork"

# The QEMU device, the vmgenid driver that has it (platform bus from 6.10,
# ACPI bus before) and that device's name on that bus. Prints
# "driver=DIR dev=NAME", "driver=none dev=NAME" or "nodevice"; one line,
# as clone-agent reads one command a line.
FIND = ("adev=$(ls -d /sys/bus/acpi/devices/QEMUVGID:* 2>/dev/null | "
        "head -n 1); [ -n \"$adev\" ] || { echo nodevice; exit 0; }; "
        "for d in \"$adev\" \"$adev/physical_node\"; do "
        "[ -e \"$d\" ] || continue; "
        "dev=$(basename \"$(readlink -f \"$d\")\"); "
        "if [ -e \"$d/driver\" ]; then "
        "echo \"driver=$(readlink -f \"$d/driver\") dev=$dev\"; exit 0; "
        "fi; done; echo \"driver=none dev=${dev:-?}\"")


def find(g):
    out = g.check(FIND)
    m = re.match(r"driver=(\S+) dev=(\S+)$", out[-1]) if out else None
    return (m.group(1), m.group(2)) if m else (None, None)


def gpe05(g):
    return int(g.check("cat /sys/firmware/acpi/interrupts/gpe05")[0]
               .split()[0])


def reseeds(g):
    return int(g.check("dmesg | grep -c '%s' || true" % RESEED)[0])


def log_clean(tap, g, name):
    bad = []
    if os.path.exists(g.console):
        with open(g.console, errors="replace") as f:
            bad = [l.rstrip() for l in f if BAD_LOG.search(l)]
    alive = g.proc.poll() is None
    tap.result(alive and not bad, name + ": alive, kernel log clean",
               bad[:8] + ([] if alive else ["QEMU exited"]))


class Run:
    def __init__(self, tap, kver, initrd, work):
        self.tap, self.kver, self.initrd, self.work = tap, kver, initrd, work
        self.guests = []

    def close(self):
        for g in self.guests:
            g.kill()
        self.guests = []

    def next(self, g, name):
        """Save g, quit it, resume a clone of it with a new ID."""
        img = os.path.join(self.work, name + ".img")
        g.save(img)
        g.quit()
        c = g.clone(img, name, "auto")
        self.guests.append(c)
        c.wait_incoming()
        c.cont()
        os.unlink(img)
        return c

    def notified(self, c, gpe0, name):
        """Wait until c counted GPE 05, then the settle window; a result."""
        deadline = time.monotonic() + GUARD
        gpe = gpe0
        try:
            while gpe <= gpe0 and time.monotonic() < deadline:
                time.sleep(0.2)
                gpe = gpe05(c)
            if gpe > gpe0:
                time.sleep(SETTLE)
                c.check("true")         # still answering
        except (vmctl.VMError, vmctl.Timeout, OSError) as e:
            # OSError: the channel broke, QEMU is gone (a panic).
            self.tap.result(False, name + ": notified (GPE 05 counted) and "
                            "answering", ["%s: %s" % (type(e).__name__, e)] +
                            ct.last_words(c))
            return False
        self.tap.result(gpe > gpe0, name + ": notified (GPE 05 %d -> %d)" %
                        (gpe0, gpe))
        return gpe > gpe0

    def scenario(self):
        tap = self.tap
        g = vmctl.Guest(self.kver, self.initrd, self.work, "origin",
                        guid="auto", mem="256M", smp=1,
                        qemu_args=("-cpu", "max"))
        self.guests.append(g)
        g.wait_ready()
        # Where vmgenid is a module (the debug kernel), load it first.
        status, out = g.run("[ ! -e /lib/sysgenid/vmgenid.ko ] || "
                            "grep -qw '^vmgenid' /proc/modules || "
                            "insmod /lib/sysgenid/vmgenid.ko")
        module = g.run("grep -qw '^vmgenid' /proc/modules")[0] == 0
        drv, dev = find(g)
        if status or drv is None or not drv.endswith("/vmgenid"):
            tap.result(True, "unbind # SKIP no vmgenid driver bound to "
                       "QEMU's device (%s)" % " ".join(out + [str(drv)]))
            return
        bus = drv.split("/")[3]
        tap.comment("vmgenid %s, %s bus, device %s" %
                    ("a module" if module else "built in", bus, dev))
        status, out = g.run("echo %s >%s/unbind" % (dev, drv))
        now = find(g)[0]
        tap.result(status == 0 and now == "none",
                   "origin: vmgenid unbound from %s (%s bus)" % (dev, bus),
                   out + ["driver now %s" % now])
        if now != "none":
            return
        log_clean(tap, g, "origin")

        gpe0 = gpe05(g)
        c = self.next(g, "unbound")
        if not self.notified(c, gpe0, "unbound"):
            log_clean(tap, c, "unbound")
            return
        log_clean(tap, c, "unbound")
        if c.proc.poll() is not None:
            return
        status, out = c.run("echo %s >%s/bind" % (dev, drv))
        now = find(c)[0]
        tap.result(status == 0 and now == drv,
                   "unbound: vmgenid bound again", out +
                   ["driver now %s" % now])
        if now != drv:
            return

        gen0, n0, gpe0 = ct.sysfs_gen(c), reseeds(c), gpe05(c)
        r = self.next(c, "rebound")
        if self.notified(r, gpe0, "rebound"):
            gen, n = ct.sysfs_gen(r), reseeds(r)
            tap.result(gen == gen0 + 1 and n == n0 + 1,
                       "rebound: vmgenid took the notification (generation "
                       "%d -> %d, one more CRNG reseed logged)" %
                       (gen0, gen0 + 1),
                       ["generation %d, %d reseed lines (%d before)" %
                        (gen, n, n0)])
        log_clean(tap, r, "rebound")
        if not module or r.proc.poll() is not None:
            return

        status, out = r.run("rmmod vmgenid && ! grep -qw '^vmgenid' "
                            "/proc/modules")
        tap.result(status == 0, "rebound: vmgenid unloaded", out)
        gpe0 = gpe05(r)
        u = self.next(r, "unloaded")
        self.notified(u, gpe0, "unloaded")
        log_clean(tap, u, "unloaded")


def run(tap, name, kver, initrd, work):
    r = Run(tap, kver, initrd, work)
    try:
        r.scenario()
    finally:
        r.close()


def main():
    return ct.main("vmgenid-unbind", ("unbind",), run)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/clone/host-devicetree.t KERNEL: the device-tree vmgenid path (arm64).

An arm64 guest whose device tree has a microsoft,vmgenid node (tests/vm/
arm64-dtb), the host playing the hypervisor (tests/vm/vmctl.py): it writes
a new ID into the guest's ID page through QEMU's gdbstub and raises the
node's interrupt (QMP system_powerdown). The kernel's vmgenid driver
(6.10+) then calls add_vmfork_randomness(), which reseeds the CRNG and
calls the VM fork chain, from which sysgenid.ko counts the event.

  in-place  three rounds of a new ID and its interrupt, then the interrupt
            alone (the ID unchanged), then a last new ID: each new ID is
            exactly one event (generation +1) and one "crng reseeded due
            to virtual machine fork"; an unchanged ID is none. The
            interrupts are handled in order, so the count seen after the
            next new ID's event covers the unchanged one before it.
  clone     an origin saved, then a clone with a new ID and one with the
            origin's, each given its ID before cont and the interrupt
            after: one event and none; then a new ID in the same-ID clone
            is its first event.
  control   sysgenid.ko reloaded with vmfork=0 (its notifier not
            registered): the kernel still reseeds on a new ID, and the
            generation stays. The other scenarios' events come from the
            notifier, and this test fails without it.

With SYSGENID_VMGENID_KO (make check-debug-arm64: the vmgenid.ko of the
unpatched source, the guest's /lib/sysgenid/vmgenid.ko replaced), one
scenario instead:

  stock     one new ID: counted, and the debug kernel reports the VM fork
            chain (a blocking notifier) called from vmgenid's interrupt
            handler ("sleeping function called from invalid context"):
            the bug upstream/vmgenid/0002 fixes, seen, so that the clean
            logs of the patched driver mean something.

Each other scenario ends with the kernel log clean: on the debug kernel (lockdep,
CONFIG_DEBUG_ATOMIC_SLEEP) no report of the notifier run from the
interrupt. Every wait has a guard; a guard that fires is a failure.

A host test of tests/vm/check for 6.12-arm64 (6.1's vmgenid is ACPI-only);
SYSGENID_KVER, KDIR and SYSGENID_KERNEL name a kernel that is not installed
(make check-debug-arm64). Consoles under build/devicetree/KVER/.
"""

import contextlib
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clonetest as ct  # noqa: E402

GEN = "/sys/class/misc/sysgenid/generation"
RESEED = "crng reseeded due to virtual machine fork"
# The vmgenid line of /proc/interrupts, summed over the CPUs.
IRQS = ("awk '/vmgenid/ { n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; "
        "i++) n += $i; print n }' /proc/interrupts")
POLL = 600                      # tries, 50 ms apart, of a guest-side wait


def irqs(g):
    out = g.check(IRQS)
    if not out or not out[0].isdigit():
        raise ct.vmctl.VMError("no vmgenid interrupt: %s" % out)
    return int(out[0])


def reseeds(g):
    return int(g.check("dmesg | grep -c '%s' || :" % RESEED)[0])


def wait_until(g, cond, what):
    """Wait in the guest until the shell test cond holds; a guard that
    fires raises Timeout."""
    status, out = g.run("i=0; until %s; do [ $((i += 1)) -le %d ] || "
                        "exit 1; sleep 0.05; done" % (cond, POLL), 120)
    if status:
        raise ct.vmctl.Timeout("%s: not after %d polls: %s" %
                               (g.name, POLL, what))


def wait_irqs(g, n):
    """Wait for the nth interrupt, then for the line to fall again: QEMU's
    power key holds it high for 100 ms of guest time, and a pulse within
    that makes no edge (the next interrupt would be lost)."""
    wait_until(g, '[ "$(%s)" -ge %d ]' % (IRQS, n),
               "%d vmgenid interrupts" % n)
    g.check("sleep 0.2")


def wait_gen_above(g, gen):
    wait_until(g, '[ "$(cat %s)" -gt %d ]' % (GEN, gen),
               "generation above %d" % gen)


def new_id(tap, g, p, gen, irq, what):
    """A new ID and its interrupt: one event. The expected generation
    and interrupt count after it."""
    g.write_id("auto")
    g.notify()
    wait_irqs(g, irq + 1)
    wait_gen_above(g, gen)
    got = ct.sysfs_gen(g)
    tap.result(got == gen + 1, "%s%s: generation %d -> %d (one event)" %
               (p, what, gen, gen + 1), ["generation %d" % got])
    return gen + 1, irq + 1


def backend(tap, g, p):
    status, out = g.run("clone-backend vmfork")
    tap.result(status == 0, p + "backend: " + " ".join(out[-1:]), out)
    return status == 0


def guest(kver, initrd, work, name, **kw):
    return ct.vmctl.Guest(kver, initrd, work, name, guid=str(uuid.uuid4()),
                          mem="256M", smp=1, **kw)


@contextlib.contextmanager
def vmfork_guest(tap, kver, initrd, work, name):
    """A guest up with the vmfork backend (a result for it), killed after;
    None if the backend did not come up."""
    g = guest(kver, initrd, work, name)
    try:
        g.wait_ready()
        yield g if backend(tap, g, name + "/") else None
    finally:
        g.kill()


def in_place(tap, kver, initrd, work):
    p = "in-place/"
    with vmfork_guest(tap, kver, initrd, work, "in-place") as g:
        if not g:
            return
        gen, irq, r0 = ct.sysfs_gen(g), irqs(g), reseeds(g)
        for k in (1, 2, 3):
            gen, irq = new_id(tap, g, p, gen, irq, "new ID %d" % k)
            g.notify()
            wait_irqs(g, irq + 1)
            irq += 1
        gen0 = gen
        gen, irq = new_id(tap, g, p, gen, irq, "new ID 4")
        tap.result(gen == gen0 + 1, p + "the three unchanged-ID interrupts "
                   "arrived and made no event", ["interrupts %d" % irqs(g)])
        r = reseeds(g) - r0
        tap.result(r == 4, p + "the kernel reseeded once per new ID (%s)" %
                   RESEED, ["%d times for 4 new IDs" % r])
        ct.log_clean(tap, g, p + "kernel log clean")


def clone(tap, kver, initrd, work):
    p = "clone/"
    img = os.path.join(work, "clone.img")
    origin = guest(kver, initrd, work, "clone-origin")
    cs = []
    try:
        origin.wait_ready()
        if not backend(tap, origin, p):
            return
        gen, irq = ct.sysfs_gen(origin), irqs(origin)
        origin.save(img)
        origin.quit()
        cs = [origin.clone(img, "clone-new", "auto"),
              origin.clone(img, "clone-same", origin.guid())]
        for c in cs:
            c.wait_incoming()
        for c in cs:
            c.cont()
        new, same = cs
        wait_irqs(new, irq + 1)
        wait_gen_above(new, gen)
        got = ct.sysfs_gen(new)
        tap.result(got == gen + 1, p + "new-ID clone: generation %d -> %d "
                   "(one event)" % (gen, gen + 1), ["generation %d" % got])
        wait_irqs(same, irq + 1)
        new_id(tap, same, p, gen, irq + 1,
               "same-ID clone: no event, then a new ID")
        for c in cs:
            ct.log_clean(tap, c, p + c.name + ": kernel log clean")
    finally:
        for g in [origin] + cs:
            g.kill()
        if os.path.exists(img):
            os.unlink(img)


def control(tap, kver, initrd, work):
    p = "control/"
    with vmfork_guest(tap, kver, initrd, work, "control") as g:
        if not g:
            return
        status, out = g.run("rmmod sysgenid && insmod "
                            "/lib/sysgenid/sysgenid.ko vmfork=0 && "
                            "cat /sys/module/sysgenid/parameters/vmfork")
        tap.result(status == 0 and out == ["N"], p + "sysgenid.ko "
                   "reloaded with vmfork=0", out)
        if status:
            return
        gen, irq, r0 = ct.sysfs_gen(g), irqs(g), reseeds(g)
        g.write_id("auto")
        g.notify()
        wait_irqs(g, irq + 1)
        wait_until(g, '[ "$(dmesg | grep -c \'%s\')" -gt %d ]' % (RESEED, r0),
                   "the kernel's reseed")
        got = ct.sysfs_gen(g)
        tap.result(got == gen, p + "a new ID: the kernel reseeded, and "
                   "without the notifier the generation stayed %d" % gen,
                   ["generation %d" % got])
        ct.log_clean(tap, g, p + "kernel log clean")


def stock(tap, kver, initrd, work):
    p = "stock/"
    with vmfork_guest(tap, kver, initrd, work, "stock") as g:
        if not g:
            return
        new_id(tap, g, p, ct.sysfs_gen(g), irqs(g), "new ID")
        with open(g.console, errors="replace") as f:
            log = f.read()
        bug = "BUG: sleeping function called from invalid context"
        at = log.find(bug)
        trace = log[at:at + 4000].splitlines()
        tap.result(at >= 0 and any("blocking_notifier_call_chain" in l
                                   for l in trace) and
                   any("vmgenid_of_irq_handler" in l for l in trace),
                   p + "the kernel reports the VM fork chain called from "
                   "vmgenid's interrupt handler",
                   [l for l in trace if bug in l or "in_atomic" in l or
                    "blocking_notifier" in l or "vmgenid" in l][:8] or
                   ["no report in %s" % g.console])
        lockdep = "BUG: Invalid wait context" in log
        tap.comment("%sand lockdep reports %s" % (
            p, "an invalid wait context (the chain's rwsem taken in hard "
            "IRQ)" if lockdep else "nothing"))
        tap.result(g.proc.poll() is None, p + "the guest runs on")


SCENARIOS = {"in-place": in_place, "clone": clone, "control": control}


def main():
    if os.environ.get("SYSGENID_VMGENID_KO"):
        return ct.main("devicetree-stock", ["stock"],
                       lambda tap, s, *guest: stock(tap, *guest))
    return ct.main("devicetree", list(SCENARIOS),
                   lambda tap, s, *guest: SCENARIOS[s](tap, *guest))


if __name__ == "__main__":
    sys.exit(main())

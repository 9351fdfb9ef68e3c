#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/debian/host-guest.t KERNEL: sysgenid on a Debian 12 system.

The image of build-image (mmdebstrap, the project's packages installed with
apt-get, DKMS-built modules, sysgenid-ready.service enabled, the example
hooks and the recording hook 99-test-record in /etc/sysgenid/hooks.d/)
boots KERNEL's /boot/vmlinuz with the image's own initrd, systemd as PID 1,
from a copy of its disk. The test agent (a unit of the image) answers on
ttyS1; `sysgenid ready` reports on the virtio-serial port.

  plain   no VM generation ID device, so that nothing but modules-load.d
          loads the module: the system is running with no failed unit;
          systemd-modules-load inserted sysgenid, the DKMS-built one; the
          hooks service is active and a tracked watcher; the host reads
          `ready 0`. `sysgenid bump`: every hook ran once, for generation
          1 (the journal's lines, 99-test-record's environment), and the
          host reads `ready 1`. Then the packages are purged: none of their
          files, no unit, no module file left, and the module unloads
          (nothing holds it)
  clones  an origin with a VM generation ID is saved and cloned: two
          clones with new IDs, one with the origin's ID (the control). In
          each new-ID clone an orchestrator's `sysgenid wait-watchers`
          returns only once the hooks ran (the last one sleeps 2 s before
          it records), each hook ran once for G0+1 with SYSGENID_PREVIOUS
          G0, the host reads `ready G0+1`, the boot ID differs from the
          origin's and the other clone's (30-boot-id), the random seed is
          gone (10-random-seed), the clock hook ran (40-clock), and no unit
          failed. In the same-ID clone, after `sysgenid sync`: G0, no hook
          ran, the boot ID and the seed are the origin's, no ready line

A host test of tests/vm/check: results KERNEL/debian/guest/...; consoles
under build/debian/KERNEL/.
"""

import os
import shutil
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "clone"))
import clonetest as ct  # noqa: E402
from clonetest import vmctl  # noqa: E402

BOOT_GUARD = 300                # seconds to multi-user.target under TCG
HOOKS = ["10-random-seed", "20-mix-entropy", "30-boot-id", "40-clock",
         "99-test-record"]
HOOKS_DIR = "/etc/sysgenid/hooks.d"
RECORD = "/var/lib/sysgenid-test/record"
SEED = "/var/lib/systemd/random-seed"
PKGS = "sysgenid-dkms libsysgenid1 libsysgenid-dev sysgenid"
ORIGIN_GUID = "6b1d8f0e-3c5a-4f7e-9d2b-8a4e1c0f5d17"


def build_image(kvers):
    """build-image for every kernel of make check: the image is made once
    and shared. Returns its directory; raises RuntimeError."""
    r = subprocess.run([os.path.join(TOP, "tests", "debian", "build-image")]
                       + kvers, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode:
        raise RuntimeError("build-image: " + r.stderr.strip())
    return r.stdout.strip().splitlines()[-1]


def boot(image, kver, work, name, **kw):
    disk = os.path.join(work, name + ".img")
    copy_disk(os.path.join(image, "disk.img"), disk)
    return vmctl.Guest(kver, os.path.join(image, "initrd.img-" + kver), work,
                       name, init=None, disk=disk, append="root=/dev/vda rw",
                       mem="768M", ready=True, limit=1200,
                       qemu_args=["-device", "virtio-rng-pci"], **kw)


def copy_disk(src, dst):
    ct.sh("cp", "--sparse=always", src, dst)


def drop_disk(g):
    """A guest's disk copy, once it quit (1.3 GB each): the origin's stays
    until its clones have theirs."""
    os.unlink(os.path.join(g.workdir, g.name + ".img"))


def running(tap, g, name):
    """The boot reached multi-user.target with no failed unit."""
    st, out = g.run("systemctl is-system-running --wait", BOOT_GUARD)
    failed = g.check("systemctl --failed --no-legend --plain")
    tap.result(st == 0 and out == ["running"] and not failed,
               "%s: the system is running, no failed unit" % name,
               out + failed)


def no_failed(tap, g, name):
    failed = g.check("systemctl --failed --no-legend --plain")
    tap.result(not failed, "%s: no failed unit" % name, failed)


def hook_lines(g, gen=None):
    """The hooks service's "done" lines (sysgenid watch --verbose), for
    generation gen or for any. Not `journalctl -b`: after 30-boot-id it
    looks for the new boot ID, while journald stamps every entry with the
    one it read at its start (the journal is in /run: this boot's alone)."""
    out = g.check("journalctl -q -o cat -u sysgenid-hooks.service")
    pre = "sysgenid: watch: hook %s/" % HOOKS_DIR
    done = []
    for line in out:
        if line.startswith(pre) and ": done for generation " in line:
            hook, n = line[len(pre):].split(": done for generation ")
            if gen is None or int(n) == gen:
                done.append(hook)
    return done


def record(g):
    """The test hook's lines: none if it never ran."""
    return g.check("cat %s 2>/dev/null; true" % RECORD)


def hooks_ran(tap, g, name, gen, prev, lines):
    """Each hook ran once for gen: the journal, and the test hook's record
    of its environment (lines: the record, read by the caller)."""
    done = hook_lines(g, gen)
    tap.result(sorted(done) == HOOKS,
               "%s: every hook ran once for generation %d (journal)" %
               (name, gen), ["ran: %s" % done, "expected: %s" % HOOKS])
    want = "gen=%d prev=%d" % (gen, prev)
    tap.result(lines == [want],
               "%s: the test hook got SYSGENID_GENERATION=%d, "
               "SYSGENID_PREVIOUS=%d" % (name, gen, prev),
               ["record: %s" % lines])


def hooks_watcher(tap, g, name):
    """sysgenid-hooks.service is active and its watcher is tracked."""
    out = g.check("systemctl is-active sysgenid-hooks.service; "
                  "pid=$(systemctl show -P MainPID sysgenid-hooks.service); "
                  "cat /proc/$pid/fdinfo/* | grep '^sysgenid-tracked:' "
                  "|| true")
    tap.result(out[:1] == ["active"] and
               any(l.split() == ["sysgenid-tracked:", "1"] for l in out[1:]),
               "%s: sysgenid-hooks.service is active, a tracked watcher" %
               name, out)


def ready_line(tap, g, name, gen):
    try:
        n, secs = g.wait_ready_line(ct.GUARD, gen)
        tap.result(True, "%s: the host reads `ready %d`" % (name, n))
        if secs is not None:
            tap.comment("%s: cont to ready %.3f s (host)" % (name, secs))
    except vmctl.Timeout as e:
        tap.result(False, "%s: the host reads `ready %d`" % (name, gen),
                   [str(e)] + ["ready port: %s" % l
                               for _, l in g.ready_seen()])


def plain(tap, image, kver, work):
    name = "plain"
    g = boot(image, kver, work, name, guid="none")
    try:
        g.wait_ready(BOOT_GUARD)
        running(tap, g, name)
        # By its tag: its lines from before journald may lack the unit.
        out = g.check("journalctl -q -o cat -t systemd-modules-load")
        tap.result("Inserted module 'sysgenid'" in out,
                   "%s: systemd-modules-load inserted sysgenid "
                   "(modules-load.d)" % name, out)
        path = g.check("modinfo -n sysgenid")
        dkms = g.check("dkms status sysgenid -k $(uname -r) 2>/dev/null | "
                       "grep '^sysgenid/'")
        dkms_dir = "/lib/modules/%s/updates/dkms/" % kver
        tap.result(path in (["%ssysgenid.ko" % dkms_dir],
                            ["%ssysgenid.ko.xz" % dkms_dir]) and
                   len(dkms) == 1 and
                   dkms[0].endswith(": installed"),
                   "%s: the module is the one DKMS built" % name,
                   path + dkms)
        tap.result(g.run("test -c /dev/sysgenid")[0] == 0,
                   "%s: /dev/sysgenid is there" % name)
        hooks_watcher(tap, g, name)
        ready_line(tap, g, name, 0)

        gen = ct.sysfs_gen(g)
        g.check("sysgenid bump")
        st, out = g.run("sysgenid wait-watchers --timeout 60000", 90)
        tap.result(st == 0, "%s: after a bump, wait-watchers returns" % name,
                   out)
        hooks_ran(tap, g, name, gen + 1, gen, record(g))
        ready_line(tap, g, name, gen + 1)
        no_failed(tap, g, name)

        purge(tap, g, name)
        ct.log_clean(tap, g, "%s: kernel log clean" % name)
    finally:
        g.quit()
        drop_disk(g)


def purge(tap, g, name):
    files = g.check("dpkg -L %s | sort -u | while read -r f; do "
                    "[ -d \"$f\" ] || echo \"$f\"; done" % PKGS)
    st, out = g.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "
                    + PKGS, 300)
    tap.result(st == 0, "%s: apt-get purge of the packages" % name,
               out[-10:] if st else [])
    left = g.check("for f in %s; do [ -e \"$f\" ] && echo \"$f\"; done; "
                   "true" % " ".join(files))
    tap.result(files and not left,
               "%s: none of the packages' %d files is left" %
               (name, len(files)), left[:10])
    units = g.check("systemctl list-unit-files --no-legend 'sysgenid*'; "
                    "true")
    tap.result(not units, "%s: no sysgenid unit is left" % name, units)
    mods = g.check("find /lib/modules /var/lib/dkms -name 'sysgenid*' "
                   "2>/dev/null; true")
    tap.result(not mods, "%s: no module file is left" % name, mods)
    st, out = g.run("rmmod sysgenid_acpi 2>/dev/null; rmmod sysgenid")
    tap.result(st == 0, "%s: the module unloads: nothing holds it" % name,
               out)


def clones(tap, image, kver, work):
    o = boot(image, kver, work, "origin", guid=ORIGIN_GUID)
    state = os.path.join(work, "origin.state")
    try:
        o.wait_ready(BOOT_GUARD)
        running(tap, o, "origin")
        hooks_watcher(tap, o, "origin")
        g0 = ct.sysfs_gen(o)
        ready_line(tap, o, "origin", g0)
        boot_id = o.check("cat /proc/sys/kernel/random/boot_id")[0]
        seed = o.run("test -s " + SEED)[0] == 0
        tap.result(seed, "origin: systemd saved a random seed")
        o.check(": >" + RECORD + "; sync")
        o.save(state)
    finally:
        o.quit()

    ids = {"origin": boot_id}
    for name in ("new1", "new2"):
        c = clone(o, state, work, name)
        try:
            # The orchestrator's wait, sent at once: sync first, so that it
            # waits for this clone's event even before the notification.
            st, rec = c.run("sysgenid sync >/dev/null && "
                            "sysgenid wait-watchers --timeout 60000 && "
                            "{ cat %s 2>/dev/null; true; }" % RECORD, 90)
            tap.result(st == 0, "%s: sysgenid wait-watchers returns" % name,
                       rec)
            ready_line(tap, c, name, g0 + 1)
            hooks_ran(tap, c, name, g0 + 1, g0, rec)
            ids[name] = c.check("cat /proc/sys/kernel/random/boot_id")[0]
            others = [k for k in ids if k != name]
            tap.result(all(ids[k] != ids[name] for k in others),
                       "%s: its own boot ID, not %s's (30-boot-id)" %
                       (name, " or ".join(others)), [str(ids)])
            tap.result(c.run("test -e " + SEED)[0] != 0,
                       "%s: the saved random seed is gone (10-random-seed)" %
                       name)
            no_failed(tap, c, name)
            ct.log_clean(tap, c, "%s: kernel log clean" % name)
        finally:
            c.quit()
            drop_disk(c)

    name = "same"
    c = clone(o, state, work, name, guid=ORIGIN_GUID)
    try:
        gen = int(c.check("sysgenid sync")[0])
        tap.result(gen == g0, "%s: the origin's ID: generation stays %d" %
                   (name, g0), ["generation %d" % gen])
        st, _ = c.run("sysgenid wait-watchers --timeout 60000", 90)
        tap.result(st == 0 and not hook_lines(c) and
                   not record(c),
                   "%s: no hook ran (journal, record)" % name)
        tap.result(c.check("cat /proc/sys/kernel/random/boot_id")[0] ==
                   boot_id and c.run("test -s " + SEED)[0] == 0,
                   "%s: the origin's boot ID and random seed" % name)
        seen = [l for _, l in c.ready_seen()]
        tap.result(not seen, "%s: no ready line" % name, seen)
        no_failed(tap, c, name)
    finally:
        c.quit()
        drop_disk(c)


def clone(origin, state, work, name, guid="auto"):
    """A clone of the saved origin on a copy of the origin's disk."""
    disk = os.path.join(work, name + ".img")
    copy_disk(os.path.join(work, "origin.img"), disk)
    c = origin.clone(state, name, guid=guid, disk=disk)
    c.wait_incoming()
    c.cont()
    return c


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: %s KERNEL\n" % sys.argv[0])
        return 2
    tap = ct.Tap()
    t0 = time.monotonic()
    try:
        kver = ct.sh(os.path.join(TOP, "tests", "vm", "kver"), sys.argv[1])
        # One image for every kernel of this make check.
        kvers = [ct.sh(os.path.join(TOP, "tests", "vm", "kver"), k)
                 for k in os.environ.get("SYSGENID_KERNELS",
                                         "6.1 6.12").split()]
        if kver not in kvers:
            kvers.append(kver)
        t = time.monotonic()
        image = build_image(kvers)
        tap.comment("image %s (%.0f s), kernel %s" %
                    (image, time.monotonic() - t, kver))
    except RuntimeError as e:
        tap.result(False, "build the image", str(e).splitlines()[-20:])
        tap.plan()
        return 0
    work = os.path.join(ct.BUILD, "debian", kver)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for fn in (plain, clones):
        try:
            fn(tap, image, kver, work)
        except Exception as e:          # reported, and the next one runs
            tap.result(False, "%s: scenario stopped: %s: %s" %
                       (fn.__name__, type(e).__name__, e))
    for f in os.listdir(work):          # the consoles stay
        if f.endswith((".img", ".state")):
            os.unlink(os.path.join(work, f))
    tap.comment("wall time %.1f s" % (time.monotonic() - t0))
    tap.plan()
    return 0


if __name__ == "__main__":
    sys.exit(main())

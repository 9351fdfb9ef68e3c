#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/clone/host-restore.t KERNEL: VM save/restore/clone tests, in TAP.

KERNEL is a series (6.1) or a release (6.1.0-56-amd64). For each backend,
a guest is booted with a fixed VM generation ID, four watchers are started
in it (clone-watch read, epoll, mmap, orch), and it is saved to a file.
Three clones are started from that one file and resumed together:

  new1, new2  a new generation ID each: in each, every watcher must see
              exactly the generation of the save plus one and confirm it,
              and the orchestrator's SYSGENID_WAIT_WATCHERS must return 0
  same        the origin's generation ID: QEMU still writes the ID and
              raises the ACPI notification on restore, so the guest must
              show that it took the notification (GPE 05 counted) and the
              generation must not move

"Exactly one event": after a settle period the generation in sysfs must be
the saved one plus one in new1 and new2, and each watcher must have seen
one event, whichever backends are loaded. The settle period is measured,
not guessed: it is ten times the slowest resume-to-confirmation time of
new1 and new2 in this very run, at least SETTLE_MIN seconds, counted from
the resume of the clone under test. new1, new2 and same come from the same
image and are resumed together, so an event that "same" were going to see
would have come by then, as it did in the other two. (No user-space call
flushes the kernel's ACPI notify queue for every backend, so a time window
is the only witness for "nothing happens". For the ACPI backend, "same"
then unbinds sysgenid_acpi, which waits for the notifications in flight, and
the generation must still not have moved.)

Backends:
  vmfork  the built-in vmgenid driver tells sysgenid.ko through the VM fork
          notifier; sysgenid_acpi.ko is loaded too and must stay unbound
  acpi    sysgenid_acpi.ko drives the device: on 6.1 vmgenid is unbound
          in sysfs; from 6.10 on vmgenid's sysfs unbind leaves its notify
          handler behind (an oops on the next notification), so the guest
          boots with initcall_blacklist=vmgenid_plaform_driver_init. The
          ACPI run goes on with new1: unbind and rebind sysgenid_acpi,
          save and clone again (one event), then rmmod it, save and clone
          again (no event, no oops: its notify handler is gone), and
          check that it cannot load without sysgenid.ko.

A host test of tests/vm/check (docs/HACKING.md): it exits 0 once its TAP
stream is complete, failures included, and non-zero if it could not finish
it. `make -C tests/clone check KVER=...` runs it through tap-summary.

Environment: SYSGENID_STAGE=0 skips staging (make -C module stage, make -C
tests/clone stage); SETTLE_MIN (default 5) in seconds. Consoles of every
guest under build/clone/KVER/ (the saved images are deleted).
"""

import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clonetest as ct  # noqa: E402
from clonetest import BLACKLIST, GUARD, sysfs_gen, vmctl  # noqa: E402

SETTLE_MIN = float(os.environ.get("SETTLE_MIN", "5"))
MODES = ("read", "epoll", "mmap", "orch")


def gpe05(g):
    return int(g.check("cat /sys/firmware/acpi/interrupts/gpe05")[0].split()[0])


def watcher_lines(g, mode, what):
    pat = re.compile(r"@w %s %s gen=(\d+)" % (mode, what))
    return [(t, int(pat.match(l).group(1))) for t, l in
            g.matching(lambda l: pat.match(l) is not None)]


def errors(g):
    return [l for _, l in g.matching(lambda l: " error " in l)]


class Run:
    def __init__(self, tap, kver, initrd, work):
        self.tap, self.kver, self.initrd, self.work = tap, kver, initrd, work
        self.guests = []

    def guest(self, name, guid, append=""):
        g = vmctl.Guest(self.kver, self.initrd, self.work, name, guid=guid,
                        append=append, mem="256M")
        self.guests.append(g)
        return g

    def close(self):
        for g in self.guests:
            g.kill()
        self.guests = []

    def log_clean(self, g, name):
        ct.log_clean(self.tap, g, name)

    def start_watchers(self, g):
        g.check("clone-watchers " + " ".join(MODES))
        return {m: g.wait_line(lambda l, m=m: l.startswith(
            "@w %s opened" % m), GUARD)[1] for m in MODES}

    def restore(self, g, img, clones):
        """Start clones [(name, guid)] of g from img, resume them together."""
        cs = [g.clone(img, n, guid) for n, guid in clones]
        self.guests += cs
        for c in cs:
            c.wait_incoming()
        for c in cs:
            c.t_cont = c.cont()
        return cs

    def event_seen(self, c):
        """Wait for each watcher's confirmation; the latencies, or raise."""
        lat = {}
        for m in MODES:
            what = "waited" if m == "orch" else "confirmed"
            t, l = c.wait_line(lambda l, m=m, w=what: l.startswith(
                "@w %s %s " % (m, w)), GUARD)
            lat[m] = t - c.t_cont
        return lat

    def check_event(self, c, gen0, name):
        """One clone that must see exactly one event: gen0 + 1."""
        try:
            lat = self.event_seen(c)
        except (vmctl.Timeout, vmctl.VMError) as e:
            self.tap.result(False, name + ": watchers saw the event",
                            [str(e)] + errors(c))
            return None
        diag = []
        ok = not errors(c)
        for m in MODES:
            saw = [g for _, g in watcher_lines(c, m, "saw")]
            conf = [g for _, g in watcher_lines(c, m, "confirmed")]
            good = saw[:1] == [gen0 + 1] and conf[:1] == [gen0 + 1]
            ok &= good
            diag.append("%-5s saw %s, confirmed %s, %.3f s after cont" %
                        (m, saw, conf, lat[m]))
        waited = c.matching(lambda l: l.startswith("@w orch waited"))
        w_ok = bool(waited) and " ret=0 " in waited[0][1]
        ok &= w_ok
        diag.append("orch: " + (waited[0][1] if waited else "no wait"))
        self.tap.result(ok, name + ": every watcher saw generation %d and "
                        "confirmed; orchestrator's wait returned 0" %
                        (gen0 + 1), diag + errors(c))
        return max(lat.values())

    def check_once(self, c, gen0, name):
        gen = sysfs_gen(c)
        counts = {m: len(watcher_lines(c, m, "saw")) for m in MODES}
        self.tap.result(gen == gen0 + 1 and all(n == 1 for n in
                                                 counts.values()),
                        name + ": exactly one event (generation %d -> %d)" %
                        (gen0, gen0 + 1),
                        ["generation now %d, events seen per watcher %s" %
                         (gen, counts)])

    def check_none(self, c, gen0, gpe0, name):
        gpe = gpe05(c)
        gen = sysfs_gen(c)
        saw = c.matching(lambda l: re.match(r"@w \w+ saw", l))
        self.tap.result(gpe > gpe0 and gen == gen0 and not saw,
                        name + ": notified (GPE 05 %d -> %d), no event" %
                        (gpe0, gpe),
                        ["generation %d (saved at %d), watcher lines %s" %
                         (gen, gen0, [l for _, l in saw])])

    def settle(self, clones, latencies):
        slowest = max([l for l in latencies if l is not None] or [0])
        wait = max(SETTLE_MIN, 10 * slowest)
        until = max(c.t_cont for c in clones) + wait
        self.tap.comment("settling until %.1f s after the last cont "
                         "(10 x slowest %.3f s, at least %g s)" %
                         (wait, slowest, SETTLE_MIN))
        time.sleep(max(0, until - time.monotonic()))

    def scenario(self, backend):
        tap = self.tap
        b = backend + "/"
        guid = str(uuid.uuid4())
        img = os.path.join(self.work, backend + ".img")

        origin = self.guest(backend + "-origin", guid,
                            BLACKLIST if backend == "acpi" else "")
        origin.wait_ready()
        status, out = origin.run("clone-backend " + backend)
        tap.result(status == 0, b + "backend bound: " + " ".join(out[-1:]),
                   out)
        if status:
            return
        opened = self.start_watchers(origin)
        gen0 = sysfs_gen(origin)
        gpe0 = gpe05(origin)
        tap.result(all(l.endswith("gen=%d" % gen0) for l in opened.values()),
                   b + "four watchers opened at generation %d" % gen0,
                   list(opened.values()))

        t = time.monotonic()
        origin.save(img)
        origin.quit()
        tap.comment("saved %d MB in %.2f s" %
                    (os.path.getsize(img) >> 20, time.monotonic() - t))

        new1, new2, same = self.restore(origin, img, [
            (backend + "-new1", "auto"), (backend + "-new2", "auto"),
            (backend + "-same", guid)])
        ids = {c.name: c.guid() for c in (new1, new2, same)}
        tap.comment("generation IDs: origin %s, %s" % (guid, ids))

        l1 = self.check_event(new1, gen0, b + "new1")
        l2 = self.check_event(new2, gen0, b + "new2")
        tap.result(l1 is not None and l2 is not None and
                   len({guid, ids[new1.name], ids[new2.name]}) == 3,
                   b + "two clones of one image each got their own event")
        self.settle([new1, new2, same], [l1, l2])
        self.check_once(new1, gen0, b + "new1")
        self.check_once(new2, gen0, b + "new2")
        self.check_none(same, gen0, gpe0, b + "same ID")
        if backend == "acpi":
            status, out = same.run(
                "d=$(ls -d /sys/bus/*/drivers/sysgenid_acpi) && "
                "n=$(ls -d $d/QEMUVGID:*) && echo ${n##*/} >$d/unbind && "
                "cat /sys/class/misc/sysgenid/generation")
            tap.result(status == 0 and out == [str(gen0)],
                       b + "same ID: no event once sysgenid_acpi is unbound "
                       "(which waits for notifications in flight)", out)
        for c in (new1, new2, same):
            self.log_clean(c, c.name.replace("-", "/") + ": kernel log clean")
        new2.quit()
        same.quit()
        os.unlink(img)
        if backend == "acpi":
            self.acpi_lifecycle(new1, gen0 + 1, b, [l1, l2])

    def acpi_lifecycle(self, c, gen1, b, latencies):
        """Rebind then unload sysgenid_acpi, with a restore after each."""
        tap = self.tap
        status, out = c.run("set -e; d=$(ls -d /sys/bus/*/drivers/"
                            "sysgenid_acpi); n=$(ls -d $d/QEMUVGID:*); "
                            "n=${n##*/}; echo $n >$d/unbind; "
                            "clone-backend show; echo $n >$d/bind; "
                            "clone-backend show")
        tap.result(status == 0 and out[-2:] == ["driver=none",
                                                "driver=sysgenid_acpi"],
                   b + "sysgenid_acpi unbound and bound again", out)
        img = os.path.join(self.work, "acpi-rebound.img")
        c.save(img)
        c.quit()
        g1, = self.restore(c, img, [("acpi-rebound", "auto")])
        lat = self.check_event(g1, gen1, b + "after rebind")
        self.settle([g1], latencies + [lat])
        self.check_once(g1, gen1, b + "after rebind")

        gpe0 = gpe05(g1)
        status, out = g1.run("rmmod sysgenid_acpi && ! grep -w "
                             "sysgenid_acpi /proc/modules")
        tap.result(status == 0, b + "sysgenid_acpi unloaded", out)
        img2 = os.path.join(self.work, "acpi-unloaded.img")
        g1.save(img2)
        g1.quit()
        g2, = self.restore(g1, img2, [("acpi-unloaded", "auto")])
        self.settle([g2], latencies + [lat])
        self.check_none(g2, gen1 + 1, gpe0, b + "after unload")
        status, out = g2.run(
            "kill $(pidof clone-watch); i=0; until rmmod sysgenid; do "
            "i=$((i + 1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done; "
            "! insmod /lib/sysgenid/sysgenid_acpi.ko && "
            "dmesg | grep 'Unknown symbol sysgenid_'")
        tap.result(status == 0, b + "sysgenid_acpi cannot load without "
                   "sysgenid", out)
        self.log_clean(g2, b + "after unload: kernel log clean")
        g2.quit()
        os.unlink(img)
        os.unlink(img2)


def run(tap, backend, kver, initrd, work):
    r = Run(tap, kver, initrd, work)
    try:
        r.scenario(backend)
    finally:
        r.close()


def main():
    return ct.main("clone", ("vmfork", "acpi"), run)


if __name__ == "__main__":
    sys.exit(main())

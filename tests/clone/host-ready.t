#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/clone/host-ready.t KERNEL: the host is told when a clone is ready.

An origin guest with a virtio-serial port named org.sysgenid.ready
(vmctl.Guest(ready=True); clone-ready-setup loads virtio_console where it
is a module and makes /dev/virtio-ports/org.sysgenid.ready, as udev would)
runs one tracked watcher that sleeps 2 s on each event before it confirms
(clone-watch slow, which logs "confirming" just before its write()) and
`sysgenid ready --vsock`; both append to one guest file, /tmp/seq, so that
its order is the order of events in the guest. The busybox guest has no
AF_VSOCK: ready must say so once and go on with the serial port.

  origin  the command's errors (a missing port: exit 1 with the path named;
          a bad vsock address: exit 2); at start the host reads
          `ready G0`, G0 the guest's generation
  new     a clone with a new ID: the host reads `ready G`, G the clone's
          generation as its sysfs says (not G0), and in /tmp/seq the
          watcher's "confirming gen=G" comes before ready's "ready G":
          ready waited for the watcher (checked by sequence, not timing);
          the vsock message came once; the host's time from QMP cont to
          the line is printed, never judged
  same    a clone with the origin's ID, resumed with new: no ready line
          and the generation stays G0 for a settle window (twice new's
          cont-to-ready time plus SETTLE_MIN seconds); then `sysgenid
          bump` in it gives `ready G0+1` (the port works: the silence was
          the control's)

A host test of tests/vm/check (docs/HACKING.md): it exits 0 once its TAP
stream is complete. Consoles under build/ready/KVER/.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clonetest as ct  # noqa: E402
from clonetest import GUARD, sysfs_gen, vmctl  # noqa: E402

SETTLE_MIN = float(os.environ.get("SETTLE_MIN", "5"))
GUID = "5f9c1c9e-2f6b-4b5e-9a53-0d2a6c7e1f01"
PORT = "/dev/virtio-ports/" + vmctl.READY_PORT
NO_VSOCK = "no AF_VSOCK here"


def seq(g):
    """The guest's /tmp/seq, one entry a line."""
    return g.check("cat /tmp/seq")


def index(lines, text):
    return lines.index(text) if text in lines else None


class Run:
    def __init__(self, tap, kver, initrd, work):
        self.tap, self.kver, self.initrd, self.work = tap, kver, initrd, work
        self.guests = []

    def close(self):
        for g in self.guests:
            g.kill()
        self.guests = []

    def wait_seq(self, g, text):
        deadline = time.monotonic() + GUARD
        while text not in seq(g):
            if time.monotonic() > deadline:
                raise vmctl.Timeout("%s: no %r in /tmp/seq" % (g.name, text))
            time.sleep(0.2)

    def origin(self, img):
        tap, p = self.tap, "origin/"
        g = vmctl.Guest(self.kver, self.initrd, self.work, "origin",
                        guid=GUID, mem="256M", ready=True)
        self.guests.append(g)
        g.wait_ready()
        st, out = g.run("clone-ready-setup")
        tap.result(st == 0 and out == [PORT], p + "the virtio-serial port "
                   "is " + PORT, out)

        st, out = g.run("sysgenid ready --port /nonexistent")
        tap.result(st == 1 and any("/nonexistent" in l for l in out),
                   p + "a missing port: exit 1, the path named",
                   ["status %d" % st] + out)
        st, out = g.run("sysgenid ready --vsock=2")
        tap.result(st == 2, p + "a bad vsock address: exit 2",
                   ["status %d" % st] + out)

        g.check("setsid clone-watch slow </dev/null >>/tmp/seq 2>&1 &")
        self.wait_seq_prefix(g, "@w slow opened gen=")
        gen0 = sysfs_gen(g)
        g.check("setsid sysgenid ready --vsock </dev/null >>/tmp/seq "
                "2>/tmp/ready.err &")
        try:
            gen, _ = g.wait_ready_line(GUARD)
        except (vmctl.Timeout, vmctl.VMError) as e:
            tap.result(False, p + "at start the host reads ready %d" % gen0,
                       [str(e)] + ct.last_words(g))
            raise
        tap.result(gen == gen0, p + "at start the host reads ready %d, the "
                   "guest's generation" % gen0, ["ready %d" % gen])
        self.wait_seq(g, "ready %d" % gen0)
        g.save(img)
        g.quit()
        return g, gen0

    def wait_seq_prefix(self, g, prefix):
        deadline = time.monotonic() + GUARD
        while not any(l.startswith(prefix) for l in seq(g)):
            if time.monotonic() > deadline:
                raise vmctl.Timeout("%s: no %r in /tmp/seq" %
                                    (g.name, prefix))
            time.sleep(0.2)

    def new(self, c, gen0):
        tap, p = self.tap, "new/"
        try:
            gen, secs = c.wait_ready_line(GUARD)
        except (vmctl.Timeout, vmctl.VMError) as e:
            tap.result(False, p + "the host reads a ready line",
                       [str(e)] + ct.last_words(c))
            return None
        now = sysfs_gen(c)
        tap.result(gen == now and now != gen0, p + "the host reads ready "
                   "G, G the clone's generation (%d), not the origin's %d" %
                   (now, gen0), ["ready %d, sysfs %d" % (gen, now)])
        tap.comment("new: QMP cont to ready %d: %.3f s (host clock)" %
                    (gen, secs))
        lines = seq(c)
        conf = index(lines, "@w slow confirming gen=%d" % now)
        ready = index(lines, "ready %d" % now)
        tap.result(conf is not None and ready is not None and conf < ready,
                   p + "ready %d comes only after the watcher confirmed "
                   "(by sequence)" % now, lines)
        err = c.check("cat /tmp/ready.err")
        tap.result(sum(NO_VSOCK in l for l in err) == 1 and len(err) == 1,
                   p + "no AF_VSOCK in this guest: said once, and the "
                   "serial port went on", err)
        lines = [l for _, l in c.ready_seen()]
        tap.result(lines == ["ready %d" % now], p + "one ready line on "
                   "the clone's port", lines)
        ct.log_clean(tap, c, p + "kernel log clean")
        return secs

    def same(self, c, gen0, until):
        tap, p = self.tap, "same/"
        time.sleep(max(0, until - time.monotonic()))
        lines = [l for _, l in c.ready_seen()]
        now = sysfs_gen(c)
        tap.result(not lines and now == gen0, p + "same ID: no ready line "
                   "and the generation stays %d (control)" % gen0,
                   ["lines %s, sysfs %d" % (lines, now)])
        bumped = int(c.check("sysgenid bump")[0])
        try:
            gen, _ = c.wait_ready_line(GUARD)
        except (vmctl.Timeout, vmctl.VMError) as e:
            tap.result(False, p + "after a bump the host reads ready %d" %
                       bumped, [str(e)] + ct.last_words(c))
            return
        tap.result(gen == bumped and bumped != gen0, p + "after a bump "
                   "the host reads ready %d: the port works" % bumped,
                   ["ready %d" % gen])
        ct.log_clean(tap, c, p + "kernel log clean")

    def ready(self):
        img = os.path.join(self.work, "ready.img")
        origin, gen0 = self.origin(img)
        cs = [origin.clone(img, "new", "auto"),
              origin.clone(img, "same", GUID)]
        self.guests += cs
        for c in cs:
            c.wait_incoming()
        for c in cs:
            c.cont()
        new, same = cs
        secs = self.new(new, gen0)
        settle = SETTLE_MIN + 2 * (secs if secs is not None else GUARD)
        self.same(same, gen0, max(c.t_cont for c in cs) + settle)
        os.unlink(img)


def run(tap, name, kver, initrd, work):
    r = Run(tap, kver, initrd, work)
    try:
        getattr(r, name)()
    finally:
        r.close()


def main():
    return ct.main("ready", ("ready",), run)


if __name__ == "__main__":
    sys.exit(main())

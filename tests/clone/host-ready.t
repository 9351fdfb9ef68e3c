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
          the line is printed, never judged. Then vsock, over
          vsock_loopback inside the clone (the test host has no
          vhost-vsock): a second `sysgenid ready --port /nonexistent
          --vsock=1:5999` says "vsock only" and sends `ready G` to a
          listener (vsock-listen), and after a bump `ready B`, one
          connection each; with the listener gone, a bump is logged as a
          refused connection and ready goes on
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


def seq(g, path="/tmp/seq"):
    """A guest log file (by default /tmp/seq), one entry a line."""
    return g.check("cat " + path)


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

    def wait_seq(self, g, text, path="/tmp/seq"):
        deadline = time.monotonic() + GUARD
        while text not in seq(g, path):
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
        self.vsock(c, now)
        ct.log_clean(tap, c, p + "kernel log clean")
        return secs

    def vsock(self, c, gen):
        tap, p = self.tap, "new/vsock/"
        log = "/tmp/vsock"
        c.check("clone-ready-setup vsock")
        c.check("setsid vsock-listen 5999 </dev/null >>%s 2>&1 & "
                "echo $! >/tmp/listen.pid" % log)
        self.wait_seq(c, "@v listening", log)
        c.check("setsid sysgenid ready --port /nonexistent --vsock=1:5999 "
                "</dev/null >/dev/null 2>/tmp/ready2.err & "
                "echo $! >/tmp/ready2.pid")
        try:
            self.wait_seq(c, "ready %d" % gen, log)
            bumped = int(c.check("sysgenid bump")[0])
            self.wait_seq(c, "ready %d" % bumped, log)
            serial, _ = c.wait_ready_line(GUARD, bumped)
        except vmctl.Timeout as e:
            tap.result(False, p + "ready lines over vsock", [str(e)] +
                       seq(c, log) + c.check("cat /tmp/ready2.err"))
            return
        lines = seq(c, log)
        tap.result(lines == ["@v listening", "ready %d" % gen, "@v eof",
                             "ready %d" % bumped, "@v eof"],
                   p + "vsock alone: ready %d at start, ready %d after a "
                   "bump, one connection each; the serial port's ready "
                   "too" % (gen, bumped), lines + ["serial: ready %d" %
                                                    serial])
        c.check("kill $(cat /tmp/listen.pid)")
        again = int(c.check("sysgenid bump")[0])
        c.wait_ready_line(GUARD, again)
        # The serial one has reported; the vsock one said why it could not.
        deadline = time.monotonic() + GUARD
        while True:
            err = c.check("cat /tmp/ready2.err")
            if any("connect:" in l for l in err) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.2)
        alive = c.run("kill -0 $(cat /tmp/ready2.pid)")[0] == 0
        tap.result(len(err) == 2 and "vsock only" in err[0] and
                   "vsock 1:5999: connect:" in err[1] and alive,
                   p + "a missing port with --vsock: said once; no listener: "
                   "logged, and ready goes on", err +
                   ["running" if alive else "exited"])

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

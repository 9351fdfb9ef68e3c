#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/clone/host-window.t KERNEL: a clone knows it is one before its
notification arrives (the ID page and SYSGENID_SYNC_GEN).

QEMU writes a clone's new VM generation ID into guest memory before any
vCPU runs, then raises GPE 05. Scenarios:

  masked  acpi_mask_gpe=0x05: the notification never comes. One origin
          (one vCPU, -cpu max, CRNG reseeded before the save, as in
          host-diverge.t) with watchers blocked in read(), epoll and
          SYSGENID_WAIT_WATCHERS, and a drawer; three clones with new IDs.
          In each: the counter stays at G; the drawer's ID-page check,
          run once before the save (unchanged), reports the change on its
          first call after the resume; bytes drawn then are identical
          across clones (the control: no reseed yet); `clone-draw sync`
          (SYSGENID_SYNC_GEN) moves the counter to exactly G+1 and every
          watcher sees G+1 and confirms, the orchestrator's wait returns 0;
          the drawer's bytes drawn on that event differ between clones; a
          second sync is no event.
  race    the notification comes, and a prober spinning on the ID page
          calls SYSGENID_SYNC_GEN the moment it sees the ID change: over
          RACE_CLONES clones on two vCPUs, always exactly one event
          (G+1, each watcher saw one event). A same-ID clone with the
          prober and an explicit sync: no event from either path.
  nodev   a guest without a VM generation ID device: the ID page does not
          map and SYSGENID_SYNC_GEN fails, both with ENODEV; the page says
          vmgenid_offset=0, sysfs vmgenid says none.

"No event" rests on a settle window, as in host-restore.t: SETTLE seconds
after the last resume, well past the slowest confirmation seen in this run.
A masked attempt whose control fails (the kernel drew at times of its own,
see host-diverge.t) is inconclusive and run again, ATTEMPTS times at most.

A host test of tests/vm/check (docs/HACKING.md); SYSGENID_KVER, KDIR and
SYSGENID_KERNEL name a kernel that is not installed (make check-debug).
"""

import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clonetest as ct  # noqa: E402

UPTIME_MIN = 30
ATTEMPTS = 3
RACE_CLONES = 10
BATCH = 5
SETTLE = float(os.environ.get("SETTLE_MIN", "5"))
MODES = ("read", "epoll", "orch")
ENODEV = 19
DRAW = re.compile(r"@d (event|command) gen=(\d+) getrandom=(\S+) ")


# Five clones of two vCPUs, each with a prober spinning, share the host's
# cores: a line may take longer than the usual guard.
RACE_GUARD = 3 * ct.GUARD


def first(c, pred, start=0, guard=ct.GUARD):
    return c.wait_line(pred, guard, start)[1]


def watcher_gens(c, mode, what):
    pat = re.compile(r"@w %s %s gen=(\d+)" % (mode, what))
    return [int(pat.match(l).group(1)) for _, l in
            c.matching(lambda l: pat.match(l) is not None)]


def vmfork_backend(tap, g, p):
    """The kernel's vmgenid hears the notification (loaded where a module)."""
    status, out = g.run("clone-backend vmfork")
    tap.result(status == 0, p + "backend: " + " ".join(out[-1:]), out)
    if status:
        raise ct.vmctl.VMError("no vmfork backend")


def start_watchers(g):
    g.check("clone-watchers " + " ".join(MODES))
    for m in MODES:
        first(g, lambda l, m=m: l.startswith("@w %s opened" % m))


def one_event(tap, c, gen0, name):
    """After the settle: generation gen0 + 1, each watcher saw one event."""
    gen = ct.sysfs_gen(c)
    saw = {m: watcher_gens(c, m, "saw") for m in MODES}
    waited = c.matching(lambda l: l.startswith("@w orch waited"))
    tap.result(gen == gen0 + 1 and
               all(v == [gen0 + 1] for v in saw.values()) and
               len(waited) == 1 and " ret=0 " in waited[0][1],
               name + ": exactly one event, generation %d -> %d, every "
               "watcher saw it once and the orchestrator's wait returned 0" %
               (gen0, gen0 + 1),
               ["generation %d, seen %s, %s" %
                (gen, saw, [l for _, l in waited])])


class Run:
    def __init__(self, tap, kver, initrd, work):
        self.tap, self.kver, self.initrd, self.work = tap, kver, initrd, work
        self.guests = []

    def guest(self, name, guid, **kw):
        g = ct.vmctl.Guest(self.kver, self.initrd, self.work, name,
                           guid=guid, mem="256M", **kw)
        self.guests.append(g)
        return g

    def clones(self, origin, img, names):
        cs = [origin.clone(img, n, guid) for n, guid in names]
        self.guests += cs
        for c in cs:
            c.wait_incoming()
        for c in cs:
            c.t_cont = c.cont()
        return cs

    def close(self):
        for g in self.guests:
            g.kill()
        self.guests = []

    def masked(self):
        ct.attempts(self.tap, "masked", ATTEMPTS, self.masked_once)

    def masked_once(self, tap):
        self.close()                    # an earlier attempt's guests
        p = "masked/"
        img = os.path.join(self.work, "masked.img")
        origin = self.guest("masked-origin", str(uuid.uuid4()), smp=1,
                            append="acpi_mask_gpe=0x05",
                            qemu_args=("-cpu", "max"))
        origin.wait_ready()
        vmfork_backend(tap, origin, p)
        up = float(origin.check("cat /proc/uptime")[0].split()[0])
        if up < UPTIME_MIN:
            time.sleep(UPTIME_MIN - up)
        start_watchers(origin)
        origin.check("setsid clone-draw watch </dev/null >$SYSGENID_RESULTS 2>&1 &")
        gen0 = int(first(origin, lambda l: l.startswith("@d ready"))
                   .split("gen=")[1])
        origin.check("kill -USR2 $(pidof clone-draw)")
        before = first(origin, lambda l: l.startswith("@d check"))
        tap.result(before == "@d check changed=0 gen=%d" % gen0,
                   p + "origin: the ID check sees no change", [before])
        origin.check("clone-draw reseed")
        origin.save(img)
        origin.quit()

        cs = self.clones(origin, img, [("masked-new%d" % i, "auto")
                                       for i in (1, 2, 3)])
        for c in cs:
            c.mark = len(c.lines)
            c.check("kill -USR2 $(pidof clone-draw); "
                    "kill -USR1 $(pidof clone-draw)")
        checks = [first(c, lambda l: l.startswith("@d check"), c.mark)
                  for c in cs]
        tap.result(all(l == "@d check changed=1 gen=%d" % gen0
                       for l in checks),
                   p + "the ID check's first call after resume reports the "
                   "change while the counter is still %d" % gen0, checks)
        pre = [DRAW.match(first(c, lambda l: l.startswith("@d command"),
                                c.mark)).group(3) for c in cs]
        tap.result(len(set(pre)) == 1, p + "control: before the sync, "
                   "clones draw the same getrandom() bytes (else "
                   "inconclusive)", pre, control=True)
        time.sleep(max(0, max(c.t_cont for c in cs) + SETTLE -
                       time.monotonic()))
        gens = [ct.sysfs_gen(c) for c in cs]
        tap.result(gens == [gen0] * len(cs), p + "no notification: the "
                   "counter stays at %d" % gen0, ["generations %s" % gens])

        outs = [c.check("clone-draw sync") for c in cs]
        tap.result(all(o == ["gen=%d" % (gen0 + 1)] for o in outs),
                   p + "sync returns generation %d" % (gen0 + 1),
                   [" ".join(o) for o in outs])
        for c in cs:
            for m in MODES:
                what = "waited" if m == "orch" else "confirmed"
                first(c, lambda l, m=m, w=what: l.startswith(
                    "@w %s %s " % (m, w)))
        post = [DRAW.match(first(c, lambda l: l.startswith("@d event"),
                                 c.mark)) for c in cs]
        tap.result(all(int(m.group(2)) == gen0 + 1 for m in post) and
                   len({m.group(3) for m in post}) == len(cs),
                   p + "after the sync, clones draw pairwise different "
                   "getrandom() bytes", [m.group(0) for m in post])
        outs = [c.check("clone-draw sync") for c in cs]
        tap.result(all(o == ["gen=%d" % (gen0 + 1)] for o in outs),
                   p + "a second sync is no event",
                   [" ".join(o) for o in outs])
        time.sleep(SETTLE)
        for c in cs:
            one_event(tap, c, gen0, p + c.name.split("-")[-1])
            ct.log_clean(tap, c, p + c.name.split("-")[-1] +
                         ": kernel log clean")
        os.unlink(img)

    def race(self):
        tap, p = self.tap, "race/"
        guid = str(uuid.uuid4())
        img = os.path.join(self.work, "race.img")
        origin = self.guest("race-origin", guid, smp=2)
        origin.wait_ready()
        vmfork_backend(tap, origin, p)
        start_watchers(origin)
        origin.check("setsid clone-draw race </dev/null >$SYSGENID_RESULTS 2>&1 &")
        gen0 = int(first(origin, lambda l: l.startswith("@d racing"))
                   .split("gen=")[1])
        origin.save(img)
        origin.quit()

        names = [("race-new%d" % i, "auto") for i in range(1, RACE_CLONES + 1)]
        names.append(("race-same", guid))
        for i in range(0, len(names), BATCH):
            cs = self.clones(origin, img, names[i:i + BATCH])
            for c in cs:
                c.stuck = None
                if c.name == "race-same":
                    continue
                try:
                    first(c, lambda l: l.startswith("@d synced"),
                          guard=RACE_GUARD)
                    for m in MODES:
                        what = "waited" if m == "orch" else "confirmed"
                        first(c, lambda l, m=m, w=what: l.startswith(
                            "@w %s %s " % (m, w)), guard=RACE_GUARD)
                except ct.vmctl.Timeout as e:
                    c.stuck = str(e)
            time.sleep(max(0, max(c.t_cont for c in cs) + SETTLE -
                           time.monotonic()))
            for c in cs:
                n = c.name.split("-")[-1]
                if c.name == "race-same":
                    out = c.check("clone-draw sync")
                    gen = ct.sysfs_gen(c)
                    saw = c.matching(lambda l: re.match(r"@w \w+ saw", l))
                    tap.result(out == ["gen=%d" % gen0] and gen == gen0 and
                               not saw, p + "same ID: no event from the "
                               "notification, the prober or a sync",
                               out + ["generation %d, %s" %
                                      (gen, [l for _, l in saw])])
                elif c.stuck:
                    tap.result(False, p + n + ": exactly one event: " +
                               c.stuck, ct.last_words(c))
                else:
                    one_event(tap, c, gen0, p + n)
                ct.log_clean(tap, c, p + n + ": kernel log clean")
                c.kill()
        os.unlink(img)

    def nodev(self):
        tap, p = self.tap, "nodev/"
        g = self.guest("nodev", "none")
        g.wait_ready()
        out = g.check("clone-draw layout; cat /sys/class/misc/sysgenid/"
                      "vmgenid")
        tap.result(out == ["vmgenid_offset=0 map=%d sync=%d" %
                           (ENODEV, ENODEV), "none"],
                   p + "without an ID device the ID page and "
                   "SYSGENID_SYNC_GEN give ENODEV", out)
        ct.log_clean(tap, g, p + "kernel log clean")


def run(tap, name, kver, initrd, work):
    r = Run(tap, kver, initrd, work)
    try:
        getattr(r, name)()
    finally:
        r.close()


def main():
    return ct.main("window", ("nodev", "masked", "race"), run)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/clone/host-diverge.t KERNEL: clones never share random numbers.

For each event path, one origin is booted and saved, and five clones are
started from that one image: the two same-ID ones are resumed first and
draw, then the three new-ID ones are resumed together:

  new1..new3  a new VM generation ID each: each clone's drawer
              (clone-draw watch) draws the moment it reads the event, and
              every value (getrandom(), /dev/urandom, a kernel UUID, and a
              user-space ChaCha20 generator seeded before the snapshot that
              reseeds when libsysgenid reports a new generation) must differ
              between every two of them
  same1,2     the origin's ID (no event): the drawer draws on a command from
              the host, and both must draw identical values. This control
              shows that the test can see sameness: if it fails, the run is
              inconclusive and fails, it never passes

so that clones of one image would draw the same numbers, were it not for the
event. The kernel itself draws at times of its own (a worker thread started
under load takes a stack canary), which can split even the same-ID clones:
such an attempt is inconclusive, said as a comment, and the scenario is run
again, ATTEMPTS times at most; the results are those of the first
conclusive attempt, and none conclusive is a failure. The origin runs on one vCPU with -cpu max (RDRAND: its CRNG is ready
at boot) and is up for UPTIME_MIN seconds; its CRNG is reseeded
(RNDRESEEDCRNG) just before the save. Until 120 s of uptime the kernel
reseeds on its own once the seed is older than half the uptime, and a saved
guest's clock stands still: every draw falls well within that.

Paths:
  vmfork  the kernel's vmgenid driver calls add_vmfork_randomness(), then
          the VM fork notifier tells sysgenid.ko
  acpi    sysgenid_acpi.ko drives the device (force=1; the kernel's vmgenid
          kept off as tests/clone/host-restore.t does) and sysgenid reseeds
          on its own

On arm64 the vmfork path alone: the device tree's vmgenid, the host
playing the hypervisor (tests/vm/vmctl.py): each clone's ID is written
before its cont, the interrupt raised after it, for the same-ID clones too.

A host test of tests/vm/check (docs/HACKING.md); SYSGENID_KVER, KDIR and
SYSGENID_KERNEL name a kernel that is not installed (make check-debug).
Consoles under build/diverge/KVER/.
"""

import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clonetest as ct  # noqa: E402

UPTIME_MIN = 30                 # reseed interval 15 s of guest time
ATTEMPTS = 3
KINDS = ("getrandom", "urandom", "uuid", "prng")
DRAW = re.compile(r"@d (event|command) gen=(\d+) getrandom=(\S+) "
                  r"urandom=(\S+) uuid=(\S+) prng=(\S+) t=(\S+)$")


def draw_of(c, kind):
    """The clone's first draw of that kind: {gen, getrandom, ..., t}."""
    _, line = c.wait_line(lambda l: DRAW.match(l) is not None and
                          l.startswith("@d " + kind), ct.GUARD)
    m = DRAW.match(line)
    return dict(gen=int(m.group(2)), t=float(m.group(7)),
                **dict(zip(KINDS, m.groups()[2:6])))


def scenario(tap, kver, initrd, work, path):
    p = path + "/"
    guid = str(uuid.uuid4())
    img = os.path.join(work, path + ".img")
    guests = []

    def guest(name, g_guid, **kw):
        g = ct.vmctl.Guest(kver, initrd, work, name, guid=g_guid,
                           mem="256M", smp=1, qemu_args=("-cpu", "max"),
                           **kw)
        guests.append(g)
        return g

    try:
        origin = guest(path + "-origin", guid,
                       append=ct.BLACKLIST if path == "acpi" else "")
        origin.wait_ready()
        status, out = origin.run("clone-backend " + path)
        tap.result(status == 0, p + "backend: " + " ".join(out[-1:]), out)
        if status:
            return
        up = float(origin.check("cat /proc/uptime")[0].split()[0])
        if up < UPTIME_MIN:
            time.sleep(UPTIME_MIN - up)
        origin.check("setsid clone-draw watch </dev/null >$SYSGENID_RESULTS 2>&1 &")
        _, ready = origin.wait_line(lambda l: l.startswith("@d ready"),
                                    ct.GUARD)
        gen0 = int(ready.split("gen=")[1])
        status, out = origin.run("clone-draw reseed")
        tap.result(status == 0, p + "origin: CRNG ready and reseeded just "
                   "before the save", out)
        t_reseed = float(out[-1].split("=")[1]) if status == 0 else 0
        origin.save(img)
        origin.quit()

        clones = [origin.clone(img, "%s-new%d" % (path, i), "auto")
                  for i in (1, 2, 3)]
        same = [origin.clone(img, "%s-same%d" % (path, i), guid)
                for i in (1, 2)]
        guests += clones + same
        for c in clones + same:
            c.wait_incoming()
        # The controls at once, and alone: the less a clone does before
        # it draws, the less its own timing moves the kernel's CRNG (see
        # clone-draw.c); three more guests on the host's CPUs would
        # stretch that in guest time.
        for c in same:
            c.cont()
        for c in same:
            c.check("kill -USR1 $(pidof clone-draw)")
        ctl = [draw_of(c, "command") for c in same]
        for c in clones:
            c.cont()
        new = [draw_of(c, "event") for c in clones]

        tap.result(all(d["gen"] == gen0 + 1 for d in new) and
                   all(d["gen"] == gen0 for d in ctl),
                   p + "new-ID clones drew at generation %d, same-ID "
                   "clones at %d" % (gen0 + 1, gen0),
                   ["new %s, same %s" % ([d["gen"] for d in new],
                                         [d["gen"] for d in ctl])])
        # The kernel reseeds on its own once its seed is older than half
        # the uptime (until 120 s): no draw may come that late.
        late = max(d["t"] for d in new + ctl) - t_reseed
        tap.result(late < t_reseed / 2, p + "every draw came before the "
                   "CRNG's own next reseed (else inconclusive)",
                   ["last draw %.1f s after the reseed at uptime %.1f s" %
                    (late, t_reseed)], control=True)
        for k in KINDS:
            vals = [d[k] for d in ctl]
            tap.result(len(set(vals)) == 1, p + "control: same-ID clones "
                       "drew the same %s (else inconclusive)" % k, vals,
                       control=True)
        for k in KINDS:
            vals = [d[k] for d in new]
            tap.result(len(set(vals)) == len(vals), p + "new-ID clones "
                       "drew pairwise different %s" % k, vals)
        for c in clones + same:
            ct.log_clean(tap, c, p + c.name.split("-")[-1] +
                         ": kernel log clean")
    finally:
        for g in guests:
            g.kill()
        if os.path.exists(img):
            os.unlink(img)


def main():
    arm64 = ct.arm64(sys.argv[-1], os.environ.get("SYSGENID_KVER", ""))
    return ct.main("diverge", ("vmfork",) if arm64 else ("vmfork", "acpi"),
                   lambda tap, path, *guest: ct.attempts(
                       tap, path, ATTEMPTS,
                       lambda res: scenario(res, *guest, path)))


if __name__ == "__main__":
    sys.exit(main())

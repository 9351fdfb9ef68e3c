#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/clone/host-chain.t KERNEL: restore after restore, in TAP.

Firecracker's and AWS-LC's tools expect the host's generation to count
restores from the module's load: 1, 2, 3. A guest with the vmfork backend
runs two containers (a pid namespace, and one nested two levels down),
each bumping its own scope (sysgenid bump --scope) in a loop; it is saved
and restored with a new VM generation ID three times, each restore from
the image of the one before. After each restore the host's generation
must be exactly 1, 2, 3: the restores count, the containers' events never
do; and both containers must still be bumping, their values moving.

A host test of tests/vm/check (docs/HACKING.md): it exits 0 once its TAP
stream is complete, failures included. Environment: SYSGENID_STAGE=0 skips
staging; SETTLE_MIN (default 5) in seconds waited after each restore for
an event that must not come. Consoles under build/chain/KVER/.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clonetest as ct  # noqa: E402
from clonetest import GUARD, sysfs_gen, vmctl  # noqa: E402

SETTLE_MIN = float(os.environ.get("SETTLE_MIN", "5"))
RESTORES = 3

# A container that bumps its own scope every 0.2 s and keeps its count and
# last value in /run/cN; nested=1 puts it one pid namespace further down.
CONTAINER = ("setsid unshare -pf %(nest)s sh -c 'n=0; while :; do "
             "g=$(sysgenid bump --scope) && n=$((n + 1)) && "
             "echo \"$n $g\" >/run/c%(n)d.new && "
             "mv /run/c%(n)d.new /run/c%(n)d; "
             "sleep 0.2; done' </dev/null >/dev/null 2>&1 &")


def containers(g):
    """{N: (bumps, last value)} of the containers' reports."""
    out = {}
    for n in (1, 2):
        st, lines = g.run("cat /run/c%d" % n)
        if st == 0 and lines:
            k, v = lines[0].split()
            out[n] = (int(k), int(v))
    return out


def wait_bumps(g, before, guard=GUARD):
    """Until both containers bumped since before; their reports."""
    end = time.monotonic() + guard
    while True:
        now = containers(g)
        if all(n in now and now[n][0] > before.get(n, (0, 0))[0]
               for n in (1, 2)):
            return now
        if time.monotonic() > end:
            return now
        time.sleep(0.2)


def chain(tap, kver, initrd, work):
    guests = []

    def guest(name, guid):
        g = vmctl.Guest(kver, initrd, work, name, guid=guid, mem="256M")
        guests.append(g)
        return g

    try:
        g = guest("chain-0", "auto")
        g.wait_ready()
        status, out = g.run("clone-backend vmfork")
        tap.result(status == 0, "backend: " + " ".join(out[-1:]), out)
        if status:
            return
        gen0 = sysfs_gen(g)
        tap.result(gen0 == 0, "a fresh load: generation 0",
                   ["generation %d" % gen0])
        g.check(CONTAINER % {"nest": "", "n": 1})
        g.check(CONTAINER % {"nest": "unshare -pf", "n": 2})
        seen = wait_bumps(g, {})
        tap.result(len(seen) == 2 and sysfs_gen(g) == gen0,
                   "two containers bump their scopes; the host's "
                   "generation stays %d" % gen0,
                   ["containers %s" % seen])
        gens = []
        for k in range(1, RESTORES + 1):
            img = os.path.join(work, "chain.img")
            g.save(img)
            g.quit()
            c = g.clone(img, "chain-%d" % k, "auto")
            guests.append(c)
            c.wait_incoming()
            t = c.cont()
            os.unlink(img)
            end = time.monotonic() + GUARD
            while sysfs_gen(c) == gen0 + k - 1 and time.monotonic() < end:
                time.sleep(0.1)
            time.sleep(max(0, t + SETTLE_MIN - time.monotonic()))
            gens.append(sysfs_gen(c))
            now = wait_bumps(c, seen)
            moved = all(n in now and now[n][0] > seen[n][0] and
                        now[n][1] != seen[n][1] for n in (1, 2))
            tap.result(moved, "restore %d: both containers bump on" % k,
                       ["before %s, now %s" % (seen, now)])
            seen = now
            g = c
        tap.result(gens == list(range(gen0 + 1, gen0 + RESTORES + 1)),
                   "the host's generation after each restore: %s" %
                   ", ".join(str(gen0 + k) for k in
                             range(1, RESTORES + 1)),
                   ["generations %s" % gens])
        ct.log_clean(tap, g, "kernel log clean")
    finally:
        for g in guests:
            g.kill()


def main():
    return ct.main("chain", ("chain",),
                   lambda tap, s, kver, initrd, work:
                   chain(tap, kver, initrd, work))


if __name__ == "__main__":
    sys.exit(main())

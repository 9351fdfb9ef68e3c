#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tests/bindings/host-clone.t KERNEL: each binding sees a VM clone, in TAP.

One guest is booted with a fixed VM generation ID (clone-agent as init,
tests/vm/vmctl.py) and runs, in the background, one watcher per language
(`guest_tap watch` of the Rust and Go bindings, `guest_tap.py watch` of the
Python one under Debian's python3): each opens a watcher, prints
"ready gen=G", then on every event "event gen=N check=C" (C: the binding's
windowless check() just after) and confirms. The guest is saved, and two
clones are started from that one image and resumed together:

  new   a new generation ID: every language must report exactly one event,
        at the saved generation plus one, with check() agreeing
  same  the origin's ID (control, same run): no language reports an event
        and the generation stays the saved one

Then the window (the issue "No window"): a guest booted with its
notification masked (acpi_mask_gpe=0x05) runs the three watchers and is
saved; one new-ID clone per language is resumed, and in each the host runs
that language's `probe` first: the counter still shows the saved
generation G (get), but the binding's check() sees the changed ID and
calls SYSGENID_SYNC_GEN, so that it returns G+1 and get then shows G+1;
every watcher of that clone then reports the event at G+1, and the
language's sync() returns G+1 again (no second event). The other clones
are the control: until their own probe, their counter stays at G.

"No event" is judged after a settle period that is measured, not guessed,
as tests/clone/host-restore.t does: ten times the slowest resume-to-event
time of the new clone in this run, at least SETTLE_MIN seconds, from the
resume of the two clones.

A host test of tests/vm/check (results KERNEL/bindings/clone/...). It stages
the module, tests/clone and bindings/ unless SYSGENID_STAGE=0. Consoles
under build/bindings-clone/KVER/.
"""

import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "clone"))
import clonetest as ct  # noqa: E402

SETTLE_MIN = float(os.environ.get("SETTLE_MIN", "5"))
D = "/usr/lib/sysgenid-bindings"
MASK = "acpi_mask_gpe=0x05"
LANGS = {
    "rust": D + "/rust/guest_tap watch",
    "go": D + "/go/guest-tap watch",
    "python": "/usr/bin/python3 -I -S " + D + "/python/guest_tap.py watch",
}


def start_watchers(g):
    for lang, cmd in LANGS.items():
        # Each line as "@LANG ...", a background line of the agent.
        g.check("setsid sh -c '%s 2>&1 | while IFS= read -r l; do "
                "echo \"@%s $l\"; done' </dev/null >/dev/ttyS1 2>&1 &"
                % (cmd, lang))


def events(g, lang):
    return [l for _, l in g.matching(
        lambda l: l.startswith("@%s event " % lang))]


def parse(line):
    f = dict(w.split("=") for w in line.split()[2:])
    return int(f["gen"]), int(f["check"])


PROBE = {
    "rust": D + "/rust/guest_tap",
    "go": D + "/go/guest-tap",
    "python": "/usr/bin/python3 -I -S " + D + "/python/guest_tap.py",
}


def origin_with_watchers(tap, kver, initrd, work, name, guid, p, **kw):
    """A guest running the three watchers: (guest, generation)."""
    origin = ct.vmctl.Guest(kver, initrd, work, name, guid=guid,
                            mem="256M", smp=1, **kw)
    origin.wait_ready()
    start_watchers(origin)
    ready = {}
    for lang in LANGS:
        _, l = origin.wait_line(
            lambda l, lang=lang: l.startswith("@%s ready " % lang) or
            l.startswith("@%s " % lang) and "rror" in l, 120)
        ready[lang] = l
    gen0 = ct.sysfs_gen(origin)
    for lang, l in ready.items():
        tap.result(l == "@%s ready gen=%d" % (lang, gen0),
                   p + "%s: watcher ready at the origin's generation" % lang,
                   [l, "sysfs %d" % gen0])
    return origin, gen0


def masked(tap, kver, initrd, work):
    p = "masked/"
    img = os.path.join(work, "masked.img")
    guests = []
    try:
        origin, gen0 = origin_with_watchers(
            tap, kver, initrd, work, "masked-origin", str(uuid.uuid4()), p,
            append=MASK)
        guests.append(origin)
        origin.save(img)
        origin.quit()
        cs = {lang: origin.clone(img, "masked-" + lang, "auto")
              for lang in LANGS}
        guests += cs.values()
        for c in cs.values():
            c.wait_incoming()
        for c in cs.values():
            c.cont()
        # In language order: the clones not probed yet are the control.
        for lang, c in cs.items():
            others = [ct.sysfs_gen(o) for o in cs.values() if o is not c
                      and not getattr(o, "probed", False)]
            _, out = c.run(PROBE[lang] + " probe")
            c.probed = True
            want = "get=%d check=%d get=%d mapped=1" % (gen0, gen0 + 1,
                                                        gen0 + 1)
            tap.result(out == [want], p + "%s: check() sees the clone while "
                       "the counter still shows %d, and syncs it to %d"
                       % (lang, gen0, gen0 + 1), out + ["want " + want])
            if others:
                tap.result(others == [gen0] * len(others), p + "%s: "
                           "control: the clones not probed yet still "
                           "show %d" % (lang, gen0),
                           ["generations %s" % others])
            bad = []
            for w in LANGS:
                try:
                    _, l = c.wait_line(lambda l, w=w: l.startswith(
                        "@%s event " % w), ct.GUARD)
                except ct.vmctl.Timeout:
                    l = "@%s: no event" % w
                if l != "@%s event gen=%d check=%d" % (w, gen0 + 1,
                                                       gen0 + 1):
                    bad.append(l)
            tap.result(not bad, p + "%s: after its sync, every watcher of "
                       "the clone sees generation %d" % (lang, gen0 + 1),
                       bad)
            _, out = c.run(PROBE[lang] + " sync")
            tap.result(out == ["gen=%d" % (gen0 + 1)] and
                       ct.sysfs_gen(c) == gen0 + 1,
                       p + "%s: sync() again is no event" % lang, out)
        for c in cs.values():
            ct.log_clean(tap, c, p + c.name + ": kernel log clean")
    finally:
        for g in guests:
            g.kill()
        if os.path.exists(img):
            os.unlink(img)


def scenario(tap, kver, initrd, work):
    guid = str(uuid.uuid4())
    img = os.path.join(work, "origin.img")
    guests = []
    try:
        origin, gen0 = origin_with_watchers(tap, kver, initrd, work,
                                            "origin", guid, "")
        guests.append(origin)
        origin.save(img)
        origin.quit()

        new = origin.clone(img, "new", "auto")
        same = origin.clone(img, "same", guid)
        guests += [new, same]
        for c in (new, same):
            c.wait_incoming()
        t0 = min(c.cont() for c in (new, same))
        slowest = 0.0
        for lang in LANGS:
            try:
                t, l = new.wait_line(
                    lambda l, lang=lang: l.startswith("@%s event " % lang),
                    ct.GUARD)
            except ct.vmctl.Timeout:
                tap.result(False, "%s: new-ID clone: event at generation "
                           "%d" % (lang, gen0 + 1), ["no event line"])
                continue
            slowest = max(slowest, t - t0)
            gen, chk = parse(l)
            tap.result(gen == gen0 + 1 and chk == gen,
                       "%s: new-ID clone: event at generation %d, check() "
                       "agrees" % (lang, gen0 + 1), [l])
        settle = max(SETTLE_MIN, 10 * slowest)
        tap.comment("slowest event %.3f s after resume; settle %.1f s"
                    % (slowest, settle))
        time.sleep(max(0.0, t0 + settle - time.monotonic()))
        gen_same = ct.sysfs_gen(same)
        for lang in LANGS:
            ev = events(new, lang)
            tap.result(len(ev) == 1, "%s: new-ID clone: exactly one event"
                       % lang, ev)
            ev = events(same, lang)
            tap.result(not ev and gen_same == gen0,
                       "%s: same-ID clone (control): no event, generation "
                       "%d" % (lang, gen0), ev + ["sysfs %d" % gen_same])
        for c in (new, same):
            ct.log_clean(tap, c, c.name + ": kernel log clean")
    finally:
        for g in guests:
            g.kill()
        if os.path.exists(img):
            os.unlink(img)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: %s KERNEL\n" % sys.argv[0])
        return 2
    tap = ct.Tap()
    t0 = time.monotonic()
    try:
        if os.environ.get("SYSGENID_STAGE", "1") != "0":
            ct.sh("make", "-s", "-C", os.path.join(TOP, "bindings"), "stage")
        kver, initrd, work = ct.prepare(sys.argv[1], "bindings-clone")
        tap.comment("kernel %s, initramfs %s" % (kver, initrd))
    except RuntimeError as e:
        tap.result(False, "prepare the guest", str(e).splitlines()[-20:])
        tap.plan()
        return 0
    for name, sc in (("clone", scenario), ("masked", masked)):
        try:
            sc(tap, kver, initrd, work)
        except Exception as e:
            tap.result(False, "%s: scenario stopped: %s: %s" %
                       (name, type(e).__name__, e))
    tap.comment("wall time %.1f s" % (time.monotonic() - t0))
    tap.plan()
    return 0


if __name__ == "__main__":
    sys.exit(main())

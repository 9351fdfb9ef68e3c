# SPDX-License-Identifier: GPL-2.0
"""In-guest tests of the Python binding against the module, in TAP.

Run as root in the test guest: python3 -I -S guest_tap.py (the sysgenid
package lies next to this file). `guest_tap.py watch` instead prints
"ready gen=G" and then "event gen=N check=C" on each event (the clone
test). The counter is system-wide: every test reads it first.
"""

import asyncio
import errno
import os
import selectors
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sysgenid  # noqa: E402

GUARD = 20.0  # seconds: a wait that needs longer fails


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=""):
        self.n += 1
        self.failed += not cond
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name))
        if diag and not cond:
            print("#   " + str(diag))
        sys.stdout.flush()

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why))

    def test(self, name, fn):
        try:
            r = fn()
        except Exception as e:  # a test that raises fails
            self.ok(False, name, "%s: %s" % (type(e).__name__, e))
            return
        if isinstance(r, tuple):
            self.ok(r[0], name, r[1])
        else:
            self.ok(bool(r), name)


def errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno, type(e)
    return 0, None


def watch():
    with sysgenid.open_watcher() as w:
        print("ready gen=%d" % w.get(), flush=True)
        while True:
            g = w.wait()
            print("event gen=%d check=%d" % (g, w.check()), flush=True)
            w.confirm(g)


def main():
    t = Tap()
    print("1..22")
    p = sysgenid.open_probe()

    def probe_follows():
        g = p.get()
        p.bump()
        g1 = p.get()
        return (g1 == (g + 1) & 0xffffffff and p.changed(g) and
                not p.changed(g1), "g=%d then %d" % (g, g1))
    t.test("probe follows a bump (one load)", probe_follows)

    def bump_min():
        g = p.get()
        p.bump((g + 10) & 0xffffffff)
        g1 = p.get()
        return g1 == (g + 10) & 0xffffffff, "g=%d then %d" % (g, g1)
    t.test("bump to a minimum ahead", bump_min)

    def bump_behind():
        g = p.get()
        p.bump((g - 5) & 0xffffffff)
        return p.get() == (g + 1) & 0xffffffff
    t.test("bump to a minimum behind moves by one", bump_behind)

    if p.id_page_mapped:
        t.ok(True, "ID page mapped")
    else:
        t.skip("ID page mapped", "no ID page in this guest")

    def sync_ctl():
        g = p.get()
        return p.sync() == g and p.get() == g
    t.test("sync with an unchanged ID is no event", sync_ctl)
    t.test("check equals get with an unchanged ID",
           lambda: p.check() == p.get())

    w = sysgenid.open_watcher()
    t.test("wait times out while up to date (ETIME)",
           lambda: errno_of(w.wait, 0.05) ==
           (errno.ETIME, sysgenid.TimeoutExpired))

    def wait_bump():
        p.bump()
        g = w.wait(GUARD)
        return g == p.get(), "wait %d get %d" % (g, p.get())
    t.test("wait returns the generation after a bump", wait_bump)

    def confirm():
        g = w.wait(GUARD)
        w.confirm(g)
        return errno_of(w.wait, 0)[0] == errno.ETIME
    t.test("confirm makes the watcher up to date", confirm)

    def stale():
        g = w.get()
        p.bump()
        e = errno_of(w.confirm, g)
        w.confirm(w.wait(GUARD))
        return e == (errno.EINVAL, sysgenid.StaleGenerationError), e
    t.test("confirm of a stale generation is EINVAL", stale)

    def selector():
        sel = selectors.DefaultSelector()
        sel.register(w, selectors.EVENT_READ)
        before = sel.select(0)
        p.bump()
        after = sel.select(GUARD)
        sel.close()
        w.confirm(w.wait(0))
        return not before and len(after) == 1, (before, after)
    t.test("fileno() with selectors: readable after a bump only", selector)

    def aio():
        async def go():
            loop = asyncio.get_running_loop()
            loop.call_later(0.05, p.bump)
            return await w.wait_async(GUARD)
        g = asyncio.run(go())
        w.confirm(g)
        return g == p.get()
    t.test("wait_async (loop.add_reader) sees a bump", aio)

    w.close()
    w1 = sysgenid.open_watcher()
    w2 = sysgenid.open_watcher()
    base = p.outdated_watchers()

    def two():
        p.bump()
        n2 = p.outdated_watchers()
        w1.confirm(w1.wait(GUARD))
        n1 = p.outdated_watchers()
        w2.confirm(w2.wait(GUARD))
        n0 = p.outdated_watchers()
        return ((n2, n1, n0) == (base + 2, base + 1, base),
                "base %d: %d %d %d" % (base, n2, n1, n0))
    t.test("outdated count with two watchers", two)

    def wait_watchers():
        p.bump()
        w1.confirm(w1.wait(GUARD))
        e = errno_of(w1.wait_watchers, 0.05)
        th = threading.Timer(0.05, lambda: w2.confirm(w2.wait(GUARD)))
        th.start()
        w1.wait_watchers(GUARD)
        th.join()
        return (e[0] == errno.ETIME and p.outdated_watchers() == base,
                "first %r" % (e,))
    t.test("WAIT_WATCHERS: ETIME while one is outdated, 0 once it confirms",
           wait_watchers)

    def own():
        p.bump()
        e = errno_of(w1.wait_watchers, GUARD)
        w1.confirm(w1.wait(GUARD))
        w2.confirm(w2.wait(GUARD))
        return e == (errno.EINTR, sysgenid.OutdatedError), e
    t.test("WAIT_WATCHERS of an outdated watcher is EINTR", own)

    def untracked():
        w2.set_tracking(False)
        p.bump()
        n = p.outdated_watchers()
        w2.set_tracking(True)
        w1.confirm(w1.wait(GUARD))
        w2.confirm(w2.wait(GUARD))
        return n == base + 1, "%d" % n
    t.test("an untracked watcher is not counted", untracked)

    def nopriv():
        g = p.get()
        r = subprocess.run(
            [sys.executable, "-I", "-S", "-c",
             "import sys; sys.path.insert(0, %r); import sysgenid, errno\n"
             "try:\n sysgenid.open_probe().bump()\n"
             "except sysgenid.PermissionDenied as e:\n"
             " sys.exit(0 if e.errno == errno.EPERM else 2)\n"
             "sys.exit(1)" % os.path.dirname(os.path.dirname(sysgenid.__file__))],
            user=65534, group=65534, extra_groups=[])
        return r.returncode == 0 and p.get() == g, "status %d" % r.returncode
    t.test("bump without privilege is EPERM, no event", nopriv)

    t.test("WAIT_WATCHERS with a timeout above 0xffffffff is EINVAL",
           lambda: errno_of(p.wait_watchers_ms, 1 << 32)[0] == errno.EINVAL)
    t.test("bump to a minimum above 0xffffffff is EINVAL",
           lambda: errno_of(p.bump, 1 << 32)[0] == errno.EINVAL)

    def probe_confirm():
        try:
            os.write(p.fileno(), (p.get()).to_bytes(4, sys.byteorder))
        except OSError as e:
            return e.errno == errno.EBADF
        return False
    t.test("a probe cannot confirm (EBADF)", probe_confirm)
    t.test("a probe cannot be tracked (EBADF)",
           lambda: errno_of(sysgenid.Watcher._set_tracking_raw, p, 1)[0] ==
           errno.EBADF)
    t.test("tracking other than 0 or 1 is EINVAL",
           lambda: errno_of(w1._set_tracking_raw, 2)[0] == errno.EINVAL)
    w1.close()
    w2.close()
    p.close()
    return 1 if t.failed else 0


def probe():
    """get, then the windowless check, then get again, on one line."""
    with sysgenid.open_probe() as p:
        g = p.get()
        c = p.check()
        print("get=%d check=%d get=%d mapped=%d" %
              (g, c, p.get(), p.id_page_mapped), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["watch"]:
        watch()
    if sys.argv[1:] == ["probe"]:
        sys.exit(probe())
    if sys.argv[1:] == ["sync"]:
        with sysgenid.open_probe() as p:
            print("gen=%d" % p.sync())
        sys.exit(0)
    sys.exit(main())

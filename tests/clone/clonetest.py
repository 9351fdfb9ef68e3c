# SPDX-License-Identifier: GPL-2.0
"""clonetest: what the host-side clone tests share.

TAP output, running host commands, and preparing the guest of one kernel:
staging the modules and tests/clone/, packing the initramfs. The kernel is a
series or a release that tests/vm/kver knows, or, for a kernel that is not
installed (make check-debug), the release in SYSGENID_KVER with its tree in
KDIR and its image in SYSGENID_KERNEL (read by tests/vm/boot). An arm64
kernel (a label SERIES-arm64, or a SYSGENID_KVER ending in -arm64) has its
guest cross-built under build/arm64/, from the tree tests/vm/arm64 fetches
unless KDIR and SYSGENID_KERNEL name another (make check-debug-arm64).
SYSGENID_VMGENID_KO replaces the guest's /lib/sysgenid/vmgenid.ko (a stock
one, to see the bug that upstream/vmgenid/ fixes).
"""

import gzip
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
import vmctl  # noqa: E402,F401  (re-exported for the tests)

BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
GUARD = 60                      # seconds for any one awaited guest line
BLACKLIST = "initcall_blacklist=vmgenid_plaform_driver_init"
BAD_LOG = re.compile(r"BUG:|WARNING:|Oops|Call Trace|Kernel panic")
CROSS = "aarch64-linux-gnu-"


class Tap:
    """Results named SCENARIO/what: tests/vm/check adds KERNEL/DIR/NAME."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, diag=()):
        self.n += 1
        self.failed += not ok
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, name))
        for d in diag:
            print("#   " + d)
        sys.stdout.flush()

    def comment(self, text):
        print("# " + text)
        sys.stdout.flush()

    def plan(self):
        print("1..%d" % self.n)


class Results:
    """One attempt's results, kept back until the attempt is judged.

    A result marked control=True that fails makes the attempt inconclusive:
    the clones could not show sameness where it was expected."""

    def __init__(self):
        self.rows = []
        self.inconclusive = []

    def result(self, ok, name, diag=(), control=False):
        self.rows.append((ok, name, diag))
        if control and not ok:
            self.inconclusive.append(name)

    def comment(self, text):
        self.rows.append((None, text, ()))


def attempts(tap, name, n, fn):
    """Run fn(results) up to n times until an attempt is conclusive; give
    tap the results of that attempt (or of the last one), and a comment for
    each inconclusive attempt before it."""
    for attempt in range(1, n + 1):
        res = Results()
        try:
            fn(res)
        except Exception as e:          # reported, and the caller goes on
            res.result(False, "%s: scenario stopped: %s: %s" %
                       (name, type(e).__name__, e))
        if not res.inconclusive or attempt == n:
            break
        tap.comment("%s: attempt %d inconclusive, run again:" %
                    (name, attempt))
        for ok, what, diag in res.rows:
            if ok is False:
                tap.comment("  failed: %s: %s" % (what, " / ".join(diag)))
    for ok, what, diag in res.rows:
        if ok is None:
            tap.comment(what)
        else:
            tap.result(ok, what, diag)


def sh(*args, stderr=subprocess.STDOUT):
    """Run a command: its output; RuntimeError with it if it failed. With
    stderr=subprocess.PIPE, standard output alone (a command that prints a
    path there and its progress on standard error)."""
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=stderr,
                       universal_newlines=True)
    if r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(args), (r.stdout + (
            r.stderr or "")).strip()))
    return r.stdout.strip()


def arm64(label, kver):
    """Whether the guest is arm64."""
    return label.endswith("-arm64") or kver.endswith("-arm64")


def prepare(label, name):
    """Stage and pack the guest of kernel label: (release, initrd, workdir).

    workdir is build/NAME/RELEASE, emptied first; raises RuntimeError."""
    vm = os.path.join(TOP, "tests", "vm")
    kver = os.environ.get("SYSGENID_KVER")
    env = dict(os.environ)
    make = ["make", "-s", "-C"]
    module = []
    if label.endswith("-arm64") and not kver:
        # A series (6.12-arm64) or a release (6.12.118+deb12-arm64, as
        # tests/vm/check gives it): tests/vm/arm64 fetches by series.
        series = re.match(r"\d+\.\d+", label)
        adir = sh(os.path.join(vm, "arm64"), series.group(0) if series
                  else label, stderr=subprocess.PIPE)
        with open(os.path.join(adir, "release")) as f:
            kver = f.read().strip()
        if not re.fullmatch(r"\d+\.\d+-arm64", label) and kver != label:
            raise RuntimeError("%s: Debian's arm64 kernel of that series is "
                               "%s now" % (label, kver))
        env.update(KDIR=os.path.join(adir, "usr", "src",
                                     "linux-headers-" + kver),
                   SYSGENID_KERNEL=os.path.join(adir, "boot",
                                                "vmlinuz-" + kver),
                   BUSYBOX=os.path.join(adir, "bin", "busybox"),
                   BUSYBOX_LIST="/bin/busybox")
    elif not kver:
        kver = sh(os.path.join(vm, "kver"), label)
    if arm64(label, kver):
        # Cross-built, in a guest tree of its own; the debug kernel's
        # guest uses the host's busybox-static:arm64 of the 6.12 fetch.
        if "BUSYBOX" not in env:
            adir = sh(os.path.join(vm, "arm64"), "6.12",
                      stderr=subprocess.PIPE)
            env.update(BUSYBOX=os.path.join(adir, "bin", "busybox"),
                       BUSYBOX_LIST="/bin/busybox")
        env["BUILD"] = os.path.join(BUILD, "arm64")
        module = ["KDIR=" + env["KDIR"], "ARCH=arm64",
                  "CROSS_COMPILE=" + CROSS]
        clone = ["CC=%sgcc" % CROSS, "AR=%sar" % CROSS]
    else:
        clone = ["KVER=" + kver]
    os.environ.update(env)              # for tests/vm/boot too
    work = os.path.join(BUILD, name, kver)
    initrd = os.path.join(work, "initramfs.cpio.gz")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    if os.environ.get("SYSGENID_STAGE", "1") != "0":
        sh(*make, os.path.join(TOP, "module"), "stage", "KVER=" + kver,
           *module)
        sh(*make, HERE, "stage", *clone)
    sh(os.path.join(vm, "mkinitramfs"), kver, initrd)
    ko = os.environ.get("SYSGENID_VMGENID_KO")
    if ko:
        append_file(initrd, "lib/sysgenid/vmgenid.ko", ko)
    return kver, initrd, work


def append_file(initrd, name, src):
    """Put src at /name in the guest, over what the initramfs has there:
    a second archive appended, which the kernel unpacks after the first
    (name's directory must be in the first)."""
    with open(src, "rb") as f:
        data = f.read()
    path = name.encode() + b"\0"

    def entry(path, mode, data):
        # newc: magic, then ino mode uid gid nlink mtime filesize
        # devmajor devminor rdevmajor rdevminor namesize check, in hex
        fields = (1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(path), 0)
        head = b"070701" + b"".join(b"%08x" % v for v in fields) + path
        return (head + b"\0" * (-len(head) % 4) + data +
                b"\0" * (-len(data) % 4))

    cpio = entry(path, 0o100644, data) + entry(b"TRAILER!!!\0", 0, b"")
    with open(initrd, "ab") as f:
        f.write(gzip.compress(cpio, mtime=0))


def main(name, scenarios, run):
    """A clone test's main: KERNEL from argv, the guest prepared under
    build/NAME/, then run(tap, scenario, kver, initrd, work) for each
    scenario, each failure reported and the next one run; the plan last."""
    if len(sys.argv) != 2:
        sys.stderr.write("usage: %s KERNEL\n" % sys.argv[0])
        return 2
    tap = Tap()
    t0 = time.monotonic()
    try:
        kver, initrd, work = prepare(sys.argv[1], name)
        tap.comment("kernel %s, initramfs %s" % (kver, initrd))
    except RuntimeError as e:
        tap.result(False, "prepare the guest", str(e).splitlines()[-20:])
        tap.plan()
        return 0
    for s in scenarios:
        try:
            run(tap, s, kver, initrd, work)
        except Exception as e:          # reported, and the next one runs
            tap.result(False, "%s: scenario stopped: %s: %s" %
                       (s, type(e).__name__, e))
    tap.comment("wall time %.1f s" % (time.monotonic() - t0))
    tap.plan()
    return 0


def last_words(g, n=8):
    """Diagnostics of a guest that stopped answering: its last lines on the
    agent's port and on the console."""
    with g.cond:
        lines = ["agent: " + l for _, l in g.lines[-n:]]
    if os.path.exists(g.console):
        with open(g.console, errors="replace") as f:
            lines += ["console: " + l.rstrip() for l in f.readlines()[-n:]]
    return lines + ["QEMU %s" % ("runs" if g.proc.poll() is None
                                 else "exited")]


def log_clean(tap, g, name):
    """A result: the guest still runs and its console shows no complaint."""
    bad = []
    if os.path.exists(g.console):
        with open(g.console, errors="replace") as f:
            bad = [l.rstrip() for l in f if BAD_LOG.search(l)]
    alive = g.proc.poll() is None
    tap.result(alive and not bad, name,
               bad[:5] + ([] if alive else ["QEMU exited"]))


def sysfs_gen(g):
    return int(g.check("cat /sys/class/misc/sysgenid/generation")[0])

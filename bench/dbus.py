#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/dbus.py: the host side of `make -C bench dbus`.

The same fan-out (N subscribers, from the event to the last confirmation)
on one Debian 12 guest booted by systemd (tests/debian/build-image), twice
for each N in turn: through /dev/sysgenid (bench/fanout.c, as in `make
bench`; its "proc" mode, N processes blocked in read(), is the one
compared) and as a broadcast D-Bus signal on the system bus with one Ack
method call per subscriber (bench/dbus-fanout.c). The programs and the bus
policy are written into a copy of the image's disk with debugfs; the test
agent of the image runs them. Prints the table; dbus.json and dbus.md in
the output directory.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
sys.dont_write_bytecode = True          # no __pycache__ in the tree
import vmctl  # noqa: E402

BIN = "/usr/local/bin"
POLICY = "/etc/dbus-1/system.d/org.sysgenid.Bench1.conf"


def log(msg):
    print(f"# bench-dbus: {msg}", file=sys.stderr, flush=True)


def stage(image, disk, files):
    """Copy the image's disk to @disk and write @files ({guest path: host
    path}) into it: debugfs on the raw ext4, no mount."""
    subprocess.check_call(["cp", "--sparse=always",
                           os.path.join(image, "disk.img"), disk])
    cmds = []
    for dst, src in files.items():
        d, name = os.path.split(dst)
        cmds += [f"cd {d}", f"rm {name}", f"write {src} {name}",
                 f"sif {name} mode 0{os.stat(src).st_mode:o}",
                 "sif %s uid 0" % name, "sif %s gid 0" % name]
    with tempfile.NamedTemporaryFile("w", suffix=".debugfs") as f:
        f.write("\n".join(cmds) + "\n")
        f.flush()
        # rm of a file not there yet complains: only the result counts.
        subprocess.run(["debugfs", "-w", "-f", f.name, disk],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.check_output(
        ["debugfs", "-R", "ls -l " + BIN, disk],
        stderr=subprocess.DEVNULL, universal_newlines=True)
    for dst in files:
        if dst.startswith(BIN + "/") and os.path.basename(dst) not in out:
            raise RuntimeError(f"debugfs did not write {dst}")


def results(lines):
    fig = {}
    for line in lines:
        m = re.match(r"RESULT (\S+) (\S+) (\S+)$", line)
        if m:
            fig.setdefault(m[1], {})[m[2]] = float(m[3])
        elif line.startswith("#"):
            print(line)
    return fig


def run(g, cmd, timeout):
    t0 = time.monotonic()
    st, out = g.run(cmd, timeout)
    log(f"{cmd}: exit {st}, {time.monotonic() - t0:.0f} s")
    if st:
        for line in out[-20:]:
            log("  " + line)
    return results(out), st == 0


def ratios(fig, counts):
    """D-Bus / sysgenid for each N: of the medians, and of the minimums
    (on a shared host the figure least disturbed by the neighbours)."""
    f, d = fig.get("fanout", {}), fig.get("dbus", {})
    r = {}
    for n in counts:
        for what, sfx in (("median", ""), ("min", "-min")):
            s, b = f.get(f"proc-n{n}-us{sfx}"), d.get(f"signal-n{n}-us{sfx}")
            if s and b:
                r[f"n{n}-{what}"] = b / s
    return r


def table(fig, counts):
    f, d, r = fig.get("fanout", {}), fig.get("dbus", {}), fig["ratio"]

    def ms(v):
        return f"{v / 1e3:.3g}" if v < 1e6 else f"{v / 1e3:.0f}"

    def cell(v, w):
        return f"{ms(v)} ({ms(w)})" if v and w else ""

    def x(v):
        return f"{v:.1f}x" if v else ""

    out = ["| N | /dev/sysgenid, ms: median (min) | D-Bus, ms: median (min) "
           "| D-Bus / sysgenid: medians | minimums |",
           "|---:|---:|---:|---:|---:|"]
    for n in counts:
        out.append(" | ".join([
            f"| {n}",
            cell(f.get(f"proc-n{n}-us"), f.get(f"proc-n{n}-us-min")),
            cell(d.get(f"signal-n{n}-us"), d.get(f"signal-n{n}-us-min")),
            x(r.get(f"n{n}-median")), x(r.get(f"n{n}-min"))]) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kver", required=True)
    ap.add_argument("--image", required=True, help="build-image's directory")
    ap.add_argument("--bin", required=True, help="sgb-fanout's directory")
    ap.add_argument("--out", required=True)
    ap.add_argument("--counts", default="1,10,100,1000")
    ap.add_argument("--mem", default="1536M")
    args = ap.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    os.makedirs(args.out, exist_ok=True)

    work = os.path.join(args.out, "dbus-vm")
    os.makedirs(work, exist_ok=True)
    disk = os.path.join(work, "disk.img")
    stage(args.image, disk, {
        BIN + "/sgb-fanout": os.path.join(args.bin, "sgb-fanout"),
        BIN + "/sgb-dbus-fanout": os.path.join(args.bin, "sgb-dbus-fanout"),
        POLICY: os.path.join(TOP, "bench", "dbus",
                             "org.sysgenid.Bench1.conf")})

    log(f"booting the Debian guest, {args.kver} (console: {work}/)")
    g = vmctl.Guest(args.kver,
                    os.path.join(args.image, "initrd.img-" + args.kver),
                    work, "debian", init=None, disk=disk,
                    append="root=/dev/vda rw", mem=args.mem, limit=900,
                    ready=True)
    fig, ok = {}, True
    try:
        g.wait_ready(300)
        st, out = g.run("systemctl is-system-running --wait", 300)
        log(f"system: {' '.join(out)}")
        # The policy file came after the daemon's start: reload it.
        g.check("systemctl reload dbus.service")
        g.check("echo 4194304 >/proc/sys/kernel/pid_max")
        # The image's own watchers would be in every round: the hooks
        # service runs the hooks (99-test-record sleeps 2 s), and
        # `sysgenid ready` is one more. Only the benchmark's are left.
        g.check("systemctl stop sysgenid-hooks.service "
                "sysgenid-ready.service")
        log("watchers of /dev/sysgenid left: " + " ".join(
            g.check("cat /sys/class/misc/sysgenid/watchers")))
        # N by N, the two in turn: both see the same neighbours on the host.
        for n in counts:
            for prog in ("sgb-fanout", "sgb-dbus-fanout"):
                r, good = run(g, f"{BIN}/{prog} {n}", 600)
                ok &= good
                for k, v in r.items():
                    fig.setdefault(k, {}).update(v)
        fig["machine"] = {
            "kernel": args.kver, "host": os.uname().nodename,
            "dbus-daemon": g.check("dbus-daemon --version")[0],
            "cpus": int(g.check("nproc")[0]),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    except (vmctl.Timeout, vmctl.VMError, RuntimeError) as e:
        log(f"failed: {e!r}")
        ok = False
    finally:
        g.quit()
    os.unlink(disk)

    fig["ratio"] = ratios(fig, counts)
    text = table(fig, counts)
    with open(os.path.join(args.out, "dbus.json"), "w") as fp:
        json.dump(fig, fp, indent=1, sort_keys=True)
    with open(os.path.join(args.out, "dbus.md"), "w") as fp:
        fp.write(text + "\n")
    print(text)
    print(f"\n# figures: {args.out}/dbus.json, dbus.md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

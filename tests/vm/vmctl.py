# SPDX-License-Identifier: GPL-2.0
"""vmctl: boot, save and clone QEMU guests, and talk to them.

Python 3 standard library only. A Guest is one QEMU process started by
tests/vm/boot with a VM generation ID device, a QMP socket and the results
channel (ttyS1) on a unix socket. The guest runs /bin/clone-agent
(tests/clone/clone-agent), which executes commands sent over that channel.

    g = Guest(kver, initrd, workdir, "origin", guid="auto")
    g.wait_ready()                  # the agent is up
    g.run("clone-watchers read")    # -> (status, output lines)
    g.save(image)                   # QMP migrate to a file; g stays paused
    g.quit()
    c = g.clone(image, "clone1", guid="auto")   # g's command line
    c.wait_incoming()               # state loaded, still paused
    t = c.cont()                    # host clock (time.monotonic) of QMP cont
    c.wait_line(lambda l: l.startswith("@w read confirmed"), 60)

A guest that boots a disk (disk=PATH, a raw image on virtio) and its own
init (init=None: no sysgenid.init) runs the agent as a service of its own
(tests/debian/).

With ready=True a guest also has a virtio-serial port named
org.sysgenid.ready (READY_PORT) on a unix socket of its own, which the host
reads as `sysgenid ready` writes it:

    g = Guest(kver, initrd, workdir, "origin", ready=True)
    ...                             # in the guest: sysgenid ready &
    gen, _ = g.wait_ready_line(60)  # its first line, at start
    c = g.clone(image, "clone1")    # has the port too
    t = c.cont()
    gen, secs = c.wait_ready_line(60)   # secs: host time since c's cont

A clone is started with the same command line as its origin (same machine,
memory, CPUs, devices and chardev ids); only the paths of its sockets and
the GUID differ. The GUID is not part of the migration stream: QEMU writes
the clone's own GUID into guest memory after loading the state and raises
the ACPI notification, which the guest handles once resumed.

An arm64 guest (a release ending in -arm64) has no vmgenid device, since
QEMU has none there; with a guid other than "none" it gets a device-tree
one instead (tests/vm/arm64-dtb: a reserved page and a microsoft,vmgenid
node whose interrupt is the power key's GPIO line), and the host plays the
hypervisor: it writes the ID into guest memory through QEMU's gdbstub
before the guest runs (at boot and before a clone's cont), and a clone's
cont() then raises the interrupt (QMP system_powerdown). write_id() and
notify() do each step on their own, for a guest that changes in place.

Every wait has a guard; a guard that fires raises Timeout, which callers
count as a failure.
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
BOOT = os.path.join(HERE, "boot")
ARM64_DTB = os.path.join(HERE, "arm64-dtb")
# The virtio-serial port of `sysgenid ready` (sysgenid(1)).
READY_PORT = "org.sysgenid.ready"


class Timeout(Exception):
    """A guard fired."""


class VMError(Exception):
    """QEMU failed, or a QMP command did."""


def _connect_unix(path, proc, timeout):
    """Connect to a server socket that QEMU creates soon after it starts."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise VMError("QEMU exited with status %d" % proc.returncode)
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
        if time.monotonic() > deadline:
            raise Timeout("no socket %s after %d s" % (path, timeout))
        time.sleep(0.05)


class QMP:
    """A minimal QMP client: one command at a time, events kept."""

    def __init__(self, sock, timeout=60):
        # A QEMU that hangs fails the call instead of the whole run.
        sock.settimeout(timeout)
        self.sock = sock
        self.file = sock.makefile("rwb", buffering=0)
        self.events = []
        self._recv()                    # the greeting
        self.cmd("qmp_capabilities")

    def _recv(self):
        line = self.file.readline()
        if not line:
            raise VMError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._recv()
            if "event" in r:
                self.events.append(r)
            elif "error" in r:
                raise VMError("%s: %s" % (name, r["error"]["desc"]))
            elif "return" in r:
                return r["return"]

    def close(self):
        self.file.close()
        self.sock.close()


class GDB:
    """Just enough of the GDB remote protocol to write guest memory.

    Connecting stops the VM (QEMU's gdbstub pauses it for the debugger);
    closing leaves it stopped: QMP cont resumes it."""

    def __init__(self, sock, timeout=60):
        sock.settimeout(timeout)
        self.sock = sock
        self.buf = b""

    def _byte(self):
        if not self.buf:
            self.buf = self.sock.recv(4096)
            if not self.buf:
                raise VMError("gdbstub connection closed")
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def _packet(self):
        """The next packet's payload, acknowledged."""
        while self._byte() != b"$":
            pass
        data = b""
        while True:
            b = self._byte()
            if b == b"#":
                break
            data += b
        self._byte()
        self._byte()                    # the checksum: TCP checks enough
        self.sock.sendall(b"+")
        return data.decode()

    def cmd(self, data):
        """Send a command; its reply ("OK" expected), stop replies that
        the stop on connection may send passed over."""
        raw = data.encode()
        pkt = b"$%s#%02x" % (raw, sum(raw) & 0xff)
        self.sock.sendall(pkt)
        while True:
            reply = self._packet()
            if reply == "OK":
                return reply
            # A stop reply (T, S) or console output (O...), not ours.
            if reply[:1] not in ("T", "S", "O"):
                raise VMError("gdbstub: %s: %r" % (data[:32], reply))

    def write_phys(self, addr, data):
        self.cmd("Qqemu.PhyMemMode:1")
        self.cmd("M%x,%x:%s" % (addr, len(data), data.hex()))

    def close(self):
        self.sock.close()


class Guest:
    """One QEMU guest running clone-agent."""

    def __init__(self, kver, initrd, workdir, name, guid="auto",
                 incoming=None, mem="512M", smp=2, append="", limit=600,
                 qemu_args=(), ready=False, init="/bin/clone-agent",
                 disk=None):
        self.name = name
        self.workdir = workdir
        self._config = dict(kver=kver, initrd=initrd, workdir=workdir,
                            mem=mem, smp=smp, append=append, limit=limit,
                            qemu_args=tuple(qemu_args), ready=ready,
                            init=init)
        os.makedirs(workdir, exist_ok=True)
        p = os.path.join(workdir, name)
        self.console = p + ".console"
        self.qmp_path = p + ".qmp"
        self.res_path = p + ".res"
        self.ready_path = p + ".ready"
        self.gdb_path = p + ".gdb"
        for f in (self.console, self.qmp_path, self.res_path,
                  self.ready_path, self.gdb_path):
            if os.path.exists(f):
                os.unlink(f)

        # arm64: the device-tree vmgenid, whose ID the host writes.
        self.id_page = None
        self._guid = None
        dt_args = []
        if kver.endswith("-arm64") and guid != "none":
            dtb = os.path.join(workdir, "vmgenid-%s-%d.dtb" % (mem, smp))
            page = dtb + ".page"
            if not os.path.exists(page):
                out = subprocess.run([ARM64_DTB, dtb, mem, str(smp)],
                                     stdout=subprocess.PIPE, check=True,
                                     universal_newlines=True).stdout
                with open(page, "w") as f:
                    f.write(out)
            with open(page) as f:
                self.id_page = int(f.read(), 16)
            self._guid = guid
            dt_args = ["-d", dtb]
            # Paused until the ID is written (for a clone: until cont()).
            qemu_args = ("-gdb", "unix:%s,server=on,wait=off" %
                         self.gdb_path) + tuple(qemu_args) + \
                (() if incoming else ("-S",))

        args = [BOOT, "-c", self.console] + dt_args + [
                "-R", "socket,path=%s,server=on,wait=off" % self.res_path,
                "-g", guid, "-m", mem, "-s", str(smp), "-t", str(limit)]
        if init:
            args += ["-a", "sysgenid.init=" + init]
        if append:
            args += ["-a", append]
        args += [kver, initrd, "--",
                 "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        args += list(qemu_args)
        if disk:
            # One disk, the same device in every clone; each clone gets a
            # copy of its own (the migration stream holds no disk).
            args += ["-drive", "file=%s,format=raw,if=virtio,cache=unsafe"
                     % disk.replace(",", ",,")]
        if ready:
            # The same devices and ids in every clone: only the path differs.
            args += ["-device", "virtio-serial-pci",
                     "-chardev", "socket,id=ready,path=%s,server=on,wait=off"
                     % self.ready_path,
                     "-device", "virtserialport,chardev=ready,name=%s"
                     % READY_PORT]
        if incoming:
            # -S: stay paused after loading, until cont.
            args += ["-S", "-incoming", "exec:cat " + shlex.quote(incoming)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

        self.lines = []                 # (host monotonic time, line)
        self.cond = threading.Condition()
        self.closed = False
        self._next_id = 0
        self._consumed = 0              # run() answers are looked for here on
        self.ready_lines = []           # (host monotonic time, line)
        self.ready = None
        self.t_cont = None              # host time of the last cont()
        self._ready_seen = 0            # wait_ready_line() looks from here on
        try:
            self.qmp = QMP(_connect_unix(self.qmp_path, self.proc, 30))
            self.res = _connect_unix(self.res_path, self.proc, 30)
            if ready:
                # Connected before the guest runs: its port is open on
                # the host side from the first instruction on.
                self.ready = _connect_unix(self.ready_path, self.proc, 30)
        except Exception:
            self.kill()
            raise
        threading.Thread(target=self._reader, args=(self.res, self.lines),
                         daemon=True).start()
        if self.id_page is not None and not incoming:
            try:
                self.write_id(guid)
                self.qmp.cmd("cont")
            except Exception:
                self.kill()
                raise
        if ready:
            threading.Thread(target=self._reader,
                             args=(self.ready, self.ready_lines, False),
                             daemon=True).start()

    def _reader(self, sock, lines, closes=True):
        buf = b""
        while True:
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            now = time.monotonic()
            if not data:
                with self.cond:
                    self.closed |= closes
                    self.cond.notify_all()
                return
            buf += data
            *whole, buf = buf.split(b"\n")
            with self.cond:
                for raw in whole:
                    line = raw.decode(errors="replace").rstrip("\r")
                    lines.append((now, line))
                self.cond.notify_all()

    def wait_ready_line(self, timeout, gen=None):
        """The next `ready N` line on the ready port (a guest started with
        ready=True): (N, host seconds since this guest's cont(), or None
        before any cont). With gen, lines for other generations are passed
        over. Raises Timeout when none came within timeout, VMError on a
        line that is not `ready N`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                while self._ready_seen < len(self.ready_lines):
                    t, line = self.ready_lines[self._ready_seen]
                    self._ready_seen += 1
                    w = line.split()
                    if len(w) != 2 or w[0] != "ready" or not w[1].isdigit():
                        raise VMError("%s: bad line on the ready port: %r" %
                                      (self.name, line))
                    n = int(w[1])
                    if gen is None or n == gen:
                        return n, (None if self.t_cont is None
                                   else t - self.t_cont)
                if self.proc.poll() is not None:
                    raise VMError("%s: QEMU exited with status %d (see %s)" %
                                  (self.name, self.proc.returncode,
                                   self.console))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout("%s: no ready line after %g s" %
                                  (self.name, timeout))
                self.cond.wait(min(left, 0.5))

    def ready_seen(self):
        """Every (time, line) of the ready port so far."""
        with self.cond:
            return list(self.ready_lines)

    def wait_line(self, pred, timeout, start=0):
        """First (time, line) from index start on with pred(line) true."""
        deadline = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i][1]):
                        return self.lines[i]
                    i += 1
                if self.proc.poll() is not None:
                    raise VMError("%s: QEMU exited with status %d (see %s)" %
                                  (self.name, self.proc.returncode,
                                   self.console))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout("%s: no matching line after %g s" %
                                  (self.name, timeout))
                self.cond.wait(min(left, 0.5))

    def matching(self, pred):
        """Every (time, line) so far with pred(line) true."""
        with self.cond:
            return [(t, l) for t, l in self.lines if pred(l)]

    def wait_ready(self, timeout=180):
        self.wait_line(lambda l: l == "@agent ready", timeout)

    def run(self, cmd, timeout=60):
        """Run cmd in the guest: (exit status, list of output lines)."""
        self._next_id += 1
        tag = "%d" % self._next_id
        with self.cond:
            start = len(self.lines)
        self.res.sendall(("%s %s\n" % (tag, cmd)).encode())
        _, end = self.wait_line(lambda l: l.startswith(tag + "= "), timeout,
                                start)
        out = [l[len(tag) + 2:] for _, l in
               self.matching(lambda l: l.startswith(tag + "| "))]
        return int(end[len(tag) + 2:]), out

    def check(self, cmd, timeout=60):
        """run(), raising VMError on a non-zero status; the output lines."""
        status, out = self.run(cmd, timeout)
        if status:
            raise VMError("%s: `%s` exited %d: %s" %
                          (self.name, cmd, status, " / ".join(out)))
        return out

    def save(self, path, timeout=300):
        """Save the running guest's state to path; the guest stays paused."""
        if os.path.exists(path):
            os.unlink(path)
        # Throttling only slows a local save down.
        self.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
        self.qmp.cmd("migrate", uri="exec:cat > " + shlex.quote(path))
        deadline = time.monotonic() + timeout
        while True:
            st = self.qmp.cmd("query-migrate").get("status")
            if st == "completed":
                return
            if st in ("failed", "cancelled"):
                raise VMError("%s: migration %s" % (self.name, st))
            if time.monotonic() > deadline:
                raise Timeout("%s: save not done after %d s" %
                              (self.name, timeout))
            time.sleep(0.1)

    def clone(self, image, name, guid="auto", disk=None):
        """A guest with this one's command line, paused on image's state;
        a guest with a disk needs disk, a copy of its origin's disk made
        after the save."""
        return Guest(name=name, guid=guid, incoming=image, disk=disk,
                     **self._config)

    def wait_incoming(self, timeout=300):
        """Wait until an incoming guest has loaded its state."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.qmp.cmd("query-status")["status"]
            if st != "inmigrate":
                if st not in ("paused", "prelaunch"):
                    raise VMError("%s: state %s after loading" %
                                  (self.name, st))
                return
            if time.monotonic() > deadline:
                raise Timeout("%s: still loading after %d s" %
                              (self.name, timeout))
            time.sleep(0.05)

    def cont(self):
        """Resume the guest; the host time (time.monotonic) of the cont.
        A device-tree vmgenid guest (arm64) gets its ID first and the
        interrupt after, as a clone does from its hypervisor."""
        if self.id_page is not None:
            self.write_id(self._guid)
        t = time.monotonic()
        self.qmp.cmd("cont")
        self.t_cont = t
        if self.id_page is not None:
            self.notify()
        return t

    def write_id(self, guid):
        """arm64: write the generation ID guid ("auto": a new random one)
        into the guest's ID page; the guest does not run meanwhile, and
        runs on after if it ran before. Returns the ID written."""
        if guid == "auto":
            guid = str(uuid.uuid4())
        running = self.qmp.cmd("query-status")["status"] == "running"
        gdb = GDB(_connect_unix(self.gdb_path, self.proc, 30))
        try:
            # The byte order of QEMU's x86 device (fields little-endian).
            gdb.write_phys(self.id_page, uuid.UUID(guid).bytes_le)
        finally:
            gdb.close()
        if running:
            self.qmp.cmd("cont")
        self._guid = guid
        return guid

    def notify(self):
        """arm64: raise the vmgenid interrupt (system_powerdown pulses the
        GPIO line with ACPI off)."""
        self.qmp.cmd("system_powerdown")

    def guid(self):
        if self.id_page is not None:
            return self._guid
        return self.qmp.cmd("query-vm-generation-id")["guid"]

    def quit(self, timeout=30):
        try:
            self.qmp.cmd("quit")
        except (VMError, OSError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close()

    def kill(self):
        if self.proc.poll() is None:
            # tests/vm/boot runs QEMU under timeout(1) in its own session.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._close()

    def _close(self):
        for s in ("qmp", "res", "ready"):
            obj = getattr(self, s, None)
            if obj is not None:
                try:
                    obj.close()
                except OSError:
                    pass

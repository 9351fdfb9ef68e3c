# SPDX-License-Identifier: LGPL-2.1-or-later
"""sysgenid: the system generation counter, /dev/sysgenid, from Python.

The counter is a system-wide 32-bit number that moves when the system is
restored from a snapshot or cloned, or when a privileged orchestrator forces
an update. It wraps: compare generations with ``!=`` only.

Two kinds of handle, as in libsysgenid:

* a :class:`Watcher` (:func:`open_watcher`) is counted by the kernel: after
  every event it is outdated until it :meth:`~Watcher.confirm`\\ s the new
  generation, and orchestrators (:meth:`Handle.wait_watchers`) wait for it;
* a :class:`Probe` (:func:`open_probe`) is not counted and cannot confirm.

Both map the counter's page read-only, so that :meth:`Handle.get` and
:meth:`Handle.changed` cost one memory load and no system call, and, where
the hypervisor's VM generation ID page can be mapped, :meth:`Handle.check`
sees a clone at its first call, before the kernel has heard of it.

The module talks to the kernel directly (``ioctl`` through :mod:`ctypes`,
:mod:`mmap`); it needs neither libsysgenid nor any other package.

Errors are :class:`SysgenidError`, an :class:`OSError` whose ``errno`` is
the kernel's; :class:`NotLoadedError` (ENOENT, ENODEV, ENXIO at open) says
that the module is not loaded.

Example::

    import sysgenid

    with sysgenid.open_watcher() as w:
        gen = w.wait()          # blocks until the next event
        rebuild_caches()
        w.confirm(gen)
"""

from __future__ import annotations

import asyncio
import ctypes
import errno as _errno
import mmap
import os
import select
import struct
import time
from typing import Optional

__all__ = [
    "DEVICE", "VMGENID_SIZE", "Handle", "Watcher", "Probe", "open_watcher",
    "open_probe", "supported", "SysgenidError", "NotLoadedError",
    "TimeoutExpired", "StaleGenerationError", "OutdatedError",
    "PermissionDenied", "NoIdDeviceError",
]

DEVICE = "/dev/sysgenid"
"""The device node."""

VMGENID_SIZE = 16
"""Size of a VM generation ID in bytes."""


# The ABI of include/uapi/linux/sysgenid.h. _IO(type, nr) is
# (type << 8) | nr; _IOR(type, nr, __u32) adds the direction (2 << 30) and
# the size (4 << 16).
def _io(t: int, nr: int) -> int:
    return (t << 8) | nr


def _ior(t: int, nr: int, size: int) -> int:
    return (2 << 30) | (size << 16) | (t << 8) | nr


_SYSGENID_IOCTL = 0x2D
_SYSGENID_IOCTL_V6 = 0xE4
GET_OUTDATED_WATCHERS = _io(_SYSGENID_IOCTL, 1)
WAIT_WATCHERS = _io(_SYSGENID_IOCTL, 2)
FORCE_GEN_UPDATE = _io(_SYSGENID_IOCTL, 3)
SET_WATCHER_TRACKING = _io(_SYSGENID_IOCTL_V6, 1)
SYNC_GEN = _ior(_SYSGENID_IOCTL_V6, 4, 4)
VMGENID_PGOFF = 1

# struct sysgenid_page: generation, vmgenid_offset, vmgenid[16].
_OFF_GENERATION = 0
_OFF_VMGENID_OFFSET = 4
_OFF_VMGENID = 8


class SysgenidError(OSError):
    """An error from /dev/sysgenid; ``errno`` is the kernel's."""

    def __init__(self, err: int, what: str,
                 filename: Optional[str] = None) -> None:
        super().__init__(err, "%s: %s" % (what, os.strerror(err)), filename)


class NotLoadedError(SysgenidError, FileNotFoundError):
    """/dev/sysgenid is missing: the module is not loaded (ENOENT...)."""

    def __str__(self) -> str:
        return super().__str__() + " (is the sysgenid module loaded?)"


class TimeoutExpired(SysgenidError, TimeoutError):
    """A wait timed out (ETIME)."""


class StaleGenerationError(SysgenidError):
    """confirm(): the generation is no longer the current one (EINVAL)."""


class OutdatedError(SysgenidError, InterruptedError):
    """wait_watchers(): this watcher is itself outdated, or a signal came
    (EINTR): handle the event, confirm, and call again."""


class PermissionDenied(SysgenidError, PermissionError):
    """bump() without CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (EPERM), or
    an operation a probe cannot do (EBADF)."""


class NoIdDeviceError(SysgenidError):
    """sync(): the kernel cannot read a VM generation ID (ENODEV)."""


_libc = ctypes.CDLL(None, use_errno=True)
_ioctl = _libc.ioctl
_ioctl.restype = ctypes.c_int


def _error(err: int, what: str, cls: Optional[type] = None) -> SysgenidError:
    if cls is None:
        cls = {
            _errno.ETIME: TimeoutExpired,
            _errno.EPERM: PermissionDenied,
        }.get(err, SysgenidError)
    return cls(err, what, DEVICE)


class Handle:
    """An open file on /dev/sysgenid with its mapped page.

    Use :func:`open_watcher` or :func:`open_probe`; a handle is a context
    manager and closes on exit. Any method may be called from several
    threads at once, except :meth:`close`. The file is non-blocking and
    close-on-exec.
    """

    _flags = os.O_RDONLY

    def __init__(self, path: str = DEVICE) -> None:
        self._fd = -1
        self._map: Optional[mmap.mmap] = None
        self._idmap: Optional[mmap.mmap] = None
        try:
            self._fd = os.open(path, self._flags | os.O_CLOEXEC |
                               os.O_NONBLOCK)
        except OSError as e:
            cls = (NotLoadedError
                   if e.errno in (_errno.ENOENT, _errno.ENODEV, _errno.ENXIO)
                   else None)
            raise _error(e.errno, "open " + path, cls) from None
        try:
            self._map = mmap.mmap(self._fd, mmap.PAGESIZE, mmap.MAP_SHARED,
                                  mmap.PROT_READ)
        except OSError as e:
            os.close(self._fd)
            self._fd = -1
            raise _error(e.errno, "mmap " + DEVICE) from None
        self._view = memoryview(self._map)
        # Native 'I' items: CPython reads each with one 32-bit load.
        self._gen = self._view[:4].cast("I")
        off = struct.unpack_from("=I", self._map, _OFF_VMGENID_OFFSET)[0]
        self._idoff = off
        # vmgenid_offset 0: no ID page. ENODEV: none, or turned off.
        if 0 < off <= mmap.PAGESIZE - VMGENID_SIZE:
            self._map_id_page()

    def _map_id_page(self) -> None:
        try:
            self._idmap = mmap.mmap(self._fd, mmap.PAGESIZE, mmap.MAP_SHARED,
                                    mmap.PROT_READ,
                                    offset=VMGENID_PGOFF * mmap.PAGESIZE)
        except ValueError:
            pass    # a regular file (tests) shorter than two pages
        except OSError as e:
            if e.errno != _errno.ENODEV:
                self.close()
                raise _error(e.errno, "mmap the VM generation ID page") \
                    from None

    # -- life cycle -----------------------------------------------------

    def close(self) -> None:
        """Unmap and close; a watcher stops being one. Idempotent."""
        if self._map is not None:
            self._gen.release()
            self._view.release()
            self._map.close()
            self._map = None
        if self._idmap is not None:
            self._idmap.close()
            self._idmap = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "Handle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def fileno(self) -> int:
        """The file descriptor, for :mod:`selectors` and
        ``loop.add_reader``: it polls readable while the handle is
        outdated. Do not close it."""
        if self._fd < 0:
            raise ValueError("sysgenid handle is closed")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    # -- the mapped counter --------------------------------------------

    def get(self) -> int:
        """The current generation: one load from the mapping, no system
        call."""
        return self._gen[0]

    def changed(self, cached: int) -> bool:
        """Has the counter moved since ``cached`` was read? One load."""
        return self._gen[0] != cached

    @property
    def id_page_mapped(self) -> bool:
        """Whether the hypervisor's VM generation ID page is mapped, so
        that :meth:`check` sees a clone before the kernel does."""
        return self._idmap is not None

    def check(self) -> int:
        """The current generation, without the window after a clone.

        Loads the VM generation ID that the generation stands for, then
        the generation; where the hypervisor's ID page is mapped and its
        ID differs, the system was cloned and the kernel has not caught up
        yet: calls :meth:`sync` once, which makes the event at once, and
        returns its generation. Compare the result with a cached
        generation. Costs a few loads when nothing changed. (CPython issues
        the loads in program order; x86-64 keeps them in that order.)
        """
        m = self._map
        assert m is not None
        known = m[_OFF_VMGENID:_OFF_VMGENID + VMGENID_SIZE]
        gen = self._gen[0]
        idm = self._idmap
        if idm is not None and \
                idm[self._idoff:self._idoff + VMGENID_SIZE] != known:
            return self.sync()
        return gen

    def sync(self) -> int:
        """SYSGENID_SYNC_GEN: catch up with the hypervisor's VM generation
        ID (one event if it changed) and return the current generation.
        One system call, no privilege; raises :class:`NoIdDeviceError`
        where the kernel cannot read an ID."""
        out = ctypes.c_uint32(0)
        if _ioctl(self.fileno(), ctypes.c_ulong(SYNC_GEN),
                  ctypes.byref(out)) < 0:
            err = ctypes.get_errno()
            raise _error(err, "SYSGENID_SYNC_GEN",
                         NoIdDeviceError if err == _errno.ENODEV else None)
        return out.value

    # -- waiting --------------------------------------------------------

    def wait(self, timeout: Optional[float] = None) -> int:
        """Wait until the handle is outdated and return the new generation.

        ``timeout`` in seconds: ``None`` waits without a limit, 0 checks
        without waiting. Returns at once while the handle is outdated (a
        watcher then confirms; a probe stays outdated once an event
        happened, so it compares generations instead). Raises
        :class:`TimeoutExpired` (ETIME).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        fd = self.fileno()
        while True:
            try:
                data = os.read(fd, 4)
            except BlockingIOError:
                pass
            except OSError as e:
                raise _error(e.errno, "read " + DEVICE) from None
            else:
                if len(data) != 4:
                    raise _error(_errno.EIO, "read " + DEVICE)
                return struct.unpack("=I", data)[0]
            if deadline is None:
                left = None
            else:
                left = max(0.0, deadline - time.monotonic())
                if left == 0:
                    raise _error(_errno.ETIME, "wait")
            p = select.poll()
            p.register(fd, select.POLLIN)
            # poll() rounds milliseconds up: no early timeout.
            if not p.poll(None if left is None else left * 1000) and \
                    deadline is not None and time.monotonic() >= deadline:
                raise _error(_errno.ETIME, "wait")

    async def wait_async(self, timeout: Optional[float] = None) -> int:
        """:meth:`wait` for asyncio: waits with ``loop.add_reader`` on
        :meth:`fileno`, never blocking the event loop."""
        loop = asyncio.get_running_loop()
        fd = self.fileno()

        async def until_ready() -> int:
            while True:
                try:
                    return self.wait(0)
                except TimeoutExpired:
                    pass
                fut = loop.create_future()
                loop.add_reader(fd, fut.set_result, None)
                try:
                    await fut
                finally:
                    loop.remove_reader(fd)

        try:
            return await asyncio.wait_for(until_ready(), timeout)
        except asyncio.TimeoutError:
            raise _error(_errno.ETIME, "wait") from None

    # -- watchers and events --------------------------------------------

    def _ioctl(self, cmd: int, arg: int, what: str) -> int:
        ret = _ioctl(self.fileno(), ctypes.c_ulong(cmd), ctypes.c_ulong(arg))
        if ret < 0:
            err = ctypes.get_errno()
            raise _error(err, what,
                         OutdatedError if err == _errno.EINTR else None)
        return ret

    def outdated_watchers(self) -> int:
        """The number of watchers in the whole system that lived through an
        event and have not confirmed it."""
        return self._ioctl(GET_OUTDATED_WATCHERS, 0,
                           "SYSGENID_GET_OUTDATED_WATCHERS")

    def wait_watchers(self, timeout: Optional[float] = None) -> None:
        """Wait until no watcher is outdated (``timeout`` in seconds, at
        least 1 ms; ``None`` without a limit). For orchestrators, after
        confirming their own watcher. Raises :class:`TimeoutExpired`
        (ETIME) and :class:`OutdatedError` (EINTR: this watcher is itself
        outdated)."""
        ms = 0 if timeout is None else max(1, int(timeout * 1000))
        self.wait_watchers_ms(ms)

    def wait_watchers_ms(self, timeout_ms: int) -> None:
        """:meth:`wait_watchers` with the kernel's argument as is:
        milliseconds, 0 for no limit (above 0xffffffff: EINVAL)."""
        self._ioctl(WAIT_WATCHERS, timeout_ms, "SYSGENID_WAIT_WATCHERS")

    def bump(self, minimum: Optional[int] = None) -> None:
        """Force a generation event: the counter moves to ``minimum`` when it
        is ahead (serial-number arithmetic), else by one (the default).
        Needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN: else
        :class:`PermissionDenied` (EPERM)."""
        self._ioctl(FORCE_GEN_UPDATE,
                    self.get() if minimum is None else minimum,
                    "SYSGENID_FORCE_GEN_UPDATE")


class Probe(Handle):
    """A read-only handle, never counted as a watcher, which cannot
    confirm: for code that only checks the counter (a crypto library)."""

    _flags = os.O_RDONLY


class Watcher(Handle):
    """A handle the kernel counts: after each event it is outdated until it
    confirms."""

    _flags = os.O_RDWR

    def confirm(self, gen: int) -> None:
        """Confirm that every event up to ``gen`` (from :meth:`wait` or
        :meth:`get`) was handled. Raises :class:`StaleGenerationError`
        (EINVAL) when ``gen`` is no longer current: wait again."""
        try:
            n = os.write(self.fileno(), struct.pack("=I", gen))
        except OSError as e:
            raise _error(e.errno, "confirm",
                         StaleGenerationError if e.errno == _errno.EINVAL
                         else PermissionDenied if e.errno == _errno.EBADF
                         else None) from None
        if n != 4:
            raise _error(_errno.EIO, "confirm")

    def set_tracking(self, track: bool) -> None:
        """Count this watcher (the default) or not: an untracked watcher
        still reads, polls and confirms, but holds up no orchestrator."""
        self._set_tracking_raw(1 if track else 0)

    def _set_tracking_raw(self, value: int) -> None:
        try:
            self._ioctl(SET_WATCHER_TRACKING, value,
                        "SYSGENID_SET_WATCHER_TRACKING")
        except SysgenidError as e:
            if e.errno == _errno.EBADF:
                raise _error(e.errno, "SYSGENID_SET_WATCHER_TRACKING",
                             PermissionDenied) from None
            raise


def open_watcher(path: str = DEVICE) -> Watcher:
    """Open a watcher (read-write): tracked, acknowledged at the current
    generation. Raises :class:`NotLoadedError` without the device.
    ``path`` is for tests."""
    return Watcher(path)


def open_probe(path: str = DEVICE) -> Probe:
    """Open a probe (read-only). Raises :class:`NotLoadedError` without the
    device. ``path`` is for tests."""
    return Probe(path)


def supported() -> bool:
    """Whether /dev/sysgenid can be opened: False when it is missing;
    raises :class:`SysgenidError` for another error (EACCES...)."""
    try:
        open_probe().close()
    except NotLoadedError:
        return False
    return True

# SPDX-License-Identifier: GPL-2.0
"""Host unit tests of the Python binding: no device needed.

A regular file stands in for the device where the mapping is concerned
(its first page is struct sysgenid_page, its second the hypervisor's ID
page); ioctls on it fail with ENOTTY. The ioctl numbers are checked against
include/uapi/linux/sysgenid.h through the C compiler when there is one.
"""

import errno
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

import sysgenid

TOP = os.environ.get("SYSGENID_TOP")
ID_OFF = 40


def fake_device(d, gen, known, current=None):
    off = 0 if current is None else ID_OFF
    page = struct.pack("=II16s", gen, off, known).ljust(4096, b"\0")
    if current is not None:
        idp = (b"\0" * ID_OFF + current).ljust(4096, b"\0")
        page += idp
    path = os.path.join(d, "dev")
    with open(path, "wb") as f:
        f.write(page)
    return path


class NoDevice(unittest.TestCase):
    @unittest.skipIf(os.path.exists(sysgenid.DEVICE), "the host has one")
    def test_not_loaded(self):
        with self.assertRaises(sysgenid.NotLoadedError) as cm:
            sysgenid.open_watcher()
        e = cm.exception
        self.assertEqual(e.errno, errno.ENOENT)
        self.assertIsInstance(e, OSError)
        self.assertIsInstance(e, FileNotFoundError)
        self.assertEqual(e.filename, sysgenid.DEVICE)
        self.assertIn("No such file", str(e))
        self.assertIn("loaded?", str(e))
        with self.assertRaises(sysgenid.NotLoadedError):
            sysgenid.open_probe()
        self.assertFalse(sysgenid.supported())


class Mapped(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_get_changed(self):
        path = fake_device(self.dir, 7, b"A" * 16)
        with sysgenid.open_probe(path) as p:
            self.assertEqual(p.get(), 7)
            self.assertFalse(p.changed(7))
            self.assertTrue(p.changed(6))
            self.assertFalse(p.id_page_mapped)
            self.assertEqual(p.check(), 7)
            # The mapping is shared: a write to the file shows at once.
            with open(path, "r+b") as f:
                f.write(struct.pack("=I", 0xffffffff))
            self.assertEqual(p.get(), 0xffffffff)
            self.assertTrue(p.changed(7))
            self.assertGreaterEqual(p.fileno(), 0)
        self.assertTrue(p.closed)
        with self.assertRaises(ValueError):
            p.fileno()
        p.close()  # twice is harmless

    def test_check_same_id(self):
        path = fake_device(self.dir, 3, b"B" * 16, b"B" * 16)
        with sysgenid.open_probe(path) as p:
            self.assertTrue(p.id_page_mapped)
            self.assertEqual(p.check(), 3)

    def test_check_changed_id_calls_sync(self):
        path = fake_device(self.dir, 3, b"B" * 16, b"C" * 16)
        with sysgenid.open_probe(path) as p:
            # A regular file has no SYNC_GEN: the check tried it.
            with self.assertRaises(sysgenid.SysgenidError) as cm:
                p.check()
            self.assertEqual(cm.exception.errno, errno.ENOTTY)
            self.assertIn("SYSGENID_SYNC_GEN", str(cm.exception))

    def test_ioctl_errors(self):
        path = fake_device(self.dir, 1, b"\0" * 16)
        with sysgenid.open_watcher(path) as w:
            for fn in (w.outdated_watchers, w.bump, w.sync,
                       lambda: w.set_tracking(True),
                       lambda: w.wait_watchers(0.01)):
                with self.assertRaises(sysgenid.SysgenidError) as cm:
                    fn()
                self.assertEqual(cm.exception.errno, errno.ENOTTY)

    def test_wait_timeout_on_file(self):
        # A regular file reads 4 bytes at once: wait() returns them.
        path = fake_device(self.dir, 9, b"\0" * 16)
        with sysgenid.open_probe(path) as p:
            self.assertEqual(p.wait(0), 9)

    def test_error_classes(self):
        for cls, base in ((sysgenid.TimeoutExpired, TimeoutError),
                          (sysgenid.OutdatedError, InterruptedError),
                          (sysgenid.PermissionDenied, PermissionError),
                          (sysgenid.NotLoadedError, FileNotFoundError)):
            self.assertTrue(issubclass(cls, sysgenid.SysgenidError))
            self.assertTrue(issubclass(cls, base))
        e = sysgenid.TimeoutExpired(errno.ETIME, "wait")
        self.assertEqual(e.errno, errno.ETIME)


class Numbers(unittest.TestCase):
    @unittest.skipUnless(TOP and shutil.which("cc"), "no tree or compiler")
    def test_against_header(self):
        names = ["GET_OUTDATED_WATCHERS", "WAIT_WATCHERS",
                 "FORCE_GEN_UPDATE", "SET_WATCHER_TRACKING", "SYNC_GEN",
                 "VMGENID_PGOFF"]
        src = "#include <stdio.h>\n#include <linux/sysgenid.h>\n" \
              "int main(void){\n" + "".join(
                  'printf("%%lu\\n", (unsigned long)SYSGENID_%s);\n' % n
                  for n in names) + "return 0;}\n"
        d = tempfile.mkdtemp()
        try:
            c = os.path.join(d, "n.c")
            with open(c, "w") as f:
                f.write(src)
            subprocess.run(["cc", "-I", os.path.join(TOP, "include/uapi"),
                            "-o", os.path.join(d, "n"), c], check=True)
            out = subprocess.run([os.path.join(d, "n")], check=True,
                                 capture_output=True, text=True).stdout
        finally:
            shutil.rmtree(d)
        want = [int(x) for x in out.split()]
        self.assertEqual([getattr(sysgenid, n) for n in names], want)


if __name__ == "__main__":
    unittest.main()

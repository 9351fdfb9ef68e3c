// SPDX-License-Identifier: LGPL-2.1-or-later
//! The system generation counter, `/dev/sysgenid`, from Rust.
//!
//! The counter is a system-wide `u32` that moves when the system is restored
//! from a snapshot or cloned, or when a privileged orchestrator forces an
//! update. It wraps: compare generations with `!=` only.
//!
//! Two kinds of handle, as in libsysgenid:
//!
//! - a [`Watcher`] is counted by the kernel: after every event it is
//!   outdated until it [confirms](Watcher::confirm) the new generation, and
//!   orchestrators ([`Handle::wait_watchers`]) wait for it;
//! - a [`Probe`] is not counted and cannot confirm: for code that only
//!   checks the counter, such as a crypto library.
//!
//! Both map the counter's page read-only, so that [`Handle::get`] and
//! [`Handle::changed`] cost one atomic load and no system call; where the
//! hypervisor's VM generation ID page can be mapped, [`Handle::check`] sees
//! a clone at its first call, before the kernel has heard of it. Both
//! dereference to [`Handle`], which holds what they share.
//!
//! The crate talks to the kernel directly (`ioctl`, `mmap`, `poll` declared
//! `extern "C"` from the C library that std links anyway); it depends on no
//! crate and does not need libsysgenid.
//!
//! # Errors
//!
//! Every call returns [`std::io::Result`]. The error's kind follows the
//! errno, its message names the operation, and [`errno()`] gives the errno
//! back: [`ETIME`] for a timeout, [`EINVAL`] for a stale confirmation,
//! [`ENOENT`] when the module is not loaded (see [`is_not_loaded`]).
//!
//! # Threads
//!
//! [`Handle`], [`Watcher`] and [`Probe`] are `Send` and `Sync`: the mapping
//! is read-only and read only by atomic and volatile loads, it lives as
//! long as the handle, and the kernel serialises every operation on the
//! file. Threads sharing a watcher share its acknowledgement.
//!
//! # File descriptor traits
//!
//! Handles implement [`AsRawFd`] and [`AsFd`] (I/O safety is stable since
//! Rust 1.63, under `std::os::unix::io`; the `std::os::fd` module that
//! re-exports them came in 1.66), for `poll`, `epoll` or an async runtime:
//! the descriptor polls readable while the handle is outdated. It is
//! non-blocking and close-on-exec.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! let w = sysgenid::Watcher::open()?;
//! match w.wait(Some(Duration::from_secs(5))) {
//!     Ok(gen) => {
//!         // rebuild caches, then:
//!         w.confirm(gen)?;
//!     }
//!     Err(e) if sysgenid::errno(&e) == Some(sysgenid::ETIME) => {}
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

#![warn(missing_docs)]

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::Deref;
use std::os::raw::{c_int, c_long, c_short, c_ulong, c_void};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::ptr;
use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The device node.
pub const DEVICE: &str = "/dev/sysgenid";
/// Size of a VM generation ID in bytes.
pub const VMGENID_SIZE: usize = 16;

/// errno: no such file (the module is not loaded).
pub const ENOENT: i32 = 2;
/// errno: interrupted (WAIT_WATCHERS on an outdated watcher, a signal).
pub const EINTR: i32 = 4;
/// errno: bad file descriptor (a probe that confirms or is tracked).
pub const EBADF: i32 = 9;
/// errno: operation not permitted (bump without the capability).
pub const EPERM: i32 = 1;
/// errno: try again (read of an up-to-date file).
pub const EAGAIN: i32 = 11;
/// errno: no such device (no VM generation ID).
pub const ENODEV: i32 = 19;
/// errno: invalid argument (a stale confirmation).
pub const EINVAL: i32 = 22;
/// errno: timer expired (a wait that timed out).
pub const ETIME: i32 = 62;

// include/uapi/linux/sysgenid.h: _IO(type, nr) is (type << 8) | nr, and
// _IOR(type, nr, __u32) adds the direction (2 << 30) and the size (4 << 16).
const fn io(t: c_ulong, nr: c_ulong) -> c_ulong {
    (t << 8) | nr
}
const SYSGENID_IOCTL: c_ulong = 0x2d;
const SYSGENID_IOCTL_V6: c_ulong = 0xe4;
/// `SYSGENID_GET_OUTDATED_WATCHERS`
pub const GET_OUTDATED_WATCHERS: c_ulong = io(SYSGENID_IOCTL, 1);
/// `SYSGENID_WAIT_WATCHERS`
pub const WAIT_WATCHERS: c_ulong = io(SYSGENID_IOCTL, 2);
/// `SYSGENID_FORCE_GEN_UPDATE`
pub const FORCE_GEN_UPDATE: c_ulong = io(SYSGENID_IOCTL, 3);
/// `SYSGENID_SET_WATCHER_TRACKING`
pub const SET_WATCHER_TRACKING: c_ulong = io(SYSGENID_IOCTL_V6, 1);
/// `SYSGENID_SYNC_GEN`, `_IOR(0xE4, 4, __u32)`
pub const SYNC_GEN: c_ulong = (2 << 30) | (4 << 16) | io(SYSGENID_IOCTL_V6, 4);
/// `SYSGENID_VMGENID_PGOFF`: mmap offset, in pages, of the ID page.
pub const VMGENID_PGOFF: i64 = 1;

const O_NONBLOCK: c_int = 0o4000;
const PROT_READ: c_int = 1;
const MAP_SHARED: c_int = 1;
const SC_PAGESIZE: c_int = 30;
const POLLIN: c_short = 1;

// struct sysgenid_page: generation, vmgenid_offset, vmgenid[16].
const OFF_VMGENID_OFFSET: usize = 4;
const OFF_VMGENID: usize = 8;

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: c_short,
    revents: c_short,
}

extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    fn mmap(addr: *mut c_void, len: usize, prot: c_int, flags: c_int, fd: c_int, off: i64)
        -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn sysconf(name: c_int) -> c_long;
}

/// The error inside every [`io::Error`] of this crate: an errno and the
/// operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    /// The kernel's errno.
    pub errno: i32,
    /// What failed, such as `"SYSGENID_WAIT_WATCHERS"`.
    pub op: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = io::Error::from_raw_os_error(self.errno);
        write!(f, "{}: {}", self.op, os)?;
        if self.errno == ENOENT && self.op.starts_with("open") {
            write!(f, " (is the sysgenid module loaded?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

fn error(errno: i32, op: &'static str) -> io::Error {
    io::Error::new(
        io::Error::from_raw_os_error(errno).kind(),
        Error { errno, op },
    )
}

fn last_error(op: &'static str) -> io::Error {
    error(io::Error::last_os_error().raw_os_error().unwrap_or(0), op)
}

/// The errno of an error from this crate (or of any OS error).
pub fn errno(e: &io::Error) -> Option<i32> {
    if let Some(n) = e.raw_os_error() {
        return Some(n);
    }
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
        .map(|inner| inner.errno)
}

/// Whether `e` says that the device is missing: the module is not loaded.
pub fn is_not_loaded(e: &io::Error) -> bool {
    matches!(errno(e), Some(ENOENT) | Some(ENODEV) | Some(6 /* ENXIO */))
}

/// Whether `/dev/sysgenid` can be opened: `Ok(false)` when it is missing,
/// an error for anything else (`EACCES`...).
pub fn supported() -> io::Result<bool> {
    match Probe::open() {
        Ok(_) => Ok(true),
        Err(e) if is_not_loaded(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// One read-only shared page, unmapped on drop.
struct Mapping {
    addr: *mut c_void,
    len: usize,
}

impl Mapping {
    fn new(fd: RawFd, len: usize, off: i64, op: &'static str) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping that nothing else refers to.
        let addr = unsafe { mmap(ptr::null_mut(), len, PROT_READ, MAP_SHARED, fd, off) };
        if addr as isize == -1 {
            return Err(last_error(op));
        }
        Ok(Mapping { addr, len })
    }

    fn byte(&self, off: usize) -> u8 {
        assert!(off < self.len);
        // SAFETY: in bounds of a mapping that lives as long as self.
        unsafe { ptr::read_volatile((self.addr as *const u8).add(off)) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: mapped by Mapping::new, unmapped once.
        unsafe { munmap(self.addr, self.len) };
    }
}

/// What a [`Watcher`] and a [`Probe`] share: the file and its mappings.
///
/// Get one through [`Watcher::open`] or [`Probe::open`]; both dereference
/// to it. Dropping the handle unmaps and closes (RAII).
pub struct Handle {
    // Declared first: unmapped before the file closes, as libsysgenid does.
    page: Mapping,
    id: Option<Mapping>,
    id_off: usize,
    file: File,
}

// SAFETY: the raw pointers are only read, by atomic or volatile loads, in
// read-only mappings that stay valid until the handle drops; the file's
// operations are serialised by the kernel. See the crate's "Threads".
unsafe impl Send for Handle {}
// SAFETY: as for Send; no method takes &mut self or changes the handle.
unsafe impl Sync for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("fd", &self.file.as_raw_fd())
            .field("generation", &self.get())
            .field("id_page_mapped", &self.id_page_mapped())
            .finish()
    }
}

impl Handle {
    /// Opens `path` (the device, or a stand-in in tests) with `write`
    /// access or not, and maps it.
    fn open_path(path: &str, write: bool) -> io::Result<Handle> {
        let file = OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(O_NONBLOCK)
            .open(path)
            .map_err(|e| error(e.raw_os_error().unwrap_or(0), "open /dev/sysgenid"))?;
        // SAFETY: sysconf has no precondition.
        let psz = unsafe { sysconf(SC_PAGESIZE) } as usize;
        let fd = file.as_raw_fd();
        let page = Mapping::new(fd, psz, 0, "mmap /dev/sysgenid")?;
        let mut off = [0u8; 4];
        for (i, b) in off.iter_mut().enumerate() {
            *b = page.byte(OFF_VMGENID_OFFSET + i);
        }
        let id_off = u32::from_ne_bytes(off) as usize;
        // vmgenid_offset 0: no ID page. ENODEV: none, or turned off.
        let id = if id_off == 0 || id_off + VMGENID_SIZE > psz {
            None
        } else {
            match Mapping::new(fd, psz, VMGENID_PGOFF * psz as i64, "mmap the ID page") {
                Ok(m) => Some(m),
                Err(e) if errno(&e) == Some(ENODEV) => None,
                Err(e) => return Err(e),
            }
        };
        Ok(Handle { page, id, id_off, file })
    }

    fn counter(&self) -> &AtomicU32 {
        // SAFETY: the page is aligned, mapped and valid for the handle's
        // life; AtomicU32 has the layout of u32.
        unsafe { &*(self.page.addr as *const AtomicU32) }
    }

    /// The current generation: one atomic load (acquire) from the
    /// mapping, no system call.
    pub fn get(&self) -> u32 {
        self.counter().load(Ordering::Acquire)
    }

    /// Whether the counter moved since `cached` was read: one load.
    pub fn changed(&self, cached: u32) -> bool {
        self.get() != cached
    }

    /// Whether the hypervisor's VM generation ID page is mapped, so that
    /// [`check`](Handle::check) sees a clone before the kernel does.
    pub fn id_page_mapped(&self) -> bool {
        self.id.is_some()
    }

    /// The current generation, without the window after a clone.
    ///
    /// Loads the VM generation ID that the generation stands for, then
    /// (acquire) the generation. Where the hypervisor's ID page is mapped
    /// and its ID differs, the system was cloned and the kernel has not
    /// caught up yet: calls [`sync`](Handle::sync) once, which makes the
    /// event at once, and returns its generation. Compare the result with
    /// a cached generation. A few loads when nothing changed.
    pub fn check(&self) -> io::Result<u32> {
        let mut known = [0u8; VMGENID_SIZE];
        for (i, b) in known.iter_mut().enumerate() {
            *b = self.page.byte(OFF_VMGENID + i);
        }
        fence(Ordering::Acquire);
        let gen = self.get();
        if let Some(id) = &self.id {
            if (0..VMGENID_SIZE).any(|i| id.byte(self.id_off + i) != known[i]) {
                return self.sync();
            }
        }
        Ok(gen)
    }

    /// `SYSGENID_SYNC_GEN`: catch up with the hypervisor's VM generation
    /// ID (one event if it changed) and return the current generation.
    /// One system call, no privilege; [`ENODEV`] where the kernel cannot
    /// read an ID.
    pub fn sync(&self) -> io::Result<u32> {
        let mut gen: u32 = 0;
        // SAFETY: SYNC_GEN writes one u32 to the pointer.
        let r = unsafe { ioctl(self.file.as_raw_fd(), SYNC_GEN, &mut gen as *mut u32) };
        if r < 0 {
            return Err(last_error("SYSGENID_SYNC_GEN"));
        }
        Ok(gen)
    }

    /// Waits until the handle is outdated and returns the new generation.
    ///
    /// `timeout`: `None` waits without a limit, `Some(Duration::ZERO)`
    /// checks without waiting; on expiry, an error with errno [`ETIME`].
    /// Returns at once while the handle is outdated: a watcher then
    /// confirms; a probe stays outdated once an event happened, so it
    /// compares generations instead. A signal gives [`EINTR`].
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<u32> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let mut buf = [0u8; 4];
            match (&self.file).read(&mut buf) {
                Ok(4) => return Ok(u32::from_ne_bytes(buf)),
                Ok(_) => return Err(error(5 /* EIO */, "read /dev/sysgenid")),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(error(e.raw_os_error().unwrap_or(0), "read /dev/sysgenid")),
            }
            let ms: c_int = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(error(ETIME, "wait"));
                    }
                    // Rounded up: never an early timeout.
                    let ms = (left.as_nanos() + 999_999) / 1_000_000;
                    ms.min(c_int::MAX as u128) as c_int
                }
            };
            let mut pfd = PollFd { fd: self.file.as_raw_fd(), events: POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            if unsafe { poll(&mut pfd, 1, ms) } < 0 {
                return Err(last_error("poll /dev/sysgenid"));
            }
        }
    }

    fn ioctl_val(&self, cmd: c_ulong, arg: c_ulong, op: &'static str) -> io::Result<i32> {
        // SAFETY: these ioctls take their argument by value.
        let r = unsafe { ioctl(self.file.as_raw_fd(), cmd, arg) };
        if r < 0 {
            return Err(last_error(op));
        }
        Ok(r)
    }

    /// The number of watchers in the whole system that lived through an
    /// event and have not confirmed it.
    pub fn outdated_watchers(&self) -> io::Result<u32> {
        self.ioctl_val(GET_OUTDATED_WATCHERS, 0, "SYSGENID_GET_OUTDATED_WATCHERS")
            .map(|n| n as u32)
    }

    /// Waits until no watcher is outdated, at most `timeout` (`None`: no
    /// limit; rounded up to whole milliseconds, at most `u32::MAX`).
    ///
    /// For orchestrators, after confirming their own watcher. Errors:
    /// [`ETIME`] on expiry; [`EINTR`] when this handle is itself an
    /// outdated watcher (handle the event, confirm, call again).
    pub fn wait_watchers(&self, timeout: Option<Duration>) -> io::Result<()> {
        let ms = match timeout {
            None => 0,
            Some(t) => ((t.as_nanos() + 999_999) / 1_000_000).clamp(1, u32::MAX as u128) as u32,
        };
        self.ioctl_val(WAIT_WATCHERS, ms as c_ulong, "SYSGENID_WAIT_WATCHERS")
            .map(|_| ())
    }

    /// Forces a generation event: the counter moves to `min` when it is
    /// ahead (serial-number arithmetic), else by one; `bump(h.get())` is a
    /// plain step. Needs `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN`:
    /// else [`EPERM`].
    pub fn bump(&self, min: u32) -> io::Result<()> {
        self.ioctl_val(FORCE_GEN_UPDATE, min as c_ulong, "SYSGENID_FORCE_GEN_UPDATE")
            .map(|_| ())
    }
}

impl AsRawFd for Handle {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl AsFd for Handle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// A handle that the kernel counts: after each event it is outdated until
/// it confirms.
///
/// ```no_run
/// // An orchestrator: pause, confirm, wait for every other watcher.
/// use std::time::Duration;
/// let w = sysgenid::Watcher::open()?;
/// let gen = w.wait(None)?;
/// w.confirm(gen)?;
/// w.wait_watchers(Some(Duration::from_secs(5)))?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Watcher(Handle);

impl Watcher {
    /// Opens a watcher (read-write): tracked, acknowledged at the current
    /// generation. [`ENOENT`] without the device ([`is_not_loaded`]).
    pub fn open() -> io::Result<Watcher> {
        Handle::open_path(DEVICE, true).map(Watcher)
    }

    /// Tells the kernel that every event up to `gen` (from
    /// [`wait`](Handle::wait) or [`get`](Handle::get)) was handled.
    /// [`EINVAL`] when `gen` is no longer current: wait again.
    pub fn confirm(&self, gen: u32) -> io::Result<()> {
        match (&self.0.file).write(&gen.to_ne_bytes()) {
            Ok(4) => Ok(()),
            Ok(_) => Err(error(5 /* EIO */, "confirm")),
            Err(e) => Err(error(e.raw_os_error().unwrap_or(0), "confirm")),
        }
    }

    /// Counts this watcher (the default) or not: an untracked watcher still
    /// reads, polls and confirms, but holds up no orchestrator.
    pub fn set_tracking(&self, track: bool) -> io::Result<()> {
        self.0
            .ioctl_val(SET_WATCHER_TRACKING, track as c_ulong, "SYSGENID_SET_WATCHER_TRACKING")
            .map(|_| ())
    }
}

impl Deref for Watcher {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        &self.0
    }
}

/// A read-only handle, never counted, that cannot confirm.
///
/// ```no_run
/// // A crypto library: one load per use.
/// let p = sysgenid::Probe::open()?;
/// let cached = p.get();
/// // ...
/// if p.changed(cached) { /* reseed */ }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Probe(Handle);

impl Probe {
    /// Opens a probe (read-only). [`ENOENT`] without the device.
    pub fn open() -> io::Result<Probe> {
        Handle::open_path(DEVICE, false).map(Probe)
    }
}

impl Deref for Probe {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        &self.0
    }
}

macro_rules! fd_traits {
    ($t:ty) => {
        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }
        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
            }
        }
    };
}
fd_traits!(Watcher);
fd_traits!(Probe);

#[doc(hidden)]
pub mod testing {
    //! For the crate's own tests: a handle on a stand-in file.
    use super::*;

    /// A probe on `path` instead of the device.
    pub fn probe_at(path: &str) -> io::Result<Probe> {
        Handle::open_path(path, false).map(Probe)
    }

    /// A watcher on `path` instead of the device.
    pub fn watcher_at(path: &str) -> io::Result<Watcher> {
        Handle::open_path(path, true).map(Watcher)
    }

    /// Raw SET_WATCHER_TRACKING with any argument (bad-input tests).
    pub fn set_tracking_raw(h: &Handle, arg: c_ulong) -> io::Result<()> {
        h.ioctl_val(SET_WATCHER_TRACKING, arg, "SYSGENID_SET_WATCHER_TRACKING")
            .map(|_| ())
    }

    /// Raw WAIT_WATCHERS with any argument (bad-input tests).
    pub fn wait_watchers_raw(h: &Handle, arg: c_ulong) -> io::Result<()> {
        h.ioctl_val(WAIT_WATCHERS, arg, "SYSGENID_WAIT_WATCHERS").map(|_| ())
    }

    /// Raw FORCE_GEN_UPDATE with any argument (bad-input tests).
    pub fn bump_raw(h: &Handle, arg: c_ulong) -> io::Result<()> {
        h.ioctl_val(FORCE_GEN_UPDATE, arg, "SYSGENID_FORCE_GEN_UPDATE").map(|_| ())
    }

    /// A raw confirmation write on any handle (a probe: EBADF).
    pub fn confirm_raw(h: &Handle, gen: u32) -> io::Result<()> {
        (&h.file).write(&gen.to_ne_bytes()).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fake(name: &str, gen: u32, known: [u8; 16], current: Option<[u8; 16]>) -> PathBuf {
        let mut page = vec![0u8; 4096];
        page[0..4].copy_from_slice(&gen.to_ne_bytes());
        let off: u32 = if current.is_some() { 40 } else { 0 };
        page[4..8].copy_from_slice(&off.to_ne_bytes());
        page[8..24].copy_from_slice(&known);
        if let Some(c) = current {
            let mut idp = vec![0u8; 4096];
            idp[40..56].copy_from_slice(&c);
            page.extend_from_slice(&idp);
        }
        let p = std::env::temp_dir().join(format!("sysgenid-test-{}-{}", std::process::id(), name));
        std::fs::write(&p, &page).unwrap();
        p
    }

    #[test]
    fn not_loaded() {
        if std::path::Path::new(DEVICE).exists() {
            return;
        }
        let e = Watcher::open().unwrap_err();
        assert_eq!(errno(&e), Some(ENOENT));
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(is_not_loaded(&e));
        let msg = e.to_string();
        assert!(msg.contains("/dev/sysgenid") && msg.contains("loaded"), "{}", msg);
        assert!(is_not_loaded(&Probe::open().unwrap_err()));
        assert!(!supported().unwrap());
    }

    #[test]
    fn ioctl_numbers() {
        assert_eq!(GET_OUTDATED_WATCHERS, 0x2d01);
        assert_eq!(WAIT_WATCHERS, 0x2d02);
        assert_eq!(FORCE_GEN_UPDATE, 0x2d03);
        assert_eq!(SET_WATCHER_TRACKING, 0xe401);
        assert_eq!(SYNC_GEN, 0x8004_e404);
    }

    #[test]
    fn mapped_counter() {
        let p = fake("map", 7, [1; 16], None);
        let h = testing::probe_at(p.to_str().unwrap()).unwrap();
        assert_eq!(h.get(), 7);
        assert!(!h.changed(7));
        assert!(h.changed(6));
        assert!(!h.id_page_mapped());
        assert_eq!(h.check().unwrap(), 7);
        // Shared: a write to the file shows in the mapping.
        let mut f = OpenOptions::new().write(true).open(&p).unwrap();
        f.write_all(&u32::MAX.to_ne_bytes()).unwrap();
        assert_eq!(h.get(), u32::MAX);
        assert!(h.as_raw_fd() >= 0);
        assert_eq!(h.as_fd().as_raw_fd(), h.as_raw_fd());
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn check_with_id_page() {
        let p = fake("same", 3, [2; 16], Some([2; 16]));
        let h = testing::probe_at(p.to_str().unwrap()).unwrap();
        assert!(h.id_page_mapped());
        assert_eq!(h.check().unwrap(), 3);
        std::fs::remove_file(p).unwrap();

        let p = fake("changed", 3, [2; 16], Some([9; 16]));
        let h = testing::probe_at(p.to_str().unwrap()).unwrap();
        // A file has no SYNC_GEN: the check called it.
        let e = h.check().unwrap_err();
        assert_eq!(errno(&e), Some(25 /* ENOTTY */));
        assert!(e.to_string().contains("SYSGENID_SYNC_GEN"));
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn ioctls_on_a_file_fail() {
        let p = fake("ioctl", 1, [0; 16], None);
        let w = testing::watcher_at(p.to_str().unwrap()).unwrap();
        assert_eq!(errno(&w.outdated_watchers().unwrap_err()), Some(25));
        assert_eq!(errno(&w.bump(0).unwrap_err()), Some(25));
        assert_eq!(errno(&w.sync().unwrap_err()), Some(25));
        assert_eq!(errno(&w.set_tracking(true).unwrap_err()), Some(25));
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn send_sync() {
        fn is<T: Send + Sync>() {}
        is::<Handle>();
        is::<Watcher>();
        is::<Probe>();
    }

    #[test]
    fn error_display() {
        let e = error(ETIME, "wait");
        assert_eq!(errno(&e), Some(ETIME));
        assert!(e.to_string().starts_with("wait: "));
    }
}

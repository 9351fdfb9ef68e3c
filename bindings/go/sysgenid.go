// SPDX-License-Identifier: LGPL-2.1-or-later

// Package sysgenid reads the system generation counter, /dev/sysgenid.
//
// The counter is a system-wide uint32 that moves when the system is restored
// from a snapshot or cloned, or when a privileged orchestrator forces an
// update. It wraps: compare generations with != only.
//
// Two kinds of handle, as in libsysgenid:
//
//   - a watcher (OpenWatcher) is counted by the kernel: after every event it
//     is outdated until it confirms the new generation (Confirm), and
//     orchestrators (WaitWatchers) wait for it;
//   - a probe (OpenProbe) is not counted and cannot confirm: for code that
//     only checks the counter, such as a crypto library.
//
// Both map the counter's page read-only, so that Get and Changed cost one
// atomic load and no system call; where the hypervisor's VM generation ID
// page can be mapped, Check sees a clone at its first call, before the
// kernel has heard of it.
//
// The package talks to the kernel directly, through the syscall package
// (ioctl, mmap, ppoll); it needs neither cgo nor libsysgenid nor any other
// module.
//
// Errors are *Error values that wrap a syscall.Errno: test them with
// errors.Is(err, syscall.ETIME) (a timeout, which also matches
// context.DeadlineExceeded), syscall.EINVAL (a stale confirmation),
// fs.ErrNotExist (ENOENT: the module is not loaded), and so on.
//
// A Handle is safe for concurrent use, except Close, which must come last.
// Goroutines sharing a watcher share its acknowledgement.
package sysgenid

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Device is the device node.
const Device = "/dev/sysgenid"

// VMGenIDSize is the size of a VM generation ID in bytes.
const VMGenIDSize = 16

// The ABI of include/uapi/linux/sysgenid.h. _IO(type, nr) is
// (type << 8) | nr; _IOR(type, nr, __u32) adds the direction (2 << 30)
// and the size (4 << 16).
const (
	ioctlV4 = 0x2d
	ioctlV6 = 0xe4

	// IoctlGetOutdatedWatchers is SYSGENID_GET_OUTDATED_WATCHERS.
	IoctlGetOutdatedWatchers = ioctlV4<<8 | 1
	// IoctlWaitWatchers is SYSGENID_WAIT_WATCHERS.
	IoctlWaitWatchers = ioctlV4<<8 | 2
	// IoctlForceGenUpdate is SYSGENID_FORCE_GEN_UPDATE.
	IoctlForceGenUpdate = ioctlV4<<8 | 3
	// IoctlSetWatcherTracking is SYSGENID_SET_WATCHER_TRACKING.
	IoctlSetWatcherTracking = ioctlV6<<8 | 1
	// IoctlSyncGen is SYSGENID_SYNC_GEN, _IOR(0xE4, 4, __u32).
	IoctlSyncGen = 2<<30 | 4<<16 | ioctlV6<<8 | 4
	// VMGenIDPgoff is SYSGENID_VMGENID_PGOFF: the mmap offset, in pages,
	// of the hypervisor's ID page.
	VMGenIDPgoff = 1

	offVMGenIDOffset = 4
	offVMGenID       = 8
)

// WaitWatchersSlice is the longest single SYSGENID_WAIT_WATCHERS call that
// WaitWatchers makes under a cancellable context: a cancellation is seen
// within it.
const WaitWatchersSlice = 100 * time.Millisecond

// Error is the error of every operation: the operation and the errno.
type Error struct {
	Op  string        // such as "open /dev/sysgenid" or "SYSGENID_SYNC_GEN"
	Err syscall.Errno // the kernel's errno
}

func (e *Error) Error() string {
	s := "sysgenid: " + e.Op + ": " + e.Err.Error()
	if e.Err == syscall.ENOENT && e.Op == "open "+Device {
		s += " (is the sysgenid module loaded?)"
	}
	return s
}

// Unwrap returns the syscall.Errno.
func (e *Error) Unwrap() error { return e.Err }

// Is reports a timeout (ETIME) as context.DeadlineExceeded too.
func (e *Error) Is(target error) bool {
	return e.Err == syscall.ETIME && target == context.DeadlineExceeded
}

// Timeout reports whether the error is a timeout (ETIME).
func (e *Error) Timeout() bool { return e.Err == syscall.ETIME }

func errnoOf(err error) syscall.Errno {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return syscall.EIO
}

func newError(op string, err error) error {
	return &Error{Op: op, Err: errnoOf(err)}
}

// IsNotLoaded reports whether err says that the device is missing: the
// module is not loaded.
func IsNotLoaded(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENODEV) ||
		errors.Is(err, syscall.ENXIO)
}

// Handle is an open file on /dev/sysgenid with its mapped page. It
// implements io.Closer.
type Handle struct {
	fd      int
	page    []byte
	id      []byte // the ID page, nil without one
	idOff   uint32
	watcher bool
	once    sync.Once
	cerr    error
}

// OpenWatcher opens a watcher (read-write): tracked, acknowledged at the
// current generation. Without the device the error wraps ENOENT.
func OpenWatcher() (*Handle, error) { return openPath(Device, true) }

// OpenProbe opens a probe (read-only). Without the device the error wraps
// ENOENT.
func OpenProbe() (*Handle, error) { return openPath(Device, false) }

// Supported reports whether /dev/sysgenid can be opened: false when it is
// missing, an error for anything else (EACCES...).
func Supported() (bool, error) {
	h, err := OpenProbe()
	if err != nil {
		if IsNotLoaded(err) {
			return false, nil
		}
		return false, err
	}
	return true, h.Close()
}

func openPath(path string, write bool) (*Handle, error) {
	flags := syscall.O_RDONLY
	if write {
		flags = syscall.O_RDWR
	}
	op := "open " + path
	if path == Device {
		op = "open " + Device
	}
	fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, newError(op, err)
	}
	psz := os.Getpagesize()
	page, err := syscall.Mmap(fd, 0, psz, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		syscall.Close(fd)
		return nil, newError("mmap "+path, err)
	}
	h := &Handle{fd: fd, page: page, watcher: write}
	h.idOff = *(*uint32)(unsafe.Pointer(&page[offVMGenIDOffset]))
	// vmgenid_offset 0: no ID page. ENODEV: none, or turned off.
	if h.idOff != 0 && int(h.idOff)+VMGenIDSize <= psz {
		id, err := syscall.Mmap(fd, VMGenIDPgoff*int64(psz), psz,
			syscall.PROT_READ, syscall.MAP_SHARED)
		switch {
		case err == nil:
			h.id = id
		case errnoOf(err) != syscall.ENODEV:
			h.Close()
			return nil, newError("mmap the ID page", err)
		}
	}
	return h, nil
}

// Close unmaps the pages and closes the file: a watcher stops being one.
// Later calls return the first call's result.
func (h *Handle) Close() error {
	h.once.Do(func() {
		if h.id != nil {
			syscall.Munmap(h.id)
		}
		syscall.Munmap(h.page)
		if err := syscall.Close(h.fd); err != nil {
			h.cerr = newError("close", err)
		}
		h.fd = -1
	})
	return h.cerr
}

// Fd returns the file descriptor, for poll or epoll: it polls readable
// while the handle is outdated. It is non-blocking and close-on-exec; do
// not close it.
func (h *Handle) Fd() uintptr { return uintptr(h.fd) }

// IsWatcher reports whether the handle is a watcher (not a probe).
func (h *Handle) IsWatcher() bool { return h.watcher }

// Get returns the current generation: one atomic load from the mapping, no
// system call.
func (h *Handle) Get() uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&h.page[0])))
}

// Changed reports whether the counter moved since cached was read: one
// load.
func (h *Handle) Changed(cached uint32) bool { return h.Get() != cached }

// IDPageMapped reports whether the hypervisor's VM generation ID page is
// mapped, so that Check sees a clone before the kernel does.
func (h *Handle) IDPageMapped() bool { return h.id != nil }

// Check returns the current generation, without the window after a clone.
//
// It loads the VM generation ID that the generation stands for, then
// (atomically) the generation. Where the hypervisor's ID page is mapped
// and its ID differs, the system was cloned and the kernel has not caught
// up yet: Check calls Sync once, which makes the event at once, and returns
// its generation. Compare the result with a cached generation. A few loads
// when nothing changed.
func (h *Handle) Check() (uint32, error) {
	var known [VMGenIDSize]byte
	for i := range known {
		known[i] = loadByte(h.page, offVMGenID+i)
	}
	// Go's atomic loads are sequentially consistent: the ID loads above
	// are not moved after it.
	gen := h.Get()
	if h.id != nil {
		for i := 0; i < VMGenIDSize; i++ {
			if loadByte(h.id, int(h.idOff)+i) != known[i] {
				return h.Sync()
			}
		}
	}
	return gen, nil
}

// loadByte reads byte i of a page-aligned mapping with an atomic 32-bit
// load of its aligned word, so that the compiler neither caches nor
// reorders it.
func loadByte(m []byte, i int) byte {
	w := atomic.LoadUint32((*uint32)(unsafe.Pointer(&m[i&^3])))
	return (*[4]byte)(unsafe.Pointer(&w))[i&3]
}

// Sync calls SYSGENID_SYNC_GEN: it catches up with the hypervisor's VM
// generation ID (one event if it changed) and returns the current
// generation. One system call, no privilege; ENODEV where the kernel cannot
// read an ID.
func (h *Handle) Sync() (uint32, error) {
	var gen uint32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(h.fd),
		IoctlSyncGen, uintptr(unsafe.Pointer(&gen)))
	if e != 0 {
		return 0, &Error{Op: "SYSGENID_SYNC_GEN", Err: e}
	}
	return gen, nil
}

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const pollIn = 0x1

// ppoll waits for the fds, at most until deadline (zero: no limit);
// it reports whether it timed out.
func ppoll(fds []pollFd, deadline time.Time) (bool, error) {
	var ts *syscall.Timespec
	if !deadline.IsZero() {
		left := time.Until(deadline)
		if left <= 0 {
			return true, nil
		}
		t := syscall.NsecToTimespec(left.Nanoseconds())
		ts = &t
	}
	n, _, e := syscall.Syscall6(syscall.SYS_PPOLL,
		uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
		uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e == syscall.EINTR {
		return false, nil // the Go runtime's own signals
	}
	if e != 0 {
		return false, e
	}
	return n == 0, nil
}

// outdated reports whether the handle is outdated, without waiting.
func (h *Handle) outdated() bool {
	fds := []pollFd{{fd: int32(h.fd), events: pollIn}}
	var ts syscall.Timespec
	for {
		n, _, e := syscall.Syscall6(syscall.SYS_PPOLL,
			uintptr(unsafe.Pointer(&fds[0])), 1,
			uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		return e == 0 && n == 1 && fds[0].revents&pollIn != 0
	}
}

// Wait waits until the handle is outdated and returns the new generation.
//
// It returns at once while the handle is outdated: a watcher then handles
// the event and confirms; a probe stays outdated once an event happened, so
// it compares generations instead. When ctx's deadline passes, the error
// wraps syscall.ETIME (and matches context.DeadlineExceeded); when ctx is
// cancelled, it wraps context.Canceled. A context that is already done
// still reports an event that has happened.
func (h *Handle) Wait(ctx context.Context) (uint32, error) {
	fds := []pollFd{{fd: int32(h.fd), events: pollIn}}
	if done := ctx.Done(); done != nil {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
			return 0, newError("pipe", err)
		}
		defer syscall.Close(p[0])
		defer syscall.Close(p[1])
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-done:
				syscall.Write(p[1], []byte{0})
			case <-stop:
			}
		}()
		fds = append(fds, pollFd{fd: int32(p[0]), events: pollIn})
	}
	deadline, _ := ctx.Deadline()
	for {
		var b [4]byte
		n, err := syscall.Read(h.fd, b[:])
		switch {
		case err == nil && n == 4:
			return *(*uint32)(unsafe.Pointer(&b[0])), nil
		case err == nil:
			return 0, &Error{Op: "read " + Device, Err: syscall.EIO}
		case err != syscall.EAGAIN && err != syscall.EINTR:
			return 0, newError("read "+Device, err)
		}
		if err := ctx.Err(); err != nil {
			return 0, h.ctxError("wait", err)
		}
		timedOut, err := ppoll(fds, deadline)
		if err != nil {
			return 0, newError("ppoll", err)
		}
		if timedOut {
			return 0, &Error{Op: "wait", Err: syscall.ETIME}
		}
	}
}

func (h *Handle) ctxError(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: op, Err: syscall.ETIME}
	}
	return &ctxErr{op: op, err: err}
}

type ctxErr struct {
	op  string
	err error
}

func (e *ctxErr) Error() string { return "sysgenid: " + e.op + ": " + e.err.Error() }
func (e *ctxErr) Unwrap() error { return e.err }

// Confirm tells the kernel that this watcher has handled every event up to
// gen (from Wait or Get): it is up to date. When gen is no longer current
// the error wraps syscall.EINVAL: wait again; on a probe, syscall.EBADF.
func (h *Handle) Confirm(gen uint32) error {
	b := (*[4]byte)(unsafe.Pointer(&gen))[:]
	n, err := syscall.Write(h.fd, b)
	if err != nil {
		return newError("confirm", err)
	}
	if n != 4 {
		return &Error{Op: "confirm", Err: syscall.EIO}
	}
	return nil
}

func (h *Handle) ioctl(op string, cmd, arg uintptr) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(h.fd), cmd, arg)
	if e != 0 {
		return 0, &Error{Op: op, Err: e}
	}
	return int(r), nil
}

// OutdatedWatchers returns the number of watchers in the whole system that
// lived through an event and have not confirmed it.
func (h *Handle) OutdatedWatchers() (int, error) {
	return h.ioctl("SYSGENID_GET_OUTDATED_WATCHERS", IoctlGetOutdatedWatchers, 0)
}

// WaitWatchers waits until no watcher is outdated. For orchestrators, after
// confirming their own watcher.
//
// ctx's deadline becomes the kernel's timeout (rounded up to a
// millisecond); the error then wraps syscall.ETIME. Under a context that
// can be cancelled, the wait is made of calls of at most WaitWatchersSlice.
// When this handle is itself an outdated watcher, the error wraps
// syscall.EINTR: handle the event, confirm, and call again.
func (h *Handle) WaitWatchers(ctx context.Context) error {
	deadline, hasDeadline := ctx.Deadline()
	for {
		if err := ctx.Err(); err != nil {
			return h.ctxError("SYSGENID_WAIT_WATCHERS", err)
		}
		var slice time.Duration // 0: no limit
		if ctx.Done() != nil {
			slice = WaitWatchersSlice
		}
		if hasDeadline {
			left := time.Until(deadline)
			if left <= 0 {
				return &Error{Op: "SYSGENID_WAIT_WATCHERS", Err: syscall.ETIME}
			}
			if slice == 0 || left < slice {
				slice = left
			}
		}
		ms := uintptr((slice + time.Millisecond - 1) / time.Millisecond)
		_, err := h.ioctl("SYSGENID_WAIT_WATCHERS", IoctlWaitWatchers, ms)
		// The kernel also ends the wait with EINTR when a signal handler
		// runs, and the Go runtime's own signals (preemption) come at
		// any time: only an outdated handle ends it.
		if errors.Is(err, syscall.EINTR) && !h.outdated() {
			continue
		}
		if err == nil || !errors.Is(err, syscall.ETIME) {
			return err
		}
		if hasDeadline && !time.Now().Before(deadline) {
			return err
		}
	}
}

// WaitWatchersMs is SYSGENID_WAIT_WATCHERS with the kernel's argument as
// is: milliseconds, 0 without a limit, above 0xffffffff EINVAL.
func (h *Handle) WaitWatchersMs(ms uint64) error {
	_, err := h.ioctl("SYSGENID_WAIT_WATCHERS", IoctlWaitWatchers, uintptr(ms))
	return err
}

// Bump forces a generation event: the counter moves to min when it is
// ahead (serial-number arithmetic), else by one; Bump(h.Get()) is a plain
// step. It needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN: else the error
// wraps syscall.EPERM.
func (h *Handle) Bump(min uint32) error {
	return h.BumpRaw(uint64(min))
}

// BumpRaw is Bump with the kernel's argument as is (above 0xffffffff:
// EINVAL).
func (h *Handle) BumpRaw(min uint64) error {
	_, err := h.ioctl("SYSGENID_FORCE_GEN_UPDATE", IoctlForceGenUpdate, uintptr(min))
	return err
}

// SetTracking counts this watcher (the default) or not: an untracked
// watcher still reads, polls and confirms, but holds up no orchestrator.
// On a probe the error wraps syscall.EBADF.
func (h *Handle) SetTracking(track bool) error {
	var arg uintptr
	if track {
		arg = 1
	}
	return h.SetTrackingRaw(uint64(arg))
}

// SetTrackingRaw is SetTracking with the kernel's argument as is (other
// than 0 or 1: EINVAL).
func (h *Handle) SetTrackingRaw(arg uint64) error {
	_, err := h.ioctl("SYSGENID_SET_WATCHER_TRACKING", IoctlSetWatcherTracking, uintptr(arg))
	return err
}

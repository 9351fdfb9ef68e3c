// SPDX-License-Identifier: GPL-2.0

package sysgenid

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var _ io.Closer = (*Handle)(nil)

// fake writes a stand-in for the device: struct sysgenid_page, and with
// current an ID page whose ID is at offset 40.
func fake(t *testing.T, gen uint32, known, current []byte) string {
	page := make([]byte, 4096)
	binary.LittleEndian.PutUint32(page, gen)
	copy(page[8:], known)
	if current != nil {
		binary.LittleEndian.PutUint32(page[4:], 40)
		id := make([]byte, 4096)
		copy(id[40:], current)
		page = append(page, id...)
	}
	p := filepath.Join(t.TempDir(), "dev")
	if err := os.WriteFile(p, page, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNotLoaded(t *testing.T) {
	if _, err := os.Stat(Device); err == nil {
		t.Skip("the host has the device")
	}
	for _, open := range []func() (*Handle, error){OpenWatcher, OpenProbe} {
		_, err := open()
		if !errors.Is(err, syscall.ENOENT) || !errors.Is(err, fs.ErrNotExist) || !IsNotLoaded(err) {
			t.Fatalf("want ENOENT, got %v", err)
		}
		if !strings.Contains(err.Error(), "/dev/sysgenid") || !strings.Contains(err.Error(), "loaded") {
			t.Fatalf("unclear message %q", err)
		}
		t.Log(err)
	}
	if ok, err := Supported(); ok || err != nil {
		t.Fatalf("Supported: %v %v", ok, err)
	}
}

func TestNumbers(t *testing.T) {
	want := map[string][2]uint64{
		"GET_OUTDATED_WATCHERS": {IoctlGetOutdatedWatchers, 0x2d01},
		"WAIT_WATCHERS":         {IoctlWaitWatchers, 0x2d02},
		"FORCE_GEN_UPDATE":      {IoctlForceGenUpdate, 0x2d03},
		"SET_WATCHER_TRACKING":  {IoctlSetWatcherTracking, 0xe401},
		"SYNC_GEN":              {IoctlSyncGen, 0x8004e404},
	}
	for n, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s: %#x, want %#x", n, v[0], v[1])
		}
	}
}

func TestMapped(t *testing.T) {
	p := fake(t, 7, []byte("AAAAAAAAAAAAAAAA"), nil)
	h, err := openPath(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get() != 7 || h.Changed(7) || !h.Changed(6) || h.IDPageMapped() || h.IsWatcher() {
		t.Fatal("mapping")
	}
	if g, err := h.Check(); g != 7 || err != nil {
		t.Fatal(g, err)
	}
	f, _ := os.OpenFile(p, os.O_WRONLY, 0)
	f.Write([]byte{0xff, 0xff, 0xff, 0xff})
	f.Close()
	if h.Get() != 0xffffffff {
		t.Fatal("not shared")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal("second close", err)
	}
}

func TestCheckIDPage(t *testing.T) {
	h, err := openPath(fake(t, 3, []byte("BBBBBBBBBBBBBBBB"), []byte("BBBBBBBBBBBBBBBB")), false)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if g, err := h.Check(); !h.IDPageMapped() || g != 3 || err != nil {
		t.Fatal(g, err)
	}
	h2, err := openPath(fake(t, 3, []byte("BBBBBBBBBBBBBBBB"), []byte("BBBBBBBBBBBBBBBC")), false)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	// A file has no SYNC_GEN: the check called it.
	if _, err := h2.Check(); !errors.Is(err, syscall.ENOTTY) || !strings.Contains(err.Error(), "SYNC_GEN") {
		t.Fatal(err)
	}
}

func TestIoctlsOnAFile(t *testing.T) {
	h, err := openPath(fake(t, 1, nil, nil), true)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for i, err := range []error{
		func() error { _, e := h.OutdatedWatchers(); return e }(),
		h.Bump(0), h.SetTracking(true),
		func() error { _, e := h.Sync(); return e }(),
		h.WaitWatchers(context.Background()),
	} {
		if !errors.Is(err, syscall.ENOTTY) {
			t.Errorf("%d: %v", i, err)
		}
	}
}

func TestErrors(t *testing.T) {
	e := error(&Error{Op: "wait", Err: syscall.ETIME})
	if !errors.Is(e, syscall.ETIME) || !errors.Is(e, context.DeadlineExceeded) {
		t.Fatal("ETIME")
	}
	var en syscall.Errno
	if !errors.As(e, &en) || en != syscall.ETIME {
		t.Fatal("As")
	}
	h := &Handle{}
	if err := h.ctxError("wait", context.Canceled); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	if err := h.ctxError("wait", ctx.Err()); !errors.Is(err, syscall.ETIME) {
		t.Fatal(err)
	}
}

// SPDX-License-Identifier: GPL-2.0

// Command guest-tap runs the in-guest tests of the Go binding against the
// module, in TAP. Run it as root in the test guest. "guest-tap watch"
// instead prints "ready gen=G" and then "event gen=N check=C" on each
// event, "probe" prints "get=G check=C get=G2 mapped=M" (Get, Check, Get)
// and "sync" prints "gen=N" (the clone test); "guest-tap nopriv-bump"
// (run as nobody by the tests) exits 0 when a bump fails with EPERM. The
// counter is system-wide: every test reads it first.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"sysgenid"
)

const guard = 20 * time.Second

type tap struct{ n, failed int }

func (t *tap) test(name string, f func() (bool, string, error)) {
	t.n++
	ok, diag, err := f()
	if err != nil {
		ok, diag = false, "error: "+err.Error()
	}
	if ok {
		fmt.Printf("ok %d - %s\n", t.n, name)
		return
	}
	t.failed++
	fmt.Printf("not ok %d - %s\n", t.n, name)
	if diag != "" {
		fmt.Printf("#   %s\n", diag)
	}
}

func within(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func waitG(h *sysgenid.Handle) (uint32, error) {
	ctx, cancel := within(guard)
	defer cancel()
	return h.Wait(ctx)
}

func catchUp(hs ...*sysgenid.Handle) error {
	for _, h := range hs {
		g, err := waitG(h)
		if err == nil {
			err = h.Confirm(g)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func watch() error {
	w, err := sysgenid.OpenWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Printf("ready gen=%d\n", w.Get())
	for {
		g, err := w.Wait(context.Background())
		if err != nil {
			return err
		}
		c, err := w.Check()
		if err != nil {
			return err
		}
		fmt.Printf("event gen=%d check=%d\n", g, c)
		if err := w.Confirm(g); err != nil && !errors.Is(err, syscall.EINVAL) {
			return err
		}
	}
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "watch":
			fmt.Fprintln(os.Stderr, "guest-tap:", watch())
			os.Exit(1)
		case "probe", "sync":
			p, err := sysgenid.OpenProbe()
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			if os.Args[1] == "sync" {
				g, err := p.Sync()
				if err != nil {
					fmt.Println(err)
					os.Exit(1)
				}
				fmt.Printf("gen=%d\n", g)
				os.Exit(0)
			}
			g := p.Get()
			c, err := p.Check()
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			m := 0
			if p.IDPageMapped() {
				m = 1
			}
			fmt.Printf("get=%d check=%d get=%d mapped=%d\n", g, c, p.Get(), m)
			os.Exit(0)
		case "nopriv-bump":
			p, err := sysgenid.OpenProbe()
			if err != nil {
				os.Exit(2)
			}
			if errors.Is(p.Bump(p.Get()), syscall.EPERM) {
				os.Exit(0)
			}
			os.Exit(1)
		}
	}
	os.Exit(run())
}

func run() int {
	t := &tap{}
	p, err := sysgenid.OpenProbe()
	if err != nil {
		fmt.Printf("1..1\nnot ok 1 - open a probe: %v\n", err)
		return 1
	}
	defer p.Close()
	fmt.Println("1..22")
	none := func(ok bool) (bool, string, error) { return ok, "", nil }

	t.test("probe follows a bump (one load)", func() (bool, string, error) {
		g := p.Get()
		if err := p.Bump(g); err != nil {
			return false, "", err
		}
		g1 := p.Get()
		return g1 == g+1 && p.Changed(g) && !p.Changed(g1), fmt.Sprintf("g=%d then %d", g, g1), nil
	})
	t.test("bump to a minimum ahead", func() (bool, string, error) {
		g := p.Get()
		err := p.Bump(g + 10)
		return p.Get() == g+10, fmt.Sprintf("g=%d then %d", g, p.Get()), err
	})
	t.test("bump to a minimum behind moves by one", func() (bool, string, error) {
		g := p.Get()
		err := p.Bump(g - 5)
		return p.Get() == g+1, "", err
	})
	if p.IDPageMapped() {
		t.test("ID page mapped", func() (bool, string, error) { return none(true) })
	} else {
		t.n++
		fmt.Printf("ok %d - ID page mapped # SKIP no ID page in this guest\n", t.n)
	}
	t.test("sync with an unchanged ID is no event", func() (bool, string, error) {
		g := p.Get()
		s, err := p.Sync()
		return s == g && p.Get() == g, fmt.Sprintf("g=%d sync=%d", g, s), err
	})
	t.test("check equals get with an unchanged ID", func() (bool, string, error) {
		c, err := p.Check()
		return c == p.Get(), "", err
	})

	w, err := sysgenid.OpenWatcher()
	if err != nil {
		fmt.Printf("Bail out! open a watcher: %v\n", err)
		return 1
	}
	t.test("wait times out while up to date (ETIME, DeadlineExceeded)", func() (bool, string, error) {
		ctx, cancel := within(50 * time.Millisecond)
		defer cancel()
		_, err := w.Wait(ctx)
		return errors.Is(err, syscall.ETIME) && errors.Is(err, context.DeadlineExceeded), fmt.Sprint(err), nil
	})
	t.test("wait ends with context.Canceled on cancel", func() (bool, string, error) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := w.Wait(ctx)
		return errors.Is(err, context.Canceled), fmt.Sprint(err), nil
	})
	t.test("wait returns the generation after a bump", func() (bool, string, error) {
		if err := p.Bump(p.Get()); err != nil {
			return false, "", err
		}
		g, err := waitG(w)
		return g == p.Get(), fmt.Sprintf("wait %d get %d", g, p.Get()), err
	})
	t.test("confirm makes the watcher up to date", func() (bool, string, error) {
		if err := catchUp(w); err != nil {
			return false, "", err
		}
		ctx, cancel := within(0)
		defer cancel()
		_, err := w.Wait(ctx)
		return errors.Is(err, syscall.ETIME), fmt.Sprint(err), nil
	})
	t.test("confirm of a stale generation is EINVAL", func() (bool, string, error) {
		g := w.Get()
		if err := p.Bump(g); err != nil {
			return false, "", err
		}
		e := w.Confirm(g)
		return errors.Is(e, syscall.EINVAL), fmt.Sprint(e), catchUp(w)
	})
	t.test("a wait in another goroutine sees a bump", func() (bool, string, error) {
		ch := make(chan uint32, 1)
		go func() { g, _ := waitG(w); ch <- g }()
		time.Sleep(50 * time.Millisecond)
		if err := p.Bump(p.Get()); err != nil {
			return false, "", err
		}
		g := <-ch
		return g == p.Get(), "", w.Confirm(g)
	})
	w.Close()

	w1, err1 := sysgenid.OpenWatcher()
	w2, err2 := sysgenid.OpenWatcher()
	if err1 != nil || err2 != nil {
		fmt.Printf("Bail out! open watchers: %v %v\n", err1, err2)
		return 1
	}
	defer w1.Close()
	defer w2.Close()
	base, _ := p.OutdatedWatchers()
	t.test("outdated count with two watchers", func() (bool, string, error) {
		if err := p.Bump(p.Get()); err != nil {
			return false, "", err
		}
		n2, _ := p.OutdatedWatchers()
		if err := catchUp(w1); err != nil {
			return false, "", err
		}
		n1, _ := p.OutdatedWatchers()
		if err := catchUp(w2); err != nil {
			return false, "", err
		}
		n0, err := p.OutdatedWatchers()
		return n2 == base+2 && n1 == base+1 && n0 == base, fmt.Sprintf("base %d: %d %d %d", base, n2, n1, n0), err
	})
	t.test("WAIT_WATCHERS: ETIME while one is outdated, 0 once it confirms", func() (bool, string, error) {
		if err := p.Bump(p.Get()); err != nil {
			return false, "", err
		}
		if err := catchUp(w1); err != nil {
			return false, "", err
		}
		ctx, cancel := within(50 * time.Millisecond)
		e := w1.WaitWatchers(ctx)
		cancel()
		done := make(chan error, 1)
		go func() { time.Sleep(50 * time.Millisecond); done <- catchUp(w2) }()
		ctx, cancel = within(guard)
		err := w1.WaitWatchers(ctx)
		cancel()
		if err == nil {
			err = <-done
		}
		n, _ := p.OutdatedWatchers()
		return errors.Is(e, syscall.ETIME) && n == base, fmt.Sprint("first ", e), err
	})
	t.test("WAIT_WATCHERS of an outdated watcher is EINTR", func() (bool, string, error) {
		if err := p.Bump(p.Get()); err != nil {
			return false, "", err
		}
		e := w1.WaitWatchers(context.Background())
		return errors.Is(e, syscall.EINTR), fmt.Sprint(e), catchUp(w1, w2)
	})
	t.test("an untracked watcher is not counted", func() (bool, string, error) {
		if err := w2.SetTracking(false); err != nil {
			return false, "", err
		}
		if err := p.Bump(p.Get()); err != nil {
			return false, "", err
		}
		n, _ := p.OutdatedWatchers()
		if err := w2.SetTracking(true); err != nil {
			return false, "", err
		}
		return n == base+1, fmt.Sprint(n), catchUp(w1, w2)
	})
	t.test("bump without privilege is EPERM, no event", func() (bool, string, error) {
		g := p.Get()
		exe, err := os.Executable()
		if err != nil {
			return false, "", err
		}
		cmd := exec.Command(exe, "nopriv-bump")
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}},
		}
		err = cmd.Run()
		return err == nil && p.Get() == g, fmt.Sprint(err), nil
	})
	t.test("WAIT_WATCHERS with a timeout above 0xffffffff is EINVAL", func() (bool, string, error) {
		return none(errors.Is(p.WaitWatchersMs(1<<32), syscall.EINVAL))
	})
	t.test("bump to a minimum above 0xffffffff is EINVAL", func() (bool, string, error) {
		return none(errors.Is(p.BumpRaw(1<<32), syscall.EINVAL))
	})
	t.test("a probe cannot confirm (EBADF)", func() (bool, string, error) {
		return none(errors.Is(p.Confirm(p.Get()), syscall.EBADF))
	})
	t.test("a probe cannot be tracked (EBADF)", func() (bool, string, error) {
		return none(errors.Is(p.SetTracking(true), syscall.EBADF))
	})
	t.test("tracking other than 0 or 1 is EINVAL", func() (bool, string, error) {
		return none(errors.Is(w1.SetTrackingRaw(2), syscall.EINVAL))
	})
	if t.failed > 0 {
		return 1
	}
	return 0
}

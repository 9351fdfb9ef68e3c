// SPDX-License-Identifier: GPL-2.0

// Command orchestrator is workflow 4 (examples/orchestrator.c): on a
// generation change it pauses the service, confirms its own watcher, waits
// for every other watcher (at most TIMEOUT_MS), then resumes.
//
// Usage: orchestrator [TIMEOUT_MS [EVENTS]] (defaults 5000, forever).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"sysgenid"
)

func main() {
	timeout, events := 5000, 0
	if len(os.Args) > 1 {
		timeout, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		events, _ = strconv.Atoi(os.Args[2])
	}
	w, err := sysgenid.OpenWatcher()
	if err != nil {
		fmt.Fprintln(os.Stderr, "orchestrator:", err)
		os.Exit(1)
	}
	defer w.Close()
	fmt.Println("ready")
	for n := 0; events == 0 || n < events; {
		gen, err := w.Wait(context.Background())
		if err == nil {
			fmt.Printf("paused generation %d\n", gen) // pause_service()
			err = w.Confirm(gen)
		}
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(),
				time.Duration(timeout)*time.Millisecond)
			err = w.WaitWatchers(ctx)
			cancel()
			switch {
			case err == nil:
				fmt.Printf("resumed generation %d: all watchers up to date\n", gen)
			case errors.Is(err, syscall.ETIME):
				k, _ := w.OutdatedWatchers()
				fmt.Printf("resumed generation %d: %d watchers still outdated\n", gen, k)
				err = nil
			}
		}
		switch {
		case err == nil:
			n++
		case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.EINTR):
			// a newer event: handle it at once
		default:
			fmt.Fprintln(os.Stderr, "orchestrator:", err)
			os.Exit(1)
		}
	}
}

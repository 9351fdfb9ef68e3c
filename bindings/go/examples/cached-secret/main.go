// SPDX-License-Identifier: GPL-2.0

// Command cached-secret is workflow 3 (examples/cached-secret.c): a cached
// secret guarded by the counter. Every use costs a few loads (Check also
// sees a clone the kernel has not heard of yet); after a change the secret
// is rebuilt before it is used again, then the change is confirmed.
//
// Usage: cached-secret < REQUESTS; answers each line with
// "secret HEX generation N".
package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"os"

	"sysgenid"
)

func main() {
	w, err := sysgenid.OpenWatcher()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cached-secret:", err)
		os.Exit(1)
	}
	defer w.Close()
	cached := w.Get()
	secret := make([]byte, 16)
	rand.Read(secret)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		for {
			now, err := w.Check()
			if err != nil {
				fmt.Fprintln(os.Stderr, "cached-secret:", err)
				os.Exit(1)
			}
			if now == cached {
				break
			}
			cached = now
			rand.Read(secret)
			w.Confirm(cached) // stale (EINVAL): it moved again; loop
		}
		fmt.Printf("secret %x generation %d\n", secret, cached)
	}
}

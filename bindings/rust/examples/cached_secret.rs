// SPDX-License-Identifier: GPL-2.0
//! Workflow 3 (examples/cached-secret.c): a cached secret guarded by the
//! mapped counter. Every use costs one load; after a generation change the
//! secret is rebuilt before it is used again, then the change is confirmed.
//!
//! Usage: cached_secret < REQUESTS; answers each line with
//! "secret HEX generation N".

use std::fs::File;
use std::io::{self, BufRead, Read, Write};

struct App {
    w: sysgenid::Watcher,
    cached: u32,
    secret: [u8; 16],
}

impl App {
    fn rebuild(&mut self) -> io::Result<()> {
        File::open("/dev/urandom")?.read_exact(&mut self.secret)
    }

    fn secret(&mut self) -> io::Result<&[u8; 16]> {
        // check() also sees a clone that the kernel has not heard of yet.
        while self.w.check()? != self.cached {
            self.cached = self.w.check()?;
            self.rebuild()?;
            // Stale (EINVAL): the counter moved again; loop.
            let _ = self.w.confirm(self.cached);
        }
        Ok(&self.secret)
    }
}

fn main() -> io::Result<()> {
    let w = sysgenid::Watcher::open()?;
    let cached = w.get();
    let mut app = App { w, cached, secret: [0; 16] };
    app.rebuild()?;
    let out = io::stdout();
    for line in io::stdin().lock().lines() {
        line?;
        let hex: String = app.secret()?.iter().map(|b| format!("{:02x}", b)).collect();
        writeln!(out.lock(), "secret {} generation {}", hex, app.cached)?;
    }
    Ok(())
}

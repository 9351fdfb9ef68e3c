// SPDX-License-Identifier: GPL-2.0
//! Workflow 4 (examples/orchestrator.c): on a generation change, pause the
//! service, confirm this watcher, wait for every other watcher (at most
//! TIMEOUT_MS), resume.
//!
//! Usage: orchestrator [TIMEOUT_MS [EVENTS]] (defaults 5000, forever).

use std::io;
use std::time::Duration;

use sysgenid::{errno, EINTR, EINVAL, ETIME};

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().unwrap_or(0));
    let timeout = Duration::from_millis(args.next().unwrap_or(5000));
    let events = args.next().unwrap_or(0);
    let w = sysgenid::Watcher::open()?;
    println!("ready");
    let mut n = 0;
    while events == 0 || n < events {
        let gen = w.wait(None)?;
        println!("paused generation {}", gen); // pause_service()
        let r = w.confirm(gen).and_then(|_| w.wait_watchers(Some(timeout)));
        match r.as_ref().map_err(errno) {
            Ok(()) => println!("resumed generation {}: all watchers up to date", gen),
            Err(Some(ETIME)) => println!(
                "resumed generation {}: {} watchers still outdated",
                gen,
                w.outdated_watchers()?
            ),
            // A newer event (EINVAL) or one while waiting (EINTR): again.
            Err(Some(EINVAL)) | Err(Some(EINTR)) => continue,
            Err(_) => return r,
        }
        n += 1;
    }
    Ok(())
}

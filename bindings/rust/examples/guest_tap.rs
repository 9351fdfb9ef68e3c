// SPDX-License-Identifier: GPL-2.0
//! In-guest tests of the Rust binding against the module, in TAP.
//!
//! Run as root in the test guest. `guest_tap watch` instead prints
//! "ready gen=G" and then "event gen=N check=C" on each event, `probe`
//! "get=G check=C get=G2 mapped=M" (get, check(), get), `sync` "gen=N"
//! (the clone test); `guest_tap nopriv-bump` (run as nobody by the
//! tests) exits 0 when a bump fails with EPERM. The counter is
//! system-wide: every test reads it first.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::thread;
use std::time::Duration;

use sysgenid::{errno, testing, Probe, Watcher, EBADF, EINTR, EINVAL, EPERM, ETIME};

const GUARD: Option<Duration> = Some(Duration::from_secs(20));

struct Tap {
    n: u32,
    failed: u32,
}

impl Tap {
    fn test(&mut self, name: &str, r: io::Result<(bool, String)>) {
        self.n += 1;
        let (ok, diag) = match r {
            Ok(x) => x,
            Err(e) => (false, format!("error: {}", e)),
        };
        self.failed += !ok as u32;
        println!("{} {} - {}", if ok { "ok" } else { "not ok" }, self.n, name);
        if !ok && !diag.is_empty() {
            println!("#   {}", diag);
        }
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.n += 1;
        println!("ok {} - {} # SKIP {}", self.n, name, why);
    }
}

fn err_of<T>(r: io::Result<T>) -> Option<i32> {
    r.err().and_then(|e| errno(&e))
}

fn watch() -> io::Result<()> {
    let w = Watcher::open()?;
    println!("ready gen={}", w.get());
    loop {
        let g = w.wait(None)?;
        println!("event gen={} check={}", g, w.check()?);
        w.confirm(g)?;
    }
}

fn main() {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("watch") => {
            if let Err(e) = watch() {
                eprintln!("guest_tap: {}", e);
            }
            std::process::exit(1);
        }
        Some("probe") => {
            let p = Probe::open().expect("open");
            let g = p.get();
            let c = p.check().expect("check");
            println!("get={} check={} get={} mapped={}", g, c, p.get(), p.id_page_mapped() as u8);
            std::process::exit(0);
        }
        Some("sync") => {
            let p = Probe::open().expect("open");
            println!("gen={}", p.sync().expect("sync"));
            std::process::exit(0);
        }
        Some("nopriv-bump") => {
            let p = Probe::open().expect("open");
            let e = p.bump(p.get()).err().and_then(|e| errno(&e));
            std::process::exit(if e == Some(EPERM) { 0 } else { 1 });
        }
        _ => {}
    }
    std::process::exit(run());
}

fn run() -> i32 {
    let mut t = Tap { n: 0, failed: 0 };
    let p = match Probe::open() {
        Ok(p) => p,
        Err(e) => {
            println!("1..1\nnot ok 1 - open a probe: {}", e);
            return 1;
        }
    };
    println!("1..20");

    t.test("probe follows a bump (one load)", (|| {
        let g = p.get();
        p.bump(g)?;
        let g1 = p.get();
        Ok((g1 == g.wrapping_add(1) && p.changed(g) && !p.changed(g1),
            format!("g={} then {}", g, g1)))
    })());
    t.test("bump to a minimum ahead", (|| {
        let g = p.get();
        p.bump(g.wrapping_add(10))?;
        Ok((p.get() == g.wrapping_add(10), format!("g={} then {}", g, p.get())))
    })());
    t.test("bump to a minimum behind moves by one", (|| {
        let g = p.get();
        p.bump(g.wrapping_sub(5))?;
        Ok((p.get() == g.wrapping_add(1), String::new()))
    })());
    if p.id_page_mapped() {
        t.test("ID page mapped", Ok((true, String::new())));
    } else {
        t.skip("ID page mapped", "no ID page in this guest");
    }
    t.test("sync with an unchanged ID is no event", (|| {
        let g = p.get();
        let s = p.sync()?;
        Ok((s == g && p.get() == g, format!("g={} sync={}", g, s)))
    })());
    t.test("check equals get with an unchanged ID", p.check().map(|c| (c == p.get(), String::new())));

    let w = Watcher::open().expect("open a watcher");
    t.test("wait times out while up to date (ETIME)",
        Ok((err_of(w.wait(Some(Duration::from_millis(50)))) == Some(ETIME), String::new())));
    t.test("wait returns the generation after a bump", (|| {
        p.bump(p.get())?;
        let g = w.wait(GUARD)?;
        Ok((g == p.get(), format!("wait {} get {}", g, p.get())))
    })());
    t.test("confirm makes the watcher up to date", (|| {
        let g = w.wait(GUARD)?;
        w.confirm(g)?;
        Ok((err_of(w.wait(Some(Duration::ZERO))) == Some(ETIME), String::new()))
    })());
    t.test("confirm of a stale generation is EINVAL", (|| {
        let g = w.get();
        p.bump(g)?;
        let e = err_of(w.confirm(g));
        w.confirm(w.wait(GUARD)?)?;
        Ok((e == Some(EINVAL), format!("{:?}", e)))
    })());
    drop(w);

    let w1 = Watcher::open().expect("open a watcher");
    let w2 = Watcher::open().expect("open a watcher");
    let base = p.outdated_watchers().unwrap_or(u32::MAX);
    t.test("outdated count with two watchers", (|| {
        p.bump(p.get())?;
        let n2 = p.outdated_watchers()?;
        w1.confirm(w1.wait(GUARD)?)?;
        let n1 = p.outdated_watchers()?;
        w2.confirm(w2.wait(GUARD)?)?;
        let n0 = p.outdated_watchers()?;
        Ok(((n2, n1, n0) == (base + 2, base + 1, base), format!("base {}: {} {} {}", base, n2, n1, n0)))
    })());
    t.test("WAIT_WATCHERS: ETIME while one is outdated, 0 once it confirms", (|| {
        p.bump(p.get())?;
        w1.confirm(w1.wait(GUARD)?)?;
        let e = err_of(w1.wait_watchers(Some(Duration::from_millis(50))));
        // Watcher is Sync: another thread confirms through a reference.
        let r = thread::scope(|s| {
            let h = s.spawn(|| {
                thread::sleep(Duration::from_millis(50));
                w2.wait(GUARD).and_then(|g| w2.confirm(g))
            });
            let r = w1.wait_watchers(GUARD);
            h.join().unwrap().and(r)
        });
        r?;
        Ok((e == Some(ETIME) && p.outdated_watchers()? == base, format!("first {:?}", e)))
    })());
    t.test("WAIT_WATCHERS of an outdated watcher is EINTR", (|| {
        p.bump(p.get())?;
        let e = err_of(w1.wait_watchers(GUARD));
        w1.confirm(w1.wait(GUARD)?)?;
        w2.confirm(w2.wait(GUARD)?)?;
        Ok((e == Some(EINTR), format!("{:?}", e)))
    })());
    t.test("an untracked watcher is not counted", (|| {
        w2.set_tracking(false)?;
        p.bump(p.get())?;
        let n = p.outdated_watchers()?;
        w2.set_tracking(true)?;
        w1.confirm(w1.wait(GUARD)?)?;
        w2.confirm(w2.wait(GUARD)?)?;
        Ok((n == base + 1, format!("{}", n)))
    })());
    t.test("bump without privilege is EPERM, no event", (|| {
        let g = p.get();
        let st = Command::new(std::env::current_exe()?)
            .arg("nopriv-bump")
            .uid(65534)
            .gid(65534)
            .status()?;
        Ok((st.success() && p.get() == g, format!("{}", st)))
    })());
    t.test("WAIT_WATCHERS with a timeout above 0xffffffff is EINVAL",
        Ok((err_of(testing::wait_watchers_raw(&p, 1 << 32)) == Some(EINVAL), String::new())));
    t.test("bump to a minimum above 0xffffffff is EINVAL",
        Ok((err_of(testing::bump_raw(&p, 1 << 32)) == Some(EINVAL), String::new())));
    t.test("a probe cannot confirm (EBADF)",
        Ok((err_of(testing::confirm_raw(&p, p.get())) == Some(EBADF), String::new())));
    t.test("a probe cannot be tracked (EBADF)",
        Ok((err_of(testing::set_tracking_raw(&p, 1)) == Some(EBADF), String::new())));
    t.test("tracking other than 0 or 1 is EINVAL",
        Ok((err_of(testing::set_tracking_raw(&w1, 2)) == Some(EINVAL), String::new())));
    if t.failed > 0 { 1 } else { 0 }
}

//! `runsvdir [-P] dir [log]`: one `runsv` per service directory in `dir` (spec runsvdir.md).
//!
//! runit's runsvdir wakes every 5 seconds, stats `dir`, and rescans when its mtime changed.
//! This one keeps every interface (arguments, messages, exit codes, the readproctitle log
//! buffer, `-P`, HUP and TERM) but is driven by events:
//!
//! - inotify on `dir` (and on the directories holding each symlink on the way to it, so a
//!   re-pointed `current` link is seen) makes new, removed and re-pointed entries act at once;
//!   with inotify working and nothing changing, the loop sleeps in `poll` with no timeout.
//!   Where inotify cannot be trusted (network and FUSE file systems, no inotify instance left)
//!   runit's 5-second stat loop runs, with its 1-second settle turned into a deadline.
//! - SIGCHLD is caught: a dead runsv is restarted at once (a runsv that dies within a second of
//!   its start is retried at runit's 5-second pace, so a missing `runsv` does not spin).
//! - A removed entry's runsv is remembered until it has exited; the same directory added again
//!   meanwhile gets its new runsv only then, instead of one that fails on the lock.
//! - As PID 1, SIGTERM, SIGINT and SIGPWR stop the tree: TERM to every runsv, wait for all
//!   of them (their services and loggers go down and drain), TERM/KILL leftovers, reap,
//!   exit 0 (or with the code in `/run/runit.exitcode`, left by an `essential` service
//!   given up on, and removed at start); everything left when the `stop-timeout`
//!   (src/initctl.rs, default 7 s) runs out gets KILL, so a container ends inside Docker's
//!   10-second grace.
//! - SIGALRM means "rescan now" (Debian's runsvdir, whose PID 1 forwards runit-helper's
//!   `kill -s ALRM 1`); upstream's runsvdir dies of it. Debian's `./.forced-rescan` stamp is
//!   not written (docs/runsvdir.md).
//!
//! Divergences are listed in docs/runsvdir.md.
//!
//! runsvdir is a container's PID 1 often enough to follow the PID-1 rule: no panics.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use crate::msg;
use crate::spawn::{spawn, OnFail};
use crate::sys::{self, dirwatch, pid_t, proctitle, signals, AsFd, BorrowedFd, Errno, OwnedFd};
use std::collections::HashMap;
use std::ffi::CString;

/// Exit code after SIGTERM (runsv processes are left running), and after a PID-1 shutdown.
pub const EXIT_TERM: i32 = 0;
/// Exit code for a usage error.
pub const EXIT_USAGE: i32 = 1;
/// Exit code after SIGHUP (every tracked runsv was sent SIGTERM first).
pub const EXIT_HUP: i32 = 111;
/// Exit code for a fatal start-up error; also the forked child's when runsv cannot be executed.
pub const EXIT_FATAL: i32 = 100;

/// runit's table size: entries beyond it get `too many services.` at every scan.
const MAX_SERVICES: usize = 1000;
/// Events arriving together are handled by one scan started this long after the first.
const DEBOUNCE_MS: i64 = 2;
/// runit's wake-up intervals: 1 s while something is pending, else 5 s (fallback mode).
const FAST_POLL_MS: i64 = 1000;
const SLOW_POLL_MS: i64 = 5000;
/// A runsv that dies this soon after its start is retried at runit's pace ([`RETRY_MS`]).
const QUICK_DEATH_MS: i64 = 1000;
const RETRY_MS: i64 = 5000;
/// The log buffer gets a `.` this often, so stale messages scroll away.
const LOG_DOT_MS: i64 = 900_000;
/// PID 1: how long leftover processes get between TERM and KILL after every runsv exited.
const PID1_GRACE_MS: i64 = 5000;
/// PID 1: how long killed processes get to be reaped before runsvdir exits anyway (one
/// stuck in D state must not hold the container).
const REAP_AFTER_KILL_MS: i64 = 2000;
/// PID 1 shutdown: how often orphans are looked for while runsv processes exit.
const ORPHAN_TICK_MS: i64 = 200;

const DIR_MASK: u32 = dirwatch::IN_CREATE
    | dirwatch::IN_DELETE
    | dirwatch::IN_MOVED_FROM
    | dirwatch::IN_MOVED_TO
    | dirwatch::IN_DELETE_SELF
    | dirwatch::IN_MOVE_SELF
    | dirwatch::IN_MASK_ADD;
const PARENT_MASK: u32 = dirwatch::IN_CREATE
    | dirwatch::IN_DELETE
    | dirwatch::IN_MOVED_FROM
    | dirwatch::IN_MOVED_TO
    | dirwatch::IN_ONLYDIR
    | dirwatch::IN_MASK_ADD;

/// A service is keyed by the (device, inode) of its directory, symlinks followed.
type Key = (u64, u64);

/// Whether the entry `name` (still) leads to the service directory `key`.
fn leads_to(name: &[u8], key: Key) -> bool {
    sys::stat_bytes(name).is_ok_and(|st| (st.dev, st.ino) == key)
}

struct Svc {
    /// The name its runsv is started under: the entry it was last seen through.
    name: Vec<u8>,
    /// Its runsv, 0 when none runs.
    pid: pid_t,
    /// When its runsv was started (monotonic ms).
    started: i64,
    /// When to (re)start a runsv for it (monotonic ms); `None` while the runsv of an earlier
    /// entry for the same directory is still exiting (it holds the lock).
    start_at: Option<i64>,
    gone: bool,
}

/// The inotify side: the watch on `dir`, and the watches on the directories holding each
/// link on the way to it (with the entry name that matters in each).
struct Watch {
    ino: dirwatch::Inotify,
    dir_wd: i32,
    points: Vec<(i32, Vec<u8>)>,
}

/// The readproctitle buffer: the log argument's bytes in our own argv memory.
struct Title {
    buf: Option<&'static mut [u8]>,
}

impl Title {
    /// Shifts bytes 6.. one left (byte 5 is lost) and stores `c` last (spec §4).
    fn push(&mut self, c: u8) {
        if let Some(buf) = self.buf.as_deref_mut() {
            let n = buf.len();
            if n > 5 {
                buf.copy_within(6..n, 5);
                if let Some(last) = buf.last_mut() {
                    *last = c;
                }
            }
        }
    }
}

/// The steps of a PID-1 shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Every runsv was sent TERM; waiting for all of them to exit.
    WaitRunsv,
    /// Every runsv is gone; what is left was sent TERM.
    Termed,
    /// ... and then KILL (after the grace period or at the stop deadline).
    Killed,
}

struct Stopping {
    phase: Phase,
    deadline: i64,
    began: i64,
    /// The container-wide stop deadline (`None`: none): everything left then gets KILL.
    hard: Option<i64>,
    /// Phase 1: orphans (children that are no runsv) seen, with when they were sent TERM.
    orphans: HashMap<pid_t, i64>,
}

struct Runsvdir {
    dir: Vec<u8>,
    dir_c: CString,
    /// `dir` as an absolute path (for the watches), if the start-up cwd was known.
    dir_abs: Option<Vec<u8>>,
    pgrp: bool,
    cwd_fd: OwnedFd,
    runsv_paths: Vec<CString>,
    svcs: HashMap<Key, Svc>,
    /// runsv processes sent TERM because their entry went away, until reaped.
    dying: Vec<(pid_t, Key)>,
    /// (dev, ino) of the directory the watch is on.
    watched: Option<Key>,
    /// (dev, ino, mtime s, mtime ns) of `dir` at the last scan (fallback mode compares it).
    seen: Option<(u64, u64, i64, i64)>,
    watch: Option<Watch>,
    /// True when inotify cannot be trusted for `dir`: runit's periodic stat runs.
    fallback: bool,
    scan_at: Option<i64>,
    poll_at: Option<i64>,
    /// Set when returning to the start-up directory failed: retried at this time.
    cwd_lost: Option<i64>,
    log: Option<(OwnedFd, Title)>,
    log_dot_at: i64,
    clock_offset: i64,
    pid1: bool,
    stopping: Option<Stopping>,
    no_children: bool,
}

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let argv0 = args.first().cloned().unwrap_or_default();
    // Hand-rolled parsing (spec §1): only the first argument may be an option.
    let mut i = 1;
    let mut pgrp = false;
    if let Some(a) = args.get(1) {
        if a.first() == Some(&b'-') {
            match a.get(1) {
                Some(b'P') => {
                    pgrp = true;
                    i = 2;
                }
                Some(b'-') => i = 2,
                _ => {}
            }
        }
    }
    let Some(dir) = args.get(i).cloned() else {
        msg::usage(&argv0, b" [-P] dir");
        return EXIT_USAGE;
    };
    let Ok(dir_c) = sys::cstr(&dir) else {
        msg::usage(&argv0, b" [-P] dir");
        return EXIT_USAGE;
    };
    msg::set_prefix(&[b"runsvdir ", &dir, b": "]);
    sys::alloc::set_oom_exit(EXIT_FATAL);
    let cwd_fd = match sys::open(c".", libc::O_RDONLY | libc::O_DIRECTORY, 0) {
        Ok(fd) => fd,
        Err(e) => msg::fatal_errno(EXIT_FATAL, &[b"unable to open current directory"], e),
    };
    let selfpipe = match signals::selfpipe() {
        Ok(fd) => fd,
        Err(e) => msg::fatal_errno(EXIT_FATAL, &[b"unable to create selfpipe"], e),
    };
    let pid1 = sys::getpid() == 1;
    let _ = signals::catch(libc::SIGTERM);
    let _ = signals::catch(libc::SIGHUP);
    let _ = signals::catch(libc::SIGCHLD);
    // Debian: rescan now (upstream's runsvdir dies of it).
    let _ = signals::catch(libc::SIGALRM);
    if pid1 {
        // As PID 1 an uncaught INT or PWR is ignored by the kernel; make Ctrl-C, and the
        // PWR of LXD/Incus or a UPS daemon, stop the tree as TERM does.
        let _ = signals::catch(libc::SIGINT);
        let _ = signals::catch(libc::SIGPWR);
        // an earlier boot's essential exit code must not end this one
        crate::initctl::clear_essential_exitcode();
    }
    let dir_abs = if dir.first() == Some(&b'/') {
        Some(dir.clone())
    } else {
        sys::getcwd().ok().map(|mut c| {
            c.push(b'/');
            c.extend_from_slice(&dir);
            c
        })
    };
    let now = sys::now_mono_ms();
    let mut r = Runsvdir {
        dir: dir.clone(),
        dir_c,
        dir_abs,
        pgrp,
        cwd_fd,
        runsv_paths: runsv_paths(),
        svcs: HashMap::new(),
        dying: Vec::new(),
        watched: None,
        seen: None,
        watch: None,
        fallback: true,
        scan_at: Some(now),
        poll_at: None,
        cwd_lost: None,
        log: None,
        log_dot_at: now,
        clock_offset: clock_offset(),
        pid1,
        stopping: None,
        no_children: false,
    };
    if let Some(log) = args.get(i + 1) {
        r.log = r.setup_log(log, args.len() - (i + 1));
    }
    r.run(selfpipe.as_fd())
}

/// Where to look for `runsv`: `$PATH` (default `/bin:/usr/bin`), an empty element meaning
/// the current directory (spec README "PATH search"). Built once, before any fork.
fn runsv_paths() -> Vec<CString> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::env::var_os("PATH");
    let path: &[u8] = path.as_ref().map_or(b"/bin:/usr/bin", |p| p.as_bytes());
    path.split(|&b| b == b':')
        .filter_map(|e| {
            let mut p = e.to_vec();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(b"runsv");
            sys::cstr(&p).ok()
        })
        .collect()
}

/// Wall clock minus monotonic clock, in ms: it drops when the wall clock is set back.
fn clock_offset() -> i64 {
    let (s, us) = sys::now_wall();
    s * 1000 + i64::from(us / 1000) - sys::now_mono_ms()
}

/// The places whose change can make `path` name another directory: for every symlink on the
/// way (and for the final component), the directory holding it and the entry name.
fn watch_points(path: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pending: Vec<Vec<u8>> = path
        .split(|&b| b == b'/')
        .rev()
        .map(<[u8]>::to_vec)
        .collect();
    let mut cur: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut hops = 0;
    while let Some(c) = pending.pop() {
        if c.is_empty() || c == b"." {
            continue;
        }
        if c == b".." {
            let cut = cur.iter().rposition(|&b| b == b'/').unwrap_or(0);
            cur.truncate(cut);
            continue;
        }
        let parent = if cur.is_empty() {
            b"/".to_vec()
        } else {
            cur.clone()
        };
        let mut p = cur.clone();
        p.push(b'/');
        p.extend_from_slice(&c);
        let Ok(pc) = sys::cstr(&p) else { break };
        match sys::lstat(&pc) {
            Ok(st) if st.is_symlink() => {
                out.push((parent, c));
                hops += 1;
                let Ok(target) = sys::readlink(&pc, 4096) else {
                    break;
                };
                if hops > 40 {
                    break;
                }
                if target.first() == Some(&b'/') {
                    cur.clear();
                }
                pending.extend(target.split(|&b| b == b'/').rev().map(<[u8]>::to_vec));
            }
            Ok(_) => {
                if pending.iter().all(|c| c.is_empty() || c == b".") {
                    out.push((parent, c));
                }
                cur = p;
            }
            Err(_) => {
                out.push((parent, c));
                break;
            }
        }
    }
    out
}

fn min_opt(a: Option<i64>, b: i64) -> Option<i64> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl Runsvdir {
    fn warn(&self, parts: &[&[u8]]) {
        msg::warn(parts);
    }

    fn warn_errno(&self, parts: &[&[u8]], e: Errno) {
        msg::warn_errno(parts, e);
    }

    /// The log argument (spec §4): a non-blocking pipe replaces fd 2; what comes out of it
    /// scrolls through the argument's bytes in our argv. `from_end` locates the argument in
    /// the real argv (the multicall binary may have dropped leading arguments).
    fn setup_log(&self, log: &[u8], from_end: usize) -> Option<(OwnedFd, Title)> {
        if log.len() < 7 {
            self.warn(&[b"log must have at least seven characters."]);
            self.warn(&[b"log service disabled."]);
            return None;
        }
        let Ok((rd, wr)) = sys::pipe(libc::O_NONBLOCK) else {
            self.warn(&[b"unable to create pipe for log."]);
            self.warn(&[b"log service disabled."]);
            return None;
        };
        if sys::dup2(wr.as_fd(), 2).is_err() {
            self.warn(&[b"unable to set filedescriptor for log."]);
            self.warn(&[b"log service disabled."]);
            return None;
        }
        drop(wr);
        let real = proctitle::argv_count().checked_sub(from_end);
        let buf = real
            .and_then(proctitle::argv_arg_mut)
            .filter(|b| &b[..] == log);
        Some((rd, Title { buf }))
    }

    fn run(&mut self, selfpipe: BorrowedFd) -> i32 {
        loop {
            let now = sys::now_mono_ms();
            self.reap(now);
            self.time_warp();
            if let Some(code) = self.shutdown_step(now) {
                // an essential service given up on ends the container with its code
                return crate::initctl::exit_code_now(false, code);
            }
            if self.stopping.is_none() {
                if let Some(t) = self.cwd_lost {
                    if now >= t {
                        self.return_to_cwd(now);
                    }
                }
                if self.cwd_lost.is_none() {
                    if self.poll_at.is_some_and(|t| now >= t) {
                        self.periodic_stat(now);
                    }
                    if self.scan_at.is_some_and(|t| now >= t) {
                        self.scan_at = None;
                        self.scan(now);
                    }
                }
            }
            if let Some((_, _)) = &self.log {
                if now >= self.log_dot_at {
                    let _ = sys::write(sys::stderr(), b".");
                    self.log_dot_at = now + LOG_DOT_MS;
                }
            }

            let mut deadline: Option<i64> = None;
            if self.stopping.is_none() {
                for t in [self.scan_at, self.poll_at, self.cwd_lost]
                    .into_iter()
                    .flatten()
                {
                    deadline = min_opt(deadline, t);
                }
            }
            if let Some(s) = &self.stopping {
                deadline = min_opt(deadline, s.deadline);
                if let Some(h) = s.hard {
                    deadline = min_opt(deadline, h);
                }
            }
            if self.log.is_some() {
                deadline = min_opt(deadline, self.log_dot_at);
            }
            let now = sys::now_mono_ms();
            let timeout = deadline.map_or(-1, |d| sys::until(d, now));
            let mut fds = [
                sys::PollFd::new(selfpipe, sys::POLLIN),
                sys::PollFd::maybe(self.watch.as_ref().map(|w| w.ino.fd()), sys::POLLIN),
                sys::PollFd::maybe(self.log.as_ref().map(|l| l.0.as_fd()), sys::POLLIN),
            ];
            let _ = sys::poll(&mut fds, timeout);

            let now = sys::now_mono_ms();
            self.inotify_events(now);
            self.drain_log();
            let got = signals::drain(selfpipe);
            if signals::has(got, libc::SIGHUP) {
                for s in self.svcs.values() {
                    if s.pid > 0 {
                        let _ = sys::kill(s.pid, libc::SIGTERM);
                    }
                }
                return EXIT_HUP;
            }
            if signals::has(got, libc::SIGALRM) && self.stopping.is_none() {
                // a forced rescan: at once, whatever the directory's time stamps say
                self.scan_at = Some(now);
            }
            let stop = signals::has(got, libc::SIGTERM)
                || (self.pid1
                    && (signals::has(got, libc::SIGINT) || signals::has(got, libc::SIGPWR)));
            if stop {
                if !self.pid1 {
                    return EXIT_TERM;
                }
                self.begin_shutdown();
            }
        }
    }

    /// Reaps every exited child: a tracked runsv is scheduled for restart, a dying one frees
    /// its directory for a waiting successor, anything else (orphans, as PID 1) just goes.
    fn reap(&mut self, now: i64) {
        loop {
            match sys::wait_nohang(-1) {
                Ok(Some(ex)) => {
                    self.no_children = false;
                    if let Some((key, s)) = self.svcs.iter_mut().find(|(_, s)| s.pid == ex.pid) {
                        s.pid = 0;
                        // A runsv that failed on its own right after its start (runsv not
                        // found, lock held elsewhere) is retried at runit's pace; one that was
                        // killed comes back at once, at most once a second. One whose entry
                        // has vanished (renamed: see `scan`) is due at once: the scan finds
                        // the directory under its new name, or drops it.
                        let failed = ex.exited() && ex.code() != 0;
                        let vanished = failed && !leads_to(&s.name, *key);
                        let at = if now - s.started >= QUICK_DEATH_MS || vanished {
                            now
                        } else if failed {
                            s.started + RETRY_MS
                        } else {
                            s.started + QUICK_DEATH_MS
                        };
                        s.start_at = Some(at);
                        self.scan_at = min_opt(self.scan_at, at);
                    } else if let Some(i) = self.dying.iter().position(|d| d.0 == ex.pid) {
                        let (_, key) = self.dying.swap_remove(i);
                        if !self.dying.iter().any(|d| d.1 == key) {
                            if let Some(s) = self.svcs.get_mut(&key) {
                                if s.pid == 0 && s.start_at.is_none() {
                                    s.start_at = Some(now);
                                    self.scan_at = min_opt(self.scan_at, now);
                                }
                            }
                        }
                    }
                }
                Ok(None) => {
                    self.no_children = false;
                    break;
                }
                Err(_) => {
                    self.no_children = true;
                    break;
                }
            }
        }
    }

    /// runit's time-warp warning, for a wall clock set back by more than 3 s. Our timers are
    /// monotonic and need no reset; the line is kept for whoever watches the log.
    fn time_warp(&mut self) {
        let off = clock_offset();
        if off < self.clock_offset - 3000 {
            self.warn(&[b"time warp: resetting time stamp."]);
        }
        self.clock_offset = off;
    }

    /// runit's loop step 3, for fallback mode and while `dir` cannot be stat'ed.
    fn periodic_stat(&mut self, now: i64) {
        match sys::stat(&self.dir_c) {
            Err(e) => {
                self.warn_errno(&[b"unable to stat ", &self.dir], e);
                self.poll_at = Some(now + FAST_POLL_MS);
                self.watched = None;
            }
            Ok(st) => {
                let id = (st.dev, st.ino, st.mtime, st.mtime_nsec);
                let trusted = !self.fallback && self.watch.is_some();
                self.poll_at = if trusted {
                    None
                } else {
                    Some(now + SLOW_POLL_MS)
                };
                if self.seen != Some(id) || self.watched != Some((st.dev, st.ino)) {
                    // runit's settle: a directory changed within this second may still be
                    // changing; scan a second later (a deadline, not a sleep).
                    let (wall, _) = sys::now_wall();
                    let at = if st.mtime >= wall {
                        now + FAST_POLL_MS
                    } else {
                        now
                    };
                    self.scan_at = min_opt(self.scan_at, at);
                    self.seen = Some(id);
                }
            }
        }
    }

    fn return_to_cwd(&mut self, now: i64) {
        match sys::fchdir(self.cwd_fd.as_fd()) {
            Ok(()) => {
                self.cwd_lost = None;
                self.scan_at = min_opt(self.scan_at, now);
            }
            Err(e) => {
                self.warn_errno(&[b"unable to change directory, pausing"], e);
                self.cwd_lost = Some(now + SLOW_POLL_MS);
            }
        }
    }

    /// (Re)creates the inotify watches for `dir` as it is now.
    fn rewatch(&mut self) {
        self.watch = None;
        self.fallback = true;
        let Ok(ino) = dirwatch::Inotify::new() else {
            return;
        };
        let target = self.dir_abs.clone().unwrap_or_else(|| self.dir.clone());
        let mut points = Vec::new();
        if self.dir_abs.is_some() {
            for (parent, name) in watch_points(&target) {
                if let Ok(wd) = sys::cstr(&parent).and_then(|p| ino.add(&p, PARENT_MASK)) {
                    points.push((wd, name));
                }
            }
        }
        let Ok(dir_wd) = ino.add(&self.dir_c, DIR_MASK) else {
            return;
        };
        self.fallback = sys::fs_type(&self.dir_c).map_or(true, dirwatch::inotify_unreliable);
        self.watch = Some(Watch {
            ino,
            dir_wd,
            points,
        });
    }

    fn inotify_events(&mut self, now: i64) {
        let Some(w) = &self.watch else { return };
        let mut at: Option<i64> = None;
        for ev in w.ino.read_events() {
            if ev.mask & dirwatch::IN_Q_OVERFLOW != 0 {
                at = min_opt(at, now);
                continue;
            }
            if ev.wd == w.dir_wd {
                let self_mask = dirwatch::IN_DELETE_SELF
                    | dirwatch::IN_MOVE_SELF
                    | dirwatch::IN_UNMOUNT
                    | dirwatch::IN_IGNORED;
                if ev.mask & self_mask != 0 {
                    at = min_opt(at, now);
                } else if ev.name.first() != Some(&b'.') {
                    at = min_opt(at, now + DEBOUNCE_MS);
                }
            }
            if w.points
                .iter()
                .any(|(wd, name)| *wd == ev.wd && *name == ev.name)
            {
                at = min_opt(at, now);
            }
        }
        if let Some(at) = at {
            self.scan_at = min_opt(self.scan_at, at);
        }
    }

    fn drain_log(&mut self) {
        let Some((fd, title)) = &mut self.log else {
            return;
        };
        let mut buf = [0u8; 1024];
        while let Ok(n) = sys::read(fd.as_fd(), &mut buf) {
            if n == 0 {
                break;
            }
            for &c in buf.iter().take(n) {
                if c != 0 {
                    title.push(c);
                }
            }
        }
    }

    /// stat `dir`, follow it if it is another directory now, then scan it from inside.
    fn scan(&mut self, now: i64) {
        let st = match sys::stat(&self.dir_c) {
            Ok(st) => st,
            Err(e) => {
                // Gone (or unreachable): poll each second like runit until it is back (the
                // watch on its parent may see it first), then watch it again.
                self.warn_errno(&[b"unable to stat ", &self.dir], e);
                self.poll_at = Some(now + FAST_POLL_MS);
                self.watched = None;
                return;
            }
        };
        if self.watched != Some((st.dev, st.ino)) || self.watch.is_none() {
            self.rewatch();
            self.watched = Some((st.dev, st.ino));
        }
        self.seen = Some((st.dev, st.ino, st.mtime, st.mtime_nsec));
        self.poll_at = if self.fallback {
            Some(now + SLOW_POLL_MS)
        } else {
            None
        };
        if let Err(e) = sys::chdir(&self.dir_c) {
            self.warn_errno(&[b"unable to change directory to ", &self.dir], e);
            self.scan_at = Some(now + FAST_POLL_MS);
            return;
        }
        self.scan_here(now);
        if let Err(e) = sys::fchdir(self.cwd_fd.as_fd()) {
            self.warn_errno(&[b"unable to change directory, pausing"], e);
            self.cwd_lost = Some(now + SLOW_POLL_MS);
        }
    }

    /// The scan proper (spec §3), with the cwd in `dir`.
    fn scan_here(&mut self, now: i64) {
        let dot = c".";
        let names = match sys::dir_names(dot) {
            Ok(n) => n,
            Err(sys::DirError::Open(e)) => {
                self.warn_errno(&[b"unable to open directory ", &self.dir], e);
                return;
            }
            Err(sys::DirError::Read(e)) => {
                self.warn_errno(&[b"unable to read directory ", &self.dir], e);
                self.scan_at = Some(now + FAST_POLL_MS);
                return;
            }
        };
        for s in self.svcs.values_mut() {
            s.gone = true;
        }
        let mut excess = false;
        let mut tracked_new = false;
        for name in names {
            if name.first() == Some(&b'.') {
                continue;
            }
            let st = match sys::stat_bytes(&name) {
                Ok(st) => st,
                Err(e) => {
                    self.warn_errno(&[b"unable to stat ", &name], e);
                    continue;
                }
            };
            if !st.is_dir() {
                continue;
            }
            let key = (st.dev, st.ino);
            if let Some(s) = self.svcs.get_mut(&key) {
                s.gone = false;
                if s.name != name && !leads_to(&s.name, key) {
                    // Its entry is gone and another leads to it (`ln -sfn` and `mv` replace
                    // a link by renaming a temporary one over it): a restart uses the name
                    // that exists, as runit's does, and a runsv that died on the vanished
                    // name did not fail on its own, so it is due at once.
                    if s.pid == 0 && s.start_at.is_some() {
                        s.start_at = Some(now);
                        self.scan_at = min_opt(self.scan_at, now);
                    }
                    s.name = name;
                }
            } else if self.svcs.len() >= MAX_SERVICES {
                self.warn(&[b"unable to start runsv ", &name, b": too many services."]);
                excess = true;
                continue;
            } else {
                let waiting = self.dying.iter().any(|d| d.1 == key);
                let svc = Svc {
                    name,
                    pid: 0,
                    started: 0,
                    start_at: if waiting { None } else { Some(now) },
                    gone: false,
                };
                self.svcs.insert(key, svc);
                tracked_new = true;
            }
            self.start_if_due(key, now);
        }
        let gone: Vec<Key> = self
            .svcs
            .iter()
            .filter(|(_, s)| s.gone)
            .map(|(k, _)| *k)
            .collect();
        for key in &gone {
            if let Some(s) = self.svcs.remove(key) {
                if s.pid > 0 {
                    let _ = sys::kill(s.pid, libc::SIGTERM);
                    self.dying.push((s.pid, *key));
                }
            }
        }
        if excess && !gone.is_empty() {
            // Freed slots go to waiting entries at once (runit: at the next scan).
            self.scan_at = min_opt(self.scan_at, now);
        } else if excess && tracked_new {
            // runit sets its check flag when it tracks a new service and so scans again a
            // second later; that second scan is where entries beyond the table are warned
            // about once more (twice at start-up, spec §3). Nothing else depends on it.
            self.scan_at = min_opt(self.scan_at, now + FAST_POLL_MS);
        }
    }

    fn start_if_due(&mut self, key: Key, now: i64) {
        let Some(s) = self.svcs.get(&key) else { return };
        let Some(at) = s.start_at else { return };
        if s.pid != 0 {
            return;
        }
        if at > now {
            self.scan_at = min_opt(self.scan_at, at);
            return;
        }
        let name = s.name.clone();
        let Ok(argv) = sys::Argv::new(&[&b"runsv"[..], &name]) else {
            return;
        };
        let pgrp = self.pgrp;
        let paths = &self.runsv_paths;
        let spawned = spawn(
            || {
                if pgrp {
                    let _ = sys::setsid();
                }
            },
            // runsv by `$PATH`, with runit's search rules.
            || {
                let mut saved = None;
                for p in paths {
                    if !sys::path_search_continues(sys::execv(p, &argv), &mut saved) {
                        break;
                    }
                }
                sys::path_search_result(saved)
            },
            OnFail {
                kind: msg::Kind::Fatal,
                code: EXIT_FATAL,
                parts: &[b"unable to start runsv ", &name],
            },
        );
        match spawned {
            Err(e) => {
                self.warn_errno(&[b"unable to fork for ", &name], e);
                if let Some(s) = self.svcs.get_mut(&key) {
                    s.start_at = Some(now + FAST_POLL_MS);
                }
                self.scan_at = min_opt(self.scan_at, now + FAST_POLL_MS);
            }
            Ok(pid) => {
                if let Some(s) = self.svcs.get_mut(&key) {
                    s.pid = pid;
                    s.started = now;
                }
            }
        }
    }

    /// PID 1 and SIGTERM: every runsv is told to exit (it takes its service and logger down).
    fn begin_shutdown(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        for s in self.svcs.values() {
            if s.pid > 0 {
                let _ = sys::kill(s.pid, libc::SIGTERM);
            }
        }
        self.scan_at = None;
        self.poll_at = None;
        let now = sys::now_mono_ms();
        let hard = crate::initctl::stop_timeout(msg::warn).map(|t| now + t);
        self.stopping = Some(Stopping {
            phase: Phase::WaitRunsv,
            deadline: now,
            began: now,
            hard,
            orphans: HashMap::new(),
        });
    }

    /// Advances a PID-1 shutdown; `Some(code)` when it is done.
    fn shutdown_step(&mut self, now: i64) -> Option<i32> {
        let st = self.stopping.as_mut()?;
        if st.phase != Phase::Killed && st.hard.is_some_and(|h| now >= h) {
            msg::warn(&[b"stop-timeout reached, sending KILL signal to all processes..."]);
            let _ = sys::kill(-1, libc::SIGKILL);
            st.phase = Phase::Killed;
            st.deadline = now + REAP_AFTER_KILL_MS;
            self.reap(now);
            return self.no_children.then_some(EXIT_TERM);
        }
        if st.phase == Phase::WaitRunsv {
            let runsv_left = self.svcs.values().any(|s| s.pid > 0) || !self.dying.is_empty();
            if runsv_left {
                if now >= st.deadline {
                    st.deadline = now + ORPHAN_TICK_MS;
                    self.term_orphans(now);
                }
                return None;
            }
            // Every runsv is gone: whatever escaped supervision gets TERM, then KILL.
            let _ = sys::kill(-1, libc::SIGTERM);
            let _ = sys::kill(-1, libc::SIGCONT);
            st.phase = Phase::Termed;
            st.deadline = now + PID1_GRACE_MS;
            self.reap(now);
        }
        let st = self.stopping.as_mut()?;
        if self.no_children {
            return Some(EXIT_TERM);
        }
        if st.phase == Phase::Termed && now >= st.deadline {
            let _ = sys::kill(-1, libc::SIGKILL);
            st.phase = Phase::Killed;
            st.deadline = now + REAP_AFTER_KILL_MS;
        } else if st.phase == Phase::Killed && now >= st.deadline {
            return Some(EXIT_TERM);
        }
        None
    }

    /// Shutdown phase 1: processes that escaped supervision were re-parented to us; they may
    /// hold a log pipe open and keep a logger (and so its runsv) from finishing. They get TERM
    /// (and CONT) at once and KILL after the grace period. Without /proc, everything but us
    /// gets TERM once the grace period has passed.
    fn term_orphans(&mut self, now: i64) {
        let Some(st) = self.stopping.as_mut() else {
            return;
        };
        let Ok(kids) = sys::child_pids() else {
            if now - st.began >= PID1_GRACE_MS {
                let _ = sys::kill(-1, libc::SIGTERM);
                let _ = sys::kill(-1, libc::SIGCONT);
                st.began = now;
            }
            return;
        };
        for k in kids {
            let ours =
                self.svcs.values().any(|s| s.pid == k) || self.dying.iter().any(|d| d.0 == k);
            if ours {
                continue;
            }
            let since = *st.orphans.entry(k).or_insert_with(|| {
                let _ = sys::kill(k, libc::SIGTERM);
                let _ = sys::kill(k, libc::SIGCONT);
                now
            });
            if now - since >= PID1_GRACE_MS {
                let _ = sys::kill(k, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §4: `abcdefghij` + `.` → `abcdeghij.`, then `XYZ` → `abcdej.XYZ`.
    #[test]
    fn title_scrolls_after_five_fixed_bytes() {
        let buf: &'static mut [u8] = Box::leak(b"abcdefghij".to_vec().into_boxed_slice());
        let mut t = Title { buf: Some(buf) };
        t.push(b'.');
        assert_eq!(t.buf.as_deref(), Some(&b"abcdeghij."[..]));
        for &c in b"XYZ" {
            t.push(c);
        }
        assert_eq!(t.buf.as_deref(), Some(&b"abcdej.XYZ"[..]));
    }

    /// Each link on the way to the directory is watched in the directory holding it, and
    /// so is the final component.
    #[test]
    fn watch_points_follow_links() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        let r = root.to_str().unwrap().as_bytes().to_vec();
        std::fs::create_dir_all(root.join("lv/default")).unwrap();
        std::os::unix::fs::symlink("default", root.join("lv/current")).unwrap();
        std::os::unix::fs::symlink(root.join("lv/current"), root.join("service")).unwrap();
        let mut path = r.clone();
        path.extend_from_slice(b"/service");
        let lv = [&r[..], b"/lv"].concat();
        let want: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (r.clone(), b"service".to_vec()),
            (lv.clone(), b"current".to_vec()),
            (lv, b"default".to_vec()),
        ];
        assert_eq!(watch_points(&path), want);
        // A missing component: its parent is watched for it.
        let mut missing = r.clone();
        missing.extend_from_slice(b"/nope/x");
        assert_eq!(watch_points(&missing), vec![(r, b"nope".to_vec())]);
    }
}

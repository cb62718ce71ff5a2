//! One log directory (svlogd.md §2, §6-§8, §11, §12): opening with its lock and config,
//! batched writing under the size rule, rotation, pruning, the processor, and the
//! never-drop retry loops for a failing or full disk.
//!
//! Output is batched: a directory's bytes collect in `buf` and go out in one `write(2)`
//! per input chunk (one read of at most `-b` bytes, or per `FLUSH_AT` bytes), but the size
//! rule is applied byte-exactly as the bytes are queued, so files are cut at the same
//! points as runit's one write per line cuts them.
//!
//! The `pausing:` retries wait runit's 3 seconds on the self-pipe instead of in `sleep`:
//! a TERM or HUP makes the operation give up (the event loop then exits or reopens), so a
//! directory that cannot be written or rotated (full disk, directory deleted) never makes
//! svlogd deaf (svlogd.md §11; docs/svlogd.md "Pausing").
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use super::config::{self, Config, Selection, Warning};
use crate::msg;
use crate::spawn::{spawn, OnFail};
use crate::sys::{self, AsFd, BorrowedFd, Errno, OwnedFd, RawFd};
use crate::tai::Tai64n;
use std::ffi::CString;

/// A directory's pending output is written out once it holds this much.
const FLUSH_AT: usize = 128 * 1024;
/// runit's pause before retrying a failed operation.
const PAUSE_MS: u64 = 3000;
/// Exit code of a processor child whose setup failed (formats.md §7).
const EXIT_PROCESSOR_SETUP: i32 = 111;
/// Length of a rotated file's name: `@`, 24 hex digits, `.`, suffix.
const OLD_NAME_LEN: usize = 27;

/// Settings shared by every directory.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub verbose: bool,
    /// The initial working directory, returned to after every operation inside a log dir.
    pub wd: BorrowedFd<'static>,
    /// `-l`: the processed length of a line.
    pub len: u64,
    /// The signal self-pipe, watched while pausing.
    pub selfpipe: BorrowedFd<'static>,
}

/// A running processor: its pid and the `@….u` it works on.
#[derive(Clone, Copy, Debug)]
struct Processor {
    pid: sys::pid_t,
    name: [u8; OLD_NAME_LEN],
}

pub struct LogDir {
    /// The operand as given (used in every message).
    pub name: Vec<u8>,
    ctx: Ctx,
    /// The directory, or `None` when not functional.
    fd: Option<OwnedFd>,
    lock: Option<OwnedFd>,
    cur: Option<OwnedFd>,
    pub cfg: Config,
    pub sel: Selection,
    /// Bytes in `current`, pending output included.
    size: u64,
    buf: Vec<u8>,
    /// Monotonic deadline (ms) of the `t` rule.
    deadline: i64,
    proc: Option<Processor>,
    udp: Option<OwnedFd>,
    /// runit names the directory only once it holds the lock; until then a failed open
    /// reports `close: ` with an empty name (observed with -v).
    named: bool,
}

// svlogd's messages: the queued stderr copies of lines go out first, so that stderr shows
// them in runit's order.
fn info(parts: &[&[u8]]) {
    super::err_flush();
    msg::info(parts);
}

fn warn(parts: &[&[u8]]) {
    super::err_flush();
    msg::warn(parts);
}

fn warn_errno(parts: &[&[u8]], e: Errno) {
    super::err_flush();
    msg::warn_errno(parts, e);
}

/// `svlogd: pausing: WHAT: <err>`, then runit's 3-second pause, watching for signals.
/// False when the operation must give up instead of retrying: a TERM or HUP arrived (or
/// is being acted on), and the event loop is to exit or reopen (then nothing is printed).
fn pause(ctx: Ctx, what: &[&[u8]], e: Errno) -> bool {
    if super::giving_up() {
        return false;
    }
    super::err_flush();
    msg::say(msg::Kind::Pausing, what, Some(e));
    super::sleep_watching(ctx.selfpipe, PAUSE_MS)
}

/// Retries `op`, pausing after each failure (svlogd.md §11), until it works (`Some`) or a
/// TERM or HUP makes it give up (`None`).
fn retry<T>(ctx: Ctx, what: &[u8], dir: &[u8], mut op: impl FnMut() -> sys::Res<T>) -> Option<T> {
    loop {
        match op() {
            Ok(v) => return Some(v),
            Err(e) => {
                if !pause(ctx, &[what, b": ", dir], e) {
                    return None;
                }
            }
        }
    }
}

fn c(b: &[u8]) -> CString {
    // Names built here never hold a NUL.
    CString::new(b).unwrap_or_default()
}

/// `@<tai64n>.<suffix>`, the name of a rotated file.
fn old_name(t: Tai64n, suffix: u8) -> [u8; OLD_NAME_LEN] {
    let mut name = [0u8; OLD_NAME_LEN];
    let (label, dot_suffix) = name.split_at_mut(25);
    label.copy_from_slice(&t.label());
    dot_suffix.copy_from_slice(&[b'.', suffix]);
    name
}

/// The same name with another suffix (`@X.u` → `@X.t`, `@X.s`).
fn with_suffix(mut name: [u8; OLD_NAME_LEN], suffix: u8) -> [u8; OLD_NAME_LEN] {
    if let Some(last) = name.last_mut() {
        *last = suffix;
    }
    name
}

/// A fresh `@<tai64n>.<suffix>` name that does not exist yet in the current directory.
fn fresh_name(suffix: u8) -> [u8; OLD_NAME_LEN] {
    loop {
        let name = old_name(Tai64n::now(), suffix);
        if sys::lstat(&c(&name)).is_err() {
            return name;
        }
    }
}

fn is_old_name(n: &[u8]) -> bool {
    n.len() == OLD_NAME_LEN && n.first() == Some(&b'@')
}

impl LogDir {
    pub fn new(name: Vec<u8>, ctx: Ctx) -> LogDir {
        LogDir {
            name,
            ctx,
            fd: None,
            lock: None,
            cur: None,
            cfg: Config::default(),
            sel: Selection {
                dir: true,
                err: false,
            },
            size: 0,
            buf: Vec::new(),
            deadline: 0,
            proc: None,
            udp: None,
            named: false,
        }
    }

    pub fn functional(&self) -> bool {
        self.fd.is_some()
    }

    /// Whether all queued output went out (false after a write gave up).
    pub fn written(&self) -> bool {
        self.buf.is_empty() || !self.functional()
    }

    fn to_wd(&self) {
        let wd = self.ctx.wd;
        while let Err(e) = sys::fchdir(wd) {
            if !pause(
                self.ctx,
                &[b"unable to change to initial working directory"],
                e,
            ) {
                return;
            }
        }
    }

    /// Enters the directory; false if that gave up (TERM or HUP while pausing).
    fn to_dir(&self, what: &[u8]) -> bool {
        let Some(fd) = self.fd.as_ref() else {
            return false;
        };
        retry(self.ctx, what, &self.name, || sys::fchdir(fd.as_fd())).is_some()
    }

    /// Gives up a directory that failed to open after its fd was opened.
    fn abandon(&mut self) {
        if self.ctx.verbose {
            let name: &[u8] = if self.named { &self.name } else { b"" };
            info(&[b"close: ", name]);
        }
        self.lock = None;
        self.fd = None;
        self.to_wd();
    }

    /// Opens the directory (svlogd.md §2); `shared` is runit's one config buffer (quirk §2.4).
    /// Returns whether the directory is functional.
    ///
    /// Output still queued from before a HUP (a write that gave up) is kept and goes to
    /// the reopened `current`.
    pub fn open(&mut self, shared: &mut Vec<u8>) -> bool {
        self.cfg = Config::default();
        self.sel.dir = true;
        self.size = 0;
        self.proc = None;
        let fd = match sys::cstr(&self.name)
            .and_then(|p| sys::open(&p, libc::O_RDONLY | libc::O_NDELAY, 0))
        {
            Ok(fd) => fd,
            Err(e) => {
                warn_errno(&[b"unable to open log directory: ", &self.name], e);
                return false;
            }
        };
        let entered = sys::fchdir(fd.as_fd());
        self.fd = Some(fd);
        if let Err(e) = entered {
            self.abandon();
            warn_errno(&[b"unable to change directory: ", &self.name], e);
            return false;
        }
        let lock = sys::open(
            &c(b"lock"),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NDELAY,
            0o600,
        )
        .and_then(|l| sys::flock(l.as_fd(), libc::LOCK_EX | libc::LOCK_NB).map(|()| l));
        match lock {
            Ok(l) => {
                self.lock = Some(l);
                self.named = true;
            }
            Err(e) => {
                self.abandon();
                warn_errno(&[b"unable to lock directory: ", &self.name], e);
                return false;
            }
        }
        // Bounded (and non-blocking: a FIFO reads as empty): a `config` that is a link
        // to /dev/zero costs CONFIG_MAX, not all memory.
        let text: Option<Vec<u8>> = match sys::read_file(c"config", config::CONFIG_MAX) {
            Ok(t) => {
                if t.truncated {
                    warn(&[b"config too long, ignoring the rest: ", &self.name]);
                }
                let used = config::usable(&t.data, t.truncated).to_vec();
                shared.clone_from(&used);
                Some(used)
            }
            Err(Errno::NOENT) => None,
            Err(e) => {
                warn_errno(&[b"unable to read config: ", &self.name], e);
                // quirk: the parser runs over the shared buffer, whose newlines the last
                // parse turned into NULs: only its first line takes effect.
                if e == Errno::ISDIR {
                    shared.clear();
                }
                let first = match shared.iter().position(|&b| b == b'\n') {
                    Some(i) => shared.get(..=i).unwrap_or(shared),
                    None => shared,
                };
                Some(first.to_vec())
            }
        };
        if let Some(text) = text {
            if self.ctx.verbose {
                info(&[b"read: ", &self.name, b"/config"]);
            }
            for w in self.cfg.parse(&text) {
                match w {
                    Warning::Ip(r) => warn(&[b"unable to scan ip address: ", &r]),
                    Warning::Port(r) => warn(&[b"unable to scan port number: ", &r]),
                }
            }
        }
        let mut appending = false;
        match sys::stat(&c(b"current")) {
            Ok(st) if st.size > 0 && st.mode & 0o100 == 0 => {
                // Not closed cleanly: keep it aside, never processed (§2.5).
                let name = fresh_name(b'u');
                let renamed = retry(self.ctx, b"unable to rename current", &self.name, || {
                    sys::rename(&c(b"current"), &c(&name))
                });
                if renamed.is_none() {
                    self.abandon();
                    return false;
                }
                self.prune(None);
            }
            Ok(st) => {
                appending = true;
                self.size = st.size as u64;
            }
            Err(Errno::NOENT) => {}
            Err(e) => {
                self.abandon();
                warn_errno(&[b"unable to stat current: ", &self.name], e);
                return false;
            }
        }
        self.cur = self.open_current(b"unable to open current");
        if self.cur.is_none() {
            self.abandon();
            return false;
        }
        self.size = self.size.saturating_add(self.buf.len() as u64);
        if self.ctx.verbose {
            let what: &[u8] = if appending { b"append: " } else { b"new: " };
            info(&[what, &self.name, b"/current"]);
        }
        self.deadline = sys::now_mono_ms().saturating_add(self.cfg.time_ms());
        self.to_wd();
        true
    }

    /// Opens `current` for appending, mode exactly 0644 (cwd: the directory); `None` if
    /// that gave up (TERM or HUP while pausing).
    fn open_current(&self, what: &[u8]) -> Option<OwnedFd> {
        let fd = retry(self.ctx, what, &self.name, || {
            sys::open(
                &c(b"current"),
                libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NDELAY,
                0o600,
            )
        })?;
        retry(
            self.ctx,
            b"unable to set mode of current",
            &self.name,
            || sys::fchmod(fd.as_fd(), 0o644),
        )?;
        Some(fd)
    }

    /// Queues bytes for `current`, rotating by the size rule (§6): before each write, a
    /// full `current` rotates; no file grows beyond `s`.
    #[inline]
    pub fn put(&mut self, mut b: &[u8]) {
        let s = self.cfg.size;
        if s == 0 || self.size.saturating_add(b.len() as u64) <= s {
            self.buf.extend_from_slice(b);
            self.size += b.len() as u64;
        } else {
            while !b.is_empty() {
                if self.size >= s {
                    self.rotate();
                }
                // A rotation that gave up leaves `size` at `s`: the rest goes to this
                // `current` all the same (TERM or HUP follows at once).
                let room = usize::try_from(s.saturating_sub(self.size)).unwrap_or(usize::MAX);
                let k = if room == 0 {
                    b.len()
                } else {
                    room.min(b.len())
                };
                let (now, later) = b.split_at(k);
                self.buf.extend_from_slice(now);
                self.size += k as u64;
                b = later;
            }
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// After a line ending in `\n`: rotate once `current` is within `len` of `s` (§6; no-op
    /// when `s < len`, where runit's subtraction wraps).
    #[inline]
    pub fn line_end(&mut self) {
        let s = self.cfg.size;
        if s > 0 && s >= self.ctx.len && self.size >= s - self.ctx.len {
            self.rotate();
        }
    }

    /// Writes the pending output, pausing and retrying while that fails (§11); svlogd
    /// reads nothing meanwhile. Gives up only for a TERM or HUP: then false, and what was
    /// not written stays queued (a HUP writes it to the reopened `current`).
    pub fn flush(&mut self) -> bool {
        let Some(cur) = self.cur.take() else {
            return self.buf.is_empty();
        };
        let mut off = 0;
        let mut done = true;
        while let Some(rest) = self.buf.get(off..).filter(|r| !r.is_empty()) {
            let e = match sys::write(cur.as_fd(), rest) {
                Ok(0) => Errno::IO,
                Ok(n) => {
                    off += n;
                    continue;
                }
                Err(e) => e,
            };
            if e == Errno::NOSPC && self.cfg.nummin < self.cfg.num && self.delete_for_space() {
                continue;
            }
            if !pause(self.ctx, &[b"unable to write to current: ", &self.name], e) {
                done = false;
                break;
            }
        }
        self.cur = Some(cur);
        self.buf.drain(..off.min(self.buf.len()));
        done
    }

    /// Disk full with N < n: deletes the oldest `@` file if more than N exist (§11).
    fn delete_for_space(&mut self) -> bool {
        if !self.to_dir(b"unable to change directory, want remove old logfile") {
            return false;
        }
        let mut done = false;
        match sys::dir_names(c".") {
            Err(e) => warn_errno(
                &[
                    b"unable to read directory, want remove old logfile: ",
                    &self.name,
                ],
                e.errno(),
            ),
            Ok(names) => {
                let old: Vec<&Vec<u8>> = names.iter().filter(|n| is_old_name(n)).collect();
                if old.len() as u64 > self.cfg.nummin {
                    if let Some(oldest) = old.iter().min() {
                        warn(&[b"out of disk space, delete: ", &self.name, b"/", oldest]);
                        match sys::unlink(&c(oldest)) {
                            Ok(()) => done = true,
                            Err(e) => {
                                warn_errno(&[b"unable to unlink oldest logfile: ", &self.name], e)
                            }
                        }
                    }
                }
            }
        }
        self.to_wd();
        done
    }

    /// Removes processor leftovers and the oldest file beyond `n` (§7); cwd: the directory.
    fn prune(&mut self, keep: Option<&[u8]>) {
        let names = match sys::dir_names(c".") {
            Ok(n) => n,
            Err(e) => {
                warn_errno(&[b"unable to read directory: ", &self.name], e.errno());
                return;
            }
        };
        let mut count = 0u64;
        let mut oldest: Option<&Vec<u8>> = None;
        for n in names.iter().filter(|n| is_old_name(n)) {
            if n.last() == Some(&b't') {
                if let Err(e) = sys::unlink(&c(n)) {
                    warn_errno(&[b"unable to unlink processor leftover: ", n], e);
                }
                continue;
            }
            count += 1;
            if Some(n.as_slice()) != keep && oldest.is_none_or(|o| n < o) {
                oldest = Some(n);
            }
        }
        if self.cfg.num > 0 && count > self.cfg.num {
            if let Some(o) = oldest {
                if self.ctx.verbose {
                    info(&[b"delete: ", &self.name, b"/", o]);
                }
                if let Err(e) = sys::unlink(&c(o)) {
                    warn_errno(&[b"unable to unlink oldest logfile: ", &self.name], e);
                }
            }
        }
    }

    /// Whether the `t` rule wants a rotation now; the monotonic deadline, if any.
    pub fn deadline(&self) -> Option<i64> {
        (self.functional() && self.cfg.time > 0).then_some(self.deadline)
    }

    /// Rotates `current` (§6): does nothing when it is empty, except resetting an expired
    /// `t` timer. A rotation that gives up (TERM or HUP while pausing) leaves `current` as
    /// it was, or, past the rename, without a `current` until the reopen.
    pub fn rotate(&mut self) {
        if !self.functional() {
            return;
        }
        if self.cfg.time > 0 {
            let now = sys::now_mono_ms();
            if now >= self.deadline {
                self.deadline = now.saturating_add(self.cfg.time_ms());
            }
        }
        if self.size == 0 {
            return;
        }
        if self.proc.is_some() {
            self.wait_processor();
            if self.proc.is_some() {
                return;
            }
        }
        if !self.flush() {
            return;
        }
        if !self.to_dir(b"unable to change directory, want rotate") {
            return;
        }
        let suffix = if self.cfg.processor.is_some() {
            b'u'
        } else {
            b's'
        };
        let name = fresh_name(suffix);
        if let Some(cur) = self.cur.take() {
            let closed = retry(
                self.ctx,
                b"unable to fsync current logfile",
                &self.name,
                || sys::fsync(cur.as_fd()),
            )
            .and_then(|()| {
                retry(
                    self.ctx,
                    b"unable to set mode of current",
                    &self.name,
                    || sys::fchmod(cur.as_fd(), 0o744),
                )
            });
            if closed.is_none() {
                self.cur = Some(cur);
                self.to_wd();
                return;
            }
            // Kept until the rename: if that gives up, this is still `current`.
            self.cur = Some(cur);
        }
        if self.ctx.verbose {
            let mut b = [0u8; 20];
            info(&[
                b"rename: ",
                &self.name,
                b"/current ",
                &name,
                b" ",
                crate::fmt_u64(self.size, &mut b),
            ]);
        }
        let renamed = retry(self.ctx, b"unable to rename current", &self.name, || {
            sys::rename(&c(b"current"), &c(&name))
        });
        if renamed.is_none() {
            // Still `current`, open again: back to the mode of an open one.
            if let Some(cur) = self.cur.as_ref() {
                let _ = sys::fchmod(cur.as_fd(), 0o644);
            }
            self.to_wd();
            return;
        }
        self.cur = None;
        self.cur = self.open_current(b"unable to create new current");
        self.size = 0;
        self.prune(Some(&name));
        if self.cfg.processor.is_some() {
            self.start_processor(name);
        }
        self.to_wd();
    }

    /// Forks the processor on `@name.u` (§8); cwd: the directory.
    fn start_processor(&mut self, name: [u8; OLD_NAME_LEN]) {
        let Some(cmd) = self.cfg.processor.clone() else {
            return;
        };
        let tname = with_suffix(name, b't');
        let (u, t) = (c(&name), c(&tname));
        let (state, newstate, sh) = (c(b"state"), c(b"newstate"), c(b"/bin/sh"));
        let argv = match sys::Argv::new(&[b"sh".as_slice(), b"-c", &cmd]) {
            Ok(a) => a,
            Err(_) => return,
        };
        let dir = &self.name;
        let verbose = self.ctx.verbose;
        super::err_flush();
        let pid = loop {
            let spawned = spawn(
                || {
                    // runit prints this from the child, racing with the parent's output.
                    if verbose {
                        msg::info(&[b"processing: ", dir, b"/", &name]);
                    }
                    processor_fds(dir, &u, &t, &state, &newstate);
                },
                || sys::execv(&sh, &argv),
                OnFail {
                    kind: msg::Kind::Fatal,
                    code: EXIT_PROCESSOR_SETUP,
                    parts: &[b"unable to run processor: ", dir],
                },
            );
            match spawned {
                Ok(pid) => break pid,
                Err(e) => {
                    if !pause(self.ctx, &[b"unable to fork for processor: ", dir], e) {
                        return;
                    }
                }
            }
        };
        self.proc = Some(Processor { pid, name });
    }

    /// Waits (blocking) until the processor has succeeded, restarting it after failures.
    pub fn wait_processor(&mut self) {
        while let Some(p) = self.proc {
            let Some(ex) = retry(self.ctx, b"error waiting for processor", &self.name, || {
                sys::wait_pid(p.pid)
            }) else {
                return;
            };
            self.processor_exited(ex);
        }
    }

    /// Whether `pid` is this directory's processor.
    pub fn owns(&self, pid: sys::pid_t) -> bool {
        self.proc.is_some_and(|p| p.pid == pid)
    }

    /// The processor exited: restart it on failure, else publish its output (§8).
    /// Quirk: killed by a signal counts as success.
    pub fn processor_exited(&mut self, ex: sys::Exited) {
        let Some(p) = self.proc.take() else {
            return;
        };
        let tname = with_suffix(p.name, b't');
        let sname = with_suffix(p.name, b's');
        if !self.to_dir(b"unable to change directory, want processor") {
            return;
        }
        if ex.exited() && ex.code() != 0 {
            warn(&[b"processor failed, restart: ", &self.name]);
            let _ = sys::unlink(&c(&tname));
            self.start_processor(p.name);
            self.to_wd();
            return;
        }
        let published = retry(self.ctx, b"unable to rename processed", &self.name, || {
            sys::rename(&c(&tname), &c(&sname))
        })
        .and_then(|()| {
            retry(
                self.ctx,
                b"unable to set mode of processed",
                &self.name,
                || sys::chmod(&c(&sname), 0o744),
            )
        });
        if published.is_none() {
            self.to_wd();
            return;
        }
        if sys::unlink(&c(&p.name)).is_err() {
            warn(&[b"unable to unlink: ", &self.name, b"/", &p.name]);
        }
        if retry(self.ctx, b"unable to rename state", &self.name, || {
            sys::rename(&c(b"newstate"), &c(b"state"))
        })
        .is_none()
        {
            self.to_wd();
            return;
        }
        if self.ctx.verbose {
            info(&[b"processed: ", &self.name, b"/", &sname]);
        }
        self.to_wd();
    }

    /// HUP: a running processor is forgotten, never waited for (§10).
    pub fn forget_processor(&mut self) {
        self.proc = None;
    }

    /// Closes the directory cleanly: flush, fsync, `current` 0744, release the lock.
    /// Each step pauses and retries as in runit unless svlogd is giving up (TERM, HUP):
    /// then each is tried once.
    pub fn close(&mut self) {
        if !self.functional() {
            return;
        }
        self.flush();
        if let Some(cur) = self.cur.take() {
            let _ = retry(
                self.ctx,
                b"unable to fsync current logfile",
                &self.name,
                || sys::fsync(cur.as_fd()),
            )
            .and_then(|()| {
                retry(
                    self.ctx,
                    b"unable to set mode of current",
                    &self.name,
                    || sys::fchmod(cur.as_fd(), 0o744),
                )
            });
        }
        self.lock = None;
        self.fd = None;
        self.udp = None;
        if self.ctx.verbose {
            info(&[b"close: ", &self.name]);
        }
    }

    /// Sends `payload` by UDP (§9); failures are noted in `current`.
    pub fn send_udp(&mut self, payload: &[u8], line: &[u8]) {
        if self.udp.is_none() {
            match sys::logio::udp_socket() {
                Ok(fd) => self.udp = Some(fd),
                Err(_) => {
                    self.put(b"warning: no udp socket available: ");
                    self.put(line);
                    return;
                }
            }
        }
        let sent = match self.udp.as_ref() {
            Some(u) => {
                sys::logio::sendto_v4(u.as_fd(), payload, self.cfg.udp_addr, self.cfg.udp_port)
            }
            None => Err(Errno::BADF),
        };
        if sent != Ok(payload.len()) {
            self.put(b"warning: failure sending through udp: ");
            self.put(payload);
        }
    }
}

/// The processor child's descriptors 0, 1, 4, 5 as in svlogd.md §8 (it then runs
/// `/bin/sh -c command`). Only async-signal-safe calls; every name was prepared before the
/// fork.
fn processor_fds(dir: &[u8], u: &CString, t: &CString, state: &CString, newstate: &CString) {
    let fail = |what: &[u8], e: Errno| -> ! {
        msg::child_exit(
            msg::Kind::Fatal,
            EXIT_PROCESSOR_SETUP,
            &[what, b": ", dir],
            Some(e),
        )
    };
    let place = |fd: OwnedFd, to: RawFd| -> sys::Res<()> {
        if std::os::fd::AsRawFd::as_raw_fd(&fd) == to {
            // Already where it belongs: keep it open across the exec.
            let _ = std::os::fd::IntoRawFd::into_raw_fd(fd);
            return Ok(());
        }
        sys::dup2(fd.as_fd(), to)
    };
    let create = libc::O_WRONLY | libc::O_NDELAY | libc::O_TRUNC | libc::O_CREAT;
    let fd = sys::open_inherit(u, libc::O_RDONLY, 0)
        .unwrap_or_else(|e| fail(b"unable to open input for processor", e));
    if let Err(e) = place(fd, 0) {
        fail(b"unable to move filedescriptor for processor", e);
    }
    let fd = sys::open_inherit(t, create, 0o644)
        .unwrap_or_else(|e| fail(b"unable to open output for processor", e));
    if let Err(e) = place(fd, 1) {
        fail(b"unable to move filedescriptor for processor", e);
    }
    let fd = match sys::open_inherit(state, libc::O_RDONLY | libc::O_NDELAY, 0) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => {
            drop(
                sys::open_inherit(state, create, 0o644)
                    .unwrap_or_else(|e| fail(b"unable to create empty state for processor", e)),
            );
            sys::open_inherit(state, libc::O_RDONLY | libc::O_NDELAY, 0)
                .unwrap_or_else(|e| fail(b"unable to open state for processor", e))
        }
        Err(e) => fail(b"unable to open state for processor", e),
    };
    if let Err(e) = place(fd, 4) {
        fail(b"unable to move filedescriptor for processor", e);
    }
    let fd = sys::open_inherit(newstate, create, 0o644)
        .unwrap_or_else(|e| fail(b"unable to open newstate for processor", e));
    if let Err(e) = place(fd, 5) {
        fail(b"unable to move filedescriptor for processor", e);
    }
}

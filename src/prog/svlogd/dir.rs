//! One log directory (svlogd.md §2, §6-§8, §11, §12): opening with its lock and config,
//! batched writing under the size rule, rotation, pruning, the processor, and the
//! never-drop retry loops for a failing or full disk.
//!
//! Output is batched: a directory's bytes collect in `buf` and go out in one `write(2)`
//! per input chunk (or per `FLUSH_AT` bytes), but the size rule is applied byte-exactly
//! as the bytes are queued, so files are cut at the same points as runit's one write per
//! line cuts them.

use super::config::{Config, Selection, Warning};
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

/// `svlogd: pausing: WHAT: DIR: <err>`, then runit's 3-second pause.
fn pause(what: &[u8], dir: &[u8], e: Errno) {
    super::err_flush();
    msg::say(msg::Kind::Pausing, &[what, b": ", dir], Some(e));
    sys::sleep_ms(PAUSE_MS);
}

/// Retries `op` forever, pausing after each failure (svlogd.md §11).
fn retry<T>(what: &[u8], dir: &[u8], mut op: impl FnMut() -> sys::Res<T>) -> T {
    loop {
        match op() {
            Ok(v) => return v,
            Err(e) => pause(what, dir, e),
        }
    }
}

fn c(b: &[u8]) -> CString {
    // Names built here never hold a NUL.
    CString::new(b).unwrap_or_default()
}

/// A fresh `@<tai64n>.<suffix>` name that does not exist yet in the current directory.
fn fresh_name(suffix: u8) -> [u8; OLD_NAME_LEN] {
    loop {
        let mut name = [0u8; OLD_NAME_LEN];
        name[..25].copy_from_slice(&Tai64n::now().label());
        name[25] = b'.';
        name[26] = suffix;
        if sys::lstat(&c(&name)).is_err() {
            return name;
        }
    }
}

fn is_old_name(n: &[u8]) -> bool {
    n.len() == OLD_NAME_LEN && n[0] == b'@'
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

    fn to_wd(&self) {
        let wd = self.ctx.wd;
        loop {
            match sys::fchdir(wd) {
                Ok(()) => return,
                Err(e) => {
                    super::err_flush();
                    msg::say(
                        msg::Kind::Pausing,
                        &[b"unable to change to initial working directory"],
                        Some(e),
                    );
                    sys::sleep_ms(PAUSE_MS);
                }
            }
        }
    }

    fn to_dir(&self, what: &[u8]) {
        let Some(fd) = self.fd.as_ref() else { return };
        retry(what, &self.name, || sys::fchdir(fd.as_fd()));
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
    pub fn open(&mut self, shared: &mut Vec<u8>) -> bool {
        self.cfg = Config::default();
        self.sel.dir = true;
        self.size = 0;
        self.buf.clear();
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
        let text: Option<Vec<u8>> = match sys::read_file(c"config", usize::MAX - 1) {
            Ok(t) => {
                *shared = t.data.clone();
                Some(t.data)
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
                    Some(i) => shared[..=i].to_vec(),
                    None => shared.clone(),
                };
                Some(first)
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
                retry(b"unable to rename current", &self.name, || {
                    sys::rename(&c(b"current"), &c(&name))
                });
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
        self.cur = Some(self.open_current(b"unable to open current"));
        if self.ctx.verbose {
            let what: &[u8] = if appending { b"append: " } else { b"new: " };
            info(&[what, &self.name, b"/current"]);
        }
        self.deadline = sys::now_mono_ms() + (self.cfg.time as i64).saturating_mul(1000);
        self.to_wd();
        true
    }

    /// Opens `current` for appending, mode exactly 0644 (cwd: the directory).
    fn open_current(&self, what: &[u8]) -> OwnedFd {
        let fd = retry(what, &self.name, || {
            sys::open(
                &c(b"current"),
                libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NDELAY,
                0o600,
            )
        });
        retry(b"unable to set mode of current", &self.name, || {
            sys::fchmod(fd.as_fd(), 0o644)
        });
        fd
    }

    /// Queues bytes for `current`, rotating by the size rule (§6): before each write, a
    /// full `current` rotates; no file grows beyond `s`.
    #[inline]
    pub fn put(&mut self, mut b: &[u8]) {
        let s = self.cfg.size;
        if s == 0 || self.size + b.len() as u64 <= s {
            self.buf.extend_from_slice(b);
            self.size += b.len() as u64;
        } else {
            while !b.is_empty() {
                if self.size >= s {
                    self.rotate();
                }
                let k = ((s - self.size) as usize).min(b.len());
                self.buf.extend_from_slice(&b[..k]);
                self.size += k as u64;
                b = &b[k..];
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

    /// Writes the pending output; never gives up (§11).
    pub fn flush(&mut self) {
        let Some(cur) = self.cur.take() else { return };
        let mut off = 0;
        while off < self.buf.len() {
            match sys::write(cur.as_fd(), &self.buf[off..]) {
                Ok(0) => pause(b"unable to write to current", &self.name, Errno::IO),
                Ok(n) => off += n,
                Err(e) => {
                    if e == Errno::NOSPC
                        && self.cfg.nummin < self.cfg.num
                        && self.delete_for_space()
                    {
                        continue;
                    }
                    pause(b"unable to write to current", &self.name, e);
                }
            }
        }
        self.cur = Some(cur);
        self.buf.clear();
    }

    /// Disk full with N < n: deletes the oldest `@` file if more than N exist (§11).
    fn delete_for_space(&mut self) -> bool {
        self.to_dir(b"unable to change directory, want remove old logfile");
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
            if n[OLD_NAME_LEN - 1] == b't' {
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
    /// `t` timer.
    pub fn rotate(&mut self) {
        if !self.functional() {
            return;
        }
        if self.cfg.time > 0 {
            let now = sys::now_mono_ms();
            if now >= self.deadline {
                self.deadline = now + (self.cfg.time as i64).saturating_mul(1000);
            }
        }
        if self.size == 0 {
            return;
        }
        if self.proc.is_some() {
            self.wait_processor();
        }
        self.flush();
        self.to_dir(b"unable to change directory, want rotate");
        let suffix = if self.cfg.processor.is_some() {
            b'u'
        } else {
            b's'
        };
        let name = fresh_name(suffix);
        if let Some(cur) = self.cur.take() {
            retry(b"unable to fsync current logfile", &self.name, || {
                sys::fsync(cur.as_fd())
            });
            retry(b"unable to set mode of current", &self.name, || {
                sys::fchmod(cur.as_fd(), 0o744)
            });
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
        retry(b"unable to rename current", &self.name, || {
            sys::rename(&c(b"current"), &c(&name))
        });
        self.cur = Some(self.open_current(b"unable to create new current"));
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
        let mut tname = name;
        tname[OLD_NAME_LEN - 1] = b't';
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
                Err(e) => pause(b"unable to fork for processor", dir, e),
            }
        };
        self.proc = Some(Processor { pid, name });
    }

    /// Waits (blocking) until the processor has succeeded, restarting it after failures.
    pub fn wait_processor(&mut self) {
        while let Some(p) = self.proc {
            let ex = retry(b"error waiting for processor", &self.name, || {
                sys::wait_pid(p.pid)
            });
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
        let mut tname = p.name;
        tname[OLD_NAME_LEN - 1] = b't';
        let mut sname = p.name;
        sname[OLD_NAME_LEN - 1] = b's';
        self.to_dir(b"unable to change directory, want processor");
        if ex.exited() && ex.code() != 0 {
            warn(&[b"processor failed, restart: ", &self.name]);
            let _ = sys::unlink(&c(&tname));
            self.start_processor(p.name);
            self.to_wd();
            return;
        }
        retry(b"unable to rename processed", &self.name, || {
            sys::rename(&c(&tname), &c(&sname))
        });
        retry(b"unable to set mode of processed", &self.name, || {
            sys::chmod(&c(&sname), 0o744)
        });
        if sys::unlink(&c(&p.name)).is_err() {
            warn(&[b"unable to unlink: ", &self.name, b"/", &p.name]);
        }
        retry(b"unable to rename state", &self.name, || {
            sys::rename(&c(b"newstate"), &c(b"state"))
        });
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
    pub fn close(&mut self) {
        if !self.functional() {
            return;
        }
        self.flush();
        if let Some(cur) = self.cur.take() {
            retry(b"unable to fsync current logfile", &self.name, || {
                sys::fsync(cur.as_fd())
            });
            retry(b"unable to set mode of current", &self.name, || {
                sys::fchmod(cur.as_fd(), 0o744)
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

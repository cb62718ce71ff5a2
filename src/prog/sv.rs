//! `sv`: controls and reports services supervised by runsv (sv.md).
//!
//! Two passes, as runit's sv: act on each service (probe, print status or send bytes), then,
//! for commands that wait, re-check every remaining service until it is done or the wait
//! limit passes. Where runit sleeps 420 ms between checks we poll every few milliseconds
//! (divergence (e)); a failing `./check` is re-run at growing intervals (10 ms doubling to
//! 420 ms) so a slow probe is not hammered. Lines printed and exit codes are runit's.

use crate::control::Command;
use crate::getopt::{Getopt, Opt};
use crate::info::{self, Info, Readiness};
use crate::msg;
use crate::spawn::{spawn, OnFail};
use crate::status::{State, Status};
use crate::svdir::{self, ProbeError, SendError, MAIN};
use crate::sys::{self, AsFd, Errno, OwnedFd};
use crate::tai::Tai64n;
use std::ffi::CStr;

/// Exit codes (sv.md §10).
pub mod exit {
    /// Normal mode: usage error or `fatal:`.
    pub const USAGE: i32 = 100;
    /// Normal mode: the failure count is capped here.
    pub const MAX_FAILURES: i32 = 99;
    /// LSB mode: usage error.
    pub const LSB_USAGE: i32 = 2;
    /// LSB mode: `fatal:`.
    pub const LSB_FATAL: i32 = 151;
    /// LSB `status`: the service is not running.
    pub const LSB_NOT_RUNNING: i32 = 3;
    /// LSB `status`: the status could not be read.
    pub const LSB_UNKNOWN: i32 = 4;
}

/// How often the waiting pass re-reads the status (divergence (e)). 2 ms: half a poll is
/// most of the time from ready to `sv -w start` returning (5 ms gave a 5.5-6.8 ms median in
/// bench/supervise.py; a poll is two small reads, ~500 a second while a wait lasts).
const POLL_MS: u64 = 2;
/// How long a record that runsv has not rewritten after reading our command is still
/// taken for stale (runsv writes it right after the read; past this it cannot).
const STALE_GRACE_MS: i64 = 500;
/// First and last retry interval of a failing `./check`.
const CHECK_FIRST_MS: i64 = 10;
const CHECK_MAX_MS: i64 = 420;

/// What a command does (sv.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// Print the status line.
    Status,
    /// Wait for the wanted state (up, or down when want is down) without sending anything.
    Check,
    /// Send these commands to `control`, in this order.
    Send(&'static [Command]),
}

/// A command word decoded (sv.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    pub what: What,
    /// Wait for the effect even without -v.
    pub always_wait: bool,
    /// Force forms: on timeout print `kill:` and send `k`.
    pub kill: bool,
}

/// Decodes a command word: the long LSB names, then runit's rule that only the first
/// character of any other word counts. `None` is a usage error.
pub fn action(cmd: &[u8], lsb: bool) -> Option<Action> {
    use Command::*;
    let send = |c: &'static [Command], always_wait: bool, kill: bool| Action {
        what: What::Send(c),
        always_wait,
        kill,
    };
    let first = *cmd.first()?;
    Some(match cmd {
        b"status" => Action {
            what: What::Status,
            always_wait: false,
            kill: false,
        },
        b"check" => Action {
            what: What::Check,
            always_wait: true,
            kill: false,
        },
        b"try-restart" => send(&[Term, Cont], true, false),
        b"start" => send(&[Up], true, false),
        b"stop" => send(&[Down], true, false),
        b"shutdown" => send(&[Exit], true, false),
        b"restart" => send(&[Term, Cont, Up], true, false),
        b"reload" => send(&[Hup], true, false),
        b"force-stop" => send(&[Down], true, true),
        b"force-reload" => send(&[Term, Cont], true, true),
        b"force-restart" => send(&[Term, Cont, Up], true, true),
        b"force-shutdown" => send(&[Exit], true, true),
        _ => match first {
            b'u' => send(&[Up], false, false),
            b'd' => send(&[Down], false, false),
            b'o' => send(&[Once], false, false),
            b'p' => send(&[Pause], false, false),
            b'c' => send(&[Cont], false, false),
            b'h' => send(&[Hup], false, false),
            b'a' => send(&[Alarm], false, false),
            b'i' => send(&[Interrupt], false, false),
            b'q' => send(&[Quit], false, false),
            b'1' => send(&[Usr1], false, false),
            b'2' => send(&[Usr2], false, false),
            b'k' => send(&[Kill], false, false),
            b't' => send(&[Term], false, false),
            b'x' | b'e' => send(&[Exit], false, false),
            // Undocumented upstream aliases of the force forms; kept.
            b'D' => send(&[Down], true, true),
            b'T' => send(&[Term, Cont], true, true),
            b'X' | b'E' => send(&[Exit], true, true),
            // In normal mode any other s-word is `status`; LSB mode rejects it.
            b's' if !lsb => Action {
                what: What::Status,
                always_wait: false,
                kill: false,
            },
            _ => return None,
        },
    })
}

/// sv's name rule (sv.md §4): a service name is looked up under `$SVDIR` unless it is
/// empty, starts with `/` or `.`, or ends with `/`; those are paths from the directory sv
/// was started in.
pub fn under_svdir(name: &[u8]) -> bool {
    match (name.first(), name.last()) {
        (Some(&first), Some(&last)) => first != b'/' && first != b'.' && last != b'/',
        _ => false,
    }
}

/// The run-time context: options, output, failure count.
struct Sv {
    /// `$SVDIR` (or the default), opened once (`O_PATH`) relative to the original directory;
    /// the error is kept and reported for each name that needs it, as runit's chdir would.
    svdir_fd: Result<OwnedFd, Errno>,
    start: Tai64n,
    rc: i32,
    /// LSB `status` outcome (0 running, 3 not, 4 unknown; 1 for the fail cases).
    lsb_status: Option<i32>,
    cwd: OwnedFd,
    out: Vec<u8>,
}

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let argv0 = args.first().cloned().unwrap_or_else(|| b"sv".to_vec());
    let prog = crate::basename(&argv0).to_vec();
    let lsb = prog != b"sv";
    let usage_code = if lsb { exit::LSB_USAGE } else { exit::USAGE };
    let fatal_code = if lsb { exit::LSB_FATAL } else { exit::USAGE };
    // sv has no message prefix: out of memory is `fatal: out of memory.`.
    sys::alloc::set_oom_exit(fatal_code);
    let usage = || {
        if lsb {
            msg::usage(&prog, b" [-w sec] command");
        } else {
            msg::usage(b"sv", b" [-v] [-w sec] command service ...");
        }
        usage_code
    };

    let mut verbose = false;
    let mut wait: f64 = std::env::var_os("SVWAIT")
        .map(|v| {
            use std::os::unix::ffi::OsStrExt;
            crate::scan_ulong(v.as_bytes()).0 as f64
        })
        .unwrap_or(7.0);
    let mut g = Getopt::new(&args, "w:vV", &prog);
    for o in g.by_ref() {
        match o {
            Opt::Flag(b'v', _) => verbose = true,
            // runit: -w implies -v.
            Opt::Flag(b'w', Some(s)) => {
                wait = crate::scan_ulong(s).0 as f64;
                verbose = true;
            }
            Opt::Flag(b'V', _) => {
                msg::err(&[msg::VERSION_ID]);
                return usage();
            }
            _ => return usage(),
        }
    }
    let rest = g.rest();
    let (cmd, names): (&[u8], Vec<Vec<u8>>) = if lsb {
        match rest.first() {
            Some(c) => (c, vec![prog.clone()]),
            None => return usage(),
        }
    } else {
        match rest.split_first() {
            Some((c, n)) if !n.is_empty() => (c, n.to_vec()),
            _ => return usage(),
        }
    };
    let act = match action(cmd, lsb) {
        Some(a) => a,
        None => return usage(),
    };

    let svdir = svdir();
    let start = Tai64n::now();
    let cwd = match sys::open(c".", libc::O_RDONLY | libc::O_NDELAY, 0) {
        Ok(fd) => fd,
        Err(e) => msg::fatal_errno(fatal_code, &[b"unable to open current directory"], e),
    };
    // A NUL cannot come from the environment; an empty name fails every chdir instead.
    let svdir = sys::cstr(&svdir).unwrap_or_default();
    let svdir_fd = sys::open(&svdir, libc::O_PATH | libc::O_DIRECTORY, 0);
    let mut sv = Sv {
        svdir_fd,
        start,
        rc: 0,
        lsb_status: None,
        cwd,
        out: Vec::with_capacity(256),
    };

    // Phase 1 (§5).
    let mut pending: Vec<(Vec<u8>, Option<StatusId>)> = Vec::new();
    for name in &names {
        match sv.resolve(name) {
            Resolved::Fatal => return fatal_code,
            Resolved::Failed => {}
            Resolved::In => match act.what {
                What::Status => sv.status(name),
                What::Check => pending.push((name.clone(), None)),
                What::Send(cmds) => {
                    if let Some(before) = sv.send(name, cmds) {
                        pending.push((name.clone(), before));
                    }
                }
            },
        }
    }

    // Phase 2 (§6).
    let status = act.what == What::Status;
    if (verbose || act.always_wait) && !status && !sv.wait_pass(&pending, &act, wait) {
        return fatal_code;
    }

    sv.flush();
    if lsb && status {
        if let Some(code) = sv.lsb_status {
            return code;
        }
    }
    sv.rc.min(exit::MAX_FAILURES)
}

/// The service directory sv uses: `$SVDIR`, else [`default_svdir`] (runit-exporter and
/// svjson take the same, so that all three look at the same services).
pub fn svdir() -> Vec<u8> {
    match std::env::var_os("SVDIR") {
        Some(v) => {
            use std::os::unix::ffi::OsStringExt;
            v.into_vec()
        }
        None => default_svdir(),
    }
}

/// README decision 1: the first of `/service/`, `/etc/service/`, `/var/service/` that is a
/// directory, else `/service/`.
fn default_svdir() -> Vec<u8> {
    for d in [&b"/service/"[..], b"/etc/service/", b"/var/service/"] {
        if let Ok(c) = sys::cstr(d) {
            if sys::stat(&c).map(|s| s.is_dir()).unwrap_or(false) {
                return d.to_vec();
            }
        }
    }
    b"/service/".to_vec()
}

/// Identity of one version of `supervise/status`: runsv replaces the file by rename at every
/// update, so a new (inode, mtime) means runsv has acted on what we sent.
type StatusId = (u64, i64, i64);

fn status_id() -> Option<StatusId> {
    sys::stat(MAIN.status)
        .ok()
        .map(|s| (s.ino, s.mtime, s.mtime_nsec))
}

/// Outcome of [`Sv::resolve`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resolved {
    /// The cwd is the service directory.
    In,
    /// `fail:` printed, the name is dropped.
    Failed,
    /// `fatal:` printed, sv exits.
    Fatal,
}

/// Per-name state of the waiting pass.
struct Waiting {
    name: Vec<u8>,
    /// The status version seen before sending bytes that always make runsv rewrite it
    /// (u d o x p c): until it changes, runsv has not acted on them and the record is stale.
    before: Option<StatusId>,
    /// When the control FIFO was first seen empty (runsv has read what we sent) while the
    /// record was still the old one.
    drained_at: Option<i64>,
    /// When a failing `./check` may run again, and the interval after that.
    check_at: i64,
    check_every: i64,
}

impl Sv {
    fn flush(&mut self) {
        if !self.out.is_empty() {
            let _ = sys::write_all(sys::stdout(), &self.out);
            self.out.clear();
        }
    }

    fn put(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.out.extend_from_slice(p);
        }
    }

    /// Puts a whole stdout line out at once.
    fn line(&mut self, parts: &[&[u8]]) {
        self.put(parts);
        self.out.push(b'\n');
        self.flush();
    }

    /// Changes to the service directory (§4); prints `fail:` on error, or `fatal:` when the
    /// original directory cannot be re-entered.
    ///
    /// Each name starts from its base explicitly: `$SVDIR` through a descriptor opened once
    /// (runit chdirs to the `$SVDIR` path for every name), the original directory only for a
    /// name relative to it. Where runit returns to the original directory after every
    /// service, we do so before a name that needs it: the same directories, fewer calls.
    fn resolve(&mut self, name: &[u8]) -> Resolved {
        let base = if under_svdir(name) {
            match &self.svdir_fd {
                Ok(fd) => sys::fchdir(fd.as_fd()),
                Err(e) => Err(*e),
            }
        } else if let Err(e) = sys::fchdir(self.cwd.as_fd()) {
            self.flush();
            msg::say(
                msg::Kind::Fatal,
                &[b"unable to change to original directory"],
                Some(e),
            );
            return Resolved::Fatal;
        } else {
            Ok(())
        };
        match base.and_then(|()| sys::chdir(&sys::cstr(name)?)) {
            Ok(()) => Resolved::In,
            Err(e) => {
                self.rc += 1;
                self.fail_lsb(1);
                self.line(&[
                    b"fail: ",
                    name,
                    b": unable to change to service directory: ",
                    e.text().as_bytes(),
                ]);
                Resolved::Failed
            }
        }
    }

    fn fail_lsb(&mut self, code: i32) {
        if self.lsb_status.is_none() {
            self.lsb_status = Some(code);
        }
    }

    /// Puts the message for a failed probe (§5 step 1), without the line end. `exiting`:
    /// the command is `x…`, so a vanished runsv is what was asked for.
    fn probe_error(&mut self, name: &[u8], e: ProbeError, exiting: bool) {
        let (what, err): (&[u8], &str) = match e {
            ProbeError::NotRunning if exiting => {
                self.put(&[b"ok: ", name, b": runsv not running"]);
                return;
            }
            ProbeError::NotRunning => {
                self.put(&[b"fail: ", name, b": runsv not running"]);
                self.fail_lsb(1);
                self.rc += 1;
                return;
            }
            ProbeError::Ok(e) => (b"open supervise/ok", e.text()),
            ProbeError::StatusOpen(e) => (b"open supervise/status", e.text()),
            ProbeError::StatusRead(e) => (b"read supervise/status", e.text()),
            ProbeError::BadFormat => (b"read supervise/status", "bad format"),
        };
        self.put(&[
            b"warning: ",
            name,
            b": unable to ",
            what,
            b": ",
            err.as_bytes(),
        ]);
        self.fail_lsb(exit::LSB_UNKNOWN);
        self.rc += 1;
    }

    /// Probes the service in the cwd; on failure prints the probe's line (§5 step 1).
    fn probe_or_report(&mut self, name: &[u8], exiting: bool) -> Option<Status> {
        match svdir::probe(&MAIN) {
            Ok(st) => Some(st),
            Err(e) => {
                self.probe_error(name, e, exiting);
                self.out.push(b'\n');
                self.flush();
                None
            }
        }
    }

    /// Puts the status line of a record (§9) without the line end. Returns false (and puts
    /// nothing) if `down` could not be stat'ed.
    fn status_line(&mut self, name: &[u8], st: &Status, warn_name: &[u8]) -> bool {
        let down = match sys::stat(svdir::DOWN) {
            Ok(_) => true,
            Err(Errno::NOENT) => false,
            Err(e) => {
                self.flush();
                msg::warn_errno(&[b"unable to stat ", warn_name, b"/down"], e);
                return false;
            }
        };
        // runit prints no state word for a state byte it does not know.
        if let Some(state) = st.state() {
            self.put(&[state.word(), b": "]);
        }
        self.put(&[name, b": "]);
        let mut b = [0u8; 20];
        if st.state != 0 {
            let p = crate::fmt_u64(u64::from(st.pid), &mut b);
            self.put(&[b"(pid ", p, b") "]);
        }
        let now = Tai64n::now();
        let age = now.secs.saturating_sub(st.when.secs);
        let a = crate::fmt_u64(if now.secs < st.when.secs { 0 } else { age }, &mut b);
        self.put(&[a, b"s"]);
        let pid = st.pid != 0;
        if pid && down {
            self.put(&[b", normally down"]);
        }
        if !pid && !down {
            self.put(&[b", normally up"]);
        }
        if pid && st.paused {
            self.put(&[b", paused"]);
        }
        if !pid && st.want == b'u' {
            self.put(&[b", want up"]);
        }
        if pid && st.want == b'd' {
            self.put(&[b", want down"]);
        }
        if pid && st.term {
            self.put(&[b", got TERM"]);
        }
        // Beyond runit, only for a run with a readiness protocol (docs/readiness.md):
        // every other line stays runit's, byte for byte.
        if let Some(i) = info_can_matter(st).then(|| run_info(st)).flatten() {
            match i.readiness {
                Readiness::Off => {}
                Readiness::Waiting => self.put(&[b", not ready"]),
                Readiness::Ready => {
                    let since = i.ready_since.map_or(0, |r| now.secs.saturating_sub(r.secs));
                    let mut b = [0u8; 20];
                    let n = crate::fmt_u64(since, &mut b);
                    self.put(&[b", ready ", n, b"s"]);
                }
                Readiness::Reloading => self.put(&[b", reloading"]),
                Readiness::Stopping => self.put(&[b", stopping"]),
            }
            if i.readiness != Readiness::Off {
                if let Some(m) = i.mainpid {
                    let mut b = [0u8; 20];
                    let n = crate::fmt_u64(u64::from(m), &mut b);
                    self.put(&[b", mainpid ", n]);
                }
                if !i.status().is_empty() {
                    self.put(&[b", status: ", i.status()]);
                }
            }
            match i.gave_up {
                Some(info::GaveUp::RestartLimit) => self.put(&[b", gave up: restart-limit"]),
                Some(info::GaveUp::Finish125) => self.put(&[b", gave up: finish exited 125"]),
                None => {}
            }
        }
        true
    }

    /// The `status` command for one service (§9), cwd = the service directory.
    fn status(&mut self, name: &[u8]) {
        let st = match svdir::probe(&MAIN) {
            Ok(st) => st,
            Err(e) => {
                self.probe_error(name, e, false);
                self.out.push(b'\n');
                self.flush();
                return;
            }
        };
        // LSB status reflects the main service only (2.3.0).
        if self.status_line(name, &st, name) {
            self.fail_lsb(if st.pid != 0 {
                0
            } else {
                exit::LSB_NOT_RUNNING
            });
        } else {
            self.fail_lsb(exit::LSB_UNKNOWN);
        }
        match sys::chdir(svdir::LOG) {
            Err(Errno::NOENT) => {}
            Err(e) => {
                self.rc += 1;
                self.put(&[
                    b"; warning: ",
                    name,
                    b"/log: unable to change directory: ",
                    e.text().as_bytes(),
                ]);
            }
            Ok(()) => {
                let mut logname = name.to_vec();
                logname.extend_from_slice(b"/log");
                match svdir::probe(&MAIN) {
                    Ok(lst) => {
                        self.put(&[b"; "]);
                        self.status_line(b"log", &lst, &logname);
                    }
                    Err(ProbeError::NotRunning) => {
                        self.rc += 1;
                        self.put(&[b"; fail: ", &logname, b": runsv not running"]);
                    }
                    Err(e) => {
                        // runit quirk (sv.md §9): after the warning, a status line named `log`
                        // printed from the main service's record and the log's `down`.
                        let saved = self.lsb_status;
                        self.put(&[b"; "]);
                        self.probe_error(&logname, e, false);
                        self.lsb_status = saved;
                        self.out.push(b'\n');
                        self.status_line(b"log", &st, &logname);
                    }
                }
            }
        }
        self.out.push(b'\n');
        // Status lines are batched across services (one write per 4 KiB, not per line);
        // anything written to stderr flushes them first, so the order on a terminal holds.
        if self.out.len() >= 4096 {
            self.flush();
        }
    }

    /// Phase 1 for a command that sends bytes (§5 step 3); `Some` if the name stays, with the
    /// status version to see replaced before the record is trusted.
    fn send(&mut self, name: &[u8], cmds: &[Command]) -> Option<Option<StatusId>> {
        let first = cmds.first().copied();
        let exiting = first == Some(Command::Exit);
        let st = self.probe_or_report(name, exiting)?;
        // Already wanted: nothing to send, except `d` to a service started with `o`.
        if let Some(f) = first {
            if st.want == f.byte() && (f != Command::Down || st.term) {
                return Some(None);
            }
        }
        let mut buf = [0u8; 4];
        let n = cmds.len().min(buf.len());
        for (b, c) in buf.iter_mut().zip(cmds) {
            *b = c.byte();
        }
        let updates = cmds.iter().any(|c| c.rewrites_status());
        let before = if updates { status_id() } else { None };
        match svdir::send(MAIN.control, &buf[..n]) {
            Ok(()) => Some(before),
            Err(e) => {
                match e {
                    SendError::NotRunning if exiting => {
                        self.line(&[b"ok: ", name, b": runsv not running"]);
                        return None;
                    }
                    SendError::NotRunning => self.line(&[b"fail: ", name, b": runsv not running"]),
                    SendError::Open(e) => self.line(&[
                        b"warning: ",
                        name,
                        b": unable to open supervise/control: ",
                        e.text().as_bytes(),
                    ]),
                    SendError::Write(e) => self.line(&[
                        b"warning: ",
                        name,
                        b": unable to write to supervise/control: ",
                        e.text().as_bytes(),
                    ]),
                    SendError::Short => self.line(&[
                        b"warning: ",
                        name,
                        b": unable to write to supervise/control: ",
                        Errno(0).text().as_bytes(),
                    ]),
                }
                self.rc += 1;
                None
            }
        }
    }

    /// Phase 2 (§6): false after a `fatal:`.
    fn wait_pass(
        &mut self,
        names: &[(Vec<u8>, Option<StatusId>)],
        act: &Action,
        wait: f64,
    ) -> bool {
        let mut left: Vec<Waiting> = names
            .iter()
            .map(|(n, before)| Waiting {
                name: n.clone(),
                before: *before,
                drained_at: None,
                check_at: 0,
                check_every: CHECK_FIRST_MS,
            })
            .collect();
        let t0 = sys::now_mono_ms();
        while !left.is_empty() {
            let now_ms = sys::now_mono_ms();
            let elapsed = (now_ms - t0) as f64 / 1000.0;
            let last_chance = elapsed > wait;
            let mut i = 0;
            while i < left.len() {
                let resolved = self.resolve(&left[i].name);
                if resolved == Resolved::Fatal {
                    return false;
                }
                let done = if resolved == Resolved::In {
                    let name = left[i].name.clone();
                    match self.check(&name, act.what, &mut left[i], now_ms, last_chance) {
                        Some(true) => true,
                        None => true, // dropped: its message was printed
                        Some(false) if last_chance => {
                            self.put(&[if act.kill { b"kill: " } else { b"timeout: " }]);
                            match svdir::probe(&MAIN) {
                                Ok(st) => {
                                    if self.status_line(&name, &st, &name) {
                                        self.rc += 1;
                                    }
                                }
                                Err(e) => {
                                    self.probe_error(&name, e, false);
                                    self.out.push(b'\n');
                                }
                            }
                            self.out.push(b'\n');
                            self.flush();
                            if act.kill {
                                let _ = svdir::send(MAIN.control, &[Command::Kill.byte()]);
                            }
                            true
                        }
                        Some(false) => false,
                    }
                } else {
                    true
                };
                if done {
                    left.remove(i);
                } else {
                    i += 1;
                }
            }
            if !left.is_empty() {
                sys::sleep_ms(POLL_MS);
            }
        }
        true
    }

    /// Whether the record read now may still be the one from before our command: runsv
    /// has not rewritten `status` since. It is trusted anyway (as runit trusts every record)
    /// once runsv has read what we sent and [`STALE_GRACE_MS`] passed without a rewrite
    /// (runsv cannot write: `stat.new` blocked, disk full), or at the last check before the
    /// timeout (runsv stopped and never reads): waiting for runsv to act must not change a
    /// line or an exit code.
    fn stale(&self, w: &mut Waiting, id_now: Option<StatusId>, now_ms: i64, last: bool) -> bool {
        let Some(before) = w.before else { return false };
        if id_now != Some(before) || last {
            w.before = None;
            return false;
        }
        let drained = svdir::control_pending(MAIN.control) == Ok(0);
        if !drained {
            w.drained_at = None;
            return true;
        }
        let since = *w.drained_at.get_or_insert(now_ms);
        if now_ms - since >= STALE_GRACE_MS {
            w.before = None;
            return false;
        }
        true
    }

    /// The check of §7 for one service (cwd = its directory): `Some(true)` done (and `ok:`
    /// printed), `Some(false)` not yet, `None` dropped. `last`: the wait limit has passed.
    fn check(
        &mut self,
        name: &[u8],
        what: What,
        w: &mut Waiting,
        now_ms: i64,
        last: bool,
    ) -> Option<bool> {
        let cmds: &[Command] = match what {
            What::Send(c) => c,
            What::Check | What::Status => &[],
        };
        let exiting = cmds.first() == Some(&Command::Exit);
        // The version is taken before the read, so the record read is at least that new.
        let id_now = if w.before.is_some() {
            status_id()
        } else {
            None
        };
        let st = self.probe_or_report(name, exiting)?;
        if self.stale(w, id_now, now_ms, last) {
            return Some(false);
        }
        // `check` waits for what the record says is wanted.
        let wanted = [if st.want == b'd' {
            Command::Down
        } else {
            Command::Up
        }];
        let cmds: &[Command] = if what == What::Check { &wanted } else { cmds };
        for &c in cmds {
            if !self.reached(c, &st, name, w, now_ms) {
                return Some(false);
            }
        }
        self.put(&[b"ok: "]);
        self.status_line(name, &st, name);
        self.out.push(b'\n');
        self.flush();
        Some(true)
    }

    /// Whether the record shows the effect of `c` (sv.md §7).
    fn reached(
        &mut self,
        c: Command,
        st: &Status,
        name: &[u8],
        w: &mut Waiting,
        now_ms: i64,
    ) -> bool {
        let pid = st.pid != 0;
        let since_start = st.when.secs >= self.start.secs;
        // A restart (`t`, `k`) is done by a run that began after sv did, compared to the
        // microsecond both stamps carry: runit compares seconds, so a run that started in
        // sv's first second passes for the restarted one. The record's version does not
        // rule that out (`stale`): runsv also rewrites `status` for events of its own (the
        // run becoming ready just before sv began), and such a rewrite can land between
        // sv's send and runsv's reading of it.
        let restarted = st.when >= self.start;
        match c {
            // Done only when runsv is gone (the probe reports it).
            Command::Exit => false,
            Command::Up => {
                pid && st.state() == Some(State::Run)
                    && is_ready(st)
                    && self.run_check(name, w, now_ms)
            }
            Command::Down => !pid && st.state() == Some(State::Down),
            Command::Term | Command::Kill => {
                (!pid && st.want == b'd')
                    || (restarted
                        && pid
                        && !st.term
                        && is_ready(st)
                        && self.run_check(name, w, now_ms))
            }
            // Not "down since before we started", and not running with want up.
            Command::Once => (pid || since_start) && (!pid || st.want == b'd'),
            Command::Pause => !pid || st.paused,
            Command::Cont => !pid || !st.paused,
            Command::Hup
            | Command::Alarm
            | Command::Interrupt
            | Command::Quit
            | Command::Usr1
            | Command::Usr2 => true,
        }
    }

    /// Runs `./check` (§8), honouring the retry interval of a failing check.
    fn run_check(&mut self, name: &[u8], w: &mut Waiting, now_ms: i64) -> bool {
        if now_ms < w.check_at {
            return false;
        }
        let pass = run_check_script(name);
        if !pass {
            w.check_at = now_ms + w.check_every;
            w.check_every = (w.check_every * 2).min(CHECK_MAX_MS);
        }
        pass
    }
}

/// Whether `supervise/info` can add to the status line of the record `st`: a run whose
/// service directory configures readiness (the file `notification-fd` or `notify-socket`),
/// or a service held down, which may have been given up on (runsv sets want down when it
/// gives up, and clears the mark on `u` and on `o`). Anything else prints runit's line
/// whatever `info` says, so it is not read: a regular file's open, read and close is most
/// of what a service costs `sv status` (bench/supervise.py, 1000 services), while a file
/// that does not exist is one cheap lookup.
fn info_can_matter(st: &Status) -> bool {
    match st.state() {
        Some(State::Run) => {
            sys::stat(svdir::NOTIFICATION_FD).is_ok() || sys::stat(svdir::NOTIFY_SOCKET).is_ok()
        }
        Some(State::Down) => st.want == b'd',
        Some(State::Finish) | None => false,
    }
}

/// The `supervise/info` of the run the record shows (cwd: the service directory), if
/// runsv wrote one for it: the pid ties them (src/info.rs).
fn run_info(st: &Status) -> Option<Info> {
    let mut buf = [0u8; info::MAX_LEN];
    let n = sys::read_once(MAIN.info, &mut buf).ok()?;
    let i = Info::parse(buf.get(..n).unwrap_or(&[]));
    i.matches(st.pid, st.when).then_some(i)
}

/// Whether the run the record shows is ready: always, unless it has a readiness protocol
/// and has not said so yet (docs/readiness.md). A service runit's runsv supervises has no
/// `info` (or a leftover one): ready when started, as with runit.
fn is_ready(st: &Status) -> bool {
    match run_info(st).map(|i| i.readiness) {
        None => !info_ahead_of(st),
        Some(Readiness::Off) | Some(Readiness::Ready) => true,
        Some(Readiness::Waiting) | Some(Readiness::Reloading) | Some(Readiness::Stopping) => false,
    }
}

/// Whether an `info` that does not name the record's pid is newer than the record `st`
/// (read before it), rather than a leftover. runsv writes `info` before `status`, so
/// between sv's two reads a run can end (a run that dies at once, over and over) and sv
/// finds the record of the dead run with the `info` of what came after: that record is
/// stale, not a run without readiness, and the next poll reads a matching pair. Newer
/// means: the record changed since it was read, or `info` is no older than `status`. A
/// leftover (the directory is supervised by runit's runsv now, or runsv could not write
/// `info`) is older than the record, and runit's rule applies.
fn info_ahead_of(st: &Status) -> bool {
    let Ok(info) = sys::stat(MAIN.info) else {
        return false;
    };
    if !crate::status::read(MAIN.status).is_ok_and(|now| now == *st) {
        return true;
    }
    sys::stat(MAIN.status).is_ok_and(|s| (info.mtime, info.mtime_nsec) >= (s.mtime, s.mtime_nsec))
}

/// Forks `./check` with stdout closed and waits for it (sv.md §8).
fn run_check_script(name: &[u8]) -> bool {
    match sys::stat(svdir::CHECK) {
        Ok(_) => {}
        Err(Errno::NOENT) => return true,
        Err(e) => {
            msg::warn_errno(&[b"unable to stat ", name, b"/check"], e);
            return false;
        }
    }
    let dot: &CStr = c"./check";
    let spawned = spawn(
        || {
            let _ = sys::close_raw(1);
        },
        || sys::execv_cstrs(svdir::CHECK, &[dot]),
        // runit: an unrunnable check counts as passing.
        OnFail {
            kind: msg::Kind::Warning,
            code: 0,
            parts: &[b"unable to run ", name, b"/check"],
        },
    );
    let pid = match spawned {
        Ok(pid) => pid,
        Err(e) => {
            msg::warn_errno(&[b"unable to fork for ", name, b"/check"], e);
            return false;
        }
    };
    match sys::wait_pid(pid) {
        // runit reads the high byte of the status: a check killed by a signal passes.
        Ok(ex) => ex.high_byte() == 0,
        Err(e) => {
            msg::warn_errno(&[b"unable to wait for child ", name, b"/check"], e);
            false
        }
    }
}

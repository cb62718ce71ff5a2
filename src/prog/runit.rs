#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `runit`: process no 1. Runs `/etc/runit/1`, `2` (restarted when it crashes or exits
//! 111) and `3`, reaps every orphan, then kills everything and reboots, powers off or halts
//! (spec runit.md, strings formats.md §9).
//!
//! PID 1 must never die: every failure is retried after a pause, nothing panics (the lints
//! above), and closed fds 0-2 or a missing `/dev/console` are survived (the binary also
//! skips Rust's start-up code, which aborts when fds 0-2 are closed and `/dev/null` is
//! missing: see src/bin/runit.rs).
//!
//! Beyond runit 2.3.0 (docs/runit.md):
//!
//! - **Debian's layout** (src/initctl.rs): the stop and reboot flags are
//!   `/run/runit.{stopit,reboot}` when `/run/runit.stopit` exists, else upstream's
//!   `/etc/runit/{stopit,reboot}`; decided at each use. With Debian's layout SIGALRM is
//!   forwarded to stage 2 (Debian's runsvdir rescans on it) and SIGPWR shuts down.
//! - **SIGPWR**: with an owner-executable `/etc/runit/pwrfail` it is run (like
//!   `ctrlaltdel`) and the system shuts down; without one, Debian's rule under Debian's
//!   layout (shut down), upstream's otherwise (ignored). A PWR shutdown always powers off.
//! - **Container mode**: when the start-up `reboot(RB_DISABLE_CAD)` is refused (EPERM: no
//!   CAP_SYS_BOOT; EINVAL: a PID namespace other than the initial one), runit is the init
//!   of a container. Then TERM, INT and PWR start the orderly stop (stage 2 stopped as by
//!   `runit-init 0`, stage 3, then every process left gets TERM, children first, and is
//!   waited for), all within the container-wide `stop-timeout` (default 7 s), after which
//!   everything left gets KILL; runit then exits with the code in `/run/runit.exitcode`
//!   (an `essential` service given up on; removed at start), `/etc/runit/exitcode` (if
//!   that file exists) or stage 3's own exit code, instead of calling reboot(2)
//!   (`initctl::container_exit_code`).

use crate::initctl::{self, Layout};
use crate::msg::{self, Kind};
use crate::spawn::{spawn, OnFail};
use crate::sys::{self, init, signals, AsFd, Errno, Exited, OwnedFd};
use std::ffi::CStr;

/// Exit code when not run as process no 1 (the only way runit exits outside a container).
pub const EXIT_NOT_PID1: i32 = 111;
/// Exit code of a stage child whose exec failed (runit's own choice: 0).
const EXIT_CHILD_EXEC_FAILED: i32 = 0;
/// Container mode: the exit code when the stop deadline ran out before stage 3 could run
/// (what a process killed by SIGKILL reports, and what Docker shows after its own KILL).
const EXIT_DEADLINE: i32 = 128 + libc::SIGKILL;

const CONSOLE: &CStr = c"/dev/console";
const CTRLALTDEL: &CStr = c"/etc/runit/ctrlaltdel";
/// Run on SIGPWR in stage 2 when owner-executable (upstream's unreleased PR #51).
const PWRFAIL: &CStr = c"/etc/runit/pwrfail";
const NOSYNC: &CStr = c"/etc/runit/nosync";

/// The signals runit keeps blocked for its whole life (runit.md §2, plus PWR); the caught
/// ones are only let through while it waits in ppoll.
const BLOCKED: [i32; 8] = [
    libc::SIGALRM,
    libc::SIGCHLD,
    libc::SIGCONT,
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGPIPE,
    libc::SIGPWR,
    libc::SIGTERM,
];
/// Caught in every mode. ALRM and PWR are caught even where they are then ignored (an
/// uncaught signal is ignored by the kernel for PID 1 anyway): whether they act is decided
/// when they arrive, by the layout and `pwrfail` of that moment.
const CAUGHT: [i32; 5] = [
    libc::SIGCHLD,
    libc::SIGCONT,
    libc::SIGINT,
    libc::SIGALRM,
    libc::SIGPWR,
];
const CAUGHT_CONTAINER: [i32; 6] = [
    libc::SIGCHLD,
    libc::SIGCONT,
    libc::SIGINT,
    libc::SIGALRM,
    libc::SIGPWR,
    libc::SIGTERM,
];

/// Pause before retrying a failed fork or self-pipe (runit: 5 s).
const PAUSE_MS: u64 = 5000;
/// The console message wait is msg's: a full console delays a line by up to 0.5 s.
/// The idle wake-up of the stage loop (runit: 14 s).
const IDLE_MS: i64 = 14_000;
/// How long stage 2 gets to exit after SIGTERM before SIGKILL (runit: 5 polls, 1 s apart).
const STOP_GRACE_MS: i64 = 5000;
/// Container mode, after stage 3: how often new orphans are looked for.
const ORPHAN_TICK_MS: i64 = 100;
/// Container mode: how long killed processes get to be reaped before runit exits (a
/// process stuck in D state must not hang the container's end).
const REAP_AFTER_KILL_MS: i64 = 2000;

/// The three stages (runit.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    One,
    Two,
    Three,
}

impl Stage {
    fn path(self) -> &'static CStr {
        match self {
            Stage::One => c"/etc/runit/1",
            Stage::Two => c"/etc/runit/2",
            Stage::Three => c"/etc/runit/3",
        }
    }
}

/// How a stage ended.
enum End {
    /// The stage process exited (or crashed); `stop` says a shutdown request came with it.
    Exited(Exited, bool),
    /// Stage 2 was stopped on request (stopit + CONT, ctrl-alt-del, PWR, container TERM).
    Stopped,
}

/// What the signals of one wake-up ask for, given the mode and the files of the moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Asks {
    /// The orderly stop (container mode: TERM, INT or PWR).
    stop: bool,
    /// CONT: shut down if `stopit` is owner-executable.
    cont: bool,
    /// INT: ctrl-alt-del (`ctrlaltdel` if owner-executable).
    int: bool,
    /// PWR acts: it shuts down (and powers off).
    pwr: bool,
    /// ALRM is forwarded to stage 2.
    alrm: bool,
}

/// The signal rules (docs/runit.md "Signals"), pure: `got` is a [`signals::drain`] set;
/// `pwrfail` whether `/etc/runit/pwrfail` is owner-executable now.
fn asks(got: u64, container: bool, layout: Layout, pwrfail: bool) -> Asks {
    let has = |s| signals::has(got, s);
    let debian = layout == Layout::Debian;
    Asks {
        stop: container && (has(libc::SIGTERM) || has(libc::SIGINT) || has(libc::SIGPWR)),
        cont: has(libc::SIGCONT),
        int: has(libc::SIGINT),
        pwr: has(libc::SIGPWR) && (container || pwrfail || debian),
        // upstream's runsvdir dies of ALRM: only Debian's layout implies a runsvdir that
        // wants it
        alrm: has(libc::SIGALRM) && debian,
    }
}

struct Init {
    selfpipe: OwnedFd,
    container: bool,
    /// Signals drained while pausing, handed to the next [`Init::wait_event`].
    pending: u64,
    /// A stop was asked for before stage 2 ran (container TERM/INT/PWR, an acting PWR).
    stop_pending: bool,
    /// Container mode: the first stop signal armed the deadline (once).
    armed: bool,
    /// Container mode: when everything left gets KILL (monotonic ms); `None`: no deadline.
    deadline: Option<i64>,
    /// The deadline ran out and everything was sent KILL.
    expired: bool,
    /// A PWR shutdown: power off whatever the reboot flag says (Debian's rule).
    pwr: bool,
    /// The flag layout of the stop in progress (for the reboot flag after stage 3).
    layout: Option<Layout>,
}

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let _ = args; // runit ignores its arguments
    msg::set_prefix(&[b"- runit: "]);
    // Exits only when not PID 1; as PID 1 the allocator pauses and retries (house rule 12).
    sys::alloc::set_oom_exit(EXIT_NOT_PID1);
    if sys::getpid() != 1 {
        msg::say(Kind::Fatal, &[b"must be run as process no 1."], None);
        return EXIT_NOT_PID1;
    }
    init::fill_std_fds();
    let _ = sys::setsid();
    let _ = signals::block(&BLOCKED);
    for sig in CAUGHT {
        let _ = signals::catch(sig);
    }
    console_onto(&[0, 1, 2]);
    let selfpipe = loop {
        match signals::selfpipe() {
            Ok(fd) => break fd,
            Err(e) => {
                msg::say(
                    Kind::Fatal,
                    &[b"unable to create selfpipe, pausing"],
                    Some(e),
                );
                sys::sleep_ms(PAUSE_MS);
            }
        }
    };
    let container = matches!(
        init::reboot(init::RB_DISABLE_CAD),
        Err(Errno::PERM) | Err(Errno::INVAL)
    );
    if container {
        let _ = signals::catch(libc::SIGTERM);
        // an earlier boot's essential exit code must not end this one
        initctl::clear_essential_exitcode();
    }
    let mut me = Init {
        selfpipe,
        container,
        pending: 0,
        stop_pending: false,
        armed: false,
        deadline: None,
        expired: false,
        pwr: false,
        layout: None,
    };
    msg::note(&[msg::VERSION_ID, b": booting."]);

    // stage 1
    let mut skip2 = false;
    if let End::Exited(e, _) = me.run_stage(Stage::One) {
        report(Stage::One.path(), &e);
        if e.signaled() || (e.exited() && e.code() == 100) {
            skip2 = true;
        }
    }
    leave(Stage::One.path());
    if skip2 || me.stop_pending || me.expired {
        msg::warn(&[b"skipping stage 2..."]);
    } else {
        // stage 2, restarted while it crashes or exits 111
        loop {
            match me.run_stage(Stage::Two) {
                End::Stopped => break,
                End::Exited(e, stop) => {
                    report(Stage::Two.path(), &e);
                    let again = e.signaled() || (e.exited() && e.code() == 111);
                    if !again || stop || me.expired {
                        break;
                    }
                    msg::warn(&[b"killing all processes in stage 2..."]);
                    let _ = sys::kill(-e.pid, libc::SIGKILL);
                    if me.pause_reaping(PAUSE_MS as i64) {
                        // a container stop signal during the pause: no restart
                        break;
                    }
                    msg::warn(&[b"restarting."]);
                }
            }
        }
        leave(Stage::Two.path());
    }

    // stage 3 (not once the deadline has run out: the container must end now)
    let code = if me.expired {
        msg::warn(&[b"skipping stage 3..."]);
        EXIT_DEADLINE
    } else {
        let code = match me.run_stage(Stage::Three) {
            End::Exited(e, _) => {
                report(Stage::Three.path(), &e);
                if e.signaled() {
                    128 + e.signal()
                } else {
                    e.code()
                }
            }
            End::Stopped => 0,
        };
        leave(Stage::Three.path());
        code
    };
    me.finish(code)
}

/// `warning: child failed/crashed: STAGE` for a non-zero end.
fn report(path: &CStr, e: &Exited) {
    if e.signaled() {
        msg::warn(&[b"child crashed: ", path.to_bytes()]);
    } else if e.code() != 0 {
        msg::warn(&[b"child failed: ", path.to_bytes()]);
    }
}

fn leave(path: &CStr) {
    msg::note(&[b"leave stage: ", path.to_bytes()]);
}

/// Opens the console write-only and non-blocking onto the given fds; keeps them as they
/// are when it cannot be opened (no console in a container, or none at all).
fn console_onto(fds: &[i32]) {
    if let Ok(c) = sys::open_inherit(CONSOLE, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        for &fd in fds {
            let _ = sys::dup2(c.as_fd(), fd);
        }
        if fds.contains(&std::os::fd::AsRawFd::as_raw_fd(&c)) {
            // The console landed on one of the wanted numbers: it stays open.
            let _ = std::os::fd::IntoRawFd::into_raw_fd(c);
        }
    }
}

/// Forks and execs `path` as a stage (or ctrl-alt-del / pwrfail) child, until the fork
/// works, pausing 5 s after each failure. The child runs `prepare`, announces the stage,
/// and reports an exec failure and exits 0 (runit's choice).
fn start_child(path: &CStr, argv: &sys::Argv, prepare: impl Fn()) -> sys::pid_t {
    loop {
        let spawned = spawn(
            || {
                prepare();
                msg::note(&[b"enter stage: ", path.to_bytes()]);
            },
            || sys::execv(path, argv),
            OnFail {
                kind: Kind::Fatal,
                code: EXIT_CHILD_EXEC_FAILED,
                parts: &[b"unable to start child: ", path.to_bytes()],
            },
        );
        match spawned {
            Ok(pid) => return pid,
            Err(e) => {
                msg::say(
                    Kind::Fatal,
                    &[b"unable to fork for \"", path.to_bytes(), b"\" pausing"],
                    Some(e),
                );
                sys::sleep_ms(PAUSE_MS);
            }
        }
    }
}

impl Init {
    /// Forks and execs stage `n`, then waits for it, reaping orphans and acting on signals.
    fn run_stage(&mut self, n: Stage) -> End {
        let path = n.path();
        let Ok(argv) = sys::Argv::new(&[path.to_bytes()]) else {
            // Only an interior NUL fails, and the stage paths have none.
            return End::Stopped;
        };
        let pid = start_child(path, &argv, || {
            if n == Stage::One {
                // stage 1 gets the console as its controlling terminal on fd 0
                match sys::open_inherit(CONSOLE, libc::O_RDWR, 0) {
                    Ok(fd) => {
                        let _ = init::set_ctty(fd.as_fd());
                        let _ = sys::dup2(fd.as_fd(), 0);
                        if std::os::fd::AsRawFd::as_raw_fd(&fd) <= 2 {
                            let _ = std::os::fd::IntoRawFd::into_raw_fd(fd);
                        }
                    }
                    Err(e) => msg::warn_errno(&[b"unable to open /dev/console"], e),
                }
            } else {
                let _ = sys::setsid();
            }
        });
        if n == Stage::Two && self.stop_pending {
            self.stop_pending = false;
            self.layout = Some(initctl::layout());
            return self.stop_stage2(pid);
        }
        loop {
            let got = self.wait_event(IDLE_MS);
            console_onto(&[2]);
            let ended = self.reap(pid);
            let layout = initctl::layout();
            let a = asks(got, self.container, layout, sys::owner_executable(PWRFAIL));
            if n != Stage::Two {
                // (in container mode INT is a stop request, which stage 1 remembers)
                if a.cont || (a.int && !self.container) {
                    msg::warn(&[b"signals only work in stage 2."]);
                }
                if n == Stage::One && (a.stop || a.pwr) {
                    self.stop_pending = true;
                }
                if a.pwr {
                    self.pwr = true;
                }
                if let Some(e) = ended {
                    return End::Exited(e, false);
                }
                continue;
            }
            if a.pwr {
                self.pwr = true;
            }
            if let Some(e) = ended {
                let stop = a.stop || a.pwr || (a.cont && sys::owner_executable(layout.stopit()));
                if stop {
                    self.layout = Some(layout);
                }
                return End::Exited(e, stop);
            }
            if a.alrm {
                // Debian's patch 0021: runit-helper's `kill -s ALRM 1` reaches runsvdir
                let _ = sys::kill(pid, libc::SIGALRM);
            }
            let mut stop = a.stop;
            if a.int && sys::owner_executable(CTRLALTDEL) {
                self.hook(CTRLALTDEL, b"ctrl-alt-del request...");
                // re-read: Debian's ctrlaltdel creates /run/runit.stopit
                stop = stop || sys::owner_executable(initctl::layout().stopit());
            }
            if a.pwr {
                if sys::owner_executable(PWRFAIL) {
                    self.hook(PWRFAIL, b"power failure request...");
                }
                stop = true;
            }
            if a.cont && sys::owner_executable(initctl::layout().stopit()) {
                stop = true;
            }
            if stop {
                self.layout = Some(initctl::layout());
                return self.stop_stage2(pid);
            }
        }
    }

    /// Runs `/etc/runit/ctrlaltdel` or `/etc/runit/pwrfail` and waits for it (runit.md
    /// §4), announced by `note`. In container mode the wait ends at the stop deadline: the
    /// hook is killed with everything else then.
    fn hook(&mut self, path: &CStr, note: &[u8]) {
        msg::note(&[note]);
        let Ok(argv) = sys::Argv::new(&[path.to_bytes()]) else {
            return;
        };
        // stays in runit's session and process group (runit.md §4)
        let pid = start_child(path, &argv, || {});
        loop {
            match sys::wait_nohang(pid) {
                Ok(Some(e)) => {
                    if e.signaled() {
                        msg::warn(&[b"child crashed: ", path.to_bytes()]);
                    }
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    msg::warn_errno(&[b"wait_pid"], e);
                    break;
                }
            }
            self.check_deadline();
            // only CHLD is let through: other signals wait for the stage loop, as in runit
            let _ = init::ppoll_unblocked(None, self.timeout(IDLE_MS), &[libc::SIGCHLD]);
        }
        leave(path);
    }

    /// The stopit path: TERM to stage 2 (the process, not its group), up to 5 s for it to
    /// exit, then KILL. Waits on SIGCHLD instead of runit's 1-second polls (same outcome,
    /// faster shutdown). In container mode the container's deadline may come first: then
    /// everything is killed.
    fn stop_stage2(&mut self, pid: sys::pid_t) -> End {
        let stopit = self.layout.unwrap_or_else(initctl::layout).stopit();
        if sys::owner_executable(stopit) {
            let _ = sys::chmod(stopit, 0);
        }
        let _ = sys::kill(pid, libc::SIGTERM);
        let grace_end = sys::now_mono_ms() + STOP_GRACE_MS;
        loop {
            match sys::wait_nohang(pid) {
                Ok(Some(_)) | Err(_) => return End::Stopped,
                Ok(None) => {}
            }
            self.check_deadline();
            let left = grace_end - sys::now_mono_ms();
            if left <= 0 && !self.expired {
                break;
            }
            let _ = self.wait_event(left.clamp(1, 1000));
        }
        msg::warn(&[b"stage 2 not terminated, sending sigkill..."]);
        let _ = sys::kill(pid, libc::SIGKILL);
        loop {
            match sys::wait_pid(pid) {
                Ok(e) if e.pid == pid => break,
                Ok(_) => continue,
                Err(e) => {
                    msg::warn_errno(&[b"wait_pid"], e);
                    break;
                }
            }
        }
        End::Stopped
    }

    fn unblocked(&self) -> &'static [i32] {
        if self.container {
            &CAUGHT_CONTAINER
        } else {
            &CAUGHT
        }
    }

    /// Waits for a signal (or `ms`, or the stop deadline), then drains the self-pipe: the
    /// signals that arrived (with any kept by a pause). A container stop signal arms the
    /// deadline, whatever the stage.
    fn wait_event(&mut self, ms: i64) -> u64 {
        let timeout = self.timeout(ms);
        let unblock = self.unblocked();
        if let Err(e) = init::ppoll_unblocked(Some(self.selfpipe.as_fd()), timeout, unblock) {
            // cannot happen with a valid fd; pause rather than spin
            msg::warn_errno(&[b"poll"], e);
            sys::sleep_ms(1000);
        }
        let got = signals::drain(self.selfpipe.as_fd()) | std::mem::take(&mut self.pending);
        self.arm_on(got);
        self.check_deadline();
        got
    }

    /// Container mode: the first TERM, INT or PWR starts the stop deadline.
    fn arm_on(&mut self, got: u64) {
        let stop = [libc::SIGTERM, libc::SIGINT, libc::SIGPWR]
            .iter()
            .any(|&s| signals::has(got, s));
        if self.container && stop && !self.armed {
            self.armed = true;
            let now = sys::now_mono_ms();
            self.deadline = initctl::stop_timeout(msg::warn).map(|t| now + t);
        }
    }

    /// `ms`, shortened to the stop deadline while one runs.
    fn timeout(&self, ms: i64) -> i64 {
        match self.deadline {
            Some(d) if !self.expired => ms.min((d - sys::now_mono_ms()).max(0)),
            _ => ms,
        }
    }

    /// When the stop deadline has run out: KILL to every process (once).
    fn check_deadline(&mut self) {
        if let Some(d) = self.deadline {
            if !self.expired && sys::now_mono_ms() >= d {
                self.expired = true;
                msg::warn(&[b"stop-timeout reached, sending KILL signal to all processes..."]);
                let _ = sys::kill(-1, libc::SIGKILL);
            }
        }
    }

    /// Reaps every child that has exited; returns the status of `watch` if it was one.
    fn reap(&mut self, watch: sys::pid_t) -> Option<Exited> {
        let mut found = None;
        loop {
            match sys::wait_nohang(-1) {
                Ok(Some(e)) => {
                    if e.pid == watch {
                        found = Some(e);
                    }
                }
                Ok(None) | Err(Errno::CHILD) => break,
                Err(e) => {
                    msg::warn_errno(&[b"wait_nohang, pausing"], e);
                    sys::sleep_ms(1000);
                    break;
                }
            }
        }
        found
    }

    /// Sleeps `ms` while still reaping orphans. Signals are kept for the next wait, except
    /// that in container mode a stop signal ends the pause: `true` then.
    fn pause_reaping(&mut self, ms: i64) -> bool {
        let deadline = sys::now_mono_ms() + ms;
        let unblock: &[i32] = if self.container {
            &[libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGPWR]
        } else {
            &[libc::SIGCHLD]
        };
        loop {
            let left = deadline - sys::now_mono_ms();
            if left <= 0 {
                return false;
            }
            let _ = init::ppoll_unblocked(None, left.min(100), unblock);
            let _ = self.reap(0);
            let got = signals::drain(self.selfpipe.as_fd());
            self.pending |= got;
            self.arm_on(got);
            if self.armed {
                return true;
            }
        }
    }

    /// Container mode, after stage 3: the orderly end of what is left. Every child (after
    /// stage 2 ended these are the runsv processes runsvdir left, and other orphans) gets
    /// TERM and CONT and is waited for; a process re-parented to us meanwhile (a service
    /// whose runsv is gone) gets them when it shows up. A runsv stops its service with the
    /// service's own settings, then its logger drains. Ends when nothing is left or at the
    /// deadline: the one armed by a stop signal, else `stop-timeout` from now.
    fn stop_leftovers(&mut self) {
        if self.deadline.is_none() && !self.armed {
            let now = sys::now_mono_ms();
            self.deadline = initctl::stop_timeout(msg::warn).map(|t| now + t);
        }
        let mut termed: Vec<sys::pid_t> = Vec::new();
        let mut blind = false;
        loop {
            loop {
                match sys::wait_nohang(-1) {
                    Ok(Some(e)) => termed.retain(|&p| p != e.pid),
                    Ok(None) => break,
                    Err(_) => return, // ECHILD: nothing left
                }
            }
            match sys::child_pids() {
                Ok(kids) => {
                    for k in kids {
                        if !termed.contains(&k) {
                            let _ = sys::kill(k, libc::SIGTERM);
                            let _ = sys::kill(k, libc::SIGCONT);
                            termed.push(k);
                        }
                    }
                }
                Err(_) if !blind => {
                    // no /proc: everything at once
                    let _ = sys::kill(-1, libc::SIGTERM);
                    let _ = sys::kill(-1, libc::SIGCONT);
                    blind = true;
                }
                Err(_) => {}
            }
            self.check_deadline();
            if self.expired {
                return;
            }
            let t = self.timeout(ORPHAN_TICK_MS);
            let _ = init::ppoll_unblocked(None, t, &[libc::SIGCHLD]);
        }
    }

    /// Whether to reboot rather than power off: the layout's reboot flag, unless this is
    /// a PWR shutdown.
    fn reboot_wanted(&self) -> bool {
        let reboot = self.layout.unwrap_or_else(initctl::layout).reboot();
        !self.pwr && sys::owner_executable(reboot)
    }

    /// After stage 3: kill everything, then reboot, power off or halt; in a container, exit.
    fn finish(&mut self, stage3_code: i32) -> i32 {
        console_onto(&[2]);
        if self.container && !self.expired {
            self.stop_leftovers();
        }
        msg::note(&[b"sending KILL signal to all processes..."]);
        let _ = sys::kill(-1, libc::SIGKILL);
        let reboot = self.reboot_wanted();
        if self.container {
            // collect the killed ones (bounded: a process stuck in D state must not hang us)
            let deadline = sys::now_mono_ms() + REAP_AFTER_KILL_MS;
            while sys::now_mono_ms() < deadline {
                match sys::wait_nohang(-1) {
                    Ok(Some(_)) => continue,
                    Ok(None) => {
                        let _ = init::ppoll_unblocked(None, 20, &[libc::SIGCHLD]);
                    }
                    Err(_) => break,
                }
            }
            if reboot {
                msg::note(&[b"system reboot."]);
            } else {
                msg::note(&[b"power off..."]);
            }
            // only the container's own file system: sync(2) would flush the whole host
            if sys::stat(NOSYNC).is_err() {
                let _ = init::syncfs_path(c"/");
            }
            return initctl::exit_code_now(true, stage3_code);
        }
        // when fork fails, runit does the final step itself
        match sys::fork() {
            Ok(sys::Forked::Child) => {
                final_step(reboot);
                sys::exit_now(0);
            }
            Err(_) => final_step(reboot),
            Ok(sys::Forked::Parent(pid)) => loop {
                match sys::wait_pid(pid) {
                    Ok(e) if e.pid == pid => break,
                    Ok(_) => continue,
                    Err(_) => break,
                }
            },
        }
        // never exit: sleep forever, still reaping
        loop {
            let _ = init::ppoll_unblocked(None, 3_600_000, &[libc::SIGCHLD]);
            let _ = self.reap(0);
        }
    }
}

/// The reboot / power off / halt sequence (runit.md §5 step 2).
fn final_step(reboot: bool) {
    if reboot {
        msg::note(&[b"system reboot."]);
        sync_unless_nosync();
        let _ = init::reboot(init::RB_AUTOBOOT);
    } else {
        msg::note(&[b"power off..."]);
        sync_unless_nosync();
        let _ = init::reboot(init::RB_POWER_OFF);
        sys::sleep_ms(2000);
        msg::note(&[b"system halt."]);
        sync_unless_nosync();
        let _ = init::reboot(init::RB_HALT_SYSTEM);
    }
}

fn sync_unless_nosync() {
    if sys::stat(NOSYNC).is_err() {
        sys::sync();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(sigs: &[i32]) -> u64 {
        sigs.iter().fold(0, |a, &s| a | 1u64 << s)
    }

    /// Every signal rule, for both modes, both layouts, with and without pwrfail.
    #[test]
    fn signal_rules() {
        use libc::{SIGALRM, SIGCONT, SIGINT, SIGPWR, SIGTERM};
        let (u, d) = (Layout::Upstream, Layout::Debian);
        let a = |stop, cont, int, pwr, alrm| Asks {
            stop,
            cont,
            int,
            pwr,
            alrm,
        };
        #[rustfmt::skip]
        let table: &[(&[i32], bool, Layout, bool, Asks)] = &[
            // outside containers: TERM is nothing, INT and CONT are runit's
            (&[SIGTERM], false, u, false, a(false, false, false, false, false)),
            (&[SIGINT], false, u, false, a(false, false, true, false, false)),
            (&[SIGCONT], false, d, false, a(false, true, false, false, false)),
            // PWR: ignored upstream, shuts down with Debian's layout or a pwrfail
            (&[SIGPWR], false, u, false, a(false, false, false, false, false)),
            (&[SIGPWR], false, d, false, a(false, false, false, true, false)),
            (&[SIGPWR], false, u, true, a(false, false, false, true, false)),
            // ALRM: forwarded with Debian's layout only
            (&[SIGALRM], false, u, false, a(false, false, false, false, false)),
            (&[SIGALRM], false, d, false, a(false, false, false, false, true)),
            (&[SIGALRM], true, d, false, a(false, false, false, false, true)),
            // containers: TERM, INT and PWR all stop
            (&[SIGTERM], true, u, false, a(true, false, false, false, false)),
            (&[SIGINT], true, u, false, a(true, false, true, false, false)),
            (&[SIGPWR], true, u, false, a(true, false, false, true, false)),
            (&[SIGCONT], true, u, false, a(false, true, false, false, false)),
        ];
        for (sigs, container, layout, pwrfail, want) in table {
            assert_eq!(
                asks(set(sigs), *container, *layout, *pwrfail),
                *want,
                "{sigs:?} container {container} {layout:?} pwrfail {pwrfail}"
            );
        }
    }
}

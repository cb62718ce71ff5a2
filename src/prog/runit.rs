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
//! Container mode (beyond runit, docs/runit.md): when the start-up `reboot(RB_DISABLE_CAD)`
//! is refused (EPERM: no CAP_SYS_BOOT; EINVAL: a PID namespace other than the initial one),
//! runit is the init of a container. Then SIGTERM (`docker stop`) in stage 2 stops stage 2
//! like `runit-init 0` does, and after stage 3 runit exits with the code in
//! `/etc/runit/exitcode` (if that file exists) or stage 3's own exit code, instead of
//! calling reboot(2).

use crate::initctl::{REBOOT, STOPIT};
use crate::msg::{self, Kind};
use crate::spawn::{spawn, OnFail};
use crate::sys::{self, init, signals, AsFd, Errno, Exited, OwnedFd};
use std::ffi::CStr;

/// Exit code when not run as process no 1 (the only way runit exits outside a container).
pub const EXIT_NOT_PID1: i32 = 111;
/// Exit code of a stage child whose exec failed (runit's own choice: 0).
const EXIT_CHILD_EXEC_FAILED: i32 = 0;

const CONSOLE: &CStr = c"/dev/console";
const CTRLALTDEL: &CStr = c"/etc/runit/ctrlaltdel";
const NOSYNC: &CStr = c"/etc/runit/nosync";
/// Container mode only: the exit code to use after stage 3 (leading decimal digits).
const EXITCODE: &CStr = c"/etc/runit/exitcode";

/// The signals runit keeps blocked for its whole life (runit.md §2); the caught ones are
/// only let through while it waits in ppoll.
const BLOCKED: [i32; 7] = [
    libc::SIGALRM,
    libc::SIGCHLD,
    libc::SIGCONT,
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGPIPE,
    libc::SIGTERM,
];

/// Pause before retrying a failed fork or self-pipe (runit: 5 s).
const PAUSE_MS: u64 = 5000;
/// The console message wait is msg's: a full console delays a line by up to 0.5 s.
/// The idle wake-up of the stage loop (runit: 14 s).
const IDLE_MS: i64 = 14_000;
/// How long stage 2 gets to exit after SIGTERM before SIGKILL (runit: 5 polls, 1 s apart).
const STOP_GRACE_MS: i64 = 5000;

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
    /// Stage 2 was stopped on request (stopit + CONT, ctrl-alt-del, container TERM).
    Stopped,
}

struct Init {
    selfpipe: OwnedFd,
    container: bool,
    /// Container mode: a TERM arrived before stage 2 ran.
    term_pending: bool,
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
    for sig in [libc::SIGCHLD, libc::SIGCONT, libc::SIGINT] {
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
    }
    let mut me = Init {
        selfpipe,
        container,
        term_pending: false,
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
    if skip2 || me.term_pending {
        msg::warn(&[b"skipping stage 2..."]);
    } else {
        // stage 2, restarted while it crashes or exits 111
        loop {
            match me.run_stage(Stage::Two) {
                End::Stopped => break,
                End::Exited(e, stop) => {
                    report(Stage::Two.path(), &e);
                    let again = e.signaled() || (e.exited() && e.code() == 111);
                    if !again || stop {
                        break;
                    }
                    msg::warn(&[b"killing all processes in stage 2..."]);
                    let _ = sys::kill(-e.pid, libc::SIGKILL);
                    me.pause_reaping(PAUSE_MS as i64);
                    msg::warn(&[b"restarting."]);
                }
            }
        }
        leave(Stage::Two.path());
    }

    // stage 3
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

/// Forks and execs `path` as a stage (or ctrl-alt-del) child, until the fork works,
/// pausing 5 s after each failure. The child runs `prepare`, announces the stage, and
/// reports an exec failure and exits 0 (runit's choice).
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
        if n == Stage::Two && self.term_pending {
            self.term_pending = false;
            return self.stop_stage2(pid);
        }
        loop {
            let got = self.wait_event(IDLE_MS);
            console_onto(&[2]);
            let ended = self.reap(pid);
            let cont = signals::has(got, libc::SIGCONT);
            let int = signals::has(got, libc::SIGINT);
            let term = self.container && signals::has(got, libc::SIGTERM);
            if n != Stage::Two {
                if cont || int {
                    msg::warn(&[b"signals only work in stage 2."]);
                }
                if term && n == Stage::One {
                    self.term_pending = true;
                }
                if let Some(e) = ended {
                    return End::Exited(e, false);
                }
                continue;
            }
            if let Some(e) = ended {
                let stop = term || (cont && sys::owner_executable(STOPIT));
                return End::Exited(e, stop);
            }
            let mut stop = term;
            if int && sys::owner_executable(CTRLALTDEL) {
                self.ctrlaltdel();
                stop = stop || sys::owner_executable(STOPIT);
            }
            if cont && sys::owner_executable(STOPIT) {
                stop = true;
            }
            if stop {
                return self.stop_stage2(pid);
            }
        }
    }

    /// Runs `/etc/runit/ctrlaltdel` and waits for it (runit.md §4).
    fn ctrlaltdel(&mut self) {
        msg::note(&[b"ctrl-alt-del request..."]);
        let Ok(argv) = sys::Argv::new(&[CTRLALTDEL.to_bytes()]) else {
            return;
        };
        // stays in runit's session and process group (runit.md §4)
        let pid = start_child(CTRLALTDEL, &argv, || {});
        loop {
            match sys::wait_pid(pid) {
                Ok(e) if e.pid == pid => {
                    if e.signaled() {
                        msg::warn(&[b"child crashed: ", CTRLALTDEL.to_bytes()]);
                    }
                    break;
                }
                Ok(_) => continue,
                Err(e) => {
                    msg::warn_errno(&[b"wait_pid"], e);
                    break;
                }
            }
        }
        leave(CTRLALTDEL);
    }

    /// The stopit path: TERM to stage 2 (the process, not its group), up to 5 s for it to
    /// exit, then KILL. Waits on SIGCHLD instead of runit's 1-second polls (same outcome,
    /// faster shutdown).
    fn stop_stage2(&mut self, pid: sys::pid_t) -> End {
        if sys::owner_executable(STOPIT) {
            let _ = sys::chmod(STOPIT, 0);
        }
        let _ = sys::kill(pid, libc::SIGTERM);
        let deadline = sys::now_mono_ms() + STOP_GRACE_MS;
        loop {
            match sys::wait_nohang(pid) {
                Ok(Some(_)) | Err(_) => return End::Stopped,
                Ok(None) => {}
            }
            let left = deadline - sys::now_mono_ms();
            if left <= 0 {
                break;
            }
            let _ = self.wait_event(left.min(1000));
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

    /// Waits for a signal (or `ms`), then drains the self-pipe: the signals that arrived.
    fn wait_event(&mut self, ms: i64) -> u64 {
        let unblock: &[i32] = if self.container {
            &[libc::SIGCHLD, libc::SIGCONT, libc::SIGINT, libc::SIGTERM]
        } else {
            &[libc::SIGCHLD, libc::SIGCONT, libc::SIGINT]
        };
        if let Err(e) = init::ppoll_unblocked(Some(self.selfpipe.as_fd()), ms, unblock) {
            // cannot happen with a valid fd; pause rather than spin
            msg::warn_errno(&[b"poll"], e);
            sys::sleep_ms(1000);
        }
        signals::drain(self.selfpipe.as_fd())
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

    /// Sleeps `ms` while still reaping orphans; signals stay in the self-pipe for later.
    fn pause_reaping(&mut self, ms: i64) {
        let deadline = sys::now_mono_ms() + ms;
        loop {
            let left = deadline - sys::now_mono_ms();
            if left <= 0 {
                return;
            }
            let _ = init::ppoll_unblocked(None, left.min(100), &[libc::SIGCHLD]);
            let _ = self.reap(0);
        }
    }

    /// After stage 3: kill everything, then reboot, power off or halt; in a container, exit.
    fn finish(&mut self, stage3_code: i32) -> i32 {
        console_onto(&[2]);
        msg::note(&[b"sending KILL signal to all processes..."]);
        let _ = sys::kill(-1, libc::SIGKILL);
        if self.container {
            // collect the killed ones (bounded: a process stuck in D state must not hang us)
            let deadline = sys::now_mono_ms() + 2000;
            while sys::now_mono_ms() < deadline {
                match sys::wait_nohang(-1) {
                    Ok(Some(_)) => continue,
                    Ok(None) => {
                        let _ = init::ppoll_unblocked(None, 20, &[libc::SIGCHLD]);
                    }
                    Err(_) => break,
                }
            }
            if sys::owner_executable(REBOOT) {
                msg::note(&[b"system reboot."]);
            } else {
                msg::note(&[b"power off..."]);
            }
            // only the container's own file system: sync(2) would flush the whole host
            if sys::stat(NOSYNC).is_err() {
                let _ = init::syncfs_path(c"/");
            }
            return container_exit_code(stage3_code);
        }
        // when fork fails, runit does the final step itself
        match sys::fork() {
            Ok(sys::Forked::Child) => {
                final_step();
                sys::exit_now(0);
            }
            Err(_) => final_step(),
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
fn final_step() {
    if sys::owner_executable(REBOOT) {
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

/// Container mode: `/etc/runit/exitcode` (leading digits, modulo 256) when it exists and
/// can be read, else stage 3's exit code (128 + signal when it was killed).
fn container_exit_code(stage3_code: i32) -> i32 {
    let Ok(c) = sys::read_file(EXITCODE, 32) else {
        return stage3_code;
    };
    let (v, _) = crate::scan_ulong(&c.data);
    (v % 256) as i32
}

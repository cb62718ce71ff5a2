//! `runsv dir`: supervises one service and its optional log service (supervise-protocol.md).
//!
//! The shell around the pure state machine in [`state`]: it reads top to bottom like
//! runit's runsv — argument check, start-up (§3), then the main loop (§8) — and does every
//! system call, while every decision is [`state::Core::step`]'s. Each loop iteration: the
//! tick (exit logic, due starts), `poll` until something happens or the nearest deadline,
//! then the events in runit's order: children reaped, at most one control byte per
//! service, SIGTERM. Each event's actions are carried out in order; a start's outcome goes
//! back into the core at once.
//!
//! After start-up nothing here allocates: paths are `&'static CStr`, messages and status
//! records are built in stack buffers, child argv arrays live on the stack, the core is a
//! fixed-size value.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod cgroup;
pub mod conf;
pub mod notify;
mod secure;
pub mod state;
mod stop;

use crate::info::{self, Info};
use crate::msg;
use crate::spawn::{spawn, OnFail};
use crate::status::{self, State, Status, WriteError};
use crate::svdir::{self, SuperviseFiles, LOGSVC, MAIN};
use crate::sys::{self, signals, AsFd, Errno, OwnedFd, PollFd};
use crate::tai::Tai64n;
use conf::KillMode;
use state::{Action, Core, Event, Notice, Now, Prog, Svc, Turn, Which};
use std::ffi::{CStr, CString};

/// Exit codes (supervise-protocol.md §13).
pub mod exit {
    /// After `x` or SIGTERM, once the service and its log are down.
    pub const DONE: i32 = 0;
    /// Zero or two+ operands.
    pub const USAGE: i32 = 1;
    /// A fatal start-up error, or (in a forked child) a program that could not be executed.
    pub const FATAL: i32 = 111;
}

/// The I/O side of one service: its `supervise/` files and control FIFO.
struct Io {
    files: &'static SuperviseFiles,
    /// Read end of `control`; `None` for a log service that does not exist.
    ctrl: Option<OwnedFd>,
    /// The pid the `pid` file shows (`None` = must be rewritten at the next publish).
    pid_written: Option<sys::pid_t>,
    /// A fingerprint of what `info` holds now (it is written only when it changes).
    info_print: u64,
    /// The core asked for a publish that is not done yet: the files are rewritten once,
    /// before the loop waits, for all of an iteration's changes (see `flush`).
    pending: bool,
}

/// The readiness side of the main service (docs/readiness.md).
struct Readiness {
    /// Read end of the `notification-fd` pipe of the current run, until its newline.
    pipe: Option<OwnedFd>,
    /// The `sd_notify` socket at `supervise/notify`, while `notify-socket` exists.
    socket: Option<OwnedFd>,
    /// `NOTIFY_SOCKET=/abs/path/supervise/notify` and the path itself (`None`: the path
    /// does not fit a socket address), found once: at start-up when `notify-socket`
    /// exists then (so runs do not allocate), else when it first appears.
    env: Option<CString>,
    socket_path: Option<CString>,
    paths_known: bool,
    /// `STATUS=` and `MAINPID=` of the current run.
    status: [u8; info::TEXT_MAX],
    status_len: usize,
    mainpid: Option<u32>,
    /// Whether runsv made itself a child subreaper (once, for the first notify socket).
    subreaper: bool,
}

struct Runsv {
    core: Core,
    io: [Io; 2],
    /// Log pipe (read end, write end); `None` without a log, or once closed for the exit.
    logpipe: Option<(OwnedFd, OwnedFd)>,
    selfpipe: OwnedFd,
    ready: Readiness,
    stops: stop::Stops,
    audit: bool,
}

/// Whether the loop goes on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    Exit,
}

fn now() -> Now {
    Now {
        wall: Tai64n::now(),
        mono: sys::now_mono_ms(),
    }
}

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let [_, dir] = args.as_slice() else {
        let argv0 = args.first().map(|a| a.as_slice()).unwrap_or(b"runsv");
        msg::usage(argv0, b" dir");
        return exit::USAGE;
    };
    msg::set_prefix(&[b"runsv ", dir, b": "]);
    sys::alloc::set_oom_exit(exit::FATAL);
    // Entered without Rust's start-up code (src/bin/runsv.rs): closed fds 0-2 get
    // /dev/null, so no pipe or lock of ours lands on them, and SIGPIPE (a warning to a
    // stderr whose reader is gone) must not end a supervisor.
    sys::init::fill_std_fds();
    let _ = signals::ignore(libc::SIGPIPE);
    let audit = std::env::var_os("RUNSV_ALLOC_AUDIT").is_some();
    let mut r = startup(dir, audit);
    r.start_up_files();
    r.run()
}

/// A start-up failure: `runsv DIR: fatal: TEXT[: <err>]`, exit 111.
fn fatal(text: &[&[u8]], e: Option<Errno>) -> ! {
    match e {
        Some(e) => msg::fatal_errno(exit::FATAL, text, e),
        None => msg::fatal(exit::FATAL, text),
    }
}

fn warn(parts: &[&[u8]], e: Option<Errno>) {
    match e {
        Some(e) => msg::warn_errno(parts, e),
        None => msg::warn(parts),
    }
}

/// Start-up, in the observable order of §3, up to the supervisor's state; the steps that
/// read the old record and publish the new one are [`Runsv::start_up_files`]. Every
/// failure here is fatal (exit 111).
///
/// Two functions, not one, for memory: the `Runsv` built here is moved out to `main`, and
/// `find_leftover` → `load_conf` → `read_small` called from inside this frame (2.5 KB,
/// the `Runsv` being built) took the stack one page deeper than anything later does, a
/// private page for ever in every runsv whose stack top (placed at random by the kernel)
/// put that depth across a page boundary. gdb: `read_small` entered 0x1990 bytes below
/// `runsv::main`'s entry before, 0x12a0 now, the loop's deepest 0x1190; bench/memory.py,
/// 200 services: 34.7 → 33.3 KiB USS per runsv (mean over three runs).
#[inline(never)]
fn startup(dir: &[u8], audit: bool) -> Runsv {
    let selfpipe =
        signals::selfpipe().unwrap_or_else(|e| fatal(&[b"unable to create selfpipe"], Some(e)));
    // SIGCHLD and SIGTERM are caught into the self-pipe; between polls they stay blocked.
    let _ = signals::block(&[libc::SIGCHLD, libc::SIGTERM]);
    let _ = signals::catch(libc::SIGCHLD);
    let _ = signals::catch(libc::SIGTERM);
    if let Err(e) = sys::cstr(dir).and_then(|c| sys::chdir(&c)) {
        fatal(&[b"unable to change to directory"], Some(e));
    }

    let t = now();
    let main = Svc::new(true, sys::stat(svdir::DOWN).is_ok(), t);
    let mut has_log = false;
    let mut logpipe = None;
    match sys::stat(svdir::LOG) {
        Err(Errno::NOENT) => {}
        Err(e) => warn(&[b"unable to stat() ./log: "], Some(e)),
        Ok(st) if !st.is_dir() => warn(&[b"./log: not a directory."], None),
        Ok(_) => {
            has_log = true;
            logpipe = Some(
                sys::pipe(0).unwrap_or_else(|e| fatal(&[b"unable to create log pipe"], Some(e))),
            );
        }
    }
    let log = Svc::new(has_log, has_log && sys::stat(svdir::LOG_DOWN).is_ok(), t);

    make_supervise_dir(&MAIN, b"", b"unable to readlink ./supervise");
    secure::secure(&MAIN, b"supervise");
    lock(&MAIN, libc::LOCK_EX | libc::LOCK_NB, b"supervise/lock");
    if has_log {
        make_supervise_dir(&LOGSVC, b"log/", b"unable to readlink ./log/supervise");
        secure::secure(&LOGSVC, b"log/supervise");
        // runit: the log lock is taken blocking (quirk, §3 step 8).
        lock(&LOGSVC, libc::LOCK_EX, b"log/supervise/lock");
    }

    let io = |files| Io {
        files,
        ctrl: None,
        pid_written: None,
        info_print: 0,
        pending: false,
    };
    Runsv {
        core: Core::new(main, log),
        io: [io(&MAIN), io(&LOGSVC)],
        logpipe,
        selfpipe,
        ready: Readiness {
            pipe: None,
            socket: None,
            env: None,
            socket_path: None,
            paths_known: false,
            status: [0; info::TEXT_MAX],
            status_len: 0,
            mainpid: None,
            subreaper: false,
        },
        stops: stop::Stops::new(),
        audit,
    }
}

/// `mkdir supervise` (or the target of a `supervise` symlink), §3 step 6.
fn make_supervise_dir(f: &SuperviseFiles, base: &[u8], rl_err: &[u8]) {
    if sys::mkdir(f.dir, 0o700).is_ok() {
        return;
    }
    match sys::readlink(f.dir, 256) {
        Ok(target) => {
            let mut p = if target.first() == Some(&b'/') {
                Vec::new()
            } else {
                base.to_vec()
            };
            p.extend_from_slice(&target);
            if let Ok(c) = sys::cstr(&p) {
                let _ = sys::mkdir(&c, 0o700);
            }
        }
        Err(Errno::NOENT) | Err(Errno::INVAL) => {}
        // runit's own wording here, not the errno table's "file name too long".
        Err(Errno::NAMETOOLONG) => fatal(&[rl_err, b": name too long"], None),
        Err(e) => fatal(&[rl_err], Some(e)),
    }
}

/// Opens and locks `supervise/lock`; the descriptor stays open (and locked) for runsv's
/// lifetime.
fn lock(f: &SuperviseFiles, op: i32, name: &[u8]) {
    let fd = sys::open(
        f.lock,
        libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK | libc::O_NOFOLLOW,
        0o600,
    )
    .unwrap_or_else(|e| fatal(&[b"unable to open ", name], Some(e)));
    if let Err(e) = sys::flock(fd.as_fd(), op) {
        fatal(&[b"unable to lock ", name], Some(e));
    }
    std::mem::forget(fd);
}

/// Creates and opens the control FIFO (§3 step 9): returns the read end; a write end is also
/// kept open so the reader never sees EOF.
fn open_control(f: &SuperviseFiles, name: &[u8]) -> OwnedFd {
    let _ = sys::mkfifo(f.control, 0o600);
    let st = sys::stat(f.control).unwrap_or_else(|e| fatal(&[b"unable to stat ", name], Some(e)));
    if !st.is_fifo() {
        fatal(&[name, b" exists but is not a fifo"], None);
    }
    let open = |flags| {
        sys::open(f.control, flags | libc::O_NONBLOCK, 0)
            .unwrap_or_else(|e| fatal(&[b"unable to open ", name], Some(e)))
    };
    let r = open(libc::O_RDONLY);
    std::mem::forget(open(libc::O_WRONLY));
    r
}

/// Creates `ok` and holds its read end forever (§3 step 12): that is what clients probe.
fn open_ok(f: &SuperviseFiles, err: &[u8]) {
    let _ = sys::mkfifo(f.ok, 0o600);
    let fd = sys::open(f.ok, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        .unwrap_or_else(|e| fatal(&[err], Some(e)));
    std::mem::forget(fd);
}
impl Runsv {
    fn io(&mut self, w: Which) -> &mut Io {
        match w {
            Which::Main => &mut self.io[0],
            Which::Log => &mut self.io[1],
        }
    }

    /// The rest of start-up (§3): the old record read for a leftover service, then the
    /// control FIFOs, the first records and `ok`, in runit's order.
    #[inline(never)]
    fn start_up_files(&mut self) {
        let has_log = self.core.svc(Which::Log).exists;
        if sys::stat(svdir::NOTIFY_SOCKET).is_ok() {
            self.notify_paths();
        }
        // Before the first record replaces the old one: what a killed runsv left running.
        self.find_leftover();
        self.io[0].ctrl = Some(open_control(&MAIN, b"supervise/control"));
        self.publish(Which::Main);
        if has_log {
            self.io[1].ctrl = Some(open_control(&LOGSVC, b"log/supervise/control"));
            self.publish(Which::Log);
        }
        open_ok(&MAIN, b"unable to read supervise/ok");
        if has_log {
            open_ok(&LOGSVC, b"unable to read log/supervise/ok");
        }
    }

    /// The main loop (§8).
    fn run(&mut self) -> i32 {
        let base_allocs = sys::alloc::count();
        loop {
            // The tick: exit logic (§8 step 8), then what is due to start (steps 1-2).
            let t = now();
            let control_u = self.core.asks_control_u(t.mono) && sys::owner_executable(c"control/u");
            let flow = self.feed(Event::Tick { control_u }, t);
            self.flush_except(None);
            if flow == Flow::Exit {
                if let Some(cg) = self.stops.cgroup.as_ref() {
                    cg.remove();
                }
                if self.audit {
                    let mut b = [0u8; 20];
                    let n = sys::alloc::count().saturating_sub(base_allocs);
                    msg::note(&[b"alloc-audit: ", crate::fmt_u64(n, &mut b)]);
                }
                return exit::DONE;
            }

            // Wait, with the nearest deadline as the timeout.
            let timeout = self
                .core
                .deadline(t.mono)
                .map_or(-1, |d| sys::until(d, sys::now_mono_ms()));
            fn ctrl(io: &Io) -> Option<sys::BorrowedFd<'_>> {
                io.ctrl.as_ref().map(|f| f.as_fd())
            }
            fn maybe(f: &Option<OwnedFd>) -> Option<sys::BorrowedFd<'_>> {
                f.as_ref().map(|f| f.as_fd())
            }
            let mut fds = [
                PollFd::new(self.selfpipe.as_fd(), sys::POLLIN),
                PollFd::maybe(ctrl(&self.io[0]), sys::POLLIN),
                PollFd::maybe(ctrl(&self.io[1]), sys::POLLIN),
                PollFd::maybe(maybe(&self.ready.pipe), sys::POLLIN),
                PollFd::maybe(maybe(&self.ready.socket), sys::POLLIN),
                PollFd::maybe(
                    self.stops.leftover.as_ref().map(|l| l.0.as_fd()),
                    sys::POLLIN,
                ),
                PollFd::none(),
            ];
            if self.waits_for_cgroup() {
                if let Some(fd) = self.stops.cgroup.as_mut().and_then(|c| c.watch()) {
                    fds[6] = PollFd::new(fd, sys::POLLPRI);
                }
            }
            let _ = signals::unblock(&[libc::SIGCHLD, libc::SIGTERM]);
            let _ = sys::poll(&mut fds, timeout);
            let _ = signals::block(&[libc::SIGCHLD, libc::SIGTERM]);
            // Drain the self-pipe before acting (a signal during the acts leaves a byte).
            let got = signals::drain(self.selfpipe.as_fd());

            // Readiness news first, as systemd does: a service's last word counts before
            // its exit is processed.
            if fds[3].ready(sys::POLLIN) {
                self.notification_fd();
            }
            if fds[4].ready(sys::POLLIN) {
                self.notify_datagrams();
            }
            if fds[5].ready(sys::POLLIN) {
                self.leftover_exited();
            }
            if fds[6].ready(sys::POLLPRI) {
                self.cgroup_changed();
            }

            // Children.
            while let Ok(Some(ex)) = sys::wait_nohang(-1) {
                let main = ex.pid == self.core.main_pid();
                let finish_exists = main && sys::open(svdir::FINISH, libc::O_RDONLY, 0).is_ok();
                let cgroup_populated = main
                    && self.core.svc(Which::Main).conf.kill_mode == KillMode::Cgroup
                    && self.stops.cgroup.as_ref().is_some_and(|c| c.populated());
                let ev = Event::Reaped {
                    pid: ex.pid,
                    wstat: ex.status,
                    finish_exists,
                    cgroup_populated,
                };
                if self.feed(ev, now()) == Flow::Exit {
                    break;
                }
            }
            if self.core.svc(Which::Main).state != State::Run {
                // s6: the notification pipe of a run ends with it.
                self.ready.pipe = None;
            }
            // At most one control byte per service per iteration.
            for w in [Which::Main, Which::Log] {
                let ev = match self.core.fifo_turn(w) {
                    Turn::Read => self.read_byte(w).map(|b| Event::Control(w, b)),
                    Turn::Dequeue => Some(Event::Dequeue),
                    Turn::Skip => None,
                };
                if let Some(ev) = ev {
                    self.feed(ev, now());
                }
            }
            // SIGTERM acts as `x`.
            if signals::has(got, libc::SIGTERM) {
                self.feed(Event::Term, now());
            }
        }
    }

    /// Steps the core and carries out its actions in order; a start's outcome is fed
    /// back before the next action.
    fn feed(&mut self, ev: Event, t: Now) -> Flow {
        let acts = self.core.step(ev, t);
        for &a in acts.as_slice() {
            match a {
                Action::Spawn(w, prog) => {
                    // What a child might read is on disk before it starts, except the
                    // record of the service being started: its start supersedes it. (A
                    // control script flushes everything, once it is known to exist.)
                    if !matches!(prog, Prog::Control(_)) {
                        self.flush_except(Some(w));
                    }
                    let reply = self.spawn(w, prog);
                    let flow = self.feed(reply, now());
                    // The new pid is on disk right after the fork, as with runit.
                    self.flush_except(None);
                    if flow == Flow::Exit {
                        return Flow::Exit;
                    }
                }
                Action::Kill { pid, sig } => {
                    let _ = sys::kill(pid, sig);
                }
                Action::Publish(w) => self.io(w).pending = true,
                Action::CloseLogPipe => {
                    if let Some((r, w)) = self.logpipe.take() {
                        if let Err(e) = sys::close(w) {
                            warn(&[b"unable to close logpipe[1]"], Some(e));
                        }
                        if let Err(e) = sys::close(r) {
                            warn(&[b"unable to close logpipe[0]"], Some(e));
                        }
                    }
                }
                Action::Exit => return Flow::Exit,
                Action::CgroupSignal(sig) => self.cgroup_signal(sig),
                Action::CgroupKill => self.cgroup_kill(),
                Action::GaveUp(g) => self.gave_up(g),
            }
        }
        Flow::Go
    }

    /// One byte from the control FIFO of `w`, if one is waiting.
    fn read_byte(&self, w: Which) -> Option<u8> {
        let io = match w {
            Which::Main => &self.io[0],
            Which::Log => &self.io[1],
        };
        let fd = io.ctrl.as_ref()?;
        let mut b = [0u8; 1];
        match sys::read(fd.as_fd(), &mut b) {
            Ok(1) => Some(b[0]),
            _ => None,
        }
    }

    /// Starts a program (§9.1, §9.2) and says how it went.
    #[inline(never)]
    fn spawn(&mut self, w: Which, prog: Prog) -> Event {
        // Readiness is set up per start of ./run, before anything is borrowed for the fork.
        let (nfd, socket) = if (w, prog) == (Which::Main, Prog::Run) {
            self.readiness_config()
        } else {
            (None, false)
        };
        // The stop settings: read afresh for ./run, the current run's for ./finish.
        let conf = match (w, prog) {
            (Which::Main, Prog::Run) => self.load_conf(),
            (Which::Main, Prog::Finish | Prog::Control(_)) => self.core.svc(Which::Main).conf,
            (Which::Log, _) => conf::Conf::default(),
        };
        // In a group kill mode ./run and ./finish lead their own session and group; with
        // a cgroup they are placed in it before they exec.
        let own_group = w == Which::Main && conf.kill_mode != KillMode::Process;
        let cg = match conf.kill_mode {
            KillMode::Cgroup if w == Which::Main => self.stops.cgroup.as_ref(),
            KillMode::Cgroup | KillMode::Group | KillMode::Process => None,
        };
        let pipe = self.logpipe.as_ref().map(|(r, w)| (r.as_fd(), w.as_fd()));
        let child_fatal = |text: &[u8], e| -> ! {
            msg::child_exit(msg::Kind::Fatal, exit::FATAL, &[text], Some(e))
        };
        let mut readiness = false;
        let spawned = match (w, prog) {
            (Which::Main, Prog::Control(c)) => return self.control_script(c),
            (Which::Main, Prog::Run | Prog::Finish) => {
                // Finish arguments, formatted before fork: exit code (or -1 if signalled)
                // and the low byte of the wait status.
                let st = self.core.svc(Which::Main).wstat;
                let mut a_buf = [0u8; 24];
                let mut b_buf = [0u8; 24];
                let mut t = [0u8; 20];
                let code: &[u8] = if libc::WIFEXITED(st) {
                    crate::fmt_u64(libc::WEXITSTATUS(st) as u64, &mut t)
                } else {
                    b"-1"
                };
                put_cstr(&mut a_buf, code);
                put_cstr(&mut b_buf, crate::fmt_u64((st & 0xff) as u64, &mut t));
                let fa = CStr::from_bytes_until_nul(&a_buf).unwrap_or_default();
                let fb = CStr::from_bytes_until_nul(&b_buf).unwrap_or_default();
                let finishing = prog == Prog::Finish;
                // The notification pipe: its write end becomes fd N of ./run.
                let npipe = nfd.and_then(|n| match sys::pipe(0) {
                    Ok(p) => Some((n, p)),
                    Err(e) => {
                        warn(&[b"unable to create the notification-fd pipe"], Some(e));
                        None
                    }
                });
                readiness = npipe.is_some() || socket;
                let nw = npipe.as_ref().map(|(n, (_, w))| (*n, w.as_fd()));
                let env = if socket {
                    self.ready.env.as_deref()
                } else {
                    None
                };
                let spawned = spawn(
                    || {
                        if let Some(Err(e)) = pipe.map(|(_, lw)| sys::dup2(lw, 1)) {
                            child_fatal(b"unable to setup filedescriptor for ./run", e);
                        }
                        if own_group {
                            let _ = sys::setsid();
                        }
                        if let Some(Err(e)) = cg.map(|c| c.join()) {
                            child_fatal(b"unable to join the service's cgroup", e);
                        }
                        if let Some((n, w)) = nw {
                            let placed = if std::os::fd::AsRawFd::as_raw_fd(&w) == n {
                                sys::set_cloexec(w, false)
                            } else {
                                sys::dup2(w, n)
                            };
                            if let Err(e) = placed {
                                child_fatal(b"unable to setup notification-fd for ./run", e);
                            }
                        }
                    },
                    || match (finishing, env) {
                        (true, _) => sys::execv_cstrs(svdir::FINISH, &[svdir::FINISH, fa, fb]),
                        (false, Some(env)) => {
                            sys::notify::execv_env_plus(svdir::RUN, &[svdir::RUN], env)
                        }
                        (false, None) => sys::execv_cstrs(svdir::RUN, &[svdir::RUN]),
                    },
                    OnFail {
                        kind: msg::Kind::Fatal,
                        code: exit::FATAL,
                        parts: if finishing {
                            &[b"unable to start ./finish"]
                        } else {
                            &[b"unable to start ./run"]
                        },
                    },
                );
                if spawned.is_ok() && !finishing {
                    // A new run: its readiness news starts afresh.
                    self.ready.pipe = npipe.map(|(_, (r, _))| r);
                    self.ready.status_len = 0;
                    self.ready.mainpid = None;
                }
                spawned
            }
            (Which::Log, Prog::Run | Prog::Finish | Prog::Control(_)) => spawn(
                || {
                    if let Some(Err(e)) = pipe.map(|(lr, _)| sys::dup2(lr, 0)) {
                        child_fatal(b"unable to setup filedescriptor for ./log/run", e);
                    }
                    if let Err(e) = sys::chdir(svdir::LOG) {
                        child_fatal(b"unable to change directory to ./log", e);
                    }
                },
                || sys::execv_cstrs(svdir::RUN, &[svdir::RUN]),
                OnFail {
                    kind: msg::Kind::Fatal,
                    code: exit::FATAL,
                    parts: &[b"unable to start log/./run"],
                },
            ),
        };
        match spawned {
            Ok(pid) => Event::Spawned {
                which: w,
                prog,
                pid,
                readiness,
                conf,
            },
            Err(e) => {
                warn(&[b"unable to fork, sleeping"], Some(e));
                Event::SpawnFailed { which: w, prog }
            }
        }
    }

    /// Runs `control/<c>` if it exists with the owner-execute bit (§9.2), with the pid of
    /// the running `./run` as its only argument, as upstream runsv does since PR #24
    /// (after 2.3.0). With no `./run` running (`control/u` before a start, a script while
    /// `./finish` runs) there is no argument: a `kill "$1"` then fails instead of
    /// signalling the script's own process group, which `kill 0` would.
    #[inline(never)]
    fn control_script(&mut self, c: u8) -> Event {
        let path = svdir::control_script(c);
        let Ok(cpath) = CStr::from_bytes_with_nul(&path) else {
            return Event::ScriptNotRun;
        };
        let name = cpath.to_bytes();
        match sys::stat(cpath) {
            Ok(st) if st.owner_exec() => {}
            Ok(_) | Err(Errno::NOENT) => return Event::ScriptNotRun,
            Err(e) => {
                warn(&[b"unable to stat ", name], Some(e));
                return Event::ScriptNotRun;
            }
        }
        // A script may read any record: it finds them up to date.
        self.flush_except(None);
        let main = self.core.svc(Which::Main);
        let pid = (main.state == State::Run && main.pid > 0).then_some(main.pid);
        let mut pid_buf = [0u8; 24];
        let mut t = [0u8; 20];
        if let Some(p) = pid {
            put_cstr(&mut pid_buf, crate::fmt_u64(p as u64, &mut t));
        }
        let pid_arg = CStr::from_bytes_until_nul(&pid_buf).unwrap_or_default();
        let logw = self.logpipe.as_ref().map(|(_, w)| w.as_fd());
        let spawned = spawn(
            || {
                if let Some(Err(e)) = logw.map(|w| sys::dup2(w, 1)) {
                    msg::child_exit(
                        msg::Kind::Warning,
                        exit::FATAL,
                        &[b"unable to setup stdout for ", name],
                        Some(e),
                    );
                }
            },
            || match pid {
                Some(_) => sys::execv_cstrs(cpath, &[cpath, pid_arg]),
                None => sys::execv_cstrs(cpath, &[cpath]),
            },
            OnFail {
                kind: msg::Kind::Fatal,
                code: exit::FATAL,
                parts: &[b"unable to run control/?"],
            },
        );
        match spawned {
            Ok(pid) => Event::Spawned {
                which: Which::Main,
                prog: Prog::Control(c),
                pid,
                readiness: false,
                conf: self.core.svc(Which::Main).conf,
            },
            Err(e) => {
                warn(&[b"unable to fork for ", name], Some(e));
                Event::ScriptNotRun
            }
        }
    }

    /// Reads `notification-fd` and `notify-socket` for a start of `./run` (both re-read at
    /// every start, as s6 reads `notification-fd`): the descriptor number, and whether the
    /// run gets `NOTIFY_SOCKET`. A bad file gets a warning and the run goes without.
    #[inline(never)]
    fn readiness_config(&mut self) -> (Option<i32>, bool) {
        let mut buf = [0u8; 64];
        let nfd = match sys::read_small(svdir::NOTIFICATION_FD, &mut buf) {
            Ok(n) => match notify::parse_fd(buf.get(..n).unwrap_or(&[])) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    let why: &[u8] = match e {
                        notify::FdError::NotANumber => b"not a number",
                        notify::FdError::Standard => b"0, 1 and 2 are the service's stdio",
                        notify::FdError::TooBig => b"too big",
                    };
                    warn(
                        &[b"invalid notification-fd: ", why, b"; readiness not used"],
                        None,
                    );
                    None
                }
            },
            Err(Errno::NOENT) => None,
            Err(e) => {
                warn(&[b"unable to read notification-fd"], Some(e));
                None
            }
        };
        let want_socket = sys::stat(svdir::NOTIFY_SOCKET).is_ok();
        if want_socket && !self.ready.paths_known {
            self.notify_paths();
        }
        if want_socket && self.ready.socket.is_none() {
            match &self.ready.socket_path {
                None => warn(
                    &[b"notify-socket: the path of supervise/notify is too long for a socket; readiness not used"],
                    None,
                ),
                Some(p) => match sys::notify::notify_socket(p) {
                    Ok(sock) => {
                        open_to_all_senders(p);
                        self.ready.socket = Some(sock);
                        if !self.ready.subreaper {
                            // Daemonized descendants stay ours, so their messages can be
                            // traced to the service (notify::sender_is_service).
                            self.ready.subreaper = sys::notify::set_child_subreaper().is_ok();
                        }
                    }
                    Err(e) => warn(&[b"unable to create supervise/notify"], Some(e)),
                },
            }
        } else if !want_socket && self.ready.socket.is_some() {
            self.ready.socket = None;
            if let Some(p) = &self.ready.socket_path {
                let _ = sys::unlink(p);
            }
        }
        (nfd, want_socket && self.ready.socket.is_some())
    }

    /// The socket's absolute name, for `NOTIFY_SOCKET` (libsystemd wants one).
    #[inline(never)]
    fn notify_paths(&mut self) {
        self.ready.paths_known = true;
        self.ready.socket_path = sys::getcwd().ok().and_then(|mut p| {
            p.push(b'/');
            p.extend_from_slice(svdir::NOTIFY);
            (p.len() < sys::notify::SUN_PATH_MAX).then(|| sys::cstr(&p).ok())?
        });
        self.ready.env = self.ready.socket_path.as_ref().and_then(|p| {
            let mut e = b"NOTIFY_SOCKET=".to_vec();
            e.extend_from_slice(p.to_bytes());
            sys::cstr(&e).ok()
        });
    }

    /// The notification pipe is readable: a newline means ready (then the pipe is done);
    /// end of file before one means this run will not say so.
    // Its buffers live in its own frame, not in the main loop's (frames of 4 KiB and
    // more are probed page by page, so they would stay private in every runsv).
    #[inline(never)]
    fn notification_fd(&mut self) {
        let Some(p) = self.ready.pipe.as_ref() else {
            return;
        };
        let mut buf = [0u8; 512];
        match sys::read(p.as_fd(), &mut buf) {
            Ok(0) | Err(_) => self.ready.pipe = None,
            Ok(n) => {
                if notify::fd_says_ready(buf.get(..n).unwrap_or(&[])) {
                    self.ready.pipe = None;
                    self.feed(Event::Notice(Notice::Ready), now());
                }
            }
        }
    }

    /// Datagrams on the `sd_notify` socket (at most a bounded number per wake-up, so a
    /// flood cannot starve control bytes).
    // Its buffers live in its own frame, not in the main loop's (frames of 4 KiB and
    // more are probed page by page, so they would stay private in every runsv).
    #[inline(never)]
    fn notify_datagrams(&mut self) {
        let mut buf = [0u8; sys::notify::DATAGRAM_MAX];
        for _ in 0..64 {
            let Some(sock) = self.ready.socket.as_ref() else {
                return;
            };
            let d = match sys::notify::recv_datagram(sock.as_fd(), &mut buf) {
                Ok(Some(d)) => d,
                Ok(None) | Err(_) => return,
            };
            if d.truncated || d.pid <= 0 || !self.sent_by_service(d.pid) {
                continue;
            }
            let Some(m) = notify::parse_datagram(buf.get(..d.len).unwrap_or(&[])) else {
                continue;
            };
            if let Some(t) = m.status {
                let n = t.len().min(info::TEXT_MAX);
                if let Some(dst) = self.ready.status.get_mut(..n) {
                    dst.copy_from_slice(t.get(..n).unwrap_or(&[]));
                }
                self.ready.status_len = n;
            }
            if m.mainpid.is_some() {
                self.ready.mainpid = m.mainpid;
            }
            // systemd's precedence within a datagram: STOPPING over READY over RELOADING.
            let n = if m.stopping {
                Notice::Stopping
            } else if m.ready {
                Notice::Ready
            } else if m.reloading {
                Notice::Reloading
            } else {
                Notice::Info
            };
            self.feed(Event::Notice(n), now());
        }
    }

    /// Whether `pid` is `./run` or one of its descendants (notify::sender_is_service).
    // Its buffers live in its own frame, not in the main loop's (frames of 4 KiB and
    // more are probed page by page, so they would stay private in every runsv).
    #[inline(never)]
    fn sent_by_service(&self, pid: sys::pid_t) -> bool {
        let m = self.core.svc(Which::Main);
        if m.state != State::Run {
            return false;
        }
        let mut chain = [0i32; notify::MAX_DEPTH];
        let mut n = 0;
        let mut p = pid;
        while n < chain.len() {
            if let Some(slot) = chain.get_mut(n) {
                *slot = p;
            }
            n += 1;
            if p <= 1 || p == m.pid {
                break;
            }
            match sys::notify::parent_of(p) {
                Some(pp) => p = pp,
                None => break,
            }
        }
        let others = [self.core.svc(Which::Log).pid, self.core.script_pid()];
        notify::sender_is_service(chain.get(..n).unwrap_or(&[]), m.pid, sys::getpid(), &others)
    }

    /// Carries out the publishes the core asked for since the last flush (but those of
    /// `except`), once per service, showing the state reached. Publishes wait for the
    /// next wait of the loop, the next start of a child, or the exit, so an iteration
    /// that reaps `./run` and starts it again (the tick of the next iteration comes
    /// before any wait) writes the four files once instead of twice: the `down` in
    /// between lasted no longer than the restart, and no reader could have relied on
    /// seeing it (runit writes it; docs/divergences.md).
    fn flush_except(&mut self, except: Option<Which>) {
        for w in [Which::Main, Which::Log] {
            if Some(w) != except && std::mem::take(&mut self.io(w).pending) {
                self.publish(w);
            }
        }
    }

    /// Publishes the state of one service: pid (if changed), stat, status — in that order,
    /// each via `X.new` and rename (§4). A failure skips the rest of the update as runit does.
    #[inline(never)]
    fn publish(&mut self, w: Which) {
        let s = *self.core.svc(w);
        if !s.exists {
            return;
        }
        let io = self.io(w);
        let f = io.files;
        let pfx: &[u8] = if w == Which::Log { b"log/" } else { b"" };
        // pid: not for the log until it has been started once (quirk, §7).
        let pid_due = io.pid_written != Some(s.pid)
            && !(w == Which::Log && io.pid_written.is_none() && s.pid == 0);
        if pid_due {
            let mut buf = [0u8; 24];
            let mut t = [0u8; 20];
            let n = if s.pid != 0 {
                put_cstr(&mut buf, crate::fmt_u64(s.pid as u64, &mut t))
            } else {
                0
            };
            if let Some(nl) = buf.get_mut(n) {
                *nl = b'\n';
            }
            let data = buf.get(..if n > 0 { n + 1 } else { 0 }).unwrap_or(&[]);
            if replace(pfx, b"pid", f.pid_new, f.pid, data).is_err() {
                return; // retried at the next publish
            }
            io.pid_written = Some(s.pid);
        }
        let mut line = [0u8; 64];
        let n = status::stat_line(s.state, s.paused, s.term, s.want, &mut line);
        let stat = line.get(..n).unwrap_or(&[]);
        if replace(pfx, b"stat", f.stat_new, f.stat, stat) == Err(Failed::Open) {
            return;
        }
        self.publish_info(w, &s);
        let rec = Status {
            when: s.when,
            pid: s.pid as u32,
            paused: s.paused,
            want: Status::want_byte(s.want),
            term: s.term,
            state: s.state as u8,
        };
        let new: &[u8] = b"supervise/status.new";
        match status::write(&rec, f.status_new, f.status) {
            Ok(()) => {}
            Err(WriteError::Open(e)) => warn(&[b"unable to open ", pfx, new], Some(e)),
            Err(WriteError::Write(e)) => warn(&[b"unable to write ", pfx, new], Some(e)),
            Err(WriteError::Short) => {
                warn(&[b"unable to write ", pfx, new, b": partial write."], None)
            }
            Err(WriteError::Rename(e)) => warn(
                &[b"unable to rename status.new to ", pfx, b"supervise/status"],
                Some(e),
            ),
        }
    }
}

impl Runsv {
    /// Writes `supervise/info` (src/info.rs) when it says something new; before `status`,
    /// so a reader seeing a new record finds the facts of the same run.
    #[inline(never)]
    fn publish_info(&mut self, w: Which, s: &Svc) {
        let mut i = Info::new();
        i.pid = s.pid as u32;
        i.since = Some(s.when);
        i.starts = s.starts;
        i.gave_up = s.gave_up.map(|g| match g {
            state::GaveUp::RestartLimit => info::GaveUp::RestartLimit,
            state::GaveUp::Finish125 => info::GaveUp::Finish125,
        });
        i.last = s.last.map(info::End::from_wstat);
        if s.state == State::Run {
            i.readiness = s.ready.published();
            if let state::Ready::Since(t) = s.ready {
                i.ready_since = Some(t.wall);
            }
            if w == Which::Main {
                i.mainpid = self.ready.mainpid;
                i.set_status(
                    self.ready
                        .status
                        .get(..self.ready.status_len)
                        .unwrap_or(&[]),
                );
            }
        }
        let mut buf = [0u8; info::MAX_LEN];
        let n = i.pack(&mut buf);
        let data = buf.get(..n).unwrap_or(&[]);
        let print = fingerprint(data);
        let io = self.io(w);
        if io.info_print == print {
            return;
        }
        let pfx: &[u8] = if w == Which::Log { b"log/" } else { b"" };
        if replace(pfx, b"info", io.files.info_new, io.files.info, data).is_ok() {
            io.info_print = print;
        }
    }
}

/// FNV-1a of a file's content (0 means "nothing written yet").
fn fingerprint(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3)
    }) | 1
}

/// Copies `src` into `buf` followed by a NUL (when it fits); returns `src`'s length.
fn put_cstr(buf: &mut [u8], src: &[u8]) -> usize {
    if let Some(dst) = buf.get_mut(..src.len()) {
        dst.copy_from_slice(src);
    }
    if let Some(nul) = buf.get_mut(src.len()) {
        *nul = 0;
    }
    src.len()
}

/// Replaces `supervise/NAME` (`pid` or `stat`) the way runit does: write `NAME.new` (a
/// failed write is not noticed, as runit's unchecked buffer), rename; `false` when it
/// could not be opened (the rest of the publish is skipped) — a failed rename is warned
/// about and ends the publish only for `pid`.
fn replace(pfx: &[u8], name: &[u8], new: &CStr, path: &CStr, data: &[u8]) -> Result<(), Failed> {
    match status::open_new(new) {
        Ok(fd) => {
            let _ = sys::write_all(fd.as_fd(), data);
        }
        Err(e) => {
            warn(
                &[b"unable to open ", pfx, b"supervise/", name, b".new"],
                Some(e),
            );
            return Err(Failed::Open);
        }
    }
    if let Err(e) = sys::rename(new, path) {
        warn(
            &[
                b"unable to rename ",
                name,
                b".new to ",
                pfx,
                b"supervise/",
                name,
            ],
            Some(e),
        );
        return Err(Failed::Rename);
    }
    Ok(())
}

/// Which step of [`replace`] failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Failed {
    Open,
    Rename,
}

/// Lets every process reach the notify socket at `path` (`supervise/notify`), as systemd's
/// `/run/systemd/notify` (0777) is: a service that dropped privileges before it notifies
/// (`chpst -u redis redis-server`, tor's `User`) must be able to connect, and runit's
/// `supervise/` is 0700. So the socket gets 0777 and `supervise/` search permission for
/// group and others (not read: its names stay unlisted; not write). Who is heard stays
/// the sender check's decision (`notify::sender_is_service`), which connecting cannot pass.
/// A failure is a warning; root-run services notify regardless.
fn open_to_all_senders(path: &CStr) {
    if let Err(e) = sys::chmod(path, 0o777) {
        warn(&[b"unable to change mode of supervise/notify"], Some(e));
    }
    match sys::stat(MAIN.dir) {
        Ok(st) if st.mode & 0o011 == 0o011 => {}
        Ok(st) => {
            if let Err(e) = sys::chmod(MAIN.dir, (st.mode & 0o7777) | 0o011) {
                warn(&[b"unable to change mode of supervise"], Some(e));
            }
        }
        Err(e) => warn(&[b"unable to stat supervise"], Some(e)),
    }
}

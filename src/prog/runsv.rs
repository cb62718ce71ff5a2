//! `runsv dir`: supervises one service and its optional log service (supervise-protocol.md).
//!
//! Reads top to bottom like runit's runsv: argument check, start-up (§3), then the main
//! loop (§8). Where runit blocks (the 1-second restart pause, fork-failure pauses, waiting
//! for a `control/<c>` script) we keep a deadline or a pending continuation in the poll loop
//! instead (divergence (c)), so control bytes, SIGTERM and child exits are always handled.
//!
//! After start-up nothing here allocates: paths are `&'static CStr`, messages and status
//! records are built in stack buffers, child argv arrays live on the stack.

use crate::control::Command;
use crate::msg;
use crate::spawn::{spawn, OnFail};
use crate::status::{self, State, Status, Want};
use crate::svdir::{self, SuperviseFiles, LOGSVC, MAIN};
use crate::sys::{self, signals, AsFd, Errno, OwnedFd, PollFd};
use crate::tai::Tai64n;
use std::ffi::CStr;

/// Exit codes (supervise-protocol.md §13).
pub mod exit {
    /// After `x` or SIGTERM, once the service and its log are down.
    pub const DONE: i32 = 0;
    /// Zero or two+ operands.
    pub const USAGE: i32 = 1;
    /// A fatal start-up error, or (in a forked child) a program that could not be executed.
    pub const FATAL: i32 = 111;
}

/// Pause after a failed fork before the next try (§9.1).
const FORK_RETRY_MS: i64 = 5000;
/// The 1-second rule (§8 step 5).
const THROTTLE_MS: i64 = 1000;

/// Which of the two services.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Which {
    Main,
    Log,
}

/// What to do when the running `control/<c>` script exits (divergence (c): runit waits for
/// the script in place; we continue from here when it is reaped).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Then {
    /// `control/u` ran: start `./run`.
    StartRun,
    /// `control/t` ran as step 1 of the stop sequence.
    StopAfterT,
    /// `control/d` or `control/x` ran: the stop sequence is over.
    Nothing,
    /// `control/<c>` ran for a signalling command.
    Signal(Command),
}

/// One supervised process (the service or its log) and its published state.
struct Svc {
    files: &'static SuperviseFiles,
    state: State,
    want: Want,
    pid: sys::pid_t,
    when: Tai64n,
    paused: bool,
    term: bool,
    /// Raw wait status of the last `./run` (finish arguments).
    wstat: i32,
    /// The pid the `pid` file shows (`None` = must be rewritten at the next update).
    pid_written: Option<sys::pid_t>,
    /// `o` accepted while down: start once.
    once: bool,
    ctrl_r: Option<OwnedFd>,
    /// Monotonic ms before which no start happens (1-second rule, fork-failure pause).
    not_before: i64,
}

impl Svc {
    fn new(files: &'static SuperviseFiles, down_file: &CStr) -> Svc {
        Svc {
            files,
            state: State::Down,
            want: if sys::stat(down_file).is_ok() {
                Want::Down
            } else {
                Want::Up
            },
            pid: 0,
            when: Tai64n::now(),
            paused: false,
            term: false,
            wstat: 0,
            pid_written: None,
            once: false,
            ctrl_r: None,
            not_before: 0,
        }
    }
}

/// A `control/<c>` script in flight, and what follows it.
#[derive(Clone, Copy)]
struct Script {
    pid: sys::pid_t,
    then: Then,
}

/// Control bytes read while a script was running, kept in order (upstream leaves them in
/// the FIFO while it blocks; we read them so that `x` takes effect at once).
struct Queue {
    buf: [u8; 128],
    head: usize,
    len: usize,
}

impl Queue {
    fn push(&mut self, b: u8) -> bool {
        if self.len == self.buf.len() {
            return false;
        }
        self.buf[(self.head + self.len) % self.buf.len()] = b;
        self.len += 1;
        true
    }
    fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let b = self.buf[self.head];
        self.head = (self.head + 1) % self.buf.len();
        self.len -= 1;
        Some(b)
    }
    fn full(&self) -> bool {
        self.len == self.buf.len()
    }
}

struct Runsv {
    main: Svc,
    log: Option<Svc>,
    /// Log pipe (read end, write end); `None` once closed by the exit logic.
    logpipe: Option<(OwnedFd, OwnedFd)>,
    selfpipe: OwnedFd,
    script: Option<Script>,
    queue: Queue,
    got_term: bool,
    exiting_log: bool,
    audit: bool,
}

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    if args.len() != 2 {
        let argv0 = args.first().map(|a| a.as_slice()).unwrap_or(b"runsv");
        msg::usage(argv0, b" dir");
        return exit::USAGE;
    }
    let dir = args[1].clone();
    msg::set_prefix(&[b"runsv ", &dir, b": "]);
    sys::alloc::set_oom_exit(exit::FATAL);
    let audit = std::env::var_os("RUNSV_ALLOC_AUDIT").is_some();
    startup(&dir, audit).run()
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

/// Start-up, in the observable order of §3. Every failure here is fatal (exit 111).
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

    let main = Svc::new(&MAIN, svdir::DOWN);
    let mut log = None;
    let mut logpipe = None;
    match sys::stat(svdir::LOG) {
        Err(Errno::NOENT) => {}
        Err(e) => warn(&[b"unable to stat() ./log: "], Some(e)),
        Ok(st) if !st.is_dir() => warn(&[b"./log: not a directory."], None),
        Ok(_) => {
            log = Some(Svc::new(&LOGSVC, svdir::LOG_DOWN));
            logpipe = Some(
                sys::pipe(0).unwrap_or_else(|e| fatal(&[b"unable to create log pipe"], Some(e))),
            );
        }
    }

    make_supervise_dir(&MAIN, b"", b"unable to readlink ./supervise");
    lock(&MAIN, libc::LOCK_EX | libc::LOCK_NB, b"supervise/lock");
    if log.is_some() {
        make_supervise_dir(&LOGSVC, b"log/", b"unable to readlink ./log/supervise");
        // runit: the log lock is taken blocking (quirk, §3 step 8).
        lock(&LOGSVC, libc::LOCK_EX, b"log/supervise/lock");
    }

    let mut r = Runsv {
        main,
        log,
        logpipe,
        selfpipe,
        script: None,
        queue: Queue {
            buf: [0; 128],
            head: 0,
            len: 0,
        },
        got_term: false,
        exiting_log: false,
        audit,
    };
    r.main.ctrl_r = Some(open_control(&MAIN, b"supervise/control"));
    r.update(Which::Main);
    if r.log.is_some() {
        let fd = open_control(&LOGSVC, b"log/supervise/control");
        if let Some(l) = r.log.as_mut() {
            l.ctrl_r = Some(fd);
        }
        r.update(Which::Log);
    }
    open_ok(&MAIN, b"unable to read supervise/ok");
    if r.log.is_some() {
        open_ok(&LOGSVC, b"unable to read log/supervise/ok");
    }
    r
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
        libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK,
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
    fn svc(&mut self, w: Which) -> &mut Svc {
        match w {
            Which::Main => &mut self.main,
            // The log is only addressed when it exists; fall back to main defensively.
            Which::Log => match self.log.as_mut() {
                Some(l) => l,
                None => &mut self.main,
            },
        }
    }

    /// The main loop (§8).
    fn run(&mut self) -> i32 {
        let base_allocs = sys::alloc::count();
        loop {
            let now = sys::now_mono_ms();
            // 1. The log service first, so it gets the lower pid.
            if let Some(l) = self.log.as_ref() {
                if l.pid == 0 && (l.want == Want::Up || l.once) && now >= l.not_before {
                    self.start(Which::Log);
                }
            }
            // 2. The main service: ./run (via control/u) or ./finish.
            let m = &self.main;
            if m.pid == 0
                && (m.want == Want::Up || m.state == State::Finish || m.once)
                && now >= m.not_before
            {
                if m.state == State::Finish {
                    self.start(Which::Main);
                } else if self.script.is_none() {
                    self.start_run();
                } else if !customised(b'u') {
                    // A slow control script for another command does not hold up a restart
                    // that needs no control/u.
                    self.start(Which::Main);
                }
            }
            // 3. Wait, with the nearest deadline as the timeout.
            let timeout = self.timeout(sys::now_mono_ms());
            let mut fds = [
                PollFd::new(self.selfpipe.as_fd(), sys::POLLIN),
                PollFd::maybe(self.main.ctrl_r.as_ref().map(|f| f.as_fd()), sys::POLLIN),
                PollFd::maybe(
                    self.log
                        .as_ref()
                        .and_then(|l| l.ctrl_r.as_ref())
                        .map(|f| f.as_fd()),
                    sys::POLLIN,
                ),
            ];
            let _ = signals::unblock(&[libc::SIGCHLD, libc::SIGTERM]);
            let _ = sys::poll(&mut fds, timeout);
            let _ = signals::block(&[libc::SIGCHLD, libc::SIGTERM]);
            // 4. Drain the self-pipe before acting.
            let got = signals::drain(self.selfpipe.as_fd());
            if signals::has(got, libc::SIGTERM) {
                self.got_term = true;
            }
            // 5. Reap.
            self.reap();
            // 6. At most one control byte per service per iteration.
            self.read_control(Which::Main);
            if self.log.is_some() {
                self.read_control(Which::Log);
            }
            // 7. SIGTERM acts as `x`.
            if self.got_term {
                self.got_term = false;
                self.command(Which::Main, b'x');
            }
            // 8. Exit logic.
            if self.main.want == Want::Exit
                && self.main.state == State::Down
                && self.script.is_none()
            {
                let log_pid = self.log.as_ref().map(|l| l.pid).unwrap_or(0);
                if log_pid == 0 {
                    if self.audit {
                        let mut b = [0u8; 20];
                        let n = sys::alloc::count().saturating_sub(base_allocs);
                        msg::note(&[b"alloc-audit: ", crate::fmt_u64(n, &mut b)]);
                    }
                    return exit::DONE;
                }
                if !self.exiting_log {
                    self.exiting_log = true;
                    if let Some(l) = self.log.as_mut() {
                        l.want = Want::Exit;
                    }
                    self.update(Which::Log);
                    // The log is not signalled: it sees EOF once every writer has closed.
                    if let Some((r, w)) = self.logpipe.take() {
                        if let Err(e) = sys::close(w) {
                            warn(&[b"unable to close logpipe[1]"], Some(e));
                        }
                        if let Err(e) = sys::close(r) {
                            warn(&[b"unable to close logpipe[0]"], Some(e));
                        }
                    }
                }
            }
        }
    }

    /// Milliseconds until the nearest pending start, or -1 (no periodic work at all).
    fn timeout(&self, now: i64) -> i32 {
        if self.script.is_none() && self.queue.len > 0 {
            return 0; // queued control bytes are due now
        }
        let mut t: i64 = -1;
        let mut consider = |s: &Svc, wants_start: bool| {
            if wants_start && s.pid == 0 && s.not_before > now {
                let d = s.not_before - now;
                t = if t < 0 { d } else { t.min(d) };
            }
        };
        let m = &self.main;
        consider(m, m.want == Want::Up || m.state == State::Finish || m.once);
        if let Some(l) = self.log.as_ref() {
            consider(l, l.want == Want::Up || l.once);
        }
        t.min(i32::MAX as i64) as i32
    }

    fn reap(&mut self) {
        loop {
            let ex = match sys::wait_nohang(-1) {
                Ok(Some(ex)) => ex,
                _ => return,
            };
            if let Some(s) = self.script {
                if s.pid == ex.pid {
                    self.script = None;
                    // runit takes the exit code from the high byte of the wait status: a
                    // script killed by a signal reads as 0, "handled" (quirk, §9.2).
                    let handled = (ex.status >> 8) & 0xff == 0;
                    self.after_script(s.then, handled);
                    continue;
                }
            }
            if self.main.pid == ex.pid {
                self.main_exited(ex.status);
            } else if self.log.as_ref().map(|l| l.pid) == Some(ex.pid) {
                let now = Tai64n::now();
                let mono = sys::now_mono_ms();
                if let Some(l) = self.log.as_mut() {
                    let started = l.when;
                    l.pid = 0;
                    l.state = State::Down;
                    l.term = false;
                    l.when = now;
                    if within_a_second(started, now) {
                        l.not_before = mono + THROTTLE_MS;
                    }
                }
                self.update(Which::Log);
            }
            // Other children (orphans re-parented to us as subreaper, old instances): ignored.
        }
    }

    fn main_exited(&mut self, wstat: i32) {
        let m = &mut self.main;
        m.pid = 0;
        m.term = false;
        if m.state != State::Finish {
            m.wstat = wstat;
            if sys::open(svdir::FINISH, libc::O_RDONLY, 0)
                .map(|fd| {
                    let _ = sys::close(fd);
                })
                .is_ok()
            {
                // ./finish starts at once; the timestamp stays the ./run start (§5).
                m.state = State::Finish;
                self.update(Which::Main);
                return;
            }
        }
        let now = Tai64n::now();
        let started = m.when;
        m.state = State::Down;
        m.when = now;
        // The 1-second rule, measured from the ./run start, as runit does.
        if within_a_second(started, now) {
            m.not_before = sys::now_mono_ms() + THROTTLE_MS;
        }
        self.update(Which::Main);
    }

    /// One byte from the control FIFO of `w`, if one is waiting.
    fn read_byte(&self, w: Which) -> Option<u8> {
        let fd = match w {
            Which::Main => self.main.ctrl_r.as_ref(),
            Which::Log => self.log.as_ref().and_then(|l| l.ctrl_r.as_ref()),
        }?;
        let mut b = [0u8; 1];
        match sys::read(fd.as_fd(), &mut b) {
            Ok(1) => Some(b[0]),
            _ => None,
        }
    }

    fn read_control(&mut self, w: Which) {
        if w == Which::Main && (self.script.is_some() || self.queue.len > 0) {
            // A script is running or earlier bytes wait: read into the queue, in order.
            if self.script.is_some() {
                if !self.queue.full() {
                    if let Some(b) = self.read_byte(w) {
                        self.command(w, b);
                    }
                }
                return;
            }
            if let Some(b) = self.queue.pop() {
                self.command(w, b);
            }
            return;
        }
        if let Some(b) = self.read_byte(w) {
            self.command(w, b);
        }
    }

    /// Acts on one control byte (§9.2).
    fn command(&mut self, w: Which, byte: u8) {
        let cmd = match Command::from_byte(byte) {
            Some(c) => c,
            None => return,
        };
        if w == Which::Main && self.script.is_some() {
            if cmd != Command::Exit {
                // Keep the order runit gives: this byte waits for the running script.
                let _ = self.queue.push(byte);
                return;
            }
            // `x` (or SIGTERM) does not wait for a slow script (divergence (c)): what that
            // script would have decided, and the bytes queued behind it, are moot once the
            // service is to exit. The script itself runs on and is reaped as any child.
            self.script = None;
            self.queue.len = 0;
        }
        let running = self.svc(w).state == State::Run;
        match cmd {
            Command::Up => {
                let s = self.svc(w);
                s.want = Want::Up;
                s.once = false;
                self.update(w);
                // The loop starts it (after the 1-second rule, if pending).
            }
            Command::Once => {
                let s = self.svc(w);
                s.want = Want::Down;
                if s.state == State::Down {
                    s.once = true;
                }
                self.update(w);
            }
            Command::Down => {
                let s = self.svc(w);
                s.want = Want::Down;
                s.once = false;
                self.update(w);
                if running {
                    self.stop(w);
                }
            }
            Command::Exit => {
                if w == Which::Log {
                    return;
                }
                self.main.want = Want::Exit;
                self.main.once = false;
                self.update(w);
                if running {
                    self.stop(w);
                }
            }
            Command::Term => {
                if running {
                    self.stop(w);
                }
            }
            Command::Kill
            | Command::Pause
            | Command::Cont
            | Command::Hup
            | Command::Alarm
            | Command::Interrupt
            | Command::Quit
            | Command::Usr1
            | Command::Usr2 => {
                if running && w == Which::Main && self.custom(byte, Then::Signal(cmd)) {
                    return; // continues in after_script
                }
                self.signal_cmd(w, cmd, running, false);
            }
        }
    }

    /// The signal part of a signalling command, after any `control/<c>` script.
    fn signal_cmd(&mut self, w: Which, cmd: Command, running: bool, handled: bool) {
        let s = self.svc(w);
        if running && !handled {
            if let Some(sig) = cmd.signal() {
                let _ = sys::kill(s.pid, sig);
            }
        }
        match cmd {
            Command::Pause => {
                s.paused = true;
                self.update(w);
            }
            Command::Cont => {
                s.paused = false;
                self.update(w);
            }
            // runit-rs keeps state until the reap (divergence (a)); runit sets it down here.
            _ => {}
        }
    }

    /// Stop sequence (§9.2), step 1: `control/t`, else TERM.
    fn stop(&mut self, w: Which) {
        if w == Which::Main && self.custom(b't', Then::StopAfterT) {
            return;
        }
        self.stop_after_t(w, false);
    }

    fn stop_after_t(&mut self, w: Which, handled: bool) {
        let s = self.svc(w);
        if s.pid != 0 && !handled {
            let _ = sys::kill(s.pid, libc::SIGTERM);
            s.term = true;
            self.update(w);
        }
        let s = self.svc(w);
        let (pid, want) = (s.pid, s.want);
        match want {
            Want::Up => {}
            Want::Down | Want::Exit => {
                if pid != 0 {
                    let _ = sys::kill(pid, libc::SIGCONT);
                }
                if w == Which::Main {
                    let c = if want == Want::Down { b'd' } else { b'x' };
                    let _ = self.custom(c, Then::Nothing);
                }
            }
        }
    }

    fn after_script(&mut self, then: Then, handled: bool) {
        match then {
            Then::StartRun => {
                let m = &self.main;
                if m.pid == 0 && m.state != State::Finish && (m.want == Want::Up || m.once) {
                    self.start(Which::Main);
                }
            }
            Then::StopAfterT => self.stop_after_t(Which::Main, handled),
            Then::Nothing => {}
            Then::Signal(cmd) => {
                let running = self.main.state == State::Run;
                self.signal_cmd(Which::Main, cmd, running, handled);
            }
        }
    }

    /// Starts `./run` after `control/u` (§9.1).
    fn start_run(&mut self) {
        if self.custom(b'u', Then::StartRun) {
            return;
        }
        self.start(Which::Main);
    }

    /// Runs `control/<c>` if it exists with the owner-execute bit; returns whether a script was
    /// started (its result then arrives in `after_script`).
    fn custom(&mut self, c: u8, then: Then) -> bool {
        let path = svdir::control_script(c);
        let cpath = match CStr::from_bytes_with_nul(&path) {
            Ok(p) => p,
            Err(_) => return false,
        };
        let name = &path[..9];
        match sys::stat(cpath) {
            Ok(st) if st.owner_exec() => {}
            Ok(_) | Err(Errno::NOENT) => return false,
            Err(e) => {
                warn(&[b"unable to stat ", name], Some(e));
                return false;
            }
        }
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
            || sys::execv_cstrs(cpath, &[cpath]),
            OnFail {
                kind: msg::Kind::Fatal,
                code: exit::FATAL,
                parts: &[b"unable to run control/?"],
            },
        );
        match spawned {
            Ok(pid) => {
                self.script = Some(Script { pid, then });
                true
            }
            Err(e) => {
                warn(&[b"unable to fork for ", name], Some(e));
                false
            }
        }
    }

    /// Forks `./run`, `./finish` or `log/run` (§9.1).
    fn start(&mut self, w: Which) {
        let pipe = self.logpipe.as_ref().map(|(r, w)| (r.as_fd(), w.as_fd()));
        let s = match w {
            Which::Main => &self.main,
            Which::Log => match self.log.as_ref() {
                Some(l) => l,
                None => return,
            },
        };
        let finishing = w == Which::Main && s.state == State::Finish;
        // Finish arguments, formatted before fork: exit code (or -1 if signalled), low byte.
        let mut a_buf = [0u8; 24];
        let mut b_buf = [0u8; 24];
        let (a, b) = if finishing {
            let st = s.wstat;
            let a_len = if libc::WIFEXITED(st) {
                let mut t = [0u8; 20];
                let d = crate::fmt_u64(libc::WEXITSTATUS(st) as u64, &mut t);
                a_buf[..d.len()].copy_from_slice(d);
                d.len()
            } else {
                a_buf[..2].copy_from_slice(b"-1");
                2
            };
            let mut t = [0u8; 20];
            let d = crate::fmt_u64((st & 0xff) as u64, &mut t);
            b_buf[..d.len()].copy_from_slice(d);
            (a_len, d.len())
        } else {
            (0, 0)
        };
        let fa = CStr::from_bytes_until_nul(&a_buf[..=a]).unwrap_or_default();
        let fb = CStr::from_bytes_until_nul(&b_buf[..=b]).unwrap_or_default();
        let child_fatal = |text: &[u8], e| -> ! {
            msg::child_exit(msg::Kind::Fatal, exit::FATAL, &[text], Some(e))
        };
        let spawned = match w {
            Which::Main => spawn(
                || {
                    if let Some(Err(e)) = pipe.map(|(_, lw)| sys::dup2(lw, 1)) {
                        child_fatal(b"unable to setup filedescriptor for ./run", e);
                    }
                },
                || {
                    if finishing {
                        sys::execv_cstrs(svdir::FINISH, &[svdir::FINISH, fa, fb])
                    } else {
                        sys::execv_cstrs(svdir::RUN, &[svdir::RUN])
                    }
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
            ),
            Which::Log => spawn(
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
        let pid = match spawned {
            Ok(pid) => pid,
            Err(e) => {
                warn(&[b"unable to fork, sleeping"], Some(e));
                let now = sys::now_mono_ms();
                let s = self.svc(w);
                s.not_before = now + FORK_RETRY_MS;
                return;
            }
        };
        let s = self.svc(w);
        if !finishing {
            s.when = Tai64n::now();
            s.state = State::Run;
        }
        s.pid = pid;
        s.paused = false;
        s.term = false;
        s.once = false;
        self.update(w);
    }

    /// Publishes the state of one service: pid (if changed), stat, status — in that order,
    /// each via `X.new` and rename (§4). A failure skips the rest of the update as runit does.
    fn update(&mut self, w: Which) {
        let s = match w {
            Which::Main => &mut self.main,
            Which::Log => match self.log.as_mut() {
                Some(l) => l,
                None => return,
            },
        };
        let f = s.files;
        let pfx: &[u8] = if w == Which::Log { b"log/" } else { b"" };
        // pid: not for the log until it has been started once (quirk, §7).
        let pid_due = s.pid_written != Some(s.pid)
            && !(w == Which::Log && s.pid_written.is_none() && s.pid == 0);
        if pid_due {
            let mut buf = [0u8; 24];
            let n = if s.pid != 0 {
                let mut t = [0u8; 20];
                let d = crate::fmt_u64(s.pid as u64, &mut t);
                buf[..d.len()].copy_from_slice(d);
                buf[d.len()] = b'\n';
                d.len() + 1
            } else {
                0
            };
            if replace(pfx, b"pid", f.pid_new, f.pid, &buf[..n]).is_err() {
                return; // retried at the next update
            }
            s.pid_written = Some(s.pid);
        }
        let mut line = [0u8; 64];
        let n = status::stat_line(s.state, s.paused, s.term, s.want, &mut line);
        if replace(pfx, b"stat", f.stat_new, f.stat, &line[..n]) == Err(Failed::Open) {
            return;
        }
        let rec = Status {
            when: s.when,
            pid: s.pid as u32,
            paused: s.paused,
            want: Status::want_byte(s.want),
            term: s.term,
            state: s.state as u8,
        }
        .pack();
        let _ = replace(pfx, b"status", f.status_new, f.status, &rec);
    }
}

/// Whether `control/<c>` would be run (exists with the owner-execute bit).
fn customised(c: u8) -> bool {
    let path = svdir::control_script(c);
    match CStr::from_bytes_with_nul(&path) {
        Ok(p) => sys::owner_executable(p),
        Err(_) => false,
    }
}

/// The 1-second rule's test: `now` < `started` + 1 s (§8 step 5).
fn within_a_second(started: Tai64n, now: Tai64n) -> bool {
    now.secs < started.secs + 1 || (now.secs == started.secs + 1 && now.nanos < started.nanos)
}

/// Which step of [`replace`] failed: runit skips the rest of an update after some.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Failed {
    Open,
    Rename,
}

/// Replaces `supervise/NAME` atomically (write `NAME.new`, rename), warning as runit does.
fn replace(pfx: &[u8], name: &[u8], new: &CStr, path: &CStr, data: &[u8]) -> Result<(), Failed> {
    if let Err(e) = write_file(new, data) {
        warn(
            &[b"unable to open ", pfx, b"supervise/", name, b".new"],
            Some(e),
        );
        return Err(Failed::Open);
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

/// Writes a whole small file (`O_WRONLY|O_CREAT|O_TRUNC|O_NONBLOCK`, 0644).
fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    let fd = sys::open(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NONBLOCK,
        0o644,
    )?;
    sys::write_all(fd.as_fd(), data)
}

//! runsv's decisions, as a pure state machine (supervise-protocol.md §8, §9; issue 10).
//!
//! [`Core`] holds everything runsv knows about its two services, the `control/<c>` script
//! in flight and the control bytes queued behind it. [`Core::step`] takes one [`Event`]
//! (a control byte, a child reaped, SIGTERM, the loop's tick, the outcome of a start the
//! shell was asked for) and returns the [`Actions`] to carry out: start a program, send a
//! signal, publish a service's state, close the log pipe, exit. It never forks, kills,
//! reads or writes anything, so every transition is table-tested without processes
//! (s6-supervise's `actions[state][event]` and svlogd's `line.rs` are the models).
//!
//! The shell (`mod.rs`) turns what `poll` reported into events in runit's order — reap,
//! then at most one control byte per service, then SIGTERM, then the tick — and carries
//! the actions out in order. A start is asked for with [`Action::Spawn`]; the shell answers
//! at once with [`Event::Spawned`], [`Event::SpawnFailed`] or (for a `control/<c>` script
//! that does not exist) [`Event::ScriptNotRun`] before it carries out anything else.
//!
//! Where runit blocks (the 1-second restart pause, the 5-second fork-failure pause, waiting
//! for a `control/<c>` script) the core keeps a deadline or the script's continuation
//! instead (divergence (c)). Nothing here allocates.

use crate::control::Command;
use crate::info::Readiness;
use crate::status::{State, Want};
use crate::tai::Tai64n;
use libc::pid_t;

/// Pause after a failed fork before the next try (§9.1).
pub const FORK_RETRY_MS: i64 = 5000;
/// The 1-second rule (§8 step 5).
pub const THROTTLE_MS: i64 = 1000;
/// Control bytes kept while a `control/<c>` script runs.
pub const QUEUE_LEN: usize = 128;

/// Which of the two services.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Which {
    Main,
    Log,
}

/// A program the shell starts for a service.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Prog {
    /// `./run` (or `log/run` for the log service).
    Run,
    /// `./finish` with the exit code and wait status of the last `./run`.
    Finish,
    /// `control/<c>` (main service only).
    Control(u8),
}

/// The clock readings of one event: wall time for the status record and runit's
/// 1-second rule, monotonic milliseconds for deadlines.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Now {
    pub wall: Tai64n,
    pub mono: i64,
}

/// One supervised process (the service or its log) as the status record shows it, plus
/// what decides its next start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Svc {
    /// The log service exists (`./log` is a directory); always true for the main service.
    pub exists: bool,
    pub state: State,
    pub want: Want,
    /// The running process (`./run`, `./finish` or `log/run`), 0 when none.
    pub pid: pid_t,
    /// Start of `./run`, or the moment it went down (§5).
    pub when: Tai64n,
    pub paused: bool,
    pub term: bool,
    /// Raw wait status of the last `./run` (the arguments of `./finish`).
    pub wstat: i32,
    /// `o` accepted while down: start once.
    pub once: bool,
    /// Monotonic ms before which no start happens (1-second rule, fork-failure pause).
    pub not_before: i64,
    /// `./run` starts since runsv started.
    pub starts: u64,
    /// The run that just ended had been ready for a second or more (kept until its
    /// restart is decided, through `./finish`).
    pub ready_long: bool,
    /// Wait status of the last `./run` that ended.
    pub last: Option<i32>,
    /// Readiness of the current run (docs/readiness.md).
    pub ready: Ready,
}

/// Readiness of the current run, with the moment it was reached (s6's throttle rule
/// needs it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ready {
    /// No readiness protocol for this run (or no run): started is ready, as in runit.
    Off,
    Waiting,
    Since(Now),
    Reloading,
    Stopping,
}

impl Ready {
    /// What `supervise/info` says.
    pub fn published(self) -> Readiness {
        match self {
            Ready::Off => Readiness::Off,
            Ready::Waiting => Readiness::Waiting,
            Ready::Since(_) => Readiness::Ready,
            Ready::Reloading => Readiness::Reloading,
            Ready::Stopping => Readiness::Stopping,
        }
    }
}

/// What a service said about its readiness.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Notice {
    /// A newline on the notification descriptor, or `READY=1`.
    Ready,
    /// `RELOADING=1` (without `READY=1` in the same datagram).
    Reloading,
    /// `STOPPING=1`.
    Stopping,
    /// Only `STATUS=` or `MAINPID=` changed: publish.
    Info,
}

impl Svc {
    /// A service at start-up: down, wanted up unless its `down` file exists.
    pub fn new(exists: bool, down_file: bool, now: Now) -> Svc {
        Svc {
            exists,
            state: State::Down,
            want: if down_file { Want::Down } else { Want::Up },
            pid: 0,
            when: now.wall,
            paused: false,
            term: false,
            wstat: 0,
            once: false,
            not_before: 0,
            starts: 0,
            ready_long: false,
            last: None,
            ready: Ready::Off,
        }
    }

    /// Whether it should be started (or, for the main service, `./finish` run) now, or as
    /// soon as its `not_before` deadline passes: the one "should it start?" test.
    fn wants_start(&self) -> bool {
        self.exists
            && self.pid == 0
            && (self.want == Want::Up || self.once || self.state == State::Finish)
    }
}

/// What to do when the running `control/<c>` script exits (divergence (c): runit waits
/// for the script in place; the core continues from here when it is reaped).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Then {
    /// `control/u` ran: start `./run`.
    StartRun,
    /// `control/t` ran as step 1 of the stop sequence.
    StopAfterT,
    /// `control/d` or `control/x` ran: the stop sequence is over.
    Nothing,
    /// `control/<c>` ran for a signalling command.
    Signal(Command),
}

/// The `control/<c>` script slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Script {
    None,
    /// Asked the shell to start it; its answer comes next.
    Asked(Then),
    Running {
        pid: pid_t,
        then: Then,
    },
}

/// Control bytes read while a script runs, kept in order (upstream leaves them in the
/// FIFO while it blocks; we read them so that `x` takes effect at once).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Queue {
    buf: [u8; QUEUE_LEN],
    head: usize,
    len: usize,
}

impl Queue {
    const EMPTY: Queue = Queue {
        buf: [0; QUEUE_LEN],
        head: 0,
        len: 0,
    };
    /// Appends a byte; one beyond [`QUEUE_LEN`] is not taken (the shell stops reading the
    /// FIFO when the queue is full, so none is offered: [`Core::fifo_turn`]).
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut((self.head + self.len) % QUEUE_LEN) {
            if self.len < QUEUE_LEN {
                *slot = b;
                self.len += 1;
            }
        }
    }
    fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let b = self.buf.get(self.head).copied();
        self.head = (self.head + 1) % QUEUE_LEN;
        self.len -= 1;
        b
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Something that happened, in the shell's words.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// A control byte read from `which`'s FIFO.
    Control(Which, u8),
    /// The oldest queued control byte's turn (the shell asks per [`Core::fifo_turn`]).
    Dequeue,
    /// A child was reaped. `finish_exists`: `./finish` can be opened (the shell looks
    /// only when `pid` is the main service's).
    Reaped {
        pid: pid_t,
        wstat: i32,
        finish_exists: bool,
    },
    /// SIGTERM: acts as `x`.
    Term,
    /// The loop is about to wait (every iteration, and whenever a deadline passed): the
    /// exit logic, then the starts that are due. `control_u`: `control/u` exists with the
    /// owner-execute bit (the shell looks only when [`Core::asks_control_u`] says so).
    Tick { control_u: bool },
    /// The start asked for with [`Action::Spawn`] succeeded; `readiness`: the run has a
    /// readiness protocol (`notification-fd` or `notify-socket`).
    Spawned {
        which: Which,
        prog: Prog,
        pid: pid_t,
        readiness: bool,
    },
    /// The running `./run` (or one of its processes) said something about readiness.
    Notice(Notice),
    /// ... failed to fork (the shell has warned).
    SpawnFailed { which: Which, prog: Prog },
    /// ... was a `control/<c>` script that does not exist or is not executable (or could
    /// not be forked): runsv does what it does without one.
    ScriptNotRun,
}

/// Something for the shell to do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Start a program; answer with [`Event::Spawned`] / [`Event::SpawnFailed`] /
    /// [`Event::ScriptNotRun`] before carrying out the next action.
    Spawn(Which, Prog),
    Kill {
        pid: pid_t,
        sig: i32,
    },
    /// Write the service's `pid` (if changed), `stat` and `status` from [`Core::svc`].
    Publish(Which),
    /// The log's want is exit: close our ends of the log pipe, so it sees EOF.
    CloseLogPipe,
    /// Both services are down after `x` or SIGTERM: exit 0.
    Exit,
}

/// The most actions one event can cause (a stop: TERM, publish, CONT, `control/d`).
pub const MAX_ACTIONS: usize = 8;

/// A fixed-size list of actions, in order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Actions {
    list: [Action; MAX_ACTIONS],
    len: usize,
}

impl Actions {
    fn new() -> Actions {
        Actions {
            list: [Action::Exit; MAX_ACTIONS],
            len: 0,
        }
    }
    fn push(&mut self, a: Action) {
        // MAX_ACTIONS is above the longest sequence any event produces (tested).
        if let Some(slot) = self.list.get_mut(self.len) {
            *slot = a;
            self.len += 1;
        }
    }
    pub fn as_slice(&self) -> &[Action] {
        self.list.get(..self.len).unwrap_or(&[])
    }
}

/// Which way the shell gets the next control byte for a service (§8 step 6).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Turn {
    /// Read one byte from the FIFO and send it as [`Event::Control`].
    Read,
    /// Send [`Event::Dequeue`]: a queued byte is next, the FIFO waits.
    Dequeue,
    /// Nothing this iteration (a script runs and the queue is full).
    Skip,
}

/// Everything runsv decides with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Core {
    svc: [Svc; 2],
    pub script: Script,
    pub queue: Queue,
    /// The log was told to exit and its pipe closed.
    exiting_log: bool,
}

impl Core {
    pub fn new(main: Svc, log: Svc) -> Core {
        Core {
            svc: [main, log],
            script: Script::None,
            queue: Queue::EMPTY,
            exiting_log: false,
        }
    }

    pub fn svc(&self, w: Which) -> &Svc {
        match w {
            Which::Main => &self.svc[0],
            Which::Log => &self.svc[1],
        }
    }

    fn svc_mut(&mut self, w: Which) -> &mut Svc {
        match w {
            Which::Main => &mut self.svc[0],
            Which::Log => &mut self.svc[1],
        }
    }

    /// The main service's running process (the shell checks `./finish` for it).
    pub fn main_pid(&self) -> pid_t {
        self.svc[0].pid
    }

    /// The running `control/<c>` script, 0 when none.
    pub fn script_pid(&self) -> pid_t {
        match self.script {
            Script::Running { pid, .. } => pid,
            Script::None | Script::Asked(_) => 0,
        }
    }

    fn script_busy(&self) -> bool {
        match self.script {
            Script::None => false,
            Script::Asked(_) | Script::Running { .. } => true,
        }
    }

    /// How the shell gets the next control byte for `w` this iteration.
    pub fn fifo_turn(&self, w: Which) -> Turn {
        match w {
            Which::Log => Turn::Read,
            Which::Main if self.script_busy() => {
                if self.queue.len() < QUEUE_LEN {
                    Turn::Read
                } else {
                    Turn::Skip
                }
            }
            Which::Main if !self.queue.is_empty() => Turn::Dequeue,
            Which::Main => Turn::Read,
        }
    }

    /// Whether the next tick needs to know if `control/u` exists: the main service is due
    /// for `./run` while a script for another command still runs.
    pub fn asks_control_u(&self, now: i64) -> bool {
        let m = &self.svc[0];
        self.script_busy() && m.wants_start() && m.state != State::Finish && now >= m.not_before
    }

    /// The nearest moment something is due (the poll timeout), `None` for none.
    pub fn deadline(&self, now: i64) -> Option<i64> {
        if !self.script_busy() && !self.queue.is_empty() {
            return Some(now); // queued control bytes are due now
        }
        self.svc
            .iter()
            .filter(|s| s.wants_start() && s.not_before > now)
            .map(|s| s.not_before)
            .min()
    }

    /// The one transition function.
    pub fn step(&mut self, ev: Event, now: Now) -> Actions {
        let mut out = Actions::new();
        match ev {
            Event::Control(w, b) => self.command(w, b, &mut out),
            Event::Dequeue => {
                // Only between scripts: while one runs, the queue keeps its order.
                if !self.script_busy() {
                    if let Some(b) = self.queue.pop() {
                        self.command(Which::Main, b, &mut out);
                    }
                }
            }
            Event::Reaped {
                pid,
                wstat,
                finish_exists,
            } => self.reaped(pid, wstat, finish_exists, now, &mut out),
            Event::Term => self.command(Which::Main, Command::Exit.byte(), &mut out),
            Event::Tick { control_u } => self.tick(control_u, now, &mut out),
            Event::Spawned {
                which,
                prog,
                pid,
                readiness,
            } => self.spawned(which, prog, pid, readiness, now, &mut out),
            Event::Notice(n) => self.notice(n, now, &mut out),
            Event::SpawnFailed { which, prog } => match prog {
                Prog::Run | Prog::Finish => {
                    self.svc_mut(which).not_before = now.mono + FORK_RETRY_MS;
                }
                Prog::Control(_) => self.script_not_run(&mut out),
            },
            Event::ScriptNotRun => self.script_not_run(&mut out),
        }
        out
    }

    /// Acts on one control byte (§9.2).
    fn command(&mut self, w: Which, byte: u8, out: &mut Actions) {
        let Some(cmd) = Command::from_byte(byte) else {
            return;
        };
        if w == Which::Main && self.script_busy() {
            if cmd != Command::Exit {
                // Keep the order runit gives: this byte waits for the running script.
                self.queue.push(byte);
                return;
            }
            // `x` (or SIGTERM) does not wait for a slow script (divergence (c)): what that
            // script would have decided, and the bytes queued behind it, are moot once the
            // service is to exit. The script itself runs on and is reaped as any child.
            self.script = Script::None;
            self.queue = Queue::EMPTY;
        }
        let running = self.svc(w).state == State::Run;
        match cmd {
            Command::Up => {
                let s = self.svc_mut(w);
                s.want = Want::Up;
                s.once = false;
                out.push(Action::Publish(w));
                // The tick starts it (after the 1-second rule, if pending).
            }
            Command::Once => {
                let s = self.svc_mut(w);
                s.want = Want::Down;
                if s.state == State::Down {
                    s.once = true;
                }
                out.push(Action::Publish(w));
            }
            Command::Down => {
                let s = self.svc_mut(w);
                s.want = Want::Down;
                s.once = false;
                out.push(Action::Publish(w));
                if running {
                    self.stop(w, out);
                }
            }
            Command::Exit => {
                if w == Which::Log {
                    return;
                }
                let s = self.svc_mut(w);
                s.want = Want::Exit;
                s.once = false;
                out.push(Action::Publish(w));
                if running {
                    self.stop(w, out);
                }
            }
            Command::Term => {
                if running {
                    self.stop(w, out);
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
                if running && w == Which::Main {
                    self.ask_script(byte, Then::Signal(cmd), out);
                    return; // continues when the shell answers
                }
                self.signal_cmd(w, cmd, running, false, out);
            }
        }
    }

    /// Asks the shell for `control/<c>`; the continuation `then` follows its answer.
    fn ask_script(&mut self, c: u8, then: Then, out: &mut Actions) {
        self.script = Script::Asked(then);
        out.push(Action::Spawn(Which::Main, Prog::Control(c)));
    }

    /// The signal part of a signalling command, after any `control/<c>` script.
    fn signal_cmd(
        &mut self,
        w: Which,
        cmd: Command,
        running: bool,
        handled: bool,
        out: &mut Actions,
    ) {
        let s = self.svc_mut(w);
        if running && !handled {
            if let Some(sig) = cmd.signal() {
                out.push(Action::Kill { pid: s.pid, sig });
            }
        }
        match cmd {
            Command::Pause => {
                s.paused = true;
                out.push(Action::Publish(w));
            }
            Command::Cont => {
                s.paused = false;
                out.push(Action::Publish(w));
            }
            // runit-rs keeps the state until the reap (divergence (a)); runit sets it down
            // at once for `k`.
            Command::Kill
            | Command::Hup
            | Command::Alarm
            | Command::Interrupt
            | Command::Quit
            | Command::Usr1
            | Command::Usr2
            | Command::Up
            | Command::Once
            | Command::Down
            | Command::Exit
            | Command::Term => {}
        }
    }

    /// Stop sequence (§9.2), step 1: `control/t`, else TERM.
    fn stop(&mut self, w: Which, out: &mut Actions) {
        match w {
            Which::Main => self.ask_script(b't', Then::StopAfterT, out),
            Which::Log => self.stop_after_t(w, false, out),
        }
    }

    /// Stop sequence, step 2: TERM unless `control/t` handled it, then CONT and
    /// `control/d` or `control/x` when the service is not wanted up.
    fn stop_after_t(&mut self, w: Which, handled: bool, out: &mut Actions) {
        // Only `./run` is signalled, never `./finish` (§9.2). A stop begun while running
        // gets here in state finish when `./run` exited, and `./finish` started, while a
        // slow `control/t` ran (divergence (c)); the pid is then the finish script's.
        let running = self.svc(w).state == State::Run;
        let s = self.svc_mut(w);
        if running && s.pid != 0 && !handled {
            out.push(Action::Kill {
                pid: s.pid,
                sig: libc::SIGTERM,
            });
            s.term = true;
            out.push(Action::Publish(w));
        }
        let s = self.svc(w);
        let (pid, want) = (s.pid, s.want);
        match want {
            Want::Up => {}
            Want::Down | Want::Exit => {
                if running && pid != 0 {
                    out.push(Action::Kill {
                        pid,
                        sig: libc::SIGCONT,
                    });
                }
                if w == Which::Main {
                    let c = if want == Want::Down { b'd' } else { b'x' };
                    self.ask_script(c, Then::Nothing, out);
                }
            }
        }
    }

    /// Where a script's continuation goes: after it exited (`handled`: its exit code was
    /// 0), or at once with `handled = false` when there was none to run.
    fn after_script(&mut self, then: Then, handled: bool, out: &mut Actions) {
        match then {
            Then::StartRun => {
                let m = self.svc(Which::Main);
                if m.pid == 0 && m.state != State::Finish && (m.want == Want::Up || m.once) {
                    out.push(Action::Spawn(Which::Main, Prog::Run));
                }
            }
            Then::StopAfterT => self.stop_after_t(Which::Main, handled, out),
            Then::Nothing => {}
            Then::Signal(cmd) => {
                let running = self.svc(Which::Main).state == State::Run;
                self.signal_cmd(Which::Main, cmd, running, handled, out);
            }
        }
    }

    fn script_not_run(&mut self, out: &mut Actions) {
        match self.script {
            Script::Asked(then) => {
                self.script = Script::None;
                self.after_script(then, false, out);
            }
            Script::None | Script::Running { .. } => {}
        }
    }

    fn spawned(
        &mut self,
        w: Which,
        prog: Prog,
        pid: pid_t,
        readiness: bool,
        now: Now,
        out: &mut Actions,
    ) {
        match prog {
            Prog::Control(_) => {
                if let Script::Asked(then) = self.script {
                    self.script = Script::Running { pid, then };
                }
            }
            Prog::Run | Prog::Finish => {
                let s = self.svc_mut(w);
                if prog == Prog::Run {
                    s.when = now.wall;
                    s.state = State::Run;
                    s.starts += 1;
                    s.ready = if readiness {
                        Ready::Waiting
                    } else {
                        Ready::Off
                    };
                }
                s.pid = pid;
                s.paused = false;
                s.term = false;
                s.once = false;
                out.push(Action::Publish(w));
            }
        }
    }

    fn reaped(&mut self, pid: pid_t, wstat: i32, finish_exists: bool, now: Now, out: &mut Actions) {
        if let Script::Running { pid: sp, then } = self.script {
            if sp == pid {
                self.script = Script::None;
                // runit takes the exit code from the high byte of the wait status: a
                // script killed by a signal reads as 0, "handled" (quirk, §9.2).
                let handled = (wstat >> 8) & 0xff == 0;
                self.after_script(then, handled, out);
                return;
            }
        }
        if pid == 0 {
            return;
        }
        if self.svc[0].pid == pid {
            self.main_exited(wstat, finish_exists, now, out);
        } else if self.svc[1].pid == pid {
            let l = self.svc_mut(Which::Log);
            let started = l.when;
            l.pid = 0;
            l.state = State::Down;
            l.term = false;
            l.last = Some(wstat);
            l.when = now.wall;
            if within_a_second(started, now.wall) {
                l.not_before = now.mono + THROTTLE_MS;
            }
            out.push(Action::Publish(Which::Log));
        }
        // Other children (orphans re-parented to us, old instances): nothing to decide.
    }

    fn main_exited(&mut self, wstat: i32, finish_exists: bool, now: Now, out: &mut Actions) {
        let m = self.svc_mut(Which::Main);
        m.pid = 0;
        m.term = false;
        if m.state != State::Finish {
            // s6's rule: a run that was ready for a second or more restarts at once.
            m.ready_long = match m.ready {
                Ready::Since(t) => now.mono - t.mono >= THROTTLE_MS,
                Ready::Off | Ready::Waiting | Ready::Reloading | Ready::Stopping => false,
            };
            m.ready = Ready::Off;
            m.wstat = wstat;
            m.last = Some(wstat);
            if finish_exists {
                // ./finish starts at the tick; the timestamp stays the ./run start (§5).
                m.state = State::Finish;
                out.push(Action::Publish(Which::Main));
                return;
            }
        }
        let started = m.when;
        m.state = State::Down;
        m.when = now.wall;
        // The 1-second rule, measured from the ./run start, as runit does.
        if within_a_second(started, now.wall) && !m.ready_long {
            m.not_before = now.mono + THROTTLE_MS;
        }
        m.ready_long = false;
        out.push(Action::Publish(Which::Main));
    }

    /// Readiness news from the running `./run`. The caller applies systemd's precedence
    /// within one datagram (`STOPPING` over `READY` over `RELOADING`); here a stopping
    /// service stays stopping, and the first `READY` of a run, or the one that ends a
    /// reload, sets the moment it became ready.
    fn notice(&mut self, n: Notice, now: Now, out: &mut Actions) {
        let m = self.svc_mut(Which::Main);
        if m.state != State::Run || m.pid == 0 || m.ready == Ready::Off {
            return;
        }
        m.ready = match (n, m.ready) {
            (_, Ready::Stopping) | (Notice::Stopping, _) => Ready::Stopping,
            (Notice::Info, r) => r,
            (Notice::Ready, Ready::Since(t)) => Ready::Since(t),
            (Notice::Ready, Ready::Off | Ready::Waiting | Ready::Reloading) => Ready::Since(now),
            (
                Notice::Reloading,
                Ready::Off | Ready::Waiting | Ready::Since(_) | Ready::Reloading,
            ) => Ready::Reloading,
        };
        out.push(Action::Publish(Which::Main));
    }

    /// §8 steps 8 then 1-2: the exit logic, then what is due to start.
    fn tick(&mut self, control_u: bool, now: Now, out: &mut Actions) {
        let m = self.svc[0];
        if m.want == Want::Exit && m.state == State::Down && !self.script_busy() {
            let l = self.svc[1];
            if l.pid == 0 {
                out.push(Action::Exit);
                return;
            }
            if !self.exiting_log {
                self.exiting_log = true;
                self.svc[1].want = Want::Exit;
                out.push(Action::Publish(Which::Log));
                // The log is not signalled: it sees EOF once every writer has closed.
                out.push(Action::CloseLogPipe);
            }
        }
        // The log service first, so it gets the lower pid.
        let l = self.svc[1];
        if l.wants_start() && now.mono >= l.not_before {
            out.push(Action::Spawn(Which::Log, Prog::Run));
        }
        let m = self.svc[0];
        if m.wants_start() && now.mono >= m.not_before {
            if m.state == State::Finish {
                out.push(Action::Spawn(Which::Main, Prog::Finish));
            } else if !self.script_busy() {
                self.ask_script(b'u', Then::StartRun, out);
            } else if !control_u {
                // A slow control script for another command does not hold up a restart
                // that needs no control/u.
                out.push(Action::Spawn(Which::Main, Prog::Run));
            }
        }
    }
}

/// The 1-second rule's test: `now` < `started` + 1 s (§8 step 5).
fn within_a_second(started: Tai64n, now: Tai64n) -> bool {
    now.secs < started.secs + 1 || (now.secs == started.secs + 1 && now.nanos < started.nanos)
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

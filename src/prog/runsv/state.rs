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

use super::conf::{Conf, KillMode};
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
/// After `timeout-kill` ran out, KILL is repeated this often until the service is gone
/// (also the grace for what is left of a group when no `timeout-kill` is set).
pub const KILL_AGAIN_MS: i64 = 5000;

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
    /// The stop and restart settings of the current (or last) run (docs/stopping.md).
    pub conf: Conf,
    /// `timeout-kill`: when the service being stopped gets KILL.
    pub kill_at: Option<i64>,
    /// `timeout-finish`: when the running `./finish` gets KILL.
    pub finish_kill_at: Option<i64>,
    /// `kill-mode group`: the process group `./run` left behind, and when it gets KILL.
    pub group_kill: Option<(pid_t, i64)>,
    /// `kill-mode cgroup`: `./run` ended (wait status kept) but its cgroup is not empty
    /// yet; the service counts as down once it is. With the moment of `cgroup.kill`.
    pub draining: Option<Draining>,
    /// `restart-limit`: when the last exits of `./run` happened (a ring of monotonic ms,
    /// kept as u32: differences are taken wrapping, and a window is at most a day).
    exits: [u32; super::conf::LIMIT_MAX as usize],
    exits_len: usize,
    exits_head: usize,
    /// `restart-delay`: the wait before the next start (`None`: not in a crash loop).
    pub delay: Option<i64>,
    /// Why the service stays down for good, until `sv up` (or `once`).
    pub gave_up: Option<GaveUp>,
}

/// `./run` ended in `kill-mode cgroup` with processes left in its cgroup.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Draining {
    /// `./run`'s wait status, and whether `./finish` exists, for when the cgroup is empty.
    pub wstat: i32,
    pub finish_exists: bool,
    /// When `cgroup.kill` is due.
    pub kill_at: i64,
}

/// Why a service stopped being restarted (docs/stopping.md).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GaveUp {
    /// `restart-limit`: N exits within SECONDS.
    RestartLimit,
    /// `./finish` exited 125 (s6's "permanent failure").
    Finish125,
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
            conf: Conf::default(),
            kill_at: None,
            finish_kill_at: None,
            group_kill: None,
            draining: None,
            exits: [0; super::conf::LIMIT_MAX as usize],
            exits_len: 0,
            exits_head: 0,
            delay: None,
            gave_up: None,
        }
    }

    /// Where signals for this service go: its pid, or its process group in the group
    /// kill modes (`./run` and `./finish` lead their own groups there).
    fn target(&self) -> pid_t {
        match self.conf.kill_mode {
            KillMode::Process => self.pid,
            KillMode::Group | KillMode::Cgroup => -self.pid,
        }
    }

    /// Records an exit of `./run` at `now`; whether the last `n` fell within `window`.
    fn limit_reached(&mut self, now: i64) -> bool {
        let cap = self.exits.len();
        let now = now as u32;
        if let Some(slot) = self.exits.get_mut((self.exits_head + self.exits_len) % cap) {
            *slot = now;
        }
        if self.exits_len < cap {
            self.exits_len += 1;
        } else {
            self.exits_head = (self.exits_head + 1) % cap;
        }
        let Some((n, window)) = self.conf.restart_limit else {
            return false;
        };
        let n = (n as usize).min(cap);
        if self.exits_len < n {
            return false;
        }
        let oldest = (self.exits_head + self.exits_len - n) % cap;
        self.exits
            .get(oldest)
            .is_some_and(|&t| i64::from(now.wrapping_sub(t)) <= window)
    }

    /// The deadlines this service has pending.
    fn deadlines(&self) -> impl Iterator<Item = i64> {
        [
            self.kill_at,
            self.finish_kill_at,
            self.group_kill.map(|g| g.1),
            self.draining.map(|d| d.kill_at),
        ]
        .into_iter()
        .flatten()
    }

    /// Whether it should be started (or, for the main service, `./finish` run) now, or as
    /// soon as its `not_before` deadline passes: the one "should it start?" test.
    fn wants_start(&self) -> bool {
        self.exists
            && self.pid == 0
            && self.draining.is_none()
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
    /// A child was reaped. `finish_exists`: `./finish` can be opened; `cgroup_populated`:
    /// the service's cgroup still holds processes (the shell looks for both only when
    /// `pid` is the main service's).
    Reaped {
        pid: pid_t,
        wstat: i32,
        finish_exists: bool,
        cgroup_populated: bool,
    },
    /// SIGTERM: acts as `x`.
    Term,
    /// The loop is about to wait (every iteration, and whenever a deadline passed): the
    /// exit logic, then the starts that are due. `control_u`: `control/u` exists with the
    /// owner-execute bit (the shell looks only when [`Core::asks_control_u`] says so).
    Tick { control_u: bool },
    /// The start asked for with [`Action::Spawn`] succeeded; `readiness`: the run has a
    /// readiness protocol (`notification-fd` or `notify-socket`); `conf`: the settings
    /// the shell read for a start of `./run` (the current ones for other programs).
    Spawned {
        which: Which,
        prog: Prog,
        pid: pid_t,
        readiness: bool,
        conf: Conf,
    },
    /// The running `./run` (or one of its processes) said something about readiness.
    Notice(Notice),
    /// `kill-mode cgroup`: the service's cgroup is empty now.
    CgroupEmpty,
    /// At start-up, in a group kill mode: a previous runsv's service is still running
    /// (`pgid`: its process group; 0: only its cgroup is known). Nothing starts until
    /// it is gone; `conf` is the service's settings now.
    Leftover { pgid: pid_t, conf: Conf },
    /// ... and it is gone.
    LeftoverGone,
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
    /// `kill-mode cgroup`: send `sig` to every process in the service's cgroup.
    CgroupSignal(i32),
    /// `kill-mode cgroup`: write `1` to the cgroup's `cgroup.kill`.
    CgroupKill,
    /// The service will not be restarted until `sv up`: say why, once.
    GaveUp(GaveUp),
}

/// The most actions one event can cause (a tick that meets every deadline at once, the
/// exit logic and both starts stays below it; tested).
pub const MAX_ACTIONS: usize = 16;

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
    /// The clock of the event being stepped.
    now: Now,
    /// What a previous runsv left running (process group, 0 for a cgroup only), and
    /// when it gets KILL; nothing starts meanwhile.
    pub leftover: Option<(pid_t, i64)>,
}

impl Core {
    pub fn new(main: Svc, log: Svc) -> Core {
        Core {
            svc: [main, log],
            script: Script::None,
            queue: Queue::EMPTY,
            exiting_log: false,
            now: Now {
                wall: main.when,
                mono: 0,
            },
            leftover: None,
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
        let starts = self
            .svc
            .iter()
            .filter(|s| s.wants_start() && s.not_before > now && self.leftover.is_none())
            .map(|s| s.not_before);
        let kills = self.svc.iter().flat_map(|s| s.deadlines());
        // A kill deadline that passed is due now (the next tick acts on it and re-arms it).
        starts
            .chain(kills)
            .chain(self.leftover.map(|l| l.1))
            .min()
            .map(|d| d.max(now))
    }

    /// The one transition function. (Not inlined into the shell's loop: its locals then
    /// live only while it runs, and the loop's frame stays small.)
    #[inline(never)]
    pub fn step(&mut self, ev: Event, now: Now) -> Actions {
        let mut out = Actions::new();
        self.now = now;
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
                cgroup_populated,
            } => self.reaped(pid, wstat, finish_exists, cgroup_populated, now, &mut out),
            Event::Term => self.command(Which::Main, Command::Exit.byte(), &mut out),
            Event::Tick { control_u } => self.tick(control_u, now, &mut out),
            Event::Spawned {
                which,
                prog,
                pid,
                readiness,
                conf,
            } => self.spawned(which, prog, pid, readiness, conf, now, &mut out),
            Event::Notice(n) => self.notice(n, now, &mut out),
            Event::CgroupEmpty => {
                if let Some(d) = self.svc[0].draining.take() {
                    self.main_down(d.wstat, d.finish_exists, now, &mut out);
                }
                if let Some((0, _)) = self.leftover {
                    self.leftover = None;
                }
            }
            Event::Leftover { pgid, conf } => {
                self.svc[0].conf = conf;
                let grace = conf.timeout_kill.unwrap_or(KILL_AGAIN_MS);
                self.leftover = Some((pgid, now.mono + grace));
                let sig = conf.down_signal;
                if pgid > 0 {
                    out.push(Action::Kill { pid: -pgid, sig });
                    out.push(Action::Kill {
                        pid: -pgid,
                        sig: libc::SIGCONT,
                    });
                } else {
                    out.push(Action::CgroupSignal(sig));
                    out.push(Action::CgroupSignal(libc::SIGCONT));
                }
            }
            Event::LeftoverGone => self.leftover = None,
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
                s.gave_up = None;
                s.delay = None;
                out.push(Action::Publish(w));
                // The tick starts it (after the 1-second rule, if pending).
            }
            Command::Once => {
                let s = self.svc_mut(w);
                s.want = Want::Down;
                if s.state == State::Down {
                    s.once = true;
                    s.gave_up = None;
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
                out.push(Action::Kill {
                    pid: s.target(),
                    sig,
                });
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
    /// `control/d` or `control/x` when the service is not wanted up. A service taken down
    /// (`d`, `x`, SIGTERM) gets its `down-signal` instead of TERM, and its `timeout-kill`
    /// starts (also when `control/t` did the stopping).
    fn stop_after_t(&mut self, w: Which, handled: bool, out: &mut Actions) {
        // Only `./run` is signalled, never `./finish` (§9.2). A stop begun while running
        // gets here in state finish when `./run` exited, and `./finish` started, while a
        // slow `control/t` ran (divergence (c)); the pid is then the finish script's.
        let running = self.svc(w).state == State::Run;
        let now = self.now.mono;
        let s = self.svc_mut(w);
        let taken_down = s.want != Want::Up;
        if running && s.pid != 0 && !handled {
            out.push(Action::Kill {
                pid: s.target(),
                sig: if taken_down {
                    s.conf.down_signal
                } else {
                    libc::SIGTERM
                },
            });
            s.term = true;
            out.push(Action::Publish(w));
        }
        if s.pid != 0 && taken_down && s.state == State::Run && s.kill_at.is_none() {
            s.kill_at = s.conf.timeout_kill.map(|t| now + t);
        }
        let s = self.svc(w);
        let (target, pid, want) = (s.target(), s.pid, s.want);
        match want {
            Want::Up => {}
            Want::Down | Want::Exit => {
                if running && pid != 0 {
                    out.push(Action::Kill {
                        pid: target,
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

    #[allow(clippy::too_many_arguments)]
    fn spawned(
        &mut self,
        w: Which,
        prog: Prog,
        pid: pid_t,
        readiness: bool,
        conf: Conf,
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
                    s.conf = conf;
                    s.kill_at = None;
                } else {
                    s.finish_kill_at = s.conf.timeout_finish.map(|t| now.mono + t);
                }
                s.pid = pid;
                s.paused = false;
                s.term = false;
                s.once = false;
                out.push(Action::Publish(w));
            }
        }
    }

    fn reaped(
        &mut self,
        pid: pid_t,
        wstat: i32,
        finish_exists: bool,
        cgroup_populated: bool,
        now: Now,
        out: &mut Actions,
    ) {
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
        if self.svc[0].pid == pid && self.svc[0].draining.is_none() {
            self.main_exited(wstat, finish_exists, cgroup_populated, now, out);
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

    /// `./run` or `./finish` ended. In a group kill mode what is left of `./run`'s group
    /// is stopped too (TERM and CONT now, KILL after `timeout-kill` or 5 s); with a cgroup
    /// that still holds processes the service counts as down only once it is empty.
    fn main_exited(
        &mut self,
        wstat: i32,
        finish_exists: bool,
        cgroup_populated: bool,
        now: Now,
        out: &mut Actions,
    ) {
        let m = self.svc_mut(Which::Main);
        m.kill_at = None;
        let grace = m.conf.timeout_kill.unwrap_or(KILL_AGAIN_MS);
        if m.state == State::Run {
            match m.conf.kill_mode {
                KillMode::Process => {}
                KillMode::Group => {
                    let pgid = m.pid;
                    out.push(Action::Kill {
                        pid: -pgid,
                        sig: libc::SIGTERM,
                    });
                    out.push(Action::Kill {
                        pid: -pgid,
                        sig: libc::SIGCONT,
                    });
                    m.group_kill = Some((pgid, now.mono + grace));
                }
                KillMode::Cgroup if cgroup_populated => {
                    out.push(Action::CgroupSignal(libc::SIGTERM));
                    out.push(Action::CgroupSignal(libc::SIGCONT));
                    // The record keeps showing the run until the cgroup is empty.
                    m.draining = Some(Draining {
                        wstat,
                        finish_exists,
                        kill_at: now.mono + grace,
                    });
                    return;
                }
                KillMode::Cgroup => {}
            }
        } else {
            m.finish_kill_at = None;
            // s6: ./finish exiting 125 means the service failed for good.
            if libc::WIFEXITED(wstat) && libc::WEXITSTATUS(wstat) == 125 {
                m.want = Want::Down;
                m.once = false;
                m.gave_up = Some(GaveUp::Finish125);
                out.push(Action::GaveUp(GaveUp::Finish125));
            }
        }
        self.main_down(wstat, finish_exists, now, out);
    }

    /// The rest of an exit of `./run` (or `./finish`): `./finish` next, or down, with the
    /// restart pace of runit's 1-second rule, `restart-delay` and `restart-limit`.
    fn main_down(&mut self, wstat: i32, finish_exists: bool, now: Now, out: &mut Actions) {
        let m = self.svc_mut(Which::Main);
        m.pid = 0;
        m.term = false;
        if m.state != State::Finish {
            if m.limit_reached(now.mono) && m.want == Want::Up {
                m.want = Want::Down;
                m.once = false;
                m.gave_up = Some(GaveUp::RestartLimit);
                out.push(Action::GaveUp(GaveUp::RestartLimit));
            }
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
        let quick = within_a_second(started, now.wall) && !m.ready_long;
        match m.conf.restart_delay {
            // The 1-second rule, measured from the ./run start, as runit does.
            None => {
                if quick {
                    m.not_before = now.mono + THROTTLE_MS;
                }
            }
            // Each run that ends quickly doubles the wait, from MIN to MAX; a run that
            // lasted (or was ready) a second resets it.
            Some((min, max)) => {
                m.delay = if quick {
                    Some(m.delay.map_or(min, |d| (d.max(1) * 2).min(max)))
                } else {
                    None
                };
                if let Some(d) = m.delay {
                    m.not_before = now.mono + d;
                }
            }
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

    /// The deadlines of the stop settings that have passed (docs/stopping.md).
    fn kill_deadlines(&mut self, now: Now, out: &mut Actions) {
        let t = now.mono;
        let m = &mut self.svc[0];
        if m.kill_at.is_some_and(|at| t >= at) {
            m.kill_at = Some(t + KILL_AGAIN_MS);
            if m.conf.kill_mode == KillMode::Cgroup {
                out.push(Action::CgroupKill);
            } else if m.pid != 0 {
                out.push(Action::Kill {
                    pid: m.target(),
                    sig: libc::SIGKILL,
                });
                out.push(Action::Kill {
                    pid: m.target(),
                    sig: libc::SIGCONT,
                });
            }
        }
        if m.finish_kill_at.is_some_and(|at| t >= at) {
            m.finish_kill_at = Some(t + KILL_AGAIN_MS);
            if m.state == State::Finish && m.pid != 0 {
                out.push(Action::Kill {
                    pid: m.target(),
                    sig: libc::SIGKILL,
                });
            }
        }
        if let Some((pgid, at)) = m.group_kill {
            if t >= at {
                m.group_kill = None;
                // Not the group of a new run (a pid reused within the grace).
                if pgid != m.pid {
                    out.push(Action::Kill {
                        pid: -pgid,
                        sig: libc::SIGKILL,
                    });
                }
            }
        }
        if let Some(d) = m.draining.as_mut() {
            if t >= d.kill_at {
                d.kill_at = t + KILL_AGAIN_MS;
                out.push(Action::CgroupKill);
            }
        }
        if let Some((pgid, at)) = self.leftover {
            if t >= at {
                self.leftover = Some((pgid, t + KILL_AGAIN_MS));
                out.push(if pgid > 0 {
                    Action::Kill {
                        pid: -pgid,
                        sig: libc::SIGKILL,
                    }
                } else {
                    Action::CgroupKill
                });
            }
        }
    }

    /// §8 steps 8 then 1-2: the exit logic, then what is due to start (after the kill
    /// deadlines that passed).
    fn tick(&mut self, control_u: bool, now: Now, out: &mut Actions) {
        self.kill_deadlines(now, out);
        if self.leftover.is_some() {
            return; // a previous instance is still being stopped: nothing starts
        }
        let m = &self.svc[0];
        if m.want == Want::Exit && m.state == State::Down && !self.script_busy() {
            if self.svc[1].pid == 0 {
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
        let l = &self.svc[1];
        if l.wants_start() && now.mono >= l.not_before {
            out.push(Action::Spawn(Which::Log, Prog::Run));
        }
        let m = &self.svc[0];
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

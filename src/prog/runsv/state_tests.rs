//! The state × event table of runsv's core (issue 10): every starting state below meets
//! every event, and the actions (with the shell's answers to the starts they ask for) and
//! the resulting state are pinned. The expectations follow supervise-protocol.md §8-§9
//! and runit's runsv; the process-level matrix (tests/it/runsv_matrix.rs) checks the same
//! ground against Debian's binary.

use super::*;

use crate::prog::runsv::conf::{Conf, KillMode};
use std::cell::Cell;

const T0: i64 = 1_000_000;

thread_local! {
    /// The settings `drive` answers a start of ./run with (what the shell would read).
    static RUN_CONF: Cell<Conf> = Cell::new(Conf::default());
}

fn set_run_conf(c: Conf) {
    RUN_CONF.with(|x| x.set(c));
}

fn now(ms: i64) -> Now {
    Now {
        wall: Tai64n {
            secs: (1 << 62) + 10 + (ms / 1000) as u64,
            nanos: ((ms % 1000) * 1_000_000) as u32,
        },
        mono: ms,
    }
}

fn svc(state: State, want: Want, pid: pid_t) -> Svc {
    let mut s = Svc::new(true, want == Want::Down, now(T0 - 5000));
    s.state = state;
    s.want = want;
    s.pid = pid;
    s
}

/// The starting states of the table.
fn states() -> Vec<(&'static str, Core)> {
    let log = svc(State::Run, Want::Up, 50);
    let mk = |m: Svc| Core::new(m, log);
    let mut v = vec![
        ("down/up", mk(svc(State::Down, Want::Up, 0))),
        ("down/down", mk(svc(State::Down, Want::Down, 0))),
        ("run/up", mk(svc(State::Run, Want::Up, 100))),
        ("run/down", mk(svc(State::Run, Want::Down, 100))),
        ("finish/up", mk(svc(State::Finish, Want::Up, 200))),
    ];
    let mut c = mk(svc(State::Run, Want::Up, 100));
    c.svc[0].paused = true;
    v.push(("run/up,paused", c));
    let mut c = mk(svc(State::Run, Want::Up, 100));
    c.script = Script::Running {
        pid: 300,
        then: Then::Signal(Command::Hup),
    };
    v.push(("run/up,script", c));
    let mut c = v.last().map(|x| x.1).expect("run/up,script");
    c.queue.push(b'd');
    c.queue.push(b'u');
    v.push(("run/up,script+du", c));
    let mut c = mk(svc(State::Down, Want::Up, 0));
    c.svc[1] = svc(State::Down, Want::Up, 0);
    c.svc[1].exists = false;
    v.push(("down/up,nolog", c));
    v.push(("down/exit", mk(svc(State::Down, Want::Exit, 0))));
    let mut c = mk(svc(State::Down, Want::Exit, 0));
    c.svc[1] = svc(State::Down, Want::Exit, 0);
    c.exiting_log = true;
    v.push(("down/exit,log gone", c));
    let mut c = mk(svc(State::Down, Want::Up, 0));
    c.svc[0].not_before = T0 + 400;
    v.push(("down/up,throttled", c));
    v.push(("finish due", mk(svc(State::Finish, Want::Down, 0))));
    let mut c = mk(svc(State::Run, Want::Up, 100));
    c.svc[0].when = now(T0 - 500).wall;
    v.push(("run/up,fresh", c));
    v
}

/// The events of the table, with the names of the `control/<c>` scripts that exist.
fn events() -> Vec<(&'static str, Event, &'static [u8])> {
    let mut v: Vec<(&'static str, Event, &'static [u8])> = Vec::new();
    for (name, b) in [
        ("u", b'u'),
        ("o", b'o'),
        ("d", b'd'),
        ("x", b'x'),
        ("t", b't'),
        ("k", b'k'),
        ("p", b'p'),
        ("c", b'c'),
        ("h", b'h'),
        ("a", b'a'),
        ("i", b'i'),
        ("q", b'q'),
        ("1", b'1'),
        ("2", b'2'),
        ("z", b'z'),
    ] {
        v.push((name, Event::Control(Which::Main, b), b""));
    }
    v.push(("log d", Event::Control(Which::Log, b'd'), b""));
    v.push(("log x", Event::Control(Which::Log, b'x'), b""));
    v.push(("d+ctl/t", Event::Control(Which::Main, b'd'), b"t"));
    v.push(("h+ctl/h", Event::Control(Which::Main, b'h'), b"h"));
    let reaped = |pid, wstat, finish_exists| Event::Reaped {
        pid,
        wstat,
        finish_exists,
        cgroup_populated: false,
    };
    v.push(("reap main", reaped(100, 0, false), b""));
    v.push(("reap main+fin", reaped(100, 0x0100, true), b""));
    v.push(("reap finish", reaped(200, 0, true), b""));
    v.push(("reap log", reaped(50, 0, false), b""));
    v.push(("reap script 0", reaped(300, 0, false), b""));
    v.push(("reap script 1", reaped(300, 0x0100, false), b""));
    v.push(("reap other", reaped(999, 0, false), b""));
    v.push(("term", Event::Term, b""));
    v.push(("tick", Event::Tick { control_u: false }, b""));
    v.push(("tick+ctl/u", Event::Tick { control_u: true }, b"u"));
    v.push(("dequeue", Event::Dequeue, b""));
    v
}

/// Plays the shell: steps the core and answers every start at once (the programs get
/// pids 101, 102, ... and the `control/<c>` in `scripts` exist). Returns the transcript.
fn drive(core: &mut Core, ev: Event, at: i64, scripts: &[u8]) -> String {
    let mut next_pid = 101;
    let mut out = Vec::new();
    let mut queue = vec![ev];
    while let Some(ev) = queue.pop() {
        let acts = core.step(ev, now(at));
        assert!(acts.as_slice().len() < MAX_ACTIONS, "{ev:?}: room to spare");
        // Answers go before the remaining actions: run them depth-first.
        let mut pending: Vec<Action> = acts.as_slice().iter().rev().copied().collect();
        while let Some(a) = pending.pop() {
            out.push(show(a));
            if let Action::Spawn(w, prog) = a {
                let reply = match prog {
                    Prog::Control(c) if !scripts.contains(&c) => Event::ScriptNotRun,
                    _ => {
                        next_pid += 1;
                        Event::Spawned {
                            which: w,
                            prog,
                            pid: next_pid - 1,
                            readiness: false,
                            conf: if prog == Prog::Run {
                                RUN_CONF.with(|c| c.get())
                            } else {
                                core.svc(w).conf
                            },
                        }
                    }
                };
                let more = core.step(reply, now(at));
                for &m in more.as_slice().iter().rev() {
                    pending.push(m);
                }
            }
        }
    }
    out.join(" ")
}

fn show(a: Action) -> String {
    let w = |w: Which| match w {
        Which::Main => "main",
        Which::Log => "log",
    };
    match a {
        Action::Spawn(x, Prog::Run) => format!("run({})", w(x)),
        Action::Spawn(_, Prog::Finish) => "finish".into(),
        Action::Spawn(_, Prog::Control(c)) => format!("ctl/{}", c as char),
        Action::Kill { pid, sig } => format!("kill({pid},{})", signame(sig)),
        Action::Publish(x) => format!("pub({})", w(x)),
        Action::CloseLogPipe => "closelog".into(),
        Action::Exit => "exit".into(),
        Action::CgroupSignal(sig) => format!("cgsig({})", signame(sig)),
        Action::CgroupKill => "cgkill".into(),
        Action::GaveUp(g) => format!("gaveup({g:?})"),
    }
}

fn signame(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "TERM",
        libc::SIGCONT => "CONT",
        libc::SIGKILL => "KILL",
        libc::SIGSTOP => "STOP",
        libc::SIGHUP => "HUP",
        libc::SIGALRM => "ALRM",
        libc::SIGINT => "INT",
        libc::SIGQUIT => "QUIT",
        libc::SIGUSR1 => "USR1",
        libc::SIGUSR2 => "USR2",
        _ => "?",
    }
}

/// A short picture of a core: `main state/want pid flags | log ... | script | queue`.
fn summary(c: &Core) -> String {
    let s = |x: &Svc| {
        if !x.exists {
            return "-".to_string();
        }
        let st = match x.state {
            State::Down => "down",
            State::Run => "run",
            State::Finish => "finish",
        };
        let want = match x.want {
            Want::Up => "up",
            Want::Down => "down",
            Want::Exit => "exit",
        };
        let mut f = format!("{st}/{want} {}", x.pid);
        for (on, name) in [
            (x.paused, " paused"),
            (x.term, " term"),
            (x.once, " once"),
            (x.not_before > T0, " later"),
        ] {
            if on {
                f.push_str(name);
            }
        }
        f
    };
    let script = match c.script {
        Script::None => "-".to_string(),
        Script::Asked(_) => "asked".to_string(),
        Script::Running { pid, .. } => format!("script {pid}"),
    };
    let q: String = (0..c.queue.len())
        .map(|i| c.queue.buf[(c.queue.head + i) % QUEUE_LEN] as char)
        .collect();
    format!("{} | {} | {} | [{}]", s(&c.svc[0]), s(&c.svc[1]), script, q)
}

/// Prints the table as it is now (`cargo test print_table -- --ignored --nocapture`), for
/// reviewing a change to the core against the pinned one below.
#[test]
#[ignore]
fn print_table() {
    for (sn, st) in states() {
        for (en, ev, scripts) in events() {
            let mut c = st;
            let t = drive(&mut c, ev, T0, scripts);
            println!("        ({sn:?}, {en:?}, {t:?}, {:?}),", summary(&c));
        }
    }
}

/// Every starting state × every event: (state, event, transcript, state after).
/// Read as: `ctl/t` asks for `control/t` (absent unless the event names it), `run(main)`
/// starts `./run`, `kill(pid,SIG)` signals, `pub(w)` publishes; the summary is
/// `main state/want pid flags | log ... | script | [queued bytes]` ("later": a start
/// deadline is pending).
#[rustfmt::skip]
const TABLE: &[(&str, &str, &str, &str)] = &[
        ("down/up", "u", "pub(main)", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "o", "pub(main)", "down/down 0 once | run/up 50 | - | []"),
        ("down/up", "d", "pub(main)", "down/down 0 | run/up 50 | - | []"),
        ("down/up", "x", "pub(main)", "down/exit 0 | run/up 50 | - | []"),
        ("down/up", "t", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "k", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "p", "pub(main)", "down/up 0 paused | run/up 50 | - | []"),
        ("down/up", "c", "pub(main)", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "h", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "a", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "i", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "q", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "1", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "2", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "z", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "down/up 0 | run/down 50 term | - | []"),
        ("down/up", "log x", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "d+ctl/t", "pub(main)", "down/down 0 | run/up 50 | - | []"),
        ("down/up", "h+ctl/h", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "reap main", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "reap main+fin", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "reap finish", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "reap log", "pub(log)", "down/up 0 | down/up 0 | - | []"),
        ("down/up", "reap script 0", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "reap script 1", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "reap other", "", "down/up 0 | run/up 50 | - | []"),
        ("down/up", "term", "pub(main)", "down/exit 0 | run/up 50 | - | []"),
        ("down/up", "tick", "ctl/u run(main) pub(main)", "run/up 101 | run/up 50 | - | []"),
        ("down/up", "tick+ctl/u", "ctl/u", "down/up 0 | run/up 50 | script 101 | []"),
        ("down/up", "dequeue", "", "down/up 0 | run/up 50 | - | []"),
        ("down/down", "u", "pub(main)", "down/up 0 | run/up 50 | - | []"),
        ("down/down", "o", "pub(main)", "down/down 0 once | run/up 50 | - | []"),
        ("down/down", "d", "pub(main)", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "x", "pub(main)", "down/exit 0 | run/up 50 | - | []"),
        ("down/down", "t", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "k", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "p", "pub(main)", "down/down 0 paused | run/up 50 | - | []"),
        ("down/down", "c", "pub(main)", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "h", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "a", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "i", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "q", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "1", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "2", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "z", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "down/down 0 | run/down 50 term | - | []"),
        ("down/down", "log x", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "d+ctl/t", "pub(main)", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "h+ctl/h", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "reap main", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "reap main+fin", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "reap finish", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "reap log", "pub(log)", "down/down 0 | down/up 0 | - | []"),
        ("down/down", "reap script 0", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "reap script 1", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "reap other", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "term", "pub(main)", "down/exit 0 | run/up 50 | - | []"),
        ("down/down", "tick", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "tick+ctl/u", "", "down/down 0 | run/up 50 | - | []"),
        ("down/down", "dequeue", "", "down/down 0 | run/up 50 | - | []"),
        ("run/up", "u", "pub(main)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "o", "pub(main)", "run/down 100 | run/up 50 | - | []"),
        ("run/up", "d", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/d", "run/down 100 term | run/up 50 | - | []"),
        ("run/up", "x", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/up", "t", "ctl/t kill(100,TERM) pub(main)", "run/up 100 term | run/up 50 | - | []"),
        ("run/up", "k", "ctl/k kill(100,KILL)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "p", "ctl/p kill(100,STOP) pub(main)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up", "c", "ctl/c kill(100,CONT) pub(main)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "h", "ctl/h kill(100,HUP)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "a", "ctl/a kill(100,ALRM)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "i", "ctl/i kill(100,INT)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "q", "ctl/q kill(100,QUIT)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "1", "ctl/1 kill(100,USR1)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "2", "ctl/2 kill(100,USR2)", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "z", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "run/up 100 | run/down 50 term | - | []"),
        ("run/up", "log x", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "d+ctl/t", "pub(main) ctl/t", "run/down 100 | run/up 50 | script 101 | []"),
        ("run/up", "h+ctl/h", "ctl/h", "run/up 100 | run/up 50 | script 101 | []"),
        ("run/up", "reap main", "pub(main)", "down/up 0 | run/up 50 | - | []"),
        ("run/up", "reap main+fin", "pub(main)", "finish/up 0 | run/up 50 | - | []"),
        ("run/up", "reap finish", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "reap log", "pub(log)", "run/up 100 | down/up 0 | - | []"),
        ("run/up", "reap script 0", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "reap script 1", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "reap other", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "term", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/up", "tick", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "tick+ctl/u", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up", "dequeue", "", "run/up 100 | run/up 50 | - | []"),
        ("run/down", "u", "pub(main)", "run/up 100 | run/up 50 | - | []"),
        ("run/down", "o", "pub(main)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "d", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/d", "run/down 100 term | run/up 50 | - | []"),
        ("run/down", "x", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/down", "t", "ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/d", "run/down 100 term | run/up 50 | - | []"),
        ("run/down", "k", "ctl/k kill(100,KILL)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "p", "ctl/p kill(100,STOP) pub(main)", "run/down 100 paused | run/up 50 | - | []"),
        ("run/down", "c", "ctl/c kill(100,CONT) pub(main)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "h", "ctl/h kill(100,HUP)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "a", "ctl/a kill(100,ALRM)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "i", "ctl/i kill(100,INT)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "q", "ctl/q kill(100,QUIT)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "1", "ctl/1 kill(100,USR1)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "2", "ctl/2 kill(100,USR2)", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "z", "", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "run/down 100 | run/down 50 term | - | []"),
        ("run/down", "log x", "", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "d+ctl/t", "pub(main) ctl/t", "run/down 100 | run/up 50 | script 101 | []"),
        ("run/down", "h+ctl/h", "ctl/h", "run/down 100 | run/up 50 | script 101 | []"),
        ("run/down", "reap main", "pub(main)", "down/down 0 | run/up 50 | - | []"),
        ("run/down", "reap main+fin", "pub(main)", "finish/down 0 | run/up 50 | - | []"),
        ("run/down", "reap finish", "", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "reap log", "pub(log)", "run/down 100 | down/up 0 | - | []"),
        ("run/down", "reap script 0", "", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "reap script 1", "", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "reap other", "", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "term", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/down", "tick", "", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "tick+ctl/u", "", "run/down 100 | run/up 50 | - | []"),
        ("run/down", "dequeue", "", "run/down 100 | run/up 50 | - | []"),
        ("finish/up", "u", "pub(main)", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "o", "pub(main)", "finish/down 200 | run/up 50 | - | []"),
        ("finish/up", "d", "pub(main)", "finish/down 200 | run/up 50 | - | []"),
        ("finish/up", "x", "pub(main)", "finish/exit 200 | run/up 50 | - | []"),
        ("finish/up", "t", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "k", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "p", "pub(main)", "finish/up 200 paused | run/up 50 | - | []"),
        ("finish/up", "c", "pub(main)", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "h", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "a", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "i", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "q", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "1", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "2", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "z", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "finish/up 200 | run/down 50 term | - | []"),
        ("finish/up", "log x", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "d+ctl/t", "pub(main)", "finish/down 200 | run/up 50 | - | []"),
        ("finish/up", "h+ctl/h", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "reap main", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "reap main+fin", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "reap finish", "pub(main)", "down/up 0 | run/up 50 | - | []"),
        ("finish/up", "reap log", "pub(log)", "finish/up 200 | down/up 0 | - | []"),
        ("finish/up", "reap script 0", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "reap script 1", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "reap other", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "term", "pub(main)", "finish/exit 200 | run/up 50 | - | []"),
        ("finish/up", "tick", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "tick+ctl/u", "", "finish/up 200 | run/up 50 | - | []"),
        ("finish/up", "dequeue", "", "finish/up 200 | run/up 50 | - | []"),
        ("run/up,paused", "u", "pub(main)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "o", "pub(main)", "run/down 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "d", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/d", "run/down 100 paused term | run/up 50 | - | []"),
        ("run/up,paused", "x", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 paused term | run/up 50 | - | []"),
        ("run/up,paused", "t", "ctl/t kill(100,TERM) pub(main)", "run/up 100 paused term | run/up 50 | - | []"),
        ("run/up,paused", "k", "ctl/k kill(100,KILL)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "p", "ctl/p kill(100,STOP) pub(main)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "c", "ctl/c kill(100,CONT) pub(main)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,paused", "h", "ctl/h kill(100,HUP)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "a", "ctl/a kill(100,ALRM)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "i", "ctl/i kill(100,INT)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "q", "ctl/q kill(100,QUIT)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "1", "ctl/1 kill(100,USR1)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "2", "ctl/2 kill(100,USR2)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "z", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "run/up 100 paused | run/down 50 term | - | []"),
        ("run/up,paused", "log x", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "d+ctl/t", "pub(main) ctl/t", "run/down 100 paused | run/up 50 | script 101 | []"),
        ("run/up,paused", "h+ctl/h", "ctl/h", "run/up 100 paused | run/up 50 | script 101 | []"),
        ("run/up,paused", "reap main", "pub(main)", "down/up 0 paused | run/up 50 | - | []"),
        ("run/up,paused", "reap main+fin", "pub(main)", "finish/up 0 paused | run/up 50 | - | []"),
        ("run/up,paused", "reap finish", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "reap log", "pub(log)", "run/up 100 paused | down/up 0 | - | []"),
        ("run/up,paused", "reap script 0", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "reap script 1", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "reap other", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "term", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 paused term | run/up 50 | - | []"),
        ("run/up,paused", "tick", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "tick+ctl/u", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,paused", "dequeue", "", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,script", "u", "", "run/up 100 | run/up 50 | script 300 | [u]"),
        ("run/up,script", "o", "", "run/up 100 | run/up 50 | script 300 | [o]"),
        ("run/up,script", "d", "", "run/up 100 | run/up 50 | script 300 | [d]"),
        ("run/up,script", "x", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/up,script", "t", "", "run/up 100 | run/up 50 | script 300 | [t]"),
        ("run/up,script", "k", "", "run/up 100 | run/up 50 | script 300 | [k]"),
        ("run/up,script", "p", "", "run/up 100 | run/up 50 | script 300 | [p]"),
        ("run/up,script", "c", "", "run/up 100 | run/up 50 | script 300 | [c]"),
        ("run/up,script", "h", "", "run/up 100 | run/up 50 | script 300 | [h]"),
        ("run/up,script", "a", "", "run/up 100 | run/up 50 | script 300 | [a]"),
        ("run/up,script", "i", "", "run/up 100 | run/up 50 | script 300 | [i]"),
        ("run/up,script", "q", "", "run/up 100 | run/up 50 | script 300 | [q]"),
        ("run/up,script", "1", "", "run/up 100 | run/up 50 | script 300 | [1]"),
        ("run/up,script", "2", "", "run/up 100 | run/up 50 | script 300 | [2]"),
        ("run/up,script", "z", "", "run/up 100 | run/up 50 | script 300 | []"),
        ("run/up,script", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "run/up 100 | run/down 50 term | script 300 | []"),
        ("run/up,script", "log x", "", "run/up 100 | run/up 50 | script 300 | []"),
        ("run/up,script", "d+ctl/t", "", "run/up 100 | run/up 50 | script 300 | [d]"),
        ("run/up,script", "h+ctl/h", "", "run/up 100 | run/up 50 | script 300 | [h]"),
        ("run/up,script", "reap main", "pub(main)", "down/up 0 | run/up 50 | script 300 | []"),
        ("run/up,script", "reap main+fin", "pub(main)", "finish/up 0 | run/up 50 | script 300 | []"),
        ("run/up,script", "reap finish", "", "run/up 100 | run/up 50 | script 300 | []"),
        ("run/up,script", "reap log", "pub(log)", "run/up 100 | down/up 0 | script 300 | []"),
        ("run/up,script", "reap script 0", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,script", "reap script 1", "kill(100,HUP)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,script", "reap other", "", "run/up 100 | run/up 50 | script 300 | []"),
        ("run/up,script", "term", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/up,script", "tick", "", "run/up 100 | run/up 50 | script 300 | []"),
        ("run/up,script", "tick+ctl/u", "", "run/up 100 | run/up 50 | script 300 | []"),
        ("run/up,script", "dequeue", "", "run/up 100 | run/up 50 | script 300 | []"),
        ("run/up,script+du", "u", "", "run/up 100 | run/up 50 | script 300 | [duu]"),
        ("run/up,script+du", "o", "", "run/up 100 | run/up 50 | script 300 | [duo]"),
        ("run/up,script+du", "d", "", "run/up 100 | run/up 50 | script 300 | [dud]"),
        ("run/up,script+du", "x", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/up,script+du", "t", "", "run/up 100 | run/up 50 | script 300 | [dut]"),
        ("run/up,script+du", "k", "", "run/up 100 | run/up 50 | script 300 | [duk]"),
        ("run/up,script+du", "p", "", "run/up 100 | run/up 50 | script 300 | [dup]"),
        ("run/up,script+du", "c", "", "run/up 100 | run/up 50 | script 300 | [duc]"),
        ("run/up,script+du", "h", "", "run/up 100 | run/up 50 | script 300 | [duh]"),
        ("run/up,script+du", "a", "", "run/up 100 | run/up 50 | script 300 | [dua]"),
        ("run/up,script+du", "i", "", "run/up 100 | run/up 50 | script 300 | [dui]"),
        ("run/up,script+du", "q", "", "run/up 100 | run/up 50 | script 300 | [duq]"),
        ("run/up,script+du", "1", "", "run/up 100 | run/up 50 | script 300 | [du1]"),
        ("run/up,script+du", "2", "", "run/up 100 | run/up 50 | script 300 | [du2]"),
        ("run/up,script+du", "z", "", "run/up 100 | run/up 50 | script 300 | [du]"),
        ("run/up,script+du", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "run/up 100 | run/down 50 term | script 300 | [du]"),
        ("run/up,script+du", "log x", "", "run/up 100 | run/up 50 | script 300 | [du]"),
        ("run/up,script+du", "d+ctl/t", "", "run/up 100 | run/up 50 | script 300 | [dud]"),
        ("run/up,script+du", "h+ctl/h", "", "run/up 100 | run/up 50 | script 300 | [duh]"),
        ("run/up,script+du", "reap main", "pub(main)", "down/up 0 | run/up 50 | script 300 | [du]"),
        ("run/up,script+du", "reap main+fin", "pub(main)", "finish/up 0 | run/up 50 | script 300 | [du]"),
        ("run/up,script+du", "reap finish", "", "run/up 100 | run/up 50 | script 300 | [du]"),
        ("run/up,script+du", "reap log", "pub(log)", "run/up 100 | down/up 0 | script 300 | [du]"),
        ("run/up,script+du", "reap script 0", "", "run/up 100 | run/up 50 | - | [du]"),
        ("run/up,script+du", "reap script 1", "kill(100,HUP)", "run/up 100 | run/up 50 | - | [du]"),
        ("run/up,script+du", "reap other", "", "run/up 100 | run/up 50 | script 300 | [du]"),
        ("run/up,script+du", "term", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/up,script+du", "tick", "", "run/up 100 | run/up 50 | script 300 | [du]"),
        ("run/up,script+du", "tick+ctl/u", "", "run/up 100 | run/up 50 | script 300 | [du]"),
        ("run/up,script+du", "dequeue", "", "run/up 100 | run/up 50 | script 300 | [du]"),
        ("down/up,nolog", "u", "pub(main)", "down/up 0 | - | - | []"),
        ("down/up,nolog", "o", "pub(main)", "down/down 0 once | - | - | []"),
        ("down/up,nolog", "d", "pub(main)", "down/down 0 | - | - | []"),
        ("down/up,nolog", "x", "pub(main)", "down/exit 0 | - | - | []"),
        ("down/up,nolog", "t", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "k", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "p", "pub(main)", "down/up 0 paused | - | - | []"),
        ("down/up,nolog", "c", "pub(main)", "down/up 0 | - | - | []"),
        ("down/up,nolog", "h", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "a", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "i", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "q", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "1", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "2", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "z", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "log d", "pub(log)", "down/up 0 | - | - | []"),
        ("down/up,nolog", "log x", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "d+ctl/t", "pub(main)", "down/down 0 | - | - | []"),
        ("down/up,nolog", "h+ctl/h", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "reap main", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "reap main+fin", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "reap finish", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "reap log", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "reap script 0", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "reap script 1", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "reap other", "", "down/up 0 | - | - | []"),
        ("down/up,nolog", "term", "pub(main)", "down/exit 0 | - | - | []"),
        ("down/up,nolog", "tick", "ctl/u run(main) pub(main)", "run/up 101 | - | - | []"),
        ("down/up,nolog", "tick+ctl/u", "ctl/u", "down/up 0 | - | script 101 | []"),
        ("down/up,nolog", "dequeue", "", "down/up 0 | - | - | []"),
        ("down/exit", "u", "pub(main)", "down/up 0 | run/up 50 | - | []"),
        ("down/exit", "o", "pub(main)", "down/down 0 once | run/up 50 | - | []"),
        ("down/exit", "d", "pub(main)", "down/down 0 | run/up 50 | - | []"),
        ("down/exit", "x", "pub(main)", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "t", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "k", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "p", "pub(main)", "down/exit 0 paused | run/up 50 | - | []"),
        ("down/exit", "c", "pub(main)", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "h", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "a", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "i", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "q", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "1", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "2", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "z", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "down/exit 0 | run/down 50 term | - | []"),
        ("down/exit", "log x", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "d+ctl/t", "pub(main)", "down/down 0 | run/up 50 | - | []"),
        ("down/exit", "h+ctl/h", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "reap main", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "reap main+fin", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "reap finish", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "reap log", "pub(log)", "down/exit 0 | down/up 0 | - | []"),
        ("down/exit", "reap script 0", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "reap script 1", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "reap other", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "term", "pub(main)", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit", "tick", "pub(log) closelog", "down/exit 0 | run/exit 50 | - | []"),
        ("down/exit", "tick+ctl/u", "pub(log) closelog", "down/exit 0 | run/exit 50 | - | []"),
        ("down/exit", "dequeue", "", "down/exit 0 | run/up 50 | - | []"),
        ("down/exit,log gone", "u", "pub(main)", "down/up 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "o", "pub(main)", "down/down 0 once | down/exit 0 | - | []"),
        ("down/exit,log gone", "d", "pub(main)", "down/down 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "x", "pub(main)", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "t", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "k", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "p", "pub(main)", "down/exit 0 paused | down/exit 0 | - | []"),
        ("down/exit,log gone", "c", "pub(main)", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "h", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "a", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "i", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "q", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "1", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "2", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "z", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "log d", "pub(log)", "down/exit 0 | down/down 0 | - | []"),
        ("down/exit,log gone", "log x", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "d+ctl/t", "pub(main)", "down/down 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "h+ctl/h", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "reap main", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "reap main+fin", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "reap finish", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "reap log", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "reap script 0", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "reap script 1", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "reap other", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "term", "pub(main)", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "tick", "exit", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "tick+ctl/u", "exit", "down/exit 0 | down/exit 0 | - | []"),
        ("down/exit,log gone", "dequeue", "", "down/exit 0 | down/exit 0 | - | []"),
        ("down/up,throttled", "u", "pub(main)", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "o", "pub(main)", "down/down 0 once later | run/up 50 | - | []"),
        ("down/up,throttled", "d", "pub(main)", "down/down 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "x", "pub(main)", "down/exit 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "t", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "k", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "p", "pub(main)", "down/up 0 paused later | run/up 50 | - | []"),
        ("down/up,throttled", "c", "pub(main)", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "h", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "a", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "i", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "q", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "1", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "2", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "z", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "down/up 0 later | run/down 50 term | - | []"),
        ("down/up,throttled", "log x", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "d+ctl/t", "pub(main)", "down/down 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "h+ctl/h", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "reap main", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "reap main+fin", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "reap finish", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "reap log", "pub(log)", "down/up 0 later | down/up 0 | - | []"),
        ("down/up,throttled", "reap script 0", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "reap script 1", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "reap other", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "term", "pub(main)", "down/exit 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "tick", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "tick+ctl/u", "", "down/up 0 later | run/up 50 | - | []"),
        ("down/up,throttled", "dequeue", "", "down/up 0 later | run/up 50 | - | []"),
        ("finish due", "u", "pub(main)", "finish/up 0 | run/up 50 | - | []"),
        ("finish due", "o", "pub(main)", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "d", "pub(main)", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "x", "pub(main)", "finish/exit 0 | run/up 50 | - | []"),
        ("finish due", "t", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "k", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "p", "pub(main)", "finish/down 0 paused | run/up 50 | - | []"),
        ("finish due", "c", "pub(main)", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "h", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "a", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "i", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "q", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "1", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "2", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "z", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "finish/down 0 | run/down 50 term | - | []"),
        ("finish due", "log x", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "d+ctl/t", "pub(main)", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "h+ctl/h", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "reap main", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "reap main+fin", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "reap finish", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "reap log", "pub(log)", "finish/down 0 | down/up 0 | - | []"),
        ("finish due", "reap script 0", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "reap script 1", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "reap other", "", "finish/down 0 | run/up 50 | - | []"),
        ("finish due", "term", "pub(main)", "finish/exit 0 | run/up 50 | - | []"),
        ("finish due", "tick", "finish pub(main)", "finish/down 101 | run/up 50 | - | []"),
        ("finish due", "tick+ctl/u", "finish pub(main)", "finish/down 101 | run/up 50 | - | []"),
        ("finish due", "dequeue", "", "finish/down 0 | run/up 50 | - | []"),
        ("run/up,fresh", "u", "pub(main)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "o", "pub(main)", "run/down 100 | run/up 50 | - | []"),
        ("run/up,fresh", "d", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/d", "run/down 100 term | run/up 50 | - | []"),
        ("run/up,fresh", "x", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/up,fresh", "t", "ctl/t kill(100,TERM) pub(main)", "run/up 100 term | run/up 50 | - | []"),
        ("run/up,fresh", "k", "ctl/k kill(100,KILL)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "p", "ctl/p kill(100,STOP) pub(main)", "run/up 100 paused | run/up 50 | - | []"),
        ("run/up,fresh", "c", "ctl/c kill(100,CONT) pub(main)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "h", "ctl/h kill(100,HUP)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "a", "ctl/a kill(100,ALRM)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "i", "ctl/i kill(100,INT)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "q", "ctl/q kill(100,QUIT)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "1", "ctl/1 kill(100,USR1)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "2", "ctl/2 kill(100,USR2)", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "z", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "log d", "pub(log) kill(50,TERM) pub(log) kill(50,CONT)", "run/up 100 | run/down 50 term | - | []"),
        ("run/up,fresh", "log x", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "d+ctl/t", "pub(main) ctl/t", "run/down 100 | run/up 50 | script 101 | []"),
        ("run/up,fresh", "h+ctl/h", "ctl/h", "run/up 100 | run/up 50 | script 101 | []"),
        ("run/up,fresh", "reap main", "pub(main)", "down/up 0 later | run/up 50 | - | []"),
        ("run/up,fresh", "reap main+fin", "pub(main)", "finish/up 0 | run/up 50 | - | []"),
        ("run/up,fresh", "reap finish", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "reap log", "pub(log)", "run/up 100 | down/up 0 | - | []"),
        ("run/up,fresh", "reap script 0", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "reap script 1", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "reap other", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "term", "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x", "run/exit 100 term | run/up 50 | - | []"),
        ("run/up,fresh", "tick", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "tick+ctl/u", "", "run/up 100 | run/up 50 | - | []"),
        ("run/up,fresh", "dequeue", "", "run/up 100 | run/up 50 | - | []"),
];

#[test]
fn every_state_meets_every_event() {
    let states = states();
    let events = events();
    let mut seen = 0;
    for &(sn, en, transcript, after) in TABLE {
        let (_, st) = states.iter().find(|(n, _)| *n == sn).expect("state");
        let (_, ev, scripts) = events.iter().find(|(n, ..)| *n == en).expect("event");
        let mut c = *st;
        assert_eq!(drive(&mut c, *ev, T0, scripts), transcript, "{sn} × {en}");
        assert_eq!(summary(&c), after, "{sn} × {en}: state after");
        seen += 1;
    }
    assert_eq!(
        seen,
        states.len() * events.len(),
        "the table covers every cell"
    );
}

fn core_with(main: Svc) -> Core {
    Core::new(main, svc(State::Run, Want::Up, 50))
}

/// Bytes read while a `control/<c>` script runs wait for it, in order; when it exits they
/// come back one per iteration through `Dequeue`, and the FIFO is not read meanwhile.
#[test]
fn bytes_queued_behind_a_script_keep_their_order() {
    let mut c = core_with(svc(State::Run, Want::Up, 100));
    assert_eq!(
        drive(&mut c, Event::Control(Which::Main, b'h'), T0, b"h"),
        "ctl/h"
    );
    for b in *b"dpu" {
        assert_eq!(c.fifo_turn(Which::Main), Turn::Read);
        assert_eq!(drive(&mut c, Event::Control(Which::Main, b), T0, b""), "");
    }
    assert_eq!(
        c.fifo_turn(Which::Log),
        Turn::Read,
        "the log's FIFO is never held up"
    );
    assert_eq!(c.deadline(T0), None, "nothing due while the script runs");
    // The script exits 0: it handled `h`, no HUP from runsv.
    let reaped = Event::Reaped {
        pid: 101,
        wstat: 0,
        finish_exists: false,
        cgroup_populated: false,
    };
    assert_eq!(drive(&mut c, reaped, T0, b""), "");
    assert_eq!(c.deadline(T0), Some(T0), "queued bytes are due at once");
    assert_eq!(c.fifo_turn(Which::Main), Turn::Dequeue);
    assert_eq!(
        drive(&mut c, Event::Dequeue, T0, b""),
        "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/d"
    );
    assert_eq!(
        drive(&mut c, Event::Dequeue, T0, b""),
        "ctl/p kill(100,STOP) pub(main)"
    );
    assert_eq!(drive(&mut c, Event::Dequeue, T0, b""), "pub(main)");
    assert_eq!(c.fifo_turn(Which::Main), Turn::Read);
    assert_eq!(summary(&c), "run/up 100 paused term | run/up 50 | - | []");
}

/// A full queue stops the FIFO reads; `x` still gets through at once.
#[test]
fn full_queue_and_exit_while_a_script_runs() {
    let mut c = core_with(svc(State::Run, Want::Up, 100));
    drive(&mut c, Event::Control(Which::Main, b'h'), T0, b"h");
    for _ in 0..QUEUE_LEN {
        drive(&mut c, Event::Control(Which::Main, b'u'), T0, b"");
    }
    assert_eq!(c.fifo_turn(Which::Main), Turn::Skip);
    assert_eq!(c.queue.len(), QUEUE_LEN);
    assert_eq!(
        drive(&mut c, Event::Term, T0, b""),
        "pub(main) ctl/t kill(100,TERM) pub(main) kill(100,CONT) ctl/x"
    );
    assert!(c.queue.is_empty());
    assert_eq!(c.fifo_turn(Which::Main), Turn::Read);
}

/// A failed fork waits 5 s (a deadline, not a sleep), then the start is retried.
#[test]
fn fork_failure_waits_five_seconds() {
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let acts = c.step(Event::Tick { control_u: false }, now(T0));
    assert_eq!(
        acts.as_slice(),
        [Action::Spawn(Which::Main, Prog::Control(b'u'))]
    );
    let acts = c.step(Event::ScriptNotRun, now(T0));
    assert_eq!(acts.as_slice(), [Action::Spawn(Which::Main, Prog::Run)]);
    let failed = Event::SpawnFailed {
        which: Which::Main,
        prog: Prog::Run,
    };
    assert!(c.step(failed, now(T0)).as_slice().is_empty());
    assert_eq!(c.deadline(T0), Some(T0 + FORK_RETRY_MS));
    let tick = Event::Tick { control_u: false };
    assert_eq!(drive(&mut c, tick, T0 + FORK_RETRY_MS - 1, b""), "");
    assert_eq!(
        drive(&mut c, tick, T0 + FORK_RETRY_MS, b""),
        "ctl/u run(main) pub(main)"
    );
}

/// runit's 1-second rule: a `./run` that ends within a second of its start is restarted
/// a second after it ended; one that ran longer at once.
#[test]
fn one_second_rule() {
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let tick = Event::Tick { control_u: false };
    assert_eq!(drive(&mut c, tick, T0, b""), "ctl/u run(main) pub(main)");
    let reaped = Event::Reaped {
        pid: 101,
        wstat: 0,
        finish_exists: false,
        cgroup_populated: false,
    };
    assert_eq!(drive(&mut c, reaped, T0 + 300, b""), "pub(main)");
    assert_eq!(c.deadline(T0 + 300), Some(T0 + 300 + THROTTLE_MS));
    assert_eq!(drive(&mut c, tick, T0 + 1299, b""), "");
    assert_eq!(
        drive(&mut c, tick, T0 + 1300, b""),
        "ctl/u run(main) pub(main)"
    );
    let reaped = Event::Reaped {
        pid: 101,
        wstat: 0,
        finish_exists: false,
        cgroup_populated: false,
    };
    assert_eq!(drive(&mut c, reaped, T0 + 2400, b""), "pub(main)");
    assert_eq!(c.deadline(T0 + 2400), None);
    assert_eq!(
        drive(&mut c, tick, T0 + 2400, b""),
        "ctl/u run(main) pub(main)"
    );
}

/// `x`: the service stops, its log is told to exit and its pipe closed (no signal), and
/// runsv exits once the log is gone.
#[test]
fn exit_takes_the_log_down_through_eof() {
    let mut c = core_with(svc(State::Run, Want::Up, 100));
    let tick = Event::Tick { control_u: false };
    drive(&mut c, Event::Control(Which::Main, b'x'), T0, b"");
    assert_eq!(drive(&mut c, tick, T0, b""), "", "waits for ./run");
    let reaped = |pid| Event::Reaped {
        pid,
        wstat: 0,
        finish_exists: false,
        cgroup_populated: false,
    };
    assert_eq!(drive(&mut c, reaped(100), T0, b""), "pub(main)");
    assert_eq!(drive(&mut c, tick, T0, b""), "pub(log) closelog");
    assert_eq!(drive(&mut c, tick, T0, b""), "", "closed once");
    assert_eq!(drive(&mut c, reaped(50), T0, b""), "pub(log)");
    assert_eq!(drive(&mut c, tick, T0, b""), "exit");
}

/// `./finish` gets no signal (§9.2), also when `./run` exits and `./finish` starts while a
/// slow `control/t` of a stop runs. Found by the runsv_core fuzz target
/// (fuzz/crashes/runsv_core/crash-f9e1...): when the script exited, runsv sent CONT (and,
/// had the script not handled the stop, TERM) to `./finish`.
#[test]
fn a_stop_that_goes_on_after_control_t_leaves_finish_alone() {
    let mut c = core_with(svc(State::Run, Want::Up, 100));
    assert_eq!(
        drive(&mut c, Event::Control(Which::Main, b'd'), T0, b"t"),
        "pub(main) ctl/t"
    );
    let reaped = |pid, wstat, finish_exists| Event::Reaped {
        pid,
        wstat,
        finish_exists,
        cgroup_populated: false,
    };
    assert_eq!(drive(&mut c, reaped(100, 0, true), T0, b""), "pub(main)");
    let acts = c.step(Event::Tick { control_u: false }, now(T0));
    assert_eq!(acts.as_slice(), [Action::Spawn(Which::Main, Prog::Finish)]);
    let spawned = Event::Spawned {
        which: Which::Main,
        prog: Prog::Finish,
        pid: 102,
        readiness: false,
        conf: Conf::default(),
    };
    assert_eq!(
        c.step(spawned, now(T0)).as_slice(),
        [Action::Publish(Which::Main)]
    );
    // control/t (pid 101) exits 1: the stop goes on, without signals for ./finish.
    assert_eq!(drive(&mut c, reaped(101, 0x100, false), T0, b""), "ctl/d");
    assert_eq!(summary(&c), "finish/down 102 | run/up 50 | - | []");
}

/// A restart that needs no `control/u` is not held up by a slow script for another
/// command; with `control/u` it waits for that script.
#[test]
fn restart_during_a_slow_script() {
    let mut c = core_with(svc(State::Run, Want::Up, 100));
    drive(&mut c, Event::Control(Which::Main, b'h'), T0, b"h");
    let reaped = Event::Reaped {
        pid: 100,
        wstat: 0,
        finish_exists: false,
        cgroup_populated: false,
    };
    drive(&mut c, reaped, T0, b"");
    assert!(c.asks_control_u(T0));
    let mut d = c;
    assert_eq!(drive(&mut d, Event::Tick { control_u: true }, T0, b""), "");
    assert_eq!(
        drive(&mut c, Event::Tick { control_u: false }, T0, b""),
        "run(main) pub(main)"
    );
    assert!(!c.asks_control_u(T0));
}

fn spawned_with_readiness(c: &mut Core, at: i64) {
    drive(c, Event::Tick { control_u: false }, at, b"");
    // drive answered without readiness; start over with it, as the shell would.
    let m = c.svc_mut(Which::Main);
    m.ready = Ready::Waiting;
}

/// Readiness notices (docs/readiness.md): waiting → ready (the first READY sets the
/// moment), RELOADING → not ready until READY, STOPPING stays; news about a run without
/// readiness, or about no run, changes nothing.
#[test]
fn readiness_notices() {
    use Notice::{Info, Reloading, Stopping};
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    spawned_with_readiness(&mut c, T0);
    let ready = |c: &Core| c.svc(Which::Main).ready;
    assert_eq!(ready(&c), Ready::Waiting);
    assert_eq!(drive(&mut c, Event::Notice(Info), T0 + 1, b""), "pub(main)");
    assert_eq!(ready(&c), Ready::Waiting);
    assert_eq!(
        drive(&mut c, Event::Notice(Notice::Ready), T0 + 5, b""),
        "pub(main)"
    );
    assert_eq!(ready(&c), Ready::Since(now(T0 + 5)));
    drive(&mut c, Event::Notice(Notice::Ready), T0 + 9, b"");
    assert_eq!(
        ready(&c),
        Ready::Since(now(T0 + 5)),
        "a repeated READY keeps the moment"
    );
    drive(&mut c, Event::Notice(Reloading), T0 + 10, b"");
    assert_eq!(ready(&c), Ready::Reloading);
    drive(&mut c, Event::Notice(Notice::Ready), T0 + 20, b"");
    assert_eq!(
        ready(&c),
        Ready::Since(now(T0 + 20)),
        "READY ends the reload"
    );
    drive(&mut c, Event::Notice(Stopping), T0 + 30, b"");
    drive(&mut c, Event::Notice(Notice::Ready), T0 + 31, b"");
    assert_eq!(ready(&c), Ready::Stopping, "no resurrection after STOPPING");
    // Without readiness configured, notices are ignored.
    let mut c = core_with(svc(State::Run, Want::Up, 100));
    assert_eq!(drive(&mut c, Event::Notice(Notice::Ready), T0, b""), "");
    assert_eq!(ready(&c), Ready::Off);
    // And a finished run loses its readiness.
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    spawned_with_readiness(&mut c, T0);
    drive(&mut c, Event::Notice(Notice::Ready), T0 + 5, b"");
    let reaped = Event::Reaped {
        pid: 101,
        wstat: 0,
        finish_exists: true,
        cgroup_populated: false,
    };
    drive(&mut c, reaped, T0 + 10, b"");
    assert_eq!(ready(&c), Ready::Off);
    assert_eq!(
        drive(&mut c, Event::Notice(Notice::Ready), T0 + 11, b""),
        "",
        "finish is no run"
    );
}

/// s6's throttle rule: a run that was ready for a second or more restarts at once. A run
/// that lived a second or more is never throttled by runit's rule either, so this only
/// shows when the wall clock (runit's measure) was set back meanwhile: readiness is
/// measured on the monotonic clock. A run ready for less keeps runit's 1-second rule, and
/// ./finish in between does not lose the verdict.
#[test]
fn ready_for_a_second_restarts_at_once() {
    let reaped = |pid, fin| Event::Reaped {
        pid,
        wstat: 0,
        finish_exists: fin,
        cgroup_populated: false,
    };
    let tick = Event::Tick { control_u: false };
    let stepped_back = |ms: i64| Now {
        wall: now(ms - 10_000).wall,
        mono: ms,
    };
    // Started at T0, ready at once, died 2 s later by the monotonic clock, with the wall
    // clock set back 10 s meanwhile.
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    spawned_with_readiness(&mut c, T0);
    drive(&mut c, Event::Notice(Notice::Ready), T0, b"");
    c.step(reaped(101, false), stepped_back(T0 + 2000));
    assert_eq!(c.deadline(T0 + 2000), None, "restart at once");
    // The same without readiness: runit's wall-clock rule throttles it.
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    drive(&mut c, tick, T0, b"");
    c.step(reaped(101, false), stepped_back(T0 + 2000));
    assert_eq!(c.deadline(T0 + 2000), Some(T0 + 2000 + THROTTLE_MS));
    // Ready for only 0.5 s, died 0.9 s after its start: runit's rule holds.
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    spawned_with_readiness(&mut c, T0);
    drive(&mut c, Event::Notice(Notice::Ready), T0 + 400, b"");
    drive(&mut c, reaped(101, false), T0 + 900, b"");
    assert_eq!(c.deadline(T0 + 900), Some(T0 + 1900));
    // Ready long enough, then ./finish, then the clock step: still at once.
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    spawned_with_readiness(&mut c, T0);
    drive(&mut c, Event::Notice(Notice::Ready), T0, b"");
    drive(&mut c, reaped(101, true), T0 + 1500, b"");
    assert_eq!(drive(&mut c, tick, T0 + 1500, b""), "finish pub(main)");
    c.step(reaped(101, false), stepped_back(T0 + 1700));
    assert_eq!(c.deadline(T0 + 1700), None);
}

/// The counters of supervise/info: starts, and how the last run ended.
#[test]
fn starts_and_last_end_are_counted() {
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let tick = Event::Tick { control_u: false };
    drive(&mut c, tick, T0, b"");
    assert_eq!(
        (c.svc(Which::Main).starts, c.svc(Which::Main).last),
        (1, None)
    );
    let reaped = Event::Reaped {
        pid: 101,
        wstat: 9, // killed by SIGKILL
        finish_exists: false,
        cgroup_populated: false,
    };
    drive(&mut c, reaped, T0 + 5000, b"");
    drive(&mut c, tick, T0 + 5000, b"");
    assert_eq!(
        (c.svc(Which::Main).starts, c.svc(Which::Main).last),
        (2, Some(9))
    );
}

// ------------------------------------------------------------------ stop settings

fn running_with(conf: Conf) -> Core {
    let mut m = svc(State::Run, Want::Up, 100);
    m.conf = conf;
    core_with(m)
}

fn reap(pid: pid_t, wstat: i32) -> Event {
    Event::Reaped {
        pid,
        wstat,
        finish_exists: false,
        cgroup_populated: false,
    }
}

/// `down-signal` replaces TERM when the service is taken down (`d`, `x`, SIGTERM), still
/// followed by CONT; `t` (a restart) keeps TERM.
#[test]
fn down_signal_replaces_term_for_d_x_and_sigterm() {
    let conf = Conf {
        down_signal: libc::SIGINT,
        ..Conf::default()
    };
    for (ev, want) in [
        (
            Event::Control(Which::Main, b'd'),
            "pub(main) ctl/t kill(100,INT) pub(main) kill(100,CONT) ctl/d",
        ),
        (
            Event::Control(Which::Main, b'x'),
            "pub(main) ctl/t kill(100,INT) pub(main) kill(100,CONT) ctl/x",
        ),
        (
            Event::Term,
            "pub(main) ctl/t kill(100,INT) pub(main) kill(100,CONT) ctl/x",
        ),
        (
            Event::Control(Which::Main, b't'),
            "ctl/t kill(100,TERM) pub(main)",
        ),
    ] {
        let mut c = running_with(conf);
        assert_eq!(drive(&mut c, ev, T0, b""), want, "{ev:?}");
    }
}

/// `timeout-kill`: armed by `d`; KILL and CONT when it runs out, again every 5 s until
/// the service is reaped; the reap clears it.
#[test]
fn timeout_kill_then_every_five_seconds() {
    let mut c = running_with(Conf {
        timeout_kill: Some(200),
        ..Conf::default()
    });
    let tick = Event::Tick { control_u: false };
    drive(&mut c, Event::Control(Which::Main, b'd'), T0, b"");
    assert_eq!(c.deadline(T0), Some(T0 + 200));
    assert_eq!(drive(&mut c, tick, T0 + 199, b""), "");
    assert_eq!(
        drive(&mut c, tick, T0 + 200, b""),
        "kill(100,KILL) kill(100,CONT)"
    );
    assert_eq!(c.deadline(T0 + 200), Some(T0 + 5200));
    assert_eq!(
        drive(&mut c, tick, T0 + 5200, b""),
        "kill(100,KILL) kill(100,CONT)"
    );
    drive(&mut c, reap(100, 9), T0 + 5300, b"");
    assert_eq!(c.deadline(T0 + 5300), None);
    assert_eq!(c.svc(Which::Main).kill_at, None);
    // `t` (want up) arms nothing.
    let mut c = running_with(Conf {
        timeout_kill: Some(200),
        ..Conf::default()
    });
    drive(&mut c, Event::Control(Which::Main, b't'), T0, b"");
    assert_eq!(c.deadline(T0), None);
}

/// `timeout-finish`: a `./finish` that runs longer gets KILL.
#[test]
fn timeout_finish_kills_a_hanging_finish() {
    set_run_conf(Conf {
        timeout_finish: Some(300),
        ..Conf::default()
    });
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let tick = Event::Tick { control_u: false };
    drive(&mut c, tick, T0, b"");
    let fin = Event::Reaped {
        pid: 101,
        wstat: 0,
        finish_exists: true,
        cgroup_populated: false,
    };
    drive(&mut c, fin, T0 + 2000, b"");
    assert_eq!(drive(&mut c, tick, T0 + 2000, b""), "finish pub(main)");
    assert_eq!(c.deadline(T0 + 2000), Some(T0 + 2300));
    assert_eq!(drive(&mut c, tick, T0 + 2300, b""), "kill(101,KILL)");
    drive(&mut c, reap(101, 9), T0 + 2310, b"");
    assert_eq!(c.svc(Which::Main).finish_kill_at, None);
    assert_eq!(c.svc(Which::Main).state, State::Down);
    set_run_conf(Conf::default());
}

/// `kill-mode group`: every signal goes to the process group; when `./run` exits, the rest
/// of its group gets TERM and CONT, then KILL after `timeout-kill` (or 5 s).
#[test]
fn group_mode_signals_the_group_and_cleans_up_after_run() {
    let conf = Conf {
        kill_mode: KillMode::Group,
        ..Conf::default()
    };
    let mut c = running_with(conf);
    assert_eq!(
        drive(&mut c, Event::Control(Which::Main, b'h'), T0, b""),
        "ctl/h kill(-100,HUP)"
    );
    assert_eq!(
        drive(&mut c, Event::Control(Which::Main, b'd'), T0, b""),
        "pub(main) ctl/t kill(-100,TERM) pub(main) kill(-100,CONT) ctl/d"
    );
    assert_eq!(
        drive(&mut c, reap(100, 15), T0 + 10, b""),
        "kill(-100,TERM) kill(-100,CONT) pub(main)"
    );
    let tick = Event::Tick { control_u: false };
    assert_eq!(c.deadline(T0 + 10), Some(T0 + 10 + KILL_AGAIN_MS));
    assert_eq!(
        drive(&mut c, tick, T0 + 10 + KILL_AGAIN_MS, b""),
        "kill(-100,KILL)"
    );
    assert_eq!(c.deadline(T0 + 10 + KILL_AGAIN_MS), None);
}

/// `kill-mode cgroup`: `./run` gone but its cgroup not empty: the rest gets TERM and CONT,
/// `cgroup.kill` after the grace, and the service counts as down only once it is empty.
#[test]
fn cgroup_mode_waits_for_an_empty_cgroup() {
    let conf = Conf {
        kill_mode: KillMode::Cgroup,
        timeout_kill: Some(300),
        ..Conf::default()
    };
    let mut c = running_with(conf);
    let exit = Event::Reaped {
        pid: 100,
        wstat: 0,
        finish_exists: false,
        cgroup_populated: true,
    };
    assert_eq!(drive(&mut c, exit, T0, b""), "cgsig(TERM) cgsig(CONT)");
    assert_eq!(c.svc(Which::Main).state, State::Run, "not down yet");
    let tick = Event::Tick { control_u: false };
    assert_eq!(
        drive(&mut c, tick, T0 + 100, b""),
        "",
        "no restart while draining"
    );
    assert_eq!(drive(&mut c, tick, T0 + 300, b""), "cgkill");
    assert_eq!(
        drive(&mut c, Event::CgroupEmpty, T0 + 310, b""),
        "pub(main)"
    );
    assert_eq!(c.svc(Which::Main).state, State::Down);
    assert_eq!(
        drive(&mut c, tick, T0 + 310, b""),
        "ctl/u run(main) pub(main)"
    );
    // Taken down: timeout-kill ends with cgroup.kill rather than KILL to the group.
    let mut c = running_with(conf);
    drive(&mut c, Event::Control(Which::Main, b'd'), T0, b"");
    assert_eq!(drive(&mut c, tick, T0 + 300, b""), "cgkill");
}

/// `restart-limit 3 10`: the third exit within 10 s leaves the service down, want down,
/// said once; `u` brings it back.
#[test]
fn restart_limit_stops_restarting_until_up() {
    set_run_conf(Conf {
        restart_limit: Some((3, 10_000)),
        ..Conf::default()
    });
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let tick = Event::Tick { control_u: false };
    let mut t = T0;
    for i in 0..3 {
        assert_eq!(
            drive(&mut c, tick, t, b""),
            "ctl/u run(main) pub(main)",
            "start {i}"
        );
        t += 1500; // each ran 1.5 s: no 1-second throttle
        let got = drive(&mut c, reap(101, 256), t, b"");
        if i < 2 {
            assert_eq!(got, "pub(main)");
        } else {
            assert_eq!(got, "gaveup(RestartLimit) pub(main)");
        }
    }
    let m = c.svc(Which::Main);
    assert_eq!(
        (m.want, m.gave_up),
        (Want::Down, Some(GaveUp::RestartLimit))
    );
    assert_eq!(drive(&mut c, tick, t + 60_000, b""), "", "stays down");
    drive(&mut c, Event::Control(Which::Main, b'u'), t + 60_000, b"");
    assert_eq!(c.svc(Which::Main).gave_up, None);
    assert_eq!(
        drive(&mut c, tick, t + 60_000, b""),
        "ctl/u run(main) pub(main)"
    );
    // Exits spread wider than the window do not count together.
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let mut t = T0;
    for _ in 0..6 {
        drive(&mut c, tick, t, b"");
        t += 6000;
        drive(&mut c, reap(101, 256), t, b"");
    }
    assert_eq!(c.svc(Which::Main).gave_up, None);
    set_run_conf(Conf::default());
}

/// `restart-delay 100 1000`: each run that ends within a second doubles the wait, from
/// MIN up to MAX; a run of a second or more resets it. Commands act during the wait.
#[test]
fn restart_delay_doubles_and_resets() {
    set_run_conf(Conf {
        restart_delay: Some((100, 1000)),
        ..Conf::default()
    });
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let tick = Event::Tick { control_u: false };
    let mut t = T0;
    let mut waits = Vec::new();
    for _ in 0..6 {
        assert_eq!(drive(&mut c, tick, t, b""), "ctl/u run(main) pub(main)");
        t += 50; // a quick death
        drive(&mut c, reap(101, 256), t, b"");
        let at = c.deadline(t).expect("a wait");
        waits.push(at - t);
        t = at;
    }
    assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    // During a wait `d` is obeyed at once.
    assert_eq!(
        drive(&mut c, Event::Control(Which::Main, b'd'), t - 10, b""),
        "pub(main)"
    );
    drive(&mut c, Event::Control(Which::Main, b'u'), t - 5, b"");
    // A run that lasts resets the delay.
    drive(&mut c, tick, t, b"");
    t += 1500;
    drive(&mut c, reap(101, 256), t, b"");
    assert_eq!(c.deadline(t), None);
    assert_eq!(c.svc(Which::Main).delay, None);
    set_run_conf(Conf::default());
}

/// `./finish` exiting 125: permanent failure, as in s6.
#[test]
fn finish_exit_125_is_permanent() {
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let tick = Event::Tick { control_u: false };
    drive(&mut c, tick, T0, b"");
    let fin = Event::Reaped {
        pid: 101,
        wstat: 256,
        finish_exists: true,
        cgroup_populated: false,
    };
    drive(&mut c, fin, T0 + 2000, b"");
    assert_eq!(drive(&mut c, tick, T0 + 2000, b""), "finish pub(main)");
    assert_eq!(
        drive(&mut c, reap(101, 125 << 8), T0 + 2100, b""),
        "gaveup(Finish125) pub(main)"
    );
    assert_eq!(c.svc(Which::Main).want, Want::Down);
    assert_eq!(drive(&mut c, tick, T0 + 9000, b""), "");
    // Any other finish exit code: restarted as runit does.
    let mut c = core_with(svc(State::Finish, Want::Up, 200));
    drive(&mut c, reap(200, 124 << 8), T0, b"");
    assert_eq!(drive(&mut c, tick, T0, b""), "ctl/u run(main) pub(main)");
}

/// A previous runsv's service still running at start-up: stopped before anything
/// starts, KILL after the grace, then the start.
#[test]
fn leftover_is_stopped_before_the_first_start() {
    let conf = Conf {
        kill_mode: KillMode::Group,
        down_signal: libc::SIGQUIT,
        timeout_kill: Some(400),
        ..Conf::default()
    };
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    assert_eq!(
        drive(&mut c, Event::Leftover { pgid: 77, conf }, T0, b""),
        "kill(-77,QUIT) kill(-77,CONT)"
    );
    let tick = Event::Tick { control_u: false };
    assert_eq!(drive(&mut c, tick, T0 + 10, b""), "", "no start meanwhile");
    assert_eq!(drive(&mut c, tick, T0 + 400, b""), "kill(-77,KILL)");
    drive(&mut c, Event::LeftoverGone, T0 + 410, b"");
    assert_eq!(
        drive(&mut c, tick, T0 + 410, b""),
        "ctl/u run(main) pub(main)"
    );
    // A cgroup leftover: signals to the cgroup, gone when it is empty.
    let mut c = core_with(svc(State::Down, Want::Up, 0));
    let conf = Conf {
        kill_mode: KillMode::Cgroup,
        ..conf
    };
    assert_eq!(
        drive(&mut c, Event::Leftover { pgid: 0, conf }, T0, b""),
        "cgsig(QUIT) cgsig(CONT)"
    );
    drive(&mut c, Event::CgroupEmpty, T0 + 5, b"");
    assert_eq!(
        drive(&mut c, tick, T0 + 5, b""),
        "ctl/u run(main) pub(main)"
    );
}

/// Every deadline due at once still fits the action list.
#[test]
fn all_deadlines_at_once_fit() {
    let mut m = svc(State::Run, Want::Down, 100);
    m.conf = Conf {
        kill_mode: KillMode::Group,
        ..Conf::default()
    };
    m.kill_at = Some(T0);
    m.finish_kill_at = Some(T0);
    m.group_kill = Some((90, T0));
    m.draining = Some(Draining {
        wstat: 0,
        finish_exists: false,
        kill_at: T0,
    });
    let mut c = core_with(m);
    c.leftover = Some((80, T0));
    let acts = c.step(Event::Tick { control_u: false }, now(T0));
    assert!(acts.as_slice().len() < MAX_ACTIONS, "{:?}", acts.as_slice());
}

//! runsv control-byte matrix (supervise-protocol.md §5–§9): every control byte in every
//! starting state, ours against Debian's runit 2.1.2 runsv (`ref_bin("runsv")`), compared on
//! what a client and the service can observe once things have settled: the `stat` line, the
//! status record's flags (paused, want, term, state; not the timestamp or pid), whether the
//! ./run instance the byte was aimed at is alive, how many times ./run started, which signals
//! ./run received (its traps record them), ./finish's arguments and signals, and whether runsv
//! is still running.
//!
//! Each cell gets fresh service directories (one per runsv, same scripts), brings both to the
//! starting state, sends the byte to both, and waits until both settle: runsv has read the
//! byte (the FIFO is empty), nothing is pending (no start due, no TERMed process about to exit,
//! no finish about to end, no runsv about to exit), the ./run loop has gone round twice since
//! (so any signal has reached its trap), and the observations stayed the same for 300 ms.
//! One test per starting state; the cells of a state run in parallel threads. Each cell also
//! checks our settled `stat` line and ./run's signals against the spec's table (`expected`).
//!
//! Findings: runit 2.1.2 agrees with the spec (written for 2.3.0) in every cell; the one cell
//! that differs on purpose is `k` during ./finish (divergence (a), see `divergence`). A runner
//! that ignores signals (`cargo test &`, nohup) would hand them down, ignored: runit's runsv
//! passes them on to ./run, whose shell then cannot trap them, while ours starts every child
//! with default dispositions (divergence (f)), so the `h`/`i`/`q` cells differed when the test
//! binary ran in the background. `start_runsv` starts both runsv clean (`common::clean`).
use crate::common::*;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Every command byte of §9.2, and one that is ignored.
const BYTES: &[u8] = b"udoxtkpchaiq12z";

/// How long the observations must stay unchanged to count as settled.
const QUIET: Duration = Duration::from_millis(300);

/// ./run: records its starts and every trapped signal, says it is ready once the traps are
/// set, and beats once per round of its loop (a shell runs traps only between commands). TERM
/// ends it (exit 3) unless `noterm` exists; it then waits up to a second for the CONT that
/// follows a TERM when want is down (runsv may be descheduled between the two kills). The
/// traps leave marker files rather than set variables: under heavy load a shell was once seen
/// looping on for seconds after its TERM trap had run (`sig` said TERM, CONT).
const RUN: &str = r#"[ "$1" = probe ] && exit 0
echo $$ >> starts
for s in HUP ALRM INT QUIT USR1 USR2; do trap "echo $s >> sig" $s; done
trap 'echo CONT >> sig; : > cont.$$' CONT
trap 'echo TERM >> sig; [ -e noterm ] || : > stop.$$' TERM
echo $$ > ready
while [ ! -e stop.$$ ]; do sleep 0.05; echo . >> beat; done
i=0; while [ ! -e cont.$$ ] && [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done
exit 3"#;

/// ./finish: records the signals it gets and its arguments (after the traps are set), then
/// lingers while `hold` exists.
const FINISH: &str = r#"[ "$1" = probe ] && exit 0
for s in HUP ALRM INT QUIT USR1 USR2 TERM CONT; do trap "echo $s >> fsig" $s; done
echo "$@" >> finish.log
while [ -e hold ]; do sleep 0.05; done"#;

/// The main service of log cells.
const SLEEPER: &str = r#"[ "$1" = probe ] && exit 0
exec sleep 1000"#;

/// Makes `at` a symlink to one of the scripts, written once per test binary.
///
/// Each service could get its own copies, but an executable written while another thread
/// forks can fail to start with ETXTBSY (the forked child holds the writing descriptor until
/// it execs), which runsv reports as `./finish 111 0`. Scripts written once, replaced by
/// rename only if their content changed, and probed until they execute avoid that.
fn link(name: &str, at: &Path) {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runsv_matrix");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, body) in [("run", RUN), ("finish", FINISH), ("sleeper", SLEEPER)] {
            let path = dir.join(name);
            if read(&path) != format!("#!/bin/sh\n{body}\n") {
                let new = dir.join(format!("{name}.{}", std::process::id()));
                script(&new, body);
                std::fs::rename(&new, &path).unwrap();
            }
            must(
                5.0,
                "script executes",
                || match std::process::Command::new(&path).arg("probe").status() {
                    Ok(st) => st.success(),
                    Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => false,
                    Err(e) => panic!("{}: {e}", path.display()),
                },
            );
        }
        dir
    });
    std::os::unix::fs::symlink(dir.join(name), at).unwrap();
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Start {
    /// run, want up.
    RunUp,
    /// run, want down (`down` file, then `o`).
    RunDown,
    /// down, want down (`down` file, never started).
    Down,
    /// finish (./finish lingering after `d`).
    Finish,
    /// run, paused (after `p`).
    Paused,
    /// run, got TERM, want down (./run ignores TERM, after `d`).
    GotTerm,
    /// The log service running; bytes go to `log/supervise/control`.
    Log,
}

/// What the byte's effect looks like from outside.
#[derive(Clone, Debug, PartialEq)]
struct Obs {
    stat: String,
    /// Status record bytes 16–19: paused, want, term, state.
    flags: Option<(u8, u8, u8, u8)>,
    has_pid: bool,
    /// Is the ./run instance that was running when the byte was sent still alive?
    run_alive: Option<bool>,
    starts: usize,
    /// Signals ./run trapped since the byte (sorted).
    signals: Vec<String>,
    finish: Vec<String>,
    finish_signals: Vec<String>,
    /// None while runsv runs, else its exit code.
    runsv_exit: Option<i32>,
    /// The main service's `stat` in log cells (must stay untouched).
    main_stat: String,
}

/// One runsv (ours or the reference) on its own copy of the service.
struct Side {
    runsv: Proc,
    svc: PathBuf,
    /// `svc` or `svc/log`: where the byte goes and what is observed.
    target: PathBuf,
    /// The ./run instance the byte is aimed at.
    pid0: Option<u32>,
    /// Length of `sig` before the byte.
    sig0: usize,
    /// Our end of the control FIFO, kept to see when runsv has read the byte.
    fifo: Option<File>,
    /// `beat` length when runsv was first seen to have read the byte.
    beat0: Option<u64>,
    /// `x` went to the main service: runsv is to exit once it is down.
    exit_sent: bool,
}

fn stat_line(d: &Path) -> String {
    read(d.join("supervise/stat"))
}

/// The process's state letter from /proc (`T` when stopped).
fn proc_state(pid: u32) -> char {
    let s = read(format!("/proc/{pid}/stat"));
    s.rsplit(')')
        .next()
        .unwrap_or("")
        .trim_start()
        .chars()
        .next()
        .unwrap_or('?')
}

fn stopped(pid: u32) -> bool {
    matches!(proc_state(pid), 'T' | 't')
}

fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Waits for the starting state; on a timeout says what `d` looked like.
fn settled(d: &Path, what: &str, cond: impl FnMut() -> bool) {
    if !wait_for(5.0, cond) {
        let svc = if d.ends_with("log") {
            d.parent().unwrap()
        } else {
            d
        };
        panic!(
            "timed out waiting for {what} in {}: stat {:?} status {:?} (/proc: {:?}) starts {:?} \
             sig {:?} finish {:?} runsv stderr {:?}",
            d.display(),
            stat_line(d),
            status(d),
            status(d).map(|x| read(format!("/proc/{}/stat", x.0))),
            lines(d.join("starts")),
            lines(d.join("sig")),
            lines(d.join("finish.log")),
            runsv_stderr(svc)
        );
    }
}

/// Waits until ./run in `d` runs with its traps set; returns its pid.
fn wait_ready(d: &Path) -> u32 {
    let mut pid = 0;
    settled(d, "./run ready", || match status(d) {
        Some((p, _, _, _, 1)) if p != 0 && read(d.join("ready")).trim() == p.to_string() => {
            pid = p;
            true
        }
        _ => false,
    });
    pid
}

impl Side {
    /// Creates the service under `root`, starts `runsv` on it and brings it to `start`.
    fn new(runsv: &Path, root: &Path, start: Start) -> Side {
        let svc = root.join("s");
        let target = if start == Start::Log {
            std::fs::create_dir_all(svc.join("log")).unwrap();
            link("sleeper", &svc.join("run"));
            link("run", &svc.join("log/run"));
            // Never run (§2): its record must stay empty.
            link("finish", &svc.join("log/finish"));
            svc.join("log")
        } else {
            std::fs::create_dir_all(&svc).unwrap();
            link("run", &svc.join("run"));
            link("finish", &svc.join("finish"));
            svc.clone()
        };
        if matches!(start, Start::RunDown | Start::Down) {
            std::fs::write(svc.join("down"), "").unwrap();
        }
        if start == Start::GotTerm {
            std::fs::write(svc.join("noterm"), "").unwrap();
        }
        let p = start_runsv(runsv, &svc);
        let mut pid0 = None;
        match start {
            Start::Down => {
                settled(&svc, "down, want down", || {
                    status(&svc) == Some((0, 0, b'd', 0, 0)) && stat_line(&svc) == "down\n"
                });
            }
            Start::RunDown => {
                control(&svc, "o");
                pid0 = Some(wait_ready(&svc));
                settled(&svc, "run, want down", || {
                    stat_line(&svc) == "run, want down\n"
                });
            }
            Start::Log => {
                pid0 = Some(wait_ready(&target));
                wait_up(&svc);
            }
            _ => pid0 = Some(wait_ready(&svc)),
        }
        match start {
            Start::Finish => {
                std::fs::write(svc.join("hold"), "").unwrap();
                control(&svc, "d");
                settled(&svc, "finish lingering", || {
                    matches!(status(&svc), Some((p, 0, b'd', 0, 2)) if p != 0)
                        && lines(svc.join("finish.log")).len() == 1
                });
                pid0 = None;
            }
            Start::Paused => {
                let pid = pid0.unwrap();
                control(&svc, "p");
                settled(&svc, "paused", || {
                    stat_line(&svc) == "run, paused\n" && stopped(pid)
                });
            }
            Start::GotTerm => {
                control(&svc, "d");
                settled(&svc, "TERM ignored", || {
                    let sig = sorted(&read(svc.join("sig")));
                    stat_line(&svc) == "run, got TERM, want down\n" && sig == ["CONT", "TERM"]
                });
            }
            _ => {}
        }
        let sig0 = read(target.join("sig")).len();
        Side {
            runsv: p,
            svc,
            target,
            pid0,
            sig0,
            fifo: None,
            beat0: None,
            exit_sent: false,
        }
    }

    /// Writes the byte the way sv does and keeps the FIFO open.
    fn send(&mut self, byte: u8) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(self.target.join("supervise/control"))
            .unwrap();
        f.write_all(&[byte]).unwrap();
        self.fifo = Some(f);
        self.exit_sent = byte == b'x' && self.target == self.svc;
    }

    fn runsv_exit(&mut self) -> Option<i32> {
        self.runsv
            .child
            .try_wait()
            .unwrap()
            .map(|s| s.code().unwrap_or(-1))
    }

    fn observe(&mut self) -> Obs {
        let t = self.target.clone();
        let st = status(&t);
        let sig = read(t.join("sig"));
        Obs {
            stat: stat_line(&t),
            flags: st.map(|(_, p, w, tm, s)| (p, w, tm, s)),
            has_pid: st.is_some_and(|x| x.0 != 0),
            run_alive: self.pid0.map(|p| pid_alive(p as i32)),
            starts: lines(t.join("starts")).len(),
            signals: sorted(sig.get(self.sig0..).unwrap_or("")),
            finish: lines(t.join("finish.log")),
            finish_signals: sorted(&read(t.join("fsig"))),
            runsv_exit: self.runsv_exit(),
            main_stat: if t == self.svc {
                String::new()
            } else {
                stat_line(&self.svc)
            },
        }
    }

    /// Nothing is under way: the byte was read and whatever it set off has come to rest.
    fn quiet(&mut self) -> bool {
        if let Some(f) = &self.fifo {
            let mut n: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int.
            let r = unsafe { libc::ioctl(f.as_raw_fd(), libc::FIONREAD, &mut n) };
            if r != 0 || n != 0 {
                return false;
            }
        }
        let t = self.target.clone();
        let beat = || {
            std::fs::metadata(t.join("beat"))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        let beat0 = *self.beat0.get_or_insert_with(beat);
        let running = self.runsv_exit().is_none();
        match status(&t) {
            None => false,
            // A start is due, or runsv is about to exit.
            Some((_, _, want, _, 0)) => !(running && (want == b'u' || self.exit_sent)),
            Some((pid, _, _, term, 1)) => {
                if pid == 0 || !pid_alive(pid as i32) {
                    return false; // about to be reaped
                }
                if read(t.join("ready")).trim() != pid.to_string() {
                    return false; // still starting
                }
                if stopped(pid) {
                    return true;
                }
                if term == 1 && !t.join("noterm").exists() {
                    return false; // about to exit
                }
                // Two rounds of the loop since the byte was read: any signal has been trapped.
                beat() >= beat0 + 4
            }
            Some((_, _, _, _, 2)) => t.join("hold").exists(),
            Some(_) => false,
        }
    }
}

/// Waits until both sides are quiet and unchanged for `QUIET`; returns their observations and
/// whether they settled within the deadline.
fn settle(sides: &mut [Side; 2]) -> ([Obs; 2], bool) {
    let mut last: [Option<Obs>; 2] = [None, None];
    let mut since = [Instant::now(); 2];
    let ok = wait_for(10.0, || {
        let mut all = true;
        for (i, s) in sides.iter_mut().enumerate() {
            let quiet = s.quiet();
            let o = s.observe();
            if !quiet || last[i].as_ref() != Some(&o) {
                since[i] = Instant::now();
            }
            last[i] = Some(o);
            all &= since[i].elapsed() >= QUIET;
        }
        std::thread::sleep(Duration::from_millis(8));
        all
    });
    let [a, b] = last;
    ([a.unwrap(), b.unwrap()], ok)
}

/// Cells where runit-rs differs from runit 2.1.2 on purpose.
fn divergence(start: Start, byte: u8) -> Option<&'static str> {
    match (start, byte) {
        // Divergence (a), supervise-protocol.md §9.3: runit's `k` during ./finish sends nothing
        // but marks the service down, so when ./finish exits runit runs ./finish a second time
        // with the finish's own status (`0 0`). runit-rs keeps state finish until the reap and
        // runs ./finish once. Both settle in the same state.
        (Start::Finish, b'k') => Some("divergence (a): k during ./finish"),
        _ => None,
    }
}

/// The settled `stat` line, and the signals ./run trapped, that the spec (§6, §9.2) gives for
/// a cell (for `Start::Finish`: while ./finish still lingers).
fn expected(start: Start, byte: u8) -> (&'static str, &'static [&'static str]) {
    const TC: &[&str] = &["CONT", "TERM"];
    let sig: &'static [&'static str] = match byte {
        b'h' => &["HUP"],
        b'a' => &["ALRM"],
        b'i' => &["INT"],
        b'q' => &["QUIT"],
        b'1' => &["USR1"],
        b'2' => &["USR2"],
        b'c' => &["CONT"],
        _ => &[],
    };
    match (start, byte) {
        (Start::RunUp | Start::Log, b'u' | b'k' | b'z') => ("run\n", &[]),
        (Start::RunUp | Start::Log, b'd') => ("down\n", TC),
        (Start::RunUp | Start::Log, b'o') => ("run, want down\n", &[]),
        (Start::RunUp, b'x') => ("down\n", TC),
        // The log control FIFO ignores `x` (§9.2).
        (Start::Log, b'x') => ("run\n", &[]),
        // With want up, the stop sequence sends no CONT; ./run exits and is restarted.
        (Start::RunUp | Start::Log, b't') => ("run\n", &["TERM"]),
        (Start::RunUp | Start::Log, b'p') => ("run, paused\n", &[]),
        (Start::RunUp | Start::Log, _) => ("run\n", sig),

        (Start::RunDown, b'u') => ("run\n", &[]),
        (Start::RunDown, b'd' | b'x' | b't') => ("down\n", TC),
        (Start::RunDown, b'k') => ("down\n", &[]),
        (Start::RunDown, b'p') => ("run, paused, want down\n", &[]),
        (Start::RunDown, _) => ("run, want down\n", sig),

        (Start::Down, b'u') => ("run\n", &[]),
        (Start::Down, b'o') => ("run, want down\n", &[]),
        // `p` sets the paused flag even while down (§6, quirk kept).
        (Start::Down, b'p') => ("down, paused\n", &[]),
        (Start::Down, _) => ("down\n", &[]),

        // No signal ever goes to ./finish (§9.2).
        (Start::Finish, b'u') => ("finish\n", &[]),
        (Start::Finish, b'x') => ("finish, want exit\n", &[]),
        (Start::Finish, b'p') => ("finish, paused, want down\n", &[]),
        (Start::Finish, _) => ("finish, want down\n", &[]),

        (Start::Paused, b'u' | b'z' | b'p') => ("run, paused\n", &[]),
        // TERM and CONT: ./run wakes, exits, ./finish runs; starting ./finish clears the flag.
        (Start::Paused, b'd' | b'x') => ("down\n", TC),
        (Start::Paused, b'o') => ("run, paused, want down\n", &[]),
        // With want up no CONT follows the TERM: it stays pending (§9.3, quirk kept).
        (Start::Paused, b't') => ("run, paused, got TERM\n", &[]),
        (Start::Paused, b'k') => ("run\n", &[]),
        (Start::Paused, b'c') => ("run\n", &["CONT"]),
        // Signals stay pending in the stopped ./run.
        (Start::Paused, _) => ("run, paused\n", &[]),

        (Start::GotTerm, b'u') => ("run, got TERM\n", &[]),
        (Start::GotTerm, b'd' | b't') => ("run, got TERM, want down\n", TC),
        (Start::GotTerm, b'x') => ("run, got TERM, want exit\n", TC),
        (Start::GotTerm, b'k') => ("down\n", &[]),
        (Start::GotTerm, b'p') => ("run, paused, got TERM, want down\n", &[]),
        (Start::GotTerm, _) => ("run, got TERM, want down\n", sig),
    }
}

/// One cell: both runsvs from `start`, `byte` sent, compared once settled (and for
/// `Start::Finish` once more after ./finish was let go).
fn cell(start: Start, byte: u8) -> Result<(), String> {
    let t = tmp();
    let mut sides = [
        Side::new(&ref_bin("runsv"), &t.path().join("ref"), start),
        Side::new(&bin("runsv"), &t.path().join("ours"), start),
    ];
    for s in sides.iter_mut() {
        s.send(byte);
    }
    let mut phases = vec!["after the byte"];
    if start == Start::Finish {
        phases.push("after ./finish ended");
    }
    for (n, phase) in phases.into_iter().enumerate() {
        if n == 1 {
            for s in sides.iter() {
                std::fs::remove_file(s.target.join("hold")).unwrap();
            }
        }
        let ([theirs, ours], ok) = settle(&mut sides);
        let what = format!("{start:?} + {:?} {phase}", byte as char);
        if !ok {
            return Err(format!(
                "{what}: did not settle\n  ref:  {theirs:?}\n  ours: {ours:?}"
            ));
        }
        match divergence(start, byte) {
            Some(why) if n == 1 => {
                // The settled state agrees; only ./finish's record differs.
                let state = |o: &Obs| (o.stat.clone(), o.flags, o.has_pid, o.runsv_exit);
                if state(&theirs) != state(&ours)
                    || theirs.finish != ["3 0", "0 0"]
                    || ours.finish != ["3 0"]
                {
                    return Err(format!(
                        "{what} ({why}):\n  ref:  {theirs:?}\n  ours: {ours:?}"
                    ));
                }
            }
            _ => {
                if theirs != ours {
                    return Err(format!("{what}:\n  ref:  {theirs:?}\n  ours: {ours:?}"));
                }
            }
        }
        if n == 0 {
            // Not only alike: as the spec says (this also shows the starting state was right).
            let (stat, signals) = expected(start, byte);
            if ours.stat != stat || ours.signals != signals {
                return Err(format!(
                    "{what}: spec says {stat:?} {signals:?}\n  ref:  {theirs:?}\n  ours: {ours:?}"
                ));
            }
        }
    }
    Ok(())
}

/// Runs every byte from `start`, three threads at a time, and reports every failing cell.
fn matrix(start: Start) {
    let chunks: Vec<&[u8]> = BYTES.chunks(BYTES.len().div_ceil(3)).collect();
    let failures: Vec<String> = std::thread::scope(|sc| {
        let hs: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                sc.spawn(move || {
                    let mut bad = Vec::new();
                    for &b in chunk {
                        let r = std::panic::catch_unwind(|| cell(start, b));
                        match r {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => bad.push(e),
                            Err(p) => bad.push(format!(
                                "{start:?} + {:?}: panicked: {}",
                                b as char,
                                p.downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_default()
                            )),
                        }
                    }
                    bad
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn run_want_up() {
    matrix(Start::RunUp);
}

#[test]
fn run_want_down() {
    matrix(Start::RunDown);
}

#[test]
fn down_want_down() {
    matrix(Start::Down);
}

#[test]
fn finish() {
    matrix(Start::Finish);
}

#[test]
fn run_paused() {
    matrix(Start::Paused);
}

#[test]
fn run_got_term() {
    matrix(Start::GotTerm);
}

#[test]
fn log_running() {
    matrix(Start::Log);
}

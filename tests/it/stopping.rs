//! Stopping and restarting like a modern supervisor (docs/stopping.md): `down-signal`,
//! `timeout-kill`, `timeout-finish`, `kill-mode` (process group, cgroup), a previous
//! runsv's leftovers, `restart-limit`, `restart-delay`, `./finish` exiting 125, and bad
//! content in every file — with real processes.
use crate::common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn sv(args: &[&str], cwd: &Path) -> (String, Option<i32>) {
    let mut c = ours("sv");
    c.args(args).current_dir(cwd);
    let o = run_cmd(c, 30.0);
    (stdout(&o), o.status.code())
}

fn info_has(svc: &Path, line: &str) -> bool {
    read(svc.join("supervise/info")).lines().any(|l| l == line)
}

/// Pids whose `/proc/PID/environ` holds `MARK=<mark>`: every process a test service
/// started, wherever it went (other sessions, re-parented).
fn marked(mark: &str) -> Vec<i32> {
    let want = format!("MARK={mark}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|v| v == want.as_bytes()) && pid_alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// Kills the marked processes (cleanup of a test that failed half-way).
struct Marked(String);

impl Drop for Marked {
    fn drop(&mut self) {
        for p in marked(&self.0) {
            unsafe_kill(p, libc::SIGKILL);
        }
    }
}

fn mark(t: &tempfile::TempDir) -> String {
    t.path().file_name().unwrap().to_string_lossy().into_owned()
}

/// runsv with `MARK` in its environment (its services inherit it).
fn start_marked(svc: &Path, mark: &str) -> Proc {
    let mut c = ours("runsv");
    c.arg(svc).env("MARK", mark);
    let err = std::fs::File::create(svc.with_extension("stderr")).unwrap();
    c.stderr(err).stdout(std::process::Stdio::null());
    let p = spawn(c);
    must(5.0, "runsv ready", || runsv_alive(svc));
    p
}

/// A service ignoring TERM with `timeout-kill 200`: `sv -w 10 down` returns once the KILL
/// after 200 ms has done its work, not before 200 ms and well within sv's wait.
#[test]
fn term_ignoring_service_is_killed_after_timeout_kill() {
    let t = tmp();
    let svc = service(
        t.path(),
        "s",
        "trap '' TERM; touch ../trapped; exec sleep 1000",
    );
    std::fs::write(svc.join("timeout-kill"), "200\n").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    let pid = wait_up(&svc);
    must(5.0, "trap set", || t.path().join("trapped").exists());
    // The trap is in the shell that exec'd sleep: sleep inherits the ignored TERM.
    let t0 = Instant::now();
    let (out, code) = sv(&["-w", "10", "down", "./s"], t.path());
    let took = t0.elapsed();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("ok: down: ./s: "), "{out}");
    assert!(
        took >= Duration::from_millis(200),
        "KILL before timeout-kill: {took:?}"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(!pid_alive(pid as i32));
}

/// `down-signal INT`: `sv down` sends INT (then CONT) instead of TERM.
#[test]
fn down_signal_is_sent_instead_of_term() {
    let t = tmp();
    let svc = service(
        t.path(),
        "s",
        "trap 'echo INT > ../got; exit 0' INT; trap 'echo TERM > ../got; exit 0' TERM; \
         touch ../trapped; while :; do sleep 0.01; done",
    );
    std::fs::write(svc.join("down-signal"), "SIGINT\n").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    wait_up(&svc);
    must(5.0, "trap set", || t.path().join("trapped").exists());
    let (out, code) = sv(&["-w", "5", "down", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(read(t.path().join("got")).trim(), "INT");
}

/// `kill-mode group`: `./run` forks workers into its process group; `sv down` leaves
/// none of them running, and `sv status` reads exactly as runit's.
#[test]
fn group_mode_stops_the_whole_process_group() {
    let t = tmp();
    let m = mark(&t);
    let _clean = Marked(m.clone());
    let svc = service(
        t.path(),
        "s",
        "sleep 1000 & sleep 1000 & (sleep 1000 &); touch ../forked; wait",
    );
    std::fs::write(svc.join("kill-mode"), "group\n").unwrap();
    let _p = start_marked(&svc, &m);
    let pid = wait_up(&svc) as i32;
    must(5.0, "workers forked", || {
        t.path().join("forked").exists() && marked(&m).len() >= 5
    });
    let pgid = read(format!("/proc/{pid}/stat"))
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse::<i32>()
        .unwrap();
    assert_eq!(pgid, pid, "./run leads its own group");
    // sv status is runit's, byte for byte: Debian's sv prints the same line.
    let (st, _) = sv(&["status", "./s"], t.path());
    let mut c = Command::new(ref_bin("sv"));
    c.args(["status", "./s"]).current_dir(t.path());
    let theirs = stdout(&run_cmd(c, 10.0));
    assert_eq!(normalise(&st), normalise(&theirs));
    assert!(st.starts_with("run: ./s: (pid "), "{st}");
    let (out, code) = sv(&["-w", "10", "down", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}");
    must(5.0, "every worker gone", || {
        marked(&m).iter().all(|&p| p == _p.pid())
    });
}

/// Without `kill-mode`, runit's behaviour: the workers survive `sv down` (pinned, so the
/// default stays runit's).
#[test]
fn process_mode_leaves_workers_as_runit_does() {
    let t = tmp();
    let m = mark(&t);
    let _clean = Marked(m.clone());
    let svc = service(t.path(), "s", "sleep 1000 & touch ../forked; wait");
    let _p = start_marked(&svc, &m);
    wait_up(&svc);
    must(5.0, "worker forked", || t.path().join("forked").exists());
    let (out, code) = sv(&["-w", "10", "down", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}");
    let left: Vec<i32> = marked(&m).into_iter().filter(|&p| p != _p.pid()).collect();
    assert_eq!(
        left.len(),
        1,
        "the worker survives, as under runit: {left:?}"
    );
}

/// A hanging `./finish` is killed after `timeout-finish`; the service then comes back.
#[test]
fn hanging_finish_is_killed_after_timeout_finish() {
    let t = tmp();
    let svc = service(t.path(), "s", "exec sleep 1000");
    script(svc.join("finish"), "touch ../finishing; exec sleep 1000");
    std::fs::write(svc.join("timeout-finish"), "300").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    let pid = wait_up(&svc);
    control(&svc, "t");
    must(5.0, "finish started", || {
        t.path().join("finishing").exists()
    });
    let t0 = Instant::now();
    must(
        5.0,
        "a new run",
        || matches!(status(&svc), Some((np, _, _, _, 1)) if np != pid),
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
}

/// `restart-limit 3 10`: a service that exits at once stops after three exits, says so
/// once, shows it (info and sv status), and comes back on `sv up`.
#[test]
fn restart_limit_then_sv_up() {
    let t = tmp();
    let svc = service(t.path(), "s", "echo run >> ../runs; exit 1");
    std::fs::write(svc.join("restart-limit"), "3 10\n").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    // info is written before status: wait for both.
    must(10.0, "given up", || {
        info_has(&svc, "gaveup=restart-limit")
            && status(&svc).map(|s| (s.0, s.2, s.4)) == Some((0, b'd', 0))
    });
    assert_eq!(lines(t.path().join("runs")).len(), 3);
    let want = format!(
        "runsv {}: warning: restart-limit reached: 3 exits within 10 seconds; down until sv up",
        svc.display()
    );
    assert_eq!(
        runsv_stderr(&svc).lines().filter(|l| *l == want).count(),
        1,
        "{}",
        runsv_stderr(&svc)
    );
    let (st, _) = sv(&["status", "./s"], t.path());
    assert!(st.trim_end().ends_with(", gave up: restart-limit"), "{st}");
    std::fs::write(svc.join("run"), "").unwrap();
    script(svc.join("run"), "exec sleep 1000");
    let (out, code) = sv(&["-w", "5", "up", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(!info_has(&svc, "gaveup=restart-limit"));
}

/// `restart-delay 100 800`: the waits between quick deaths double from 100 ms to 800 ms,
/// measured from the status record's timestamps (down at the death, run at the start).
#[test]
fn restart_delay_doubles_between_quick_deaths() {
    let t = tmp();
    // Each run lasts 0.2 s (a quick death: under a second) so that every record, run and
    // down, stays long enough to be seen below.
    let svc = service(t.path(), "s", "sleep 0.2; exit 1");
    std::fs::write(svc.join("restart-delay"), "100 800").unwrap();
    // Watch every record runsv publishes: state changes with their TAI64N stamps.
    let _p = start_runsv(&bin("runsv"), &svc);
    let mut seen: Vec<(u8, u64)> = Vec::new();
    let stamp = |b: &[u8]| {
        let secs = u64::from_be_bytes(b[0..8].try_into().unwrap());
        let nanos = u32::from_be_bytes(b[8..12].try_into().unwrap());
        (secs - (1 << 62) - 10) * 1000 + u64::from(nanos) / 1_000_000
    };
    must(20.0, "six deaths seen", || {
        if let Ok(b) = std::fs::read(svc.join("supervise/status")) {
            if b.len() == 20 {
                let rec = (b[19], stamp(&b));
                if seen.last() != Some(&rec) {
                    seen.push(rec);
                }
            }
        }
        seen.iter().filter(|r| r.0 == 0).count() >= 7
    });
    // Each down → next run: the wait. (A run's stamp is its start, a down's its death.)
    let mut waits = Vec::new();
    for w in seen.windows(3) {
        // run → down (a death) → run: the wait after the death.
        if (w[0].0, w[1].0, w[2].0) == (1, 0, 1) {
            waits.push(w[2].1 - w[1].1);
        }
    }
    let want = [100u64, 200, 400, 800, 800];
    assert!(waits.len() >= want.len(), "{seen:?}");
    for (got, want) in waits.iter().zip(want) {
        // At least the delay, less what the stamps cannot show: runsv starts the wait when
        // it reaps, and stamps the down record when it writes it, a moment later (a stress
        // run saw 99 for 100: one ms, plus the ms truncation above). The upper bound
        // allows a busy machine.
        assert!(*got + 5 >= want && *got < want + 1000, "waits {waits:?}");
    }
    control(&svc, "d");
}

/// `./finish` exiting 125: no restart until `sv up`.
#[test]
fn finish_125_means_permanent_failure() {
    let t = tmp();
    let svc = service(t.path(), "s", "echo run >> ../runs; exit 3");
    script(svc.join("finish"), "exit 125");
    let _p = start_runsv(&bin("runsv"), &svc);
    must(5.0, "given up", || {
        info_has(&svc, "gaveup=finish-125") && status(&svc).map(|s| s.4) == Some(0)
    });
    assert_eq!(lines(t.path().join("runs")).len(), 1);
    let (st, _) = sv(&["status", "./s"], t.path());
    assert!(
        st.trim_end().ends_with(", gave up: finish exited 125"),
        "{st}"
    );
    assert!(runsv_stderr(&svc).contains("warning: ./finish exited 125; down until sv up"));
}

/// Bad content in any of the files: a warning naming the file, the default used, runsv
/// alive and supervising.
#[test]
fn bad_settings_are_warned_about_and_ignored() {
    for (file, content, why) in [
        ("down-signal", "SIGNOPE", "not a signal name or number"),
        ("down-signal", "99", "not a signal name or number"),
        ("timeout-kill", "-5", "not a number of milliseconds"),
        (
            "timeout-kill",
            "99999999999999999999",
            "not a number of milliseconds",
        ),
        ("timeout-finish", "soon", "not a number of milliseconds"),
        ("kill-mode", "everything", "not process, group or cgroup"),
        (
            "restart-limit",
            "0 10",
            "not N SECONDS (1 to 64 exits, up to 86400 seconds)",
        ),
        (
            "restart-delay",
            "500 100",
            "not MIN MAX in milliseconds (MIN up to MAX)",
        ),
    ] {
        let t = tmp();
        let svc = service(t.path(), "s", "exec sleep 1000");
        std::fs::write(svc.join(file), content).unwrap();
        let _p = start_runsv(&bin("runsv"), &svc);
        wait_up(&svc);
        let want = format!(
            "runsv {}: warning: invalid {file}: {why}; using the default",
            svc.display()
        );
        must(5.0, "the warning", || {
            runsv_stderr(&svc).lines().any(|l| l == want)
        });
        let (out, code) = sv(&["-w", "5", "down", "./s"], t.path());
        assert_eq!(code, Some(0), "{file}: {out}");
        assert!(runsv_alive(&svc), "{file}");
    }
}

/// runsv SIGKILLed while its service runs in a process group: the next runsv first stops
/// what is left (the old ./run and its workers), then starts one instance — never two.
#[test]
fn a_new_runsv_stops_the_old_group_first() {
    let t = tmp();
    let m = mark(&t);
    let _clean = Marked(m.clone());
    let svc = service(
        t.path(),
        "s",
        "sleep 1000 & echo $$ >> ../runs; touch ../forked; wait",
    );
    std::fs::write(svc.join("kill-mode"), "group").unwrap();
    let p = start_marked(&svc, &m);
    let old = wait_up(&svc) as i32;
    must(5.0, "worker", || t.path().join("forked").exists());
    p.signal(libc::SIGKILL);
    drop(p); // kills runsv's own process group only: ./run leads another
    must(5.0, "runsv gone", || !runsv_alive(&svc));
    assert!(pid_alive(old), "the old ./run lives on without its runsv");
    let _p2 = start_marked(&svc, &m);
    must(
        10.0,
        "a new instance",
        || matches!(status(&svc), Some((np, _, _, _, 1)) if np as i32 != old),
    );
    assert!(!pid_alive(old), "the old instance was stopped first");
    must(5.0, "the new ./run ran", || {
        lines(t.path().join("runs")).len() == 2
    });
    // One ./run and its one worker, plus runsv.
    must(5.0, "one instance", || marked(&m).len() == 3);
}

/// `kill-mode cgroup`, in a PID and mount namespace with cgroup v2 mounted where the
/// host allows it: children that `setsid` and double-fork are all gone after `sv down`.
#[test]
fn cgroup_mode_leaves_no_descendant() {
    let t = tmp();
    let probe = Command::new("unshare")
        .args(["--pid", "--fork", "--mount", "sh", "-c"])
        .arg("mount -t cgroup2 none /sys/fs/cgroup && test -w /sys/fs/cgroup/cgroup.procs")
        .status();
    if !probe.map(|s| s.success()).unwrap_or(false) {
        eprintln!("SKIP: cgroup_mode_leaves_no_descendant: no cgroup v2 mount possible here");
        return;
    }
    let name = format!("rt{}", mark(&t).replace('.', ""));
    let svc = service(
        t.path(),
        &name,
        // `forked` is touched by the setsid shell once both sleeps are forked (each in the
        // cgroup from its fork on), so the count below never races their start.
        "(setsid sh -c 'sleep 1000 & (sleep 1000 &); touch ../forked; exec sleep 1000' &); \
         exec sleep 1000",
    );
    std::fs::write(svc.join("kill-mode"), "cgroup").unwrap();
    let script_body = format!(
        "mount -t cgroup2 none /sys/fs/cgroup || exit 9\n\
         {runsv} {svc} 2> {err} &\n\
         while [ ! -e {dir}/forked ]; do sleep 0.01; done\n\
         n=$(wc -l < /sys/fs/cgroup/service/{name}/cgroup.procs)\n\
         echo $n > {dir}/before\n\
         {sv} -w 10 down {svc} > {dir}/down.out; echo $? >> {dir}/down.out\n\
         cat /sys/fs/cgroup/service/{name}/cgroup.procs > {dir}/after\n\
         {sv} x {svc} > /dev/null; wait\n\
         test -d /sys/fs/cgroup/service/{name} && echo left > {dir}/cgdir\n\
         exit 0",
        runsv = bin("runsv").display(),
        sv = bin("sv").display(),
        svc = svc.display(),
        err = t.path().join("err").display(),
        dir = t.path().display(),
    );
    script(t.path().join("inside"), &script_body);
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount"])
        .arg(t.path().join("inside"));
    let o = run_cmd(c, 60.0);
    let _ = std::fs::remove_dir(format!("/sys/fs/cgroup/unified/service/{name}"));
    assert!(
        o.status.success(),
        "{}{}{}",
        stdout(&o),
        stderr(&o),
        read(t.path().join("err"))
    );
    let before: usize = read(t.path().join("before")).trim().parse().unwrap();
    assert!(
        before >= 4,
        "./run, the setsid shell and its two sleeps: {before}"
    );
    assert!(read(t.path().join("down.out")).starts_with("ok: down: "));
    assert_eq!(
        read(t.path().join("after")),
        "",
        "nothing left in the cgroup"
    );
    assert!(
        !t.path().join("cgdir").exists(),
        "the cgroup is removed when runsv exits"
    );
}

//! Integration tests for `runit`, `runit-init` and `utmpset`.
//!
//! runit runs as process no 1 of a fresh PID and mount namespace (`unshare --pid --fork
//! --mount-proc --mount`), with a private `/etc/runit` bind-mounted from a temporary
//! directory (onto a mount point made in an overlay of `/etc`, never on the host:
//! `private_etc_runit_sh`) and `/dev/console` covered by a read-only file (so its messages stay on the
//! stderr the test captures, and stage 1 reports the console it cannot open). In such a
//! namespace runit is in container mode (reboot(RB_DISABLE_CAD) gives EINVAL): it exits
//! after stage 3 instead of rebooting. Expected message sequences come from the spec
//! (runit.md §3-§5, observed with runit 2.3.0) and, where Debian's runit 2.1.2 behaves the
//! same, from running it in the same harness.
//!
//! The QEMU tests boot a Debian cloud kernel with an initramfs from
//! tests/qemu/build-initramfs (our runit as init) and read the serial console.
use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const RO_CONSOLE: &str = "- runit: warning: unable to open /dev/console: read-only file system";

/// runit as PID 1 of its own PID + mount namespace.
struct Pid1 {
    p: Proc,
    t: tempfile::TempDir,
}

impl Pid1 {
    /// A test tree: `etc/` (bound onto /etc/runit), `console` (a read-only /dev/console),
    /// `ovl/` (the overlay's tmpfs that provides the mount point /etc/runit).
    fn tree() -> tempfile::TempDir {
        let t = tmp();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("console"), "").unwrap();
        t
    }

    fn start(t: tempfile::TempDir, runit: &Path) -> Pid1 {
        Self::start_with(t, runit, "")
    }

    /// `pre` is shell run inside the namespace before exec'ing runit.
    fn start_with(t: tempfile::TempDir, runit: &Path, pre: &str) -> Pid1 {
        Self::start_wrapped(t, runit, pre, "")
    }

    /// `wrap` is a command prefix for runit (e.g. setpriv dropping a capability).
    fn start_wrapped(t: tempfile::TempDir, runit: &Path, pre: &str, wrap: &str) -> Pid1 {
        let mut c = Command::new("unshare");
        c.env_remove("RUNIT_STOP_TIMEOUT");
        c.args(["--pid", "--fork", "--mount-proc", "--mount", "sh", "-c"]);
        let etc = private_etc_runit_sh(&t.path().join("ovl"));
        c.arg(format!(
            "{etc} && mount --bind \"$1\"/etc /etc/runit \
             && mount --bind \"$1\"/console /dev/console \
             && mount -o remount,bind,ro /dev/console && {pre} exec {wrap} \"$2\""
        ));
        c.arg("sh").arg(t.path()).arg(runit);
        let p = spawn_logged(c, t.path(), "runit");
        Pid1 { p, t }
    }

    fn dir(&self) -> &Path {
        self.t.path()
    }

    fn etc(&self) -> PathBuf {
        self.t.path().join("etc")
    }

    /// Permission bits of a flag file in the private /etc/runit.
    fn mode(&self, name: &str) -> u32 {
        std::fs::metadata(self.etc().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// runit's pid as the host sees it (the child of unshare).
    fn host_pid(&self) -> i32 {
        first_child(self.p.pid(), "runit started")
    }

    fn err(&self) -> String {
        read(self.t.path().join("runit.err"))
    }

    /// Everything runit and its stages printed, for failure messages.
    fn out_err(&self) -> String {
        format!(
            "stdout:\n{}stderr:\n{}",
            read(self.t.path().join("runit.out")),
            self.err()
        )
    }

    /// The message lines, the `$Id` booting line normalised.
    fn lines(&self) -> Vec<String> {
        self.err()
            .lines()
            .map(|l| {
                if l.starts_with("- runit: $Id: ") && l.ends_with(" $: booting.") {
                    "- runit: $Id: ID $: booting.".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect()
    }

    fn wait_line(&self, secs: f64, line: &str) {
        if !wait_for(secs, || self.err().lines().any(|l| l == line)) {
            panic!("no line {line:?} in:\n{}", self.err());
        }
    }

    fn exit(&mut self, secs: f64) -> std::process::ExitStatus {
        match self.p.wait_exit(secs) {
            Some(s) => s,
            None => panic!("runit did not exit; output:\n{}", self.out_err()),
        }
    }
}

impl Drop for Pid1 {
    /// runit leaves unshare's process group (setsid): a test that fails while it runs must
    /// still end the namespace, by SIGKILL to its PID 1 (the child of unshare).
    fn drop(&mut self) {
        let f = format!("/proc/{0}/task/{0}/children", self.p.pid());
        for c in read(&f)
            .split_whitespace()
            .filter_map(|s| s.parse::<i32>().ok())
        {
            unsafe_kill(c, libc::SIGKILL);
        }
    }
}

fn stages(t: &Path, one: &str, two: &str, three: &str) {
    script(t.join("etc/1"), one);
    script(t.join("etc/2"), two);
    script(t.join("etc/3"), three);
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Session id and the signal state of the calling shell, as `SID PID SigBlk SigIgn`.
const PROC_STATE: &str = "echo $(cut -d' ' -f6 /proc/$$/stat) $$ \
     $(sed -n 's/^SigBlk:\\t//p' /proc/$$/status) $(sed -n 's/^SigIgn:\\t//p' /proc/$$/status)";

#[test]
fn not_pid1_is_fatal_like_runit() {
    let o = run_cmd(ours("runit"), 10.0);
    assert_eq!(stderr(&o), "- runit: fatal: must be run as process no 1.\n");
    assert_eq!(o.status.code(), Some(111));
    let r = run_cmd(Command::new(ref_bin("runit")), 10.0);
    assert_eq!(stderr(&o), stderr(&r));
    assert_eq!(o.status.code(), r.status.code());
}

#[test]
fn stages_in_order_like_debian_runit() {
    let mut outs = Vec::new();
    for runit in [bin("runit"), ref_bin("runit")] {
        let t = Pid1::tree();
        let d = t.path().display().to_string();
        stages(
            t.path(),
            &format!("{PROC_STATE} > {d}/s1; echo one >&2"),
            &format!("{PROC_STATE} > {d}/s2; echo two >&2"),
            &format!("{PROC_STATE} > {d}/s3; echo three >&2"),
        );
        let mut p = Pid1::start(t, &runit);
        p.wait_line(10.0, "- runit: power off...");
        let _ = p.exit(10.0);
        outs.push((
            p.lines(),
            read(p.dir().join("s1")),
            read(p.dir().join("s2")),
            read(p.dir().join("s3")),
        ));
    }
    let expected = lines(&[
        "- runit: $Id: ID $: booting.",
        RO_CONSOLE,
        "- runit: enter stage: /etc/runit/1",
        "one",
        "- runit: leave stage: /etc/runit/1",
        "- runit: enter stage: /etc/runit/2",
        "two",
        "- runit: leave stage: /etc/runit/2",
        "- runit: enter stage: /etc/runit/3",
        "three",
        "- runit: leave stage: /etc/runit/3",
        "- runit: sending KILL signal to all processes...",
        "- runit: power off...",
    ]);
    assert_eq!(outs[0].0, expected);
    assert_eq!(outs[1].0, expected, "Debian's runit differs");
    // stage 1 stays in runit's session (sid 1); stages 2 and 3 lead their own
    let (s1, s2, s3) = (&outs[0].1, &outs[0].2, &outs[0].3);
    let f = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(f(s1)[0], "1", "stage 1 session: {s1}");
    assert_eq!(f(s2)[0], f(s2)[1], "stage 2 session: {s2}");
    assert_eq!(f(s3)[0], f(s3)[1], "stage 3 session: {s3}");
    // clean signal state in every stage (spec divergence (f); Debian ignores CONT)
    for s in [s1, s2, s3] {
        assert_eq!(f(s)[2], "0000000000000000", "blocked: {s}");
        assert_eq!(f(s)[3], "0000000000000000", "ignored: {s}");
    }
    // (masked: Debian's runit leaves an inherited SIG_IGN of 32 and 33 alone)
    let ign = u64::from_str_radix(&f(&outs[1].2)[3], 16).unwrap();
    assert_eq!(
        ign & 0x7fff_ffff,
        1 << (libc::SIGCONT - 1),
        "Debian's stage 2 ignores CONT"
    );
}

#[test]
fn stage2_restarted_after_exit_111_and_crash() {
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    stages(
        t.path(),
        "exit 0",
        &format!(
            "n=$(cat {d}/n 2>/dev/null || echo 0); echo $((n + 1)) > {d}/n; echo run $n >&2
             case $n in 0) exit 111;; 1) kill -USR1 $$;; *) exit 3;; esac"
        ),
        "exit 0",
    );
    let mut p = Pid1::start(t, &bin("runit"));
    assert_eq!(p.exit(30.0).code(), Some(0));
    assert_eq!(
        p.lines(),
        lines(&[
            "- runit: $Id: ID $: booting.",
            RO_CONSOLE,
            "- runit: enter stage: /etc/runit/1",
            "- runit: leave stage: /etc/runit/1",
            "- runit: enter stage: /etc/runit/2",
            "run 0",
            "- runit: warning: child failed: /etc/runit/2",
            "- runit: warning: killing all processes in stage 2...",
            "- runit: warning: restarting.",
            "- runit: enter stage: /etc/runit/2",
            "run 1",
            "- runit: warning: child crashed: /etc/runit/2",
            "- runit: warning: killing all processes in stage 2...",
            "- runit: warning: restarting.",
            "- runit: enter stage: /etc/runit/2",
            "run 2",
            "- runit: warning: child failed: /etc/runit/2",
            "- runit: leave stage: /etc/runit/2",
            "- runit: enter stage: /etc/runit/3",
            "- runit: leave stage: /etc/runit/3",
            "- runit: sending KILL signal to all processes...",
            "- runit: power off...",
        ])
    );
}

#[test]
fn stage1_exit_100_skips_stage2() {
    let t = Pid1::tree();
    stages(t.path(), "exit 100", "echo stage2 ran", "exit 0");
    let mut p = Pid1::start(t, &bin("runit"));
    assert_eq!(p.exit(10.0).code(), Some(0));
    assert_eq!(
        p.lines(),
        lines(&[
            "- runit: $Id: ID $: booting.",
            RO_CONSOLE,
            "- runit: enter stage: /etc/runit/1",
            "- runit: warning: child failed: /etc/runit/1",
            "- runit: leave stage: /etc/runit/1",
            "- runit: warning: skipping stage 2...",
            "- runit: enter stage: /etc/runit/3",
            "- runit: leave stage: /etc/runit/3",
            "- runit: sending KILL signal to all processes...",
            "- runit: power off...",
        ])
    );
}

#[test]
fn ctrlaltdel_then_stopit_and_reboot() {
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    stages(
        t.path(),
        "exit 0",
        &format!("touch {d}/up; exec sleep 1000"),
        "exit 1",
    );
    std::fs::write(t.path().join("etc/stopit"), "").unwrap();
    std::fs::write(t.path().join("etc/reboot"), "").unwrap();
    script(
        t.path().join("etc/ctrlaltdel"),
        "chmod 100 /etc/runit/stopit /etc/runit/reboot; exit 7",
    );
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(10.0, "stage 2 up", || p.dir().join("up").exists());
    assert!(unsafe_kill(pid, libc::SIGINT));
    // stage 3's exit code is the container's exit code
    assert_eq!(p.exit(10.0).code(), Some(1));
    assert_eq!(
        p.lines(),
        lines(&[
            "- runit: $Id: ID $: booting.",
            RO_CONSOLE,
            "- runit: enter stage: /etc/runit/1",
            "- runit: leave stage: /etc/runit/1",
            "- runit: enter stage: /etc/runit/2",
            "- runit: ctrl-alt-del request...",
            "- runit: enter stage: /etc/runit/ctrlaltdel",
            "- runit: leave stage: /etc/runit/ctrlaltdel",
            "- runit: leave stage: /etc/runit/2",
            "- runit: enter stage: /etc/runit/3",
            "- runit: warning: child failed: /etc/runit/3",
            "- runit: leave stage: /etc/runit/3",
            "- runit: sending KILL signal to all processes...",
            "- runit: system reboot.",
        ])
    );
    assert_eq!(p.mode("stopit"), 0, "runit clears stopit's mode");
    assert_eq!(p.mode("reboot"), 0o100);
}

#[test]
fn signals_outside_stage2_and_cont_without_stopit_are_ignored_then_runit_init_0() {
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    stages(
        t.path(),
        &format!("touch {d}/s1; while [ ! -e {d}/go ]; do sleep 0.01; done"),
        &format!("touch {d}/up; exec sleep 1000"),
        "exit 0",
    );
    std::fs::write(t.path().join("etc/reboot"), "").unwrap();
    std::fs::set_permissions(
        t.path().join("etc/reboot"),
        std::fs::Permissions::from_mode(0o100),
    )
    .unwrap();
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(10.0, "stage 1 running", || p.dir().join("s1").exists());
    assert!(unsafe_kill(pid, libc::SIGCONT));
    p.wait_line(10.0, "- runit: warning: signals only work in stage 2.");
    std::fs::write(p.dir().join("go"), "").unwrap();
    must(10.0, "stage 2 up", || p.dir().join("up").exists());
    // no stopit: CONT is ignored (INT is not tried: in container mode, which this harness
    // is, INT stops the container; see container_int_and_pwr_stop_like_term)
    assert!(unsafe_kill(pid, libc::SIGCONT));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        p.p.alive(),
        "runit acted on CONT without stopit:\n{}",
        p.err()
    );
    // runit-init 0 inside the namespace: stopit made executable, reboot cleared, CONT to 1
    let o = run_cmd(
        {
            let mut c = Command::new("nsenter");
            c.args(["-t", &pid.to_string(), "-p", "-m"])
                .arg(bin("runit-init"))
                .arg("0");
            c
        },
        10.0,
    );
    // runit-init exits 0, unless runit's final KILL to all processes got it first
    use std::os::unix::process::ExitStatusExt;
    assert!(
        o.status.code() == Some(0) || o.status.signal() == Some(libc::SIGKILL),
        "{:?} {}",
        o.status,
        stderr(&o)
    );
    let st = p.exit(10.0);
    assert_eq!(st.code(), Some(0), "{st:?}\n{}", p.err());
    let l = p.lines();
    assert_eq!(
        l.iter().filter(|x| x.contains("signals only work")).count(),
        1
    );
    assert_eq!(
        &l[l.len() - 5..],
        &lines(&[
            "- runit: leave stage: /etc/runit/2",
            "- runit: enter stage: /etc/runit/3",
            "- runit: leave stage: /etc/runit/3",
            "- runit: sending KILL signal to all processes...",
            "- runit: power off...",
        ])[..]
    );
    assert_eq!(p.mode("stopit"), 0);
    assert_eq!(p.mode("reboot"), 0, "runit-init 0 clears reboot");
}

#[test]
fn stage2_ignoring_term_gets_sigkill() {
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    stages(
        t.path(),
        "exit 0",
        &format!("trap '' TERM; touch {d}/up; while :; do sleep 0.1; done"),
        "exit 0",
    );
    std::fs::write(t.path().join("etc/stopit"), "").unwrap();
    std::fs::set_permissions(
        t.path().join("etc/stopit"),
        std::fs::Permissions::from_mode(0o100),
    )
    .unwrap();
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(10.0, "stage 2 up", || p.dir().join("up").exists());
    let t0 = std::time::Instant::now();
    assert!(unsafe_kill(pid, libc::SIGCONT));
    p.wait_line(
        10.0,
        "- runit: warning: stage 2 not terminated, sending sigkill...",
    );
    assert!(
        t0.elapsed().as_secs_f64() >= 4.5,
        "KILL came before the 5 s grace"
    );
    assert_eq!(p.exit(10.0).code(), Some(0));
    let l = p.lines();
    let i = l
        .iter()
        .position(|x| x.contains("sending sigkill"))
        .unwrap();
    assert_eq!(l[i + 1], "- runit: leave stage: /etc/runit/2");
}

#[test]
fn storm_of_1000_orphaned_zombies_is_reaped() {
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    // 1000 grandchildren block reading a FIFO that stage 2 holds open on fd 3, their parents
    // exit (the orphans move to runit); the test writes 1000 lines, they all exit at once
    stages(
        t.path(),
        &format!("mkfifo {d}/gate"),
        &format!(
            "exec 3<>{d}/gate; i=0; while [ $i -lt 1000 ]; do ( (read x <&3) & ); i=$((i + 1)); done
             touch {d}/forked; exec sleep 1000"
        ),
        "exit 0",
    );
    std::fs::write(t.path().join("etc/stopit"), "").unwrap();
    std::fs::set_permissions(
        t.path().join("etc/stopit"),
        std::fs::Permissions::from_mode(0o100),
    )
    .unwrap();
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    let children = || -> usize {
        read(format!("/proc/{pid}/task/{pid}/children"))
            .split_whitespace()
            .count()
    };
    must(60.0, "1000 orphans under runit", || {
        p.dir().join("forked").exists() && children() >= 1001
    });
    {
        use std::io::Write;
        let mut g = std::fs::OpenOptions::new()
            .write(true)
            .open(p.dir().join("gate"))
            .unwrap();
        g.write_all(&[b'\n'; 1000]).unwrap();
    }
    // every orphan reaped: only stage 2 is left as runit's child, no zombie anywhere
    must(20.0, "orphans reaped", || children() == 1);
    let zombies = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|s| {
            let rest = s.rsplit(')').next().unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.first() == Some(&"Z") && f.get(1) == Some(&pid.to_string().as_str())
        })
        .count();
    assert_eq!(zombies, 0);
    assert!(unsafe_kill(pid, libc::SIGCONT));
    assert_eq!(p.exit(10.0).code(), Some(0));
}

/// A service that records going up and down in `t`.
fn service(t: &Path, name: &str) {
    let d = t.display();
    script(
        t.join("service").join(name).join("run"),
        &format!(
            "trap 'echo down > {d}/down-{name}; exit 0' TERM\necho up > {d}/up-{name}\n\
             while :; do sleep 1 & wait $!; done"
        ),
    );
}

fn container_stage(t: &Path, stage3_exit: u8) {
    let d = t.display();
    let refd = ref_bin("runsv").parent().unwrap().display().to_string();
    service(t, "a");
    service(t, "b");
    stages(
        t,
        "exit 0",
        &format!("PATH={refd}:$PATH exec runsvdir {d}/service"),
        &format!(
            "{refd}/sv -w 10 force-stop {d}/service/*; {refd}/sv exit {d}/service/*
             echo stage3 > {d}/s3; exit {stage3_exit}"
        ),
    );
}

#[test]
fn container_sigterm_stops_every_service_and_exits_with_stage3_code() {
    let t = Pid1::tree();
    container_stage(t.path(), 5);
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(15.0, "services up", || {
        p.dir().join("up-a").exists() && p.dir().join("up-b").exists()
    });
    assert!(unsafe_kill(pid, libc::SIGTERM));
    let st = p.exit(20.0);
    assert_eq!(st.code(), Some(5), "{}", p.err());
    assert_eq!(read(p.dir().join("down-a")), "down\n", "{}", p.out_err());
    assert_eq!(read(p.dir().join("down-b")), "down\n", "{}", p.out_err());
    assert_eq!(read(p.dir().join("s3")), "stage3\n");
    let l = p.lines();
    let tail = &l[l
        .iter()
        .position(|x| x == "- runit: leave stage: /etc/runit/2")
        .unwrap()..];
    let tail: Vec<&String> = tail.iter().filter(|x| x.starts_with("- runit: ")).collect();
    assert_eq!(
        tail,
        lines(&[
            "- runit: leave stage: /etc/runit/2",
            "- runit: enter stage: /etc/runit/3",
            "- runit: warning: child failed: /etc/runit/3",
            "- runit: leave stage: /etc/runit/3",
            "- runit: sending KILL signal to all processes...",
            "- runit: power off...",
        ])
        .iter()
        .collect::<Vec<_>>()
    );
}

#[test]
fn container_exit_code_from_etc_runit_exitcode() {
    let t = Pid1::tree();
    container_stage(t.path(), 0);
    std::fs::write(t.path().join("etc/exitcode"), "42\n").unwrap();
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(15.0, "services up", || {
        p.dir().join("up-a").exists() && p.dir().join("up-b").exists()
    });
    assert!(unsafe_kill(pid, libc::SIGTERM));
    assert_eq!(p.exit(20.0).code(), Some(42), "{}", p.err());
    assert_eq!(read(p.dir().join("down-a")), "down\n", "{}", p.out_err());
}

/// Stage 2 is our runsvdir with our runsv (the `essential` marker is ours); stage 3 leaves
/// the services to runit's stop after it and exits `stage3_exit`.
fn container_stage_ours(t: &Path, stage3_exit: u8) {
    let d = t.display();
    let ours = bin("runsv").parent().unwrap().display().to_string();
    stages(
        t,
        "exit 0",
        &format!("PATH={ours}:$PATH exec runsvdir {d}/service"),
        &format!("echo stage3 > {d}/s3; exit {stage3_exit}"),
    );
}

/// docs/containers.md "Exit codes": an `essential` service whose ./run exits 3 and whose
/// ./finish then exits 125 is given up on; its runsv writes 3 to /run/runit.exitcode and
/// sends TERM to PID 1, which stops every other service in order (stage 2, stage 3, the
/// runsv processes left) and exits 3, not stage 3's 5. /run is a private tmpfs.
#[test]
fn container_essential_service_given_up_ends_container_with_its_code() {
    let t = Pid1::tree();
    container_stage_ours(t.path(), 5);
    service(t.path(), "a");
    service(t.path(), "b");
    let d = t.path().display().to_string();
    let e = t.path().join("service/e");
    script(
        e.join("run"),
        &format!(
            "until [ -e {d}/up-a ] && [ -e {d}/up-b ]; do sleep 0.05; done
             echo ran >> {d}/e-ran; exit 3"
        ),
    );
    script(
        e.join("finish"),
        &format!("echo \"$1 $2\" >> {d}/e-finish; exit 125"),
    );
    std::fs::write(e.join("essential"), "").unwrap();
    let mut p = Pid1::start_with(t, &bin("runit"), "mount -t tmpfs none /run &&");
    let st = p.exit(30.0);
    assert_eq!(st.code(), Some(3), "{}", p.out_err());
    // given up on after the first run: ./run once, ./finish once with its exit code
    assert_eq!(read(p.dir().join("e-ran")), "ran\n");
    assert_eq!(read(p.dir().join("e-finish")), "3 0\n");
    assert_eq!(read(p.dir().join("down-a")), "down\n", "{}", p.out_err());
    assert_eq!(read(p.dir().join("down-b")), "down\n", "{}", p.out_err());
    assert_eq!(read(p.dir().join("s3")), "stage3\n");
    let err = p.err();
    assert!(
        err.contains("warning: essential service down for good: stopping the container"),
        "{err}"
    );
    let l = p.lines();
    let at = |x: &str| {
        l.iter()
            .position(|y| y == x)
            .unwrap_or_else(|| panic!("{x}: {l:?}"))
    };
    assert!(at("- runit: leave stage: /etc/runit/2") < at("- runit: enter stage: /etc/runit/3"));
    assert!(at("- runit: leave stage: /etc/runit/3") < at("- runit: power off..."));
}

/// A `/run/runit.exitcode` from an earlier boot (`docker restart` keeps the file system;
/// here written before runit starts) is removed by runit at start in container mode: the
/// container exits with stage 3's code, and the file is gone.
#[test]
fn container_stale_essential_exitcode_is_removed_at_start() {
    let t = Pid1::tree();
    container_stage_ours(t.path(), 5);
    service(t.path(), "a");
    let d = t.path().display().to_string();
    script(t.path().join("etc/1"), &format!("ls /run > {d}/run1"));
    let mut p = Pid1::start_with(
        t,
        &bin("runit"),
        "mount -t tmpfs none /run && echo 77 > /run/runit.exitcode \
         && echo 78 > /run/runit.exitcode.new && ls /run > /run/before &&",
    );
    let pid = p.host_pid();
    must(15.0, "a up", || p.dir().join("up-a").exists());
    // stage 1 saw /run after runit's clean-up
    assert_eq!(read(p.dir().join("run1")), "before\n", "{}", p.out_err());
    assert!(unsafe_kill(pid, libc::SIGTERM));
    assert_eq!(p.exit(20.0).code(), Some(5), "{}", p.out_err());
    assert_eq!(read(p.dir().join("down-a")), "down\n");
}

#[test]
fn copes_with_closed_fds_and_no_dev() {
    // no /dev at all (an empty tmpfs) and fds 0-2 closed: Rust's start-up code would abort
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    stages(
        t.path(),
        &format!("ls -l /proc/self/fd/ > {d}/fds1 2>&1; touch {d}/s1"),
        &format!("touch {d}/s2"),
        &format!("touch {d}/s3; exit 9"),
    );
    let mut p = Pid1::start_with(
        t,
        &bin("runit"),
        "mount -t tmpfs none /dev && exec <&- >&- 2>&- &&",
    );
    assert_eq!(p.exit(10.0).code(), Some(9));
    for s in ["s1", "s2", "s3"] {
        assert!(p.dir().join(s).exists(), "stage {s} did not run");
    }
    assert_eq!(p.err(), "", "nothing can be printed without fds");
}

// ---------------------------------------------------------------- runit-init

#[test]
fn runit_init_usage_and_version() {
    for args in [&[][..], &[""][..], &["5"][..], &["x"][..]] {
        let mut c = ours("runit-init");
        c.args(args);
        let o = run_cmd(c, 10.0);
        assert_eq!(
            stderr(&o),
            format!("usage: {} 0|6\n\n", bin("runit-init").display())
        );
        assert_eq!(o.status.code(), Some(0));
    }
    let mut c = ours("runit-init");
    c.arg("-V");
    let o = run_cmd(c, 10.0);
    let e = stderr(&o);
    assert!(e.starts_with("$Id: ") && e.contains(" $\n\nusage: "), "{e}");
    assert_eq!(o.status.code(), Some(0));
}

/// Runs `runit-init ARG` in a mount namespace with a private /etc/runit (not as PID 1:
/// the namespace's PID 1 is a shell, which gets the harmless CONT).
fn runit_init_in_ns(etc: &Path, arg: &str) -> std::process::Output {
    let ovl = tmp();
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount-proc", "--mount", "sh", "-c"]);
    c.arg(format!(
        "{} && mount --bind \"$1\" /etc/runit && \"$2\" \"$3\"; echo rc=$?",
        private_etc_runit_sh(ovl.path())
    ));
    c.arg("sh").arg(etc).arg(bin("runit-init")).arg(arg);
    run_cmd(c, 10.0)
}

#[test]
fn runit_init_0_and_6_set_the_flag_files() {
    let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let t = tmp();
    let o = runit_init_in_ns(t.path(), "6");
    assert_eq!(stdout(&o), "rc=0\n", "{}", stderr(&o));
    assert_eq!(mode(t.path().join("stopit")), 0o100);
    assert_eq!(mode(t.path().join("reboot")), 0o100);
    let o = runit_init_in_ns(t.path(), "0halt");
    assert_eq!(stdout(&o), "rc=0\n");
    assert_eq!(mode(t.path().join("stopit")), 0o100);
    assert_eq!(mode(t.path().join("reboot")), 0);
    let t = tmp();
    let o = runit_init_in_ns(t.path(), "0");
    assert_eq!(stdout(&o), "rc=0\n");
    assert!(
        !t.path().join("reboot").exists(),
        "0 does not create reboot"
    );
    // unwritable /etc/runit: fatal, 111
    let t = tmp();
    std::fs::create_dir(t.path().join("ro")).unwrap();
    let mut c = Command::new("unshare");
    c.args(["--mount", "sh", "-c"]);
    c.arg(format!(
        "{} && mount --bind \"$1\" /etc/runit && mount -o remount,bind,ro /etc/runit \
         && \"$2\" 6",
        private_etc_runit_sh(&t.path().join("ovl"))
    ));
    c.arg("sh").arg(t.path().join("ro")).arg(bin("runit-init"));
    let o = run_cmd(c, 10.0);
    assert_eq!(
        stderr(&o),
        "init: fatal: unable to create /etc/runit/stopit: read-only file system\n"
    );
    assert_eq!(o.status.code(), Some(111));
}

#[test]
fn runit_init_as_pid1_without_sbin_runit() {
    // /sbin covered by an empty directory: a host with runit installed has a /sbin/runit
    let t = tmp();
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount-proc", "--mount", "sh", "-c"])
        .arg("mount --bind \"$1\" /sbin && exec \"$2\"")
        .arg("sh")
        .arg(t.path())
        .arg(bin("runit-init"));
    let o = run_cmd(c, 10.0);
    assert_eq!(
        stderr(&o),
        "init: fatal: unable to start runit: file does not exist\n"
    );
    assert_eq!(o.status.code(), Some(111));
}

// ---------------------------------------------------------------- utmpset

/// A glibc x86_64 utmp record: type, pid, line, id, user, host, tv_sec, tv_usec.
fn utmp_rec(ty: i16, pid: i32, line: &[u8], user: &[u8], host: &[u8], sec: i32) -> Vec<u8> {
    let mut r = vec![0u8; 384];
    r[0..2].copy_from_slice(&ty.to_le_bytes());
    r[4..8].copy_from_slice(&pid.to_le_bytes());
    r[8..8 + line.len()].copy_from_slice(line);
    r[40..44].copy_from_slice(b"ab12");
    r[44..44 + user.len()].copy_from_slice(user);
    r[76..76 + host.len()].copy_from_slice(host);
    r[340..344].copy_from_slice(&sec.to_le_bytes());
    r[344..348].copy_from_slice(&777i32.to_le_bytes());
    r
}

/// Runs utmpset (ours or Debian's) with /var/run/utmp and /var/log/wtmp from `t/run` and
/// `t/log` (bind-mounted in a mount namespace).
fn utmpset_in_ns(t: &Path, prog: &Path, args: &[&str]) -> std::process::Output {
    let mut c = Command::new("unshare");
    c.args(["--mount", "sh", "-c"]);
    c.arg(
        "mount --bind \"$1\"/run /run && mount --bind \"$1\"/log /var/log && shift && exec \"$@\"",
    );
    c.arg("sh").arg(t).arg(prog).args(args);
    run_cmd(c, 10.0)
}

/// Zeroes the tv_sec fields (the time of the run) so two runs compare.
fn no_time(mut b: Vec<u8>) -> Vec<u8> {
    for r in b.chunks_mut(384) {
        if r.len() == 384 {
            r[340..344].fill(0);
        }
    }
    b
}

#[test]
fn utmpset_like_debian() {
    let recs = [
        utmp_rec(7, 10, b"tty5", b"", b"", 1), // empty user: passed over
        utmp_rec(7, 11, b"tty", b"root", b"h1", 2),
        utmp_rec(7, 12, b"tty5", b"alice", b"somewhere", 3),
        utmp_rec(7, 13, b"tty5", b"bob", b"", 4), // a later match stays
    ]
    .concat();
    let mut results = Vec::new();
    for prog in [bin("utmpset"), ref_bin("utmpset")] {
        let t = tmp();
        std::fs::create_dir_all(t.path().join("run")).unwrap();
        std::fs::create_dir_all(t.path().join("log")).unwrap();
        std::fs::write(t.path().join("run/utmp"), &recs).unwrap();
        let a = utmpset_in_ns(t.path(), &prog, &["-w", "tty5"]);
        let b = utmpset_in_ns(t.path(), &prog, &["tty7"]);
        let utmp = std::fs::read(t.path().join("run/utmp")).unwrap();
        let wtmp = std::fs::read(t.path().join("log/wtmp")).unwrap();
        let wmode = std::fs::metadata(t.path().join("log/wtmp"))
            .unwrap()
            .permissions()
            .mode();
        results.push((
            stderr(&a),
            a.status.code(),
            stderr(&b),
            b.status.code(),
            no_time(utmp.clone()),
            no_time(wtmp.clone()),
            wmode & 0o777,
        ));
        // the matched record got the current time
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let sec = i32::from_le_bytes(utmp[2 * 384 + 340..2 * 384 + 344].try_into().unwrap());
        assert!((now - sec as i64).abs() < 30);
        assert_eq!(wtmp.len(), 384);
    }
    assert_eq!(results[0].1, Some(0));
    assert_eq!(
        results[0].2,
        "utmpset: warning: unable to logout line tty7 in utmp: no such entry\n"
    );
    assert_eq!(results[0].3, Some(111));
    assert_eq!(results[0].6, 0o600);
    assert_eq!(results[0], results[1], "differs from Debian's utmpset");
}

#[test]
fn utmpset_usage_errors_and_long_line() {
    let o = run_cmd(ours("utmpset"), 10.0);
    assert_eq!(
        stderr(&o),
        format!("usage: {} [-w] line\n\n", bin("utmpset").display())
    );
    assert_eq!(o.status.code(), Some(1));
    let mut c = ours("utmpset");
    c.arg("-x");
    let o = run_cmd(c, 10.0);
    assert_eq!(
        stderr(&o),
        format!(
            "utmpset: illegal option -- x\nusage: {} [-w] line\n\n",
            bin("utmpset").display()
        )
    );
    assert_eq!(o.status.code(), Some(1));
    let long = "x".repeat(33);
    let mut c = ours("utmpset");
    c.arg(&long);
    let o = run_cmd(c, 10.0);
    assert_eq!(
        stderr(&o),
        format!("utmpset: fatal: unable to logout line {long} in utmp: name too long\n")
    );
    assert_eq!(o.status.code(), Some(111));
}

// ---------------------------------------------------------------- QEMU boot

/// Boots the kernel with our runit as init (via our runit-init as /sbin/init, both links to
/// the multicall binary [`boot_multicall`]) in QEMU
/// with software emulation; the trigger service runs `runit-init ACTION` once all services
/// are up (ACTION `cad`: nothing, the test presses Ctrl-Alt-Del through QEMU's monitor).
/// Returns the serial console's lines.
fn qemu_boot(action: &str, extra: &str) -> Vec<String> {
    use std::io::{BufRead, Write};
    // One boot at a time: each emulated CPU wants a whole core, and several at once on a small
    // machine slowed each boot past any deadline (the kernel's timer check even failed:
    // "IO-APIC + timer doesn't work", hence also no_timer_check below).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let t = tmp();
    let initrd = t.path().join("initrd.cpio.gz");
    let mut b = Command::new(repo().join("tests/qemu/build-initramfs"));
    // the multicall binary, every program a link to it (the static one in scripts/test)
    b.arg(&initrd).arg(boot_multicall());
    let o = run_cmd(b, 60.0);
    assert!(o.status.success(), "initramfs: {}", stderr(&o));
    let monitor = t.path().join("monitor.sock");
    let mut q = Command::new("qemu-system-x86_64");
    q.args([
        "-accel", "tcg", "-m", "256", "-display", "none", "-serial", "stdio",
    ]);
    q.arg("-monitor")
        .arg(format!("unix:{},server=on,wait=off", monitor.display()));
    q.args(["-no-reboot", "-kernel"]).arg(qemu_kernel());
    q.arg("-initrd").arg(&initrd).arg("-append").arg(format!(
        "console=ttyS0 rdinit=/sbin/init panic=-1 no_timer_check runit_test={action} {extra}"
    ));
    q.stdout(std::process::Stdio::piped());
    let start = std::time::Instant::now();
    let mut p = spawn(q);
    let out = p.child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // bytes, not str lines: the firmware may print bytes that are not UTF-8
        let mut r = std::io::BufReader::new(out);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let l = String::from_utf8_lossy(&buf);
            let l = l.trim_end_matches(['\n', '\r']).to_string();
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    // A deadline on silence, not on the whole boot: emulated (TCG) boot time grows with the
    // machine's load, a hang shows as a console that says nothing more (the kernel is not
    // `quiet`, so it says something all along).
    const SILENCE: std::time::Duration = std::time::Duration::from_secs(60);
    let mut deadline = start + SILENCE;
    let mut lines = Vec::new();
    let mut pressed = false;
    // kept open until QEMU exits: closing it at once can drop the command unread
    let mut _monitor = None;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                if action == "cad" && !pressed && l.starts_with("ALL SERVICES UP") {
                    let mut m = std::os::unix::net::UnixStream::connect(&monitor).unwrap();
                    m.write_all(b"sendkey ctrl-alt-delete\n").unwrap();
                    _monitor = Some(m);
                    pressed = true;
                }
                lines.push(l);
                deadline = std::time::Instant::now() + SILENCE;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("console silent for 60 s:\n{}", lines.join("\n"))
            }
        }
    }
    let st = p.wait_exit(10.0).expect("qemu exits after its output ends");
    eprintln!(
        "qemu boot + {action}: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert!(st.success(), "qemu failed: {st:?}\n{}", lines.join("\n"));
    lines
}

/// Asserts that lines containing each of `want` appear in this order.
fn in_order(lines: &[String], want: &[&str]) {
    let mut i = 0;
    for w in want {
        match lines[i..].iter().position(|l| l.contains(w)) {
            Some(k) => i += k + 1,
            None => panic!(
                "missing {w:?} (in order) in console output:\n{}",
                lines.join("\n")
            ),
        }
    }
}

/// A boot with every program ours: runit as init, our runsvdir, runsv and sv for services.
fn boot_sequence(action: &str, middle: &[&str], last: &[&str]) {
    boot_sequence_with(action, "svimpl=ours", middle, last);
}

/// `extra`: more kernel parameters (`svimpl=...` first: whose runsvdir/runsv/sv run
/// services; `layout=debian`, `rebootflag=1`, `pwrfail=1`: see tests/qemu/root/etc/runit/1).
/// Returns the console lines.
fn boot_sequence_with(action: &str, extra: &str, middle: &[&str], last: &[&str]) -> Vec<String> {
    let l = qemu_boot(action, extra);
    let first = extra.split_whitespace().next().unwrap_or("");
    if let Some(imp) = first.strip_prefix("svimpl=") {
        let want = format!("STAGE2 services={imp}");
        assert!(l.contains(&want), "{want}:\n{}", l.join("\n"));
    }
    let mut want = vec![
        "- runit: $Id: runit-rs",
        "- runit: enter stage: /etc/runit/1",
        "STAGE1 init /sbin/runit -> /ours/bin/runit-rs, runsv -> runit-rs",
        "STAGE1 done",
        "- runit: leave stage: /etc/runit/1",
        "- runit: enter stage: /etc/runit/2",
        "STAGE2 services=",
        "ALL SERVICES UP",
    ];
    want.extend(middle);
    want.extend([
        "- runit: leave stage: /etc/runit/2",
        "- runit: enter stage: /etc/runit/3",
        "STAGE3 services down",
        "- runit: leave stage: /etc/runit/3",
        "- runit: sending KILL signal to all processes...",
    ]);
    want.extend(last);
    in_order(&l, &want);
    // both services came up before, and went down in stage 3 (before its check passed)
    let pos = |w: &str| {
        l.iter()
            .position(|x| x.starts_with(w))
            .unwrap_or(usize::MAX)
    };
    let all_up = pos("ALL SERVICES UP");
    for s in ["a", "b"] {
        assert!(
            pos(&format!("SVC {s} up")) < all_up,
            "{s} up:\n{}",
            l.join("\n")
        );
        let down = pos(&format!("SVC {s} down"));
        assert!(
            down > all_up && down < pos("STAGE3 services down"),
            "{s} down:\n{}",
            l.join("\n")
        );
    }
    for bad in ["child failed", "child crashed", "Kernel panic"] {
        assert!(
            !l.iter().any(|x| x.contains(bad)),
            "{bad}:\n{}",
            l.join("\n")
        );
    }
    l
}

#[test]
fn qemu_boot_then_runit_init_0_powers_off() {
    boot_sequence(
        "0",
        &["TRIGGER runit-init 0"],
        &["- runit: power off...", "reboot: Power down"],
    );
}

#[test]
fn qemu_boot_then_runit_init_6_reboots() {
    boot_sequence(
        "6",
        &["TRIGGER runit-init 6"],
        &["- runit: system reboot.", "reboot: Restarting system"],
    );
}

#[test]
fn missing_stage_2_is_reported_and_skipped_like_debian() {
    let mut outs = Vec::new();
    for runit in [bin("runit"), ref_bin("runit")] {
        let t = Pid1::tree();
        script(t.path().join("etc/1"), "exit 0");
        script(t.path().join("etc/3"), "exit 0");
        let mut p = Pid1::start(t, &runit);
        p.wait_line(10.0, "- runit: power off...");
        let _ = p.exit(10.0);
        outs.push(p.lines());
    }
    assert_eq!(
        outs[0],
        lines(&[
            "- runit: $Id: ID $: booting.",
            RO_CONSOLE,
            "- runit: enter stage: /etc/runit/1",
            "- runit: leave stage: /etc/runit/1",
            "- runit: enter stage: /etc/runit/2",
            "- runit: fatal: unable to start child: /etc/runit/2: file does not exist",
            "- runit: leave stage: /etc/runit/2",
            "- runit: enter stage: /etc/runit/3",
            "- runit: leave stage: /etc/runit/3",
            "- runit: sending KILL signal to all processes...",
            "- runit: power off...",
        ])
    );
    assert_eq!(outs[0], outs[1], "differs from Debian's runit");
}

#[test]
fn container_sigterm_during_stage1_skips_stage2() {
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    stages(
        t.path(),
        &format!("touch {d}/s1; while [ ! -e {d}/go ]; do sleep 0.01; done"),
        &format!("touch {d}/s2"),
        "exit 4",
    );
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(10.0, "stage 1 running", || p.dir().join("s1").exists());
    assert!(unsafe_kill(pid, libc::SIGTERM));
    // (runit takes the TERM at once: it waits in ppoll with TERM unblocked)
    std::fs::write(p.dir().join("go"), "").unwrap();
    assert_eq!(p.exit(10.0).code(), Some(4));
    assert!(!p.dir().join("s2").exists(), "stage 2 ran");
    let l = p.lines();
    assert!(
        l.contains(&"- runit: warning: skipping stage 2...".to_string()),
        "{l:?}"
    );
}

#[test]
fn qemu_boot_then_ctrl_alt_del_runs_ctrlaltdel_and_halts() {
    // the kernel turns the key press into SIGINT for PID 1 (runit disabled the immediate
    // reboot with RB_DISABLE_CAD); /etc/runit/ctrlaltdel makes stopit executable
    boot_sequence(
        "cad",
        &[
            "- runit: ctrl-alt-del request...",
            "- runit: enter stage: /etc/runit/ctrlaltdel",
            "CTRLALTDEL ran",
            "- runit: leave stage: /etc/runit/ctrlaltdel",
        ],
        &["- runit: power off...", "reboot: Power down"],
    );
}

#[test]
fn ctrlaltdel_sequence_same_as_debian_runit() {
    // Debian's runit 2.1.2 keeps its flags in /run/runit.{stopit,reboot}: /run is a private
    // tmpfs here, and ctrlaltdel sets both spellings
    let mut outs = Vec::new();
    for runit in [bin("runit"), ref_bin("runit")] {
        let t = Pid1::tree();
        let d = t.path().display().to_string();
        stages(
            t.path(),
            "exit 0",
            &format!("touch {d}/up; exec sleep 1000"),
            "exit 1",
        );
        script(
            t.path().join("etc/ctrlaltdel"),
            "cd /etc/runit && touch stopit reboot /run/runit.stopit /run/runit.reboot && \
             chmod 100 stopit reboot /run/runit.stopit /run/runit.reboot; exit 7",
        );
        let mut p = Pid1::start_with(t, &runit, "mount -t tmpfs none /run &&");
        let pid = p.host_pid();
        must(10.0, "stage 2 up", || p.dir().join("up").exists());
        assert!(unsafe_kill(pid, libc::SIGINT));
        p.wait_line(10.0, "- runit: system reboot.");
        let _ = p.exit(10.0);
        outs.push(p.lines());
    }
    assert!(outs[0].contains(&"- runit: ctrl-alt-del request...".to_string()));
    assert_eq!(outs[0], outs[1], "differs from Debian's runit");
}

#[test]
fn container_mode_without_cap_sys_boot_like_docker() {
    // Docker's default: no CAP_SYS_BOOT (number 22; reboot(2) answers EPERM)
    let t = Pid1::tree();
    container_stage(t.path(), 6);
    let mut p = Pid1::start_wrapped(
        t,
        &bin("runit"),
        "",
        "setpriv --inh-caps=-sys_boot --bounding-set=-sys_boot",
    );
    let pid = p.host_pid();
    must(15.0, "services up", || {
        p.dir().join("up-a").exists() && p.dir().join("up-b").exists()
    });
    let eff = read(format!("/proc/{pid}/status"))
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:\t").map(str::to_string))
        .unwrap();
    let eff = u64::from_str_radix(eff.trim(), 16).unwrap();
    assert_eq!(eff & (1 << 22), 0, "CAP_SYS_BOOT still there");
    assert!(unsafe_kill(pid, libc::SIGTERM));
    assert_eq!(p.exit(20.0).code(), Some(6), "{}", p.err());
    assert_eq!(read(p.dir().join("down-a")), "down\n", "{}", p.out_err());
    assert_eq!(read(p.dir().join("down-b")), "down\n", "{}", p.out_err());
}

#[test]
fn runit_init_as_pid1_execs_sbin_runit() {
    // /sbin is covered by a directory holding only our runit
    let t = Pid1::tree();
    // written by a child process, as `script` explains (ETXTBSY)
    exec_copy(&bin("runit"), &t.path().join("sbin"), "runit");
    let d = t.path().display().to_string();
    stages(
        t.path(),
        &format!("tr '\\0' ' ' < /proc/1/cmdline > {d}/cmdline"),
        "exit 0",
        "exit 0",
    );
    let mut p = Pid1::start_with(t, &bin("runit-init"), "mount --bind \"$1\"/sbin /sbin &&");
    assert_eq!(p.exit(10.0).code(), Some(0), "{}", p.err());
    assert_eq!(read(p.dir().join("cmdline")), "runit ", "argv of runit");
    let l = p.lines();
    assert_eq!(l[0], "- runit: $Id: ID $: booting.");
    assert_eq!(l.last().unwrap(), "- runit: power off...");
}

#[test]
fn qemu_boot_with_our_runsv_and_sv_then_runit_init_0() {
    // Debian's runsvdir starting our runsv; stage 3 stops the services with our sv
    boot_sequence_with(
        "0",
        "svimpl=mixed",
        &["TRIGGER runit-init 0"],
        &["- runit: power off...", "reboot: Power down"],
    );
}

/// A real PID 1 (not a container), upstream's layout, no pwrfail: SIGPWR is ignored, as
/// by runit 2.3.0 (the trigger halts with runit-init 0 a second later).
#[test]
fn qemu_boot_sigpwr_ignored_with_upstream_layout() {
    boot_sequence(
        "pwr",
        &["TRIGGER kill -PWR 1", "PWR IGNORED", "TRIGGER runit-init 0"],
        &["- runit: power off...", "reboot: Power down"],
    );
}

/// Debian's layout (its /etc/runit/1 created /run/runit.stopit): SIGPWR shuts down and
/// powers off although the reboot flag is set (Debian's patch 0013).
#[test]
fn qemu_boot_debian_layout_sigpwr_powers_off_despite_reboot_flag() {
    let l = boot_sequence_with(
        "pwr",
        "svimpl=ours layout=debian rebootflag=1",
        &["TRIGGER kill -PWR 1"],
        &["- runit: power off...", "reboot: Power down"],
    );
    assert!(!l.iter().any(|x| x == "PWR IGNORED"), "{}", l.join("\n"));
    assert!(l.iter().any(|x| x == "STAGE3 flag /run/runit.reboot 100"));
}

/// An owner-executable /etc/runit/pwrfail (upstream's PR #51): SIGPWR runs it, announced
/// like ctrl-alt-del, then the system shuts down and powers off (reboot flag ignored).
#[test]
fn qemu_boot_pwrfail_runs_then_powers_off() {
    let l = boot_sequence_with(
        "pwr",
        "svimpl=ours pwrfail=1 rebootflag=1",
        &[
            "TRIGGER kill -PWR 1",
            "- runit: power failure request...",
            "- runit: enter stage: /etc/runit/pwrfail",
            "PWRFAIL ran",
            "- runit: leave stage: /etc/runit/pwrfail",
        ],
        &["- runit: power off...", "reboot: Power down"],
    );
    assert!(!l.iter().any(|x| x == "PWR IGNORED"), "{}", l.join("\n"));
    assert!(l.iter().any(|x| x == "STAGE3 flag /etc/runit/reboot 100"));
}

/// Debian's layout: our runit-init 6 writes /run/runit.stopit and /run/runit.reboot, our
/// runit reboots through them; /etc/runit/stopit is never created.
#[test]
fn qemu_boot_debian_layout_runit_init_6_reboots() {
    let l = boot_sequence_with(
        "6",
        "svimpl=ours layout=debian",
        &["TRIGGER runit-init 6"],
        &["- runit: system reboot.", "reboot: Restarting system"],
    );
    let flags: Vec<&String> = l.iter().filter(|x| x.starts_with("STAGE3 flag ")).collect();
    assert_eq!(
        flags,
        [
            "STAGE3 flag /run/runit.stopit 0",
            "STAGE3 flag /run/runit.reboot 100"
        ],
        "{}",
        l.join("\n")
    );
}

// ---------------------------------------------------------------- Debian's layout, ALRM, PWR

/// `mount --bind` of the tree's `run/` onto /run (so the test sees and writes the flags),
/// as a prefix for [`Pid1::start_with`].
const RUN_BIND: &str = "mount --bind \"$1\"/run /run &&";

/// A tree with `run/` for [`RUN_BIND`].
fn tree_with_run() -> tempfile::TempDir {
    let t = Pid1::tree();
    std::fs::create_dir(t.path().join("run")).unwrap();
    t
}

/// What Debian's /etc/runit/1 does at the end of every boot.
const DEBIAN_STAGE1: &str = "install -m000 /dev/null /run/runit.stopit && \
                             install -m000 /dev/null /run/runit.reboot";

fn mode_of(p: PathBuf) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Runs `runit-init ARG` inside runit's namespaces (nsenter), so its CONT reaches runit.
fn runit_init_into(pid: i32, runit_init: &Path, arg: &str) -> std::process::Output {
    let mut c = Command::new("nsenter");
    c.args(["-t", &pid.to_string(), "-p", "-m"])
        .arg(runit_init)
        .arg(arg);
    run_cmd(c, 10.0)
}

/// Debian's layout (/run/runit.stopit exists): `runit-init 6` writes /run/runit.stopit and
/// /run/runit.reboot, runit acts on them and reboots; /etc/runit/stopit, even executable,
/// is not what counts. Same messages and flag modes as Debian's runit and runit-init.
#[test]
fn debian_layout_runit_init_6_reboots_like_debian() {
    let mut outs = Vec::new();
    for (runit, init) in [
        (bin("runit"), bin("runit-init")),
        (ref_bin("runit"), ref_bin("runit-init")),
    ] {
        let t = tree_with_run();
        let d = t.path().display().to_string();
        stages(
            t.path(),
            DEBIAN_STAGE1,
            &format!("touch {d}/up; exec sleep 1000"),
            &format!("stat -c %a /run/runit.stopit /run/runit.reboot > {d}/modes3"),
        );
        // an executable upstream stopit is not consulted under Debian's layout
        std::fs::write(t.path().join("etc/stopit"), "").unwrap();
        std::fs::set_permissions(
            t.path().join("etc/stopit"),
            std::fs::Permissions::from_mode(0o100),
        )
        .unwrap();
        let mut p = Pid1::start_with(t, &runit, RUN_BIND);
        let pid = p.host_pid();
        must(10.0, "stage 2 up", || p.dir().join("up").exists());
        assert!(unsafe_kill(pid, libc::SIGCONT));
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(p.p.alive(), "acted on /etc/runit/stopit:\n{}", p.err());
        let o = runit_init_into(pid, &init, "6");
        use std::os::unix::process::ExitStatusExt;
        assert!(
            o.status.code() == Some(0) || o.status.signal() == Some(libc::SIGKILL),
            "{:?} {}",
            o.status,
            stderr(&o)
        );
        p.wait_line(10.0, "- runit: system reboot.");
        let _ = p.exit(10.0);
        assert_eq!(p.mode("stopit"), 0o100, "/etc/runit/stopit untouched");
        assert!(!p.etc().join("reboot").exists(), "no /etc/runit/reboot");
        outs.push((p.lines(), read(p.dir().join("modes3"))));
    }
    // runit cleared stopit when it acted; reboot stays executable
    assert_eq!(outs[0].1, "0\n100\n");
    assert_eq!(outs[0], outs[1], "differs from Debian's runit/runit-init");
}

/// runit-init alone: with /run/runit.stopit present it writes the /run files (modes,
/// messages and exit codes as Debian's runit-init), and leaves /etc/runit alone.
#[test]
fn runit_init_uses_debian_files_like_debian() {
    let run = |prog: &Path, ro: bool, arg: &str, t: &Path| {
        std::fs::create_dir_all("/etc/runit").unwrap();
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork", "--mount-proc", "--mount", "sh", "-c"]);
        c.arg(format!(
            "mount --bind \"$1\"/etc /etc/runit && mount --bind \"$1\"/run /run && {} \
             \"$2\" \"$3\"; echo rc=$?",
            if ro {
                "mount -o remount,bind,ro /run &&"
            } else {
                ""
            }
        ));
        c.arg("sh").arg(t).arg(prog).arg(arg);
        let o = run_cmd(c, 10.0);
        (stdout(&o), stderr(&o))
    };
    let mut outs = Vec::new();
    for prog in [bin("runit-init"), ref_bin("runit-init")] {
        let t = tree_with_run();
        let r = t.path().join("run");
        std::fs::write(r.join("runit.stopit"), "").unwrap();
        std::fs::set_permissions(r.join("runit.stopit"), std::fs::Permissions::from_mode(0o0))
            .unwrap();
        let mut res = Vec::new();
        let a = run(&prog, false, "6", t.path());
        res.push((
            a,
            mode_of(r.join("runit.stopit")),
            mode_of(r.join("runit.reboot")),
        ));
        let a = run(&prog, false, "0", t.path());
        res.push((
            a,
            mode_of(r.join("runit.stopit")),
            mode_of(r.join("runit.reboot")),
        ));
        assert!(
            std::fs::read_dir(t.path().join("etc")).unwrap().count() == 0,
            "/etc/runit written"
        );
        let (o, e) = run(&prog, true, "6", t.path());
        outs.push((res, o, e));
    }
    assert_eq!(outs[0].0[0].1, 0o100);
    assert_eq!(outs[0].0[0].2, 0o100);
    assert_eq!(outs[0].0[1].2, 0, "0 clears reboot");
    assert_eq!(outs[0].0, outs[1].0, "differs from Debian's runit-init");
    assert_eq!(outs[0].1, "rc=111\n");
    assert_eq!(outs[0].1, outs[1].1);
    // 2.3.0 reports open(2)'s error; Debian's 2.1.2 says `file descriptor not open` here
    assert_eq!(
        outs[0].2,
        "init: fatal: unable to create /run/runit.stopit: read-only file system\n"
    );
    assert_eq!(
        outs[1].2,
        "init: fatal: unable to create /run/runit.stopit: file descriptor not open\n"
    );
}

/// Debian's layout with its reboot flag executable: SIGPWR shuts down and powers off
/// (Debian ignores the reboot flag after a PWR); same messages as Debian's runit.
#[test]
fn debian_layout_sigpwr_powers_off_like_debian() {
    let mut outs = Vec::new();
    for runit in [bin("runit"), ref_bin("runit")] {
        let t = tree_with_run();
        let d = t.path().display().to_string();
        stages(
            t.path(),
            DEBIAN_STAGE1,
            &format!("chmod 100 /run/runit.reboot; touch {d}/up; exec sleep 1000"),
            "exit 0",
        );
        let mut p = Pid1::start_with(t, &runit, RUN_BIND);
        let pid = p.host_pid();
        must(10.0, "stage 2 up", || p.dir().join("up").exists());
        assert!(unsafe_kill(pid, libc::SIGPWR));
        p.wait_line(10.0, "- runit: power off...");
        let _ = p.exit(10.0);
        // Debian's runit also warns `signals only work in stage 2.` once stage 3 has
        // begun (its PWR flag is still set there); that spurious line is not reproduced
        let spurious = "- runit: warning: signals only work in stage 2.";
        outs.push(
            p.lines()
                .into_iter()
                .filter(|l| l != spurious)
                .collect::<Vec<_>>(),
        );
    }
    assert!(outs[0].contains(&"- runit: leave stage: /etc/runit/2".to_string()));
    assert!(!outs[0].iter().any(|l| l.contains("system reboot")));
    assert_eq!(outs[0], outs[1], "differs from Debian's runit");
}

/// SIGALRM to PID 1 reaches stage 2 with Debian's layout only: a stage 2 that counts its
/// ALRMs sees none while /run/runit.stopit is missing, then exactly the one sent after the
/// file appeared.
#[test]
fn sigalrm_forwarded_to_stage2_with_debian_layout_only() {
    let t = tree_with_run();
    let d = t.path().display().to_string();
    stages(
        t.path(),
        "exit 0",
        &format!(
            "trap 'echo alrm >> {d}/alrms' ALRM; touch {d}/up
             while :; do sleep 0.05; done"
        ),
        "exit 0",
    );
    let mut p = Pid1::start_with(t, &bin("runit"), RUN_BIND);
    let pid = p.host_pid();
    must(10.0, "stage 2 up", || p.dir().join("up").exists());
    assert!(unsafe_kill(pid, libc::SIGALRM));
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::write(p.dir().join("run/runit.stopit"), "").unwrap();
    assert!(unsafe_kill(pid, libc::SIGALRM));
    must(5.0, "ALRM forwarded", || p.dir().join("alrms").exists());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(read(p.dir().join("alrms")), "alrm\n", "one ALRM forwarded");
    assert!(p.p.alive(), "ALRM stopped runit:\n{}", p.err());
    assert!(unsafe_kill(pid, libc::SIGTERM));
    assert_eq!(p.exit(10.0).code(), Some(0));
}

/// The whole Debian path: PID 1 forwards ALRM to Debian's runsvdir, which writes its
/// `.forced-rescan` stamp; ours and Debian's runit alike.
#[test]
fn sigalrm_reaches_debians_runsvdir_like_debian() {
    for runit in [bin("runit"), ref_bin("runit")] {
        let t = tree_with_run();
        let d = t.path().display().to_string();
        std::fs::create_dir(t.path().join("service")).unwrap();
        stages(
            t.path(),
            DEBIAN_STAGE1,
            &format!("exec {} {d}/service", ref_bin("runsvdir").display()),
            "exit 0",
        );
        let mut p = Pid1::start_with(t, &runit, RUN_BIND);
        let pid = p.host_pid();
        // runsvdir running, with its ALRM handler installed
        let alrm_bit = 1u64 << (libc::SIGALRM - 1);
        must(10.0, "runsvdir catching ALRM", || {
            read(format!("/proc/{pid}/task/{pid}/children"))
                .split_whitespace()
                .any(|c| {
                    read(format!("/proc/{c}/cmdline")).contains("runsvdir")
                        && read(format!("/proc/{c}/status")).lines().any(|l| {
                            l.strip_prefix("SigCgt:\t")
                                .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
                                .is_some_and(|m| m & alrm_bit != 0)
                        })
                })
        });
        let stamp = p.dir().join("service/.forced-rescan");
        assert!(!stamp.exists());
        assert!(unsafe_kill(pid, libc::SIGALRM));
        // Debian's runsvdir looks at its flag at most once a second and otherwise sleeps
        // up to 5 s: an ALRM that lands within a second of its last look is acted on at
        // the wake-up after (up to ~6 s)
        if !wait_for(10.0, || {
            read(&stamp).len() == 25 && read(&stamp).starts_with('@')
        }) {
            panic!(
                "{}: no forced rescan stamp; messages:\n{}",
                runit.display(),
                p.err()
            );
        }
        // end it the Debian way
        std::fs::set_permissions(
            p.dir().join("run/runit.stopit"),
            std::fs::Permissions::from_mode(0o100),
        )
        .unwrap();
        assert!(unsafe_kill(pid, libc::SIGCONT));
        p.wait_line(10.0, "- runit: power off...");
        let _ = p.exit(10.0);
    }
}

// ---------------------------------------------------------------- container stop

/// A service `NAME` under `t/service` with a finish script and an svlogd logger (ours),
/// writing `up-NAME` when it runs; `on_stop` is its handling of the stop (shell).
fn logged_service(t: &Path, name: &str, on_stop: &str) {
    let d = t.display();
    let s = t.join("service").join(name);
    script(
        s.join("run"),
        &format!(
            "exec 2>&1\n{on_stop}\necho \"{name} up\"; touch {d}/up-{name}\n\
             while :; do sleep 1 & wait $!; done"
        ),
    );
    script(
        s.join("finish"),
        &format!("echo \"{name} finish $1 $2\"; touch {d}/finish-{name}"),
    );
    script(s.join("log/run"), "exec svlogd main");
    std::fs::create_dir_all(s.join("log/main")).unwrap();
}

/// Stage 2 is our runsvdir (not PID 1: TERM makes it exit and leave its runsv behind);
/// stage 3 does nothing about the services.
fn container_tree(stage3_exit: u8) -> tempfile::TempDir {
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    let ours = bin("runsv").parent().unwrap().display().to_string();
    stages(
        t.path(),
        "exit 0",
        &format!("PATH={ours}:$PATH exec runsvdir -P {d}/service"),
        &format!("echo stage3 > {d}/s3; exit {stage3_exit}"),
    );
    t
}

fn log_lines(t: &Path, name: &str) -> Vec<String> {
    crate::common::lines(t.join("service").join(name).join("log/main/current"))
}

/// Container mode: TERM, INT and PWR each start the orderly stop. Stage 3 stops nothing,
/// so runit itself ends what stage 2 left: every runsv gets TERM, stops its service with
/// the service's settings (a: TERM; b ignores TERM but has `down-signal HUP`; c ignores
/// everything, `timeout-kill 300`), runs finish, and its logger writes every line before
/// it exits; runit exits with stage 3's code, well before the stop deadline.
#[test]
fn container_term_int_pwr_each_stop_every_service_in_order() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGPWR] {
        let t = container_tree(3);
        let r = t.path();
        logged_service(r, "a", "trap 'echo \"a got TERM\"; exit 0' TERM");
        logged_service(
            r,
            "b",
            "trap '' TERM; trap 'echo \"b got HUP\"; exit 0' HUP",
        );
        std::fs::write(r.join("service/b/down-signal"), "HUP\n").unwrap();
        logged_service(r, "c", "trap '' TERM HUP INT");
        std::fs::write(r.join("service/c/timeout-kill"), "300\n").unwrap();
        let mut p = Pid1::start(t, &bin("runit"));
        let pid = p.host_pid();
        must(15.0, "services up", || {
            ["a", "b", "c"].iter().all(|s| {
                p.dir().join(format!("up-{s}")).exists()
                    && log_lines(p.dir(), s).contains(&format!("{s} up"))
            })
        });
        let t0 = std::time::Instant::now();
        assert!(unsafe_kill(pid, sig));
        let st = p.exit(10.0);
        let took = t0.elapsed().as_secs_f64();
        assert_eq!(st.code(), Some(3), "signal {sig}: {}", p.err());
        assert!(took < 5.0, "signal {sig}: took {took:.1} s");
        assert_eq!(read(p.dir().join("s3")), "stage3\n");
        let want = [
            ("a", vec!["a up", "a got TERM", "a finish 0 0"]),
            ("b", vec!["b up", "b got HUP", "b finish 0 0"]),
            ("c", vec!["c up", "c finish -1 9"]),
        ];
        for (s, w) in want {
            assert_eq!(log_lines(p.dir(), s), w, "signal {sig}, service {s}");
            assert!(p.dir().join(format!("finish-{s}")).exists());
        }
        let l = p.lines();
        assert!(!l.iter().any(|x| x.contains("stop-timeout")), "{l:?}");
        let from = l
            .iter()
            .position(|x| x == "- runit: leave stage: /etc/runit/2")
            .unwrap();
        let tail: Vec<String> = l[from..]
            .iter()
            .filter(|x| x.starts_with("- runit: "))
            .cloned()
            .collect();
        assert_eq!(
            tail,
            lines(&[
                "- runit: leave stage: /etc/runit/2",
                "- runit: enter stage: /etc/runit/3",
                "- runit: warning: child failed: /etc/runit/3",
                "- runit: leave stage: /etc/runit/3",
                "- runit: sending KILL signal to all processes...",
                "- runit: power off...",
            ]),
            "signal {sig}"
        );
    }
}

/// A service that ignores TERM and has no `timeout-kill`: the container-wide stop deadline
/// (`/etc/runit/stop-timeout`, or `$RUNIT_STOP_TIMEOUT`, which wins) ends it, with a
/// warning, and runit still exits with stage 3's code.
#[test]
fn container_stop_timeout_kills_a_term_ignoring_service() {
    // (file, env, expected deadline in s)
    for (file, env, want) in [(Some("1.5\n"), None, 1.5), (Some("30"), Some("1"), 1.0)] {
        let t = container_tree(4);
        let r = t.path();
        logged_service(r, "a", "trap 'echo \"a got TERM\"' TERM");
        if let Some(f) = file {
            std::fs::write(r.join("etc/stop-timeout"), f).unwrap();
        }
        let pre = env.map_or(String::new(), |e| {
            format!("export RUNIT_STOP_TIMEOUT={e} &&")
        });
        let mut p = Pid1::start_with(t, &bin("runit"), &pre);
        let pid = p.host_pid();
        must(15.0, "service up", || {
            log_lines(p.dir(), "a").contains(&"a up".to_string())
        });
        let t0 = std::time::Instant::now();
        assert!(unsafe_kill(pid, libc::SIGTERM));
        let st = p.exit(10.0);
        let took = t0.elapsed().as_secs_f64();
        assert_eq!(st.code(), Some(4), "{}", p.err());
        assert!(
            took >= want - 0.1 && took < want + 2.0,
            "deadline {want} s, took {took:.2} s"
        );
        let l = p.lines();
        let warn =
            "- runit: warning: stop-timeout reached, sending KILL signal to all processes...";
        let i = l.iter().position(|x| x == warn).expect("deadline warning");
        assert!(l[..i].contains(&"- runit: leave stage: /etc/runit/3".to_string()));
        assert_eq!(l.last().unwrap(), "- runit: power off...");
        assert!(log_lines(p.dir(), "a").contains(&"a got TERM".to_string()));
    }
}

/// Without any setting the deadline is 7 s: a TERM-ignoring service is gone, and runit has
/// exited, inside Docker's default 10-second grace.
#[test]
fn container_default_stop_timeout_fits_dockers_grace() {
    let t = container_tree(0);
    logged_service(t.path(), "a", "trap '' TERM");
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(15.0, "service up", || {
        log_lines(p.dir(), "a").contains(&"a up".to_string())
    });
    let t0 = std::time::Instant::now();
    assert!(unsafe_kill(pid, libc::SIGTERM));
    let st = p.exit(12.0);
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(st.code(), Some(0), "{}", p.err());
    assert!((6.9..9.5).contains(&took), "took {took:.2} s");
    assert!(p.err().contains("stop-timeout reached"));
}

/// A bad stop-timeout is reported and the default used.
#[test]
fn container_bad_stop_timeout_warns() {
    let t = container_tree(0);
    std::fs::write(t.path().join("etc/stop-timeout"), "soon\n").unwrap();
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(10.0, "stage 2", || {
        p.err().contains("enter stage: /etc/runit/2")
    });
    assert!(unsafe_kill(pid, libc::SIGTERM));
    assert_eq!(p.exit(10.0).code(), Some(0));
    assert!(
        p.lines().contains(
            &"- runit: warning: invalid /etc/runit/stop-timeout: not a number of seconds; \
              using the default"
                .to_string()
        ),
        "{}",
        p.err()
    );
}

/// Container mode, SIGPWR with an owner-executable /etc/runit/pwrfail: it runs (like
/// ctrlaltdel, announced), then the container stops; the reboot flag is ignored.
#[test]
fn container_pwr_runs_pwrfail_then_stops() {
    let t = Pid1::tree();
    let d = t.path().display().to_string();
    stages(
        t.path(),
        "exit 0",
        &format!("touch {d}/up; exec sleep 1000"),
        "exit 0",
    );
    script(
        t.path().join("etc/pwrfail"),
        &format!("echo pwrfail ran > {d}/pwrfail; chmod 100 /etc/runit/reboot"),
    );
    std::fs::write(t.path().join("etc/reboot"), "").unwrap();
    let mut p = Pid1::start(t, &bin("runit"));
    let pid = p.host_pid();
    must(10.0, "stage 2 up", || p.dir().join("up").exists());
    assert!(unsafe_kill(pid, libc::SIGPWR));
    assert_eq!(p.exit(10.0).code(), Some(0), "{}", p.err());
    assert_eq!(read(p.dir().join("pwrfail")), "pwrfail ran\n");
    let l = p.lines();
    let from = l
        .iter()
        .position(|x| x == "- runit: power failure request...")
        .expect("pwrfail announced");
    assert_eq!(
        &l[from..],
        &lines(&[
            "- runit: power failure request...",
            "- runit: enter stage: /etc/runit/pwrfail",
            "- runit: leave stage: /etc/runit/pwrfail",
            "- runit: leave stage: /etc/runit/2",
            "- runit: enter stage: /etc/runit/3",
            "- runit: leave stage: /etc/runit/3",
            "- runit: sending KILL signal to all processes...",
            "- runit: power off...",
        ])[..]
    );
}

/// Container mode, a stop signal while stage 1 runs: remembered, stage 2 skipped (INT and
/// PWR as TERM).
#[test]
fn container_int_and_pwr_during_stage1_skip_stage2() {
    for sig in [libc::SIGINT, libc::SIGPWR] {
        let t = Pid1::tree();
        let d = t.path().display().to_string();
        stages(
            t.path(),
            &format!("touch {d}/s1; while [ ! -e {d}/go ]; do sleep 0.01; done"),
            &format!("touch {d}/s2"),
            "exit 4",
        );
        let mut p = Pid1::start(t, &bin("runit"));
        let pid = p.host_pid();
        must(10.0, "stage 1 running", || p.dir().join("s1").exists());
        assert!(unsafe_kill(pid, sig));
        // (runit takes the signal at once: it waits in ppoll with it unblocked)
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::fs::write(p.dir().join("go"), "").unwrap();
        assert_eq!(p.exit(10.0).code(), Some(4));
        assert!(!p.dir().join("s2").exists(), "stage 2 ran");
        let l = p.lines();
        assert!(
            l.contains(&"- runit: warning: skipping stage 2...".to_string()),
            "{l:?}"
        );
        assert!(!l.iter().any(|x| x.contains("signals only work")), "{l:?}");
    }
}

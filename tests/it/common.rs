//! Test harness: our binaries and the reference ones, temporary service trees, process
//! guards that kill what a test started (by pid or process group, never by name), and
//! deadline polling instead of fixed sleeps.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// One of our binaries, as built by cargo for this test run.
pub fn bin(name: &str) -> PathBuf {
    let p = match name {
        "runsv" => env!("CARGO_BIN_EXE_runsv"),
        "sv" => env!("CARGO_BIN_EXE_sv"),
        "runsvdir" => env!("CARGO_BIN_EXE_runsvdir"),
        "runsvchdir" => env!("CARGO_BIN_EXE_runsvchdir"),
        "runit" => env!("CARGO_BIN_EXE_runit"),
        "runit-init" => env!("CARGO_BIN_EXE_runit-init"),
        "svlogd" => env!("CARGO_BIN_EXE_svlogd"),
        "chpst" => env!("CARGO_BIN_EXE_chpst"),
        "utmpset" => env!("CARGO_BIN_EXE_utmpset"),
        "runit-rs" => env!("CARGO_BIN_EXE_runit-rs"),
        _ => panic!("no binary {name}"),
    };
    PathBuf::from(p)
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A reference binary from Debian's runit 2.1.2 / daemontools, fetched by scripts/fetch-ref.
pub fn ref_bin(name: &str) -> PathBuf {
    let root = repo().join("ref/root");
    for d in ["usr/bin", "usr/sbin", "sbin"] {
        let p = root.join(d).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("reference binary {name} missing: run scripts/fetch-ref (scripts/test does)");
}

/// A temporary directory removed on drop.
pub fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("runit-rs-test.")
        .tempdir()
        .unwrap()
}

/// Writes an executable shell script.
///
/// The file is written by a child process (`install`), never through a descriptor of this
/// test process: tests run in threads that fork, and a child forked while we held the file
/// open for writing would keep it open until its exec, making an exec of the script fail
/// with ETXTBSY ("text busy") at that moment.
pub fn script(path: impl AsRef<Path>, body: &str) {
    install_exec(path, format!("#!/bin/sh\n{body}\n").as_bytes());
}

/// Writes an executable file (mode 0755) with any content, the way [`script`] does.
pub fn install_exec(path: impl AsRef<Path>, content: &[u8]) {
    use std::io::Write;
    let path = path.as_ref();
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut child = Command::new("install")
        .args(["-m", "755", "/dev/stdin"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(content).unwrap();
    assert!(
        child.wait().unwrap().success(),
        "install {}",
        path.display()
    );
}

/// Polls `cond` every 2 ms until it holds or `secs` pass; returns whether it held.
pub fn wait_for(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Panics with `what` unless `cond` holds within `secs`.
pub fn must(secs: f64, what: &str, cond: impl FnMut() -> bool) {
    assert!(wait_for(secs, cond), "timed out waiting for: {what}");
}

/// A started process in its own process group; the group is SIGKILLed on drop.
pub struct Proc {
    pub child: Child,
}

impl Proc {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
    /// Sends a signal to the process itself.
    pub fn signal(&self, sig: i32) {
        unsafe_kill(self.pid(), sig);
    }
    /// Waits up to `secs` for the exit; returns the exit status if it exited.
    pub fn wait_exit(&mut self, secs: f64) -> Option<std::process::ExitStatus> {
        let mut st = None;
        wait_for(secs, || {
            st = self.child.try_wait().unwrap();
            st.is_some()
        });
        st
    }
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        unsafe_kill(-self.pid(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// kill(2) through libc (tests may use libc directly; the crate's rule is for src/).
pub fn unsafe_kill(pid: i32, sig: i32) -> bool {
    // SAFETY: plain system call.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Limits the address space of the command's process (RLIMIT_AS), soft and hard.
pub fn unsafe_limit_as(c: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; the closure runs between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let rl = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &rl) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// 64 MiB of address space: room for any of our programs, none for a 100 MB allocation.
pub const TIGHT_AS: u64 = 64 << 20;

/// Starts `cmd` in a new process group, stdin null, output to the given files or null.
pub fn spawn(mut cmd: Command) -> Proc {
    cmd.process_group(0);
    cmd.stdin(Stdio::null());
    let child = cmd.spawn().expect("spawn");
    Proc { child }
}

/// Starts `cmd` with stdout and stderr captured to files in `dir` (`out`, `err`).
pub fn spawn_logged(mut cmd: Command, dir: &Path, tag: &str) -> Proc {
    let out = std::fs::File::create(dir.join(format!("{tag}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("{tag}.err"))).unwrap();
    cmd.stdout(out).stderr(err);
    spawn(cmd)
}

/// Runs a command to completion with a time limit (killing its group on overrun).
pub fn run_cmd(mut cmd: Command, secs: f64) -> Output {
    cmd.process_group(0);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs_f64(secs)) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            unsafe_kill(-pid, libc::SIGKILL);
            panic!("command overran {secs}s: {cmd:?}");
        }
    }
}

/// stdout of an Output as a String.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Reads a file as a string, empty if missing.
pub fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Decoded `supervise/status`: (pid, paused, want, term, state), or None if unreadable.
pub fn status(svc: &Path) -> Option<(u32, u8, u8, u8, u8)> {
    let b = std::fs::read(svc.join("supervise/status")).ok()?;
    if b.len() != 20 {
        return None;
    }
    Some((
        u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
        b[16],
        b[17],
        b[18],
        b[19],
    ))
}

/// Is a process alive (and not a zombie)?
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// Command for one of our binaries.
pub fn ours(name: &str) -> Command {
    Command::new(bin(name))
}

/// Replaces digit runs after `pid ` and before `s` in sv output so outputs compare.
pub fn normalise(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let prev = &s[..st];
            if prev.ends_with("(pid ") {
                out.push_str("PID");
            } else if i < b.len() && b[i] == b's' && (prev.ends_with(' ')) {
                out.push('N');
            } else {
                out.push_str(&s[st..i]);
            }
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------- supervision helpers

/// Creates a service directory `root/name` with the given `run` body.
pub fn service(root: &Path, name: &str, run: &str) -> PathBuf {
    let d = root.join(name);
    script(d.join("run"), run);
    d
}

/// Whether a runsv holds `svc/supervise/ok` (supervise-protocol.md §12).
pub fn runsv_alive(svc: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(svc.join("supervise/ok"))
        .is_ok()
}

/// Starts `runsv` (ours or the reference) on `svc`, stderr to `svc.stderr` beside it.
pub fn start_runsv(runsv: &Path, svc: &Path) -> Proc {
    let mut c = Command::new(runsv);
    c.arg(svc);
    let err = std::fs::File::create(svc.with_extension("stderr")).unwrap();
    c.stderr(err).stdout(Stdio::null());
    let p = spawn(c);
    must(5.0, "runsv ready", || runsv_alive(svc));
    p
}

/// What runsv printed on stderr so far.
pub fn runsv_stderr(svc: &Path) -> String {
    read(svc.with_extension("stderr"))
}

/// Waits until the service runs (status pid != 0, state run) and returns the pid.
pub fn wait_up(svc: &Path) -> u32 {
    let mut pid = 0;
    must(5.0, "service up", || match status(svc) {
        Some((p, _, _, _, 1)) if p != 0 => {
            pid = p;
            true
        }
        _ => false,
    });
    pid
}

/// Waits until the service is down (pid 0, state down).
pub fn wait_down(svc: &Path) {
    must(5.0, "service down", || {
        matches!(status(svc), Some((0, _, _, _, 0)))
    });
}

/// Writes control bytes the way sv does (non-blocking open, one write).
pub fn control(svc: &Path, bytes: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(svc.join("supervise/control"))
        .unwrap();
    f.write_all(bytes.as_bytes()).unwrap();
}

/// Lines of a file.
pub fn lines(p: impl AsRef<Path>) -> Vec<String> {
    read(p).lines().map(|s| s.to_string()).collect()
}

/// Says that a test skips, on the real stderr: libtest captures `eprintln!` of a passing
/// test, but not a write to `std::io::stderr()`, so the line shows in `cargo test`'s output
/// (and so in CI's log) without `--nocapture`.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    // One write, so the line does not interleave with libtest's own.
    let _ = std::io::stderr().write_all(format!("SKIP: {test}: {why}\n").as_bytes());
}

/// The Python interpreter itself, for service scripts that send notifications: `python3`
/// on PATH may be a version manager's shim (pyenv's is a bash script that forks several
/// more), which costs close to a second per start on a loaded machine; the interpreter it
/// runs starts in tens of milliseconds. Resolved once; `python3` if that fails.
pub fn python3() -> String {
    static P: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "python3".to_string())
    })
    .clone()
}

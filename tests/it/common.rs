//! Test harness: our binaries and the reference ones, temporary service trees, process
//! guards that kill what a test started (by pid or process group, never by name), and
//! deadline polling instead of fixed sleeps.
//!
//! No test depends on how its caller started it. Before any test runs (and before the test
//! runner starts its threads), [`clean_process`] gives this process default signal
//! dispositions, an empty signal mask, umask 022, the repository as its working directory and
//! a fixed environment; and every process the harness starts goes through [`clean`], which
//! does the signal part again between fork and exec (the Rust runtime itself ignores SIGPIPE
//! in this process). A shell starting `cargo test &` ignores SIGINT and SIGQUIT, nohup
//! ignores SIGHUP, a user's umask may be 077, and SVDIR or SVWAIT change what sv does: each
//! once made differential tests differ or mode checks fail (issue 9).
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- a clean start

/// Runs [`clean_process`] when the test binary is loaded, before `main` and so before the
/// test runner has a second thread (changing the environment is only sound then).
#[used]
#[link_section = ".init_array"]
static CLEAN_PROCESS: extern "C" fn() = clean_process;

/// The environment variables kept from the caller: who it is and the test runner's own
/// settings. Everything else (SVDIR, SVWAIT, RUNSVDIR, LANG, LC_*, TERM, TZ, CDPATH,
/// LD_PRELOAD, TMPDIR, ...) is removed, and PATH is set to [`PATH`]. TMPDIR too: the tests
/// run programs as other users (nobody, the chpst test user) in their temporary directories,
/// and a private TMPDIR (pam_tmpdir's /tmp/user/0 is mode 0700) shuts those users out.
const KEEP_ENV: &[&str] = &["HOME", "USER", "LOGNAME"];

/// The PATH every test and every process it starts sees unless the test sets its own.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

extern "C" fn clean_process() {
    reset_signals();
    // SAFETY: plain system calls; no other thread exists yet.
    unsafe {
        libc::umask(0o022);
    }
    let _ = std::env::set_current_dir(repo());
    let _ = BIN_DIR.set(std::env::var_os("RUNIT_RS_BIN_DIR").map(PathBuf::from));
    let _ = STATIC_MULTICALL.set(std::env::var_os("RUNIT_RS_STATIC").map(PathBuf::from));
    for (k, _) in std::env::vars_os() {
        let keep = k.to_str().is_some_and(|k| {
            KEEP_ENV.contains(&k) || k.starts_with("RUST_") || k.starts_with("CARGO")
        });
        if !keep {
            std::env::remove_var(&k);
        }
    }
    std::env::set_var("PATH", PATH);
}

/// Every signal to its default action, none blocked: the state runsvdir gives runsv at boot.
/// Only async-signal-safe calls: it also runs between fork and exec.
fn reset_signals() {
    // SAFETY: sigaction(2) and sigprocmask(2) on plain local values; async-signal-safe.
    // Numbers that cannot be changed (KILL, STOP, the C library's own 32 and 33) just fail.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut sa.sa_mask);
        for sig in 1..=64 {
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Makes `cmd` start clean, whoever started the test: default signal dispositions (all of
/// 1..64), an empty mask and umask 022, set between fork and exec. Both sides of a
/// differential test get the same start this way, not what the test runner inherited.
pub fn clean(cmd: &mut Command) -> &mut Command {
    // SAFETY: the closure only makes async-signal-safe system calls (sigaction,
    // sigprocmask, umask), allocates nothing and cannot panic.
    unsafe {
        cmd.pre_exec(|| {
            reset_signals();
            libc::umask(0o022);
            Ok(())
        });
    }
    cmd
}

/// `RUNIT_RS_BIN_DIR` as the test binary found it (read before the environment is cleaned):
/// a directory where every program name is a link to one multicall binary (scripts/test
/// makes it for its second pass), in place of cargo's separate binaries.
static BIN_DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// `RUNIT_RS_STATIC` as the test binary found it: a static (non-PIE) multicall binary, what
/// `make` installs (scripts/test builds one with the test profile).
static STATIC_MULTICALL: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// The static multicall binary named by `RUNIT_RS_STATIC`, if any (see [`STATIC_MULTICALL`]).
pub fn static_multicall() -> Option<PathBuf> {
    STATIC_MULTICALL.get().cloned().flatten()
}

/// The multicall binary the QEMU boots install: the static one when `RUNIT_RS_STATIC`
/// names it, else (said on stderr) this build's `runit-rs`, whose shared libraries the
/// image builders copy from the host.
pub fn boot_multicall() -> PathBuf {
    static_multicall().unwrap_or_else(|| {
        eprintln!("NOTE: RUNIT_RS_STATIC unset: booting the dynamic runit-rs of this build");
        std::fs::canonicalize(bin("runit-rs")).unwrap()
    })
}

/// One of our binaries: as built by cargo for this test run, or, when `RUNIT_RS_BIN_DIR`
/// is set, the link of that name in that directory (every program a link to runit-rs).
pub fn bin(name: &str) -> PathBuf {
    if let Some(d) = BIN_DIR.get().and_then(|d| d.as_ref()) {
        let p = d.join(name);
        assert!(
            std::fs::symlink_metadata(&p).is_ok(),
            "RUNIT_RS_BIN_DIR={}: no {name} in it",
            d.display()
        );
        return p;
    }
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
        "runit-exporter" => env!("CARGO_BIN_EXE_runit-exporter"),
        "svjson" => env!("CARGO_BIN_EXE_svjson"),
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
    for d in ["usr/bin", "usr/sbin", "sbin", "lib/runit"] {
        let p = root.join(d).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("reference binary {name} missing: run scripts/fetch-ref (scripts/test does)");
}

/// A temporary directory in /tmp (whatever the caller's TMPDIR: see [`KEEP_ENV`]), removed
/// on drop.
pub fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("runit-rs-test.")
        .tempdir_in("/tmp")
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
    let mut child = clean(&mut Command::new("install"))
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

/// A copy of the executable `prog` as `dir/name` (mode 0755), written by a child process as
/// [`script`] explains (ETXTBSY). Also for running a program as another user: the work tree
/// (target/, ref/) may lie under a directory only root can enter (/root is 0700), a test's
/// temporary directory does not. `dir` must then be open to that user.
pub fn exec_copy(prog: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    let o = clean(&mut Command::new("install"))
        .args(["-D", "-m", "755"])
        .arg(prog)
        .arg(&to)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "install {}: {}",
        to.display(),
        stderr(&o)
    );
    to
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
///
/// The process is reaped only then, after the group kill: until a zombie is reaped its pid,
/// and so its process group's id, cannot be handed to another process. Reaping it earlier
/// (as `Child::try_wait` does) and killing the group later can kill a stranger's group:
/// pid_max is 32768 on common set-ups and the suite forks tens of thousands of processes, so
/// numbers come round again within seconds. Seen under load: the services of a runit
/// container test SIGKILLed in the middle of the test, by another test's clean-up.
pub struct Proc {
    pub child: Child,
}

impl Proc {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
    /// Sends a signal to the process itself (never reaped before drop: see [`Proc`]).
    pub fn signal(&self, sig: i32) {
        unsafe_kill(self.pid(), sig);
    }
    /// How the process ended, if it has, without reaping it (`waitid` with `WNOWAIT`).
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        // SAFETY: waitid fills the zeroed siginfo_t it is given; the si_* accessors read the
        // fields waitid(2) sets for a child's state change.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.pid() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            assert_eq!(
                r,
                0,
                "waitid {}: {}",
                self.pid(),
                std::io::Error::last_os_error()
            );
            if info.si_pid() == 0 {
                return None;
            }
            let st = info.si_status();
            let raw = match info.si_code {
                libc::CLD_EXITED => (st & 0xff) << 8,
                libc::CLD_DUMPED => st | 0x80,
                _ => st,
            };
            Some(std::process::ExitStatus::from_raw(raw))
        }
    }
    /// Waits up to `secs` for the exit; returns the exit status if it exited.
    pub fn wait_exit(&mut self, secs: f64) -> Option<std::process::ExitStatus> {
        let mut st = None;
        wait_for(secs, || {
            st = self.exited();
            st.is_some()
        });
        st
    }
    pub fn alive(&mut self) -> bool {
        self.exited().is_none()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        unsafe_kill(-self.pid(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A process that is not our child (a grandchild), held through a pidfd: signals sent later
/// reach that process or nobody, never whoever got its pid after it exited.
pub struct PidRef {
    fd: std::os::fd::OwnedFd,
}

impl PidRef {
    /// None if `pid` is gone already.
    pub fn open(pid: i32) -> Option<PidRef> {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: the descriptor was just returned to us and is owned by nothing else.
        Some(PidRef {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) },
        })
    }
    /// pidfd_send_signal(2); false if the process has ended.
    pub fn kill(&self, sig: i32) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: plain system call on our descriptor; no siginfo (NULL), no flags.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            ) == 0
        }
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

/// Shell commands (`sh -c`, in a private mount namespace) that give the namespace an empty
/// `/etc/runit` to mount over without creating one on the host: `/etc` is covered by an
/// overlay whose upper layer lives on a tmpfs mounted on `scratch` (an empty directory of the
/// test's), and `/etc/runit` is made in the overlay. The host's `/etc` is never written, so a
/// run leaves nothing there and suites running at once in other work trees cannot meet.
/// Ends with `&&`-ready text (no trailing separator).
pub fn private_etc_runit_sh(scratch: &Path) -> String {
    let s = scratch.display().to_string();
    // overlayfs options are split at commas and colons; single quotes delimit the shell word
    assert!(
        !s.contains([',', ':', '\\', '\'']),
        "scratch path unusable in overlay options: {s}"
    );
    std::fs::create_dir_all(scratch).unwrap();
    format!(
        "mount -t tmpfs none '{s}' && mkdir '{s}/u' '{s}/w' \
         && mount -t overlay overlay -o 'lowerdir=/etc,upperdir={s}/u,workdir={s}/w' /etc \
         && mkdir -p /etc/runit"
    )
}

/// Starts `cmd` in a new process group, stdin null, output to the given files or null.
pub fn spawn(mut cmd: Command) -> Proc {
    clean(&mut cmd).process_group(0);
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
    clean(&mut cmd).process_group(0);
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

/// Bytes written to the FIFO `path` and not yet read by its reader (FIONREAD through a
/// non-blocking write end of our own).
pub fn fifo_unread(path: &Path) -> usize {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .unwrap();
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(r, 0, "FIONREAD on {}", path.display());
    n as usize
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

/// The Debian cloud kernel unpacked by scripts/fetch-qemu (the QEMU boots).
pub fn qemu_kernel() -> PathBuf {
    let boot = repo().join("qemu/root/boot");
    std::fs::read_dir(&boot)
        .ok()
        .and_then(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("vmlinuz-")
            })
        })
        .unwrap_or_else(|| panic!("no kernel in {}: run scripts/fetch-qemu", boot.display()))
}

/// The first child of `pid` (as the host numbers it), waited for: what `unshare --fork`
/// started as the namespace's PID 1.
pub fn first_child(pid: i32, what: &str) -> i32 {
    let f = format!("/proc/{pid}/task/{pid}/children");
    let mut child = 0;
    must(5.0, what, || {
        child = read(&f)
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        child > 0
    });
    child
}

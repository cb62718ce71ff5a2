//! Readiness with real daemons from Debian's packages (docs/readiness.md §2, issue 10):
//! redis-server under `--supervised systemd` and tor (libsystemd's `sd_notify`), each
//! under our runsv with `notify-socket`. `sv -w 10 start` must return only once the daemon
//! serves: right after it returns, the daemon answers on its loopback port.
//!
//! The daemons come from scripts/fetch-daemons (ref/daemons, git-ignored; scripts/test runs
//! it). Without them each test says SKIP.
use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A wrapper from ref/daemons/bin, or `None` (after a SKIP line) when it was not fetched.
fn daemon(name: &str, test: &str) -> Option<PathBuf> {
    let p = repo().join("ref/daemons/bin").join(name);
    if repo().join("ref/daemons/.complete").exists() && p.exists() {
        Some(p)
    } else {
        skip(
            test,
            &format!(
                "{name} not fetched (scripts/fetch-daemons could not reach Debian's packages)"
            ),
        );
        None
    }
}

/// A loopback port nobody listens on now (the kernel picks it; released at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `req` to 127.0.0.1:`port` and reads until `until` shows up in the answer (or the
/// peer closes, or 5 s pass); the answer so far, or the connection error.
fn ask(port: u16, req: &[u8], until: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(req).map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&got).contains(until) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

fn sv(args: &[&str], cwd: &Path) -> (String, Option<i32>) {
    let mut c = ours("sv");
    c.args(args).current_dir(cwd);
    let o = run_cmd(c, 30.0);
    (stdout(&o), o.status.code())
}

/// A runsv on `svc` that takes its service down (`d`, then `x`) when dropped, waiting for
/// the daemon's pid to go, before the process group is killed as a last resort.
struct Supervised {
    svc: PathBuf,
    runsv: Proc,
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let pid = status(&self.svc).map_or(0, |s| s.0);
        if runsv_alive(&self.svc) {
            control(&self.svc, "dx");
            self.runsv.wait_exit(10.0);
            // Only the pid that runsv supervised is killed, and only if it outlived runsv.
            if pid != 0 && pid_alive(pid as i32) {
                unsafe_kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// Starts runsv on `svc` (a service with `down`, so nothing runs until sv says so).
fn supervise(svc: &Path) -> Supervised {
    Supervised {
        svc: svc.to_path_buf(),
        runsv: start_runsv(&bin("runsv"), svc),
    }
}

/// The common part: a service `name` whose `./run` sleeps 0.3 s (so a start that did not
/// wait for readiness would return before the daemon listens) and then execs `cmd`, with
/// `notify-socket` and a log service; `sv -w 10 start` must return ok and ready, and the
/// daemon must answer `probe` at once. Returns the `sv status` line and the run's pid.
fn start_ready(
    root: &Path,
    name: &str,
    cmd: &str,
    probe: impl Fn() -> Result<String, String>,
    probe_ok: &str,
) -> (String, u32, Supervised) {
    let svc = service(root, name, &format!("exec 2>&1; sleep 0.3; exec {cmd}"));
    std::fs::write(svc.join("notify-socket"), "").unwrap();
    std::fs::write(svc.join("down"), "").unwrap();
    script(svc.join("log/run"), "exec cat > ../../log.txt");
    let sup = supervise(&svc);
    let target = format!("./{name}");
    let (out, code) = sv(&["-w", "10", "start", &target], root);
    assert_eq!(
        code,
        Some(0),
        "sv start: {out}\nlog:\n{}",
        read(root.join("log.txt"))
    );
    let answer = probe();
    assert!(
        matches!(&answer, Ok(a) if a.contains(probe_ok)),
        "sv returned ({out:?}) before {name} served: {answer:?}\nlog:\n{}",
        read(root.join("log.txt"))
    );
    assert!(
        out.starts_with(&format!("ok: run: {target}: (pid ")),
        "{out}"
    );
    assert!(out.contains(", normally down, ready "), "{out}");
    let pid = status(&svc).unwrap().0;
    // ./run execs the wrapper, which execs the daemon: the supervised pid is the daemon.
    let comm = read(format!("/proc/{pid}/comm"));
    assert!(comm.starts_with(name), "pid {pid} is {comm:?}");
    let (st, code) = sv(&["status", &target], root);
    assert_eq!(code, Some(0), "{st}");
    (st, pid, sup)
}

/// redis-server `--supervised systemd` sends `STATUS=Redis is loading...`, then
/// `STATUS=Ready to accept connections` and `READY=1` once it listens: `sv -w 10 start`
/// returns after that (redis answers PING right away), and `sv status` shows `, ready `
/// and redis's own status text, followed by the log service as runit prints it.
#[test]
fn redis_supervised_systemd_is_ready_when_it_answers() {
    let Some(redis) = daemon(
        "redis-server",
        "redis_supervised_systemd_is_ready_when_it_answers",
    ) else {
        return;
    };
    let t = tmp();
    let port = free_port();
    let data = t.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let cmd = format!(
        "{} --supervised systemd --daemonize no --bind 127.0.0.1 --port {port} \
         --save '' --appendonly no --dir {}",
        redis.display(),
        data.display()
    );
    let (st, pid, sup) = start_ready(
        t.path(),
        "redis-server",
        &cmd,
        || ask(port, b"PING\r\n", "\r\n"),
        "+PONG",
    );
    assert!(
        st.starts_with(&format!("run: ./redis-server: (pid {pid}) ")),
        "{st}"
    );
    let main = st.split("; ").next().unwrap();
    assert!(
        main.contains(", normally down, ready ")
            && main.ends_with("s, status: Ready to accept connections"),
        "{st}"
    );
    assert!(st.contains("; run: log: (pid "), "{st}");
    let info = read(sup.svc.join("supervise/info"));
    assert!(
        info.lines().any(|l| l == "readiness=ready")
            && info
                .lines()
                .any(|l| l == "status=Ready to accept connections"),
        "{info}"
    );
    // Down: redis gets TERM, exits, and runsv records it.
    let (out, code) = sv(&["-w", "10", "down", "./redis-server"], t.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("ok: down: ./redis-server: "), "{out}");
    must(5.0, "redis gone", || !pid_alive(pid as i32));
    drop(sup);
}

/// tor (libsystemd's `sd_notify`: `MAINPID=` then `READY=1` once its listeners are open),
/// without any network (`DisableNetwork 1`): `sv -w 10 start` returns when its control
/// port answers, `sv status` shows it ready and tor's `MAINPID=` (its own pid).
#[test]
fn tor_libsystemd_is_ready_when_it_answers() {
    let Some(tor) = daemon("tor", "tor_libsystemd_is_ready_when_it_answers") else {
        return;
    };
    let t = tmp();
    let port = free_port();
    let data = t.path().join("data");
    std::fs::create_dir(&data).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let torrc = t.path().join("torrc");
    std::fs::write(
        &torrc,
        format!(
            "SocksPort 0\nControlPort 127.0.0.1:{port}\nDataDirectory {}\n\
             DisableNetwork 1\nLog notice stdout\n",
            data.display()
        ),
    )
    .unwrap();
    let cmd = format!(
        "{} -f {} --defaults-torrc /dev/null",
        tor.display(),
        torrc.display()
    );
    let (st, pid, sup) = start_ready(
        t.path(),
        "tor",
        &cmd,
        || ask(port, b"PROTOCOLINFO\r\n", "250 OK"),
        "250-PROTOCOLINFO 1",
    );
    assert!(st.starts_with(&format!("run: ./tor: (pid {pid}) ")), "{st}");
    let main = st.split("; ").next().unwrap();
    assert!(
        main.contains(", normally down, ready ") && main.ends_with(&format!("s, mainpid {pid}")),
        "{st}"
    );
    let (out, code) = sv(&["-w", "10", "down", "./tor"], t.path());
    assert_eq!(code, Some(0), "{out}");
    must(5.0, "tor gone", || !pid_alive(pid as i32));
    drop(sup);
}

/// redis as its own user, the way a run script starts it (`chpst -u USER redis-server`):
/// it notifies after dropping privileges, and is heard all the same.
#[test]
fn redis_as_another_user_is_heard() {
    let Some(redis) = daemon("redis-server", "redis_as_another_user_is_heard") else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let t = tmp();
    // The temporary directory is 0700: the user must reach the service and its data.
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // ... and the program: ref/ may lie below a directory nobody cannot enter (a clone in
    // /root, a 0700 TMPDIR), so nobody runs a copy of redis and its libraries from here.
    let unpacked = redis.parent().unwrap().join("../root/usr");
    let own = t.path().join("redis");
    std::fs::create_dir_all(own.join("lib")).unwrap();
    std::fs::copy(unpacked.join("bin/redis-server"), own.join("redis-server")).unwrap();
    for lib in std::fs::read_dir(unpacked.join("lib/x86_64-linux-gnu")).unwrap() {
        let lib = lib.unwrap().path();
        std::fs::copy(&lib, own.join("lib").join(lib.file_name().unwrap())).unwrap();
    }
    let port = free_port();
    let data = t.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::chown(&data, Some(65534), Some(65534)).unwrap();
    let cmd = format!(
        "env LD_LIBRARY_PATH={own}/lib {} -u nobody {own}/redis-server --supervised systemd \
         --daemonize no --bind 127.0.0.1 --port {port} --save '' --appendonly no --dir {}",
        bin("chpst").display(),
        data.display(),
        own = own.display(),
    );
    let (st, pid, sup) = start_ready(
        t.path(),
        "redis-server",
        &cmd,
        || ask(port, b"PING\r\n", "\r\n"),
        "+PONG",
    );
    assert!(
        st.split("; ")
            .next()
            .unwrap()
            .ends_with("s, status: Ready to accept connections"),
        "{st}"
    );
    let uid = read(format!("/proc/{pid}/status"))
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string());
    assert_eq!(uid.as_deref(), Some("65534"), "redis runs as nobody");
    drop(sup);
    must(5.0, "redis gone", || !pid_alive(pid as i32));
}

//! Readiness (docs/readiness.md): `notification-fd` and `notify-socket` with real
//! processes, sv waiting for readiness, what sv shows, and a socket that outsiders and
//! garbage cannot move.
use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn sv(args: &[&str], cwd: &Path) -> (String, Option<i32>) {
    let mut c = ours("sv");
    c.args(args).current_dir(cwd);
    let o = run_cmd(c, 30.0);
    (stdout(&o), o.status.code())
}

fn info(svc: &Path) -> String {
    read(svc.join("supervise/info"))
}

fn info_has(svc: &Path, line: &str) -> bool {
    info(svc).lines().any(|l| l == line)
}

/// A Python program that sends `msg` to `$NOTIFY_SOCKET` the way `systemd-notify` does:
/// one datagram on a fresh socket, with its parent's pid as the credentials (root may name
/// another live pid). A sender that exits at once may be reaped by its parent before runsv
/// reads the datagram, and a pid that is gone cannot be traced to the service
/// (docs/readiness.md §2): systemd-notify names its parent for that reason, and so does
/// this helper, so no test depends on winning that race. Not root: its own pid.
fn notify_send(msg: &str) -> String {
    format!(
        "{} -c 'import os,socket,struct\n\
         s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.connect(os.environ[\"NOTIFY_SOCKET\"])\n\
         c=struct.pack(\"iII\",os.getppid(),os.getuid(),os.getgid())\n\
         try: s.sendmsg([b\"{msg}\"],[(socket.SOL_SOCKET,socket.SCM_CREDENTIALS,c)])\n\
         except PermissionError: s.send(b\"{msg}\")'",
        python3()
    )
}

/// `notification-fd`: ./run writes a newline to fd 3 half a second after its start. `sv -w
/// 5 start` returns only after that (the marker written just before it exists), with
/// runit's `ok:` line plus the readiness note; `info` says ready.
#[test]
fn notification_fd_newline_means_ready() {
    let t = tmp();
    let svc = service(
        t.path(),
        "s",
        "sleep 0.5; touch ../about-to-be-ready; echo >&3; exec sleep 1000",
    );
    std::fs::write(svc.join("notification-fd"), "3\n").unwrap();
    std::fs::write(svc.join("down"), "").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    let t0 = Instant::now();
    let (out, code) = sv(&["-w", "5", "start", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        t.path().join("about-to-be-ready").exists(),
        "returned before ready: {out}"
    );
    assert!(t0.elapsed().as_millis() >= 500);
    assert!(out.starts_with("ok: run: ./s: (pid "), "{out}");
    assert!(out.contains(", normally down, ready "), "{out}");
    assert!(info_has(&svc, "readiness=ready"), "{}", info(&svc));
    assert!(info_has(&svc, "starts=1"), "{}", info(&svc));
    // Readiness is lost at a restart and waited for again.
    let (out, code) = sv(&["-w", "5", "restart", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        info_has(&svc, "readiness=ready") && info_has(&svc, "starts=2"),
        "{out}{}",
        info(&svc)
    );
}

/// A service that never becomes ready: `sv -w 2 start` times out with runit's timeout
/// line (and the note that it is not ready) and runit's exit code.
#[test]
fn never_ready_times_out_like_runit() {
    let t = tmp();
    let svc = service(t.path(), "s", "exec sleep 1000");
    std::fs::write(svc.join("notification-fd"), "3").unwrap();
    std::fs::write(svc.join("down"), "").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    let (out, code) = sv(&["-w", "2", "start", "./s"], t.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("timeout: run: ./s: (pid "), "{out}");
    assert!(
        out.trim_end().ends_with(", normally down, not ready"),
        "{out}"
    );
    assert!(info_has(&svc, "readiness=waiting"));
}

/// Bad `notification-fd` contents: a warning in runsv's format, and the service runs
/// without readiness (sv's start does not wait); runsv carries on.
#[test]
fn bad_notification_fd_is_refused_with_a_warning() {
    for (content, why) in [
        ("1\n", "0, 1 and 2 are the service's stdio"),
        ("x\n", "not a number"),
        ("99999999999\n", "too big"),
    ] {
        let t = tmp();
        let svc = service(t.path(), "s", "exec sleep 1000");
        std::fs::write(svc.join("notification-fd"), content).unwrap();
        let _p = start_runsv(&bin("runsv"), &svc);
        wait_up(&svc);
        let want = format!(
            "runsv {}: warning: invalid notification-fd: {why}; readiness not used",
            svc.display()
        );
        must(5.0, "the warning", || {
            runsv_stderr(&svc).lines().any(|l| l == want)
        });
        must(5.0, "readiness off", || info_has(&svc, "readiness=off"));
        let (out, code) = sv(&["-w", "2", "start", "./s"], t.path());
        assert_eq!(code, Some(0), "{content:?}: {out}");
        assert!(!out.contains("ready"), "no readiness note: {out}");
    }
}

/// `notify-socket`: `NOTIFY_SOCKET` names `supervise/notify` by its absolute path;
/// STATUS= and READY=1 (with a trailing newline, as redis sends them) make the service
/// ready, and sv shows both; MAINPID= is shown too.
#[test]
fn notify_socket_ready_status_and_mainpid() {
    let t = tmp();
    let svc = service(
        t.path(),
        "s",
        &format!(
            "echo \"$NOTIFY_SOCKET\" > ../env; sleep 0.3; {}; {}; exec sleep 1000",
            notify_send("STATUS=warming up\\n"),
            notify_send("MAINPID=4242\\nSTATUS=serving\\nREADY=1\\n")
        ),
    );
    std::fs::write(svc.join("notify-socket"), "").unwrap();
    std::fs::write(svc.join("down"), "").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    let (out, code) = sv(&["-w", "5", "start", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}{}", runsv_stderr(&svc));
    let abs = std::fs::canonicalize(&svc)
        .unwrap()
        .join("supervise/notify");
    assert_eq!(read(t.path().join("env")).trim(), abs.display().to_string());
    let (st, _) = sv(&["status", "./s"], t.path());
    assert!(
        st.contains(", normally down, ready ") && st.contains("s, mainpid 4242, status: serving"),
        "{st}"
    );
    assert!(info_has(&svc, "status=serving") && info_has(&svc, "mainpid=4242"));
}

/// STOPPING=1 and RELOADING=1: not ready (sv's start waits again after RELOADING until
/// READY=1); STOPPING sticks.
#[test]
fn reloading_and_stopping() {
    let t = tmp();
    let svc = service(
        t.path(),
        "s",
        &format!(
            "{}; while [ ! -e ../reload ]; do sleep 0.01; done; {}; \
             while [ ! -e ../reloaded ]; do sleep 0.01; done; {}; \
             while [ ! -e ../stop ]; do sleep 0.01; done; {}; {}; exec sleep 1000",
            notify_send("READY=1"),
            notify_send("RELOADING=1"),
            notify_send("READY=1"),
            notify_send("STOPPING=1"),
            notify_send("READY=1")
        ),
    );
    std::fs::write(svc.join("notify-socket"), "").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    must(5.0, "ready", || info_has(&svc, "readiness=ready"));
    std::fs::write(t.path().join("reload"), "").unwrap();
    must(5.0, "reloading", || info_has(&svc, "readiness=reloading"));
    let (st, _) = sv(&["status", "./s"], t.path());
    assert!(st.contains(", reloading"), "{st}");
    std::fs::write(t.path().join("reloaded"), "").unwrap();
    must(5.0, "ready again", || info_has(&svc, "readiness=ready"));
    std::fs::write(t.path().join("stop"), "").unwrap();
    must(5.0, "stopping", || info_has(&svc, "readiness=stopping"));
    // The READY=1 after STOPPING=1 was sent too; it must not revive it. Wait for the
    // script to have sent it: it execs sleep right after.
    must(5.0, "script done", || {
        let pid = status(&svc).unwrap().0;
        read(format!("/proc/{pid}/comm")).trim() == "sleep"
    });
    assert!(info_has(&svc, "readiness=stopping"), "{}", info(&svc));
}

/// Who may notify: ./run's descendants, a daemonized grandchild too (runsv is their
/// subreaper); a process outside the service is ignored.
#[test]
fn only_the_services_processes_are_heard() {
    let t = tmp();
    // The grandchild double-forks away (setsid, parent exits) and notifies later.
    script(
        t.path().join("grandchild"),
        &format!(
            "while [ ! -e go ]; do sleep 0.01; done; {}; \
             while [ ! -e go2 ]; do sleep 0.01; done; {}",
            notify_send("STATUS=real"),
            notify_send("READY=1")
        ),
    );
    let svc = service(
        t.path(),
        "s",
        "echo \"$NOTIFY_SOCKET\" > ../sock; (cd .. && setsid ./grandchild &); exec sleep 1000",
    );
    std::fs::write(svc.join("notify-socket"), "").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    must(5.0, "socket named", || {
        !read(t.path().join("sock")).is_empty()
    });
    let sock = read(t.path().join("sock")).trim().to_string();
    // An outsider with the socket's name sends READY=1: ignored.
    let mut c = Command::new("sh");
    c.args(["-c", &notify_send("READY=1")])
        .env("NOTIFY_SOCKET", &sock);
    assert!(run_cmd(c, 10.0).status.success());
    let mut c = Command::new("sh");
    c.args(["-c", &notify_send("STATUS=forged")])
        .env("NOTIFY_SOCKET", &sock);
    assert!(run_cmd(c, 10.0).status.success());
    // The daemonized grandchild is heard; datagrams are taken in order, so once its
    // STATUS shows, the outsider's were handled (and ignored) before.
    std::fs::write(t.path().join("go"), "").unwrap();
    must(5.0, "the grandchild's status", || {
        info_has(&svc, "status=real")
    });
    assert!(
        info_has(&svc, "readiness=waiting"),
        "outsider's READY=1: {}",
        info(&svc)
    );
    std::fs::write(t.path().join("go2"), "").unwrap();
    must(5.0, "ready", || info_has(&svc, "readiness=ready"));
    assert!(!info(&svc).contains("forged"), "{}", info(&svc));
}

/// Garbage, oversized and descriptor-carrying datagrams: ignored, runsv alive, and none
/// of the passed descriptors stays open in runsv.
#[test]
fn garbage_datagrams_leave_runsv_unmoved() {
    let t = tmp();
    let svc = service(
        t.path(),
        "s",
        &format!(
            "echo \"$NOTIFY_SOCKET\" > ../sock; while [ ! -e ../go ]; do sleep 0.01; done; \
             {} ../flood.py; touch ../flooded; exec sleep 1000",
            python3()
        ),
    );
    std::fs::write(svc.join("notify-socket"), "").unwrap();
    std::fs::write(
        t.path().join("flood.py"),
        r#"import os, socket, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
for m in [b"\x00\x01\x02garbage", b"READY=1\x00junk", b"R" * 5000, b"STATUS=" + b"\xff" * 10,
          b"MAINPID=notanumber", b"", b"\n\r\n" * 100]:
    s.send(m)
fds = array.array("i", [os.open("/dev/null", os.O_RDONLY) for _ in range(8)])
for _ in range(20):
    s.sendmsg([b"STATUS=with fds"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
s.sendmsg([b"READY=1" + b"x" * 5000], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
"#,
    )
    .unwrap();
    let p = start_runsv(&bin("runsv"), &svc);
    must(5.0, "socket named", || {
        !read(t.path().join("sock")).is_empty()
    });
    // The passed descriptors are /dev/null: count runsv's links to it (its other
    // descriptors come and go with its publishing; stdin is /dev/null already).
    let fds = |pid: i32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
            .filter(|l| l == Path::new("/dev/null"))
            .count()
    };
    let before = fds(p.pid());
    std::fs::write(t.path().join("go"), "").unwrap();
    must(10.0, "flood sent", || t.path().join("flooded").exists());
    must(5.0, "the fd-carrying STATUS was heard", || {
        info_has(&svc, "status=with fds")
    });
    assert!(info_has(&svc, "readiness=waiting"), "{}", info(&svc));
    assert!(runsv_alive(&svc));
    // runsv closes what each datagram brought as soon as it has read it, but the flood
    // may still be being read: a kept descriptor would stay for ever.
    must(5.0, "no passed descriptor kept", || fds(p.pid()) == before);
    assert!(before < 8, "the flood passes 8 of them each time");
    control(&svc, "d");
    wait_down(&svc);
}

/// A `NOTIFY_SOCKET` path that does not fit a socket address gets a warning, not a
/// silent failure; the service runs without readiness.
#[test]
fn socket_path_too_long_is_warned_about() {
    let t = tmp();
    let mut deep: PathBuf = t.path().to_path_buf();
    while deep.as_os_str().len() < 110 {
        deep = deep.join("a-long-directory-name");
    }
    std::fs::create_dir_all(&deep).unwrap();
    let svc = service(&deep, "s", "exec sleep 1000");
    std::fs::write(svc.join("notify-socket"), "").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    wait_up(&svc);
    let want = "warning: notify-socket: the path of supervise/notify is too long for a socket; \
                readiness not used";
    must(5.0, "the warning", || runsv_stderr(&svc).contains(want));
    must(5.0, "readiness off", || info_has(&svc, "readiness=off"));
}

/// No heap allocation per supervision event with readiness configured (both protocols):
/// 12 runs, each ready through its descriptor and its datagrams, restarted by signals.
#[test]
fn no_allocation_per_readiness_event() {
    let t = tmp();
    let s = service(
        t.path(),
        "alloc",
        &format!(
            "echo >&3; {}; {}; exec sleep 100",
            notify_send("STATUS=up\\nMAINPID=7\\nREADY=1"),
            notify_send("\\x00garbage")
        ),
    );
    std::fs::write(s.join("notification-fd"), "3").unwrap();
    std::fs::write(s.join("notify-socket"), "").unwrap();
    let mut c = ours("runsv");
    c.arg(&s).env("RUNSV_ALLOC_AUDIT", "1");
    let err = std::fs::File::create(t.path().join("err")).unwrap();
    c.stderr(err);
    let mut p = spawn(c);
    must(5.0, "runsv up", || runsv_alive(&s));
    for i in 0..12 {
        let starts = format!("starts={}", i + 1);
        must(10.0, "ready", || {
            info_has(&s, "readiness=ready") && info_has(&s, &starts)
        });
        let pid = status(&s).unwrap().0;
        if i % 2 == 0 {
            control(&s, "t");
        } else {
            unsafe_kill(pid as i32, libc::SIGKILL);
        }
        must(
            5.0,
            "restarted",
            || matches!(status(&s), Some((np, _, _, _, 1)) if np != pid),
        );
    }
    control(&s, "dx");
    assert_eq!(p.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    assert_eq!(
        read(t.path().join("err")),
        format!("runsv {}: alloc-audit: 0\n", s.display())
    );
}

/// A service that drops privileges before it notifies (`chpst -u nobody`, the way run
/// scripts start redis or tor as their own user) still reaches `supervise/notify`:
/// `supervise/` is searchable and the socket writable by all, as systemd's
/// /run/systemd/notify is (who is heard is still the sender check's decision); without
/// that its connect fails with EACCES and the run never becomes ready.
#[test]
fn a_service_that_dropped_privileges_is_heard() {
    use std::os::unix::fs::PermissionsExt;
    // An interpreter that nobody may run (a version manager's lives in root's home).
    let py = "/usr/bin/python3";
    if !Path::new(py).exists() {
        skip(
            "a_service_that_dropped_privileges_is_heard",
            "no /usr/bin/python3",
        );
        return;
    }
    let t = tmp();
    // The temporary directory is 0700: nobody must be able to reach the service in it.
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let svc = service(
        t.path(),
        "s",
        &format!(
            "exec {} -u nobody {} -c 'import os,socket\n\
             s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.connect(os.environ[\"NOTIFY_SOCKET\"])\n\
             s.send(b\"STATUS=as nobody\\nREADY=1\")\n\
             os.execvp(\"sleep\", [\"sleep\", \"1000\"])'",
            bin("chpst").display(),
            py
        ),
    );
    std::fs::write(svc.join("notify-socket"), "").unwrap();
    std::fs::write(svc.join("down"), "").unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    let (out, code) = sv(&["-w", "5", "start", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}{}", runsv_stderr(&svc));
    assert!(
        out.contains(", ready ") && out.contains("status: as nobody"),
        "{out}"
    );
    let uid = read(format!("/proc/{}/status", status(&svc).unwrap().0))
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string());
    assert_eq!(uid.as_deref(), Some("65534"), "the run dropped to nobody");
}

/// A run with a readiness protocol that dies at once, again and again, never becomes
/// ready: `sv -w 3 start` ends with runit's timeout line and exit code, never `ok:`.
/// runsv writes `info` before `status`, so sv can read the record of a run that has just
/// died (its pid) and then the `info` of what followed (pid 0); that info is newer than
/// the record, not a leftover, and must not make sv take runit's rule (started is ready).
#[test]
fn a_crash_looping_run_is_never_ready() {
    for proto in ["notify-socket", "notification-fd"] {
        let t = tmp();
        let svc = service(t.path(), "s", "exit 111");
        std::fs::write(
            svc.join(proto),
            if proto == "notification-fd" { "3" } else { "" },
        )
        .unwrap();
        std::fs::write(svc.join("down"), "").unwrap();
        let _p = start_runsv(&bin("runsv"), &svc);
        let (out, code) = sv(&["-w", "3", "start", "./s"], t.path());
        assert_eq!(code, Some(1), "{proto}: {out}");
        assert!(out.starts_with("timeout: "), "{proto}: {out}");
        // Restarted once a second all along: at least three starts by now (a fourth may
        // come at any moment, so not exactly three).
        must(5.0, "it was restarted", || {
            info(&svc).lines().any(|l| {
                l.strip_prefix("starts=")
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n >= 3)
            })
        });
    }
}

/// The other side of the rule above: an `info` left by our runsv (killed while its run
/// was not ready) in a directory that runit's runsv supervises now is older than runit's
/// record, so sv acts as runit's would: the started service is up, `sv -w 3 start` says
/// `ok:`.
#[test]
fn a_leftover_info_means_runits_rules() {
    let t = tmp();
    let svc = service(t.path(), "s", "exec sleep 1000");
    std::fs::write(svc.join("notification-fd"), "3").unwrap();
    let ours_runsv = start_runsv(&bin("runsv"), &svc);
    // info is written before status: wait for the record, then for its info.
    let pid = wait_up(&svc) as i32;
    must(5.0, "waiting", || {
        info_has(&svc, "readiness=waiting") && info_has(&svc, &format!("pid={pid}"))
    });
    // SIGKILL to runsv and its run (one process group): nothing is cleaned up.
    drop(ours_runsv);
    must(5.0, "the run gone", || !pid_alive(pid));
    assert!(
        info_has(&svc, "readiness=waiting") && info_has(&svc, &format!("pid={pid}")),
        "the leftover: {}",
        info(&svc)
    );
    std::fs::write(svc.join("down"), "").unwrap();
    let _p = start_runsv(&ref_bin("runsv"), &svc);
    let (out, code) = sv(&["-w", "3", "start", "./s"], t.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("ok: run: ./s: (pid "), "{out}");
    assert!(!out.contains("ready"), "{out}");
}

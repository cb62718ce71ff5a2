//! runit-exporter and svjson (docs/exporter.md, issue 13) against real runsv trees: the
//! metrics follow `sv down`, `sv up`, a crash and a pause; the exposition passes
//! Prometheus's own parsers (`promtool check metrics`, and a real Prometheus scraping the
//! exporter on loopback, from Debian's `prometheus` package fetched by
//! scripts/fetch-prometheus; skipped with `SKIP:` when it could not be fetched); garbage,
//! idle and never-reading clients do not hold up other scrapes; the textfile mode writes
//! atomically; svjson's output is parsed by Python's `json` and checked field by field.
use crate::common::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn prom_bin(name: &str) -> Option<PathBuf> {
    let p = repo().join("ref/prometheus/root/usr/bin").join(name);
    p.exists().then_some(p)
}

/// `promtool check metrics` on an exposition: `None` (with a SKIP line) if promtool is
/// not there, else whether it passed, with its output.
fn promtool_check(body: &[u8]) -> Option<(bool, String)> {
    let Some(p) = prom_bin("promtool") else {
        eprintln!(
            "SKIP: promtool missing (scripts/fetch-prometheus could not fetch Debian's prometheus)"
        );
        return None;
    };
    let mut c = Command::new(p)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(body).unwrap();
    let o = c.wait_with_output().unwrap();
    Some((o.status.success(), format!("{}{}", stdout(&o), stderr(&o))))
}

fn assert_promtool_ok(body: &[u8]) {
    if let Some((ok, out)) = promtool_check(body) {
        assert!(ok, "promtool check metrics failed: {out}");
    }
}

/// A running exporter and the address it bound (it prints it: `-a 127.0.0.1:0`).
struct Exporter {
    proc: Proc,
    addr: String,
}

fn start_exporter(dir: &Path, extra: &[&str], logs: &Path) -> Exporter {
    let mut c = ours("runit-exporter");
    c.arg("-d").arg(dir).args(["-a", "127.0.0.1:0"]).args(extra);
    let proc = spawn_logged(c, logs, "exporter");
    let err = logs.join("exporter.err");
    let mut addr = String::new();
    must(5.0, "exporter listening", || {
        let s = read(&err);
        match s
            .split("listening on ")
            .nth(1)
            .and_then(|r| r.split(',').next())
        {
            Some(a) => {
                addr = a.to_string();
                true
            }
            None => false,
        }
    });
    Exporter { proc, addr }
}

/// One HTTP GET with a plain TCP client: (status line, head, body).
fn http_get(addr: &str, path: &str) -> (String, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: test\r\n\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let body = all[split + 4..].to_vec();
    let status = head.lines().next().unwrap_or("").to_string();
    (status, head, body)
}

/// Scrapes /metrics: the body, checked to be exactly Content-Length long.
fn scrape_raw(addr: &str) -> Vec<u8> {
    let (status, head, body) = http_get(addr, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK", "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    assert!(
        head.contains(&format!("Content-Length: {}\r", body.len()))
            || head.ends_with(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    body
}

/// Samples by `name{labels}`.
fn samples(body: &[u8]) -> HashMap<String, f64> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse::<f64>().unwrap())
        })
        .collect()
}

fn scrape(addr: &str) -> HashMap<String, f64> {
    samples(&scrape_raw(addr))
}

fn key(metric: &str, service: &str, kind: &str) -> String {
    format!("runit_service_{metric}{{service=\"{service}\",kind=\"{kind}\"}}")
}

fn get(m: &HashMap<String, f64>, metric: &str, service: &str, kind: &str) -> Option<f64> {
    m.get(&key(metric, service, kind)).copied()
}

fn sv(args: &[&str], svdir: &Path) -> (String, Option<i32>) {
    let mut c = ours("sv");
    c.args(args).env("SVDIR", svdir);
    let o = run_cmd(c, 30.0);
    (stdout(&o), o.status.code())
}

/// svjson's output parsed by Python's json module, re-emitted one compact object per line
/// with sorted keys, so that the test reads what a JSON parser read.
fn svjson_via_python(args: &[&str]) -> (Vec<String>, Option<i32>) {
    let mut c = ours("svjson");
    c.args(args);
    let o = run_cmd(c, 30.0);
    let mut py = Command::new("python3")
        .args([
            "-c",
            "import json,sys\n\
             d = json.loads(sys.stdin.buffer.read().decode('utf-8'))\n\
             assert isinstance(d, list)\n\
             for o in d: print(json.dumps(o, sort_keys=True, ensure_ascii=True))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin.take().unwrap().write_all(&o.stdout).unwrap();
    let p = py.wait_with_output().unwrap();
    assert!(
        p.status.success(),
        "python's json rejected svjson's output: {}\n{}",
        stderr(&p),
        String::from_utf8_lossy(&o.stdout)
    );
    (
        stdout(&p).lines().map(str::to_string).collect(),
        o.status.code(),
    )
}

/// The metrics of one service agree with its record, read directly (common::status) and
/// its `down` file: `up`, `want_up`, `paused`, `state`, `normally_up`.
fn agrees_with_record(m: &HashMap<String, f64>, root: &Path, name: &str) -> bool {
    let svc = root.join(name);
    let Some((pid, paused, want, _term, state)) = status(&svc) else {
        return false;
    };
    let up = state == 1 && pid != 0;
    get(m, "up", name, "main") == Some(up as u8 as f64)
        && get(m, "state", name, "main") == Some(f64::from(state))
        && get(m, "want_up", name, "main") == Some((want == b'u') as u8 as f64)
        && get(m, "paused", name, "main") == Some(f64::from(paused))
        && get(m, "normally_up", name, "main") == Some((!svc.join("down").exists()) as u8 as f64)
        && get(m, "supervised", name, "main") == Some(1.0)
}

/// `sv down`, `sv up`, a crash (SIGKILL of ./run: the starts counter goes up, the last
/// signal is 9) and a pause, each seen in the next scrape, and each scrape accepted by
/// promtool; the log service has its own series.
#[test]
fn metrics_follow_down_up_crash_and_pause() {
    let t = tmp();
    let root = t.path().join("service");
    let svc = service(&root, "web", "exec sleep 1000");
    script(svc.join("log/run"), "exec cat >/dev/null");
    let _r = start_runsv(&bin("runsv"), &svc);
    let pid = wait_up(&svc);
    let ex = start_exporter(&root, &[], t.path());

    let m = scrape(&ex.addr);
    assert!(agrees_with_record(&m, &root, "web"), "{m:?}");
    assert_eq!(get(&m, "starts_total", "web", "main"), Some(1.0));
    assert_eq!(get(&m, "ready", "web", "main"), Some(1.0));
    assert_eq!(get(&m, "gave_up", "web", "main"), Some(0.0));
    assert_eq!(get(&m, "last_signal", "web", "main"), None);
    assert_eq!(get(&m, "last_exit_code", "web", "main"), None);
    assert_eq!(get(&m, "up", "web", "log"), Some(1.0));
    assert_eq!(get(&m, "starts_total", "web", "log"), Some(1.0));
    assert_eq!(m.get("runit_exporter_services"), Some(&1.0));
    let age = get(&m, "state_age_seconds", "web", "main").unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
    let ts = get(&m, "state_change_timestamp_seconds", "web", "main").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - ts - age).abs() < 5.0, "now {now} ts {ts} age {age}");
    assert_promtool_ok(&scrape_raw(&ex.addr));

    // sv down: up 0, want 0, state 0; how the run ended (SIGTERM).
    assert_eq!(sv(&["-w", "5", "down", "web"], &root).1, Some(0));
    let mut m = HashMap::new();
    must(5.0, "down in the metrics", || {
        m = scrape(&ex.addr);
        get(&m, "up", "web", "main") == Some(0.0)
    });
    assert!(agrees_with_record(&m, &root, "web"), "{m:?}");
    assert_eq!(get(&m, "want_up", "web", "main"), Some(0.0));
    assert_eq!(get(&m, "ready", "web", "main"), Some(0.0));
    assert_eq!(get(&m, "last_signal", "web", "main"), Some(15.0));
    assert_eq!(get(&m, "up", "web", "log"), Some(1.0), "the log runs on");
    assert_promtool_ok(&scrape_raw(&ex.addr));

    // sv up: a second start.
    assert_eq!(sv(&["-w", "5", "up", "web"], &root).1, Some(0));
    must(5.0, "up again", || {
        m = scrape(&ex.addr);
        get(&m, "up", "web", "main") == Some(1.0)
    });
    assert!(agrees_with_record(&m, &root, "web"), "{m:?}");
    assert_eq!(get(&m, "starts_total", "web", "main"), Some(2.0));
    let pid2 = status(&svc).unwrap().0;
    assert_ne!(pid2, pid);

    // A crash: SIGKILL of ./run. runsv restarts it; the counter and the signal say so.
    assert!(unsafe_kill(pid2 as i32, libc::SIGKILL));
    must(10.0, "restarted after the crash", || {
        m = scrape(&ex.addr);
        get(&m, "starts_total", "web", "main") == Some(3.0)
            && get(&m, "up", "web", "main") == Some(1.0)
    });
    assert_eq!(get(&m, "last_signal", "web", "main"), Some(9.0));
    assert_eq!(get(&m, "last_exit_code", "web", "main"), None);
    assert!(agrees_with_record(&m, &root, "web"), "{m:?}");
    assert_promtool_ok(&scrape_raw(&ex.addr));

    // A pause, then cont.
    assert_eq!(sv(&["pause", "web"], &root).1, Some(0));
    must(5.0, "paused", || {
        m = scrape(&ex.addr);
        get(&m, "paused", "web", "main") == Some(1.0)
    });
    assert!(agrees_with_record(&m, &root, "web"), "{m:?}");
    assert_eq!(get(&m, "up", "web", "main"), Some(1.0));
    assert_eq!(sv(&["cont", "web"], &root).1, Some(0));
    must(5.0, "continued", || {
        m = scrape(&ex.addr);
        get(&m, "paused", "web", "main") == Some(0.0)
    });
    assert!(agrees_with_record(&m, &root, "web"), "{m:?}");
    drop(ex.proc);
}

/// What the facts are without a runsv, with a `down` file, with readiness, after giving up,
/// and under runit's own runsv (no `supervise/info`: the record's facts only, no counter).
#[test]
fn unsupervised_normally_down_readiness_gave_up_and_runit_runsv() {
    let t = tmp();
    let root = t.path().join("service");
    // Never supervised: no supervise/ at all.
    service(&root, "idle", "exec sleep 1000");
    // Normally down.
    let down = service(&root, "off", "exec sleep 1000");
    std::fs::write(down.join("down"), "").unwrap();
    // Readiness: one never says ready, one does.
    let waiting = service(&root, "waiting", "exec sleep 1000");
    std::fs::write(waiting.join("notification-fd"), "3\n").unwrap();
    let ready = service(&root, "ready", "echo >&3; exec sleep 1000");
    std::fs::write(ready.join("notification-fd"), "3\n").unwrap();
    // Gives up after 2 quick exits (docs/stopping.md §4), last exit code 3.
    let crashy = service(&root, "crashy", "exit 3");
    std::fs::write(crashy.join("restart-limit"), "2 60\n").unwrap();
    // Dot names are not services; a symlink to a service directory is one.
    std::fs::create_dir_all(root.join(".hidden")).unwrap();
    std::fs::write(root.join("plainfile"), "").unwrap();
    let elsewhere = service(t.path(), "linked-target", "exec sleep 1000");
    std::os::unix::fs::symlink(&elsewhere, root.join("linked")).unwrap();

    let _p1 = start_runsv(&bin("runsv"), &down);
    let _p2 = start_runsv(&bin("runsv"), &waiting);
    let _p3 = start_runsv(&bin("runsv"), &ready);
    let _p4 = start_runsv(&bin("runsv"), &crashy);
    let _p5 = start_runsv(&ref_bin("runsv"), &elsewhere);
    wait_up(&waiting);
    wait_up(&ready);
    wait_up(&elsewhere);
    must(10.0, "crashy gave up", || {
        read(crashy.join("supervise/info")).contains("gaveup=restart-limit")
    });
    let ex = start_exporter(&root, &[], t.path());
    let mut m = HashMap::new();
    // runsv writes `info` before `status`: the info seen above can be a moment ahead of
    // the record it belongs to, and the exporter takes an info's facts only with its
    // record. Wait until the exporter sees both.
    must(5.0, "ready and the give-up published", || {
        m = scrape(&ex.addr);
        get(&m, "ready", "ready", "main") == Some(1.0)
            && get(&m, "gave_up", "crashy", "main") == Some(1.0)
    });
    assert_eq!(m.get("runit_exporter_services"), Some(&6.0), "{m:?}");
    assert!(!m
        .keys()
        .any(|k| k.contains("hidden") || k.contains("plainfile")));

    // Unsupervised: supervised 0, up 0, normally up 1; nothing from a record.
    assert_eq!(get(&m, "supervised", "idle", "main"), Some(0.0));
    assert_eq!(get(&m, "up", "idle", "main"), Some(0.0));
    assert_eq!(get(&m, "normally_up", "idle", "main"), Some(1.0));
    assert_eq!(get(&m, "want_up", "idle", "main"), None);
    assert_eq!(get(&m, "starts_total", "idle", "main"), None);

    assert!(agrees_with_record(&m, &root, "off"), "{m:?}");
    assert_eq!(get(&m, "normally_up", "off", "main"), Some(0.0));
    assert_eq!(get(&m, "starts_total", "off", "main"), Some(0.0));

    assert_eq!(get(&m, "up", "waiting", "main"), Some(1.0));
    assert_eq!(get(&m, "ready", "waiting", "main"), Some(0.0));

    assert_eq!(get(&m, "gave_up", "crashy", "main"), Some(1.0));
    assert_eq!(get(&m, "last_exit_code", "crashy", "main"), Some(3.0));
    assert_eq!(get(&m, "up", "crashy", "main"), Some(0.0));
    assert_eq!(get(&m, "want_up", "crashy", "main"), Some(0.0));

    // runit's own runsv: the record's facts; no info, so no counter, no last exit.
    assert!(agrees_with_record(&m, &root, "linked"), "{m:?}");
    assert_eq!(get(&m, "ready", "linked", "main"), Some(1.0));
    assert_eq!(get(&m, "starts_total", "linked", "main"), None);
    assert_eq!(get(&m, "gave_up", "linked", "main"), None);
    assert_promtool_ok(&scrape_raw(&ex.addr));

    // The same facts from svjson, as Python's json reads them.
    let (objs, code) = svjson_via_python(&["-d", root.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert_eq!(objs.len(), 6, "{objs:?}");
    let by = |n: &str| -> String {
        objs.iter()
            .find(|o| o.contains(&format!("\"service\": \"{n}\"")))
            .unwrap_or_else(|| panic!("{n} missing: {objs:?}"))
            .clone()
    };
    let idle = by("idle");
    assert!(
        idle.contains("\"supervised\": false") && idle.contains("\"up\": false"),
        "{idle}"
    );
    assert!(
        idle.contains("\"error\": \"unable to open supervise/ok: file does not exist\""),
        "{idle}"
    );
    assert!(
        idle.contains("\"state\": null") && idle.contains("\"log\": null"),
        "{idle}"
    );
    let w = by("waiting");
    assert!(
        w.contains("\"readiness\": \"waiting\"") && w.contains("\"ready\": false"),
        "{w}"
    );
    assert!(
        w.contains("\"state\": \"run\"") && w.contains("\"up\": true"),
        "{w}"
    );
    let c = by("crashy");
    assert!(
        c.contains("\"gave_up\": \"restart-limit\"") && c.contains("\"last_exit\": 3"),
        "{c}"
    );
    let l = by("linked");
    assert!(
        l.contains("\"readiness\": null") && l.contains("\"starts\": null"),
        "{l}"
    );
    assert!(
        l.contains("\"ready\": true") && l.contains("\"error\": null"),
        "{l}"
    );
    let pid = status(&elsewhere).unwrap().0;
    assert!(l.contains(&format!("\"pid\": {pid},")), "{l}");
    drop(ex.proc);
}

/// Service names that need escaping — quote, backslash, newline, tab, non-ASCII, bytes that
/// are not UTF-8 — pass promtool, and svjson's names are what Python's json decodes.
#[test]
fn odd_names_are_escaped_for_prometheus_and_json() {
    use std::os::unix::ffi::OsStrExt;
    let t = tmp();
    let root = t.path().join("service");
    let names: [&[u8]; 6] = [
        b"q\"uote",
        b"back\\slash",
        b"new\nline",
        b"tab\there",
        "caf\u{e9}".as_bytes(),
        b"bad\xff\xfeutf8",
    ];
    for n in names {
        std::fs::create_dir_all(root.join(std::ffi::OsStr::from_bytes(n))).unwrap();
    }
    let ex = start_exporter(&root, &[], t.path());
    let body = scrape_raw(&ex.addr);
    let text = String::from_utf8(body.clone()).expect("the exposition is UTF-8");
    assert!(
        text.contains(r#"runit_service_supervised{service="q\"uote",kind="main"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"{service="back\\slash",kind="main"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"{service="new\nline",kind="main"}"#),
        "{text}"
    );
    assert!(
        text.contains("{service=\"tab\there\",kind=\"main\"}"),
        "{text}"
    );
    assert!(
        text.contains("{service=\"caf\u{e9}\",kind=\"main\"}"),
        "{text}"
    );
    assert!(
        text.contains(r#"{service="bad\\xff\\xfeutf8",kind="main"}"#),
        "{text}"
    );
    assert_promtool_ok(&body);

    let (objs, _) = svjson_via_python(&["-d", root.to_str().unwrap()]);
    let got: Vec<String> = objs
        .iter()
        .map(|o| {
            o.split("\"service\": ")
                .nth(1)
                .unwrap()
                .split(", \"")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    // ensure_ascii=True: what Python decoded, spelled in ASCII.
    for want in [
        r#""q\"uote"}"#,
        r#""back\\slash""#,
        r#""new\nline""#,
        r#""tab\there""#,
        r#""caf\u00e9""#,
        r#""bad\\xff\\xfeutf8""#,
    ] {
        let want = want.trim_end_matches('}');
        assert!(
            got.iter().any(|g| g.trim_end_matches('}') == want),
            "{want} not in {got:?}"
        );
    }
    drop(ex.proc);
}

/// A raw socket with a tiny receive buffer, so that a big answer cannot all be taken by
/// the kernel on the client's side: the exporter's sends then really wait for this client.
fn small_window_client(addr: &str) -> TcpStream {
    use std::os::fd::FromRawFd;
    let sa: std::net::SocketAddrV4 = addr.parse().unwrap();
    // SAFETY: plain system calls on a socket this function owns; sin is a valid sockaddr_in.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let v: libc::c_int = 2048;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = sa.port().to_be();
        sin.sin_addr.s_addr = u32::from_ne_bytes(sa.ip().octets());
        let r = libc::connect(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(r, 0);
        TcpStream::from_raw_fd(fd)
    }
}

/// 1000 services with long names make an answer of about 1 MB, more than the kernel
/// buffers between the exporter and a client with a tiny receive window. Clients that send
/// garbage, that connect and send nothing (more than the connection limit), that send a
/// request a byte at a time, that send too much, and that ask and never read do not stop
/// scrapes, which complete before those clients' deadline; the never-reading clients are
/// dropped at their deadline with their answer unsent.
#[test]
fn garbage_idle_and_never_reading_clients_do_not_block_scrapes() {
    let t = tmp();
    let root = t.path().join("service");
    let long = "n".repeat(200);
    for i in 0..1000 {
        std::fs::create_dir_all(root.join(format!("{long}-{i:04}"))).unwrap();
    }
    const DEADLINE: Duration = Duration::from_secs(6);
    let ex = start_exporter(&root, &["-t", "6", "-c", "8"], t.path());
    let body = scrape_raw(&ex.addr);
    assert!(body.len() > 900_000, "{}", body.len());

    // Garbage: a 400 and a close.
    let mut g = TcpStream::connect(&ex.addr).unwrap();
    g.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
        .unwrap();
    g.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    g.read_to_end(&mut answer).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // Too much: an endless header line gets a 431.
    let mut big = TcpStream::connect(&ex.addr).unwrap();
    big.write_all(b"GET /metrics HTTP/1.1\r\nX: ").unwrap();
    let _ = big.write_all(&[b'a'; 9000]);
    big.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 431 "),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // Idle: more silent connections than the limit (8) allows; the oldest silent ones
    // make room for newcomers.
    let idle: Vec<TcpStream> = (0..12)
        .map(|_| TcpStream::connect(&ex.addr).unwrap())
        .collect();
    // Slow: a request begun and never finished.
    let mut slow = TcpStream::connect(&ex.addr).unwrap();
    slow.write_all(b"GE").unwrap();
    // Never read: three clients ask for the big answer and read nothing.
    let asked = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut s = small_window_client(&ex.addr);
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        stalled.push(s);
    }

    // Scrapes complete while the bad clients are all still connected: before the
    // stalled ones' deadline, so nothing waited for them (an exporter that did would
    // answer only after dropping them). Not a bound on speed: the machine may be busy.
    for _ in 0..2 {
        let m = samples(&scrape_raw(&ex.addr));
        assert_eq!(m.get("runit_exporter_services"), Some(&1000.0));
        let at = asked.elapsed();
        assert!(
            at < DEADLINE,
            "a scrape among bad clients ended {at:?} after they asked, past their deadline"
        );
    }

    // The never-reading clients stay silent past their deadline (6 s after they asked),
    // then read: what the kernel had buffered, then the close (end of file, or a reset,
    // which may discard what was buffered), short of the whole answer: the exporter
    // dropped them mid-answer.
    std::thread::sleep(
        (asked + DEADLINE + Duration::from_millis(500)).saturating_duration_since(Instant::now()),
    );
    for mut s in stalled {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = 0usize;
        let mut buf = [0u8; 65536];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("stalled client: {e} after {got} bytes"),
            }
        }
        assert!(got < body.len(), "{got} of {}: not stalled", body.len());
    }
    drop(idle);
    drop(slow);
    // And it still serves.
    assert_eq!(
        samples(&scrape_raw(&ex.addr)).get("runit_exporter_services"),
        Some(&1000.0)
    );
    drop(ex.proc);
}

/// The HTTP edges: 404, 405 with Allow, HEAD without a body, the index page, and an
/// unreadable directory answered with a 500 (and a warning), not a crash.
#[test]
fn http_edges_and_unreadable_directory() {
    let t = tmp();
    let root = t.path().join("service");
    std::fs::create_dir_all(root.join("a")).unwrap();
    let ex = start_exporter(&root, &[], t.path());
    assert_eq!(http_get(&ex.addr, "/nope").0, "HTTP/1.1 404 Not Found");
    let (st, _, body) = http_get(&ex.addr, "/");
    assert_eq!(st, "HTTP/1.1 200 OK");
    assert!(String::from_utf8_lossy(&body).contains("/metrics"));
    let mut s = TcpStream::connect(&ex.addr).unwrap();
    s.write_all(b"DELETE /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut a = String::new();
    s.read_to_string(&mut a).unwrap();
    assert!(
        a.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")
            && a.contains("\r\nAllow: GET, HEAD\r\n"),
        "{a}"
    );
    let mut s = TcpStream::connect(&ex.addr).unwrap();
    s.write_all(b"HEAD /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut a = String::new();
    s.read_to_string(&mut a).unwrap();
    assert!(
        a.starts_with("HTTP/1.1 200 OK\r\n") && a.ends_with("\r\n\r\n"),
        "{a}"
    );
    assert!(
        !a.contains("Content-Length: 0\r"),
        "HEAD tells the GET's length: {a}"
    );

    std::fs::rename(&root, t.path().join("gone")).unwrap();
    let (st, _, body) = http_get(&ex.addr, "/metrics");
    assert_eq!(st, "HTTP/1.1 500 Internal Server Error");
    let msg = format!(
        "unable to open directory {}: file does not exist\n",
        root.display()
    );
    assert_eq!(String::from_utf8_lossy(&body), msg);
    must(5.0, "warning logged", || {
        read(t.path().join("exporter.err")).contains(&format!("runit-exporter: warning: {msg}"))
    });
    std::fs::rename(t.path().join("gone"), &root).unwrap();
    assert_eq!(http_get(&ex.addr, "/metrics").0, "HTTP/1.1 200 OK");
    drop(ex.proc);
}

/// A real Prometheus (Debian's) scrapes the exporter every second on loopback; its query
/// API reports the target healthy and the values of the service, before and after
/// `sv down`, and the odd label values decoded as we meant them.
#[test]
fn real_prometheus_scrapes_the_exporter() {
    let Some(prom) = prom_bin("prometheus") else {
        eprintln!("SKIP: prometheus missing (scripts/fetch-prometheus could not fetch Debian's prometheus)");
        return;
    };
    let t = tmp();
    let root = t.path().join("service");
    let svc = service(&root, "web", "exec sleep 1000");
    std::fs::create_dir_all(root.join("odd\"na\\me")).unwrap();
    let _r = start_runsv(&bin("runsv"), &svc);
    wait_up(&svc);
    let ex = start_exporter(&root, &[], t.path());
    let web_port = {
        // A free port for Prometheus's own web API (it cannot report one it chose).
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = t.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: runit\n    static_configs:\n      - targets: ['{}']\n",
            ex.addr
        ),
    )
    .unwrap();
    let mut c = Command::new(prom);
    c.arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            t.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
        .arg("--log.level=warn");
    let _prom = spawn_logged(c, t.path(), "prometheus");
    let api = format!("127.0.0.1:{web_port}");

    // (service, kind, value) of an instant query, as Python's json decodes the answer.
    let query = |q: &str| -> Vec<(String, String, String)> {
        let enc: String = q
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'_' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let Ok(mut s) = TcpStream::connect(&api) else {
            return Vec::new();
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        if write!(
            s,
            "GET /api/v1/query?query={enc} HTTP/1.0\r\nHost: x\r\n\r\n"
        )
        .is_err()
        {
            return Vec::new();
        }
        let mut all = Vec::new();
        if s.read_to_end(&mut all).is_err() {
            return Vec::new();
        }
        let Some(at) = all.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Vec::new();
        };
        let mut py = Command::new("python3")
            .args([
                "-c",
                "import json,sys\n\
                 d = json.load(sys.stdin)\n\
                 assert d['status'] == 'success'\n\
                 for r in d['data']['result']:\n\
                 \x20   m = r['metric']\n\
                 \x20   print(json.dumps([m.get('service', ''), m.get('kind', ''), r['value'][1]]))",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Before Prometheus is up its answers are not JSON: no result, retried.
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        py.stdin.take().unwrap().write_all(&all[at + 4..]).unwrap();
        let o = py.wait_with_output().unwrap();
        stdout(&o)
            .lines()
            .filter_map(|l| {
                let v: Vec<String> = l
                    .trim_matches(|c| c == '[' || c == ']')
                    .split("\", \"")
                    .map(|s| s.trim_matches('"').to_string())
                    .collect();
                (v.len() == 3).then(|| (v[0].clone(), v[1].clone(), v[2].clone()))
            })
            .collect()
    };
    let has = |q: &str, want: (&str, &str, &str)| {
        query(q)
            .iter()
            .any(|(s, k, v)| (s.as_str(), k.as_str(), v.as_str()) == want)
    };
    must(60.0, "Prometheus reports the target up", || {
        has("up{job=\"runit\"}", ("", "", "1"))
    });
    must(20.0, "runit_service_up of web is 1", || {
        has("runit_service_up{service=\"web\"}", ("web", "main", "1"))
    });
    // Prometheus decoded the escaped label: json.dumps shows `odd\"na\\me`.
    must(20.0, "the odd name as Prometheus decoded it", || {
        has(
            "runit_service_supervised{kind=\"main\"}",
            ("odd\\\"na\\\\me", "main", "0"),
        )
    });
    assert_eq!(sv(&["-w", "5", "down", "web"], &root).1, Some(0));
    must(20.0, "runit_service_up of web is 0 after sv down", || {
        has("runit_service_up{service=\"web\"}", ("web", "main", "0"))
    });
    must(20.0, "the last signal after sv down", || {
        has(
            "runit_service_last_signal{service=\"web\"}",
            ("web", "main", "15"),
        )
    });
    drop(ex.proc);
}

/// The textfile mode: `-f FILE` once writes the exposition (promtool accepts it) and
/// leaves no `FILE.tmp`; with `-i 1` the file follows the state, and a reader never finds
/// a partial file (it is replaced by rename).
#[test]
fn textfile_mode_writes_atomically() {
    let t = tmp();
    let root = t.path().join("service");
    let svc = service(&root, "web", "exec sleep 1000");
    let _r = start_runsv(&bin("runsv"), &svc);
    wait_up(&svc);
    let out = t.path().join("runit.prom");
    let mut c = ours("runit-exporter");
    c.arg("-d").arg(&root).arg("-f").arg(&out);
    let o = run_cmd(c, 10.0);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let body = std::fs::read(&out).unwrap();
    let m = samples(&body);
    assert!(agrees_with_record(&m, &root, "web"), "{m:?}");
    assert!(!t.path().join("runit.prom.tmp").exists());
    assert_promtool_ok(&body);

    // Repeating: sv down shows in the file; every read is a whole exposition.
    let mut c = ours("runit-exporter");
    c.arg("-d").arg(&root).arg("-f").arg(&out).args(["-i", "1"]);
    let _w = spawn_logged(c, t.path(), "textfile");
    assert_eq!(sv(&["-w", "5", "down", "web"], &root).1, Some(0));
    let mut reads = 0;
    must(10.0, "down in the file", || {
        let b = std::fs::read(&out).unwrap();
        let s = String::from_utf8(b.clone()).unwrap();
        assert!(
            s.ends_with("runit_exporter_services 1\n"),
            "partial file: {s}"
        );
        reads += 1;
        samples(&b).get(&key("up", "web", "main")) == Some(&0.0)
    });
    assert!(reads > 0);
    // A file that cannot be written: fatal once, exit 111.
    let mut c = ours("runit-exporter");
    c.arg("-d")
        .arg(&root)
        .args(["-f", "/nonexistent/dir/x.prom"]);
    let o = run_cmd(c, 10.0);
    assert_eq!(o.status.code(), Some(111));
    assert_eq!(
        stderr(&o),
        "runit-exporter: fatal: unable to create /nonexistent/dir/x.prom.tmp: file does not exist\n"
    );
}

/// svjson: one array, one object per line; `-l` is JSON Lines; names resolved as sv
/// resolves them, a missing one reported in its object and counted in the exit code; the
/// log service nested; the fields agree with `sv status`.
#[test]
fn svjson_objects_and_fields() {
    let t = tmp();
    let root = t.path().join("service");
    let svc = service(&root, "web", "exec sleep 1000");
    script(svc.join("log/run"), "exec cat >/dev/null");
    let _r = start_runsv(&bin("runsv"), &svc);
    let pid = wait_up(&svc);
    let rootarg = root.to_str().unwrap();

    let (objs, code) = svjson_via_python(&["-d", rootarg, "web", "nothere", svc.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(objs.len(), 3);
    let web = &objs[0];
    for f in [
        "\"service\": \"web\"",
        "\"supervised\": true",
        "\"state\": \"run\"",
        &format!("\"pid\": {pid}"),
        "\"up\": true",
        "\"want\": \"up\"",
        "\"normally_up\": true",
        "\"paused\": false",
        "\"got_term\": false",
        "\"ready\": true",
        "\"readiness\": \"off\"",
        "\"starts\": 1",
        "\"last_exit\": null",
        "\"gave_up\": null",
        "\"error\": null",
    ] {
        assert!(web.contains(f), "{f} not in {web}");
    }
    assert!(web.contains("\"log\": {\"age_seconds\": "), "{web}");
    assert_eq!(
        objs[1],
        "{\"error\": \"unable to open service directory: file does not exist\", \"service\": \"nothere\"}"
    );
    assert!(objs[2].contains(&format!("\"service\": \"{}\"", svc.display())));

    // -l: every line is one object on its own.
    let mut c = ours("svjson");
    c.args(["-l", "-d", rootarg]);
    let o = run_cmd(c, 10.0);
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 1);
    let py = Command::new("python3")
        .args([
            "-c",
            "import json,sys\nfor l in sys.stdin: assert isinstance(json.loads(l), dict)",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut py = py;
    py.stdin.take().unwrap().write_all(&o.stdout).unwrap();
    assert!(py.wait().unwrap().success());

    // After sv down and with a pause: the fields move with sv status.
    assert_eq!(sv(&["-w", "5", "down", "web"], &root).1, Some(0));
    let (objs, _) = svjson_via_python(&["-d", rootarg]);
    assert!(
        objs[0].contains("\"state\": \"down\"") && objs[0].contains("\"pid\": null"),
        "{}",
        objs[0]
    );
    assert!(
        objs[0].contains("\"want\": \"down\"") && objs[0].contains("\"last_signal\": 15"),
        "{}",
        objs[0]
    );

    // A directory that cannot be listed: fatal, 111.
    let mut c = ours("svjson");
    c.args(["-d", "/nonexistent"]);
    let o = run_cmd(c, 10.0);
    assert_eq!(o.status.code(), Some(111));
    assert_eq!(
        stderr(&o),
        "svjson: fatal: unable to open directory /nonexistent: file does not exist\n"
    );
}

/// Both programs run from the multicall binary, by name and by link; options are POSIX
/// getopt's with runit's error lines and exit 100.
#[test]
fn multicall_and_usage() {
    let t = tmp();
    let root = t.path().join("service");
    std::fs::create_dir_all(root.join("a")).unwrap();
    let mut c = ours("runit-rs");
    c.args(["svjson", "-l", "-d", root.to_str().unwrap()]);
    let o = run_cmd(c, 10.0);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("{\"service\":\"a\",\"supervised\":false,"),
        "{}",
        stdout(&o)
    );
    let link = t.path().join("runit-exporter");
    std::os::unix::fs::symlink(bin("runit-rs"), &link).unwrap();
    let out = t.path().join("m.prom");
    let mut c = Command::new(&link);
    c.arg("-d").arg(&root).arg("-f").arg(&out);
    let o = run_cmd(c, 10.0);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(read(&out).contains("runit_service_supervised{service=\"a\",kind=\"main\"} 0\n"));

    for (prog, args, err) in [
        (
            "runit-exporter",
            vec!["-x"],
            "runit-exporter: illegal option -- x\nusage: runit-exporter [-d dir] [-a addr] [-t sec] [-c max] [-f file [-i sec]]\n\n",
        ),
        (
            "runit-exporter",
            vec!["-i", "5"],
            "usage: runit-exporter [-d dir] [-a addr] [-t sec] [-c max] [-f file [-i sec]]\n\n",
        ),
        ("runit-exporter", vec!["-a", "nonsense"], "runit-exporter: fatal: invalid address: nonsense\n"),
        ("runit-exporter", vec!["-t", "5s"], "runit-exporter: fatal: invalid timeout: 5s\n"),
        ("svjson", vec!["-d"], "svjson: option requires an argument -- d\nusage: svjson [-l] [-d dir] [service ...]\n\n"),
    ] {
        let mut c = ours(prog);
        c.args(&args);
        let o = run_cmd(c, 10.0);
        assert_eq!(o.status.code(), Some(100), "{prog} {args:?}");
        assert_eq!(stderr(&o), err, "{prog} {args:?}");
    }
    // A port in use: fatal, 111.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    let mut c = ours("runit-exporter");
    c.args(["-d", root.to_str().unwrap(), "-a", &a]);
    let o = run_cmd(c, 10.0);
    assert_eq!(o.status.code(), Some(111));
    assert_eq!(
        stderr(&o),
        format!("runit-exporter: fatal: unable to listen on {a}: address already used\n")
    );
}

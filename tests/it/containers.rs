//! The example container (examples/container, docs/containers.md) booted the way a
//! container engine would, without one: examples/container/build-rootfs assembles the
//! root file system of the FROM scratch image (runit-rs with its links, Debian's
//! busybox-static for /bin/sh, the example /etc/runit tree and services) in a temporary
//! directory, and it is booted in a fresh PID + mount namespace (`unshare --pid --fork
//! --mount`, then /proc, a tmpfs /run, a /dev holding only /dev/null, and `chroot`) with our
//! runit as PID 1. PID 1's stdout and stderr are files here: what `docker logs` would show.
//!
//! The tree holds this test build's multicall binary (dynamic: build-rootfs copies the
//! libraries it names, so the code under test is the code booted; no release build runs
//! in the tests). The static binary of `make multicall` is booted too when it has been
//! built (skipped with a visible line otherwise). The Debian slim image comes from Docker
//! Hub, not from a package registry: its stand-in is the Debian 12 minbase root that the
//! Debian boot test caches (qemu/debian-bookworm), with the Dockerfile's steps applied in an
//! overlay (skipped until that cache exists). The Dockerfiles themselves are built and run
//! only where `docker` or `podman` has a working daemon.
use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const LEAVE_2: &str = "- runit: leave stage: /etc/runit/2";
const LEAVE_3: &str = "- runit: leave stage: /etc/runit/3";
const KILL_ALL: &str = "- runit: sending KILL signal to all processes...";
const TIMEOUT: &str =
    "- runit: warning: stop-timeout reached, sending KILL signal to all processes...";

/// build-rootfs fetches busybox-static once into ref/container: one build at a time.
static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A root file system from examples/container/build-rootfs with `runit_rs` as the
/// binary, in `t/rootfs`; `None` (after a SKIP line) when it cannot be built.
fn rootfs(test: &str, t: &Path, runit_rs: &Path) -> Option<PathBuf> {
    let root = t.join("rootfs");
    let _one = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = Command::new(repo().join("examples/container/build-rootfs"));
    c.arg(&root).arg(runit_rs);
    let o = run_cmd(c, 300.0);
    if !o.status.success() {
        skip(
            test,
            &format!(
                "examples/container/build-rootfs failed (busybox-static not downloadable?): {}",
                stderr(&o)
            ),
        );
        return None;
    }
    Some(root)
}

/// The example tree with this test build's multicall binary.
fn example(test: &str, t: &Path) -> Option<PathBuf> {
    rootfs(test, t, &bin("runit-rs"))
}

/// runit as PID 1 of a booted tree.
struct Boot {
    p: Proc,
    dir: PathBuf,
    root: PathBuf,
}

impl Boot {
    /// Boots `root` (output files in its parent): `unshare` runs a shell as the new
    /// namespace's PID 1, which mounts and then execs `chroot ROOT /sbin/runit`.
    fn start(root: &Path) -> Boot {
        Self::start_on(root, root, "")
    }

    /// Boots `root` after `prepare` (shell, run first inside the namespace); `files` is
    /// where the container's writes land as the host sees them (`root` itself, or the
    /// upper directory of an overlay mounted on it by `prepare`).
    fn start_on(root: &Path, files: &Path, prepare: &str) -> Boot {
        let dir = root.parent().unwrap().to_path_buf();
        let r = root.display().to_string();
        assert!(!r.contains(['\'', ' ']), "{r}");
        let mut c = Command::new("unshare");
        c.env_remove("RUNIT_STOP_TIMEOUT");
        c.args(["--pid", "--fork", "--mount", "sh", "-c"]);
        // /dev holds only /dev/null: no /dev/console (as in `docker run` without -t), so
        // runit's messages stay on the stderr the test reads
        c.arg(format!(
            "{prepare} mount -t proc proc '{r}/proc' && mount -t tmpfs none '{r}/run' \
             && mount -t tmpfs -o mode=755 none '{r}/dev' && touch '{r}/dev/null' \
             && mount --bind /dev/null '{r}/dev/null' && exec chroot '{r}' /sbin/runit"
        ));
        let p = spawn_logged(c, &dir, "pid1");
        Boot {
            p,
            dir,
            root: files.to_path_buf(),
        }
    }

    /// PID 1 as the host sees it (the child of unshare).
    fn init(&self) -> i32 {
        first_child(self.p.pid(), "PID 1 started")
    }

    /// PID 1's stderr: runit's messages and the log lines svlogd copies (`docker logs`).
    fn err(&self) -> String {
        read(self.dir.join("pid1.err"))
    }

    fn out_err(&self) -> String {
        format!(
            "stdout:\n{}stderr:\n{}",
            read(self.dir.join("pid1.out")),
            self.err()
        )
    }

    /// A file of the booted tree (its /tmp, /var/log: not the tmpfs /run).
    fn file(&self, path: &str) -> String {
        read(self.root.join(path.trim_start_matches('/')))
    }

    /// Both example services are up: hello's line reached PID 1's stderr, worker's its log.
    fn wait_example_up(&self) {
        must(20.0, "hello started", || {
            self.err().contains(" hello: started\n")
        });
        must(20.0, "worker started", || {
            self.file("/var/log/worker/current")
                .contains(" worker: started as uid 65534\n")
        });
    }

    fn exit(&mut self, secs: f64) -> std::process::ExitStatus {
        match self.p.wait_exit(secs) {
            Some(s) => s,
            None => panic!("PID 1 did not exit; output:\n{}", self.out_err()),
        }
    }

    /// The index of the first stderr line that is (`exact`) or ends with `text`.
    fn at(&self, text: &str) -> usize {
        let e = self.err();
        e.lines()
            .position(|l| l == text || l.ends_with(text))
            .unwrap_or_else(|| panic!("no line {text:?} in:\n{e}"))
    }
}

impl Drop for Boot {
    /// SIGKILL to the namespace's PID 1 ends every process in it.
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

/// Signal `sig` to PID 1 of the example tree: every service stops in order (stage 2
/// ends, stage 3 runs, then each runsv stops its service, whose last line goes through its
/// logger, and the loggers drain), with no deadline reached, and the container exits with
/// stage 3's code (0). TERM is Docker's and Kubernetes' stop, INT Nomad's, PWR LXD's/Incus's.
fn stops_in_order(test: &str, sig: i32) {
    let t = tmp();
    let Some(root) = example(test, t.path()) else {
        return;
    };
    let mut b = Boot::start(&root);
    let init = b.init();
    b.wait_example_up();
    let t0 = Instant::now();
    assert!(unsafe_kill(init, sig));
    let st = b.exit(15.0);
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(st.code(), Some(0), "{}", b.out_err());
    assert!(took < 5.0, "took {took:.2} s:\n{}", b.out_err());
    let e = b.err();
    assert!(!e.contains(TIMEOUT), "{e}");
    // hello's stop line reached `docker logs` through its logger, after stage 3, before
    // the final KILL
    assert!(b.at(LEAVE_2) < b.at(LEAVE_3), "{e}");
    assert!(b.at(LEAVE_3) < b.at(" hello: stopping"), "{e}");
    assert!(b.at(" hello: stopping") < b.at(KILL_ALL), "{e}");
    assert!(b.at(KILL_ALL) < b.at("- runit: power off..."), "{e}");
    assert!(
        b.file("/var/log/hello/current")
            .ends_with(" hello: stopping\n"),
        "{}",
        b.file("/var/log/hello/current")
    );
    assert!(b
        .file("/var/log/worker/current")
        .ends_with(" worker: stopping\n"));
}

#[test]
fn term_stops_every_service_in_order() {
    stops_in_order(
        "containers::term_stops_every_service_in_order",
        libc::SIGTERM,
    );
}

#[test]
fn int_stops_every_service_in_order() {
    stops_in_order("containers::int_stops_every_service_in_order", libc::SIGINT);
}

#[test]
fn pwr_stops_every_service_in_order() {
    stops_in_order("containers::pwr_stops_every_service_in_order", libc::SIGPWR);
}

/// `docker logs`: PID 1's stderr carries hello's lines, each as svlogd's `-tt` stamp and
/// the line (the `e*` of /var/log/hello/config), and nothing of worker's (no `e` line);
/// PID 1's stdout stays empty (runit and the services write nothing there).
#[test]
fn docker_logs_shows_the_log_lines_of_the_e_service_only() {
    let t = tmp();
    let Some(root) = example("containers::docker_logs", t.path()) else {
        return;
    };
    let mut b = Boot::start(&root);
    let init = b.init();
    b.wait_example_up();
    assert!(unsafe_kill(init, libc::SIGTERM));
    assert_eq!(b.exit(15.0).code(), Some(0), "{}", b.out_err());
    let e = b.err();
    let copies: Vec<&str> = e.lines().filter(|l| !l.starts_with("- runit: ")).collect();
    let texts: Vec<&str> = copies
        .iter()
        .map(|l| {
            // 2026-12-02_02:01:35.73604 hello: started
            let (stamp, rest) = l.split_once(' ').unwrap_or(("", l));
            assert_eq!(stamp.len(), 25, "{l}");
            assert_eq!(&stamp[10..11], "_", "{l}");
            rest
        })
        .collect();
    // first and last line; a slow run may have logged `hello: tick N` between them
    assert_eq!(texts.first(), Some(&"hello: started"), "{e}");
    assert_eq!(texts.last(), Some(&"hello: stopping"), "{e}");
    let middle = &texts[1..texts.len() - 1];
    assert!(middle.iter().all(|l| l.starts_with("hello: tick ")), "{e}");
    assert!(!e.contains("worker"), "{e}");
    assert_eq!(read(t.path().join("pid1.out")), "");
}

/// A service that ignores TERM (and has no `timeout-kill`) cannot hold the container: the
/// image's /etc/runit/stop-timeout (here 2 s) runs out, everything gets KILL with runit's
/// warning, and the container exits within the deadline plus the final reaping, the other
/// services having stopped in order meanwhile.
#[test]
fn term_ignoring_service_is_gone_within_the_stop_timeout() {
    let t = tmp();
    let Some(root) = example("containers::term_ignoring", t.path()) else {
        return;
    };
    std::fs::write(root.join("etc/runit/stop-timeout"), "2\n").unwrap();
    script(
        root.join("etc/service/stubborn/run"),
        "trap '' TERM\necho up > /tmp/stubborn-up\nwhile :; do sleep 0.1; done",
    );
    let mut b = Boot::start(&root);
    let init = b.init();
    b.wait_example_up();
    must(10.0, "stubborn up", || b.file("/tmp/stubborn-up") == "up\n");
    let t0 = Instant::now();
    assert!(unsafe_kill(init, libc::SIGTERM));
    let st = b.exit(15.0);
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(st.code(), Some(0), "{}", b.out_err());
    // 2 s, then the KILL and at most 2 s of reaping (docs/runit.md): inside Docker's 10 s
    assert!(
        (1.9..4.5).contains(&took),
        "took {took:.2} s:\n{}",
        b.out_err()
    );
    let e = b.err();
    assert!(b.at(LEAVE_3) < b.at(" hello: stopping"), "{e}");
    assert!(b.at(" hello: stopping") < b.at(TIMEOUT), "{e}");
    assert!(b.at(TIMEOUT) < b.at(KILL_ALL), "{e}");
    assert!(b
        .file("/var/log/worker/current")
        .ends_with(" worker: stopping\n"));
}

/// The `essential` marker: a service whose ./run exits 3 and whose ./finish then exits
/// 125 is given up on, and the container stops by itself (no signal from outside), every
/// other service in order, and exits 3.
#[test]
fn failing_essential_service_ends_the_container_with_its_code() {
    let t = tmp();
    let Some(root) = example("containers::failing_essential", t.path()) else {
        return;
    };
    let svc = root.join("etc/service/critical");
    script(
        svc.join("run"),
        "echo up > /tmp/critical-up\nuntil [ -e /tmp/fail ]; do sleep 0.05; done\nexit 3",
    );
    script(svc.join("finish"), "exit 125");
    std::fs::write(svc.join("essential"), "").unwrap();
    let mut b = Boot::start(&root);
    b.init();
    b.wait_example_up();
    must(10.0, "critical up", || b.file("/tmp/critical-up") == "up\n");
    std::fs::write(root.join("tmp/fail"), "").unwrap();
    let st = b.exit(15.0);
    assert_eq!(st.code(), Some(3), "{}", b.out_err());
    let e = b.err();
    assert!(
        b.at("warning: essential service down for good: stopping the container") < b.at(LEAVE_2),
        "{e}"
    );
    assert!(b.at(LEAVE_3) < b.at(" hello: stopping"), "{e}");
    assert!(!e.contains(TIMEOUT), "{e}");
    assert!(b
        .file("/var/log/worker/current")
        .ends_with(" worker: stopping\n"));
}

/// examples/container/extra/exporter as a runit service of the example tree: runit-exporter
/// serves /metrics on loopback (the namespace shares the host's network, so the test can
/// scrape it), with the example services up, and stops with the container. The port is
/// one the kernel just handed out, written into the copy of the run script.
#[test]
fn exporter_as_a_runit_service_serves_metrics_on_loopback() {
    use std::io::{Read, Write};
    let t = tmp();
    let Some(root) = example("containers::exporter", t.path()) else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ex = repo().join("examples/container/extra/exporter");
    let dest = root.join("etc/service/exporter");
    let run = read(ex.join("run")).replace("127.0.0.1:9822", &format!("127.0.0.1:{port}"));
    assert!(run.contains(&format!("127.0.0.1:{port}")));
    script(dest.join("run"), run.trim_start_matches("#!/bin/sh\n"));
    script(
        dest.join("log/run"),
        read(ex.join("log/run")).trim_start_matches("#!/bin/sh\n"),
    );
    let mut b = Boot::start(&root);
    let init = b.init();
    b.wait_example_up();
    let scrape = || -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        Some(body)
    };
    let mut body = String::new();
    must(20.0, "metrics of the example services", || {
        body = scrape().unwrap_or_default();
        ["hello", "worker", "exporter"].iter().all(|n| {
            body.contains(&format!(
                "runit_service_up{{service=\"{n}\",kind=\"main\"}} 1\n"
            )) && body.contains(&format!(
                "runit_service_up{{service=\"{n}\",kind=\"log\"}} 1\n"
            ))
        })
    });
    assert!(
        body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"),
        "{body}"
    );
    assert!(body.contains("\nrunit_exporter_services 3\n"), "{body}");
    assert!(unsafe_kill(init, libc::SIGTERM));
    assert_eq!(b.exit(15.0).code(), Some(0), "{}", b.out_err());
    assert!(scrape().is_none(), "the exporter outlived the container");
}

/// Every script of the example tree starts with `#!/bin/sh` on its first line and is
/// executable (a comment above it makes the kernel refuse it: `exec format error`), and
/// every COPY source of both Dockerfiles is in the repository or is the named build output.
#[test]
fn example_scripts_and_dockerfiles_are_well_formed() {
    use std::os::unix::fs::PermissionsExt;
    let ex = repo().join("examples/container");
    let scripts = [
        "rootfs/etc/runit/1",
        "rootfs/etc/runit/2",
        "rootfs/etc/runit/3",
        "rootfs/etc/service/hello/run",
        "rootfs/etc/service/hello/log/run",
        "rootfs/etc/service/worker/run",
        "rootfs/etc/service/worker/log/run",
        "extra/exporter/run",
        "extra/exporter/log/run",
        "links",
        "build-rootfs",
    ];
    for s in scripts {
        let p = ex.join(s);
        assert!(read(&p).starts_with("#!/bin/sh\n"), "{s}");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{s} not executable");
    }
    let outputs = ["target/dist/bin/runit-rs", "target/container/rootfs/"];
    for f in ["Dockerfile", "Dockerfile.scratch"] {
        let text = read(ex.join(f));
        let mut copies = 0;
        for l in text.lines().filter(|l| l.starts_with("COPY ")) {
            let src = l.split_whitespace().nth(1).unwrap();
            copies += 1;
            assert!(
                outputs.contains(&src) || repo().join(src).exists(),
                "{f}: COPY {src} names nothing"
            );
            // the build context is cut down to what is copied
            let ignore = read(ex.join(format!("{f}.dockerignore")));
            assert!(ignore.lines().any(|i| i == format!("!{src}")), "{f}: {src}");
        }
        assert!(copies >= 1, "{f}");
        assert!(text.contains("ENTRYPOINT [\"/sbin/runit\"]"), "{f}");
    }
}

/// The static multicall binary (scripts/test's, or `make`'s) in the FROM scratch tree (no
/// libraries at all): it boots the example and stops on TERM like the test build.
#[test]
fn static_multicall_scratch_tree_boots_and_stops() {
    let test = "containers::static_multicall_scratch_tree_boots_and_stops";
    // scripts/test's static debug build (RUNIT_RS_STATIC), else the one of `make`
    let mc = static_multicall().unwrap_or_else(|| repo().join("target/dist/bin/runit-rs"));
    if !mc.exists() {
        skip(
            test,
            &format!(
                "{} not built (make; scripts/test sets RUNIT_RS_STATIC)",
                mc.display()
            ),
        );
        return;
    }
    let o = run_cmd(
        {
            let mut c = Command::new("ldd");
            c.arg(&mc);
            c
        },
        10.0,
    );
    // static and static-pie binaries name no library (ldd: "statically linked")
    assert!(!stdout(&o).contains("=>"), "{} is not static", mc.display());
    let t = tmp();
    let Some(root) = rootfs(test, t.path(), &mc) else {
        return;
    };
    assert!(!root.join("lib64").exists(), "a static tree got libraries");
    let mut b = Boot::start(&root);
    let init = b.init();
    b.wait_example_up();
    assert!(unsafe_kill(init, libc::SIGTERM));
    assert_eq!(b.exit(15.0).code(), Some(0), "{}", b.out_err());
    assert!(b.at(LEAVE_3) < b.at(" hello: stopping"));
}

/// The Debian variant without an engine: examples/container/Dockerfile's steps (the
/// multicall binary in /usr/local/bin, `links`, the rootfs/ tree over /etc) applied in an
/// overlay on the Debian 12 minbase root the Debian boot test caches
/// (tests/qemu/debian/root: debootstrap, minutes, so made only there; this test skips
/// until it exists). Debian's own runit in that root is shadowed as the Dockerfile's
/// `/sbin/runit` link shadows nothing in debian:bookworm-slim; its /etc/service is
/// replaced by the example's. Booted and stopped with TERM like the static tree.
#[test]
fn debian_root_with_the_dockerfile_steps_stops_in_order() {
    let test = "containers::debian_root_with_the_dockerfile_steps_stops_in_order";
    let deb = repo().join("qemu/debian-bookworm");
    if !deb.join(".runit-rs-complete").exists() {
        skip(
            test,
            &format!(
                "{} not made yet (tests/qemu/debian/root, made by the debian:: test)",
                deb.display()
            ),
        );
        return;
    }
    let t = tmp();
    let (m, u, w) = (
        t.path().join("merged"),
        t.path().join("upper"),
        t.path().join("work"),
    );
    for d in [&m, &u, &w] {
        std::fs::create_dir_all(d).unwrap();
    }
    let ex = repo().join("examples/container");
    let prepare = format!(
        "mount -t overlay overlay -o 'lowerdir={lower},upperdir={u},workdir={w}' '{m}' \
         && cp '{bin}' '{m}/usr/local/bin/runit-rs' && sh '{ex}/links' '{m}' \
         && rm -rf '{m}/etc/service' && cp -R '{ex}/rootfs/.' '{m}/' &&",
        lower = deb.display(),
        u = u.display(),
        w = w.display(),
        m = m.display(),
        bin = bin("runit-rs").display(),
        ex = ex.display(),
    );
    let mut b = Boot::start_on(&m, &u, &prepare);
    let init = b.init();
    b.wait_example_up();
    assert!(unsafe_kill(init, libc::SIGTERM));
    assert_eq!(b.exit(15.0).code(), Some(0), "{}", b.out_err());
    let e = b.err();
    assert!(b.at(LEAVE_3) < b.at(" hello: stopping"), "{e}");
    assert!(!e.contains(TIMEOUT), "{e}");
    assert!(b
        .file("/var/log/worker/current")
        .ends_with(" worker: stopping\n"));
}

/// The container engine, if one answers: `docker` or `podman` with a working daemon.
fn engine() -> Option<&'static str> {
    ["docker", "podman"].into_iter().find(|e| {
        let mut c = Command::new("sh");
        c.arg("-c").arg(format!(
            "command -v {e} >/dev/null && {e} info >/dev/null 2>&1"
        ));
        let o = run_cmd(c, 30.0);
        o.status.success()
    })
}

/// Where a container engine works: both images built as docs/containers.md says, run,
/// stopped with `docker stop` (TERM, KILL after 10 s): the container exits 0 well before
/// the KILL, and `docker logs` shows hello's lines.
#[test]
fn docker_build_run_stop() {
    let test = "containers::docker_build_run_stop";
    let Some(eng) = engine() else {
        skip(test, "no docker or podman with a working daemon");
        return;
    };
    let mc = repo().join("target/dist/bin/runit-rs");
    if !mc.exists() {
        skip(test, &format!("{} not built (make)", mc.display()));
        return;
    }
    let sh = |cmd: String, secs: f64| {
        let mut c = Command::new("sh");
        c.arg("-c").arg(&cmd).current_dir(repo());
        let o = run_cmd(c, secs);
        assert!(o.status.success(), "{cmd}: {}{}", stdout(&o), stderr(&o));
        stdout(&o)
    };
    let _one = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    sh(
        "examples/container/build-rootfs target/container/rootfs".into(),
        300.0,
    );
    for (file, tag) in [
        ("Dockerfile", "runit-rs-test-slim"),
        ("Dockerfile.scratch", "runit-rs-test-scratch"),
    ] {
        sh(
            format!("{eng} build -q -f examples/container/{file} -t {tag} ."),
            600.0,
        );
        let id = sh(format!("{eng} run -d {tag}"), 60.0).trim().to_string();
        let logs = || sh(format!("{eng} logs {id} 2>&1"), 30.0);
        let up = wait_for(20.0, || logs().contains(" hello: started"));
        let t0 = Instant::now();
        sh(format!("{eng} stop {id}"), 30.0);
        let took = t0.elapsed().as_secs_f64();
        let code = sh(
            format!("{eng} inspect -f '{{{{.State.ExitCode}}}}' {id}"),
            30.0,
        );
        let all = logs();
        sh(format!("{eng} rm {id}"), 30.0);
        assert!(up, "{file}: {all}");
        assert_eq!(code.trim(), "0", "{file}: {all}");
        assert!(took < 8.0, "{file}: docker stop took {took:.2} s");
        assert!(all.contains(" hello: stopping"), "{file}: {all}");
    }
}

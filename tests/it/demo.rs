//! The README's main job: the demo tree (demo/service) under our runsvdir, runsv and svlogd.
use crate::common::*;
use std::process::Command;

#[test]
fn demo_tree_runs_under_our_supervisor() {
    let t = tmp();
    let tree = t.path().join("service");
    let o = Command::new("cp")
        .arg("-R")
        .arg(repo().join("demo/service"))
        .arg(&tree)
        .status()
        .unwrap();
    assert!(o.success());
    let bindir = bin("runsvdir").parent().unwrap().to_path_buf();
    // svlogd is found through PATH by the log/run scripts, as on a real system.
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(bin("runsvdir"));
    c.arg("-P").arg(&tree).env("PATH", &path);
    let mut p = spawn(c);
    let ticker = tree.join("ticker");
    let worker = tree.join("echo-server");
    must(10.0, "ticker logged", || {
        read(ticker.join("log/main/current")).contains(" tick 2\n")
    });
    // The worker exits 7 every 3 s; ./finish reports it and runsv restarts it.
    must(15.0, "worker restarted", || {
        read(worker.join("log/main/current"))
            .contains(" finish: ./run exited with 7 (status byte 0)\n")
    });
    let mut sv = Command::new(bin("sv"));
    sv.arg("status").arg(&ticker);
    let out = stdout(&run_cmd(sv, 10.0));
    assert!(out.starts_with("run: "), "{out}");
    assert!(out.contains("; run: log: (pid "), "{out}");
    // runsvdir outside PID 1 exits on TERM leaving the runsv processes: tell them to exit.
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(5.0).and_then(|s| s.code()), Some(0));
    for s in [&ticker, &worker] {
        let mut c = Command::new(bin("sv"));
        c.args(["-w", "5", "x"]).arg(s);
        run_cmd(c, 10.0);
        must(5.0, "runsv gone", || !runsv_alive(s));
    }
}

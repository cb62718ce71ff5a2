//! The Debian packages (scripts/build-deb) on a real Debian 12: they install with dpkg into
//! a `debootstrap --variant=minbase` root file system that has Debian's runit and
//! runit-init, replacing both and keeping an administrator's change to a conffile; then that
//! system boots in QEMU with our runit-init and runit as PID 1, Debian's stage scripts and
//! Debian's services (default-syslog from runit's own package, getty-tty1 from getty-run,
//! both enabled by runit-helper), one more enabled at run time with update-service, and
//! `init 6` then `init 0` end in a reboot and a power-off, every stage seen on the console.
//!
//! The root file system is made once and cached in ./qemu (tests/qemu/debian/root); with
//! the package registry unreachable the test says SKIP. The packages hold this test build's
//! multicall binary (stripped by build-deb), every program a link to it.
use crate::common::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Builds both packages in the default layout (one multicall binary, every program a link
/// to it) from this test build's multicall binary, the static one when scripts/test made it
/// ([`boot_multicall`]); returns their paths.
fn build_debs(t: &Path) -> (PathBuf, PathBuf) {
    let dist = t.join("dist");
    std::fs::create_dir_all(dist.join("bin")).unwrap();
    std::fs::copy(boot_multicall(), dist.join("bin/runit-rs")).unwrap();
    let out = t.join("debs");
    let mut c = Command::new(repo().join("scripts/build-deb"));
    c.arg(&out).env("DIST", &dist);
    let o = run_cmd(c, 300.0);
    assert!(
        o.status.success(),
        "build-deb: {}{}",
        stdout(&o),
        stderr(&o)
    );
    let v = env!("CARGO_PKG_VERSION");
    let deb = out.join(format!("runit-rs_{v}-1_amd64.deb"));
    let init = out.join(format!("runit-rs-init_{v}-1_amd64.deb"));
    assert!(deb.exists() && init.exists(), "{}", stdout(&o));
    (deb, init)
}

/// Boots the image; returns the console lines (both boots) and the wall time.
fn boot(img: &Path, initrd: &Path, secs: u64) -> (Vec<String>, Duration) {
    let mut q = Command::new("qemu-system-x86_64");
    q.args([
        "-accel", "tcg", "-m", "512", "-display", "none", "-serial", "stdio", "-monitor", "none",
    ]);
    // no -no-reboot: `init 6` must come back as a second boot
    q.arg("-kernel")
        .arg(qemu_kernel())
        .arg("-initrd")
        .arg(initrd);
    q.arg("-drive")
        .arg(format!("file={},format=raw,if=virtio", img.display()));
    q.args(["-append", "console=ttyS0 panic=-1 quiet"]);
    q.stdout(Stdio::piped());
    let start = Instant::now();
    let mut p = spawn(q);
    let out = p.child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = std::io::BufReader::new(out);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let l = String::from_utf8_lossy(&buf);
            if tx
                .send(l.trim_end_matches(['\n', '\r']).to_string())
                .is_err()
            {
                break;
            }
        }
    });
    let deadline = start + Duration::from_secs(secs);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => lines.push(l),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("boot overran {secs} s:\n{}", lines.join("\n"))
            }
        }
    }
    let st = p.wait_exit(30.0).expect("qemu exits after its output ends");
    assert!(st.success(), "qemu failed: {st:?}\n{}", lines.join("\n"));
    (lines, start.elapsed())
}

/// Asserts that lines containing each of `want` appear in this order; returns the index
/// after the last one.
fn in_order(lines: &[String], from: usize, want: &[&str]) -> usize {
    let mut i = from;
    for w in want {
        match lines[i..].iter().position(|l| l.contains(w)) {
            Some(k) => i += k + 1,
            None => panic!(
                "missing {w:?} (in order, from line {from}) in console output:\n{}",
                lines.join("\n")
            ),
        }
    }
    i
}

#[test]
fn deb_replaces_debian_runit_and_boots_debian_with_our_pid1_then_reboots_and_powers_off() {
    let t0 = Instant::now();
    let t = tmp();
    let (deb, initdeb) = build_debs(t.path());
    let built = t0.elapsed();
    let out = t.path().join("image");
    let mut c = Command::new(repo().join("tests/qemu/debian/image"));
    c.arg(&out).arg(&deb).arg(&initdeb);
    // the first run makes the root file system with debootstrap (minutes)
    let o = run_cmd(c, 900.0);
    if o.status.code() == Some(77) {
        eprintln!(
            "SKIP: Debian boot test: the package registry is unreachable: {}",
            stderr(&o).trim()
        );
        return;
    }
    assert!(o.status.success(), "image: {}{}", stdout(&o), stderr(&o));
    let imaged = t0.elapsed();

    // dpkg replaced Debian's packages by ours, without a conffile prompt
    let log = read(out.join("dpkg.log"));
    for w in [
        "dpkg: yes, will remove runit in favour of runit-rs",
        "dpkg: yes, will remove runit-init in favour of runit-rs-init",
        "Setting up runit-rs (",
        "Setting up runit-rs-init (",
        "Service rs-probe added.",
    ] {
        assert!(log.contains(w), "{w:?} not in dpkg.log:\n{log}");
    }
    assert!(
        !log.contains("Configuration file"),
        "conffile prompt:\n{log}"
    );
    let status: Vec<(String, String)> = read(out.join("dpkg-l.txt"))
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect();
    let state = |p: &str| {
        status
            .iter()
            .find(|(_, n)| n == p)
            .map(|(s, _)| s.as_str())
            .unwrap_or("none")
    };
    assert_eq!(state("runit-rs"), "ii");
    assert_eq!(state("runit-rs-init"), "ii");
    // Debian's: removed (runit keeps its conffiles' record, now owned by runit-rs)
    assert_ne!(state("runit"), "ii");
    assert_eq!(state("runit-init"), "none");
    assert_eq!(state("runit-helper"), "ii");
    let r = out.join("rootfs");
    assert!(
        read(r.join("etc/default/runit")).ends_with("# changed by the runit-rs boot test\n"),
        "the administrator's change to a conffile was lost"
    );
    let link = |p: &str| std::fs::read_link(r.join(p)).unwrap();
    assert_eq!(link("sbin/init"), Path::new("/lib/runit/runit-init"));
    assert_eq!(link("lib/runit/runit-init"), Path::new("/sbin/runit-init"));
    // one binary: PID 1 is /usr/bin/runit-rs through these links
    for p in ["sbin/runit", "sbin/runit-init"] {
        assert_eq!(link(p), Path::new("/usr/bin/runit-rs"), "{p}");
    }
    for p in ["usr/bin/runsv", "usr/bin/sv", "usr/bin/envdir"] {
        assert_eq!(link(p), Path::new("runit-rs"), "{p}");
    }
    assert!(r.join("usr/bin/runit-rs").is_file());
    // Debian's preinst turns it into an absolute link on its first install
    assert_eq!(
        link("etc/service"),
        Path::new("/etc/runit/runsvdir/current")
    );
    assert_eq!(
        link("etc/runit/runsvdir/current"),
        Path::new("/etc/runit/runsvdir/default")
    );
    assert_eq!(
        link("etc/runit/runsvdir/default/default-syslog"),
        Path::new("/etc/sv/default-syslog")
    );

    let (l, took) = boot(&out.join("root.img"), &out.join("initrd.cpio.gz"), 900);
    eprintln!(
        "debian boot test: packages {:.1} s, image {:.1} s, two boots {:.1} s",
        built.as_secs_f64(),
        (imaged - built).as_secs_f64(),
        took.as_secs_f64()
    );
    let stage3 = [
        "- runit: leave stage: /etc/runit/2",
        "- runit: enter stage: /etc/runit/3",
        "Waiting for services to stop...",
        "ok: down: /etc/service/",
        "Running shutdown tasks...",
        "- runit: leave stage: /etc/runit/3",
        "- runit: sending KILL signal to all processes...",
    ];
    let mut i = in_order(
        &l,
        0,
        &[
            "initramfs: switching to /sbin/init on /dev/vda",
            "- runit: $Id: runit-rs ",
            "- runit: enter stage: /etc/runit/1",
            "Mounting local filesystems...",
            "- runit: leave stage: /etc/runit/1",
            "- runit: enter stage: /etc/runit/2",
            "RS-PROBE first boot, runlevel N 2",
            "RS-PROBE run: /etc/service/default-syslog: (pid ",
            "RS-PROBE run: /etc/service/getty-tty1: (pid ",
            "Service rs-late added.",
            "RS-PROBE run: /etc/service/rs-late: (pid ",
            "RS-PROBE init 6",
        ],
    );
    i = in_order(&l, i, &stage3);
    i = in_order(
        &l,
        i,
        &[
            "- runit: system reboot.",
            "reboot: Restarting system",
            "initramfs: switching to /sbin/init on /dev/vda",
            "- runit: $Id: runit-rs ",
            "- runit: enter stage: /etc/runit/1",
            "- runit: leave stage: /etc/runit/1",
            "- runit: enter stage: /etc/runit/2",
            "RS-PROBE second boot",
            "RS-PROBE run: /etc/service/default-syslog: (pid ",
            "RS-PROBE run: /etc/service/rs-late: (pid ",
            "RS-PROBE init 0",
        ],
    );
    i = in_order(&l, i, &stage3);
    in_order(&l, i, &["- runit: power off...", "reboot: Power down"]);
    // every service went down in stage 3 of each boot, none failed to
    let downs = |name: &str| {
        l.iter()
            .filter(|x| x.starts_with(&format!("ok: down: /etc/service/{name}:")))
            .count()
    };
    assert_eq!(downs("default-syslog"), 2, "{}", l.join("\n"));
    assert_eq!(downs("rs-probe"), 2, "{}", l.join("\n"));
    assert_eq!(downs("rs-late"), 2, "{}", l.join("\n"));
    for bad in [
        "RS-PROBE TIMEOUT",
        "timeout: ",
        "fail: ",
        "runsv: fatal",
        "runsvdir: fatal",
        "- runit: fatal",
        "Kernel panic",
        "initramfs: cannot mount",
    ] {
        assert!(
            !l.iter().any(|x| x.contains(bad)),
            "{bad}:\n{}",
            l.join("\n")
        );
    }
}

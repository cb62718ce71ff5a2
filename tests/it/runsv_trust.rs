//! runsv and a `supervise/` that someone else could write (src/prog/runsv/secure.rs):
//! a root runsv never obeys a FIFO another user planted, never writes through a planted
//! symlink or hard link, and keeps runit's FAQ delegation (an admin chowning `control`,
//! `ok` and `status` to a user so they can run `sv`) working.
use crate::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

const NOBODY: u32 = 65534;

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
}

fn mkfifo(p: &Path, mode: u32) {
    assert!(Command::new("mkfifo")
        .arg("-m")
        .arg(format!("{mode:o}"))
        .arg(p)
        .status()
        .unwrap()
        .success());
}

/// The attack of issue 9: `supervise/` owned by nobody with mode 0777, a 0666 `control`
/// FIFO of theirs, `status` and `pid.new` symlinks and a `stat.new` hard link pointing at
/// files of root's. runsv takes the directory over, removes what was planted (one warning
/// each), leaves the victims untouched and supervises normally.
#[test]
fn planted_control_fifo_and_links_are_removed_not_used() {
    if !nix_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let t = tmp();
    let svc = service(t.path(), "s", "exec sleep 1000");
    let sup = svc.join("supervise");
    std::fs::create_dir(&sup).unwrap();
    std::fs::set_permissions(&sup, std::fs::Permissions::from_mode(0o777)).unwrap();
    chown(&sup, NOBODY);
    mkfifo(&sup.join("control"), 0o666);
    chown(&sup.join("control"), NOBODY);
    let victim = t.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, sup.join("status")).unwrap();
    std::os::unix::fs::symlink(&victim, sup.join("pid.new")).unwrap();
    std::fs::hard_link(&victim, sup.join("stat.new")).unwrap();

    let _p = start_runsv(&bin("runsv"), &svc);
    let pid = wait_up(&svc);
    assert!(pid > 0);
    assert_eq!(
        read(&victim),
        "precious\n",
        "nothing written through a planted link"
    );
    let m = std::fs::metadata(&sup).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o755));
    let c = std::fs::symlink_metadata(sup.join("control")).unwrap();
    assert_eq!((c.uid(), c.mode() & 0o777), (0, 0o600), "control recreated");
    for f in ["status", "stat", "pid"] {
        let m = std::fs::symlink_metadata(sup.join(f)).unwrap();
        assert!(
            m.file_type().is_file() && m.nlink() == 1,
            "{f} is a file of its own"
        );
    }
    let err = runsv_stderr(&svc);
    let d = svc.display();
    for line in [
        format!("runsv {d}: warning: supervise: not ours or writable by others, made private"),
        format!("runsv {d}: warning: supervise/control: not ours, removed"),
        format!("runsv {d}: warning: supervise/status: not ours, removed"),
        format!("runsv {d}: warning: supervise/pid.new: not ours, removed"),
        format!("runsv {d}: warning: supervise/stat.new: not ours, removed"),
    ] {
        assert!(
            err.lines().any(|l| l == line),
            "missing {line:?} in {err:?}"
        );
    }
    // And it obeys the new FIFO.
    control(&svc, "d");
    wait_down(&svc);
}

/// runit's FAQ: `chmod 755 supervise; chown burdon supervise/ok supervise/control
/// supervise/status` lets burdon run `sv`. runsv restarted on such a directory keeps the
/// delegation (no warning, owners unchanged) and burdon's `sv down` works.
#[test]
fn faq_delegation_to_a_user_keeps_working() {
    if !nix_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let t = tmp();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let svc = service(t.path(), "s", "exec sleep 1000");
    let p = start_runsv(&bin("runsv"), &svc);
    wait_up(&svc);
    drop(p);
    let sup = svc.join("supervise");
    std::fs::set_permissions(&sup, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in ["ok", "control", "status"] {
        chown(&sup.join(f), NOBODY);
    }
    let _p = start_runsv(&bin("runsv"), &svc);
    wait_up(&svc);
    assert_eq!(
        runsv_stderr(&svc),
        "",
        "a trusted supervise/ gets no warning"
    );
    for f in ["ok", "control"] {
        assert_eq!(std::fs::metadata(sup.join(f)).unwrap().uid(), NOBODY, "{f}");
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("sv"))
        .args(["-w", "5", "down"])
        .arg(&svc);
    let o = run_cmd(c, 10.0);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).starts_with("ok: down: "), "{}", stdout(&o));
}

/// Void's layout: `supervise` is a symlink into a root-owned directory elsewhere. It is
/// followed, found trusted, and nothing is warned about.
#[test]
fn supervise_symlink_into_a_private_directory_is_trusted() {
    let t = tmp();
    let run = t.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let svc = service(t.path(), "s", "exec sleep 1000");
    std::os::unix::fs::symlink(run.join("supervise.s"), svc.join("supervise")).unwrap();
    let _p = start_runsv(&bin("runsv"), &svc);
    wait_up(&svc);
    assert!(run.join("supervise.s/status").exists());
    assert_eq!(runsv_stderr(&svc), "");
}

fn nix_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

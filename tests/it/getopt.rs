//! Option parsing shared by sv, svlogd, chpst (and its setlock and softlimit personalities)
//! and utmpset (spec README "Option parsing", issue 9): each program gets the same odd
//! option arguments as Debian's binary, with argv[0] set to the program's name so usage
//! lines compare, and stdout, stderr and the exit code must be identical.
//!
//! What is pinned (all observed with the reference binaries): an argument starting with
//! `--` (`--`, `--x`, `---`, `--help`) ends the options and is consumed; inside a bundle `-`
//! is an illegal option (`-v--`); an option's argument may be `--` (`-w--`, `-w --x`); `-:`
//! is illegal; a lone `-` is an operand.
use crate::common::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECS: f64 = 10.0;

/// The option prefixes every program is tried with (the operands follow).
const COMMON: &[&[&str]] = &[&["--"], &["--x"], &["---"], &["--help"], &["-"], &["-:"]];

/// What a run left: stdout, stderr, exit code.
type Seen = (String, String, Option<i32>);

fn seen(o: &Output) -> Seen {
    (stdout(o), stderr(o), o.status.code())
}

/// Runs every `prefix + operands` case on ours and on the reference via `run`, and asserts
/// that both sides saw the same; `norm` removes known differences of Debian's 2.1.2.
fn compare(
    what: &str,
    prefixes: &[&[&str]],
    operands: &[&str],
    norm: impl Fn(Seen) -> Seen,
    run: impl Fn(bool, &[&str]) -> Output,
) {
    for p in prefixes {
        let args: Vec<&str> = p.iter().chain(operands).copied().collect();
        let ours = norm(seen(&run(true, &args)));
        let reference = seen(&run(false, &args));
        assert_eq!(ours, reference, "{what} {args:?}: ours vs Debian's");
    }
}

fn same(s: Seen) -> Seen {
    s
}

fn with_arg0(path: PathBuf, arg0: &str, args: &[&str], cwd: &Path) -> Command {
    let mut c = Command::new(path);
    c.arg0(arg0).args(args).current_dir(cwd);
    c
}

#[test]
fn sv_double_dash_matches_reference() {
    let t = tmp();
    let extra: &[&[&str]] = &[
        &["-v--"],
        &["-v-"],
        &["-w--"],
        &["-w", "--x"],
        &["-w5--x"],
        &["-v", "--x", "-v"],
        &["-v", "--", "-v"],
    ];
    let run = |ours: bool, args: &[&str]| {
        let exe = if ours { bin("sv") } else { ref_bin("sv") };
        let mut c = with_arg0(exe, "sv", args, t.path());
        c.env("SVDIR", t.path());
        run_cmd(c, SECS)
    };
    compare("sv", COMMON, &["status", "foo"], same, run);
    compare("sv", extra, &["status", "foo"], same, run);
    // The case of the issue: `--x` must not be an illegal option.
    let o = run(true, &["--x", "status", "foo"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn svlogd_double_dash_matches_reference() {
    let extra: &[&[&str]] = &[
        &["-v--"],
        &["-t--"],
        &["-tt-x"],
        &["-l--"],
        &["-l", "--x"],
        &["-v", "--x", "-v"],
    ];
    for prefixes in [COMMON, extra] {
        for p in prefixes {
            let mut got = Vec::new();
            for ours in [true, false] {
                let t = tmp();
                std::fs::create_dir(t.path().join("ld")).unwrap();
                let exe = if ours {
                    bin("svlogd")
                } else {
                    ref_bin("svlogd")
                };
                let args: Vec<&str> = p.iter().copied().chain(["ld"]).collect();
                let mut c = with_arg0(exe, "svlogd", &args, t.path());
                // svlogd reads to EOF: give it one line from a file.
                std::fs::write(t.path().join("in"), "line\n").unwrap();
                c.stdin(std::fs::File::open(t.path().join("in")).unwrap());
                let o = spawn_output(c);
                let current = read(t.path().join("ld/current"));
                got.push((seen(&o), current));
            }
            assert_eq!(got[0], got[1], "svlogd {p:?}: ours vs Debian's");
        }
    }
}

/// Like `run_cmd`, but keeping the stdin the command was given.
fn spawn_output(mut c: Command) -> Output {
    use std::process::Stdio;
    c.process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("spawn");
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs_f64(SECS)) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            unsafe_kill(-pid, libc::SIGKILL);
            panic!("overran {SECS}s: {c:?}");
        }
    }
}

/// Debian's 2.1.2 chpst has no `-C`: its usage line lacks `[-C pwd] ` (docs/chpst.md).
/// Debian's 2.1.2 usage line: no `[-C pwd] `, no `-F -I -N` (added after 2.3.0).
fn no_c_pwd(s: Seen) -> Seen {
    (
        s.0,
        s.1.replace("[-C pwd] ", "")
            .replace("[-vVPFIN012]", "[-vVP012]"),
        s.2,
    )
}

/// Runs chpst (ours or Debian's) as personality `name` in `cwd`.
fn chpst_as(ours: bool, name: &str, args: &[&str], cwd: &Path) -> Output {
    let exe = if ours { bin("chpst") } else { ref_bin("chpst") };
    run_cmd(with_arg0(exe, name, args, cwd), SECS)
}

#[test]
fn chpst_double_dash_matches_reference() {
    let t = tmp();
    let extra: &[&[&str]] = &[
        &["-v--"],
        &["-v-"],
        &["-P--"],
        &["-v-x"],
        &["-e--"],
        &["-b", "--x"],
        &["-v", "--x", "-v"],
        &["-v", "--", "-P"],
    ];
    let run = |ours: bool, args: &[&str]| chpst_as(ours, "chpst", args, t.path());
    compare("chpst", COMMON, &["echo", "hi"], no_c_pwd, run);
    compare("chpst", extra, &["echo", "hi"], no_c_pwd, run);
    let o = run(true, &["--x", "echo", "hi"]);
    assert_eq!(stdout(&o), "hi\n", "{}", stderr(&o));
}

#[test]
fn setlock_double_dash_matches_reference() {
    let t = tmp();
    let extra: &[&[&str]] = &[&["-n--"], &["-x--"], &["-nx", "--x"]];
    let run = |ours: bool, args: &[&str]| chpst_as(ours, "setlock", args, t.path());
    compare("setlock", COMMON, &["lk", "echo", "hi"], same, run);
    compare("setlock", extra, &["lk", "echo", "hi"], same, run);
    let o = run(true, &["--x", "lk", "echo", "hi"]);
    assert_eq!(stdout(&o), "hi\n", "{}", stderr(&o));
}

#[test]
fn softlimit_double_dash_matches_reference() {
    let t = tmp();
    let extra: &[&[&str]] = &[&["-o--"], &["-o", "--x"], &["-o5--"], &["-o", "5", "--x"]];
    let run = |ours: bool, args: &[&str]| chpst_as(ours, "softlimit", args, t.path());
    // A bad number prints chpst's usage (spec §6.2), so the `[-C pwd] ` delta applies.
    compare("softlimit", COMMON, &["echo", "hi"], no_c_pwd, run);
    compare("softlimit", extra, &["echo", "hi"], no_c_pwd, run);
    let o = run(true, &["--x", "echo", "hi"]);
    assert_eq!(stdout(&o), "hi\n", "{}", stderr(&o));
}

#[test]
fn utmpset_double_dash_matches_reference() {
    // Each run sees an empty utmp and wtmp of its own (bind-mounted in a mount namespace),
    // and runs as `utmpset` found through PATH, so that its usage line names it alike.
    let extra: &[&[&str]] = &[&["-w--"], &["-w-"], &["-wx"], &["-w", "--x"]];
    let run = |ours: bool, args: &[&str]| {
        let t = tmp();
        for d in ["run", "log", "bin"] {
            std::fs::create_dir(t.path().join(d)).unwrap();
        }
        std::fs::write(t.path().join("run/utmp"), b"").unwrap();
        let exe = if ours {
            bin("utmpset")
        } else {
            ref_bin("utmpset")
        };
        std::os::unix::fs::symlink(exe, t.path().join("bin/utmpset")).unwrap();
        let mut c = Command::new("unshare");
        c.args(["--mount", "sh", "-c"]);
        c.arg(
            "mount --bind \"$1\"/run /run && mount --bind \"$1\"/log /var/log && \
             PATH=\"$1/bin:$PATH\" && shift && exec utmpset \"$@\"",
        );
        c.arg("sh").arg(t.path()).args(args);
        run_cmd(c, SECS)
    };
    compare("utmpset", COMMON, &["zzline"], same, run);
    compare("utmpset", extra, &["zzline"], same, run);
    let o = run(true, &["--x", "zzline"]);
    assert!(
        stderr(&o).contains("no such entry"),
        "utmpset --x: {}",
        stderr(&o)
    );
}

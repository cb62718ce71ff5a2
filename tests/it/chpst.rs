//! Integration tests for `chpst` and its personalities (spec chpst.md): every option is
//! observed from inside the child (/proc/self/status, /proc/self/limits, /proc/<pid>/stat,
//! cwd, root, environment, open fds), and the same invocations are run against Debian's
//! chpst 2.1.2 (`ref_bin("chpst")`, linked under the personality names in a temporary
//! directory: Debian's own envdir/setuidgid are daemontools', not chpst) comparing stdout,
//! stderr and exit codes. 2.1.2 has no `-C`: its usage line lacks `[-C pwd] `, which the
//! comparison removes from ours.
//!
//! The tests run as root (CI does) and need a user and two groups of their own (`rrschpstu`,
//! `rrschpstg1`, `rrschpstg2`). scripts/test creates them up front, announcing it, and keeps
//! them; run without it, the tests create them the same way (announced on stderr past the
//! test runner's capture).
use crate::common::*;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

const SECS: f64 = 10.0;

// ------------------------------------------------------------------ helpers

/// A directory holding links to our chpst and to the reference one under any name.
struct Links {
    dir: tempfile::TempDir,
}

impl Links {
    fn new() -> Links {
        let dir = tmp();
        std::fs::create_dir(dir.path().join("ours")).unwrap();
        std::fs::create_dir(dir.path().join("ref")).unwrap();
        std::fs::create_dir(dir.path().join("multi")).unwrap();
        open_up(dir.path());
        Links { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn link(&self, side: &str, name: &str) -> PathBuf {
        let target = match side {
            "ours" => bin("chpst"),
            "multi" => bin("runit-rs"),
            _ => ref_bin("chpst"),
        };
        let p = self.dir.path().join(side).join(name);
        if !p.exists() {
            symlink(target, &p).unwrap();
        }
        p
    }
    /// A copy of `side`'s program named `name`, for running as another user (`exec_copy`).
    fn copy(&self, side: &str, name: &str) -> PathBuf {
        let dir = self.dir.path().join(format!("copy-{side}"));
        let p = dir.join(name);
        if !p.exists() {
            exec_copy(&self.link(side, name), &dir, name);
            open_up(&dir);
        }
        p
    }
    fn ours(&self, name: &str, args: &[&str]) -> Command {
        let mut c = Command::new(self.link("ours", name));
        c.args(args);
        c
    }
    fn reference(&self, name: &str, args: &[&str]) -> Command {
        let mut c = Command::new(self.link("ref", name));
        c.args(args);
        c
    }
    fn multi(&self, name: &str, args: &[&str]) -> Command {
        let mut c = Command::new(self.link("multi", name));
        c.args(args);
        c
    }
    /// Runs the invocation with ours and with the reference, `setup` applied to both; asserts
    /// identical stdout, stderr (modulo the 2.1.2 deltas) and exit status; returns ours.
    fn diff(&self, name: &str, args: &[&str], setup: impl Fn(&mut Command)) -> Output {
        let mut o = self.ours(name, args);
        setup(&mut o);
        let mut r = self.reference(name, args);
        setup(&mut r);
        let o = run_cmd(o, SECS);
        let r = run_cmd(r, SECS);
        let what = format!("{name} {args:?}");
        assert_eq!(stdout(&o), stdout(&r), "stdout of {what}");
        assert_eq!(norm(&stderr(&o)), norm(&stderr(&r)), "stderr of {what}");
        assert_eq!(o.status.code(), r.status.code(), "exit code of {what}");
        o
    }
}

/// Removes what legitimately differs from Debian's 2.1.2: the `$Id` value, `[-C pwd] ` and
/// the options after 2.3.0 (`-F`, `-I`, `-N`).
fn norm(s: &str) -> String {
    let s = s
        .replace("[-C pwd] ", "")
        .replace("[-vVPFIN012]", "[-vVP012]");
    s.lines()
        .map(|l| {
            if l.starts_with("$Id: ") && l.ends_with(" $") {
                "$Id$"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn open_up(p: &Path) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn chpst(args: &[&str]) -> Output {
    let mut c = ours("chpst");
    c.args(args);
    run_cmd(c, SECS)
}

/// A line's value from /proc/<x>/status text (`Uid:` → "0\t0\t0\t0").
fn field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
}

fn first_num(s: &str) -> u32 {
    s.split_whitespace().next().unwrap().parse().unwrap()
}

/// The soft and hard limit of `name` (e.g. "Max open files") in /proc/self/limits text.
fn limit(limits: &str, name: &str) -> (String, String) {
    let l = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name}"));
    let mut it = l[name.len()..].split_whitespace();
    (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
    )
}

fn getent(db: &str, name: &str) -> Option<String> {
    let o = Command::new("getent").args([db, name]).output().unwrap();
    o.status.success().then(|| stdout(&o).trim().to_string())
}

fn id_of(db: &str, name: &str) -> u32 {
    let e = getent(db, name).unwrap_or_else(|| panic!("no {db} entry {name}"));
    e.split(':').nth(2).unwrap().parse().unwrap()
}

const USER: &str = "rrschpstu";
const G1: &str = "rrschpstg1";
const G2: &str = "rrschpstg2";

/// Says on the terminal (not in the test's captured output) what a test changes on the host.
fn announce(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "chpst tests: {what}");
}

/// Creates the test user (primary group G1) and the extra group G2 unless they exist (as
/// scripts/test does first, with the same commands); kept, like scripts/test keeps them.
fn users() {
    static LOCK: Mutex<bool> = Mutex::new(false);
    let mut done = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    for g in [G1, G2] {
        if getent("group", g).is_none() {
            announce(&format!("creating group {g} (kept)"));
            let s = Command::new("groupadd").arg(g).status().unwrap();
            assert!(s.success() || getent("group", g).is_some(), "groupadd {g}");
        }
    }
    if getent("passwd", USER).is_none() {
        announce(&format!("creating user {USER} (kept)"));
        let s = Command::new("useradd")
            .args([
                "-M",
                "-N",
                "-g",
                G1,
                "-d",
                "/nonexistent",
                "-s",
                "/bin/sh",
                USER,
            ])
            .status()
            .unwrap();
        assert!(
            s.success() || getent("passwd", USER).is_some(),
            "useradd {USER}"
        );
    }
    *done = true;
}

/// A minimal root directory for `-/`: /bin/sh and /bin/cat with the libraries they load.
fn make_root(root: &Path) {
    for prog in ["/bin/sh", "/bin/cat"] {
        let mut files = vec![PathBuf::from(prog)];
        let o = Command::new("ldd").arg(prog).output().unwrap();
        for l in stdout(&o).lines() {
            let p = match l.split("=>").nth(1) {
                Some(r) => r.split_whitespace().next().unwrap_or("").to_string(),
                None => l.split_whitespace().next().unwrap_or("").to_string(),
            };
            if p.starts_with('/') {
                files.push(PathBuf::from(p));
            }
        }
        for f in files {
            let dest = root.join(f.strip_prefix("/").unwrap());
            // written by a child process, as `script` explains (ETXTBSY)
            let name = dest.file_name().unwrap().to_str().unwrap().to_string();
            exec_copy(
                &std::fs::canonicalize(&f).unwrap(),
                dest.parent().unwrap(),
                &name,
            );
        }
    }
}

// ------------------------------------------------------------------ usage and messages

/// Usage errors: texts and exit code 100 as Debian's chpst prints them.
#[test]
fn usage_errors_match_reference() {
    let l = Links::new();
    let cases: &[&[&str]] = &[
        &[],
        &["-v"],
        &["-Z", "true"],
        &["-u"],
        &["-V"],
        &["-V", "true"],
        &["-VV", "-Z"],
        &["-n", "5x", "true"],
        &["-n", "--5", "true"],
        &["-m", "12x", "true"],
        &["-o", "-1", "true"],
        &["-t", "1 ", "true"],
        &["-l", "a", "-L", "b", "true"],
        &["-l", "a", "-l", "b", "true"],
        &["-L", "a", "-L", "a", "true"],
    ];
    for args in cases {
        let o = l.diff("chpst", args, |_| {});
        assert_eq!(o.status.code(), Some(100), "{args:?}");
        assert!(
            stderr(&o).contains("usage: chpst [-vVPFIN012] "),
            "{args:?}"
        );
    }
    // 2.3.0's line, which 2.1.2 lacks `[-C pwd] ` in (formats.md §2), with upstream's
    // later -F -I -N.
    let o = chpst(&[]);
    assert_eq!(
        stderr(&o),
        "usage: chpst [-vVPFIN012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] \
         [-/ root] [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] \
         [-t n] prog\n\n"
    );
    let o = chpst(&["-V"]);
    assert!(stderr(&o).starts_with("$Id: "));
}

/// Every personality's usage line, getopt errors and exit codes; the `d` strip quirk.
#[test]
fn personality_usage_matches_reference() {
    let l = Links::new();
    let cases: &[(&str, &[&str])] = &[
        ("envdir", &[]),
        ("envdir", &["dir"]),
        ("envuidgid", &[]),
        ("envuidgid", &["root"]),
        ("setuidgid", &["root"]),
        ("pgrphack", &[]),
        ("setlock", &[]),
        ("setlock", &["file"]),
        ("setlock", &["-Z"]),
        ("setlock", &["-n", "-V", "f", "true"]),
        ("softlimit", &[]),
        ("softlimit", &["-o", "5"]),
        ("softlimit", &["-Z", "true"]),
        ("softlimit", &["-o"]),
        ("softlimit", &["-o", "x", "true"]),
        ("softlimit", &["-o", "=5", "true"]),
        ("softlimit", &["-o", "5=", "true"]),
        ("dsetuidgid", &["root"]),
        ("daemon", &["-Z"]),
        ("dchpst", &[]),
    ];
    for (name, args) in cases {
        let o = l.diff(name, args, |_| {});
        assert_eq!(o.status.code(), Some(100), "{name} {args:?}");
        assert!(stderr(&o).contains("usage: "), "{name} {args:?}");
    }
    let o = run_cmd(l.ours("envdir", &[]), SECS);
    assert_eq!(stderr(&o), "usage: envdir dir child\n\n");
    let o = run_cmd(l.ours("daemon", &["-Z"]), SECS);
    assert!(stderr(&o).starts_with("daemon: illegal option -- Z\nusage: aemon [-vVPFIN012]"));
}

/// Personalities parse their operands positionally: `--` is an account or a program.
#[test]
fn personalities_take_operands_literally() {
    let l = Links::new();
    let o = l.diff("setuidgid", &["--", "nobody", "true"], |_| {});
    assert_eq!(stderr(&o), "chpst: fatal: unknown account: --\n");
    let o = l.diff("pgrphack", &["--", "true"], |_| {});
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unable to run: --: file does not exist\n"
    );
    l.diff("envdir", &["-x", "/", "true"], |_| {});
}

// ------------------------------------------------------------------ users and groups

/// `-u user`: uid, primary gid, and the supplementary groups replaced by just that gid.
#[test]
fn u_sets_uid_gid_and_groups() {
    users();
    let uid = id_of("passwd", USER);
    let g1 = id_of("group", G1);
    let g2 = id_of("group", G2);
    let o = chpst(&["-u", USER, "cat", "/proc/self/status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stdout(&o);
    assert_eq!(field(&s, "Uid:"), format!("{uid}\t{uid}\t{uid}\t{uid}"));
    assert_eq!(field(&s, "Gid:"), format!("{g1}\t{g1}\t{g1}\t{g1}"));
    assert_eq!(field(&s, "Groups:"), format!("{g1}"));

    // user:group:group: gid is the first group, supplementary groups exactly the list.
    let spec = format!("{USER}:{G2}:{G1}");
    let o = chpst(&["-u", &spec, "cat", "/proc/self/status"]);
    let s = stdout(&o);
    assert_eq!(first_num(field(&s, "Uid:")), uid);
    assert_eq!(field(&s, "Gid:"), format!("{g2}\t{g2}\t{g2}\t{g2}"));
    let mut groups: Vec<u32> = field(&s, "Groups:")
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    groups.sort();
    let mut want = vec![g1, g2];
    want.sort();
    assert_eq!(groups, want);
}

/// The numeric form, without lookups, and its observed quirks (empty uid or gid is 0).
#[test]
fn u_numeric_forms() {
    let o = chpst(&["-u", ":4321:765:766", "cat", "/proc/self/status"]);
    let s = stdout(&o);
    assert_eq!(field(&s, "Uid:"), "4321\t4321\t4321\t4321");
    assert_eq!(field(&s, "Gid:"), "765\t765\t765\t765");
    assert_eq!(field(&s, "Groups:"), "765 766");
    let o = chpst(&["-u", "::5", "cat", "/proc/self/status"]);
    let s = stdout(&o);
    assert_eq!(first_num(field(&s, "Uid:")), 0);
    assert_eq!(first_num(field(&s, "Gid:")), 5);
    let o = chpst(&["-u", ":4321:", "cat", "/proc/self/status"]);
    assert_eq!(first_num(field(&stdout(&o), "Gid:")), 0);
}

/// Divergence (docs/divergences.md): a numeric id that does not fit in 32 bits, or is the
/// invalid id 2^32-1, is refused before prog runs. runit wraps it (`-u :4294967296:0` ran
/// prog as root, observed with Debian's chpst).
#[test]
fn u_ids_that_do_not_fit_are_refused() {
    let t = tmp();
    let marker = t.path().join("ran");
    let touch = format!("touch {}", marker.display());
    let specs = [
        ":4294967296:0",
        ":4294967295:1",
        ":99999999999999999999:1",
        ":18446744073709551616:1",
        ":-1:1",
        ":1:4294967296",
        ":1:4294967295",
        ":1:2:99999999999999999999",
        ":1:2:18446744073709551616",
        ":1:-1",
    ];
    for spec in specs {
        for opt in ["-u", "-U"] {
            let o = chpst(&[opt, spec, "sh", "-c", &touch]);
            let what = format!("{opt} {spec}");
            assert_eq!(o.status.code(), Some(111), "{what}: {}", stderr(&o));
            assert_eq!(
                stderr(&o),
                format!("chpst: fatal: invalid uid/gids: {}\n", &spec[1..]),
                "{what}"
            );
            assert_eq!(stdout(&o), "", "{what}");
            assert!(!marker.exists(), "{what} ran prog");
        }
    }
    // The largest valid ids run, observed in the child.
    let o = chpst(&[
        "-u",
        ":4294967294:4294967294:4294967293",
        "cat",
        "/proc/self/status",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stdout(&o);
    let max = "4294967294\t4294967294\t4294967294\t4294967294";
    assert_eq!(field(&s, "Uid:"), max);
    assert_eq!(field(&s, "Gid:"), max);
    assert_eq!(field(&s, "Groups:"), "4294967293 4294967294");
    let mut c = ours("chpst");
    c.args(["-U", ":4294967294:4294967293", "sh", "-c", "echo $UID/$GID"]);
    let o = run_cmd(c, SECS);
    assert_eq!(stdout(&o), "4294967294/4294967293\n", "{}", stderr(&o));
    // ... exactly as Debian's chpst runs them.
    let l = Links::new();
    l.diff("chpst", &["-u", ":4294967294:4294967294", "id"], |_| {});
}

/// The same specifications through Debian's chpst give the same `id` output and messages.
#[test]
fn u_and_big_u_match_reference() {
    users();
    let l = Links::new();
    let sixty_one = format!(":1{}", ":2".repeat(61));
    let many_named = format!("nobody{}:nosuchgroup", ":daemon".repeat(60));
    let g = format!("{USER}:{G2}:{G1}");
    let specs = [
        "nobody",
        "nobody:adm:daemon",
        USER,
        &g,
        ":65534:65534",
        ":65534:",
        "::5",
        ":5:6:",
        ":65534",
        ":",
        ":abc:1",
        ":5:x",
        &sixty_one,
        &many_named,
        "65534",
        "nobody:",
        "nobody,adm",
        "root:nosuchgroup",
        "nosuchuser",
        "",
    ];
    for spec in specs {
        l.diff("chpst", &["-u", spec, "id"], |_| {});
        l.diff("chpst", &["-U", spec, "sh", "-c", "echo $UID/$GID"], |c| {
            c.env_remove("UID").env_remove("GID");
        });
    }
    for name in ["nobody", USER, "nobody:adm", "65534", "nosuch", ""] {
        l.diff("setuidgid", &[name, "id"], |_| {});
        l.diff("envuidgid", &[name, "sh", "-c", "echo $UID/$GID"], |_| {});
    }
    let o = l.diff("chpst", &["-U", "nobody:adm", "env"], |c| {
        c.env_clear().env("A", "1");
    });
    assert_eq!(stdout(&o), "A=1\nGID=4\nUID=65534\n");
}

/// Nothing runs when a user or group cannot be resolved; runit's messages, exit 111.
#[test]
fn unresolvable_user_runs_nothing() {
    let l = Links::new();
    let marker = l.path().join("ran");
    let touch = format!("touch {}", marker.display());
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "chpst",
            &["-u", "nosuchuser_rrs"],
            "unknown user/group: nosuchuser_rrs",
        ),
        (
            "chpst",
            &["-u", "root:nosuchgroup"],
            "unknown user/group: root:nosuchgroup",
        ),
        (
            "chpst",
            &["-U", "nosuchuser_rrs"],
            "unknown user/group: nosuchuser_rrs",
        ),
        ("chpst", &["-u", ":65534"], "invalid uid/gids: 65534"),
        ("chpst", &["-u", "65534"], "unknown user/group: 65534"),
        (
            "setuidgid",
            &["nosuchuser_rrs"],
            "unknown account: nosuchuser_rrs",
        ),
        ("setuidgid", &["root:root"], "unknown account: root:root"),
        (
            "envuidgid",
            &["nosuchuser_rrs"],
            "unknown account: nosuchuser_rrs",
        ),
    ];
    for (name, opts, text) in cases {
        let mut args = opts.to_vec();
        args.extend(["sh", "-c", &touch]);
        let o = l.diff(name, &args, |_| {});
        assert_eq!(o.status.code(), Some(111));
        assert_eq!(stderr(&o), format!("chpst: fatal: {text}\n"));
        assert!(!marker.exists(), "{name} {opts:?} ran prog");
    }
}

/// Inside a chroot the new root's databases are used; a missing /etc/passwd is a lookup
/// error (observed `file does not exist`), a missing entry "unknown".
#[test]
fn lookups_after_chroot() {
    let l = Links::new();
    let root = l.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let r = root.to_str().unwrap();
    let o = l.diff("chpst", &["-/", r, "-u", "nobody", "true"], |_| {});
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unable to get password/group file entry: file does not exist\n"
    );
    std::fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
    let o = l.diff("chpst", &["-/", r, "-u", "nobody", "true"], |_| {});
    assert_eq!(stderr(&o), "chpst: fatal: unknown user/group: nobody\n");
    l.diff("chpst", &["-/", r, "-u", "root:adm", "true"], |_| {});
    l.diff("chpst", &["-/", r, "-U", "root", "/nonexist"], |_| {});
}

// ------------------------------------------------------------------ process state

/// Each limit option sets the soft limit seen in /proc/self/limits; the hard limit stays.
#[test]
fn limits_observed_in_child() {
    let o = chpst(&[
        "-m",
        "200000000",
        "-d",
        "300000000",
        "-o",
        "50",
        "-p",
        "5000",
        "-f",
        "1000000",
        "-c",
        "0",
        "-r",
        "5000000",
        "-t",
        "100",
        "cat",
        "/proc/self/limits",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stdout(&o);
    let soft = |n: &str| limit(&s, n).0;
    assert_eq!(soft("Max data size"), "300000000"); // -d after -m wins
    assert_eq!(soft("Max stack size"), "200000000");
    assert_eq!(soft("Max address space"), "200000000");
    assert_eq!(soft("Max open files"), "50");
    assert_eq!(soft("Max processes"), "5000");
    assert_eq!(soft("Max file size"), "1000000");
    assert_eq!(soft("Max core file size"), "0");
    assert_eq!(soft("Max resident set"), "5000000");
    assert_eq!(soft("Max cpu time"), "100");
    let mine = std::fs::read_to_string("/proc/self/limits").unwrap();
    assert_eq!(
        limit(&s, "Max open files").1,
        limit(&mine, "Max open files").1
    );
    // Over the hard limit: capped to it, never an error; -m after -d wins.
    let o = chpst(&[
        "-d",
        "5",
        "-m",
        "250000000",
        "-o",
        "100000000000",
        "cat",
        "/proc/self/limits",
    ]);
    let s = stdout(&o);
    let (soft, hard) = limit(&s, "Max open files");
    assert_eq!(soft, hard);
    assert_eq!(limit(&s, "Max data size").0, "250000000");
    let want = match limit(&s, "Max locked memory").1.as_str() {
        "unlimited" => 250000000,
        hard => hard.parse::<u64>().unwrap().min(250000000),
    };
    assert_eq!(limit(&s, "Max locked memory").0, want.to_string());
}

/// softlimit: its letters, `=` for the hard limit; compared with Debian's chpst.
#[test]
fn softlimit_personality() {
    let l = Links::new();
    let o = l.diff("softlimit", &["-o", "10", "sh", "-c", "ulimit -n"], |_| {});
    assert_eq!(stdout(&o), "10\n");
    let o = l.diff(
        "softlimit",
        &["-o", "=", "cat", "/proc/self/limits"],
        |_| {},
    );
    let (soft, hard) = limit(&stdout(&o), "Max open files");
    assert_eq!(soft, hard);
    let o = l.diff(
        "softlimit",
        &[
            "-a",
            "300000000",
            "-c",
            "0",
            "-d",
            "200000000",
            "-f",
            "123456",
            "-l",
            "65536",
            "-p",
            "999",
            "-r",
            "777777",
            "-s",
            "9000000",
            "-t",
            "55",
            "cat",
            "/proc/self/limits",
        ],
        |_| {},
    );
    let s = stdout(&o);
    assert_eq!(limit(&s, "Max address space").0, "300000000");
    assert_eq!(limit(&s, "Max core file size").0, "0");
    assert_eq!(limit(&s, "Max data size").0, "200000000");
    assert_eq!(limit(&s, "Max file size").0, "123456");
    assert_eq!(limit(&s, "Max locked memory").0, "65536");
    assert_eq!(limit(&s, "Max processes").0, "999");
    assert_eq!(limit(&s, "Max resident set").0, "777777");
    assert_eq!(limit(&s, "Max stack size").0, "9000000");
    assert_eq!(limit(&s, "Max cpu time").0, "55");
    let o = l.diff(
        "softlimit",
        &["-m", "300000000", "cat", "/proc/self/limits"],
        |_| {},
    );
    let s = stdout(&o);
    assert_eq!(limit(&s, "Max stack size").0, "300000000");
    assert_eq!(limit(&s, "Max address space").0, "300000000");
    // Through the multicall binary.
    let o = run_cmd(
        l.multi("softlimit", &["-o", "17", "sh", "-c", "ulimit -n"]),
        SECS,
    );
    assert_eq!(stdout(&o), "17\n");
}

/// The nice value (field 19 of /proc/<pid>/stat) moves by the increment.
#[test]
fn n_sets_nice() {
    let nice_of = |o: &Output| -> i32 {
        let s = stdout(o);
        let after = s.rsplit(')').next().unwrap();
        after.split_whitespace().nth(16).unwrap().parse().unwrap()
    };
    let base = nice_of(&chpst(&["cat", "/proc/self/stat"]));
    let o = chpst(&["-n", "5", "cat", "/proc/self/stat"]);
    assert_eq!(nice_of(&o), (base + 5).min(19));
    let o = chpst(&["-n", "+3", "cat", "/proc/self/stat"]);
    assert_eq!(nice_of(&o), (base + 3).min(19));
    let o = chpst(&["-n", "-2", "cat", "/proc/self/stat"]);
    assert_eq!(nice_of(&o), (base - 2).max(-20), "{}", stderr(&o));
    let l = Links::new();
    l.diff("chpst", &["-n", "-1", "nice"], |_| {});
    l.diff("chpst", &["-n", "+", "nice"], |_| {});
}

/// Refusing to lower the nice value as an unprivileged user: runit's message, exit 111.
#[test]
fn n_failure_message() {
    let l = Links::new();
    let o = as_nobody(&l, "ours", &["-n", "-5", "true"]);
    let r = as_nobody(&l, "ref", &["-n", "-5", "true"]);
    assert_eq!(o.status.code(), Some(111));
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unable to set nice level: permission denied\n"
    );
    assert_eq!(stderr(&o), stderr(&r));
}

/// Runs the chpst under test (`side`, a copy nobody can reach) as nobody: our chpst drops
/// privileges first.
fn as_nobody(l: &Links, side: &str, args: &[&str]) -> Output {
    let mut c = ours("chpst");
    c.args(["-u", "nobody"])
        .arg(l.copy(side, "chpst"))
        .args(args);
    c.current_dir(l.path());
    run_cmd(c, SECS)
}

/// -P: a new session and process group (pid = pgid = sid); pgrphack the same.
#[test]
fn p_and_pgrphack_new_session() {
    let l = Links::new();
    let ids = |o: &Output| -> (String, String, String) {
        let s = stdout(o);
        let (pid, rest) = s.split_once(" (").unwrap();
        let f: Vec<&str> = rest
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        (pid.to_string(), f[2].to_string(), f[3].to_string())
    };
    // Started from a shell, so that chpst is not a process group leader (run_cmd makes the
    // shell one): setsid then succeeds. `; :` keeps the shell from exec'ing chpst.
    let via_sh = |prog: PathBuf, args: &[&str]| -> Output {
        let mut c = Command::new("sh");
        c.args(["-c", "\"$0\" \"$@\"; :"]).arg(prog).args(args);
        run_cmd(c, SECS)
    };
    let probe = ["sh", "-c", "cat /proc/$$/stat"];
    let mut with_p = vec!["-P"];
    with_p.extend(probe);
    for o in [
        via_sh(bin("chpst"), &with_p),
        via_sh(l.link("ours", "pgrphack"), &probe),
        via_sh(l.link("multi", "pgrphack"), &probe),
        via_sh(l.link("ref", "pgrphack"), &probe),
    ] {
        let (pid, pgid, sid) = ids(&o);
        assert_eq!(pid, pgid);
        assert_eq!(pid, sid);
    }
    // A group leader cannot setsid: the failure is ignored and prog runs.
    let o = chpst(&with_p);
    let (pid, pgid, sid) = ids(&o);
    assert_eq!(pid, pgid);
    assert_ne!(pid, sid);
    let o = via_sh(bin("chpst"), &probe);
    let (pid, pgid, _) = ids(&o);
    assert_ne!(pid, pgid, "no new group without -P");
}

/// -0 -1 -2 close the descriptors before exec; closing a closed one is fatal.
#[test]
fn close_fds() {
    let probe = "for f in 0 1 2; do if [ -e /proc/$$/fd/$f ]; then echo $f:open >&3; \
                 else echo $f:closed >&3; fi; done";
    let t = tmp();
    let out = t.path().join("out");
    for (flag, want) in [
        ("-0", "0:closed\n1:open\n2:open\n"),
        ("-1", "0:open\n1:closed\n2:open\n"),
        ("-2", "0:open\n1:open\n2:closed\n"),
        ("-012", "0:closed\n1:closed\n2:closed\n"),
    ] {
        let f = std::fs::File::create(&out).unwrap();
        let mut c = ours("chpst");
        c.args([flag, "sh", "-c", probe]);
        // fd 3 for the report (Command keeps it open through a pre_exec-free dup).
        use std::os::fd::AsRawFd;
        let raw = f.as_raw_fd();
        unsafe_pass_fd(&mut c, raw, 3);
        let o = run_cmd(c, SECS);
        assert_eq!(o.status.code(), Some(0), "{flag}: {}", stderr(&o));
        assert_eq!(read(&out), want, "{flag}");
    }
    let l = Links::new();
    let o = l.diff("chpst", &["-0", "true"], |c| {
        c.stdin(std::process::Stdio::null());
    });
    assert_eq!(o.status.code(), Some(0));
    // stdin already closed: runit fails with `unable to close stdin: file descriptor not
    // open`; so do we (chpst enters at C's main: no fd repair by Rust's start-up code), as
    // the chpst binary and through the multicall binary.
    let run_sh = |side: &str| {
        let sh = format!(
            "exec <&- {} -0 sh -c '[ -e /proc/$$/fd/0 ] || echo closed'",
            l.link(side, "chpst").display()
        );
        let mut c = Command::new("sh");
        c.args(["-c", &sh]);
        run_cmd(c, SECS)
    };
    let r = run_sh("ref");
    assert_eq!(r.status.code(), Some(111));
    assert_eq!(
        stderr(&r),
        "chpst: fatal: unable to close stdin: file descriptor not open\n"
    );
    for side in ["ours", "multi"] {
        let o = run_sh(side);
        assert_eq!(o.status.code(), r.status.code(), "{side}");
        assert_eq!(stderr(&o), stderr(&r), "{side}");
        assert_eq!(stdout(&o), stdout(&r), "{side}");
    }
}

/// Makes `fd` of the test process appear as `to` in the child.
fn unsafe_pass_fd(c: &mut Command, fd: i32, to: i32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: dup2 is async-signal-safe; the closure runs between fork and exec.
    unsafe {
        c.pre_exec(move || {
            // dup2(fd, fd) would keep close-on-exec: clear it instead.
            let r = if fd == to {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, to)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// -b replaces argv[0] only; the file executed is still prog; exec errors name argv[0].
#[test]
fn b_replaces_argv0() {
    let o = chpst(&["-b", "myname", "cat", "/proc/self/cmdline"]);
    assert_eq!(o.stdout, b"myname\0/proc/self/cmdline\0");
    let l = Links::new();
    let o = l.diff("chpst", &["-b", "myname", "sh", "-c", "echo $0"], |_| {});
    assert_eq!(stdout(&o), "myname\n");
    let o = l.diff("chpst", &["-b", "myname", "/nonexistent/x"], |_| {});
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unable to run: myname: file does not exist\n"
    );
}

/// -/ chroots (after chdir), -C changes directory inside the new root.
#[test]
fn root_and_cwd() {
    let t = tmp();
    let root = t.path().join("root");
    make_root(&root);
    std::fs::create_dir_all(root.join("sub/dir")).unwrap();
    std::fs::write(root.join("only-in-root"), "x").unwrap();
    let r = root.to_str().unwrap();
    let o = chpst(&[
        "-/",
        r,
        "/bin/sh",
        "-c",
        "pwd; [ -e /only-in-root ] && echo inside",
    ]);
    assert_eq!(stdout(&o), "/\ninside\n", "{}", stderr(&o));
    let o = chpst(&["-/", r, "-C", "/sub/dir", "/bin/sh", "-c", "pwd"]);
    assert_eq!(stdout(&o), "/sub/dir\n", "{}", stderr(&o));
    // -C alone, relative to the current directory.
    let mut c = ours("chpst");
    c.args(["-C", "sub", "sh", "-c", "pwd -P"])
        .current_dir(&root);
    let o = run_cmd(c, SECS);
    assert_eq!(
        stdout(&o),
        format!(
            "{}\n",
            std::fs::canonicalize(root.join("sub")).unwrap().display()
        )
    );
    // Errors.
    let o = chpst(&["-C", "/nonexistent", "true"]);
    assert_eq!(o.status.code(), Some(111));
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unable to change directory: /nonexistent: file does not exist\n"
    );
    let l = Links::new();
    let o = l.diff("chpst", &["-/", "/nonexistent", "true"], |_| {});
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unable to change directory: /nonexistent: file does not exist\n"
    );
    let o = l.diff("chpst", &["-/", r, "/bin/sh", "-c", "pwd"], |_| {});
    assert_eq!(stdout(&o), "/\n");
    // The chroot happens before -u, while still root.
    let o = l.diff("chpst", &["-u", "nobody", "-/", "/", "true"], |_| {});
    assert_eq!(o.status.code(), Some(0));
}

/// The program is found through the original $PATH even when -e changes PATH.
#[test]
fn path_search_uses_original_path() {
    let l = Links::new();
    let e = l.path().join("env");
    std::fs::create_dir(&e).unwrap();
    std::fs::write(e.join("PATH"), "/nonexistent\n").unwrap();
    let o = l.diff(
        "chpst",
        &["-e", e.to_str().unwrap(), "sh", "-c", "echo $PATH"],
        |_| {},
    );
    assert_eq!(stdout(&o), "/nonexistent\n");
    let o = l.diff(
        "envdir",
        &[e.to_str().unwrap(), "sh", "-c", "echo $PATH"],
        |_| {},
    );
    assert_eq!(stdout(&o), "/nonexistent\n");
}

/// PATH search errors: which ones continue and which end the search (spec README).
#[test]
fn path_search_errors_match_reference() {
    let l = Links::new();
    let p = l.path();
    std::fs::create_dir(p.join("noexec")).unwrap();
    std::fs::write(p.join("noexec/prog"), "#!/bin/sh\necho no\n").unwrap();
    std::fs::create_dir(p.join("good")).unwrap();
    script(p.join("good/prog"), "echo good");
    std::fs::create_dir(p.join("badfmt")).unwrap();
    install_exec(p.join("badfmt/prog"), b"garbage\n");
    std::fs::write(p.join("afile"), "").unwrap();
    std::fs::create_dir_all(p.join("isdir/prog")).unwrap();
    let d = |n: &str| p.join(n).display().to_string();
    let cases: Vec<(String, &str)> = vec![
        (format!("{}:{}", d("noexec"), d("good")), "good\n"),
        (d("noexec"), ""),
        (format!("{}:{}", d("isdir"), d("nothing")), ""),
        (format!("{}:{}", d("afile"), d("good")), ""),
        (format!("{}:{}", d("badfmt"), d("good")), ""),
        (format!("{}:{}", d("nothing"), d("good")), "good\n"),
        (String::new(), ""),
    ];
    for (path, want) in cases {
        let o = l.diff("chpst", &["prog"], |c| {
            c.env("PATH", &path).current_dir(p);
        });
        assert_eq!(stdout(&o), want, "PATH={path}");
    }
    // Empty element: the current directory.
    let o = l.diff("chpst", &["prog"], |c| {
        c.env("PATH", ":/bin").current_dir(p.join("good"));
    });
    assert_eq!(stdout(&o), "good\n");
    let o = l.diff("chpst", &["prog"], |c| {
        c.env("PATH", d("noexec"));
    });
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unable to run: prog: access denied\n"
    );
    // PATH unset: /bin:/usr/bin.
    let o = l.diff("chpst", &["sh", "-c", "echo ok"], |c| {
        c.env_remove("PATH");
    });
    assert_eq!(stdout(&o), "ok\n");
}

// ------------------------------------------------------------------ envdir

/// Writes the envdir edge cases into `dir`.
fn envdir_cases(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let w = |n: &str, c: &[u8]| std::fs::write(dir.join(n), c).unwrap();
    w("EMPTY", b""); // unsets
    w("NL", b"\n"); // set to ""
    w("SPACES", b"   "); // trailing blanks trimmed: ""
    w("TRIM", b"\t x \n"); // leading kept: "\t x"
    w("NUL", b"a\0b  \t\nsecond"); // "a\nb", first line only
    w("FIRST", b"one\ntwo\nthree\n");
    w("PLAIN", b"value");
    w(".HIDDEN", b"no");
    w("A=B", b"v");
}

/// Edge cases of envdir as observed from the child's environment, byte for byte and in the
/// same order as Debian's chpst (both `-e` and the envdir personality).
#[test]
fn envdir_edge_cases_match_reference() {
    let l = Links::new();
    let e = l.path().join("e");
    envdir_cases(&e);
    let es = e.to_str().unwrap();
    let setup = |c: &mut Command| {
        c.env_clear()
            .env("EMPTY", "preset")
            .env("KEEP", "k")
            .env("PLAIN", "old");
    };
    let o = l.diff("chpst", &["-e", es, "/usr/bin/env"], setup);
    let out = stdout(&o);
    let vars: Vec<&str> = out.split('\n').collect();
    assert!(!out.contains("EMPTY="), "empty file unsets: {out}");
    assert!(vars.contains(&"NL="));
    assert!(vars.contains(&"SPACES="));
    assert!(vars.contains(&"TRIM=\t x"));
    assert!(
        out.contains("NUL=a\nb\n"),
        "NUL becomes newline, first line only: {out:?}"
    );
    assert!(vars.contains(&"FIRST=one"));
    assert!(vars.contains(&"PLAIN=value"));
    assert!(vars.contains(&"KEEP=k"));
    assert!(vars.contains(&"A=B=v"));
    assert!(!out.contains("HIDDEN"));
    let o = l.diff("envdir", &[es, "/usr/bin/env"], setup);
    assert_eq!(stdout(&o), out);
    let o = run_cmd(
        {
            let mut c = l.multi("envdir", &[es, "/usr/bin/env"]);
            setup(&mut c);
            c
        },
        SECS,
    );
    assert_eq!(stdout(&o), out);
    // Read relative to the original cwd, before -/.
    make_root(&l.path().join("root"));
    let o = l.diff(
        "chpst",
        &["-e", "e", "-/", "root", "/bin/sh", "-c", "echo \"$PLAIN\""],
        |c| {
            setup(c);
            c.current_dir(l.path());
        },
    );
    assert_eq!(stdout(&o), "value\n");
}

/// A dangling symlink is processed with the previous entry's contents (runit quirk):
/// compared with Debian's chpst over several directory orders.
#[test]
fn envdir_dangling_symlink_quirk() {
    let l = Links::new();
    for (i, files) in [
        vec![("B", None), ("A", Some("foo")), ("0first", None)],
        vec![
            ("X", Some("a\0b")),
            ("Y", None),
            ("Z", Some("")),
            ("W", None),
        ],
        vec![("NL", Some("\n")), ("D1", None), ("D2", None)],
    ]
    .into_iter()
    .enumerate()
    {
        let e = l.path().join(format!("e{i}"));
        std::fs::create_dir(&e).unwrap();
        for (n, c) in files {
            match c {
                Some(c) => std::fs::write(e.join(n), c).unwrap(),
                None => symlink("/nonexistent/target", e.join(n)).unwrap(),
            }
        }
        let es = e.to_str().unwrap();
        l.diff("chpst", &["-e", es, "/usr/bin/env"], |c| {
            c.env_clear().env("B", "preset").env("W", "preset");
        });
        l.diff("envdir", &[es, "/usr/bin/env"], |c| {
            c.env_clear().env("B", "preset");
        });
    }
}

/// Subdirectories: skipped by -e (warning with -v), fatal for envdir.
#[test]
fn envdir_subdirectory() {
    let l = Links::new();
    let e = l.path().join("e");
    std::fs::create_dir_all(e.join("sub")).unwrap();
    std::fs::write(e.join("V"), "1").unwrap();
    let es = e.to_str().unwrap();
    let o = l.diff("chpst", &["-e", es, "sh", "-c", "echo $V"], |_| {});
    assert_eq!((stdout(&o).as_str(), stderr(&o).as_str()), ("1\n", ""));
    let o = l.diff("chpst", &["-v", "-e", es, "sh", "-c", "echo $V"], |_| {});
    assert_eq!(stdout(&o), "1\n");
    assert_eq!(
        stderr(&o),
        format!("chpst: warning: unable to read {es}/sub: is a directory\n")
    );
    let o = l.diff("envdir", &[es, "sh", "-c", "echo $V"], |_| {});
    assert_eq!(o.status.code(), Some(111));
    assert_eq!(
        stderr(&o),
        format!("chpst: fatal: unable to read {es}/sub: is a directory\n")
    );
}

/// First lines around and beyond the longest environment string (32 pages): the same
/// environment, or the same `argument list too long`, as Debian's chpst. Ours reads at
/// most 32 pages of a line (issue 9), runit all of it; trailing blanks past that still trim.
#[test]
fn envdir_long_first_lines_match_reference() {
    let l = Links::new();
    let page = 4096; // the machines we test on; the bound follows the real page size
    let max = 32 * page; // MAX_ARG_STRLEN, with `V=` and the NUL
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("fits", vec![b'x'; max - 3]),
        ("one over", vec![b'x'; max - 2]),
        ("no newline", vec![b'x'; 200_000]),
        (
            "long, then newline",
            [vec![b'y'; 200_000], b"\nshort\n".to_vec()].concat(),
        ),
        (
            "blanks to newline",
            [b"x".to_vec(), vec![b' '; 300_000], b"\n".to_vec()].concat(),
        ),
        (
            "blanks to the end",
            [b"x".to_vec(), vec![b'\t'; 300_000]].concat(),
        ),
        (
            "blanks then more",
            [b"x".to_vec(), vec![b' '; 300_000], b"y".to_vec()].concat(),
        ),
        ("NULs", vec![0; 300_000]),
    ];
    for (what, content) in cases {
        let d = l.path().join("e");
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("V"), &content).unwrap();
        let o = l.diff("chpst", &["-e", "e", "sh", "-c", "echo ${#V}"], |c| {
            c.current_dir(l.path());
        });
        assert!(!stderr(&o).contains("memory"), "{what}: {}", stderr(&o));
        let o2 = l.diff("envdir", &["e", "sh", "-c", "echo ${#V}"], |c| {
            c.current_dir(l.path());
        });
        assert_eq!(stdout(&o), stdout(&o2), "{what}");
    }
}

/// An endless entry (`/dev/zero`) or a 100 MB one under a 64 MiB address-space limit ends in
/// runit's message format with bounded memory, never Rust's allocation failure. A line past
/// 32 pages cannot be exec'd: `argument list too long`, exit 111 (docs/chpst.md: runit reads
/// until memory runs out and says `unable to read DIR/NAME: out of memory`). A short first
/// line of a huge file is all that is read.
#[test]
fn envdir_endless_or_huge_entry_is_bounded() {
    let t = tmp();
    let huge = 100_000_000;
    let zero = t.path().join("zero");
    std::fs::create_dir(&zero).unwrap();
    symlink("/dev/zero", zero.join("Z")).unwrap();
    let sparse = t.path().join("sparse");
    std::fs::create_dir(&sparse).unwrap();
    std::fs::File::create(sparse.join("F"))
        .unwrap()
        .set_len(huge)
        .unwrap();
    let short = t.path().join("short");
    std::fs::create_dir(&short).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(short.join("F")).unwrap();
        f.write_all(b"hello  \n").unwrap();
        f.set_len(huge).unwrap();
    }
    let too_long = "chpst: fatal: unable to run: sh: argument list too long\n";
    let l = Links::new();
    for (dir, want_out, want_err, want_code) in [
        (&zero, "", too_long, 111),
        (&sparse, "", too_long, 111),
        (&short, "[hello]\n", "", 0),
    ] {
        for personality in ["chpst", "envdir"] {
            let mut c = l.ours(personality, &[]);
            if personality == "chpst" {
                c.arg("-e");
            }
            c.arg(dir).args(["sh", "-c", "echo \"[$Z$F]\""]);
            unsafe_limit_as(&mut c, TIGHT_AS);
            let o = run_cmd(c, SECS);
            let what = format!("{personality} {}", dir.display());
            assert_eq!(stderr(&o), want_err, "{what}");
            assert_eq!(stdout(&o), want_out, "{what}");
            assert_eq!(o.status.code(), Some(want_code), "{what}");
        }
    }
}

/// Memory running out in chpst (a real allocation failure: 600 entries of 131000 bytes
/// each under a 64 MiB address space) ends in runit's `chpst: fatal: out of memory.` and
/// exit 111, exactly as Debian's chpst; never Rust's `memory allocation of N bytes failed`
/// and SIGABRT (issue 9). Also through the multicall binary.
#[test]
fn out_of_memory_is_runits_fatal_line() {
    let l = Links::new();
    let value = vec![b'v'; 131_000];
    std::fs::write(l.path().join("big"), &value).unwrap();
    let e = l.path().join("e");
    std::fs::create_dir(&e).unwrap();
    for i in 0..600 {
        symlink("../big", e.join(format!("V{i}"))).unwrap();
    }
    let limit = |c: &mut Command| {
        c.current_dir(l.path());
        unsafe_limit_as(c, TIGHT_AS);
    };
    let o = l.diff("chpst", &["-e", "e", "true"], limit);
    assert_eq!(stderr(&o), "chpst: fatal: out of memory.\n");
    assert_eq!(o.status.code(), Some(111));
    let o = l.diff("envdir", &["e", "true"], limit);
    assert_eq!(stderr(&o), "chpst: fatal: out of memory.\n");
    for name in ["chpst", "envdir"] {
        let args: &[&str] = if name == "chpst" {
            &["-e", "e", "true"]
        } else {
            &["e", "true"]
        };
        let mut c = l.multi(name, args);
        limit(&mut c);
        let o = run_cmd(c, SECS);
        assert_eq!(
            stderr(&o),
            "chpst: fatal: out of memory.\n",
            "multicall {name}"
        );
        assert_eq!(o.status.code(), Some(111), "multicall {name}");
    }
}

/// As PID 1 (here of a new PID namespace) a program must not die when memory runs out
/// (house rule 12: its death would take the system down): it warns and retries every
/// second, for as long as it takes. chpst stands in for every program: the rule lives in
/// the one allocator of all binaries.
#[test]
fn as_pid1_out_of_memory_pauses_and_retries() {
    let l = Links::new();
    let value = vec![b'v'; 131_000];
    std::fs::write(l.path().join("big"), &value).unwrap();
    let e = l.path().join("e");
    std::fs::create_dir(&e).unwrap();
    for i in 0..600 {
        symlink("../big", e.join(format!("V{i}"))).unwrap();
    }
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--kill-child"])
        .arg(bin("chpst"))
        .args(["-e", "e", "true"])
        .current_dir(l.path());
    unsafe_limit_as(&mut c, TIGHT_AS);
    let mut p = spawn_logged(c, l.path(), "pid1");
    let err = l.path().join("pid1.err");
    let line = "chpst: warning: out of memory, pausing.\n";
    must(SECS, "two out-of-memory warnings from PID 1", || {
        read(&err).matches(line).count() >= 2
    });
    assert!(p.alive(), "PID 1 died: {}", read(&err));
    assert_eq!(read(&err).replace(line, ""), "", "only the warning");
}

/// Missing, unreadable and unsearchable directories, unreadable files (as nobody).
#[test]
fn envdir_unreadable() {
    let l = Links::new();
    let p = l.path();
    let o = l.diff("chpst", &["-e", "/nonexistent", "true"], |_| {});
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unable to switch to directory: /nonexistent: file does not exist\n"
    );
    l.diff("envdir", &["/nonexistent", "true"], |_| {});
    let file = p.join("file");
    std::fs::write(&file, "").unwrap();
    l.diff("chpst", &["-e", file.to_str().unwrap(), "true"], |_| {});
    let mk = |n: &str, mode: u32| {
        let d = p.join(n);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("V"), "1").unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
        d.to_str().unwrap().to_string()
    };
    let d000 = mk("d000", 0o000);
    let d311 = mk("d311", 0o311);
    let d755 = mk("d755", 0o755);
    std::fs::set_permissions(p.join("d755/V"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // As nobody: our chpst drops privileges, then the chpst under test reads the directory.
    let nobody = |side: &str, args: &[&str]| as_nobody(&l, side, args);
    for (d, want) in [
        (
            &d000,
            format!("unable to switch to directory: {d000}: access denied"),
        ),
        (
            &d311,
            format!("unable to open directory: {d311}: access denied"),
        ),
        (&d755, format!("unable to read {d755}/V: access denied")),
    ] {
        let o = nobody("ours", &["-e", d, "true"]);
        let r = nobody("ref", &["-e", d, "true"]);
        assert_eq!(o.status.code(), Some(111));
        assert_eq!(stderr(&o), format!("chpst: fatal: {want}\n"));
        assert_eq!(stderr(&o), stderr(&r));
    }
}

/// -U after -e: `$UID`/`$GID` from -U win over the directory's.
#[test]
fn envdir_then_big_u() {
    let l = Links::new();
    let e = l.path().join("e");
    std::fs::create_dir(&e).unwrap();
    std::fs::write(e.join("UID"), "123").unwrap();
    std::fs::write(e.join("GID"), "456").unwrap();
    let o = l.diff(
        "chpst",
        &["-e", e.to_str().unwrap(), "-U", ":7:8", "/usr/bin/env"],
        |c| {
            c.env_clear().env("UID", "1");
        },
    );
    assert_eq!(stdout(&o), "GID=8\nUID=7\n");
}

// ------------------------------------------------------------------ locks

/// Holds `lock` in a background `chpst -L lock sleep` (the lock fd is inherited by prog).
fn hold_lock(lock: &Path, ready: &Path) -> Proc {
    let mut c = ours("chpst");
    c.arg("-L").arg(lock).args([
        "sh",
        "-c",
        &format!("echo > {}; exec sleep 60", ready.display()),
    ]);
    let p = spawn(c);
    must(5.0, "lock holder ready", || ready.exists());
    p
}

/// Is `pid` blocked in flock(2)? (x86_64 syscall 73; elsewhere: just alive.)
fn in_flock(pid: i32) -> bool {
    let s = read(format!("/proc/{pid}/syscall"));
    if cfg!(target_arch = "x86_64") && !s.is_empty() {
        s.split_whitespace().next() == Some("73")
    } else {
        pid_alive(pid)
    }
}

/// Is `pid` blocked in clock_nanosleep(2) or nanosleep(2)? (x86_64 syscalls 230 and 35;
/// elsewhere: just alive.)
fn in_nanosleep(pid: i32) -> bool {
    let s = read(format!("/proc/{pid}/syscall"));
    if cfg!(target_arch = "x86_64") && !s.is_empty() {
        matches!(s.split_whitespace().next(), Some("230" | "35"))
    } else {
        pid_alive(pid)
    }
}

/// -L fails at once while the lock is held; -l waits for it; the lock stays held in prog.
#[test]
fn locks_l_waits_big_l_fails() {
    let t = tmp();
    let lock = t.path().join("lock");
    let holder = hold_lock(&lock, &t.path().join("ready"));
    let ls = lock.to_str().unwrap();
    let o = chpst(&["-L", ls, "true"]);
    assert_eq!(o.status.code(), Some(111));
    assert_eq!(
        stderr(&o),
        format!("chpst: fatal: unable to lock: {ls}: temporary failure\n")
    );
    let l = Links::new();
    l.diff("chpst", &["-L", ls, "true"], |_| {});
    l.diff("setlock", &[ls, "true"], |_| {});
    l.diff("setlock", &["-N", ls, "true"], |_| {});
    let o = l.diff("setlock", &["-x", ls, "true"], |_| {});
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(0), ""));
    let got = t.path().join("got");
    let mut c = ours("chpst");
    c.args(["-l", ls, "sh", "-c", &format!("echo > {}", got.display())]);
    let mut waiter = spawn(c);
    must(5.0, "-l blocked in flock", || in_flock(waiter.pid()));
    assert!(!got.exists());
    drop(holder);
    must(5.0, "-l got the lock", || got.exists());
    assert!(waiter.wait_exit(5.0).unwrap().success());
}

/// setlock: non-blocking by default, `-n` waits (runit quirk), `-X` undoes `-x`.
#[test]
fn setlock_personality() {
    let l = Links::new();
    let t = tmp();
    let lock = t.path().join("lock");
    let ls = lock.to_str().unwrap();
    let o = l.diff("setlock", &[ls, "sh", "-c", "echo ran"], |_| {});
    assert_eq!(stdout(&o), "ran\n");
    let meta = std::fs::metadata(&lock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    l.diff("setlock", &["-x", "/nonexistent/lock", "true"], |_| {});
    l.diff("setlock", &["/nonexistent/lock", "true"], |_| {});
    l.diff("setlock", &["-x", ls, "/nonexistent"], |_| {});
    l.diff("setlock", &["-xX", ls, "/nonexistent"], |_| {});
    let holder = hold_lock(&lock, &t.path().join("ready"));
    let o = run_cmd(l.multi("setlock", &[ls, "true"]), SECS);
    assert_eq!(
        stderr(&o),
        format!("chpst: fatal: unable to lock: {ls}: temporary failure\n")
    );
    let got = t.path().join("got");
    let mut waiter = spawn({
        let mut c = l.ours("setlock", &["-n", ls, "sh", "-c"]);
        c.arg(format!("echo > {}", got.display()));
        c
    });
    must(5.0, "setlock -n blocked in flock", || {
        in_flock(waiter.pid())
    });
    drop(holder);
    must(5.0, "setlock -n got the lock", || got.exists());
    assert!(waiter.wait_exit(5.0).unwrap().success());
}

/// The lock descriptor is open in prog, not close-on-exec, and the lock is held there.
#[test]
fn lock_fd_inherited() {
    let t = tmp();
    let lock = t.path().join("lock");
    let ls = lock.to_str().unwrap();
    let o = chpst(&["-l", ls, "sh", "-c", "ls -l /proc/$$/fd"]);
    assert!(stdout(&o).contains(ls), "{}", stdout(&o));
    let inner = format!("{} -L {ls} true", bin("chpst").display());
    let o = chpst(&["-l", ls, "sh", "-c", &inner]);
    assert_eq!(
        o.status.code(),
        Some(111),
        "the lock is held while prog runs"
    );
}

// ------------------------------------------------------------------ everything at once

/// All state options together, in runit's order, compared with Debian's chpst (no -C).
#[test]
fn combined_options_match_reference() {
    users();
    let l = Links::new();
    let e = l.path().join("e");
    std::fs::create_dir(&e).unwrap();
    std::fs::write(e.join("FOO"), "bar").unwrap();
    let lock = l.path().join("lock");
    std::fs::write(&lock, "").unwrap();
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let probe = "echo $FOO $UID $GID; id -u; id -g; id -G; ulimit -n; ulimit -c; \
                 [ -e /proc/$$/fd/0 ] || echo stdin-closed";
    let spec = format!("{USER}:{G2}");
    let o = l.diff(
        "chpst",
        &[
            "-P",
            "-e",
            e.to_str().unwrap(),
            "-n",
            "1",
            "-U",
            "nobody",
            "-u",
            &spec,
            "-l",
            lock.to_str().unwrap(),
            "-0",
            "-o",
            "40",
            "-c",
            "0",
            "-b",
            "sh",
            "/bin/sh",
            "-c",
            probe,
        ],
        |c| {
            c.env_clear().env("PATH", "/usr/bin:/bin");
        },
    );
    let uid = id_of("passwd", USER);
    let g2 = id_of("group", G2);
    assert_eq!(
        stdout(&o),
        format!("bar 65534 65534\n{uid}\n{g2}\n{g2}\n40\n0\nstdin-closed\n")
    );
}

// ------------------------------------------------------------------ installation

/// scripts/install-links makes the six personality links; each runs as its personality.
/// The multicall binary also runs chpst under its own name (`runit-rs chpst …`).
#[test]
fn install_links_and_multicall() {
    let t = tmp();
    let target = bin("chpst");
    let o = run_cmd(
        {
            let mut c = Command::new(repo().join("scripts/install-links"));
            c.arg(t.path()).arg(&target);
            c
        },
        SECS,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (name, usage) in [
        ("envdir", " dir child"),
        ("envuidgid", " account child"),
        ("pgrphack", " child"),
        ("setlock", " [ -nNxX ] file program [ arg ... ]"),
        ("setuidgid", " account child"),
        ("softlimit", " [-a allbytes]"),
    ] {
        let p = t.path().join(name);
        assert_eq!(std::fs::read_link(&p).unwrap(), target);
        let o = run_cmd(Command::new(&p), SECS);
        assert_eq!(o.status.code(), Some(100));
        assert!(stderr(&o).starts_with(&format!("usage: {name}{usage}")));
    }
    // A second run refuses to replace existing files.
    let mut c = Command::new(repo().join("scripts/install-links"));
    c.arg(t.path());
    assert_eq!(run_cmd(c, SECS).status.code(), Some(111));
    let mut c = Command::new(bin("runit-rs"));
    c.args(["chpst", "-u", ":12:34", "cat", "/proc/self/status"]);
    let o = run_cmd(c, SECS);
    assert_eq!(field(&stdout(&o), "Uid:"), "12\t12\t12\t12");
}

/// Odd arguments: overflowing numbers, empty strings, `--`, a lone `-`; same output, stderr
/// and exit code as Debian's chpst.
#[test]
fn odd_inputs_match_reference() {
    let l = Links::new();
    let cases: &[(&str, &[&str])] = &[
        // Ids above 4294967294 diverge on purpose: `u_ids_that_do_not_fit_are_refused`.
        ("chpst", &["-u", ":4294967294:1", "id"]),
        ("chpst", &["-n", "99999999999", "nice"]),
        ("chpst", &["-n", "-99999999999", "nice"]),
        (
            "chpst",
            &["-o", "99999999999999999999999", "sh", "-c", "ulimit -n"],
        ),
        (
            "chpst",
            &["-m", "", "-d", "300000000", "sh", "-c", "ulimit -d"],
        ),
        ("chpst", &["-b", "", "sh", "-c", "echo $0"]),
        ("chpst", &[""]),
        ("chpst", &["--", "-x"]),
        ("chpst", &["-", "true"]),
        ("chpst", &["-e", "", "true"]),
        ("chpst", &["-/", "", "true"]),
        ("chpst", &["-L", "", "true"]),
        ("chpst", &["-U", "", "true"]),
        ("chpst", &["-1", "-v", "-e", "/nonexistent", "true"]),
        ("chpst", &["-2", "-e", "/nonexistent", "true"]),
        ("chpst", &["-vP012", "true"]),
        (
            "softlimit",
            &["-t", "1", "-t", "=", "sh", "-c", "ulimit -t"],
        ),
        ("softlimit", &["-t1", "--", "sh", "-c", "ulimit -t"]),
        ("setlock", &["-nx"]),
        ("setlock", &["--", "f"]),
        ("envuidgid", &["", "true"]),
        ("envdir", &["", "true"]),
    ];
    for (name, args) in cases {
        l.diff(name, args, |c| {
            c.current_dir(l.path());
        });
    }
}

// ------------------------------------------------------------------ after 2.3.0: -I -F -N -2

/// Every descendant of `pid` (host pids).
fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in read(format!("/proc/{p}/task/{p}/children"))
            .split_whitespace()
            .filter_map(|s| s.parse::<i32>().ok())
        {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

/// `-I`: prog is PID 1 of a new PID namespace, with that namespace's own /proc; its exit
/// code is chpst's. The host's mounts are untouched.
#[test]
fn i_runs_prog_as_pid1_of_a_new_namespace() {
    let before = read("/proc/self/mountinfo").lines().count();
    let o = chpst(&[
        "-I",
        "sh",
        "-c",
        "echo $$; ls /proc | grep -c '^[0-9]'; exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let out = stdout(&o);
    let mut l = out.lines();
    assert_eq!(l.next(), Some("1"));
    let n: usize = l.next().unwrap().parse().unwrap();
    assert!(n <= 4, "the namespace's /proc shows {n} processes");
    assert_eq!(stderr(&o), "");
    assert_eq!(read("/proc/self/mountinfo").lines().count(), before);
    // -F wins over -I in either order
    for args in [["-I", "-F"], ["-F", "-I"]] {
        let o = chpst(&[args[0], args[1], "sh", "-c", "echo $$ $PPID"]);
        assert_eq!(stdout(&o), "2 1\n", "{args:?}");
    }
}

/// `-F`: prog is pid 2 under a PID 1 that reaps everything and ends only when the last
/// process of the namespace has ended, with that process's exit code (a daemonizing prog
/// is followed to its daemon's end); `-v` narrates.
#[test]
fn f_runs_prog_as_pid2_and_waits_for_the_whole_namespace() {
    let t = tmp();
    let f = t.path().join("late");
    let o = chpst(&[
        "-v",
        "-F",
        "sh",
        "-c",
        &format!(
            "echo $$ $PPID; (sleep 0.3; echo late > {}; exit 6) & exit 0",
            f.display()
        ),
    ]);
    assert_eq!(stdout(&o), "2 1\n");
    assert_eq!(
        read(&f),
        "late\n",
        "chpst ended before the background process"
    );
    assert_eq!(o.status.code(), Some(6), "the last process's exit code");
    let e = stderr(&o);
    let l: Vec<&str> = e.lines().collect();
    assert_eq!(l.first(), Some(&"chpst: warning: pid1: start"), "{e}");
    assert_eq!(l.last(), Some(&"chpst: warning: pid1: done"), "{e}");
    assert!(l.contains(&"chpst: warning: pid1: pid 2: exit"), "{e}");
    // killed by a signal: 128 + signal
    let o = chpst(&["-F", "sh", "-c", "kill -9 $$"]);
    assert_eq!(o.status.code(), Some(137));
    // the options after -F apply inside: -u and a limit
    let o = chpst(&[
        "-F",
        "-u",
        ":12:34",
        "-o",
        "33",
        "sh",
        "-c",
        "id -u; ulimit -n",
    ]);
    assert_eq!(stdout(&o), "12\n33\n", "{}", stderr(&o));
}

/// Signals sent to chpst reach prog: with -I the relay sends them to the new PID 1 (prog,
/// which only gets what it has a handler for, as any init); with -F the new PID 1 sends
/// them on to every process of the namespace.
#[test]
fn signals_are_relayed_into_the_namespace() {
    for mode in ["-I", "-F"] {
        let t = tmp();
        let ready = t.path().join("ready");
        let script = format!(
            "trap 'exit 4' USR1; trap 'exit 9' TERM; touch {}; while :; do sleep 0.02; done",
            ready.display()
        );
        for (sig, code) in [(libc::SIGUSR1, 4), (libc::SIGTERM, 9)] {
            let _ = std::fs::remove_file(&ready);
            let mut c = ours("chpst");
            c.args([mode, "sh", "-c", &script]);
            let mut p = spawn(c);
            must(SECS, "prog ready", || ready.exists());
            p.signal(sig);
            let st = p.wait_exit(SECS).expect("chpst ends");
            assert_eq!(st.code(), Some(code), "{mode} signal {sig}");
        }
    }
}

/// SIGQUIT to chpst kills the whole namespace, even a PID 1 and children that ignore
/// every signal; and a chpst killed outright takes the namespace with it.
#[test]
fn sigquit_or_kill_to_chpst_ends_the_namespace() {
    for (mode, sig) in [
        ("-F", libc::SIGQUIT),
        ("-I", libc::SIGQUIT),
        ("-F", libc::SIGKILL),
    ] {
        let t = tmp();
        let ready = t.path().join("ready");
        let mut c = ours("chpst");
        c.args([
            mode,
            "sh",
            "-c",
            &format!(
                "trap '' TERM QUIT HUP INT; sh -c 'trap \"\" TERM QUIT; exec sleep 1000' & \
                 touch {}; while :; do sleep 0.02; done",
                ready.display()
            ),
        ]);
        let mut p = spawn(c);
        must(SECS, "prog ready", || ready.exists());
        let inside = descendants(p.pid());
        assert!(inside.len() >= 3, "{inside:?}");
        p.signal(libc::SIGTERM); // ignored inside
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(p.alive());
        p.signal(sig);
        let st = p.wait_exit(SECS).expect("chpst ends");
        if sig == libc::SIGQUIT {
            assert_eq!(st.code(), Some(137), "{mode}: new PID 1 killed");
        }
        must(SECS, "namespace gone", || {
            inside.iter().all(|&q| !pid_alive(q))
        });
    }
}

/// `-N`: -0, -1 and -2 put /dev/null on the descriptor instead of closing it. (Looked at
/// from outside, in prog = `sleep` once chpst has exec'd it: a shell probing itself would
/// move its own descriptors.)
#[test]
fn n_reopens_dev_null_instead_of_closing() {
    let t = tmp();
    for (flags, want) in [
        (&["-N", "-012"][..], ["/dev/null", "/dev/null", "/dev/null"]),
        (&["-N", "-1"][..], ["stdin", "/dev/null", "err"]),
        (&["-2"][..], ["stdin", "out", "closed"]),
    ] {
        let stdin = t.path().join("stdin");
        std::fs::write(&stdin, "").unwrap();
        let mut c = ours("chpst");
        c.args(flags).args(["sleep", "100"]);
        c.stdin(std::fs::File::open(&stdin).unwrap());
        c.stdout(std::fs::File::create(t.path().join("out")).unwrap());
        c.stderr(std::fs::File::create(t.path().join("err")).unwrap());
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        let mut child = c.spawn().unwrap();
        let pid = child.id() as i32;
        // Exec'd is not enough: the dynamic loader of `sleep` opens its libraries on the
        // lowest free descriptor (a closed 2) until it is done. Wait for `sleep` to sleep.
        must(SECS, "sleep sleeping", || {
            read(format!("/proc/{pid}/cmdline")) == "sleep\x00100\x00" && in_nanosleep(pid)
        });
        let got: Vec<String> = (0..3)
            .map(
                |fd| match std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) {
                    Ok(p) if p.starts_with(t.path()) => {
                        p.file_name().unwrap().to_string_lossy().into_owned()
                    }
                    Ok(p) => p.display().to_string(),
                    Err(_) => "closed".to_string(),
                },
            )
            .collect();
        unsafe_kill(pid, libc::SIGKILL);
        let _ = child.wait();
        assert_eq!(got, want, "{flags:?}");
    }
}

/// `-2` (also with -N): when prog cannot be executed, `unable to run` still reaches the
/// original stderr (upstream after 2.3.0; Debian's 2.1.2 prints it into the void).
#[test]
fn minus_2_restores_stderr_when_exec_fails() {
    let l = Links::new();
    for flags in [&["-2"][..], &["-012"][..], &["-N", "-012"][..]] {
        let mut args = flags.to_vec();
        args.push("./ENOENT.err");
        let o = run_cmd(l.ours("chpst", &args), SECS);
        assert_eq!(
            stderr(&o),
            "chpst: fatal: unable to run: ./ENOENT.err: file does not exist\n",
            "{flags:?}"
        );
        assert_eq!(o.status.code(), Some(111));
    }
    let r = run_cmd(l.reference("chpst", &["-2", "./ENOENT.err"]), SECS);
    assert_eq!((stderr(&r).as_str(), r.status.code()), ("", Some(111)));
    // prog does not inherit the saved copy (close-on-exec): it has one descriptor fewer
    // than without -2, the closed 2 (whatever else the test's caller left open, `flock`'s
    // lock for one, is there both times)
    let fds = |flags: &[&str]| {
        let mut a = flags.to_vec();
        a.extend(["sh", "-c", "cd /proc/$$/fd && echo *"]);
        stdout(&chpst(&a)).split_whitespace().count()
    };
    let (with, without) = (fds(&["-2"]), fds(&[]));
    assert!(without >= 4, "0, 1, 2 and the directory: {without}");
    assert_eq!(with + 1, without);
}

/// Without the privilege to make namespaces (any user but root): chpst says so, exit 111.
#[test]
fn namespaces_need_privilege() {
    for mode in ["-I", "-F"] {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin("chpst"))
            .args([mode, "true"]);
        let o = run_cmd(c, SECS);
        assert_eq!(
            stderr(&o),
            "chpst: fatal: unable to set namespaces: permission denied\n"
        );
        assert_eq!(o.status.code(), Some(111));
    }
}

//! Installing: `make install DESTDIR=... PREFIX=/usr` (scripts/install) lays out every path,
//! mode and link of Debian's packages, by default one multicall binary with every program a
//! link to it, and `make uninstall` removes them; the per-program variant
//! (`PER_PROGRAM=1`); completions load from where they are installed; `runit-rs
//! --help`/`--version`; the demo script (scripts/demo) and its SIGTERM.
//!
//! The binaries installed are this test build's (a stand-in DIST of copies), so no release
//! build runs inside the tests; `make`'s own build is scripts/build-dist.
use crate::common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAMS: [&str; 9] = [
    "chpst",
    "runit",
    "runit-init",
    "runsv",
    "runsvchdir",
    "runsvdir",
    "sv",
    "svlogd",
    "utmpset",
];
const PERSONALITIES: [&str; 6] = [
    "envdir",
    "envuidgid",
    "pgrphack",
    "setlock",
    "setuidgid",
    "softlimit",
];

/// A DIST directory as scripts/build-dist leaves it: bin/runit-rs (the multicall binary)
/// and per-program/ with the nine programs, here copies of the test build.
fn dist(t: &Path) -> PathBuf {
    let d = t.join("dist");
    std::fs::create_dir_all(d.join("bin")).unwrap();
    std::fs::create_dir_all(d.join("per-program")).unwrap();
    for p in PROGRAMS {
        std::fs::copy(bin(p), d.join("per-program").join(p)).unwrap();
    }
    std::fs::copy(bin("runit-rs"), d.join("bin/runit-rs")).unwrap();
    d
}

/// `make -C repo TARGET VARS...`; asserts success, returns stdout.
fn make(target: &str, vars: &[(&str, &Path)], extra: &[&str]) -> String {
    let mut c = Command::new("make");
    c.arg("-s").arg("-C").arg(repo()).arg(target);
    for (k, v) in vars {
        c.arg(format!("{k}={}", v.display()));
    }
    c.args(extra);
    let o = run_cmd(c, 60.0);
    assert!(
        o.status.success(),
        "make {target}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    assert_eq!(stderr(&o), "", "make {target} wrote on stderr");
    stdout(&o)
}

/// Every entry below `root` that is not a directory: path (from root) -> "file MODE" or
/// "link TARGET"; directories must all be 0755.
fn tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = format!("/{}", p.strip_prefix(root).unwrap().display());
            if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, format!("link {}", t.display()));
            } else if m.is_dir() {
                assert_eq!(m.permissions().mode() & 0o7777, 0o755, "{rel}");
                walk(root, &p, out);
            } else {
                assert!(m.is_file(), "{rel}");
                out.insert(rel, format!("file {:o}", m.permissions().mode() & 0o7777));
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

fn man_pages(multicall: bool) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".8") && (multicall || n != "runit-rs.8"))
        .collect();
    v.sort();
    assert!(v.len() >= 15, "{v:?}");
    v
}

/// What `make install PREFIX=/usr` must leave, per path: Debian's layout, one multicall
/// binary (the default) or separate programs (`PER_PROGRAM=1`).
fn expected_usr(multicall: bool) -> BTreeMap<String, String> {
    let mut e = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        e.insert(k.to_string(), v.to_string());
    };
    let loc = |p: &str| match p {
        "runit" | "runit-init" => "/sbin",
        "runsvchdir" | "utmpset" => "/usr/sbin",
        _ => "/usr/bin",
    };
    if multicall {
        put("/usr/bin/runit-rs", "file 755");
        for p in PROGRAMS.iter().chain(PERSONALITIES.iter()) {
            let dir = loc(p);
            let target = if dir == "/usr/bin" {
                "link runit-rs"
            } else {
                "link /usr/bin/runit-rs"
            };
            put(&format!("{dir}/{p}"), target);
        }
    } else {
        for p in PROGRAMS {
            put(&format!("{}/{p}", loc(p)), "file 755");
        }
        for p in PERSONALITIES {
            put(&format!("/usr/bin/{p}"), "link chpst");
        }
    }
    for m in man_pages(multicall) {
        put(&format!("/usr/share/man/man8/{m}"), "file 644");
    }
    put("/usr/share/bash-completion/completions/sv", "file 644");
    put("/usr/share/zsh/vendor-completions/_sv", "file 644");
    put("/usr/share/fish/vendor_completions.d/sv.fish", "file 644");
    e
}

fn same_bytes(a: &Path, b: &Path) {
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "{} differs from {}",
        a.display(),
        b.display()
    );
}

#[test]
fn make_install_per_program_debian_layout_then_uninstall_removes_it() {
    let t = tmp();
    let d = dist(t.path());
    let dest = t.path().join("dest");
    let out = make(
        "install",
        &[("DESTDIR", &dest), ("DIST", &d)],
        &["PREFIX=/usr", "PER_PROGRAM=1"],
    );
    assert!(out.contains("runit-rs installed (per-program)"), "{out}");
    assert_eq!(tree(&dest), expected_usr(false));
    for p in PROGRAMS {
        let dir = match p {
            "runit" | "runit-init" => "sbin",
            "runsvchdir" | "utmpset" => "usr/sbin",
            _ => "usr/bin",
        };
        same_bytes(&dest.join(dir).join(p), &d.join("per-program").join(p));
    }
    for m in man_pages(false) {
        same_bytes(
            &dest.join("usr/share/man/man8").join(&m),
            &repo().join("man").join(&m),
        );
    }
    same_bytes(
        &dest.join("usr/share/zsh/vendor-completions/_sv"),
        &repo().join("completions/_sv"),
    );
    // a personality link runs chpst under its name
    let o = run_cmd(Command::new(dest.join("usr/bin/setuidgid")), 10.0);
    assert!(
        stderr(&o).starts_with("usage: setuidgid "),
        "{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(100));
    // installing again over an installation is fine and changes nothing
    make(
        "install",
        &[("DESTDIR", &dest), ("DIST", &d)],
        &["PREFIX=/usr", "PER_PROGRAM=1"],
    );
    assert_eq!(tree(&dest), expected_usr(false));

    let out = make(
        "uninstall",
        &[("DESTDIR", &dest), ("DIST", &d)],
        &["PREFIX=/usr"],
    );
    assert!(out.contains("runit-rs removed"), "{out}");
    assert_eq!(tree(&dest), BTreeMap::new(), "left behind after uninstall");
}

#[test]
fn make_install_default_links_every_program_to_one_multicall_binary() {
    let t = tmp();
    let d = dist(t.path());
    let dest = t.path().join("dest");
    let out = make(
        "install",
        &[("DESTDIR", &dest), ("DIST", &d)],
        &["PREFIX=/usr"],
    );
    assert!(out.contains("runit-rs installed: "), "{out}");
    assert_eq!(tree(&dest), expected_usr(true));
    same_bytes(&dest.join("usr/bin/runit-rs"), &d.join("bin/runit-rs"));
    // a personality link runs chpst under its name
    let o = run_cmd(Command::new(dest.join("usr/bin/setuidgid")), 10.0);
    assert!(
        stderr(&o).starts_with("usage: setuidgid "),
        "{}",
        stderr(&o)
    );
    // a link in the same directory runs its program (the absolute ones point into /usr)
    let mut c = Command::new(dest.join("usr/bin/sv"));
    c.arg("-V");
    let o = run_cmd(c, 10.0);
    assert!(stderr(&o).starts_with("$Id: runit-rs"), "{}", stderr(&o));

    // an init-script link to the installed sv (a link to runit-rs) is sv in its LSB mode,
    // as a link to Debian's sv is: runit-rs follows the links to find the program
    let initd = t.path().join("init.d");
    let svdir = t.path().join("svdir");
    std::fs::create_dir_all(&svdir).unwrap();
    std::fs::create_dir_all(&initd).unwrap();
    std::os::unix::fs::symlink(dest.join("usr/bin/sv"), initd.join("web")).unwrap();
    std::os::unix::fs::symlink(ref_bin("sv"), initd.join("webref")).unwrap();
    let lsb = |name: &str| {
        let mut c = Command::new(initd.join(name));
        c.arg("status").env("SVDIR", &svdir);
        let o = run_cmd(c, 10.0);
        (stdout(&o).replace(name, "NAME"), o.status.code())
    };
    let ours = lsb("web");
    assert!(ours.0.starts_with("fail: NAME: "), "{ours:?}");
    assert_eq!(ours, lsb("webref"));
    // installing again over an installation is fine and changes nothing
    make(
        "install",
        &[("DESTDIR", &dest), ("DIST", &d)],
        &["PREFIX=/usr"],
    );
    assert_eq!(tree(&dest), expected_usr(true));
    // switching to separate programs removes the other variant's paths first: no link left
    // where a file belongs, no multicall binary left over; and back again
    make(
        "install",
        &[("DESTDIR", &dest), ("DIST", &d)],
        &["PREFIX=/usr", "PER_PROGRAM=1"],
    );
    assert_eq!(tree(&dest), expected_usr(false));
    make(
        "install",
        &[("DESTDIR", &dest), ("DIST", &d)],
        &["PREFIX=/usr"],
    );
    assert_eq!(tree(&dest), expected_usr(true));
    make("uninstall", &[("DESTDIR", &dest)], &["PREFIX=/usr"]);
    assert_eq!(tree(&dest), BTreeMap::new(), "left behind after uninstall");
}

#[test]
fn make_install_default_prefix_is_usr_local() {
    let t = tmp();
    let d = dist(t.path());
    let dest = t.path().join("dest");
    make("install", &[("DESTDIR", &dest), ("DIST", &d)], &[]);
    let got = tree(&dest);
    for (k, v) in [
        ("/usr/local/bin/runit-rs", "file 755"),
        ("/usr/local/bin/sv", "link runit-rs"),
        ("/usr/local/bin/envdir", "link runit-rs"),
        ("/usr/local/sbin/runit", "link /usr/local/bin/runit-rs"),
        ("/usr/local/sbin/runit-init", "link /usr/local/bin/runit-rs"),
        ("/usr/local/sbin/utmpset", "link /usr/local/bin/runit-rs"),
        ("/usr/local/share/man/man8/sv.8", "file 644"),
        (
            "/usr/local/share/bash-completion/completions/sv",
            "file 644",
        ),
        ("/usr/local/share/zsh/site-functions/_sv", "file 644"),
        (
            "/usr/local/share/fish/vendor_completions.d/sv.fish",
            "file 644",
        ),
    ] {
        assert_eq!(got.get(k).map(|s| s.as_str()), Some(v), "{k}: {got:?}");
    }
    assert_eq!(got.len(), expected_usr(true).len(), "{got:?}");
    make("uninstall", &[("DESTDIR", &dest)], &[]);
    assert_eq!(tree(&dest), BTreeMap::new());
}

#[test]
fn make_install_refuses_missing_binaries_and_writes_nothing() {
    let t = tmp();
    let d = dist(t.path());
    std::fs::remove_file(d.join("per-program/svlogd")).unwrap();
    let dest = t.path().join("dest");
    // DIST/per-program/runsv exists, so make does not build; scripts/install finds svlogd
    // missing
    let mut c = Command::new("make");
    c.arg("-s").arg("-C").arg(repo()).arg("install");
    c.arg(format!("DESTDIR={}", dest.display()));
    c.arg(format!("DIST={}", d.display()));
    c.arg("PER_PROGRAM=1");
    let o = run_cmd(c, 60.0);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("install: fatal: ")
            && stderr(&o).contains("per-program/svlogd does not exist"),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(&dest), BTreeMap::new());
}

/// The installed completions, found by each shell's own search rules (bash-completion's
/// XDG_DATA_DIRS loader, zsh's $fpath + compinit, fish's vendor_completions.d), complete a
/// service name of $SVDIR. (tests/completions.sh tests the files in depth.)
#[test]
fn installed_completions_load_in_bash_zsh_and_fish() {
    let t = tmp();
    let d = dist(t.path());
    let dest = t.path().join("dest");
    make(
        "install",
        &[("DESTDIR", &dest), ("DIST", &d)],
        &["PREFIX=/usr"],
    );
    let share = dest.join("usr/share");
    let svdir = t.path().join("service");
    std::fs::create_dir_all(svdir.join("alpha")).unwrap();
    std::fs::create_dir_all(svdir.join("beta")).unwrap();
    // fish completes a command only when it finds it in $PATH: the installed sv, as for a user
    let path = format!(
        "{}:{}",
        dest.join("usr/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shell = |prog: &str, args: &[&str]| {
        let mut c = Command::new(prog);
        c.args(args)
            .env("PATH", &path)
            .env("XDG_CONFIG_HOME", t.path().join("config"))
            .env("SVDIR", &svdir)
            .env("XDG_DATA_DIRS", &share)
            .env("HOME", t.path());
        let o = run_cmd(c, 30.0);
        (o.status.success(), stdout(&o), stderr(&o))
    };
    let bc = Path::new("/usr/share/bash-completion/bash_completion");
    if bc.exists() {
        let (ok, out, err) = shell(
            "bash",
            &[
                "--norc",
                "-c",
                ". /usr/share/bash-completion/bash_completion; __load_completion sv || exit 1; \
                 COMP_WORDS=(sv status al); COMP_CWORD=2; COMP_LINE='sv status al'; \
                 COMP_POINT=${#COMP_LINE}; $(complete -p sv | sed 's/.* -F \\([^ ]*\\) .*/\\1/') \
                 sv al status; printf '%s\\n' \"${COMPREPLY[@]}\"",
            ],
        );
        assert!(ok, "bash: {err}");
        assert_eq!(out.trim(), "alpha", "bash: {err}");
    } else {
        eprintln!("SKIP: bash-completion not installed: bash's loading not checked");
    }
    if Command::new("zsh").arg("-fc").arg("true").status().is_ok() {
        let (ok, out, err) = shell(
            "zsh",
            &[
                "-fc",
                &format!(
                    "fpath=({} $fpath); autoload -Uz compinit; compinit -u -D; print -r -- ${{_comps[sv]}}",
                    share.join("zsh/vendor-completions").display()
                ),
            ],
        );
        assert!(ok, "zsh: {err}");
        // ours, not zsh's own _runit (which also claims sv)
        assert_eq!(out.trim(), "_sv", "zsh: {err}");
    } else {
        eprintln!("SKIP: zsh not installed");
    }
    if Command::new("fish").arg("-c").arg("true").status().is_ok() {
        let (ok, out, err) = shell("fish", &["-c", "complete -C 'sv status al'"]);
        assert!(ok, "fish: {err}");
        assert_eq!(
            out.split('\t').next().unwrap().trim(),
            "alpha",
            "fish: {out} {err}"
        );
    } else {
        eprintln!("SKIP: fish not installed");
    }
}

// ---------------------------------------------------------------- runit-rs itself

#[test]
fn multicall_help_and_version_list_programs_without_touching_dispatch() {
    let version = env!("CARGO_PKG_VERSION");
    let mut c = ours("runit-rs");
    c.arg("--version");
    let o = run_cmd(c, 10.0);
    assert_eq!(stdout(&o), format!("runit-rs {version} (runit 2.3.0)\n"));
    assert_eq!(stderr(&o), "");
    assert_eq!(o.status.code(), Some(0));

    let mut c = ours("runit-rs");
    c.arg("--help");
    let o = run_cmd(c, 10.0);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), "");
    assert!(out.starts_with(&format!("runit-rs {version}: ")), "{out}");
    let listed: Vec<&str> = out
        .split("programs (init is runit-init):")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let mut all: Vec<&str> = PROGRAMS
        .iter()
        .chain(PERSONALITIES.iter())
        .copied()
        .collect();
    all.push("init");
    all.sort();
    assert_eq!(listed, all);

    // a program's own --help stays the program's: sv's usage, byte for byte as Debian's sv
    let t = tmp();
    let link = t.path().join("sv");
    std::os::unix::fs::symlink(bin("runit-rs"), &link).unwrap();
    let mut a = Command::new(&link);
    a.arg("--help");
    let a = run_cmd(a, 10.0);
    let mut b = Command::new(ref_bin("sv"));
    b.arg("--help");
    let b = run_cmd(b, 10.0);
    assert_eq!(stderr(&a), stderr(&b));
    assert_eq!(stdout(&a), "");
    assert_eq!(a.status.code(), b.status.code());
    let mut c = ours("runit-rs");
    c.args(["sv", "--help"]);
    let c = run_cmd(c, 10.0);
    assert_eq!(stderr(&c), stderr(&b));
    assert_eq!(c.status.code(), b.status.code());
    // --version after a program name is that program's argument too
    let mut c = ours("runit-rs");
    c.args(["chpst", "--version"]);
    let c = run_cmd(c, 10.0);
    assert_eq!(c.status.code(), Some(100), "{}", stderr(&c));
    assert!(stderr(&c).starts_with("usage: chpst "), "{}", stderr(&c));
}

// ---------------------------------------------------------------- the demo script

/// Stops what the demo's runsvdir left if the test fails half-way (runsv runs in sessions of
/// its own, out of reach of the process-group kill of `Proc`).
struct DemoTree(PathBuf);

impl Drop for DemoTree {
    fn drop(&mut self) {
        for s in ["ticker", "echo-server"] {
            let d = self.0.join(s);
            if runsv_alive(&d) {
                let mut c = ours("sv");
                c.args(["-w", "5", "x"]).arg(&d);
                let _ = run_cmd(c, 10.0);
            }
        }
    }
}

#[test]
fn demo_says_what_it_started_and_sigterm_stops_everything_exit_0() {
    let t = tmp();
    let work = t.path().join("demo");
    let _guard = DemoTree(work.join("service"));
    let mut c = Command::new(repo().join("scripts/demo"));
    c.env("DEMO_BIN", bin("runsv").parent().unwrap())
        .env("DEMO_DIR", &work);
    let mut p = spawn_logged(c, t.path(), "demo");
    let out = || read(t.path().join("demo.out"));
    must(20.0, "demo prints the status of both services", || {
        out().contains("run: ticker: (pid ") && out().contains("echo-server: (pid ")
    });
    let o = out();
    let svdir = work.join("service");
    assert!(o.starts_with("runit-rs demo: runsvdir (pid "), "{o}");
    assert!(
        o.contains(&format!("supervises {}:", svdir.display())),
        "{o}"
    );
    assert!(
        o.contains(&format!("  export SVDIR={} PATH=", svdir.display())),
        "{o}"
    );
    assert!(
        o.contains(&format!(
            "Stop the demo: Ctrl-C here, or kill -TERM {}",
            p.pid()
        )),
        "{o}"
    );
    // the SVDIR it names works from another shell
    let mut s = ours("sv");
    s.args(["status", "ticker"]).env("SVDIR", &svdir);
    let s = run_cmd(s, 10.0);
    assert!(
        stdout(&s).starts_with("run: ticker: (pid "),
        "{}",
        stdout(&s)
    );

    p.signal(libc::SIGTERM);
    let st = p.wait_exit(20.0).expect("demo exits after SIGTERM");
    assert_eq!(st.code(), Some(0), "{}", out());
    assert_eq!(read(t.path().join("demo.err")), "", "stray errors");
    assert!(
        out().ends_with(&format!(
            "demo stopped; logs are in {}/*/log/main/current\n",
            svdir.display()
        )),
        "{}",
        out()
    );
    for s in ["ticker", "echo-server"] {
        assert!(!runsv_alive(&svdir.join(s)), "{s}: runsv left running");
        assert!(
            !runsv_alive(&svdir.join(s).join("log")),
            "{s}/log left running"
        );
    }
}

/// The static multicall binary (what `make` builds) reads users through glibc's built-in
/// `files` module only: a name nsswitch.conf's other modules would be asked about (Debian:
/// `passwd: files systemd`) is "unknown", not a crash of the static binary
/// (src/sys/user.rs). scripts/test builds one and names it in `RUNIT_RS_STATIC`.
#[test]
fn static_multicall_chpst_unknown_user_is_an_error_not_a_crash() {
    let Some(mc) = static_multicall() else {
        eprintln!("SKIP: RUNIT_RS_STATIC unset (scripts/test sets it): static NSS not checked");
        return;
    };
    let mut c = Command::new(&mc);
    c.args(["chpst", "-u", "runit-rs-no-such-user", "true"]);
    let o = run_cmd(c, 10.0);
    assert_eq!(
        stderr(&o),
        "chpst: fatal: unknown user/group: runit-rs-no-such-user\n"
    );
    assert_eq!(o.status.code(), Some(111));
    let mut c = Command::new(&mc);
    c.args(["chpst", "-u", "nobody", "id", "-u"]);
    let o = run_cmd(c, 10.0);
    assert_eq!(stdout(&o), "65534\n", "{}", stderr(&o));
}

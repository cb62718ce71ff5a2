//! The multicall binary: runs the program named by basename(argv[0]); called under its own
//! name, the program named by argv[1] (`runit-rs sv status foo`).
//!
//! Under a name that is no program's, the name of the first link on the way to the binary
//! that is one's decides (`/etc/init.d/web -> /usr/bin/sv -> runit-rs` is sv in its LSB
//! mode; `prog::by_link`), so every name runit's separate programs answer to works through
//! links to the multicall binary too; only when none is, argv[1] names the program.
//!
//! `--help` and `--version` are its own, and only as the first argument under a name that
//! is no program's: `sv --help` through a link is still sv's own usage error, byte for
//! byte, and `runit-rs sv --help` is sv's too. runit has no multicall binary, so no
//! compatibility rule applies to these two.
//!
//! `no_main`, so that runit, runit-init and chpst get the raw process state their own
//! binaries get (fds 0-2 as given, SIGPIPE as inherited); every other program gets SIGPIPE
//! ignored, as Rust's start-up code gives its standalone binary.
#![no_main]

/// runit's `out of memory.` instead of Rust's abort (`sys::alloc`).
#[global_allocator]
static ALLOC: runit_rs::sys::alloc::Alloc = runit_rs::sys::alloc::Alloc;

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    use std::os::unix::ffi::OsStrExt;
    // runsv keeps its start-up allocations out of malloc (sys::alloc's arena): decided
    // from the raw argv, before anything allocates.
    if runit_rs::sys::proctitle::argv_arg(0).map(runit_rs::basename) == Some(b"runsv") {
        runit_rs::sys::alloc::use_arena();
    }
    let argv0 =
        std::ffi::OsStr::from_bytes(runit_rs::sys::proctitle::argv_arg(0).unwrap_or_default());
    let name = runit_rs::basename(argv0.as_bytes()).to_vec();
    let program = if runit_rs::prog::by_name(&name).is_some() {
        Some(name)
    } else {
        linked_program(argv0)
    };
    let shifted = program.is_none();
    let _ = PROGRAM.set(program.unwrap_or_default());
    runit_rs::run(if shifted { dispatch_shifted } else { dispatch })
}

/// The program [`dispatch`] runs, decided in `main` from argv[0].
static PROGRAM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// The program named by a link on the way from argv[0] to this binary (`prog::by_link`);
/// argv[0] without a slash is looked up on PATH, as the shell that ran us found it.
fn linked_program(argv0: &std::ffi::OsStr) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};
    let start = if argv0.as_bytes().contains(&b'/') {
        PathBuf::from(argv0)
    } else {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(argv0))
            .find(|p| std::fs::symlink_metadata(p).is_ok())?
    };
    runit_rs::prog::by_link(&start, |p: &Path| std::fs::read_link(p).ok())
}

fn dispatch(args: Vec<Vec<u8>>) -> i32 {
    let name = PROGRAM.get().map(|n| n.as_slice()).unwrap_or(b"");
    match runit_rs::prog::by_name(name) {
        Some(m) => {
            like_standalone(name);
            m(args)
        }
        None => 100,
    }
}

/// SIGPIPE as the program's own binary would have it (see the module doc).
fn like_standalone(name: &[u8]) {
    let raw = matches!(
        name,
        b"runit"
            | b"runit-init"
            | b"init"
            | b"chpst"
            | b"envdir"
            | b"envuidgid"
            | b"pgrphack"
            | b"setlock"
            | b"setuidgid"
            | b"softlimit"
    );
    if !raw {
        let _ = runit_rs::sys::signals::ignore(libc::SIGPIPE);
    }
}

fn dispatch_shifted(mut args: Vec<Vec<u8>>) -> i32 {
    if args.len() < 2 {
        runit_rs::msg::usage(b"runit-rs", b" program [args ...]");
        return 100;
    }
    match args[1].as_slice() {
        b"--help" => return help(),
        b"--version" => return version(),
        _ => {}
    }
    args.remove(0);
    match runit_rs::prog::by_name(runit_rs::basename(&args[0])) {
        Some(m) => {
            like_standalone(runit_rs::basename(&args[0]));
            m(args)
        }
        None => {
            runit_rs::msg::err(&[b"runit-rs: fatal: unknown program: ", &args[0]]);
            100
        }
    }
}

/// `runit-rs --help`: what the binary is, how it is called, and every program it holds.
fn help() -> i32 {
    let mut names = Vec::new();
    for (i, n) in runit_rs::prog::NAMES.iter().enumerate() {
        names.extend_from_slice(if i % 8 == 0 { b"\n  " } else { b" " });
        names.extend_from_slice(n.as_bytes());
    }
    runit_rs::msg::out(&[
        b"runit-rs ",
        env!("CARGO_PKG_VERSION").as_bytes(),
        b": the runit 2.3.0 programs in one binary\n\n",
        b"usage: runit-rs program [args ...]\n",
        b"       NAME [args ...]   (a link NAME -> runit-rs runs the program NAME)\n",
        b"       runit-rs --help | --version\n\n",
        b"programs (init is runit-init):",
        &names,
        b"\n\nEach program is described in its manual page (man 8 sv); links: runit-rs(8).",
    ]);
    0
}

/// `runit-rs --version`: the version, and that of runit the programs follow.
fn version() -> i32 {
    runit_rs::msg::out(&[
        b"runit-rs ",
        env!("CARGO_PKG_VERSION").as_bytes(),
        b" (runit 2.3.0)",
    ]);
    0
}

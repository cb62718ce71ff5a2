#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `runit-init`: installed as `/sbin/init`. As PID 1 it execs `/sbin/runit`; otherwise
//! `init 0` / `init 6` ask the running runit to halt or reboot through the stopit and
//! reboot flag files and SIGCONT (spec runit-init.md, strings formats.md §10). The flag
//! files are upstream's `/etc/runit/{stopit,reboot}` or, where the system uses Debian's
//! layout, `/run/runit.{stopit,reboot}`: the rule runit itself follows (src/initctl.rs).

use crate::initctl;
use crate::msg;
use crate::sys::{self, Errno};
use std::ffi::CStr;

/// Exit code of a usage error: runit-init's is 0 (observed).
pub const EXIT_USAGE: i32 = 0;
/// Exit code when a request was passed to PID 1 (its delivery is not checked).
pub const EXIT_OK: i32 = 0;
/// Exit code when a flag file cannot be created or chmodded, or runit cannot be started.
pub const EXIT_FATAL: i32 = 111;

const RUNIT: &CStr = c"/sbin/runit";

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    msg::set_prefix(&[b"init: "]);
    sys::alloc::set_oom_exit(EXIT_FATAL); // as PID 1 the allocator retries instead
    if sys::getpid() == 1 {
        crate::sys::init::fill_std_fds();
        let e = match sys::Argv::new(&[b"runit"]) {
            Ok(argv) => sys::execv(RUNIT, &argv),
            Err(e) => e,
        };
        msg::fatal_errno(EXIT_FATAL, &[b"unable to start runit"], e);
    }
    let argv0: &[u8] = args.first().map(|a| a.as_slice()).unwrap_or(b"runit-init");
    let usage = || {
        msg::usage(argv0, b" 0|6");
        EXIT_USAGE
    };
    let Some(arg) = args.get(1) else {
        return usage();
    };
    let layout = initctl::layout();
    let (stopit, reboot) = (layout.stopit(), layout.reboot());
    match arg.first() {
        Some(b'0') => {
            flag(stopit, 0o100);
            if let Err(e) = sys::chmod(reboot, 0) {
                if e != Errno::NOENT {
                    msg::fatal_errno(EXIT_FATAL, &[b"unable to chmod ", reboot.to_bytes()], e);
                }
            }
        }
        Some(b'6') => {
            flag(stopit, 0o100);
            flag(reboot, 0o100);
        }
        Some(b'-') if arg.get(1) == Some(&b'V') => {
            msg::err(&[msg::VERSION_ID, b"\n"]);
            return usage();
        }
        _ => return usage(),
    }
    let _ = sys::kill(1, libc::SIGCONT);
    EXIT_OK
}

/// Creates `path` (0644, truncated) and sets its mode to `mode`; fatal on failure.
fn flag(path: &CStr, mode: u32) {
    if let Err(e) = sys::open(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NONBLOCK,
        0o644,
    ) {
        msg::fatal_errno(EXIT_FATAL, &[b"unable to create ", path.to_bytes()], e);
    }
    if let Err(e) = sys::chmod(path, mode) {
        msg::fatal_errno(EXIT_FATAL, &[b"unable to chmod ", path.to_bytes()], e);
    }
}

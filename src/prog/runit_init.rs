#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `runit-init`: installed as `/sbin/init`. As PID 1 it execs `/sbin/runit`; otherwise
//! `init 0` / `init 6` ask the running runit to halt or reboot through the stopit and
//! reboot flag files and SIGCONT (spec runit-init.md, strings formats.md §10).

use crate::msg;
use crate::sys;
use std::ffi::CStr;

/// Exit code of a usage error: runit-init's is 0 (observed).
pub const EXIT_USAGE: i32 = 0;
/// Exit code when a request was passed to PID 1 (its delivery is not checked).
pub const EXIT_OK: i32 = 0;
/// Exit code when a flag file cannot be created or chmodded, or runit cannot be started.
pub const EXIT_FATAL: i32 = 111;

const RUNIT: &CStr = c"/sbin/runit";
const STOPIT: &CStr = c"/etc/runit/stopit";
const REBOOT: &CStr = c"/etc/runit/reboot";
const FATAL: &[u8] = b"init: fatal: ";

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    if sys::getpid() == 1 {
        crate::sys::init::fill_std_fds();
        let e = match sys::Argv::new(&[b"runit"]) {
            Ok(argv) => sys::execv(RUNIT, &argv),
            Err(e) => e,
        };
        msg::err_errno(&[FATAL, b"unable to start runit"], e);
        return EXIT_FATAL;
    }
    let argv0: &[u8] = args.first().map(|a| a.as_slice()).unwrap_or(b"runit-init");
    let usage = || {
        msg::usage(argv0, b" 0|6");
        EXIT_USAGE
    };
    let Some(arg) = args.get(1) else {
        return usage();
    };
    match arg.first() {
        Some(b'0') => {
            if let Err(code) = flag(STOPIT, 0o100) {
                return code;
            }
            if let Err(e) = sys::chmod(REBOOT, 0) {
                if e != libc::ENOENT {
                    msg::err_errno(&[FATAL, b"unable to chmod ", REBOOT.to_bytes()], e);
                    return EXIT_FATAL;
                }
            }
        }
        Some(b'6') => {
            if let Err(code) = flag(STOPIT, 0o100) {
                return code;
            }
            if let Err(code) = flag(REBOOT, 0o100) {
                return code;
            }
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

/// Creates `path` (0644, truncated) and sets its mode to `mode`.
fn flag(path: &CStr, mode: u32) -> Result<(), i32> {
    let fd = sys::open(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NONBLOCK,
        0o644,
    )
    .map_err(|e| {
        msg::err_errno(&[FATAL, b"unable to create ", path.to_bytes()], e);
        EXIT_FATAL
    })?;
    let _ = sys::close(fd);
    sys::chmod(path, mode).map_err(|e| {
        msg::err_errno(&[FATAL, b"unable to chmod ", path.to_bytes()], e);
        EXIT_FATAL
    })
}

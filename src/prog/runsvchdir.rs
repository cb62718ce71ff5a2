//! `runsvchdir dir`: switches the runlevel by re-pointing `current` (spec runsvchdir.md).
//!
//! Works in `$RUNSVDIR` (else `/etc/runit/runsvdir`, runit 2.3.0): `current.new -> dir` is
//! created, `current` becomes `previous`, `current.new` becomes `current`. A runsvdir watching
//! `current` (ours sees the rename at once) then switches to the new set of services.

use crate::msg;
use crate::sys::{self, Errno};

/// Switched, or `dir` was already current.
pub const EXIT_OK: i32 = 0;
/// No operand.
pub const EXIT_USAGE: i32 = 1;
/// Any failure (each step's failure is fatal).
pub const EXIT_FATAL: i32 = 111;

/// runit 2.3.0's working directory when `$RUNSVDIR` is unset.
const DEFAULT_RUNSVDIR: &[u8] = b"/etc/runit/runsvdir";

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    use std::os::unix::ffi::OsStringExt;
    let argv0 = args.first().cloned().unwrap_or_default();
    let Some(dir) = args.get(1) else {
        msg::usage(&argv0, b" dir");
        return EXIT_USAGE;
    };
    msg::set_prefix(&[&argv0, b": "]);
    crate::sys::alloc::set_oom_exit(EXIT_FATAL);
    let fatal = |parts: &[&[u8]]| {
        msg::say(msg::Kind::Fatal, parts, None);
        EXIT_FATAL
    };
    let fatal_errno = |parts: &[&[u8]], e: Errno| {
        msg::say(msg::Kind::Fatal, parts, Some(e));
        EXIT_FATAL
    };

    if dir.first() == Some(&b'.') {
        return fatal(&[dir, b": must not start with a dot."]);
    }
    let workdir = std::env::var_os("RUNSVDIR").map_or(DEFAULT_RUNSVDIR.to_vec(), |v| v.into_vec());
    let (Ok(workdir_c), Ok(dir_c)) = (sys::cstr(&workdir), sys::cstr(dir)) else {
        return fatal_errno(&[b"unable to chdir: ", &workdir], Errno::INVAL);
    };
    if let Err(e) = sys::chdir(&workdir_c) {
        return fatal_errno(&[b"unable to chdir: ", &workdir], e);
    }
    let st = match sys::stat(&dir_c) {
        Ok(st) => st,
        Err(Errno::NOENT) => return fatal_errno(&[dir], Errno::NOENT),
        Err(e) => return fatal_errno(&[b"unable to stat: ", dir], e),
    };
    if !st.is_dir() {
        // runit: no separator before "not a directory."
        return fatal(&[dir, b"not a directory."]);
    }
    let current = c"current";
    let current_new = c"current.new";
    let previous = c"previous";
    let cur = match sys::stat(current) {
        Ok(c) => c,
        Err(e) => return fatal_errno(&[b"unable to stat: current"], e),
    };
    if (cur.dev, cur.ino) == (st.dev, st.ino) {
        msg::out(&[b"runsvchdir: ", dir, b": current."]);
        return EXIT_OK;
    }
    match sys::unlink(current_new) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return fatal_errno(&[b"unable to unlink: current.new"], e),
    }
    if let Err(e) = sys::symlink(&dir_c, current_new) {
        return fatal_errno(&[b"unable to create: current.new -> ", dir], e);
    }
    match sys::unlink(previous) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return fatal_errno(&[b"unable to unlink: previous"], e),
    }
    if let Err(e) = sys::rename(current, previous) {
        return fatal_errno(&[b"unable to copy: current to previous"], e);
    }
    if let Err(e) = sys::rename(current_new, current) {
        // runit: says fatal, then tries to undo.
        let _ = fatal_errno(&[b"unable to move: current.new to current"], e);
        if let Err(e) = sys::rename(previous, current) {
            return fatal_errno(&[b"unable to move previous back to current"], e);
        }
        return EXIT_FATAL;
    }
    msg::out(&[b"runsvchdir: ", dir, b": now current."]);
    EXIT_OK
}

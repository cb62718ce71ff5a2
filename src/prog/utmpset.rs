//! `utmpset [-w] line`: marks a terminal line as logged out in utmp and, with `-w`, appends
//! a logout record to wtmp (spec utmpset.md, strings formats.md §11).
//!
//! Records are glibc's x86_64 `struct utmp` (384 bytes, little-endian), edited in place as
//! bytes: only the fields utmpset touches are named below.

use crate::getopt::{Getopt, Opt};
use crate::msg;
use crate::sys::{self, AsFd, BorrowedFd, Errno};
use std::ffi::CStr;

/// Exit code of a usage error.
pub const EXIT_USAGE: i32 = 1;
/// Exit code of every failure, "no such entry" included.
pub const EXIT_FAIL: i32 = 111;

const UTMP: &CStr = c"/var/run/utmp";
const WTMP: &CStr = c"/var/log/wtmp";

/// Size of one record.
const REC: usize = 384;
/// `ut_type`, i16 little-endian.
const TYPE_LE16_AT: usize = 0;
/// `ut_line`, 32 bytes, NUL-padded.
const LINE_AT: usize = 8;
const LINE_LEN: usize = 32;
/// `ut_user`, 32 bytes.
const USER_AT: usize = 44;
const USER_LEN: usize = 32;
/// `ut_host`, 256 bytes.
const HOST_AT: usize = 76;
const HOST_LEN: usize = 256;
/// `ut_tv.tv_sec`, i32 little-endian.
const TV_SEC_LE32_AT: usize = 340;
const DEAD_PROCESS: i16 = 8;

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let argv0: &[u8] = args.first().map(|a| a.as_slice()).unwrap_or(b"utmpset");
    let base = crate::basename(argv0);
    msg::set_prefix(&[b"utmpset: "]);
    crate::sys::alloc::set_oom_exit(EXIT_FAIL);
    let usage = || {
        msg::usage(argv0, b" [-w] line");
        EXIT_USAGE
    };
    let mut wtmp = false;
    let mut g = Getopt::new(&args, "wV", base);
    for o in g.by_ref() {
        match o {
            Opt::Flag(b'w', _) => wtmp = true,
            Opt::Flag(b'V', _) => {
                msg::err(&[msg::VERSION_ID]);
                return usage();
            }
            _ => return usage(),
        }
    }
    let Some(line) = g.rest().first() else {
        return usage();
    };
    if let Err(code) = logout_utmp(line) {
        return code;
    }
    if wtmp {
        if let Err(code) = logout_wtmp(line) {
            return code;
        }
    }
    0
}

fn now_le32() -> [u8; 4] {
    (sys::now_wall().0 as i32).to_le_bytes()
}

fn no_entry(line: &[u8]) -> i32 {
    msg::warn(&[b"unable to logout line ", line, b" in utmp: no such entry"]);
    EXIT_FAIL
}

/// Does the record's `ut_line` hold exactly `line`?
fn line_matches(rec: &[u8; REC], line: &[u8]) -> bool {
    let field = &rec[LINE_AT..LINE_AT + LINE_LEN];
    if line.len() == LINE_LEN {
        return field == line;
    }
    field[..line.len()] == *line && field[line.len()] == 0
}

fn logout_utmp(line: &[u8]) -> Result<(), i32> {
    if line.len() > LINE_LEN {
        msg::say(
            msg::Kind::Fatal,
            &[b"unable to logout line ", line, b" in utmp: name too long"],
            None,
        );
        return Err(EXIT_FAIL);
    }
    let fd = sys::open(UTMP, libc::O_RDWR, 0).map_err(|e| {
        msg::say(
            msg::Kind::Fatal,
            &[b"unable to open /var/run/utmp"],
            Some(e),
        );
        EXIT_FAIL
    })?;
    logout_utmp_fd(fd.as_fd(), line)
}

fn logout_utmp_fd(fd: BorrowedFd, line: &[u8]) -> Result<(), i32> {
    sys::flock(fd, libc::LOCK_EX).map_err(|e| {
        msg::say(
            msg::Kind::Fatal,
            &[b"unable to lock: /var/run/utmp"],
            Some(e),
        );
        EXIT_FAIL
    })?;
    let mut rec = [0u8; REC];
    let mut at: i64 = 0;
    loop {
        if sys::read_full(fd, &mut rec) != Ok(REC) {
            return Err(no_entry(line));
        }
        if rec[USER_AT] != 0 && line_matches(&rec, line) {
            break;
        }
        at += REC as i64;
    }
    rec[USER_AT..USER_AT + USER_LEN].fill(0);
    rec[HOST_AT..HOST_AT + HOST_LEN].fill(0);
    rec[TV_SEC_LE32_AT..TV_SEC_LE32_AT + 4].copy_from_slice(&now_le32());
    rec[TYPE_LE16_AT..TYPE_LE16_AT + 2].copy_from_slice(&DEAD_PROCESS.to_le_bytes());
    if sys::lseek(fd, at, libc::SEEK_SET).is_err() || sys::write_all(fd, &rec).is_err() {
        return Err(no_entry(line));
    }
    Ok(())
}

fn logout_wtmp(line: &[u8]) -> Result<(), i32> {
    let fd = sys::open(
        WTMP,
        libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK,
        0o600,
    )
    .map_err(|e| {
        msg::say(
            msg::Kind::Fatal,
            &[b"unable to open /var/log/wtmp"],
            Some(e),
        );
        EXIT_FAIL
    })?;
    append_wtmp(fd.as_fd(), line)
}

fn append_wtmp(fd: BorrowedFd, line: &[u8]) -> Result<(), i32> {
    sys::flock(fd, libc::LOCK_EX).map_err(|e| {
        msg::say(
            msg::Kind::Fatal,
            &[b"unable to lock /var/log/wtmp"],
            Some(e),
        );
        EXIT_FAIL
    })?;
    let fail = |e: Errno| {
        msg::warn_errno(&[b"unable to logout line ", line, b" in wtmp"], e);
        EXIT_FAIL
    };
    let size = sys::fstat(fd).map_err(fail)?.size;
    let mut rec = [0u8; REC];
    let n = line.len().min(LINE_LEN);
    rec[LINE_AT..LINE_AT + n].copy_from_slice(&line[..n]);
    rec[TV_SEC_LE32_AT..TV_SEC_LE32_AT + 4].copy_from_slice(&now_le32());
    rec[TYPE_LE16_AT..TYPE_LE16_AT + 2].copy_from_slice(&DEAD_PROCESS.to_le_bytes());
    match sys::write(fd, &rec) {
        Ok(REC) => Ok(()),
        Ok(_) => {
            let _ = sys::ftruncate(fd, size);
            Err(fail(Errno::IO))
        }
        Err(e) => {
            let _ = sys::ftruncate(fd, size);
            Err(fail(e))
        }
    }
}

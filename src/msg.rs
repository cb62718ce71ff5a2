//! Diagnostics exactly as runit prints them (spec README "Diagnostic line shape", formats.md §1).
//!
//! One voice for every program: `main` sets the program's prefix once ([`set_prefix`]:
//! `runsv DIR: `, `svlogd: `, `- runit: `, or none for sv), as skalibs sets `PROG`; then
//! [`warn`], [`warn_errno`], [`info`], [`fatal`] and friends put `PREFIX KIND TEXT[: <err>]`
//! on stderr. A line is streamed through a stack buffer, ends in `\n` and goes out in as
//! few `write(2)`s as its length needs (one, below 1 KiB), so printing never allocates
//! (runsv prints warnings on paths that must not allocate, and children print between fork
//! and exec), lines from concurrent processes do not interleave, and nothing is truncated.
//! Errors are shown with runit's own texts ([`Errno::text`]), never `strerror` or Rust's
//! `io::Error` display.

use crate::sys::{self, Errno};
use std::os::fd::BorrowedFd;
use std::sync::OnceLock;

static PREFIX: OnceLock<Box<[u8]>> = OnceLock::new();

/// Sets the program's message prefix from pieces (once; later calls are ignored, so a
/// personality or a multicall dispatch cannot change a program's voice half-way).
pub fn set_prefix(parts: &[&[u8]]) {
    let _ = PREFIX.set(parts.concat().into_boxed_slice());
}

/// The prefix set by [`set_prefix`] (empty until then).
pub fn prefix() -> &'static [u8] {
    PREFIX.get().map(|p| &p[..]).unwrap_or(b"")
}

/// The kind word after the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fatal,
    Warning,
    Info,
    Pausing,
    /// No kind word: `- runit: enter stage: …`.
    Plain,
}

impl Kind {
    fn word(self) -> &'static [u8] {
        match self {
            Kind::Fatal => b"fatal: ",
            Kind::Warning => b"warning: ",
            Kind::Info => b"info: ",
            Kind::Pausing => b"pausing: ",
            Kind::Plain => b"",
        }
    }
}

/// How long a line may wait for a full non-blocking output (PID 1's console) to drain:
/// a busy serial console loses no lines, a stuck one cannot hang the program.
const FULL_OUTPUT_WAIT_MS: i64 = 500;

/// The stack buffer of a line: every message of ours fits; a longer line goes out in more
/// writes. (Bigger costs every process that ever prints a warning a stack page for good.)
const LINE_BUF: usize = 1024;

/// A line being built: pieces collect in a stack buffer that goes out whenever it fills.
struct Line<'a> {
    fd: BorrowedFd<'a>,
    buf: [u8; LINE_BUF],
    n: usize,
    deadline: Option<i64>,
}

impl<'a> Line<'a> {
    fn new(fd: BorrowedFd<'a>) -> Line<'a> {
        Line {
            fd,
            buf: [0; LINE_BUF],
            n: 0,
            deadline: None,
        }
    }

    fn push(&mut self, mut p: &[u8]) {
        while !p.is_empty() {
            if self.n == self.buf.len() {
                self.flush();
            }
            let room = self.buf.len() - self.n;
            let k = p.len().min(room);
            let (head, rest) = p.split_at(k);
            if let Some(dst) = self.buf.get_mut(self.n..self.n + k) {
                dst.copy_from_slice(head);
            }
            self.n += k;
            p = rest;
        }
    }

    /// Writes what is buffered. Errors are dropped: there is nowhere to report them.
    fn flush(&mut self) {
        let mut rest = self.buf.get(..self.n).unwrap_or(&[]);
        while !rest.is_empty() {
            match sys::write(self.fd, rest) {
                Ok(0) => break,
                Ok(k) => rest = rest.get(k..).unwrap_or(&[]),
                Err(Errno::AGAIN) => {
                    let now = sys::now_mono_ms();
                    let deadline = *self.deadline.get_or_insert(now + FULL_OUTPUT_WAIT_MS);
                    if now >= deadline {
                        break;
                    }
                    let mut fds = [sys::PollFd::new(self.fd, sys::POLLOUT)];
                    let _ = sys::poll(&mut fds, sys::until(deadline, now));
                }
                Err(_) => break,
            }
        }
        self.n = 0;
    }
}

/// Writes the pieces, then `end`, to `fd` as one line.
pub fn put(fd: BorrowedFd, parts: &[&[u8]], end: &[u8]) {
    let mut l = Line::new(fd);
    for p in parts {
        l.push(p);
    }
    l.push(end);
    l.flush();
}

/// Writes the pieces, then `\n`, to `fd`.
pub fn line(fd: BorrowedFd, parts: &[&[u8]]) {
    put(fd, parts, b"\n");
}

/// One raw line on stderr, no prefix (getopt's lines, `-V`).
pub fn err(parts: &[&[u8]]) {
    line(sys::stderr(), parts);
}

/// One line on stdout.
pub fn out(parts: &[&[u8]]) {
    line(sys::stdout(), parts);
}

/// `PREFIX KIND PARTS[: <err>]\n` on stderr: the one shape of every diagnostic.
pub fn say(kind: Kind, parts: &[&[u8]], e: Option<Errno>) {
    let mut l = Line::new(sys::stderr());
    l.push(prefix());
    l.push(kind.word());
    for p in parts {
        l.push(p);
    }
    if let Some(e) = e {
        l.push(b": ");
        l.push(e.text().as_bytes());
    }
    l.push(b"\n");
    l.flush();
}

pub fn warn(parts: &[&[u8]]) {
    say(Kind::Warning, parts, None);
}

pub fn warn_errno(parts: &[&[u8]], e: Errno) {
    say(Kind::Warning, parts, Some(e));
}

pub fn info(parts: &[&[u8]]) {
    say(Kind::Info, parts, None);
}

/// `PREFIX PARTS` with no kind word.
pub fn note(parts: &[&[u8]]) {
    say(Kind::Plain, parts, None);
}

/// Prints the fatal line and exits with `code`.
pub fn fatal(code: i32, parts: &[&[u8]]) -> ! {
    say(Kind::Fatal, parts, None);
    sys::exit(code)
}

/// Prints the fatal line ending in `: <err>` and exits with `code`.
pub fn fatal_errno(code: i32, parts: &[&[u8]], e: Errno) -> ! {
    say(Kind::Fatal, parts, Some(e));
    sys::exit(code)
}

/// In a forked child before exec: prints the line and `_exit`s with `code` (no atexit
/// handlers, no flushing of buffers inherited from the parent).
pub fn child_exit(kind: Kind, code: i32, parts: &[&[u8]], e: Option<Errno>) -> ! {
    say(kind, parts, e);
    sys::exit_now(code)
}

/// `usage: PROG<synopsis>` then a blank line, on stderr (formats.md §2).
pub fn usage(prog: &[u8], synopsis: &[u8]) {
    line(sys::stderr(), &[b"usage: ", prog, synopsis, b"\n"]);
}

/// The `$Id: … $` version line printed by `-V` (spec README: a reimplementation uses its own id).
pub const VERSION_ID: &[u8] = b"$Id: runit-rs 0.1.0 $";

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn texts() {
        assert_eq!(Errno::NOENT.text(), "file does not exist");
        assert_eq!(Errno::AGAIN.text(), "temporary failure");
        assert_eq!(Errno::NXIO.text(), "device not configured");
        assert_eq!(Errno(9999).text(), "unknown error");
    }

    #[test]
    fn long_lines_are_not_truncated() {
        let (r, w) = sys::pipe(libc::O_NONBLOCK).unwrap();
        let long = vec![b'x'; 5000];
        put(std::os::fd::AsFd::as_fd(&w), &[b"a", &long, b"b"], b"\n");
        let mut got = vec![0u8; 8192];
        let n = sys::read(std::os::fd::AsFd::as_fd(&r), &mut got).unwrap();
        assert_eq!(n, 5003);
        assert_eq!(got[0], b'a');
        assert_eq!(&got[5001..5003], b"b\n");
    }
}

//! `svlogd`: reads log lines on stdin and writes them to rotated log directories
//! (spec svlogd.md). Every interface is runit's; the inside differs where runit is weak:
//!
//! - lines are written in batches (one `write(2)` per input chunk and directory instead of
//!   one per line) while the size rule still cuts files at exactly runit's points;
//! - nothing read is ever dropped: an unterminated last line is written at EOF and on TERM
//!   (divergence (b));
//! - memory is bounded by `-l` whatever the input ([`line`]).
//!
//! One thread, one `poll` over stdin and the signal self-pipe, with the `t` deadlines.

pub mod config;
pub mod dir;
pub mod line;

use crate::getopt::{Getopt, Opt};
use crate::msg;
use crate::sys::{self, signals, AsFd, BorrowedFd, Errno, OwnedFd};
use crate::tai::{civil, Tai64n};
use dir::{Ctx, LogDir};
use line::{Replace, Sink, Splitter};

/// Usage error, fatal error (no functional directory, no working directory).
pub const EXIT_FATAL: i32 = 111;
/// EOF or SIGTERM.
pub const EXIT_OK: i32 = 0;

/// How much is read from stdin at once.
const READ_AT_ONCE: usize = 128 * 1024;

/// Copies of lines for stderr are written out once this much is pending.
const STDERR_FLUSH_AT: usize = 64 * 1024;

const USAGE: &[u8] = b" [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...";

/// The timestamp prefix of a line (`-t`, `-tt`, `-ttt`), formatted once per input chunk.
struct Stamp {
    level: u8,
    of: Option<Tai64n>,
    text: [u8; 32],
    len: usize,
}

impl Stamp {
    fn get(&mut self, t: Tai64n) -> &[u8] {
        if self.level == 0 {
            return &[];
        }
        if self.of != Some(t) {
            self.of = Some(t);
            self.len = format_stamp(self.level, t, &mut self.text);
        }
        &self.text[..self.len]
    }
}

/// Formats the stamp with its trailing space into `out`; returns its length (svlogd.md §4).
pub fn format_stamp(level: u8, t: Tai64n, out: &mut [u8; 32]) -> usize {
    if level == 1 {
        out[..25].copy_from_slice(&t.label());
        out[25] = b' ';
        return 26;
    }
    let (y, mo, d, h, mi, s) = civil(t.unix_secs());
    let mut b = [0u8; 20];
    let year = crate::fmt_u64(y.max(0) as u64, &mut b);
    let n = year.len();
    out[..n].copy_from_slice(year);
    let two = |v: u32, o: &mut [u8]| {
        o[0] = b'0' + (v / 10 % 10) as u8;
        o[1] = b'0' + (v % 10) as u8;
    };
    out[n] = b'-';
    two(mo, &mut out[n + 1..]);
    out[n + 3] = b'-';
    two(d, &mut out[n + 4..]);
    out[n + 6] = if level == 2 { b'_' } else { b'T' };
    two(h, &mut out[n + 7..]);
    out[n + 9] = b':';
    two(mi, &mut out[n + 10..]);
    out[n + 12] = b':';
    two(s, &mut out[n + 13..]);
    out[n + 15] = b'.';
    // The first five of the nine nanosecond digits, truncated.
    let mut frac = t.nanos / 10_000;
    for i in (0..5).rev() {
        out[n + 16 + i] = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    out[n + 21] = b' ';
    n + 22
}

/// Where lines go: the directories, stderr copies and UDP.
struct Out<'a> {
    dirs: &'a mut [LogDir],
    stamp: &'a mut Stamp,
    /// Per directory: the current line is written to it.
    selected: &'a mut Vec<bool>,
    scratch: Vec<u8>,
}

impl Sink<Tai64n> for Out<'_> {
    fn head(&mut self, t: Tai64n, p: &[u8], long: bool) {
        let stamp = self.stamp.get(t);
        for (d, sel) in self.dirs.iter_mut().zip(self.selected.iter_mut()) {
            *sel = false;
            if !d.functional() {
                continue;
            }
            config::select(&d.cfg.patterns, p, &mut d.sel);
            if d.sel.dir {
                if d.cfg.udp_port != 0 {
                    let s = &mut self.scratch;
                    s.clear();
                    s.extend_from_slice(stamp);
                    s.extend_from_slice(&d.cfg.prefix);
                    s.extend_from_slice(p);
                    let line_len = s.len();
                    if long {
                        s.extend_from_slice(b"...");
                    }
                    s.push(b'\n');
                    let (payload, line) = (s.as_slice(), &s[..line_len]);
                    d.send_udp(payload, line);
                }
                *sel = !d.cfg.udp_only;
            }
            if d.sel.err {
                let dots: &[u8] = if long { b"..." } else { b"" };
                err_copy(&[stamp, &d.cfg.prefix, p, dots, b"\n"]);
            }
        }
        // runit flushes a line to the directories after its stderr copies went out: a
        // rotation that this line causes is reported after them (observed with -v).
        for (d, &sel) in self.dirs.iter_mut().zip(self.selected.iter()) {
            if sel {
                d.put(stamp);
                if !d.cfg.prefix.is_empty() {
                    let pre = std::mem::take(&mut d.cfg.prefix);
                    d.put(&pre);
                    d.cfg.prefix = pre;
                }
                d.put(p);
            }
        }
    }

    fn tail(&mut self, raw: &[u8]) {
        for (d, &sel) in self.dirs.iter_mut().zip(self.selected.iter()) {
            if sel && d.functional() {
                d.put(raw);
            }
        }
    }

    fn end(&mut self) {
        for (d, &sel) in self.dirs.iter_mut().zip(self.selected.iter()) {
            if sel && d.functional() {
                d.put(b"\n");
                d.line_end();
            }
        }
    }
}

fn info(s: &[u8]) {
    err_flush();
    msg::info(&[s]);
}

thread_local! {
    /// Copies of lines for stderr (`e`), written once per input chunk, and before any
    /// message so that the order on stderr is runit's.
    static ERR_COPIES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Queues one stderr copy of a line.
fn err_copy(parts: &[&[u8]]) {
    let full = ERR_COPIES.with(|b| {
        let mut b = b.borrow_mut();
        for p in parts {
            b.extend_from_slice(p);
        }
        b.len() >= STDERR_FLUSH_AT
    });
    if full {
        err_flush();
    }
}

/// Writes the queued stderr copies; called before every message svlogd prints.
pub(crate) fn err_flush() {
    ERR_COPIES.with(|b| {
        let mut b = b.borrow_mut();
        if !b.is_empty() {
            let _ = sys::write_all(sys::stderr(), &b);
            b.clear();
        }
    });
}

struct Svlogd {
    dirs: Vec<LogDir>,
    splitter: Splitter<Tai64n>,
    stamp: Stamp,
    selected: Vec<bool>,
    verbose: bool,
    /// runit's single config buffer, shared by all directories (quirk, svlogd.md §2.4).
    shared: Vec<u8>,
    inbuf: Vec<u8>,
}

impl Svlogd {
    /// Processes one chunk of input read at `now`, then writes everything out.
    fn process(&mut self, n: usize, now: Tai64n) {
        let mut out = Out {
            dirs: &mut self.dirs,
            stamp: &mut self.stamp,
            selected: &mut self.selected,
            scratch: Vec::new(),
        };
        self.splitter.feed(&self.inbuf[..n], now, &mut out);
        self.flush();
    }

    fn finish_line(&mut self) {
        let mut out = Out {
            dirs: &mut self.dirs,
            stamp: &mut self.stamp,
            selected: &mut self.selected,
            scratch: Vec::new(),
        };
        self.splitter.finish(&mut out);
        self.flush();
    }

    fn flush(&mut self) {
        err_flush();
        for d in self.dirs.iter_mut().filter(|d| d.functional()) {
            d.flush();
        }
    }

    /// Opens every directory; false if none is functional.
    fn open_all(&mut self) -> bool {
        let mut any = false;
        for d in self.dirs.iter_mut() {
            any |= d.open(&mut self.shared);
        }
        any
    }

    /// HUP: closes and reopens each directory in turn; false if none is functional.
    fn reopen_all(&mut self) -> bool {
        let mut any = false;
        for d in self.dirs.iter_mut() {
            d.forget_processor();
            d.close();
            any |= d.open(&mut self.shared);
        }
        any
    }

    /// Reads what stdin holds; `None` at EOF (or a read error, after its warning).
    fn read(&mut self) -> Option<usize> {
        match sys::read(sys::stdin(), &mut self.inbuf) {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(Errno::AGAIN) => Some(0),
            Err(e) => {
                err_flush();
                msg::warn_errno(&[b"unable to read standard input"], e);
                None
            }
        }
    }

    /// EOF or TERM: write the unfinished line, wait for processors, close everything.
    fn exit(&mut self) -> i32 {
        self.finish_line();
        for d in self.dirs.iter_mut().filter(|d| d.functional()) {
            d.wait_processor();
            d.close();
        }
        EXIT_OK
    }
}

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let argv0 = args.first().cloned().unwrap_or_else(|| b"svlogd".to_vec());
    let prog = crate::basename(&argv0).to_vec();
    msg::set_prefix(&[b"svlogd: "]);
    sys::alloc::set_oom_exit(EXIT_FATAL);
    let usage = || {
        msg::usage(&argv0, USAGE);
        EXIT_FATAL
    };
    let mut level = 0u8;
    let mut verbose = false;
    let mut repl: Option<u8> = None;
    let mut extra: Option<Vec<u8>> = None;
    let mut len = 1000u64;
    let mut buflen = 1024u64;
    let mut g = Getopt::new(&args, "R:r:l:b:tvV", &prog);
    for o in g.by_ref() {
        match o {
            Opt::Flag(b'R', Some(a)) => extra = Some(a.to_vec()),
            Opt::Flag(b'r', Some(a)) => match a {
                [ch] => repl = Some(*ch),
                _ => return usage(),
            },
            Opt::Flag(b'l', Some(a)) => {
                len = crate::scan_ulong(a).0;
                if len == 0 {
                    len = 1000;
                }
            }
            Opt::Flag(b'b', Some(a)) => {
                buflen = crate::scan_ulong(a).0;
                if buflen == 0 {
                    buflen = 1024;
                }
            }
            Opt::Flag(b't', _) => level = (level + 1).min(3),
            Opt::Flag(b'v', _) => verbose = true,
            Opt::Flag(b'V', _) => {
                msg::err(&[msg::VERSION_ID]);
                return usage();
            }
            Opt::Flag(..) | Opt::Error => return usage(),
        }
    }
    let operands = g.rest().to_vec();
    if operands.is_empty() || buflen <= len {
        return usage();
    }
    let replace = match (repl, &extra) {
        (None, None) => Replace::off(),
        (r, e) => Replace::new(r.unwrap_or(b'_'), e.as_deref().unwrap_or(b"")),
    };
    let wd = match sys::open(c".", libc::O_RDONLY | libc::O_NDELAY, 0) {
        Ok(fd) => fd,
        Err(e) => msg::fatal_errno(
            EXIT_FATAL,
            &[b"unable to open current working directory"],
            e,
        ),
    };
    // The initial directory is returned to after every operation, for the whole run.
    let wd: &'static OwnedFd = Box::leak(Box::new(wd));
    let wd = wd.as_fd();
    let ctx = Ctx { verbose, wd, len };
    let selfpipe = match signals::selfpipe() {
        Ok(fd) => fd,
        Err(e) => msg::fatal_errno(EXIT_FATAL, &[b"unable to create selfpipe"], e),
    };
    for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGALRM, libc::SIGCHLD] {
        let _ = signals::catch(sig);
    }
    let _ = sys::set_nonblock(sys::stdin(), true);
    let n = operands.len();
    let mut s = Svlogd {
        dirs: operands.into_iter().map(|d| LogDir::new(d, ctx)).collect(),
        splitter: Splitter::new(len as usize, replace),
        stamp: Stamp {
            level,
            of: None,
            text: [0; 32],
            len: 0,
        },
        selected: vec![false; n],
        verbose,
        shared: Vec::new(),
        inbuf: vec![0u8; READ_AT_ONCE],
    };
    if !s.open_all() {
        msg::fatal(EXIT_FATAL, &[b"no functional log directories."]);
    }
    run(&mut s, selfpipe.as_fd())
}

/// The event loop: wait for input or a signal (or a `t` deadline), act, repeat.
fn run(s: &mut Svlogd, selfpipe: BorrowedFd) -> i32 {
    loop {
        // The t rule is checked whenever svlogd is about to wait (svlogd.md §6).
        let now = sys::now_mono_ms();
        let mut timeout: i64 = -1;
        for d in s.dirs.iter_mut() {
            if let Some(dl) = d.deadline() {
                if now >= dl {
                    d.rotate();
                }
            }
            if let Some(dl) = d.deadline() {
                let left = (dl - now).max(0);
                timeout = if timeout < 0 { left } else { timeout.min(left) };
            }
        }
        let mut fds = [
            sys::PollFd::new(sys::stdin(), sys::POLLIN),
            sys::PollFd::new(selfpipe, sys::POLLIN),
        ];
        let _ = sys::poll(&mut fds, timeout.min(i64::from(i32::MAX)) as i32);
        let got = if fds[1].revents() != 0 {
            signals::drain(selfpipe)
        } else {
            0
        };
        if fds[0].revents() != 0 {
            match s.read() {
                Some(n) => {
                    if n > 0 {
                        s.process(n, Tai64n::now());
                    }
                }
                None => return s.exit(),
            }
        }
        if signals::has(got, libc::SIGCHLD) {
            if s.verbose {
                info(b"sigchild received.");
            }
            while let Ok(Some(ex)) = sys::wait_nohang(-1) {
                if let Some(d) = s.dirs.iter_mut().find(|d| d.owns(ex.pid)) {
                    d.processor_exited(ex);
                }
            }
        }
        if signals::has(got, libc::SIGALRM) {
            if s.verbose {
                info(b"sigalarm received.");
            }
            for d in s.dirs.iter_mut() {
                d.rotate();
            }
        }
        if signals::has(got, libc::SIGHUP) {
            if s.verbose {
                info(b"sighangup received.");
            }
            // Each directory is closed and reopened in turn, as runit does.
            if !s.reopen_all() {
                err_flush();
                msg::fatal(EXIT_FATAL, &[b"no functional log directories."]);
            }
        }
        if signals::has(got, libc::SIGTERM) {
            if s.verbose {
                info(b"sigterm received.");
            }
            // Divergence (b): everything already in the pipe, and a partial line, is written.
            for _ in 0..64 {
                match s.read() {
                    Some(0) | None => break,
                    Some(n) => s.process(n, Tai64n::now()),
                }
            }
            return s.exit();
        }
    }
}

//! `svlogd`: reads log lines on stdin and writes them to rotated log directories
//! (spec svlogd.md). Every interface is runit's; the inside differs where runit is weak:
//!
//! - lines are written in batches (one `write(2)` per read and directory instead of one
//!   per line) while the size rule still cuts files at exactly runit's points;
//! - nothing read is ever dropped: an unterminated last line is written at EOF and on TERM
//!   (divergence (b));
//! - memory is bounded by `-l` whatever the input ([`line`]);
//! - a `pausing:` retry still obeys TERM and HUP ([`dir`]).
//!
//! What a SIGKILL can lose is bounded by `-b`, as in runit: each `read(2)` takes at most
//! `-b` bytes minus the unfinished line already held, and everything a read brought in is
//! written before the next read. While a directory cannot be written, svlogd pauses in
//! the write and reads nothing, so the pipe backs up to the service (svlogd.md §11).
//!
//! One thread, one `poll` over stdin and the signal self-pipe, with the `t` deadlines.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

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

/// `-b` default and replacement for 0 (runit's).
const BUFLEN_DEFAULT: u64 = 1024;
/// `-l` default and replacement for 0 (runit's).
const LEN_DEFAULT: u64 = 1000;
/// The input buffer is never larger than this, whatever `-b` says (a read takes at most
/// `-b` bytes; runit allocates `-b` bytes and crashes for `-b 18446744073709551615`). The
/// largest pipe Linux allows holds 1 MiB.
const READ_BUF_MAX: usize = 1 << 20;
/// Reads (each written out before the next) between two polls of the self-pipe while
/// input keeps coming: bounds how long a signal waits to 64 reads.
const READS_PER_POLL: usize = 64;

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
        self.text.get(..self.len).unwrap_or(&[])
    }
}

/// Formats the stamp with its trailing space into `out`; returns its length (svlogd.md §4).
pub fn format_stamp(level: u8, t: Tai64n, out: &mut [u8; 32]) -> usize {
    let mut w = Cursor { out, at: 0 };
    if level == 1 {
        w.put(&t.label());
        w.put(b" ");
        return w.at;
    }
    let (y, mo, d, h, mi, s) = civil(t.unix_secs());
    let mut b = [0u8; 20];
    w.put(crate::fmt_u64(y.max(0) as u64, &mut b));
    let two = |v: u32| [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8];
    w.put(b"-");
    w.put(&two(mo));
    w.put(b"-");
    w.put(&two(d));
    w.put(if level == 2 { b"_" } else { b"T" });
    w.put(&two(h));
    w.put(b":");
    w.put(&two(mi));
    w.put(b":");
    w.put(&two(s));
    w.put(b".");
    // The first five of the nine nanosecond digits, truncated.
    let mut frac = [0u8; 5];
    let mut f = t.nanos / 10_000;
    for digit in frac.iter_mut().rev() {
        *digit = b'0' + (f % 10) as u8;
        f /= 10;
    }
    w.put(&frac);
    w.put(b" ");
    w.at
}

/// Appends to a fixed buffer; what does not fit is cut, never a panic (a stamp with a
/// year of up to 10 digits fits in 32 bytes).
struct Cursor<'a> {
    out: &'a mut [u8; 32],
    at: usize,
}

impl Cursor<'_> {
    fn put(&mut self, b: &[u8]) {
        let room = self.out.len().saturating_sub(self.at);
        let k = b.len().min(room);
        if let (Some(dst), Some(src)) = (self.out.get_mut(self.at..self.at + k), b.get(..k)) {
            dst.copy_from_slice(src);
        }
        self.at += k;
    }
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
                    let payload = s.as_slice();
                    let line = payload.get(..line_len).unwrap_or(payload);
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

thread_local! {
    /// Signals drained from the self-pipe while pausing, for the event loop to act on.
    static NOTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// svlogd is acting on a TERM or HUP: failing operations give up instead of pausing.
    static GIVING_UP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn wants_out(got: u64) -> bool {
    signals::has(got, libc::SIGTERM) || signals::has(got, libc::SIGHUP)
}

/// Whether a failing operation must give up rather than pause: a TERM or HUP arrived
/// while pausing and waits for the event loop, or is being acted on.
pub(crate) fn giving_up() -> bool {
    GIVING_UP.with(|g| g.get()) || wants_out(NOTED.with(|n| n.get()))
}

fn set_giving_up(on: bool) {
    GIVING_UP.with(|g| g.set(on));
}

/// Takes the signals noted while pausing.
fn take_noted() -> u64 {
    NOTED.with(|n| n.replace(0))
}

/// The signals noted while pausing, left for the event loop.
fn noted() -> u64 {
    NOTED.with(|n| n.get())
}

/// runit's pause before a retry, spent in `poll` on the self-pipe: signals that arrive are
/// noted for the event loop; a TERM or HUP ends the pause at once and returns false (the
/// operation gives up). True when the pause ran its course.
pub(crate) fn sleep_watching(selfpipe: BorrowedFd, ms: u64) -> bool {
    let deadline = sys::now_mono_ms().saturating_add(i64::try_from(ms).unwrap_or(i64::MAX));
    loop {
        if giving_up() {
            return false;
        }
        let now = sys::now_mono_ms();
        if now >= deadline {
            return true;
        }
        let mut fds = [sys::PollFd::new(selfpipe, sys::POLLIN)];
        let _ = sys::poll(&mut fds, sys::until(deadline, now));
        if fds.iter().any(|f| f.revents() != 0) {
            let got = signals::drain(selfpipe);
            NOTED.with(|n| n.set(n.get() | got));
        }
    }
}

/// What [`Svlogd::step`] did.
struct Read {
    n: usize,
    more: bool,
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
    /// `-b`: what read, held and not yet written may add up to.
    buflen: u64,
}

impl Svlogd {
    /// Processes one chunk of input read at `now`, then writes everything out; false if a
    /// write gave up.
    fn process(&mut self, n: usize, now: Tai64n) -> bool {
        let mut out = Out {
            dirs: &mut self.dirs,
            stamp: &mut self.stamp,
            selected: &mut self.selected,
            scratch: Vec::new(),
        };
        let data = self.inbuf.get(..n).unwrap_or(&[]);
        self.splitter.feed(data, now, &mut out);
        self.flush()
    }

    /// How much the next read may take: `-b` minus the unfinished line the splitter holds
    /// (shorter than `-l`, and `-b` > `-l`, so at least 1), so that a SIGKILL never loses
    /// more than `-b` bytes.
    fn read_size(&self) -> usize {
        let held = self.splitter.held() as u64;
        let room = self.buflen.saturating_sub(held).max(1);
        usize::try_from(room)
            .unwrap_or(usize::MAX)
            .min(self.inbuf.len())
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

    /// Writes out every directory's queued output; false if a write gave up.
    fn flush(&mut self) -> bool {
        err_flush();
        let mut all = true;
        for d in self.dirs.iter_mut().filter(|d| d.functional()) {
            all &= d.flush();
        }
        all
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
    /// Closing tries each step once (output that cannot be written stays queued for the
    /// reopened `current`); opening pauses and retries as in runit.
    fn reopen_all(&mut self) -> bool {
        let mut any = false;
        for d in self.dirs.iter_mut() {
            d.forget_processor();
            set_giving_up(true);
            d.close();
            set_giving_up(false);
            any |= d.open(&mut self.shared);
        }
        any
    }

    /// Reads what stdin holds, at most [`Svlogd::read_size`]; `Some(0)` when it holds
    /// nothing, `None` at EOF (or a read error, after its warning).
    fn read(&mut self) -> Option<usize> {
        let want = self.read_size();
        let buf = self.inbuf.get_mut(..want).unwrap_or(&mut []);
        match sys::read(sys::stdin(), buf) {
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

    /// Reads one read's worth and writes it out: `None` at EOF, else whether another read
    /// may follow at once (the read was full and every write went out).
    fn step(&mut self) -> Option<Read> {
        let want = self.read_size();
        let n = self.read()?;
        let written = n == 0 || self.process(n, Tai64n::now());
        Some(Read {
            n,
            more: n == want && written && !giving_up(),
        })
    }

    /// TERM: what the pipe holds now, and a partial line, are written (divergence (b)),
    /// then svlogd exits. Nothing pauses any more: a write that fails is given up, and
    /// reading stops there.
    fn term(&mut self) -> i32 {
        set_giving_up(true);
        let mut left = sys::pending_bytes(sys::stdin()).unwrap_or(0);
        while left > 0 && self.dirs.iter().all(|d| d.written()) {
            match self.step() {
                Some(r) if r.n > 0 => left = left.saturating_sub(r.n),
                _ => break,
            }
        }
        self.exit()
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
    // Numbers saturate at u64::MAX (runit wraps modulo 2^64: docs/divergences.md (j)).
    let mut len = LEN_DEFAULT;
    let mut buflen = BUFLEN_DEFAULT;
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
                    len = LEN_DEFAULT;
                }
            }
            Opt::Flag(b'b', Some(a)) => {
                buflen = crate::scan_ulong(a).0;
                if buflen == 0 {
                    buflen = BUFLEN_DEFAULT;
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
    let selfpipe = match signals::selfpipe() {
        Ok(fd) => fd,
        Err(e) => msg::fatal_errno(EXIT_FATAL, &[b"unable to create selfpipe"], e),
    };
    // Watched for the whole run, in the event loop and while pausing.
    let selfpipe: &'static OwnedFd = Box::leak(Box::new(selfpipe));
    let selfpipe = selfpipe.as_fd();
    let ctx = Ctx {
        verbose,
        wd,
        len,
        selfpipe,
    };
    for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGALRM, libc::SIGCHLD] {
        let _ = signals::catch(sig);
    }
    let _ = sys::set_nonblock(sys::stdin(), true);
    let n = operands.len();
    let mut s = Svlogd {
        dirs: operands.into_iter().map(|d| LogDir::new(d, ctx)).collect(),
        splitter: Splitter::new(usize::try_from(len).unwrap_or(usize::MAX), replace),
        stamp: Stamp {
            level,
            of: None,
            text: [0; 32],
            len: 0,
        },
        selected: vec![false; n],
        verbose,
        shared: Vec::new(),
        inbuf: vec![
            0u8;
            usize::try_from(buflen)
                .unwrap_or(usize::MAX)
                .min(READ_BUF_MAX)
        ],
        buflen,
    };
    if !s.open_all() {
        msg::fatal(EXIT_FATAL, &[b"no functional log directories."]);
    }
    run(&mut s, selfpipe)
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
                let left = dl.saturating_sub(now).max(0);
                timeout = if timeout < 0 { left } else { timeout.min(left) };
            }
        }
        if giving_up() {
            // A rotation gave up for a TERM or HUP: act on it without waiting.
            timeout = 0;
        }
        let mut fds = [
            sys::PollFd::new(sys::stdin(), sys::POLLIN),
            sys::PollFd::new(selfpipe, sys::POLLIN),
        ];
        let _ = sys::poll(&mut fds, timeout.min(i64::from(i32::MAX)) as i32);
        let [input, sigs] = &fds;
        let mut got = if sigs.revents() != 0 {
            signals::drain(selfpipe)
        } else {
            0
        };
        if input.revents() != 0 && !giving_up() {
            for _ in 0..READS_PER_POLL {
                match s.step() {
                    Some(Read { more: true, .. }) => {}
                    Some(_) => break,
                    None => return s.exit(),
                }
            }
        }
        got |= take_noted();
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
            // Each directory is closed and reopened in turn, as runit does. A directory
            // that is gone is reported and skipped (runit never creates log directories).
            if !s.reopen_all() {
                if signals::has(got | noted(), libc::SIGTERM) {
                    return s.term();
                }
                err_flush();
                msg::fatal(EXIT_FATAL, &[b"no functional log directories."]);
            }
            // Output the close could not write goes out before anything more is read.
            s.flush();
        }
        if signals::has(got, libc::SIGTERM) {
            if s.verbose {
                info(b"sigterm received.");
            }
            return s.term();
        }
    }
}

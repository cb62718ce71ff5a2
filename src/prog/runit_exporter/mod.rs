//! `runit-exporter`: Prometheus metrics for every service in a directory, over HTTP or into
//! a file for node_exporter's textfile collector (docs/exporter.md).
//!
//! ```text
//! runit-exporter [-d dir] [-a addr] [-t sec] [-c max]      serve /metrics
//! runit-exporter [-d dir] -f file [-i sec]                 write file (once, or every sec)
//! ```
//!
//! Meant to run as a runit service itself. One process, no threads: a poll loop over the
//! listening socket and at most `-c` connections, each non-blocking, with a bounded read
//! buffer and one deadline for the whole exchange. A client that sends garbage gets a 400,
//! one that sends too much a 431, one that is slow to send or never reads its answer is
//! closed at its deadline; none of them delays another, because no call waits for a
//! client. The facts are read afresh for each scrape from the `supervise/` files
//! (src/facts.rs), which nothing here holds open: runsv never waits for the exporter.

mod http;
pub mod prom;

use crate::facts;
use crate::getopt::{Getopt, Opt};
use crate::msg;
use crate::sys::{self, net, AsFd, Errno, OwnedFd, PollFd};
use crate::tai::Tai64n;
use std::ffi::{CStr, CString};
use std::net::SocketAddr;

/// Exit codes.
pub mod exit {
    /// Usage error.
    pub const USAGE: i32 = 100;
    /// A fatal system error (cannot bind, cannot write the file once).
    pub const FATAL: i32 = 111;
}

/// Where it listens unless told (loopback: metrics are not published beyond the host
/// unless asked; the port is our choice, Prometheus's allocation list is full).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9822";
/// The whole exchange of one connection, from accept to the last byte sent (Prometheus's
/// default scrape timeout).
const DEFAULT_TIMEOUT_S: u64 = 10;
/// Connections served at once.
const DEFAULT_MAX_CONNS: usize = 16;
/// The read buffer per connection: a request head longer than this is refused (431).
const READ_MAX: usize = 8192;
/// After the answer is sent, how long unread client bytes are drained before the close
/// (closing with unread input sends a reset that can destroy the answer in flight).
const LINGER_MS: i64 = 1000;
/// The kernel's send buffer per connection: a fixed size (not autotuned up to 4 MiB), so
/// that a client that never reads holds at most this much kernel memory besides the
/// answer we keep; plenty for a scraper on a LAN (the answer goes out in a few wake-ups).
const SEND_BUFFER: i32 = 256 * 1024;
/// A pause in accepting after `accept` ran out of descriptors, instead of a busy loop.
const ACCEPT_PAUSE_MS: i64 = 100;

const USAGE: &[u8] = b" [-d dir] [-a addr] [-t sec] [-c max] [-f file [-i sec]]";

struct Opts {
    dir: Vec<u8>,
    addr: SocketAddr,
    timeout_ms: i64,
    max_conns: usize,
    file: Option<Vec<u8>>,
    interval_s: Option<u64>,
}

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let prog = b"runit-exporter";
    msg::set_prefix(&[prog, b": "]);
    sys::alloc::set_oom_exit(exit::FATAL);
    let usage = || {
        msg::usage(prog, USAGE);
        exit::USAGE
    };
    let mut o = Opts {
        dir: Vec::new(),
        addr: DEFAULT_ADDR
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 9822))),
        timeout_ms: DEFAULT_TIMEOUT_S as i64 * 1000,
        max_conns: DEFAULT_MAX_CONNS,
        file: None,
        interval_s: None,
    };
    let mut g = Getopt::new(&args, "d:a:t:c:f:i:V", prog);
    for opt in g.by_ref() {
        match opt {
            Opt::Flag(b'd', Some(d)) => o.dir = d.to_vec(),
            Opt::Flag(b'a', Some(a)) => {
                match std::str::from_utf8(a).ok().and_then(|s| s.parse().ok()) {
                    Some(addr) => o.addr = addr,
                    None => msg::fatal(exit::USAGE, &[b"invalid address: ", a]),
                }
            }
            Opt::Flag(b't', Some(t)) => o.timeout_ms = number(t, b"timeout").max(1) as i64 * 1000,
            Opt::Flag(b'c', Some(c)) => {
                o.max_conns = number(c, b"connection limit").max(1) as usize
            }
            Opt::Flag(b'f', Some(f)) => o.file = Some(f.to_vec()),
            Opt::Flag(b'i', Some(i)) => o.interval_s = Some(number(i, b"interval").max(1)),
            Opt::Flag(b'V', _) => {
                msg::err(&[msg::VERSION_ID]);
                return usage();
            }
            _ => return usage(),
        }
    }
    if !g.rest().is_empty() || (o.interval_s.is_some() && o.file.is_none()) {
        return usage();
    }
    if o.dir.is_empty() {
        o.dir = crate::prog::sv::svdir();
    }
    let dir = match sys::cstr(&o.dir) {
        Ok(d) => d,
        Err(e) => msg::fatal_errno(exit::USAGE, &[b"invalid directory: ", &o.dir], e),
    };
    match o.file.take() {
        Some(f) => textfile(&o, &dir, &f),
        None => serve(&o, &dir),
    }
}

/// A whole decimal number option, or a usage error naming it.
fn number(s: &[u8], what: &[u8]) -> u64 {
    let (n, used) = crate::scan_ulong(s);
    if used == 0 || used != s.len() {
        msg::fatal(exit::USAGE, &[b"invalid ", what, b": ", s]);
    }
    n
}

/// Scans the directory and encodes the exposition; the error names what failed.
fn exposition(dir: &CStr, out: &mut Vec<u8>) -> Result<(), (&'static [u8], Errno)> {
    let fd = facts::open_dir_at(None, dir).map_err(|e| (&b"unable to open directory "[..], e))?;
    let services = facts::scan(dir, fd.as_fd()).map_err(|e| match e {
        facts::DirError::Open(e) => (&b"unable to open directory "[..], e),
        facts::DirError::Read(e) => (&b"unable to read directory "[..], e),
    })?;
    prom::encode(&services, Tai64n::now(), out);
    Ok(())
}

// ------------------------------------------------------------------ textfile mode

/// Writes the exposition to `file` atomically (`file.tmp` in the same directory, fsync,
/// rename), once or every `-i` seconds. node_exporter reads only `*.prom`, so it never
/// sees the half-written `.tmp`.
fn textfile(o: &Opts, dir: &CStr, file: &[u8]) -> i32 {
    let mut tmp = file.to_vec();
    tmp.extend_from_slice(b".tmp");
    let (Ok(file_c), Ok(tmp_c)) = (sys::cstr(file), sys::cstr(&tmp)) else {
        msg::fatal(exit::USAGE, &[b"invalid file name: ", file]);
    };
    let mut body = Vec::new();
    let mut next = sys::now_mono_ms();
    loop {
        body.clear();
        let r = match exposition(dir, &mut body) {
            Ok(()) => write_atomically(&body, &tmp_c, &file_c).map_err(|(what, e)| (what, e, true)),
            Err((what, e)) => Err((what, e, false)),
        };
        if let Err((what, e, about_file)) = r {
            let name: &[u8] = if about_file { &tmp } else { &o.dir };
            match o.interval_s {
                None => msg::fatal_errno(exit::FATAL, &[what, name], e),
                Some(_) => msg::warn_errno(&[what, name], e),
            }
        }
        let Some(every) = o.interval_s else {
            return 0;
        };
        // A schedule, not a sleep after the work: the file's age stays within the interval.
        next += every as i64 * 1000;
        let now = sys::now_mono_ms();
        if next < now {
            next = now;
        }
        let _ = sys::time::poll_all(&mut [], sys::until(next, now));
    }
}

fn write_atomically(
    body: &[u8],
    tmp: &CString,
    file: &CString,
) -> Result<(), (&'static [u8], Errno)> {
    let fd = sys::open(
        tmp,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW,
        0o644,
    )
    .map_err(|e| (&b"unable to create "[..], e))?;
    let written = sys::write_all(fd.as_fd(), body).and_then(|()| sys::fsync(fd.as_fd()));
    drop(fd);
    if let Err(e) = written {
        let _ = sys::unlink(tmp);
        return Err((&b"unable to write "[..], e));
    }
    sys::rename(tmp, file).map_err(|e| (&b"unable to rename "[..], e))
}

// ------------------------------------------------------------------ HTTP mode

/// Where a connection is in its one exchange.
enum Phase {
    /// Reading the request head into `buf` (at most [`READ_MAX`] bytes).
    Reading(Vec<u8>),
    /// Sending `out` from `at`.
    Writing { out: Vec<u8>, at: usize },
    /// Answer sent and the sending side shut: reading and dropping what the client still
    /// sends until it closes, so that the close cannot reset the answer.
    Draining,
}

struct Conn {
    fd: OwnedFd,
    /// The connection is closed at this moment, whatever its phase.
    deadline: i64,
    accepted: i64,
    phase: Phase,
}

/// What a readiness event on a connection led to.
enum Next {
    Keep,
    Close,
}

fn serve(o: &Opts, dir: &CStr) -> i32 {
    let listener = match net::tcp_listen(&o.addr, 128) {
        Ok(fd) => fd,
        Err(e) => {
            let a = o.addr.to_string();
            msg::fatal_errno(exit::FATAL, &[b"unable to listen on ", a.as_bytes()], e)
        }
    };
    // The address actually bound (the port chosen for `:0`), for the service's log.
    let bound = net::local_addr(listener.as_fd())
        .unwrap_or(o.addr)
        .to_string();
    msg::info(&[b"listening on ", bound.as_bytes(), b", directory ", &o.dir]);

    let mut conns: Vec<Conn> = Vec::with_capacity(o.max_conns);
    let mut pfds: Vec<PollFd> = Vec::with_capacity(o.max_conns + 1);
    let mut accept_paused_until = 0i64;
    let mut warned_accept = false;
    loop {
        let now = sys::now_mono_ms();
        // Accept while there is room, or when a connection still reading its request can
        // make room (the oldest such is dropped for the newcomer: a client that hogs
        // slots without sending a request cannot lock out the scrapers).
        let can_accept = now >= accept_paused_until
            && (conns.len() < o.max_conns
                || conns.iter().any(|c| matches!(c.phase, Phase::Reading(_))));
        pfds.clear();
        pfds.push(if can_accept {
            PollFd::new(listener.as_fd(), sys::POLLIN)
        } else {
            PollFd::none()
        });
        for c in &conns {
            let ev = match c.phase {
                Phase::Reading(_) | Phase::Draining => sys::POLLIN,
                Phase::Writing { .. } => sys::POLLOUT,
            };
            pfds.push(PollFd::new(c.fd.as_fd(), ev));
        }
        let mut wake = conns.iter().map(|c| c.deadline).min();
        if !can_accept && now < accept_paused_until {
            wake = Some(wake.map_or(accept_paused_until, |w| w.min(accept_paused_until)));
        }
        let timeout = wake.map_or(-1, |w| sys::until(w, now));
        if let Err(e) = sys::time::poll_all(&mut pfds, timeout) {
            msg::fatal_errno(exit::FATAL, &[b"unable to poll"], e);
        }
        let now = sys::now_mono_ms();

        // Events on existing connections; `pfds[i + 1]` belongs to `conns[i]`.
        let mut keep = Vec::with_capacity(conns.len());
        for (c, p) in conns.drain(..).zip(pfds.iter().skip(1)) {
            let mut c = c;
            let next = if now >= c.deadline {
                Next::Close
            } else if p.revents() != 0 {
                step(&mut c, dir, now)
            } else {
                Next::Keep
            };
            if let Next::Keep = next {
                keep.push(c);
            }
        }
        conns = keep;

        if pfds.first().is_some_and(|p| p.ready(sys::POLLIN)) {
            loop {
                if conns.len() >= o.max_conns {
                    let oldest_reading = conns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| matches!(c.phase, Phase::Reading(_)))
                        .min_by_key(|(_, c)| c.accepted)
                        .map(|(i, _)| i);
                    match oldest_reading {
                        Some(i) => drop(conns.swap_remove(i)),
                        None => break,
                    }
                }
                match net::accept(listener.as_fd()) {
                    Ok(fd) => {
                        // A failure leaves the kernel's default: a bigger buffer, no harm.
                        let _ = net::set_send_buffer(fd.as_fd(), SEND_BUFFER);
                        conns.push(Conn {
                            fd,
                            deadline: now + o.timeout_ms,
                            accepted: now,
                            phase: Phase::Reading(Vec::with_capacity(1024)),
                        })
                    }
                    Err(Errno::AGAIN) => break,
                    // Out of descriptors: pause instead of spinning on a readable listener.
                    Err(e @ (Errno(libc::EMFILE) | Errno(libc::ENFILE) | Errno::NOMEM)) => {
                        if !warned_accept {
                            msg::warn_errno(&[b"unable to accept connection, pausing"], e);
                            warned_accept = true;
                        }
                        accept_paused_until = now + ACCEPT_PAUSE_MS;
                        break;
                    }
                    // The peer gave up before the accept (ECONNABORTED...): next one.
                    Err(_) => continue,
                }
            }
        }
    }
}

/// Handles readiness on one connection.
fn step(c: &mut Conn, dir: &CStr, now: i64) -> Next {
    match &mut c.phase {
        Phase::Reading(buf) => {
            let mut chunk = [0u8; 2048];
            let want = (READ_MAX - buf.len()).min(chunk.len());
            let n = match net::recv(c.fd.as_fd(), chunk.get_mut(..want).unwrap_or(&mut [])) {
                Ok(0) => return Next::Close,
                Ok(n) => n,
                Err(Errno::AGAIN) => return Next::Keep,
                Err(_) => return Next::Close,
            };
            buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
            match http::parse(buf, buf.len() >= READ_MAX) {
                http::Parsed::Partial => Next::Keep,
                http::Parsed::Done { route, head } => {
                    let mut out = Vec::new();
                    answer(route, head, dir, &mut out);
                    c.phase = Phase::Writing { out, at: 0 };
                    // Try at once: most answers fit the socket buffer.
                    step(c, dir, now)
                }
            }
        }
        Phase::Writing { out, at } => {
            while *at < out.len() {
                match net::send(c.fd.as_fd(), out.get(*at..).unwrap_or(&[])) {
                    Ok(n) => *at += n,
                    Err(Errno::AGAIN) => return Next::Keep,
                    Err(_) => return Next::Close,
                }
            }
            if net::shutdown_write(c.fd.as_fd()).is_err() {
                return Next::Close;
            }
            c.phase = Phase::Draining;
            c.deadline = c.deadline.min(now + LINGER_MS);
            Next::Keep
        }
        Phase::Draining => {
            let mut sink = [0u8; 2048];
            match net::recv(c.fd.as_fd(), &mut sink) {
                Ok(0) => Next::Close,
                Ok(_) | Err(Errno::AGAIN) => Next::Keep,
                Err(_) => Next::Close,
            }
        }
    }
}

/// The whole response for a decided request.
fn answer(route: http::Route, head: bool, dir: &CStr, out: &mut Vec<u8>) {
    if route != http::Route::Metrics {
        http::canned_response(route, head, out);
        return;
    }
    let mut body = Vec::with_capacity(64 * 1024);
    match exposition(dir, &mut body) {
        Ok(()) => http::response("200 OK", http::METRICS_TYPE, &body, head, out),
        Err((what, e)) => {
            msg::warn_errno(&[what, dir.to_bytes()], e);
            let mut text = what.to_vec();
            text.extend_from_slice(dir.to_bytes());
            text.extend_from_slice(b": ");
            text.extend_from_slice(e.text().as_bytes());
            text.push(b'\n');
            http::error_response("500 Internal Server Error", &text, head, out);
        }
    }
}

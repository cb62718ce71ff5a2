//! `svjson`: the facts `sv status` prints, as JSON, one object per service, for scripts and
//! the fleet tools that shell out (docs/exporter.md §5).
//!
//! ```text
//! svjson [-l] [-d dir] [service ...]
//! ```
//!
//! Without names, every service in the directory (`-d`, else sv's `$SVDIR` rule), as
//! runsvdir sees them; names are resolved as sv resolves them. The output is one JSON
//! array with one object per line (`-l`: JSON Lines, one object per line and nothing
//! else). The facts come from src/facts.rs, the same as runit-exporter's metrics.

use crate::facts::{self, Facts, RecordError, Service, Supervision};
use crate::getopt::{Getopt, Opt};
use crate::info::{End, GaveUp};
use crate::msg;
use crate::status::State;
use crate::sys::{self, AsFd, Errno};
use crate::tai::Tai64n;

/// Exit codes.
pub mod exit {
    /// Usage error.
    pub const USAGE: i32 = 100;
    /// The directory could not be listed (no names given), or output failed.
    pub const FATAL: i32 = 111;
    /// With names: the count of names whose directory could not be opened, capped here.
    pub const MAX_FAILURES: i32 = 99;
}

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let prog = b"svjson";
    msg::set_prefix(&[prog, b": "]);
    sys::alloc::set_oom_exit(exit::FATAL);
    let usage = || {
        msg::usage(prog, b" [-l] [-d dir] [service ...]");
        exit::USAGE
    };
    let mut lines = false;
    let mut dir = None;
    let mut g = Getopt::new(&args, "d:lV", prog);
    for o in g.by_ref() {
        match o {
            Opt::Flag(b'd', Some(d)) => dir = Some(d.to_vec()),
            Opt::Flag(b'l', _) => lines = true,
            Opt::Flag(b'V', _) => {
                msg::err(&[msg::VERSION_ID]);
                return usage();
            }
            _ => return usage(),
        }
    }
    let names = g.rest();
    let dir = dir.unwrap_or_else(crate::prog::sv::svdir);
    let dir_c = sys::cstr(&dir).unwrap_or_default();
    let dirfd = facts::open_dir_at(None, &dir_c);

    let mut failures = 0;
    let mut services: Vec<Result<Service, (Vec<u8>, Errno)>> = Vec::new();
    if names.is_empty() {
        let listed = dirfd
            .as_ref()
            .map_err(|e| facts::DirError::Open(*e))
            .and_then(|fd| facts::scan(&dir_c, fd.as_fd()));
        match listed {
            Ok(s) => services.extend(s.into_iter().map(Ok)),
            Err(facts::DirError::Open(e)) => {
                msg::fatal_errno(exit::FATAL, &[b"unable to open directory ", &dir], e)
            }
            Err(facts::DirError::Read(e)) => {
                msg::fatal_errno(exit::FATAL, &[b"unable to read directory ", &dir], e)
            }
        }
    } else {
        for name in names {
            // sv's rule (sv.md §4): relative to the service directory unless the name
            // starts with `/` or `.` or ends with `/`.
            let under_dir = !name.is_empty()
                && name[0] != b'/'
                && name[0] != b'.'
                && name.last() != Some(&b'/');
            let opened = sys::cstr(name).and_then(|c| {
                if under_dir {
                    match &dirfd {
                        Ok(d) => facts::open_dir_at(Some(d.as_fd()), &c),
                        Err(e) => Err(*e),
                    }
                } else {
                    facts::open_dir_at(None, &c)
                }
            });
            match opened {
                Ok(fd) => services.push(Ok(facts::service_at(name, fd.as_fd()))),
                Err(e) => {
                    failures += 1;
                    services.push(Err((name.clone(), e)));
                }
            }
        }
    }

    let now = Tai64n::now();
    let mut out = Vec::with_capacity(256 * services.len() + 4);
    if !lines {
        out.extend_from_slice(b"[\n");
    }
    for (i, s) in services.iter().enumerate() {
        match s {
            Ok(s) => service_object(s, now, &mut out),
            Err((name, e)) => {
                out.extend_from_slice(b"{\"service\":");
                name_string(name, &mut out);
                out.extend_from_slice(b",\"error\":");
                let mut t = b"unable to open service directory: ".to_vec();
                t.extend_from_slice(e.text().as_bytes());
                string(&t, &mut out);
                out.push(b'}');
            }
        }
        if !lines && i + 1 < services.len() {
            out.push(b',');
        }
        out.push(b'\n');
    }
    if !lines {
        out.extend_from_slice(b"]\n");
    }
    if let Err(e) = sys::write_all(sys::stdout(), &out) {
        msg::fatal_errno(exit::FATAL, &[b"unable to write output"], e);
    }
    failures.min(exit::MAX_FAILURES)
}

/// A JSON string (RFC 8259 §7): `"` and `\` escaped, control characters as `\n`, `\t`,
/// ... or `\u00XX`; the input must be UTF-8 (callers pass [`facts::name_text`]'s output
/// or ASCII), which is written as it is.
pub fn string(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Any bytes as a JSON string: invalid UTF-8 as `\xHH` text first (docs/exporter.md §4).
fn name_string(name: &[u8], out: &mut Vec<u8>) {
    let mut t = Vec::with_capacity(name.len());
    facts::name_text(name, &mut t);
    string(&t, out);
}

/// Writes `,"key":`.
fn key(k: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn null_or<T>(v: Option<T>, out: &mut Vec<u8>, put: impl FnOnce(T, &mut Vec<u8>)) {
    match v {
        Some(v) => put(v, out),
        None => out.extend_from_slice(b"null"),
    }
}

fn int(n: u64, out: &mut Vec<u8>) {
    let mut b = [0u8; 20];
    out.extend_from_slice(crate::fmt_u64(n, &mut b));
}

fn boolean(b: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// Microseconds as seconds with six decimals (a JSON number).
fn seconds(us: u64, out: &mut Vec<u8>) {
    int(us / 1_000_000, out);
    out.push(b'.');
    let mut b = [0u8; 20];
    let frac = crate::fmt_u64(us % 1_000_000, &mut b);
    out.extend(std::iter::repeat_n(b'0', 6 - frac.len()));
    out.extend_from_slice(frac);
}

fn service_object(s: &Service, now: Tai64n, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"service\":");
    name_string(&s.name, out);
    facts_fields(&s.main, now, out);
    key("log", out);
    match &s.log {
        None => out.extend_from_slice(b"null"),
        Some(l) => {
            // The same fields; `{"supervised":...` without a leading comma.
            let mut fields = Vec::with_capacity(256);
            facts_fields(l, now, &mut fields);
            out.push(b'{');
            out.extend_from_slice(fields.get(1..).unwrap_or(&[]));
            out.push(b'}');
        }
    }
    out.push(b'}');
}

/// The fields of one service or log service, each preceded by a comma.
fn facts_fields(f: &Facts, now: Tai64n, out: &mut Vec<u8>) {
    key("supervised", out);
    boolean(f.supervised(), out);
    key("error", out);
    let err: Option<Vec<u8>> = match (f.supervision, &f.record) {
        (Supervision::NotRunning, _) => Some(b"runsv not running".to_vec()),
        (Supervision::Unknown(e), _) => Some(error(b"unable to open supervise/ok: ", e)),
        (Supervision::Yes, Some(Err(RecordError::Open(e)))) => {
            Some(error(b"unable to open supervise/status: ", *e))
        }
        (Supervision::Yes, Some(Err(RecordError::Read(e)))) => {
            Some(error(b"unable to read supervise/status: ", *e))
        }
        (Supervision::Yes, Some(Err(RecordError::BadFormat))) => {
            Some(b"unable to read supervise/status: bad format".to_vec())
        }
        (Supervision::Yes, _) => None,
    };
    null_or(err, out, |e, o| string(&e, o));
    let st = f.status();
    key("state", out);
    null_or(f.state(), out, |s, o| string(s.word(), o));
    key("pid", out);
    null_or(st.filter(|s| s.state != State::Down as u8), out, |s, o| {
        int(u64::from(s.pid), o)
    });
    key("up", out);
    boolean(f.up(), out);
    key("want", out);
    null_or(f.want_up(), out, |w, o| {
        string(if w { b"up" } else { b"down" }, o)
    });
    key("normally_up", out);
    null_or(f.normally_up.ok(), out, boolean);
    key("paused", out);
    null_or(f.paused(), out, boolean);
    key("got_term", out);
    null_or(st.map(|s| s.term), out, boolean);
    key("ready", out);
    boolean(f.ready(), out);
    key("readiness", out);
    null_or(f.readiness(), out, |r, o| string(r.word(), o));
    key("age_seconds", out);
    null_or(f.age_us(now), out, seconds);
    key("since", out);
    null_or(st, out, |s, o| {
        let secs = u64::try_from(s.when.unix_secs()).unwrap_or(0);
        seconds(
            secs.saturating_mul(1_000_000)
                .saturating_add(u64::from(s.when.nanos / 1000)),
            o,
        )
    });
    key("starts", out);
    null_or(f.starts(), out, int);
    key("last_exit", out);
    null_or(
        match f.last() {
            Some(End::Exit(c)) => Some(u64::from(c)),
            _ => None,
        },
        out,
        int,
    );
    key("last_signal", out);
    null_or(
        match f.last() {
            Some(End::Signal(s)) => Some(u64::from(s)),
            _ => None,
        },
        out,
        int,
    );
    key("gave_up", out);
    null_or(f.gave_up().flatten(), out, |g: GaveUp, o| {
        string(g.word(), o)
    });
    key("mainpid", out);
    null_or(f.info.and_then(|i| i.mainpid), out, |p, o| {
        int(u64::from(p), o)
    });
    key("status_text", out);
    let text = f.info.filter(|i| !i.status().is_empty());
    null_or(text.as_ref(), out, |i, o| name_string(i.status(), o));
}

fn error(what: &[u8], e: Errno) -> Vec<u8> {
    let mut t = what.to_vec();
    t.extend_from_slice(e.text().as_bytes());
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings() {
        let mut o = Vec::new();
        string(b"a\"b\\c\nd\x01\x1f\x7f\xc3\xa9", &mut o);
        assert_eq!(o, b"\"a\\\"b\\\\c\\nd\\u0001\\u001f\x7f\xc3\xa9\"");
        o.clear();
        name_string(b"x\xffy", &mut o);
        assert_eq!(o, b"\"x\\\\xffy\"");
    }

    #[test]
    fn seconds_are_json_numbers() {
        let mut o = Vec::new();
        seconds(12_000_005, &mut o);
        assert_eq!(o, b"12.000005");
    }
}

//! runit-rs: a drop-in replacement for runit's nine programs over one library.
//!
//! Each shared contract has exactly one home: the status record ([`status`]), the TAI64N
//! clock ([`tai`]), the service-directory layout ([`svdir`]), the control bytes
//! ([`control`]), runit's halt and reboot flags ([`initctl`]), option parsing ([`getopt`]),
//! messages ([`msg`]), starting children ([`spawn`]), what clients read of a service
//! ([`facts`]: runit-exporter, svjson).
//! Every system call goes through [`sys`], the only module where the `unsafe_code` lint is
//! allowed.
#![deny(unsafe_code)]

pub mod control;
pub mod facts;
#[doc(hidden)]
pub mod fuzzing;
pub mod getopt;
pub mod info;
pub mod initctl;
pub mod msg;
pub mod prog;
pub mod spawn;
pub mod status;
pub mod svdir;
#[allow(unsafe_code)]
pub mod sys;
pub mod tai;

/// Program entry: the arguments as raw bytes (argv[0] included), the exit code back.
pub type Main = fn(Vec<Vec<u8>>) -> i32;

/// Common start-up for every program: collect argv as bytes, run `main`, exit with its code.
///
/// Rust's runtime set SIGPIPE to ignored before `main`; programs that exec children reset
/// it per child (see [`sys::reset_child_signals`]), so nothing is done here.
pub fn run(main: Main) -> ! {
    // A bug must still speak runit's format, not Rust's `thread 'main' panicked at`: the
    // program's prefix, `fatal: internal error at FILE:LINE` (panic = "abort" follows).
    std::panic::set_hook(Box::new(|info| {
        let mut b = [0u8; 20];
        let (file, line) = info
            .location()
            .map_or(("?", 0), |l| (l.file(), u64::from(l.line())));
        msg::say(
            msg::Kind::Fatal,
            &[
                b"internal error at ",
                file.as_bytes(),
                b":",
                fmt_u64(line, &mut b),
            ],
            None,
        );
    }));
    let args: Vec<Vec<u8>> = sys::proctitle::args().map(<[u8]>::to_vec).collect();
    let code = main(args);
    sys::exit(code)
}

/// The basename of a path given as bytes (`/usr/bin/sv` → `sv`).
pub fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Runit's `scan_ulong`: leading decimal digits, stopping at the first non-digit; none gives 0.
/// Saturates instead of wrapping on absurd input.
pub fn scan_ulong(s: &[u8]) -> (u64, usize) {
    let mut n: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add(u64::from(s[i] - b'0'));
        i += 1;
    }
    (n, i)
}

/// The first line of a setting file's content, without the blanks (space, tab, CR) around
/// it: how every one-value file of ours is read (runsv's stop settings, `stop-timeout`).
pub fn first_line(content: &[u8]) -> &[u8] {
    let line = content.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let blank = |c: &u8| *c == b' ' || *c == b'\t' || *c == b'\r';
    let start = line.iter().position(|c| !blank(c)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|c| !blank(c))
        .map_or(start, |i| i + 1);
    line.get(start..end).unwrap_or(&[])
}

/// Decimal formatting into a stack buffer, no allocation (used on runsv's hot paths).
pub fn fmt_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn basename_and_scan() {
        assert_eq!(basename(b"/usr/bin/sv"), b"sv");
        assert_eq!(basename(b"sv"), b"sv");
        assert_eq!(basename(b"/x/"), b"");
        assert_eq!(scan_ulong(b"12ab"), (12, 2));
        assert_eq!(scan_ulong(b"abc"), (0, 0));
        let mut b = [0u8; 20];
        assert_eq!(fmt_u64(0, &mut b), b"0");
        assert_eq!(fmt_u64(u64::MAX, &mut b), b"18446744073709551615");
    }
}

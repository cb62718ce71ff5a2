//! A log directory's `config` file (svlogd.md §3) and the pattern language of its
//! `+ - e E` lines (§5). Pure code: no system calls, table- and property-tested, and
//! meant to be fuzzed: [`Config::parse`] takes any bytes.
//!
//! Numbers never wrap: digits are scanned saturating at `u64::MAX`, and the `k m h`
//! multipliers saturate too, so a huge `s`, `n`, `N` or `t` means "never" (runit wraps
//! modulo 2^64, so `s18446744073709551617` rotates after every byte there;
//! docs/divergences.md (j)).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use crate::scan_ulong;

/// How much of a `config` file is read. Real configs are a few lines, or a few hundred
/// pattern lines (a few KiB); the bound keeps a mistaken `config` (a link to /dev/zero or
/// /dev/urandom, a log file) from costing more than this at every open and HUP.
pub const CONFIG_MAX: usize = 64 * 1024;

/// The part of a `config` read with the [`CONFIG_MAX`] bound that is parsed: all of it,
/// or, when the file was longer (`truncated`), its complete lines only, so that a line cut
/// at the bound (half a pattern, a shortened size) never takes effect.
pub fn usable(data: &[u8], truncated: bool) -> &[u8] {
    if !truncated {
        return data;
    }
    match data.iter().rposition(|&b| b == b'\n') {
        Some(i) => data.get(..=i).unwrap_or(data),
        None => &[],
    }
}

/// A value as runit sees it: a C string, ending at its first NUL (observed: `pAB\0CD`
/// gives the prefix `AB`).
fn until_nul(v: &[u8]) -> &[u8] {
    match v.iter().position(|&b| b == 0) {
        Some(i) => v.get(..i).unwrap_or(v),
        None => v,
    }
}

/// One selection instruction, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `+pattern`: select for the directory.
    Plus(Vec<u8>),
    /// `-pattern`: deselect for the directory.
    Minus(Vec<u8>),
    /// `epattern`: select for standard error.
    Err(Vec<u8>),
    /// `Epattern`: deselect for standard error.
    NoErr(Vec<u8>),
}

/// The settings of one log directory; [`Config::default`] is the state before `config` is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `s`: rotate when `current` reaches this many bytes; 0 = never by size.
    pub size: u64,
    /// `n`: keep at most this many old files; 0 = never delete.
    pub num: u64,
    /// `N`: on a full disk, delete old files while more than this many exist (if N < n).
    pub nummin: u64,
    /// `t`: rotate a non-empty `current` every this many seconds; 0 = never.
    pub time: u64,
    /// `!`: the processor command, run by `/bin/sh -c`.
    pub processor: Option<Vec<u8>>,
    /// `u`/`U`: the UDP address; nothing is sent while the port is 0.
    pub udp_addr: [u8; 4],
    pub udp_port: u16,
    /// `U`: lines go by UDP only (set before the address is parsed; never cleared, quirk).
    pub udp_only: bool,
    /// `p`: the prefix written after the timestamp.
    pub prefix: Vec<u8>,
    /// `+ - e E`, in file order.
    pub patterns: Vec<Pattern>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            size: 1_000_000,
            num: 10,
            nummin: 10,
            time: 0,
            processor: None,
            udp_addr: [0; 4],
            udp_port: 0,
            udp_only: false,
            prefix: Vec::new(),
            patterns: Vec::new(),
        }
    }
}

/// A warning the parser wants printed (`svlogd: warning: …`), with the rest of the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// `unable to scan ip address: REST`
    Ip(Vec<u8>),
    /// `unable to scan port number: REST`
    Port(Vec<u8>),
}

impl Config {
    /// Applies the lines of a `config` file to `self` (svlogd.md §3). A last line without
    /// a newline counts unless it is a single character (observed).
    pub fn parse(&mut self, text: &[u8]) -> Vec<Warning> {
        let mut warnings = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (line, next, terminated) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let (line, nl_next) = rest.split_at(i);
                    (line, nl_next.get(1..).unwrap_or(&[]), true)
                }
                None => (rest, &[][..], false),
            };
            rest = next;
            if !terminated && line.len() < 2 {
                break;
            }
            self.line(line, &mut warnings);
        }
        warnings
    }

    /// One line: the first byte selects, the rest is the value, untrimmed, up to its first
    /// NUL (runit's values are C strings). A line of one byte sets nothing for `!` and `p`,
    /// but `p\0` empties the prefix and `!\0` makes the processor `sh -c ''` (observed).
    fn line(&mut self, line: &[u8], warnings: &mut Vec<Warning>) {
        let Some((&kind, rest)) = line.split_first() else {
            return;
        };
        let value = until_nul(rest);
        match kind {
            b's' => {
                let (n, used) = scan_ulong(value);
                self.size = match value.get(used) {
                    Some(b'k') => n.saturating_mul(1024),
                    Some(b'm') => n.saturating_mul(1024 * 1024),
                    _ => n,
                };
            }
            b'n' => self.num = scan_ulong(value).0,
            b'N' => self.nummin = scan_ulong(value).0,
            b't' => {
                let (n, used) = scan_ulong(value);
                self.time = match value.get(used) {
                    Some(b'm') => n.saturating_mul(60),
                    Some(b'h') => n.saturating_mul(3600),
                    _ => n,
                };
            }
            b'!' if !rest.is_empty() => self.processor = Some(value.to_vec()),
            b'p' if !rest.is_empty() => self.prefix = value.to_vec(),
            b'u' | b'U' => {
                // quirk: `U` marks the directory before the address is parsed.
                if kind == b'U' {
                    self.udp_only = true;
                }
                if let Some(w) = self.scan_udp(value) {
                    warnings.push(w);
                }
            }
            b'+' | b'-' | b'e' | b'E' => {
                // quirk (observed): runit stores a pattern line as NUL-separated
                // instructions, so each piece after a NUL is an instruction of its own,
                // selected by its own first byte (`+x\0+yes` selects `x` and `yes`; a
                // piece of another kind, such as `y` or `pZ`, does nothing).
                self.patterns
                    .extend(line.split(|&b| b == 0).filter_map(Pattern::from_piece));
            }
            _ => {}
        }
    }

    /// `a.b.c.d[:port]`; quirk: octets scanned before an error stay, the port keeps its
    /// previous value on a port error. Octets are taken modulo 256 (runit's quirk,
    /// observed); a port must be 1 to 65535: runit takes it modulo 65536 (`:65537` sends
    /// to port 1, `:65536` silently sends nothing), we warn instead (divergences (j)).
    fn scan_udp(&mut self, value: &[u8]) -> Option<Warning> {
        let mut at = 0;
        for (i, octet) in self.udp_addr.iter_mut().enumerate() {
            if i > 0 {
                if value.get(at) != Some(&b'.') {
                    return Some(Warning::Ip(value.to_vec()));
                }
                at += 1;
            }
            let (n, used) = scan_ulong(value.get(at..).unwrap_or(&[]));
            if used == 0 {
                return Some(Warning::Ip(value.to_vec()));
            }
            *octet = (n % 256) as u8;
            at += used;
        }
        if value.get(at) == Some(&b':') {
            let rest = value.get(at + 1..).unwrap_or(&[]);
            match u16::try_from(scan_ulong(rest).0) {
                Ok(port) if port != 0 => self.udp_port = port,
                _ => return Some(Warning::Port(rest.to_vec())),
            }
        } else {
            self.udp_port = 514;
        }
        None
    }

    /// The `t` period in milliseconds, saturating: a huge `t` is a deadline that never
    /// comes (runit: `t18446744073709551615` never rotates).
    pub fn time_ms(&self) -> i64 {
        i64::try_from(self.time)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000)
    }

    /// Whether `+ - e E` lines exist (then selection is recomputed for every line).
    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }
}

impl Pattern {
    /// One NUL-free piece of a pattern line, if its first byte is `+ - e E`.
    fn from_piece(piece: &[u8]) -> Option<Pattern> {
        let (&kind, p) = piece.split_first()?;
        let p = p.to_vec();
        match kind {
            b'+' => Some(Pattern::Plus(p)),
            b'-' => Some(Pattern::Minus(p)),
            b'e' => Some(Pattern::Err(p)),
            b'E' => Some(Pattern::NoErr(p)),
            _ => None,
        }
    }
}

/// Selection state of a directory (§5). `dir` is reset to selected at every open; `err`
/// persists across opens (quirk: a HUP to a config without patterns keeps the last value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    pub dir: bool,
    pub err: bool,
}

/// Recomputes `sel` for one processed line under `patterns` (no-op without patterns).
pub fn select(patterns: &[Pattern], line: &[u8], sel: &mut Selection) {
    if patterns.is_empty() {
        return;
    }
    sel.dir = true;
    sel.err = false;
    for p in patterns {
        match p {
            Pattern::Plus(p) => {
                if !sel.dir && pmatch(p, line) {
                    sel.dir = true;
                }
            }
            Pattern::Minus(p) => {
                if sel.dir && pmatch(p, line) {
                    sel.dir = false;
                }
            }
            Pattern::Err(p) => {
                if !sel.err && pmatch(p, line) {
                    sel.err = true;
                }
            }
            Pattern::NoErr(p) => {
                if sel.err && pmatch(p, line) {
                    sel.err = false;
                }
            }
        }
    }
}

/// Whether `pat` matches the whole of `line` (§5): `*c` skips to the first `c` (no
/// backtracking), a final `*` matches the rest, `+c` eats one or more `c` (quirk: running
/// out of line while eating succeeds whatever pattern is left).
pub fn pmatch(pat: &[u8], line: &[u8]) -> bool {
    let mut p = 0;
    let mut s = 0;
    loop {
        let Some(&c) = pat.get(p) else {
            return s == line.len();
        };
        p += 1;
        match c {
            b'*' => {
                let Some(&stop) = pat.get(p) else {
                    return true;
                };
                match line
                    .get(s..)
                    .and_then(|l| l.iter().position(|&b| b == stop))
                {
                    Some(i) => s += i,
                    None => return false,
                }
            }
            b'+' => {
                let Some(&rep) = pat.get(p) else {
                    return false;
                };
                p += 1;
                if line.get(s) != Some(&rep) {
                    return false;
                }
                while line.get(s) == Some(&rep) {
                    s += 1;
                }
                if s == line.len() {
                    return true;
                }
            }
            _ => {
                if line.get(s) != Some(&c) {
                    return false;
                }
                s += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &[u8]) -> (Config, Vec<Warning>) {
        let mut c = Config::default();
        let w = c.parse(text);
        (c, w)
    }

    #[test]
    fn sizes_counts_times() {
        let (c, _) = cfg(b"s100k\nn5\nN2\nt2m\n");
        assert_eq!((c.size, c.num, c.nummin, c.time), (102400, 5, 2, 120));
        let (c, _) = cfg(b"s3m\nt1h\ns\n");
        assert_eq!((c.size, c.time), (0, 3600));
        let (c, _) = cfg(b"s3m\nt1h\ns");
        assert_eq!(c.size, 3 * 1048576);
    }

    #[test]
    fn numbers_saturate_instead_of_wrapping() {
        const MAX: u64 = u64::MAX;
        // The edges of every numeric directive: runit wraps modulo 2^64 (2^64 is 0 there,
        // 2^64 + 1 is 1); we saturate.
        for (digits, want) in [
            ("0", 0),
            ("1", 1),
            ("18446744073709551614", MAX - 1),
            ("18446744073709551615", MAX),
            ("18446744073709551616", MAX),
            ("18446744073709551617", MAX),
            ("99999999999999999999", MAX),
            ("999999999999999999999999999999", MAX),
        ] {
            for kind in [b's', b'n', b'N', b't'] {
                let (c, w) = cfg(&[&[kind], digits.as_bytes(), b"\n"].concat());
                assert!(w.is_empty());
                let got = match kind {
                    b's' => c.size,
                    b'n' => c.num,
                    b'N' => c.nummin,
                    _ => c.time,
                };
                assert_eq!(got, want, "{}{digits}", kind as char);
            }
        }
        // The multipliers saturate too (runit: `s18014398509481985k` is 1024 bytes).
        for text in [
            &b"s18014398509481985k\n"[..],
            b"s17592186044417m\n",
            b"s18446744073709551615k\n",
        ] {
            assert_eq!(cfg(text).0.size, MAX);
        }
        for text in [&b"t307445734561825861m\n"[..], b"t5124095576030432h\n"] {
            assert_eq!(cfg(text).0.time, MAX);
        }
        // The t period in ms never wraps into the past (runit: t9223372036854775808
        // rotates on every line).
        for (time, ms) in [
            (0, 0),
            (1, 1000),
            (9_223_372_036_854_775, 9_223_372_036_854_775_000),
            (9_223_372_036_854_776, i64::MAX),
            (1 << 63, i64::MAX),
            (MAX, i64::MAX),
        ] {
            let c = Config {
                time,
                ..Config::default()
            };
            assert_eq!(c.time_ms(), ms, "t{time}");
        }
    }

    #[test]
    fn udp_port_edges() {
        for (port, want) in [
            ("1", Some(1)),
            ("65534", Some(65534)),
            ("65535", Some(65535)),
            ("0", None),
            ("65536", None),
            ("65537", None),
            ("18446744073709551615", None),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
        ] {
            let (c, w) = cfg(format!("u127.0.0.1:7\nu127.0.0.1:{port}\n").as_bytes());
            match want {
                Some(p) => {
                    assert!(w.is_empty(), "{port}");
                    assert_eq!(c.udp_port, p);
                }
                None => {
                    assert_eq!(w, vec![Warning::Port(port.as_bytes().to_vec())]);
                    assert_eq!(c.udp_port, 7, "a bad port keeps the previous one");
                }
            }
        }
        // Octets are taken modulo 256 (quirk), a huge one as 2^64 - 1.
        let (c, _) = cfg(b"u1.2.256.99999999999999999999\n");
        assert_eq!(c.udp_addr, [1, 2, 0, 255]);
    }

    #[test]
    fn values_stop_at_nul() {
        // Observed with runit: each value is a C string.
        assert_eq!(cfg(b"pAB\0CD\n").0.prefix, b"AB");
        assert_eq!(cfg(b"pAB\0pCD\n").0.prefix, b"AB");
        assert_eq!(cfg(b"pX\np\0Y\n").0.prefix, b"", "p\\0 empties the prefix");
        assert_eq!(cfg(b"pX\np\0").0.prefix, b"");
        assert_eq!(cfg(b"!\0cat\n").0.processor, Some(Vec::new()));
        assert_eq!(
            cfg(b"!tr a b\0junk\n").0.processor,
            Some(b"tr a b".to_vec())
        );
        assert_eq!(cfg(b"u1.2.3\0.4\n").1, vec![Warning::Ip(b"1.2.3".to_vec())]);
        assert_eq!(cfg(b"u1.2.3.4\0:99\n").0.udp_port, 514);
        assert_eq!(cfg(b"s12\0k\n").0.size, 12);
        // Pattern lines: each piece after a NUL is an instruction of its own kind.
        assert_eq!(
            cfg(b"+x\0y\0-*\0\0pZ\0E\n").0.patterns,
            vec![
                Pattern::Plus(b"x".to_vec()),
                Pattern::Minus(b"*".to_vec()),
                Pattern::NoErr(Vec::new()),
            ]
        );
    }

    #[test]
    fn a_long_config_keeps_its_complete_lines() {
        assert_eq!(usable(b"pA\npB", false), b"pA\npB");
        assert_eq!(usable(b"pA\npB", true), b"pA\n");
        assert_eq!(usable(b"pAB", true), b"");
        assert_eq!(usable(b"", true), b"");
    }

    #[test]
    fn last_line_rule() {
        // observed: `pX\np` kept prefix X, `pX\npYZ` gave YZ.
        assert_eq!(cfg(b"pX\np").0.prefix, b"X");
        assert_eq!(cfg(b"pX\npYZ").0.prefix, b"YZ");
        assert_eq!(cfg(b"pX\np\n").0.prefix, b"X");
        assert_eq!(cfg(b"# comment\n pfoo\n\n!\n").0, Config::default());
    }

    #[test]
    fn udp_quirks() {
        let (c, w) = cfg(b"u1.2.3.300\n");
        assert!(w.is_empty());
        assert_eq!((c.udp_addr, c.udp_port), ([1, 2, 3, 44], 514));
        let (_, w) = cfg(b"u1.2.3\n");
        assert_eq!(w, vec![Warning::Ip(b"1.2.3".to_vec())]);
        let (c, w) = cfg(b"u127.0.0.1:9999\nu9.9\n");
        assert_eq!(w, vec![Warning::Ip(b"9.9".to_vec())]);
        assert_eq!((c.udp_addr, c.udp_port), ([9, 9, 0, 1], 9999));
        let (c, w) = cfg(b"u127.0.0.1:9999\nu127.0.0.2:0\nU127.0.0.3:abc\n");
        assert_eq!(
            w,
            vec![Warning::Port(b"0".to_vec()), Warning::Port(b"abc".to_vec())]
        );
        assert_eq!(
            (c.udp_addr, c.udp_port, c.udp_only),
            ([127, 0, 0, 3], 9999, true)
        );
        let (c, _) = cfg(b"Ux\n");
        assert_eq!((c.udp_port, c.udp_only), (0, true));
        let (_, w) = cfg(b"u1.2.3.4:\n");
        assert_eq!(w, vec![Warning::Port(b"".to_vec())]);
    }

    #[test]
    fn patterns_from_spec() {
        assert!(pmatch(b"*error*", b"an error here"));
        assert!(!pmatch(b"*error*", b"fine"));
        assert!(pmatch(
            b"*: *: pid *",
            b"tcpsvd: info: pid 1977 from 10.4.1.14"
        ));
        assert!(!pmatch(b"*pid*", b"tcpsvd: info: pid 1977 from 10.4.1.14"));
        assert!(pmatch(b"+x*", b"xxxy"));
        assert!(pmatch(b"+xyz", b"xxx"));
        assert!(!pmatch(b"+x", b"y"));
        assert!(pmatch(b"*", b""));
        assert!(pmatch(b"", b""));
        assert!(!pmatch(b"", b"a"));
        assert!(!pmatch(b"ab", b"a"));
    }

    #[test]
    fn selection_order() {
        let (c, _) = cfg(b"-*\n+*error*\ne*warn*\n");
        let mut s = Selection {
            dir: true,
            err: false,
        };
        select(&c.patterns, b"an error", &mut s);
        assert_eq!(
            s,
            Selection {
                dir: true,
                err: false
            }
        );
        select(&c.patterns, b"a warning", &mut s);
        assert_eq!(
            s,
            Selection {
                dir: false,
                err: true
            }
        );
        // no patterns: the previous decision stays (quirk).
        select(&[], b"x", &mut s);
        assert_eq!(
            s,
            Selection {
                dir: false,
                err: true
            }
        );
    }
}

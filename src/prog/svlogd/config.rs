//! A log directory's `config` file (svlogd.md §3) and the pattern language of its
//! `+ - e E` lines (§5). Pure code: no system calls, table- and property-tested.

use crate::scan_ulong;

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
                Some(i) => (&rest[..i], &rest[i + 1..], true),
                None => (rest, &rest[rest.len()..], false),
            };
            rest = next;
            if !terminated && line.len() < 2 {
                break;
            }
            self.line(line, &mut warnings);
        }
        warnings
    }

    /// One line: the first byte selects, the rest is the value, untrimmed.
    fn line(&mut self, line: &[u8], warnings: &mut Vec<Warning>) {
        let Some((&kind, value)) = line.split_first() else {
            return;
        };
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
            b'!' if !value.is_empty() => self.processor = Some(value.to_vec()),
            b'p' if !value.is_empty() => self.prefix = value.to_vec(),
            b'u' | b'U' => {
                // quirk: `U` marks the directory before the address is parsed.
                if kind == b'U' {
                    self.udp_only = true;
                }
                if let Some(w) = self.scan_udp(value) {
                    warnings.push(w);
                }
            }
            b'+' => self.patterns.push(Pattern::Plus(value.to_vec())),
            b'-' => self.patterns.push(Pattern::Minus(value.to_vec())),
            b'e' => self.patterns.push(Pattern::Err(value.to_vec())),
            b'E' => self.patterns.push(Pattern::NoErr(value.to_vec())),
            _ => {}
        }
    }

    /// `a.b.c.d[:port]`; quirk: octets scanned before an error stay, the port keeps its
    /// previous value on a port error.
    fn scan_udp(&mut self, value: &[u8]) -> Option<Warning> {
        let mut at = 0;
        for i in 0..4 {
            if i > 0 {
                if value.get(at) != Some(&b'.') {
                    return Some(Warning::Ip(value.to_vec()));
                }
                at += 1;
            }
            let (n, used) = scan_ulong(&value[at..]);
            if used == 0 {
                return Some(Warning::Ip(value.to_vec()));
            }
            self.udp_addr[i] = (n % 256) as u8;
            at += used;
        }
        if value.get(at) == Some(&b':') {
            let rest = &value[at + 1..];
            let (n, _) = scan_ulong(rest);
            let port = (n % 65536) as u16;
            if port == 0 {
                return Some(Warning::Port(rest.to_vec()));
            }
            self.udp_port = port;
        } else {
            self.udp_port = 514;
        }
        None
    }

    /// Whether `+ - e E` lines exist (then selection is recomputed for every line).
    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
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
                match line[s..].iter().position(|&b| b == stop) {
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
                while s < line.len() && line[s] == rep {
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

//! The line splitter (svlogd.md §4): cuts input chunks into lines, applies the `-r`/`-R`
//! replacement to the first `len` bytes of each line and hands the pieces to a [`Sink`].
//!
//! Memory is bounded by `len`: a line's first `len` bytes are kept until the line ends or
//! reaches `len` bytes (they decide pattern matching); everything after that streams
//! through raw, so endless lines and binary data cost no more than short ones. Lines that
//! lie wholly inside one input chunk are handed over without copying when no replacement
//! is configured, which is what makes batching cheap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use crate::sys::logio::memchr;

/// Receives one line as `head` (the processed first `len` bytes, or the whole line if
/// shorter), zero or more `tail` pieces (raw bytes after the first `len`), then `end`.
pub trait Sink<T: Copy> {
    /// `long`: the line reached `len` bytes (stderr and UDP copies get `...`).
    fn head(&mut self, stamp: T, processed: &[u8], long: bool);
    fn tail(&mut self, raw: &[u8]);
    fn end(&mut self);
}

/// Byte replacement for `-r`/`-R`: a table of 256 entries, identity when off.
#[derive(Clone)]
pub struct Replace {
    table: [u8; 256],
    on: bool,
}

impl Replace {
    /// No replacement.
    pub fn off() -> Replace {
        let mut table = [0u8; 256];
        for (i, t) in table.iter_mut().enumerate() {
            *t = i as u8;
        }
        Replace { table, on: false }
    }

    /// Every byte < 0x20 or > 0x7e, and every byte in `extra`, becomes `with`.
    pub fn new(with: u8, extra: &[u8]) -> Replace {
        let mut r = Replace::off();
        for (i, t) in r.table.iter_mut().enumerate() {
            if !(0x20..=0x7e).contains(&i) || extra.contains(&(i as u8)) {
                *t = with;
            }
        }
        r.on = true;
        r
    }

    // A u8 always indexes a table of 256: `get` would only hide that (and this is the
    // per-byte path of -r/-R).
    #[allow(clippy::indexing_slicing)]
    fn apply(&self, from: &[u8], to: &mut Vec<u8>) {
        to.extend(from.iter().map(|&b| self.table[usize::from(b)]));
    }
}

/// `data` before and after the byte at `i` (a newline that `memchr` found).
fn around(data: &[u8], i: usize) -> (&[u8], &[u8]) {
    (
        data.get(..i).unwrap_or(data),
        data.get(i + 1..).unwrap_or(&[]),
    )
}

/// The first `k` bytes of `data` (all of it if shorter) and the rest.
fn cut(data: &[u8], k: usize) -> (&[u8], &[u8]) {
    data.split_at_checked(k).unwrap_or((data, &[]))
}

/// The splitter's state between chunks.
pub struct Splitter<T: Copy> {
    len: usize,
    replace: Replace,
    /// The first bytes of an unfinished line (raw), fewer than `len`.
    partial: Vec<u8>,
    /// When the unfinished line's first byte was read.
    stamp: Option<T>,
    /// The current line reached `len` bytes: its head went out, the rest streams raw.
    in_tail: bool,
    scratch: Vec<u8>,
}

impl<T: Copy> Splitter<T> {
    pub fn new(len: usize, replace: Replace) -> Splitter<T> {
        Splitter {
            len: len.max(1),
            replace,
            partial: Vec::new(),
            stamp: None,
            in_tail: false,
            scratch: Vec::new(),
        }
    }

    /// Whether a line is unfinished (some of it read, its newline not yet).
    pub fn mid_line(&self) -> bool {
        self.in_tail || self.stamp.is_some()
    }

    /// How many bytes of an unfinished line are held (not yet handed to the sink): fewer
    /// than `len`.
    pub fn held(&self) -> usize {
        self.partial.len()
    }

    fn emit_head<S: Sink<T>>(&mut self, sink: &mut S, stamp: T, raw: &[u8], long: bool) {
        if self.replace.on {
            let mut s = std::mem::take(&mut self.scratch);
            s.clear();
            self.replace.apply(raw, &mut s);
            sink.head(stamp, &s, long);
            self.scratch = s;
        } else {
            sink.head(stamp, raw, long);
        }
    }

    /// Feeds one chunk read at time `now`.
    pub fn feed<S: Sink<T>>(&mut self, mut data: &[u8], now: T, sink: &mut S) {
        while !data.is_empty() {
            if self.in_tail {
                match memchr(b'\n', data) {
                    Some(i) => {
                        let (raw, rest) = around(data, i);
                        if !raw.is_empty() {
                            sink.tail(raw);
                        }
                        sink.end();
                        self.in_tail = false;
                        data = rest;
                    }
                    None => {
                        sink.tail(data);
                        return;
                    }
                }
                continue;
            }
            if let Some(stamp) = self.stamp {
                // Completing a line begun in an earlier chunk.
                let room = self.len.saturating_sub(self.partial.len());
                let (window, after) = cut(data, room);
                match memchr(b'\n', window) {
                    Some(i) => {
                        let (end, rest) = around(data, i);
                        self.partial.extend_from_slice(end);
                        let p = std::mem::take(&mut self.partial);
                        self.emit_head(sink, stamp, &p, false);
                        sink.end();
                        self.partial = p;
                        self.partial.clear();
                        self.stamp = None;
                        data = rest;
                    }
                    None => {
                        self.partial.extend_from_slice(window);
                        data = after;
                        if self.partial.len() >= self.len {
                            let p = std::mem::take(&mut self.partial);
                            self.emit_head(sink, stamp, &p, true);
                            self.partial = p;
                            self.partial.clear();
                            self.stamp = None;
                            self.in_tail = true;
                        }
                    }
                }
                continue;
            }
            // At a line boundary: the fast path.
            let (window, after) = cut(data, self.len);
            match memchr(b'\n', window) {
                Some(i) => {
                    let (line, rest) = around(data, i);
                    self.emit_head(sink, now, line, false);
                    sink.end();
                    data = rest;
                }
                None if window.len() == self.len => {
                    self.emit_head(sink, now, window, true);
                    self.in_tail = true;
                    data = after;
                }
                None => {
                    self.partial.extend_from_slice(data);
                    self.stamp = Some(now);
                    return;
                }
            }
        }
    }

    /// End of input (EOF or TERM): an unfinished line is completed with a newline,
    /// whatever its length (divergence (b): upstream drops one shorter than `len`).
    pub fn finish<S: Sink<T>>(&mut self, sink: &mut S) {
        if self.in_tail {
            sink.end();
            self.in_tail = false;
        } else if let Some(stamp) = self.stamp.take() {
            let p = std::mem::take(&mut self.partial);
            self.emit_head(sink, stamp, &p, false);
            sink.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the sink saw, as the bytes a directory would get and the stderr copy.
    #[derive(Default)]
    struct Rec {
        dir: Vec<u8>,
        err: Vec<u8>,
        stamps: Vec<u32>,
    }
    impl Sink<u32> for Rec {
        fn head(&mut self, stamp: u32, p: &[u8], long: bool) {
            self.stamps.push(stamp);
            self.dir.extend_from_slice(p);
            self.err.extend_from_slice(p);
            if long {
                self.err.extend_from_slice(b"...");
            }
            self.err.push(b'\n');
        }
        fn tail(&mut self, raw: &[u8]) {
            self.dir.extend_from_slice(raw);
        }
        fn end(&mut self) {
            self.dir.push(b'\n');
        }
    }

    fn run(len: usize, rep: Replace, chunks: &[&[u8]]) -> Rec {
        let mut s = Splitter::new(len, rep);
        let mut r = Rec::default();
        for (i, c) in chunks.iter().enumerate() {
            s.feed(c, i as u32, &mut r);
        }
        s.finish(&mut r);
        r
    }

    #[test]
    fn long_lines_keep_a_raw_tail() {
        // observed with -l 10 -r .: the tail after 10 bytes is written raw.
        let r = run(
            10,
            Replace::new(b'.', b""),
            &[b"0123456789ABCDEF\x01tail\n"],
        );
        assert_eq!(r.dir, b"0123456789ABCDEF\x01tail\n");
        assert_eq!(r.err, b"0123456789...\n");
        let r = run(10, Replace::new(b'.', b""), &[b"01234\t6789\n"]);
        assert_eq!(r.err, b"01234.6789...\n");
    }

    #[test]
    fn replacement_table() {
        let r = run(
            100,
            Replace::new(b'_', b" /:"),
            &[b"a\tb\x7fc\x01d e/f:g\n", "é\n".as_bytes()],
        );
        assert_eq!(r.dir, b"a_b_c_d_e_f_g\n__\n");
    }

    #[test]
    fn partial_lines_keep_their_first_stamp_and_eof_adds_newline() {
        let r = run(1000, Replace::off(), &[b"x\npar", b"t", b"ial\nlast"]);
        assert_eq!(r.dir, b"x\npartial\nlast\n");
        assert_eq!(r.stamps, vec![0, 0, 2]);
    }
}

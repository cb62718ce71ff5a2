//! The environment chpst hands to prog, the envdir reader and the PATH search
//! (spec chpst.md §3, §5; README "PATH search").
//!
//! Changes are collected as a list and applied to the inherited environment only at exec,
//! the way runit does it: an entry `NAME=VALUE` sets, an entry without `=` unsets. Applying
//! one removes the first inherited variable with the same name (moving the last variable into
//! its slot) and then appends the entry if it holds a `=`. Reproducing this keeps the order of
//! the variables prog sees identical to runit's, which `env` output and scripts can observe.
//!
//! The envdir reader reads each entry only as far as its value depends on ([`read_head`]:
//! to the first newline, at most 32 pages of it) and decides in the pure [`value_of`];
//! runit's quirks are kept (an ENOENT entry reuses what the previous entry left in the
//! buffer). Divergence (h) in docs/divergences.md.

use crate::msg;
use crate::sys::{self, AsFd, Errno};
use std::sync::OnceLock;

/// Pending environment changes, in the order they were made.
#[derive(Default, Debug)]
pub struct Changes {
    list: Vec<Vec<u8>>,
}

impl Changes {
    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        let mut e = name.to_vec();
        e.push(b'=');
        e.extend_from_slice(value);
        self.list.push(e);
    }

    /// Unsets `name`. Quirk kept from runit: a name holding `=` (an envdir file `A=B`) is
    /// applied like a setting, `A=B` with an empty file sets `A` to `B`.
    pub fn unset(&mut self, name: &[u8]) {
        self.list.push(name.to_vec());
    }

    /// The environment prog gets: `base` (in `environ` order) with the changes applied.
    pub fn apply(&self, base: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut env = base;
        for c in &self.list {
            let split = c.iter().position(|&b| b == b'=').unwrap_or(c.len());
            let key = &c[..split];
            if let Some(t) = env
                .iter()
                .position(|e| e.len() > split && &e[..split] == key && e[split] == b'=')
            {
                env.swap_remove(t);
            }
            if split < c.len() {
                env.push(c.clone());
            }
        }
        env
    }
}

/// What envdir does with a subdirectory entry: chpst's `-e` skips it, the envdir
/// personality fails.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SubdirRule {
    /// `-e`: skip, with a warning when verbose.
    Skip { verbose: bool },
    /// `envdir`: fatal.
    Fatal,
}

/// The copy of the original stderr that `-2` keeps (close-on-exec).
static SAVED_STDERR: OnceLock<sys::OwnedFd> = OnceLock::new();

/// `-2`, before fd 2 is dismissed: keeps a close-on-exec copy of it, so that a fatal error
/// after that point (above all `unable to run`) is still seen (upstream after 2.3.0).
pub fn save_stderr() {
    match sys::dup_at_least(sys::stderr(), 3) {
        Ok(fd) => {
            let _ = SAVED_STDERR.set(fd);
        }
        Err(e) => fatal(&[b"unable to save stderr"], Some(e)),
    }
}

/// Prints `chpst: fatal: <parts>[: <err>]` (on the original stderr if `-2` dismissed it)
/// and exits 111.
pub fn fatal(parts: &[&[u8]], errno: Option<Errno>) -> ! {
    if let Some(saved) = SAVED_STDERR.get() {
        let _ = sys::dup2(saved.as_fd(), 2);
    }
    msg::say(msg::Kind::Fatal, parts, errno);
    sys::exit(super::EXIT_FATAL)
}

/// Prints `chpst: warning: <parts>[: <err>]`.
pub fn warn(parts: &[&[u8]], errno: Option<Errno>) {
    msg::say(msg::Kind::Warning, parts, errno);
}

/// Reads environment directory `dir` (spec §5) into `changes`.
pub fn envdir(dir: &[u8], rule: SubdirRule, changes: &mut Changes) {
    let dot = c"."; // the current directory, to come back to
    let start = sys::open(dot, libc::O_RDONLY | libc::O_NDELAY, 0)
        .unwrap_or_else(|e| fatal(&[b"unable to open current working directory"], Some(e)));
    let cdir = sys::cstr(dir)
        .unwrap_or_else(|e| fatal(&[b"unable to switch to directory: ", dir], Some(e)));
    if let Err(e) = sys::chdir(&cdir) {
        fatal(&[b"unable to switch to directory: ", dir], Some(e));
    }
    let names = match sys::dir_names(dot) {
        Ok(n) => n,
        Err(sys::DirError::Open(e)) => fatal(&[b"unable to open directory: ", dir], Some(e)),
        Err(sys::DirError::Read(e)) => fatal(&[b"unable to read directory: ", dir], Some(e)),
    };
    let bound = line_bound();
    // What runit's read buffer holds between entries: its quirk for an entry that vanished
    // (ENOENT) is to process it with what the previous entry left there, the previous value
    // and its C string terminator (spec §5).
    let mut buf: Vec<u8> = Vec::new();
    for name in &names {
        if name.first() == Some(&b'.') {
            continue;
        }
        let head = match read_entry(name, bound) {
            Ok(Some(head)) => head,
            Ok(None) => Head {
                bytes: std::mem::take(&mut buf),
                longer: false,
            },
            Err(e) if e == Errno::ISDIR && rule != SubdirRule::Fatal => {
                if rule == (SubdirRule::Skip { verbose: true }) {
                    msg::warn_errno(&[b"unable to read ", dir, b"/", name], e);
                }
                continue;
            }
            Err(e) => fatal(&[b"unable to read ", dir, b"/", name], Some(e)),
        };
        match value_of(&head.bytes, head.longer) {
            None => {
                changes.unset(name);
                buf.clear();
            }
            Some(value) => {
                changes.set(name, &value);
                buf = value;
                buf.push(0);
            }
        }
    }
    if let Err(e) = sys::fchdir(start.as_fd()) {
        fatal(&[b"unable to switch to starting directory"], Some(e));
    }
}

/// How much of an entry's first line is kept: the kernel's longest environment string
/// (`MAX_ARG_STRLEN`, 32 pages: 131072 bytes with 4 KiB pages). A value that long can never
/// reach prog, since `NAME=` and the NUL come on top, so a longer line needs no more bytes to
/// decide what happens: the exec fails with `argument list too long`, as runit's does after
/// reading the whole line. This bounds memory per entry, also for an endless file
/// (`/dev/zero`).
fn line_bound() -> usize {
    sys::max_arg_strlen()
}

/// The start of an envdir file, as much as its value depends on.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    /// The file's first bytes: through the first newline, or the whole file if it has none,
    /// or the first `bound` bytes of a longer first line.
    pub bytes: Vec<u8>,
    /// The first line goes on past `bytes` with something other than spaces and tabs, so
    /// trimming cannot bring it back within the bound.
    pub longer: bool,
}

/// Opens `name` and reads its [`Head`]; `Ok(None)` if it does not exist (the quirk's case).
/// Opened non-blocking like runit's reader, so a FIFO without a writer reads as empty.
fn read_entry(name: &[u8], bound: usize) -> Result<Option<Head>, Errno> {
    let path = sys::cstr(name)?;
    let fd = match sys::open(&path, libc::O_RDONLY | libc::O_NONBLOCK, 0) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    read_head(|chunk| sys::read(fd.as_fd(), chunk), bound).map(Some)
}

/// Reads the [`Head`] of a file through `read` (one `read(2)` per call), keeping at most
/// `bound` bytes. Reading stops at the first newline. Past the bound only the kind of the next
/// bytes matters: up to a newline or the end, spaces and tabs would be trimmed away
/// (`longer` stays false), anything else makes the value too long for exec. Only a first
/// line made of endless blanks keeps it reading, in bounded memory (runit reads it until
/// memory runs out).
pub fn read_head(
    mut read: impl FnMut(&mut [u8]) -> Result<usize, Errno>,
    bound: usize,
) -> Result<Head, Errno> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    while bytes.len() < bound {
        let want = (bound - bytes.len()).min(chunk.len());
        let got = match chunk.get_mut(..want) {
            Some(c) => c,
            None => break,
        };
        let n = read(got)?;
        let got = got.get(..n).unwrap_or(&[]);
        if got.is_empty() {
            return Ok(Head {
                bytes,
                longer: false,
            });
        }
        if let Some(nl) = got.iter().position(|&b| b == b'\n') {
            bytes.extend_from_slice(got.get(..=nl).unwrap_or(got));
            return Ok(Head {
                bytes,
                longer: false,
            });
        }
        bytes.extend_from_slice(got);
    }
    loop {
        let n = read(&mut chunk)?;
        let got = chunk.get(..n).unwrap_or(&[]);
        if got.is_empty() {
            return Ok(Head {
                bytes,
                longer: false,
            });
        }
        for &b in got {
            match b {
                b' ' | b'\t' => {}
                b'\n' => {
                    return Ok(Head {
                        bytes,
                        longer: false,
                    })
                }
                _ => {
                    return Ok(Head {
                        bytes,
                        longer: true,
                    })
                }
            }
        }
    }
}

/// The decision envdir makes for one entry (spec §5), from the file's [`Head`]: `None` to
/// unset the variable (an empty file), otherwise its value: the first line, trailing spaces
/// and tabs removed, every NUL turned into a newline. A `longer` line is used as read, not
/// trimmed: it stays too long for exec, as the whole line is in runit.
pub fn value_of(head: &[u8], longer: bool) -> Option<Vec<u8>> {
    if head.is_empty() && !longer {
        return None;
    }
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let mut value = head.get(..end).unwrap_or(head).to_vec();
    if !longer {
        while matches!(value.last(), Some(b' ' | b'\t')) {
            value.pop();
        }
    }
    for b in value.iter_mut() {
        if *b == 0 {
            *b = b'\n';
        }
    }
    Some(value)
}

/// Executes `file` with `argv` and `envp`, searching `path` (the original `$PATH`) when
/// `file` holds no `/` (spec README "PATH search"). Returns the errno to report. Allocates
/// nothing: it runs after the resource limits (`-m 0` leaves no memory to allocate).
pub fn pathexec(file: &[u8], argv: &sys::Argv, envp: &sys::Envp, path: Option<&[u8]>) -> Errno {
    let exec = |f: &std::ffi::CStr| sys::execve(f, argv, envp);
    if file.contains(&b'/') {
        return sys::with_cstr(&[file], exec).unwrap_or_else(|e| e);
    }
    let path = path.unwrap_or(b"/bin:/usr/bin");
    let mut saved: Option<Errno> = None;
    for dir in path.split(|&b| b == b':') {
        let parts: [&[u8]; 3] = if dir.is_empty() {
            [b"", b"", file]
        } else {
            [dir, b"/", file]
        };
        let e = sys::with_cstr(&parts, exec).unwrap_or_else(|e| e);
        if !sys::path_search_continues(e, &mut saved) {
            break;
        }
    }
    sys::path_search_result(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<Vec<u8>> {
        a.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn values_as_observed() {
        // Spec §5, each observed with Debian's chpst.
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"", None),
            (b"\n", Some(b"")),
            (b"   ", Some(b"")),
            (b"\t x \n", Some(b"\t x")),
            (b"a\0b  \t\nsecond", Some(b"a\nb")),
            (b"plain", Some(b"plain")),
            (b"foo\0", Some(b"foo\n")), // the ENOENT quirk: previous value + terminator
        ];
        for (head, want) in cases {
            assert_eq!(value_of(head, false).as_deref(), *want, "{head:?}");
        }
        // Cut inside a longer line: used as read, blanks and all.
        assert_eq!(value_of(b"x \t", true).as_deref(), Some(&b"x \t"[..]));
        assert_eq!(value_of(b"\0\0", true).as_deref(), Some(&b"\n\n"[..]));
    }

    /// A reader over `data` handing out at most `step` bytes per call.
    fn reader(data: &[u8], step: usize) -> impl FnMut(&mut [u8]) -> Result<usize, Errno> + '_ {
        let mut at = 0;
        move |buf: &mut [u8]| {
            let n = buf.len().min(step).min(data.len() - at);
            buf[..n].copy_from_slice(&data[at..at + n]);
            at += n;
            Ok(n)
        }
    }

    #[test]
    fn head_stops_at_newline_and_bound() {
        let h = read_head(reader(b"ab\ncd", 1), 10).unwrap();
        assert_eq!((h.bytes.as_slice(), h.longer), (&b"ab\n"[..], false));
        let h = read_head(reader(b"abcdef", 100), 4).unwrap();
        assert_eq!((h.bytes.as_slice(), h.longer), (&b"abcd"[..], true));
        let h = read_head(reader(b"abcd  \t \nzz", 3), 4).unwrap();
        assert_eq!((h.bytes.as_slice(), h.longer), (&b"abcd"[..], false));
        let h = read_head(reader(b"abcd  \t ", 3), 4).unwrap();
        assert_eq!((h.bytes.as_slice(), h.longer), (&b"abcd"[..], false));
        let h = read_head(reader(b"", 3), 4).unwrap();
        assert_eq!((h.bytes.as_slice(), h.longer), (&b""[..], false));
        // An endless file of NULs (`/dev/zero`) ends after one chunk past the bound.
        let mut calls = 0;
        let zero = |buf: &mut [u8]| {
            calls += 1;
            buf.fill(0);
            Ok(buf.len())
        };
        let h = read_head(zero, 10000).unwrap();
        assert_eq!((h.bytes.len(), h.longer), (10000, true));
        assert!(calls <= 4, "{calls} reads");
        // Errors are reported as such.
        let fail = |_: &mut [u8]| Err(Errno::IO);
        assert_eq!(read_head(fail, 10), Err(Errno::IO));
    }

    /// What runit makes of a whole file: it reads all of it, then takes the first line.
    fn runit_value(content: &[u8]) -> Option<Vec<u8>> {
        if content.is_empty() {
            return None;
        }
        let end = content
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(content.len());
        let mut v = content[..end].to_vec();
        while matches!(v.last(), Some(b' ' | b'\t')) {
            v.pop();
        }
        Some(v.iter().map(|&b| if b == 0 { b'\n' } else { b }).collect())
    }

    /// Property (fixed-seed PRNG): for every file, our bounded read gives runit's value when
    /// that fits in the bound, and otherwise exactly `bound` bytes of it, which no exec takes.
    #[test]
    fn bounded_read_agrees_with_whole_file_read() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let alphabet = b"x \t\n\0";
        for _ in 0..20000 {
            let len = next(24) as usize;
            let content: Vec<u8> = (0..len)
                .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                .collect();
            let bound = 1 + next(12) as usize;
            let step = 1 + next(6) as usize;
            let head = read_head(reader(&content, step), bound).unwrap();
            assert!(head.bytes.len() <= bound);
            let ours = value_of(&head.bytes, head.longer);
            let theirs = runit_value(&content);
            match &theirs {
                Some(v) if v.len() > bound => {
                    assert!(head.longer, "{content:?} bound {bound}");
                    assert_eq!(ours.as_deref(), Some(&v[..bound]), "{content:?}");
                }
                _ => assert_eq!(ours, theirs, "{content:?} bound {bound}"),
            }
        }
    }

    #[test]
    fn apply_orders_like_runit() {
        // Observed with Debian's chpst: env -i A=1 B=2 C=3, envdir setting N then A=B=v.
        let mut c = Changes::default();
        c.set(b"N", b"x");
        c.set(b"A=B", b"v");
        assert_eq!(
            c.apply(v(&["A=1", "B=2", "C=3"])),
            v(&["N=x", "B=2", "C=3", "A=B=v"])
        );
    }

    #[test]
    fn unset_and_set_twice() {
        let mut c = Changes::default();
        c.unset(b"B");
        c.set(b"X", b"1");
        c.set(b"X", b"2");
        c.unset(b"NOPE");
        assert_eq!(
            c.apply(v(&["A=1", "B=2", "C=3"])),
            v(&["A=1", "C=3", "X=2"])
        );
    }
}

//! The environment chpst hands to prog, the envdir reader and the PATH search
//! (spec chpst.md §3, §5; README "PATH search").
//!
//! Changes are collected as a list and applied to the inherited environment only at exec,
//! the way runit does it: an entry `NAME=VALUE` sets, an entry without `=` unsets. Applying
//! one removes the first inherited variable with the same name (moving the last variable into
//! its slot) and then appends the entry if it holds a `=`. Reproducing this keeps the order of
//! the variables prog sees identical to runit's, which `env` output and scripts can observe.

use crate::msg;
use crate::sys::{self, AsFd, Errno};

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

/// Prints `chpst: fatal: <parts>[: <err>]` and exits 111.
pub fn fatal(parts: &[&[u8]], errno: Option<Errno>) -> ! {
    msg::say(msg::Kind::Fatal, parts, errno);
    sys::exit(super::EXIT_FATAL)
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
    // The read buffer outlives each entry: runit's quirk for an entry that vanished (ENOENT)
    // is to process it with what the previous entry left there.
    let mut buf: Vec<u8> = Vec::new();
    for name in &names {
        if name.first() == Some(&b'.') {
            continue;
        }
        match read_file(name) {
            Ok(Some(content)) => buf = content,
            Ok(None) => {} // ENOENT: keep the previous buffer (quirk, spec §5)
            Err(e) if e == Errno::ISDIR && rule != SubdirRule::Fatal => {
                if rule == (SubdirRule::Skip { verbose: true }) {
                    msg::warn_errno(&[b"unable to read ", dir, b"/", name], e);
                }
                continue;
            }
            Err(e) => fatal(&[b"unable to read ", dir, b"/", name], Some(e)),
        }
        if buf.is_empty() {
            changes.unset(name);
            continue;
        }
        let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
        buf.truncate(end);
        while matches!(buf.last(), Some(b' ') | Some(b'\t')) {
            buf.pop();
        }
        for b in buf.iter_mut() {
            if *b == 0 {
                *b = b'\n';
            }
        }
        changes.set(name, &buf);
        buf.push(0); // what runit's buffer holds afterwards (its C string terminator)
    }
    if let Err(e) = sys::fchdir(start.as_fd()) {
        fatal(&[b"unable to switch to starting directory"], Some(e));
    }
}

/// The whole content of `name`; `Ok(None)` if it does not exist.
fn read_file(name: &[u8]) -> Result<Option<Vec<u8>>, Errno> {
    match sys::read_file(&sys::cstr(name)?, usize::MAX - 1) {
        Ok(c) => Ok(Some(c.data)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Executes `file` with `argv` and `envp`, searching `path` (the original `$PATH`) when
/// `file` holds no `/` (spec README "PATH search"). Returns the errno to report.
pub fn pathexec(file: &[u8], argv: &sys::Argv, envp: &sys::Envp, path: Option<&[u8]>) -> Errno {
    if file.contains(&b'/') {
        return match sys::cstr(file) {
            Ok(f) => sys::execve(&f, argv, envp),
            Err(e) => e,
        };
    }
    let path = path.unwrap_or(b"/bin:/usr/bin");
    let mut saved: Option<Errno> = None;
    for dir in path.split(|&b| b == b':') {
        let mut full = Vec::with_capacity(dir.len() + 1 + file.len());
        if !dir.is_empty() {
            full.extend_from_slice(dir);
            full.push(b'/');
        }
        full.extend_from_slice(file);
        let e = match sys::cstr(&full) {
            Ok(f) => sys::execve(&f, argv, envp),
            Err(e) => e,
        };
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

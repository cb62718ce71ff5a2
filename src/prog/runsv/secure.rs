//! Who may have put what in `supervise/` (beyond runit; docs/runsv-sv.md "Trusting
//! supervise/").
//!
//! runit's runsv obeys whatever FIFO sits at `supervise/control` and writes `status`, `stat`
//! and `pid` through whatever is at those names. When the directory belongs to another user
//! (or anyone may write into it) that user can plant a world-writable `control` or a symlink
//! at `status.new` and have a root runsv write where they like. So before runsv opens
//! anything there:
//!
//! - a `supervise/` that is ours and writable by no one else is trusted with everything in
//!   it: only we (root, an admin) can have made its entries, and an admin who chowns
//!   `control`, `ok` and `status` to a user to let them run `sv` (runit's FAQ) is obeyed;
//! - otherwise it is made ours and private (owner, group and others keep read and search,
//!   lose write), and every entry in it that is not ours, or is a symlink, or a second link
//!   to some other file, is removed, to be created afresh; each step is a warning;
//! - when it cannot be made ours (runsv does not run as root), runsv refuses to start:
//!   `unable to make supervise private: <err>`, exit 111.
//!
//! A `supervise` symlink into a directory of ours (Void's `/run/runit/supervise.NAME`) is
//! followed and checked like a plain directory.

use crate::msg;
use crate::svdir::SuperviseFiles;
use crate::sys::{self, AsFd, Errno};

/// Write permission for group and others.
const FOREIGN_WRITE: u32 = 0o022;

/// What [`verdict`] decided about a `supervise/` directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ours, writable only by us: trusted as it is.
    Trusted,
    /// Must be taken over: chown to us (when `chown`), mode without foreign write.
    TakeOver { chown: bool, mode: u32 },
}

/// The decision for a directory with owner `uid` and `mode`, for a runsv running as `me`.
pub fn verdict(uid: u32, mode: u32, me: u32) -> Verdict {
    if uid == me && mode & FOREIGN_WRITE == 0 {
        Verdict::Trusted
    } else {
        Verdict::TakeOver {
            chown: uid != me,
            mode: mode & 0o7755 & !FOREIGN_WRITE,
        }
    }
}

/// Whether an entry of a taken-over directory must go: not ours, a symlink, or a regular
/// file with other names elsewhere (a hard link to a file we would overwrite).
pub fn suspect(st: &sys::Stat, me: u32) -> bool {
    st.uid != me || st.is_symlink() || (st.is_reg() && st.nlink > 1)
}

/// Applies the rules of the module doc to one `supervise/` (`name` as runit names it in
/// messages: `supervise` or `log/supervise`). Runs before runsv opens anything there.
pub fn secure(f: &SuperviseFiles, name: &[u8]) {
    let fatal = |parts: &[&[u8]], e: Errno| -> ! { msg::fatal_errno(super::exit::FATAL, parts, e) };
    let Ok(st) = sys::stat(f.dir) else {
        return; // missing or unreadable: runit's own messages follow when it is used
    };
    if !st.is_dir() {
        return;
    }
    let me = sys::geteuid();
    let Verdict::TakeOver { chown, mode } = verdict(st.uid, st.mode, me) else {
        return;
    };
    let fd = match sys::open(f.dir, libc::O_RDONLY | libc::O_DIRECTORY, 0) {
        Ok(fd) => fd,
        Err(e) => fatal(&[b"unable to make ", name, b" private"], e),
    };
    if chown {
        if let Err(e) = sys::fchown(fd.as_fd(), me, sys::getegid()) {
            fatal(&[b"unable to make ", name, b" private"], e);
        }
    }
    if let Err(e) = sys::fchmod(fd.as_fd(), mode) {
        fatal(&[b"unable to make ", name, b" private"], e);
    }
    msg::warn(&[name, b": not ours or writable by others, made private"]);
    let names = match sys::dir_names(f.dir) {
        Ok(n) => n,
        Err(e) => fatal(&[b"unable to read ", name], e.errno()),
    };
    for entry in names
        .iter()
        .filter(|n| n.as_slice() != b"." && n.as_slice() != b"..")
    {
        let mut path = f.dir.to_bytes().to_vec();
        path.push(b'/');
        path.extend_from_slice(entry);
        let Ok(p) = sys::cstr(&path) else { continue };
        let Ok(est) = sys::lstat(&p) else { continue };
        if est.is_dir() || !suspect(&est, me) {
            // A planted directory cannot be written through; runit's warnings say so
            // when a name it uses is one.
            continue;
        }
        match sys::unlink(&p) {
            Ok(()) => msg::warn(&[name, b"/", entry, b": not ours, removed"]),
            Err(e) => fatal(&[b"unable to remove ", name, b"/", entry], e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        // (owner, mode, me) -> verdict
        let table = [
            (0, 0o700, 0, Verdict::Trusted),
            (0, 0o755, 0, Verdict::Trusted), // runit's FAQ: chmod 755 ./supervise
            (
                0,
                0o775,
                0,
                Verdict::TakeOver {
                    chown: false,
                    mode: 0o755,
                },
            ),
            (
                0,
                0o777,
                0,
                Verdict::TakeOver {
                    chown: false,
                    mode: 0o755,
                },
            ),
            (
                0,
                0o1777,
                0,
                Verdict::TakeOver {
                    chown: false,
                    mode: 0o1755,
                },
            ),
            (
                1000,
                0o700,
                0,
                Verdict::TakeOver {
                    chown: true,
                    mode: 0o700,
                },
            ),
            (
                1000,
                0o777,
                0,
                Verdict::TakeOver {
                    chown: true,
                    mode: 0o755,
                },
            ),
            (1000, 0o700, 1000, Verdict::Trusted),
            (
                0,
                0o700,
                1000,
                Verdict::TakeOver {
                    chown: true,
                    mode: 0o700,
                },
            ),
        ];
        for (uid, mode, me, want) in table {
            assert_eq!(verdict(uid, mode, me), want, "{uid} {mode:o} {me}");
        }
    }

    #[test]
    fn suspects() {
        let st = |uid, mode, nlink| sys::Stat {
            uid,
            mode,
            nlink,
            ..Default::default()
        };
        assert!(!suspect(&st(0, libc::S_IFIFO | 0o600, 1), 0));
        assert!(suspect(&st(65534, libc::S_IFIFO | 0o666, 1), 0));
        assert!(suspect(&st(0, libc::S_IFLNK | 0o777, 1), 0));
        assert!(suspect(&st(0, libc::S_IFREG | 0o644, 2), 0));
        assert!(!suspect(&st(0, libc::S_IFREG | 0o644, 1), 0));
    }
}

//! The system-call layer: the only place that calls libc and the only `unsafe` in the crate.
//!
//! Every wrapper returns `Result<_, Errno>` ([`Errno`] prints runit's text for it), owns
//! EINTR (callers never loop on it, house rule 5), and hands out descriptors as
//! [`OwnedFd`] (closed on drop) and takes them as [`BorrowedFd`]. Paths are `&CStr` so that
//! hot paths (runsv's status writes, child starts) can use names built once at start-up and
//! never allocate.
//!
//! By topic: [`fs`] files, descriptors and directories; [`proc`] processes, exec, limits;
//! [`time`] clocks and poll; [`signals`] the self-pipe; [`dirwatch`] inotify; [`proctitle`]
//! the process's argv memory; [`init`] what only PID 1 needs; [`ns`] namespaces (chpst
//! -I/-F); [`user`] credentials; [`logio`] svlogd's sockets; [`net`] runit-exporter's TCP
//! sockets; [`alloc`] the global allocator of every binary (runit's `out of memory.`, the
//! allocation count).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod alloc;
pub mod dirwatch;
pub mod errno;
pub mod fs;
pub mod init;
pub mod logio;
pub mod net;
pub mod notify;
pub mod ns;
pub mod proc;
pub mod proctitle;
pub mod signals;
pub mod time;
pub mod user;

pub use errno::Errno;
pub use fs::*;
pub use libc::pid_t;
pub use proc::*;
pub use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
pub use time::*;

use std::ffi::{CStr, CString};

pub type Res<T> = Result<T, Errno>;

/// Builds a C string from bytes; an interior NUL (impossible from argv or readdir) becomes EINVAL.
pub fn cstr(b: &[u8]) -> Res<CString> {
    CString::new(b).map_err(|_| Errno::INVAL)
}

/// Calls `f` with the C string of `parts` joined, built in a stack buffer of PATH_MAX bytes
/// without allocating: for what runs after chpst's resource limits, where an allocation
/// can fail (`-m 0`). A string of PATH_MAX bytes or more is ENAMETOOLONG (what the kernel
/// would answer for such a path), an interior NUL EINVAL.
pub fn with_cstr<R>(parts: &[&[u8]], f: impl FnOnce(&CStr) -> R) -> Res<R> {
    let mut buf = [0u8; libc::PATH_MAX as usize];
    let mut n = 0;
    for part in parts {
        if part.contains(&0) {
            return Err(Errno::INVAL);
        }
        // the last byte stays free for the NUL
        let dst = buf
            .get_mut(n..n + part.len())
            .filter(|_| n + part.len() < libc::PATH_MAX as usize)
            .ok_or(Errno::NAMETOOLONG)?;
        dst.copy_from_slice(part);
        n += part.len();
    }
    buf.get(..=n)
        .and_then(|b| CStr::from_bytes_with_nul(b).ok())
        .map(f)
        .ok_or(Errno::INVAL)
}

/// A C-string literal's bytes without the NUL (for messages naming a path constant).
pub fn name(c: &CStr) -> &[u8] {
    c.to_bytes()
}

fn check(r: libc::c_int) -> Res<libc::c_int> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// Retries `f` while it fails with EINTR.
fn nointr(mut f: impl FnMut() -> libc::c_int) -> Res<libc::c_int> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r);
        }
        let e = Errno::last();
        if e != Errno::INTR {
            return Err(e);
        }
    }
}

fn nointr_ssize(mut f: impl FnMut() -> isize) -> Res<usize> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = Errno::last();
        if e != Errno::INTR {
            return Err(e);
        }
    }
}

/// Takes ownership of a descriptor number the kernel just returned.
fn owned(fd: libc::c_int) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: only called with a descriptor a system call has just created for us, which
    // nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_cstr_joins_within_path_max() {
        let max = libc::PATH_MAX as usize;
        let long = vec![b'a'; max - 1];
        type Row<'a> = (&'a [&'a [u8]], Res<&'a [u8]>);
        let table: &[Row] = &[
            (&[b"/bin", b"/", b"sh"], Ok(b"/bin/sh")),
            (&[b"", b"", b"sh"], Ok(b"sh")),
            (&[], Ok(b"")),
            (&[&long], Ok(&long)),
            (&[&long, b"b"], Err(Errno::NAMETOOLONG)),
            (&[b"a\0b"], Err(Errno::INVAL)),
        ];
        for (parts, want) in table {
            let got = with_cstr(parts, |c| c.to_bytes().to_vec());
            assert_eq!(got.as_deref(), want.as_deref(), "{parts:?}");
        }
    }
}

//! Process credentials and state for chpst (spec chpst.md §3, §4): the passwd and group
//! databases, `setgroups`/`setgid`/`setuid`, `nice`, `setsid`'s friends, and the raw
//! environment in `environ` order.
//!
//! Lookups go through glibc's `getpwnam`/`getgrnam`, so after a chroot they read the new
//! root's `/etc/passwd` and `/etc/group` (chpst.md §3 step 6). A lookup reports "not found"
//! (`Ok(None)`) apart from a failure with an errno (`Err`), the distinction runit makes between
//! `unknown user/group` and `unable to get password/group file entry`.
//!
//! A statically linked build (the static multicall `runit-rs`, `make install MULTICALL=1`)
//! consults only the `files` source, i.e. `/etc/passwd` and `/etc/group`: see
//! [`static_files_only`].

use super::{check, Errno, Res};
use std::ffi::CStr;

/// Clears the thread's errno, so a NULL from a lookup can be told apart from "not found".
fn clear_errno() {
    // SAFETY: the errno location is thread-local and writable.
    unsafe { *libc::__errno_location() = 0 };
}

/// In a static binary, glibc would `dlopen` every NSS module `nsswitch.conf` names besides
/// `files` (Debian 12: `passwd: files systemd`); such a module is linked against the shared
/// libc and crashes the static one (SIGSEGV on the first name that `files` does not know,
/// seen with `chpst -u nosuchuser`). glibc's own `__nss_configure_lookup` pins both
/// databases to its built-in `files` module before the first lookup. The dynamic binaries
/// keep the whole of `nsswitch.conf` (LDAP, systemd's users...).
#[cfg(target_feature = "crt-static")]
fn static_files_only() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    extern "C" {
        fn __nss_configure_lookup(db: *const libc::c_char, line: *const libc::c_char) -> i32;
    }
    ONCE.call_once(|| {
        // SAFETY: both arguments are NUL-terminated static strings; glibc copies what it keeps.
        // A failure (-1, only for an unknown database name) leaves the default, as before.
        unsafe {
            __nss_configure_lookup(c"passwd".as_ptr(), c"files".as_ptr());
            __nss_configure_lookup(c"group".as_ptr(), c"files".as_ptr());
        }
    });
}

#[cfg(not(target_feature = "crt-static"))]
fn static_files_only() {}

/// `getpwnam(name)`: `(uid, primary gid)`; `Ok(None)` when no such user.
pub fn getpwnam(name: &CStr) -> Res<Option<(u32, u32)>> {
    static_files_only();
    clear_errno();
    // SAFETY: name is NUL-terminated; the returned record is read at once, before any other
    // passwd call could overwrite it (single-threaded program).
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        let e = Errno::last();
        return if e.0 == 0 { Ok(None) } else { Err(e) };
    }
    // SAFETY: pw is a valid passwd record (checked non-null above).
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

/// `getgrnam(name)`: the group's gid; `Ok(None)` when no such group.
pub fn getgrnam(name: &CStr) -> Res<Option<u32>> {
    static_files_only();
    clear_errno();
    // SAFETY: name is NUL-terminated; the record is read at once (single-threaded program).
    let gr = unsafe { libc::getgrnam(name.as_ptr()) };
    if gr.is_null() {
        let e = Errno::last();
        return if e.0 == 0 { Ok(None) } else { Err(e) };
    }
    // SAFETY: gr is a valid group record (checked non-null above).
    Ok(Some(unsafe { (*gr).gr_gid }))
}

/// `setgroups(list)`: replaces every supplementary group.
pub fn setgroups(gids: &[u32]) -> Res<()> {
    // SAFETY: gids is valid for gids.len() elements of gid_t (u32 on Linux).
    check(unsafe { libc::setgroups(gids.len() as libc::size_t, gids.as_ptr()) }).map(|_| ())
}

pub fn setgid(gid: u32) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::setgid(gid) }).map(|_| ())
}

pub fn setuid(uid: u32) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::setuid(uid) }).map(|_| ())
}

/// `nice(inc)`: the new nice value. A result of -1 is an error only when errno was set.
pub fn nice(inc: i32) -> Res<i32> {
    clear_errno();
    // SAFETY: plain library call.
    let r = unsafe { libc::nice(inc) };
    if r == -1 {
        let e: Errno = Errno::last();
        if e.0 != 0 {
            return Err(e);
        }
    }
    Ok(r)
}

/// The process environment exactly as `environ` holds it: order kept, entries without `=`
/// kept (chpst rebuilds the environment the way runit does and must start from the same list).
pub fn environ_raw() -> Vec<Vec<u8>> {
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    let mut out = Vec::new();
    // SAFETY: environ is a NULL-terminated array of NUL-terminated strings maintained by libc;
    // the program is single-threaded and does not modify its environment while reading it.
    unsafe {
        let mut p = environ;
        if p.is_null() {
            return out;
        }
        while !(*p).is_null() {
            out.push(CStr::from_ptr(*p).to_bytes().to_vec());
            p = p.add(1);
        }
    }
    out
}

/// The original `$PATH` as bytes, if set.
pub fn getenv(name: &CStr) -> Option<Vec<u8>> {
    // SAFETY: name is NUL-terminated; the returned pointer is copied at once.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        None
    } else {
        // SAFETY: p is a NUL-terminated string owned by libc's environment.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
    }
}

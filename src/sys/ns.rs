//! Namespaces, for `chpst -I` and `-F` (docs/chpst.md "A new PID namespace"): a new PID and
//! mount namespace, the mount calls its new PID 1 makes, and dying with the parent.

use super::{check, Res};
use std::ffi::CStr;

/// `unshare(CLONE_NEWPID | CLONE_NEWNS)`: the next child is PID 1 of a new PID namespace,
/// and this process (so that child too) gets its own copy of the mount table.
pub fn unshare_pid_and_mounts() -> Res<()> {
    // SAFETY: plain system call with flag arguments.
    check(unsafe { libc::unshare(libc::CLONE_NEWPID | libc::CLONE_NEWNS) }).map(|_| ())
}

/// Makes every mount below `/` private (`MS_REC | MS_PRIVATE`), so mounts made in the new
/// mount namespace do not propagate back to the host.
pub fn make_mounts_private() -> Res<()> {
    // SAFETY: all pointers are NUL-terminated strings or null, as mount(2) allows for a
    // propagation change.
    check(unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    })
    .map(|_| ())
}

/// `umount2(path, MNT_DETACH)`: a lazy unmount.
pub fn umount_lazy(path: &CStr) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) }).map(|_| ())
}

/// Mounts a proc file system (`nosuid,nodev,noexec`) on `path`: in a new PID namespace it
/// shows that namespace's processes.
pub fn mount_proc(path: &CStr) -> Res<()> {
    // SAFETY: all strings are NUL-terminated; no data argument.
    check(unsafe {
        libc::mount(
            c"proc".as_ptr(),
            path.as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        )
    })
    .map(|_| ())
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: `sig` is sent to us when our parent dies.
pub fn die_with_parent(sig: i32) -> Res<()> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) }).map(|_| ())
}

/// The real-time signals the C library leaves to programs (`SIGRTMIN..=SIGRTMAX`).
pub fn rt_signals() -> std::ops::RangeInclusive<i32> {
    libc::SIGRTMIN()..=libc::SIGRTMAX()
}

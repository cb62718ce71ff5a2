//! System calls only an init needs: reboot(2), the controlling terminal, a poll that
//! unblocks chosen signals only while it waits (ppoll), and making sure fds 0-2 exist.
//!
//! PID 1 must never die of a transient error, so nothing here panics or indexes slices.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::{check, fd_is_open, Errno, Res};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, RawFd};

/// `reboot(2)` commands.
pub const RB_AUTOBOOT: i32 = libc::RB_AUTOBOOT;
pub const RB_HALT_SYSTEM: i32 = libc::RB_HALT_SYSTEM;
pub const RB_POWER_OFF: i32 = libc::RB_POWER_OFF;
/// Ctrl-Alt-Del becomes SIGINT for PID 1 instead of an immediate reboot.
pub const RB_DISABLE_CAD: i32 = libc::RB_DISABLE_CAD;

/// `reboot(cmd)`. In a PID namespace other than the initial one the kernel answers EINVAL
/// for RB_DISABLE_CAD, and without CAP_SYS_BOOT EPERM: runit uses that to tell a container.
pub fn reboot(cmd: i32) -> Res<()> {
    // SAFETY: plain system call; on success with a halting command it does not return.
    check(unsafe { libc::reboot(cmd) }).map(|_| ())
}

/// Makes the terminal on `fd` the controlling terminal of the calling process (TIOCSCTTY).
pub fn set_ctty(fd: BorrowedFd) -> Res<()> {
    // SAFETY: plain ioctl with an integer argument.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) }).map(|_| ())
}

/// Makes sure fds 0, 1 and 2 are open, so that later descriptors (the self-pipe) never land
/// on them: a closed one gets `/dev/null`, or `/` read-only when even that is missing (a
/// directory: reads and writes fail harmlessly, and it always exists).
pub fn fill_std_fds() {
    for fd in 0..3 {
        if fd_is_open(fd) {
            continue;
        }
        let opened = super::open_inherit(c"/dev/null", libc::O_RDWR, 0)
            .or_else(|_| super::open_inherit(c"/", libc::O_RDONLY | libc::O_DIRECTORY, 0));
        if let Ok(n) = opened {
            if n.as_raw_fd() == fd {
                // The lowest free number was the one to fill: keep it open for good.
                let _: RawFd = n.into_raw_fd();
            } else {
                let _ = super::dup2(std::os::fd::AsFd::as_fd(&n), fd);
            }
        }
    }
}

/// Waits until `fd` (if any) is readable or `timeout_ms` passes (negative: no limit), with the
/// signals in `unblock` unblocked for the duration of the wait only (ppoll). Returns
/// whether `fd` is readable; an interrupting signal gives `Ok(false)` (its handler wrote
/// to the self-pipe, which the caller drains next).
pub fn ppoll_unblocked(
    fd: Option<BorrowedFd>,
    timeout_ms: i64,
    unblock: &[i32],
) -> Result<bool, Errno> {
    // SAFETY: zeroed sigset_t is then filled by sigprocmask.
    let mut cur: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: reading the current mask into a valid sigset_t.
    check(unsafe { libc::sigprocmask(libc::SIG_BLOCK, std::ptr::null(), &mut cur) })?;
    for &s in unblock {
        // SAFETY: cur is a valid sigset_t.
        unsafe { libc::sigdelset(&mut cur, s) };
    }
    let mut pfd = libc::pollfd {
        fd: fd.map_or(-1, |f| f.as_raw_fd()),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: (timeout_ms.max(0) / 1000) as _,
        tv_nsec: ((timeout_ms.max(0) % 1000) * 1_000_000) as libc::c_long,
    };
    let tsp: *const libc::timespec = if timeout_ms < 0 {
        std::ptr::null()
    } else {
        &ts
    };
    // SAFETY: pfd, ts and cur are valid for the call.
    let r = unsafe { libc::ppoll(&mut pfd, 1, tsp, &cur) };
    if r < 0 {
        let e = Errno::last();
        return if e == Errno::INTR { Ok(false) } else { Err(e) };
    }
    Ok(r > 0 && pfd.revents & libc::POLLIN != 0)
}

/// `syncfs(2)` on the file system holding `path` (a container syncs its own root, not
/// every file system of the host).
pub fn syncfs_path(path: &CStr) -> Res<()> {
    let fd = super::open(path, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    // SAFETY: plain system call on an fd we own.
    check(unsafe { libc::syncfs(fd.as_raw_fd()) }).map(|_| ())
}

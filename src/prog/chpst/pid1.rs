//! `chpst -I` and `chpst -F`: prog in a new PID and mount namespace (docs/chpst.md "A new
//! PID namespace"; upstream's options of the same names, after 2.3.0).
//!
//! Three processes take part:
//!
//! - the **relay**, chpst itself, outside: it forwards every signal it gets to the new
//!   PID 1, except SIGQUIT, which it turns into SIGKILL for it (the only way to end a
//!   namespace whose PID 1 ignores signals), and exits with the new PID 1's exit code
//!   (128 + the signal number if it was killed);
//! - the **new PID 1**, inside: it makes the mounts private, replaces `/proc` with the
//!   namespace's own, and dies with the relay (PR_SET_PDEATHSIG). With `-I` it goes on to
//!   become prog. With `-F` it stays chpst: it forks pid 2, forwards every signal it gets
//!   to every process of the namespace, reaps whatever ends there, and once nothing is left
//!   exits with the status of the last process that ended;
//! - with `-F`, **pid 2**, which goes on to become prog.
//!
//! chpst is no supervisor, but the relay and the `-F` PID 1 follow the same rules: signals
//! through the self-pipe, no blocking sleeps, everything reaped.

use super::env::{fatal, warn};
use crate::sys::{self, ns, signals, Errno, Forked};

/// `-I` or `-F`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-I`: prog is PID 1 of the new namespace.
    Init,
    /// `-F`: prog is pid 2, under a PID 1 that reaps and relays.
    Fork,
}

/// The signals that are relayed: every standard signal that can be caught, except CHLD
/// (the relay's and the reaper's own business) and the ones the kernel raises for a fault
/// in the catching process itself (catching those would loop on the faulting
/// instruction), plus the real-time signals.
fn relayed() -> impl Iterator<Item = i32> {
    const NOT: [i32; 9] = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGCHLD,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGSEGV,
        libc::SIGSYS,
    ];
    (1..32).filter(|s| !NOT.contains(s)).chain(ns::rt_signals())
}

/// The exit code that passes a wait status on: the exit code, or 128 + the signal.
fn code_of(e: &sys::Exited) -> i32 {
    if e.signaled() {
        128 + e.signal()
    } else {
        e.code()
    }
}

/// Enters the namespaces. Returns only in the process that is to become prog (the new
/// PID 1 with `-I`, pid 2 with `-F`), with default signal dispositions; the relay and the
/// `-F` PID 1 end inside. `chrooted`: `-/` was given (then `/` may not be a mount point,
/// and making it private is allowed to fail).
pub fn enter(mode: Mode, verbose: bool, chrooted: bool) {
    // Caught before the fork, so that nothing sent meanwhile is lost.
    let pipe =
        signals::selfpipe().unwrap_or_else(|e| fatal(&[b"unable to create selfpipe"], Some(e)));
    for s in relayed().chain([libc::SIGCHLD]) {
        let _ = signals::catch(s);
    }
    if let Err(e) = ns::unshare_pid_and_mounts() {
        fatal(&[b"unable to set namespaces"], Some(e));
    }
    match sys::fork() {
        Err(e) => fatal(&[b"unable to fork new pid 1"], Some(e)),
        Ok(Forked::Parent(pid)) => relay(&pipe, pid, verbose),
        Ok(Forked::Child) => drop(pipe),
    }
    // The namespace does not outlive its relay: `sv kill` (KILL to chpst) ends it too.
    let _ = ns::die_with_parent(libc::SIGKILL);
    if verbose {
        warn(&[b"pid1: start"], None);
    }
    if let Err(e) = ns::make_mounts_private() {
        if !chrooted {
            fatal(&[b"pid1: unable to set root mount propagation"], Some(e));
        }
    }
    match ns::umount_lazy(c"/proc") {
        // not a mount point, or no /proc at all (a chroot)
        Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => {}
        Err(e) => fatal(&[b"pid1: unable to umount /proc"], Some(e)),
    }
    match ns::mount_proc(c"/proc") {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => warn(&[b"pid1: unable to mount /proc"], Some(e)),
    }
    match mode {
        Mode::Init => signals::reset_child_signals(),
        Mode::Fork => reaper(verbose),
    }
}

/// The outer chpst: relays signals to the new PID 1 until it ends, then exits with its code.
fn relay(pipe: &sys::OwnedFd, pid1: sys::pid_t, verbose: bool) -> ! {
    loop {
        match sys::wait_nohang(pid1) {
            Ok(Some(e)) => {
                if verbose {
                    warn(&[b"pid1: done"], None);
                }
                sys::exit(code_of(&e));
            }
            Ok(None) => {}
            Err(e) => fatal(&[b"unable to wait for new pid 1"], Some(e)),
        }
        wait_readable(pipe);
        signals::drain_each(sys::AsFd::as_fd(pipe), |s| {
            let _ = match s {
                libc::SIGCHLD => Ok(()),
                libc::SIGQUIT => sys::kill(pid1, libc::SIGKILL),
                s => sys::kill(pid1, s),
            };
        });
    }
}

/// `-F`'s PID 1: forks pid 2 (which returns, to become prog), then relays and reaps.
fn reaper(verbose: bool) {
    let pipe = signals::selfpipe()
        .unwrap_or_else(|e| fatal(&[b"pid1: unable to create selfpipe"], Some(e)));
    match sys::fork() {
        Err(e) => fatal(&[b"pid1: unable to fork pid 2"], Some(e)),
        Ok(Forked::Child) => {
            drop(pipe);
            signals::reset_child_signals();
            return;
        }
        Ok(Forked::Parent(_)) => {}
    }
    let mut last = None;
    loop {
        loop {
            match sys::wait_nohang(-1) {
                Ok(Some(e)) => {
                    if verbose {
                        let mut b = [0u8; 20];
                        let n = crate::fmt_u64(e.pid as u64, &mut b);
                        warn(&[b"pid1: pid ", n, b": exit"], None);
                    }
                    last = Some(e);
                }
                Ok(None) => break,
                Err(e) => {
                    if e != Errno::CHILD {
                        warn(&[b"pid1: wait_pid()"], Some(e));
                    }
                    // everything in the namespace has ended
                    sys::exit(last.as_ref().map_or(super::EXIT_FATAL, code_of));
                }
            }
        }
        wait_readable(&pipe);
        signals::drain_each(sys::AsFd::as_fd(&pipe), |s| {
            if s != libc::SIGCHLD {
                // every process of the namespace but this one
                let _ = sys::kill(-1, s);
            }
        });
    }
}

/// Waits until the self-pipe has a byte.
fn wait_readable(pipe: &sys::OwnedFd) {
    let mut fds = [sys::PollFd::new(sys::AsFd::as_fd(pipe), sys::POLLIN)];
    let _ = sys::poll(&mut fds, -1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_signals() {
        let r: Vec<i32> = relayed().collect();
        for s in [
            libc::SIGHUP,
            libc::SIGTERM,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGWINCH,
        ] {
            assert!(r.contains(&s), "{s}");
        }
        for s in [libc::SIGKILL, libc::SIGSTOP, libc::SIGCHLD, libc::SIGSEGV] {
            assert!(!r.contains(&s), "{s}");
        }
        assert!(r.contains(&libc::SIGRTMIN()) && r.contains(&libc::SIGRTMAX()));
        assert!(!r.contains(&32) && !r.contains(&33), "glibc's own");
    }
}

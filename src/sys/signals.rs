//! Signals the self-pipe way (house rule 6): a handler only writes the signal number as one
//! byte into a non-blocking pipe; the event loop polls the read end, drains it, then acts.
//! Draining before acting means a signal arriving while we act leaves a fresh byte behind.

use super::{check, pipe, read, Errno, Res};
use std::os::fd::{BorrowedFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

static SELFPIPE_W: AtomicI32 = AtomicI32::new(-1);
/// The process that owns the self-pipe. A forked child runs this handler until it execs;
/// if it wrote, its signal would read as the parent's (a TERM sent to a runsv that had not
/// yet exec'd made runsvdir exit).
static OWNER: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: getpid is async-signal-safe.
    if unsafe { libc::getpid() } != OWNER.load(Ordering::Relaxed) {
        // In a child before exec: act as the default disposition would.
        // SAFETY: signal and raise are async-signal-safe.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        return;
    }
    let fd = SELFPIPE_W.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        let saved = Errno::last();
        // SAFETY: write(2) is async-signal-safe; the byte lives on this stack frame.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
        // SAFETY: restore errno for the interrupted code.
        unsafe { *libc::__errno_location() = saved.0 };
    }
}

/// Creates the self-pipe (both ends non-blocking and close-on-exec) and returns its read end.
/// The write end lives as long as the process: the handler writes into it.
pub fn selfpipe() -> Res<OwnedFd> {
    let (r, w) = pipe(libc::O_NONBLOCK)?;
    // SAFETY: getpid has no preconditions.
    OWNER.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    let old = SELFPIPE_W.swap(w.into_raw_fd(), Ordering::Relaxed);
    if old >= 0 {
        // SAFETY: a previous self-pipe's write end, owned by this module alone.
        unsafe { libc::close(old) };
    }
    Ok(r)
}

fn sigaction(sig: i32, handler: libc::sighandler_t, flags: i32) -> Res<()> {
    // SAFETY: a zeroed sigaction is valid; the mask is emptied before use.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler;
    sa.sa_flags = flags;
    // SAFETY: sa.sa_mask is a valid sigset_t.
    unsafe { libc::sigemptyset(&mut sa.sa_mask) };
    // SAFETY: sa is fully initialised.
    check(unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) }).map(|_| ())
}

/// Routes `sig` to the self-pipe. SIGCHLD is caught with SA_NOCLDSTOP (only exits matter).
pub fn catch(sig: i32) -> Res<()> {
    let flags = if sig == libc::SIGCHLD {
        libc::SA_NOCLDSTOP | libc::SA_RESTART
    } else {
        libc::SA_RESTART
    };
    sigaction(
        sig,
        on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        flags,
    )
}

pub fn ignore(sig: i32) -> Res<()> {
    sigaction(sig, libc::SIG_IGN, 0)
}

pub fn default(sig: i32) -> Res<()> {
    sigaction(sig, libc::SIG_DFL, 0)
}

fn sigset(sigs: &[i32]) -> libc::sigset_t {
    // SAFETY: a zeroed sigset_t is then initialised by sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is valid.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in sigs {
        // SAFETY: set is valid; invalid numbers are rejected by the call itself.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    set
}

fn mask(how: i32, sigs: &[i32]) -> Res<()> {
    let set = sigset(sigs);
    // SAFETY: set is valid; the old mask is not wanted.
    check(unsafe { libc::sigprocmask(how, &set, std::ptr::null_mut()) }).map(|_| ())
}

pub fn block(sigs: &[i32]) -> Res<()> {
    mask(libc::SIG_BLOCK, sigs)
}

pub fn unblock(sigs: &[i32]) -> Res<()> {
    mask(libc::SIG_UNBLOCK, sigs)
}

/// Reads every pending byte from the self-pipe; bit `n` of the result is set if signal `n`
/// arrived at least once.
pub fn drain(fd: BorrowedFd) -> u64 {
    let mut got = 0u64;
    let mut buf = [0u8; 64];
    while let Ok(n) = read(fd, &mut buf) {
        if n == 0 {
            break;
        }
        for &b in buf.iter().take(n) {
            if b < 64 {
                got |= 1u64 << b;
            }
        }
    }
    got
}

/// Reads every pending byte from the self-pipe and calls `f` with each signal number, in
/// the order and as often as they arrived (for relaying them one by one; the handler
/// writes one byte per delivery, and the kernel merges a standard signal sent while it is
/// pending).
pub fn drain_each(fd: BorrowedFd, mut f: impl FnMut(i32)) {
    let mut buf = [0u8; 64];
    while let Ok(n) = read(fd, &mut buf) {
        if n == 0 {
            break;
        }
        for &b in buf.iter().take(n) {
            f(i32::from(b));
        }
    }
}

/// Whether bit `sig` is set in a [`drain`] result.
pub fn has(got: u64, sig: i32) -> bool {
    (0..64).contains(&sig) && got & (1u64 << sig) != 0
}

/// The clean process state every child starts with (spec README divergence (f)): every
/// disposition back to default and an empty signal mask. Async-signal-safe: call it between
/// fork and exec. Rust's runtime ignores SIGPIPE; this undoes that too.
pub fn reset_child_signals() {
    // The raw system call, because glibc's sigaction refuses its reserved real-time signals
    // (32, 33), which a parent may still have left ignored.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: 0, // SIG_DFL
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..65 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: dfl is a valid kernel sigaction for the x86-64/aarch64 layout; the old
        // action is not wanted; sigsetsize is 8 as the kernel requires.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig as libc::c_long,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8 as libc::c_long,
            )
        };
    }
    let set = sigset(&[]);
    // SAFETY: set is a valid, empty sigset_t.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
}

//! Processes: fork and exec, waiting, signals to others, sessions, limits, and the list of
//! our own children.
//!
//! Between fork and exec a child may only make async-signal-safe calls (house rule 7):
//! everything a child needs (argv arrays, paths, messages) is built before the fork, and the
//! exec wrappers here take it ready-made. [`crate::spawn`] is the one place that forks a
//! child program.

use super::{check, cstr, nointr, Errno, Res};
use std::ffi::{CStr, CString};

pub use libc::pid_t;

pub fn exit(code: i32) -> ! {
    std::process::exit(code)
}

/// `_exit(2)`: for forked children, no atexit handlers, no flushing of inherited buffers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

pub fn getpid() -> pid_t {
    // SAFETY: no preconditions.
    unsafe { libc::getpid() }
}

pub fn getppid() -> pid_t {
    // SAFETY: no preconditions.
    unsafe { libc::getppid() }
}

pub fn getuid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::getuid() }
}

pub fn geteuid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() }
}

pub fn getegid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::getegid() }
}

/// Which side of a [`fork`] we are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forked {
    Child,
    Parent(pid_t),
}

/// `fork(2)`. The child may only call async-signal-safe functions (house rule 7): these
/// wrappers, no allocation.
pub fn fork() -> Res<Forked> {
    // SAFETY: the program is single-threaded (house rule: no threads), so the child is a
    // faithful copy; callers restrict the child to async-signal-safe calls until exec.
    let r = unsafe { libc::fork() };
    match r {
        r if r < 0 => Err(Errno::last()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// A prepared argv: NUL-terminated strings and the pointer array, built before fork so the
/// child only calls `execve`.
pub struct Argv {
    _strings: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
}

impl Argv {
    pub fn new<S: AsRef<[u8]>>(args: &[S]) -> Res<Argv> {
        let strings = args
            .iter()
            .map(|a| cstr(a.as_ref()))
            .collect::<Res<Vec<CString>>>()?;
        let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        Ok(Argv {
            _strings: strings,
            ptrs,
        })
    }
    fn as_ptr(&self) -> *const *const libc::c_char {
        self.ptrs.as_ptr()
    }
}

/// A prepared environment for `execve` (`KEY=VALUE` strings).
pub type Envp = Argv;

/// `execv(path, argv)` with the current environment; returns only on failure.
pub fn execv(path: &CStr, argv: &Argv) -> Errno {
    // SAFETY: path is NUL-terminated and argv is a NULL-terminated array of valid C strings
    // that outlive the call.
    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
    Errno::last()
}

/// `execv` with an argv of up to 7 C strings, its pointer array built on the stack: for
/// forked children of supervisors, which must not allocate. Returns only on failure.
pub fn execv_cstrs(path: &CStr, args: &[&CStr]) -> Errno {
    let mut ptrs: [*const libc::c_char; 8] = [std::ptr::null(); 8];
    for (p, a) in ptrs.iter_mut().zip(args.iter().take(7)) {
        *p = a.as_ptr();
    }
    // SAFETY: ptrs is NULL-terminated (at most 7 entries used) and points at C strings that
    // outlive the call.
    unsafe { libc::execv(path.as_ptr(), ptrs.as_ptr()) };
    Errno::last()
}

/// `execve(path, argv, envp)`; returns only on failure.
pub fn execve(path: &CStr, argv: &Argv, envp: &Envp) -> Errno {
    // SAFETY: as for execv; envp is a NULL-terminated array of valid C strings.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// One step of runit's PATH search (spec README "PATH search"): after an exec of one
/// candidate failed with `e`, whether to try the next one. ENOENT goes on; EACCES, EPERM and
/// EISDIR go on but are remembered in `saved` (the last one is reported if nothing runs);
/// anything else stops the search and is the error reported.
pub fn path_search_continues(e: Errno, saved: &mut Option<Errno>) -> bool {
    match e.0 {
        libc::ENOENT => true,
        libc::EACCES | libc::EPERM | libc::EISDIR => {
            *saved = Some(e);
            true
        }
        _ => {
            *saved = Some(e);
            false
        }
    }
}

/// The error a PATH search reports when no candidate ran.
pub fn path_search_result(saved: Option<Errno>) -> Errno {
    saved.unwrap_or(Errno::NOENT)
}

/// The current environment as `KEY=VALUE` byte strings.
pub fn environ() -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.into_vec();
            e.push(b'=');
            e.extend_from_slice(&v.into_vec());
            e
        })
        .collect()
}

/// How a child ended (its raw wait status decoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exited {
    pub pid: pid_t,
    /// The raw wait status.
    pub status: i32,
}

impl Exited {
    pub fn exited(&self) -> bool {
        libc::WIFEXITED(self.status)
    }
    pub fn code(&self) -> i32 {
        libc::WEXITSTATUS(self.status)
    }
    pub fn signaled(&self) -> bool {
        libc::WIFSIGNALED(self.status)
    }
    pub fn signal(&self) -> i32 {
        libc::WTERMSIG(self.status)
    }
    /// runit's reading of a script's result: the high byte of the wait status, so a script
    /// killed by a signal reads as 0 (quirk, supervise-protocol.md §9.2, sv.md §8).
    pub fn high_byte(&self) -> i32 {
        (self.status >> 8) & 0xff
    }
}

/// `waitpid(pid, WNOHANG)`: `Ok(None)` when nothing (more) has exited.
pub fn wait_nohang(pid: pid_t) -> Res<Option<Exited>> {
    let mut st: libc::c_int = 0;
    // SAFETY: st is a valid out-pointer.
    let r = nointr(|| unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) })?;
    Ok(if r == 0 {
        None
    } else {
        Some(Exited { pid: r, status: st })
    })
}

/// Blocking `waitpid(pid, 0)`.
pub fn wait_pid(pid: pid_t) -> Res<Exited> {
    let mut st: libc::c_int = 0;
    // SAFETY: st is a valid out-pointer.
    let r = nointr(|| unsafe { libc::waitpid(pid, &mut st, 0) })?;
    Ok(Exited { pid: r, status: st })
}

pub fn kill(pid: pid_t, sig: i32) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::kill(pid, sig) }).map(|_| ())
}

pub fn setsid() -> Res<pid_t> {
    // SAFETY: plain system call.
    check(unsafe { libc::setsid() })
}

pub fn setpgid(pid: pid_t, pgid: pid_t) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::setpgid(pid, pgid) }).map(|_| ())
}

pub fn umask(mask: u32) -> u32 {
    // SAFETY: plain system call.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

pub fn getrlimit(res: i32) -> Res<(u64, u64)> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: rl is a valid out-pointer.
    check(unsafe { libc::getrlimit(res as _, &mut rl) })?;
    Ok((rl.rlim_cur, rl.rlim_max))
}

pub fn setrlimit(res: i32, cur: u64, max: u64) -> Res<()> {
    let rl = libc::rlimit {
        rlim_cur: cur,
        rlim_max: max,
    };
    // SAFETY: rl is a valid in-pointer.
    check(unsafe { libc::setrlimit(res as _, &rl) }).map(|_| ())
}

/// The longest single argument or environment string `execve` accepts, its NUL included:
/// the kernel's `MAX_ARG_STRLEN`, 32 pages (131072 bytes with 4 KiB pages). A longer string
/// makes the exec fail with E2BIG.
pub fn max_arg_strlen() -> usize {
    // SAFETY: plain library call, no pointers.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    32 * usize::try_from(page)
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096)
}

/// Our direct children, from `/proc/self/task/PID/children` (needs /proc; a PID 1 uses it to
/// find orphans that were re-parented to it).
pub fn child_pids() -> Res<Vec<pid_t>> {
    let mut path = b"/proc/self/task/".to_vec();
    let mut b = [0u8; 20];
    path.extend_from_slice(crate::fmt_u64(getpid() as u64, &mut b));
    path.extend_from_slice(b"/children");
    // A pid is at most 7 digits and a separator; 1 MiB holds any child list there can be.
    let list = super::read_file(&cstr(&path)?, 1 << 20)?;
    Ok(list
        .data
        .split(|&c| c == b' ' || c == b'\n')
        .filter(|w| !w.is_empty())
        .map(|w| crate::scan_ulong(w).0 as pid_t)
        .collect())
}

/// `pidfd_open(pid)`: a descriptor that becomes readable when `pid` exits (Linux 5.3), for
/// waiting on a process that is not our child.
pub fn pidfd_open(pid: pid_t) -> Res<std::os::fd::OwnedFd> {
    // SAFETY: plain system call with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(super::owned(r as libc::c_int))
    }
}

/// The process group of `pid`.
pub fn getpgid(pid: pid_t) -> Res<pid_t> {
    // SAFETY: plain system call.
    check(unsafe { libc::getpgid(pid) })
}

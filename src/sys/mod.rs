//! The system-call layer: the only place that calls libc and the only `unsafe` in the crate.
//!
//! Every wrapper returns `Result<_, Errno>` with the raw errno (programs print runit's text
//! for it through `msg::errstr`), and owns EINTR: callers never loop on it (house rule 5).
//! Paths are `&CStr` so that hot paths (runsv's status writes, child starts) can use names
//! built once at start-up and never allocate.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod alloc_audit;
pub mod dirwatch;
pub mod init;
pub mod logio;
pub mod signals;
pub mod user;

use std::ffi::{CStr, CString};

pub use libc::pid_t;

/// A raw errno value.
pub type Errno = i32;
pub type Res<T> = Result<T, Errno>;

/// The calling thread's errno.
pub fn errno() -> Errno {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn check(r: libc::c_int) -> Res<libc::c_int> {
    if r < 0 {
        Err(errno())
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
        let e = errno();
        if e != libc::EINTR {
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
        let e = errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// Builds a C string from bytes; an interior NUL (impossible from argv or readdir) becomes EINVAL.
pub fn cstr(b: &[u8]) -> Res<CString> {
    CString::new(b).map_err(|_| libc::EINVAL)
}

// ---------------------------------------------------------------- process

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

/// `fork(2)`: `Ok(0)` in the child. The child may only call async-signal-safe functions
/// (house rule 7): these wrappers, no allocation.
pub fn fork() -> Res<pid_t> {
    // SAFETY: the program is single-threaded (house rule: no threads), so the child is a
    // faithful copy; callers restrict the child to async-signal-safe calls until exec.
    let r = unsafe { libc::fork() };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
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
    pub fn as_ptr(&self) -> *const *const libc::c_char {
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
    errno()
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
    errno()
}

/// `execve(path, argv, envp)`; returns only on failure.
pub fn execve(path: &CStr, argv: &Argv, envp: &Envp) -> Errno {
    // SAFETY: as for execv; envp is a NULL-terminated array of valid C strings.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    errno()
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

/// The outcome of `waitpid`.
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

// ---------------------------------------------------------------- files

pub fn open(path: &CStr, flags: i32, mode: u32) -> Res<i32> {
    // SAFETY: path is NUL-terminated.
    nointr(|| unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) })
}

/// `open` without `O_CLOEXEC`, for descriptors meant to be inherited across exec.
pub fn open_inherit(path: &CStr, flags: i32, mode: u32) -> Res<i32> {
    // SAFETY: path is NUL-terminated.
    nointr(|| unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) })
}

pub fn close(fd: i32) -> Res<()> {
    // SAFETY: closing a descriptor we own; EINTR after close is not retried (Linux frees the fd).
    check(unsafe { libc::close(fd) }).map(|_| ())
}

pub fn read(fd: i32, buf: &mut [u8]) -> Res<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    nointr_ssize(|| unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

pub fn write(fd: i32, buf: &[u8]) -> Res<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    nointr_ssize(|| unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// Writes all of `buf`, continuing after short writes.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Res<()> {
    while !buf.is_empty() {
        let n = write(fd, buf)?;
        if n == 0 {
            return Err(libc::EIO);
        }
        buf = buf.get(n..).unwrap_or(&[]);
    }
    Ok(())
}

/// `pipe2(O_CLOEXEC | extra)`: (read end, write end).
pub fn pipe(extra: i32) -> Res<(i32, i32)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds is a valid 2-element array.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | extra) })?;
    let [r, w] = fds;
    Ok((r, w))
}

pub fn dup2(from: i32, to: i32) -> Res<()> {
    // SAFETY: plain system call.
    nointr(|| unsafe { libc::dup2(from, to) }).map(|_| ())
}

pub fn set_cloexec(fd: i32, on: bool) -> Res<()> {
    // SAFETY: plain fcntl calls on an fd.
    let fl = check(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    let nfl = if on {
        fl | libc::FD_CLOEXEC
    } else {
        fl & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, nfl) }).map(|_| ())
}

pub fn set_nonblock(fd: i32, on: bool) -> Res<()> {
    // SAFETY: plain fcntl calls on an fd.
    let fl = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    let nfl = if on {
        fl | libc::O_NONBLOCK
    } else {
        fl & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, nfl) }).map(|_| ())
}

pub fn fsync(fd: i32) -> Res<()> {
    // SAFETY: plain system call.
    nointr(|| unsafe { libc::fsync(fd) }).map(|_| ())
}

pub fn lseek(fd: i32, off: i64, whence: i32) -> Res<i64> {
    // SAFETY: plain system call.
    let r = unsafe { libc::lseek(fd, off, whence) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

pub fn ftruncate(fd: i32, len: i64) -> Res<()> {
    // SAFETY: plain system call.
    nointr(|| unsafe { libc::ftruncate(fd, len) }).map(|_| ())
}

/// `flock(fd, op)`; op is `libc::LOCK_EX` etc., with `LOCK_NB` for a non-blocking try.
pub fn flock(fd: i32, op: i32) -> Res<()> {
    // SAFETY: plain system call.
    nointr(|| unsafe { libc::flock(fd, op) }).map(|_| ())
}

/// The parts of `struct stat` the programs use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub mode: u32,
    pub dev: u64,
    pub ino: u64,
    pub size: i64,
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub uid: u32,
    pub nlink: u64,
}

impl Stat {
    fn from(st: &libc::stat) -> Stat {
        Stat {
            mode: st.st_mode,
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size,
            mtime: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec,
            uid: st.st_uid,
            nlink: st.st_nlink,
        }
    }
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_fifo(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFIFO
    }
    pub fn is_reg(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
}

pub fn stat(path: &CStr) -> Res<Stat> {
    // SAFETY: zeroed stat is a valid out-buffer; path is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    check(unsafe { libc::stat(path.as_ptr(), &mut st) })?;
    Ok(Stat::from(&st))
}

pub fn lstat(path: &CStr) -> Res<Stat> {
    // SAFETY: zeroed stat is a valid out-buffer; path is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    check(unsafe { libc::lstat(path.as_ptr(), &mut st) })?;
    Ok(Stat::from(&st))
}

pub fn fstat(fd: i32) -> Res<Stat> {
    // SAFETY: zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(Stat::from(&st))
}

pub fn mkdir(path: &CStr, mode: u32) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::mkdir(path.as_ptr(), mode as libc::mode_t) }).map(|_| ())
}

pub fn mkfifo(path: &CStr, mode: u32) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::mkfifo(path.as_ptr(), mode as libc::mode_t) }).map(|_| ())
}

pub fn rename(from: &CStr, to: &CStr) -> Res<()> {
    // SAFETY: both paths are NUL-terminated.
    check(unsafe { libc::rename(from.as_ptr(), to.as_ptr()) }).map(|_| ())
}

pub fn unlink(path: &CStr) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::unlink(path.as_ptr()) }).map(|_| ())
}

pub fn rmdir(path: &CStr) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::rmdir(path.as_ptr()) }).map(|_| ())
}

pub fn symlink(target: &CStr, path: &CStr) -> Res<()> {
    // SAFETY: both paths are NUL-terminated.
    check(unsafe { libc::symlink(target.as_ptr(), path.as_ptr()) }).map(|_| ())
}

pub fn chmod(path: &CStr, mode: u32) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::chmod(path.as_ptr(), mode as libc::mode_t) }).map(|_| ())
}

pub fn fchmod(fd: i32, mode: u32) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::fchmod(fd, mode as libc::mode_t) }).map(|_| ())
}

/// `readlink`, with a buffer of `max` bytes: a target of `max` bytes or more is ENAMETOOLONG.
pub fn readlink(path: &CStr, max: usize) -> Res<Vec<u8>> {
    let mut buf = vec![0u8; max];
    // SAFETY: buf is valid for max bytes.
    let r = unsafe { libc::readlink(path.as_ptr(), buf.as_mut_ptr().cast(), max) };
    if r < 0 {
        return Err(errno());
    }
    let r = r as usize;
    if r >= max {
        return Err(libc::ENAMETOOLONG);
    }
    buf.truncate(r);
    Ok(buf)
}

pub fn chdir(path: &CStr) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::chdir(path.as_ptr()) }).map(|_| ())
}

pub fn fchdir(fd: i32) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::fchdir(fd) }).map(|_| ())
}

pub fn chroot(path: &CStr) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::chroot(path.as_ptr()) }).map(|_| ())
}

pub fn sync() {
    // SAFETY: no preconditions.
    unsafe { libc::sync() }
}

/// Reads a whole directory (names only, `.` and `..` included as readdir gives them).
pub fn read_dir_names(path: &CStr) -> Res<Vec<Vec<u8>>> {
    // SAFETY: path is NUL-terminated; the DIR pointer is checked before use and closed once.
    let d = unsafe { libc::opendir(path.as_ptr()) };
    if d.is_null() {
        return Err(errno());
    }
    let mut names = Vec::new();
    let result = loop {
        // SAFETY: errno location is thread-local and writable.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: d is a valid open DIR.
        let ent = unsafe { libc::readdir(d) };
        if ent.is_null() {
            let e = errno();
            break if e == 0 { Ok(()) } else { Err(e) };
        }
        // SAFETY: d_name is a NUL-terminated array inside a valid dirent.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
        names.push(name.to_bytes().to_vec());
    };
    // SAFETY: d is valid and closed exactly once.
    unsafe { libc::closedir(d) };
    result.map(|_| names)
}

// ---------------------------------------------------------------- poll and time

/// One poll entry.
#[derive(Clone, Copy, Debug)]
pub struct PollFd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

pub const POLLIN: i16 = libc::POLLIN;
pub const POLLOUT: i16 = libc::POLLOUT;
pub const POLLHUP: i16 = libc::POLLHUP;
pub const POLLERR: i16 = libc::POLLERR;

/// `poll(2)` with a timeout in milliseconds (-1: forever). EINTR is reported as `Ok(0)`:
/// a signal arrived, and its self-pipe byte is what the caller acts on.
pub fn poll(fds: &mut [PollFd], timeout_ms: i32) -> Res<usize> {
    let mut raw = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; 8];
    let n = fds.len().min(raw.len());
    for (r, f) in raw.iter_mut().zip(fds.iter()) {
        r.fd = f.fd;
        r.events = f.events;
    }
    // SAFETY: raw holds n valid pollfd entries.
    let r = unsafe { libc::poll(raw.as_mut_ptr(), n as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = errno();
        return if e == libc::EINTR { Ok(0) } else { Err(e) };
    }
    for (f, r) in fds.iter_mut().zip(raw.iter()) {
        f.revents = r.revents;
    }
    Ok(r as usize)
}

/// Wall-clock time: (seconds, microseconds) since the Unix epoch.
pub fn now_wall() -> (i64, u32) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, (ts.tv_nsec / 1000) as u32)
}

/// Monotonic time in milliseconds, for deadlines that must not follow clock steps.
pub fn now_mono_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// A pause for paths where runit itself pauses (fork failure, "pausing" retries) in programs
/// that are not event loops. Supervisors use deadlines in their poll loop instead.
pub fn sleep_ms(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

// ---------------------------------------------------------------- limits

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

//! Files, descriptors and directories.
//!
//! Descriptors are created close-on-exec unless a name says otherwise (`open_inherit`,
//! `pipe_inherit`): a supervisor's children must only inherit what they are given.

use super::{check, cstr, nointr, nointr_ssize, owned, Errno, Res};
use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

/// Standard input, output and error. A program may start with any of them closed; calls on a
/// closed one fail with EBADF, which is all a descriptor number can do wrong here.
pub fn stdin() -> BorrowedFd<'static> {
    // SAFETY: fd 0 is never closed by us while borrowed (see above for a closed one).
    unsafe { BorrowedFd::borrow_raw(0) }
}

pub fn stdout() -> BorrowedFd<'static> {
    // SAFETY: as for stdin.
    unsafe { BorrowedFd::borrow_raw(1) }
}

pub fn stderr() -> BorrowedFd<'static> {
    // SAFETY: as for stdin.
    unsafe { BorrowedFd::borrow_raw(2) }
}

pub fn open(path: &CStr, flags: i32, mode: u32) -> Res<OwnedFd> {
    // SAFETY: path is NUL-terminated.
    nointr(|| unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) })
        .map(owned)
}

/// `open` without `O_CLOEXEC`, for descriptors meant to be inherited across exec.
pub fn open_inherit(path: &CStr, flags: i32, mode: u32) -> Res<OwnedFd> {
    // SAFETY: path is NUL-terminated.
    nointr(|| unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) }).map(owned)
}

/// `openat(dir, path)`, close-on-exec.
pub fn openat(dir: BorrowedFd, path: &CStr, flags: i32, mode: u32) -> Res<OwnedFd> {
    // SAFETY: path is NUL-terminated; dir is a valid descriptor.
    nointr(|| unsafe {
        libc::openat(
            dir.as_raw_fd(),
            path.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })
    .map(owned)
}

/// Closes `fd`, reporting the error (dropping an `OwnedFd` closes it silently).
pub fn close(fd: OwnedFd) -> Res<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: we owned raw; EINTR after close is not retried (Linux frees the fd anyway).
    check(unsafe { libc::close(raw) }).map(|_| ())
}

/// Closes a descriptor by number (fds 0-2 before an exec, inherited strays).
pub fn close_raw(fd: RawFd) -> Res<()> {
    // SAFETY: closing a number we do not hold an OwnedFd for (callers' contract).
    check(unsafe { libc::close(fd) }).map(|_| ())
}

pub fn read(fd: BorrowedFd, buf: &mut [u8]) -> Res<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    nointr_ssize(|| unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
}

pub fn write(fd: BorrowedFd, buf: &[u8]) -> Res<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    nointr_ssize(|| unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
}

/// Writes all of `buf`, continuing after short writes.
pub fn write_all(fd: BorrowedFd, mut buf: &[u8]) -> Res<()> {
    while !buf.is_empty() {
        let n = write(fd, buf)?;
        if n == 0 {
            return Err(Errno::IO);
        }
        buf = buf.get(n..).unwrap_or(&[]);
    }
    Ok(())
}

/// Reads until `buf` is full or end of file; returns the bytes read.
pub fn read_full(fd: BorrowedFd, buf: &mut [u8]) -> Res<usize> {
    let mut got = 0;
    while got < buf.len() {
        match read(fd, buf.get_mut(got..).unwrap_or(&mut []))? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// What [`read_file`] read: at most the limit, and whether there was more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    pub data: Vec<u8>,
    /// The file held more than the limit (the rest was not read).
    pub truncated: bool,
}

/// Reads a file of at most `max` bytes (non-blocking open: a FIFO with no writer reads as
/// empty). A bigger file, or an endless one such as `/dev/zero`, gives its first `max`
/// bytes and `truncated`: what a program reads from outside is bounded, never the size of
/// the file.
pub fn read_file(path: &CStr, max: usize) -> Res<Contents> {
    let fd = open(path, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
    read_fd_bounded(fd.as_fd(), max)
}

/// [`read_file`] on an open descriptor.
pub fn read_fd_bounded(fd: BorrowedFd, max: usize) -> Res<Contents> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // One byte past the limit tells "exactly max" from "more".
        let want = (max + 1 - data.len()).min(chunk.len());
        let n = read(fd, chunk.get_mut(..want).unwrap_or(&mut []))?;
        if n == 0 {
            return Ok(Contents {
                data,
                truncated: false,
            });
        }
        data.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        if data.len() > max {
            data.truncate(max);
            return Ok(Contents {
                data,
                truncated: true,
            });
        }
    }
}

/// Reads the start of a small file into `buf` without allocating (runsv's per-start
/// files): the bytes read, at most `buf.len()`.
pub fn read_small(path: &CStr, buf: &mut [u8]) -> Res<usize> {
    let fd = open(path, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
    read_full(fd.as_fd(), buf)
}

/// Reads the start of a small regular file with a single `read(2)`: the bytes read, at
/// most `buf.len()`. A regular file reads shorter than asked only at its end, so a file
/// smaller than `buf` needs no second read to find it (sv reads `supervise/info` of every
/// service it shows: one system call fewer each). Not for pipes or FIFOs.
pub fn read_once(path: &CStr, buf: &mut [u8]) -> Res<usize> {
    let fd = open(path, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
    read(fd.as_fd(), buf)
}

/// `pipe2(O_CLOEXEC | extra)`: (read end, write end).
pub fn pipe(extra: i32) -> Res<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds is a valid 2-element array.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | extra) })?;
    let [r, w] = fds;
    Ok((owned(r), owned(w)))
}

/// `dup2(from, to)`: `to` becomes a copy of `from` (and is inherited across exec).
pub fn dup2(from: BorrowedFd, to: RawFd) -> Res<()> {
    // SAFETY: plain system call.
    nointr(|| unsafe { libc::dup2(from.as_raw_fd(), to) }).map(|_| ())
}

/// `fcntl(F_DUPFD_CLOEXEC)`: a copy of `fd` numbered `min` or above.
pub fn dup_at_least(fd: BorrowedFd, min: RawFd) -> Res<OwnedFd> {
    // SAFETY: plain fcntl on a valid descriptor.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) }).map(owned)
}

pub fn set_cloexec(fd: BorrowedFd, on: bool) -> Res<()> {
    // SAFETY: plain fcntl calls on an fd.
    let fl = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) })?;
    let nfl = if on {
        fl | libc::FD_CLOEXEC
    } else {
        fl & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, nfl) }).map(|_| ())
}

pub fn set_nonblock(fd: BorrowedFd, on: bool) -> Res<()> {
    // SAFETY: plain fcntl calls on an fd.
    let fl = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let nfl = if on {
        fl | libc::O_NONBLOCK
    } else {
        fl & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, nfl) }).map(|_| ())
}

/// Is `fd` an open descriptor?
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any integer is harmless.
    let r = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    r >= 0 || Errno::last() != Errno::BADF
}

/// Bytes waiting to be read in a pipe or FIFO (`FIONREAD`; either end of it).
pub fn pending_bytes(fd: BorrowedFd) -> Res<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: n is a valid out-pointer for FIONREAD.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) })?;
    Ok(n.max(0) as usize)
}

pub fn fsync(fd: BorrowedFd) -> Res<()> {
    // SAFETY: plain system call.
    nointr(|| unsafe { libc::fsync(fd.as_raw_fd()) }).map(|_| ())
}

pub fn lseek(fd: BorrowedFd, off: i64, whence: i32) -> Res<i64> {
    // SAFETY: plain system call.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), off, whence) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

pub fn ftruncate(fd: BorrowedFd, len: i64) -> Res<()> {
    // SAFETY: plain system call.
    nointr(|| unsafe { libc::ftruncate(fd.as_raw_fd(), len) }).map(|_| ())
}

/// `flock(fd, op)`; op is `libc::LOCK_EX` etc., with `LOCK_NB` for a non-blocking try.
pub fn flock(fd: BorrowedFd, op: i32) -> Res<()> {
    // SAFETY: plain system call.
    nointr(|| unsafe { libc::flock(fd.as_raw_fd(), op) }).map(|_| ())
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
    pub gid: u32,
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
            gid: st.st_gid,
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
    /// Owner-execute bit: what runit tests before running an optional script.
    pub fn owner_exec(&self) -> bool {
        self.mode & 0o100 != 0
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

pub fn fstat(fd: BorrowedFd) -> Res<Stat> {
    // SAFETY: zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(Stat::from(&st))
}

/// `fstatat(dir, path)`, following symlinks (runsvdir's view of a directory entry).
pub fn statat(dir: BorrowedFd, path: &CStr) -> Res<Stat> {
    // SAFETY: zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated; dir is a valid descriptor; st is a valid out-buffer.
    check(unsafe { libc::fstatat(dir.as_raw_fd(), path.as_ptr(), &mut st, 0) })?;
    Ok(Stat::from(&st))
}

/// `stat` of a byte path (convenience for paths built at run time).
pub fn stat_bytes(path: &[u8]) -> Res<Stat> {
    stat(&cstr(path)?)
}

/// Does `path` exist with the owner-execute bit set? (runit's test for optional scripts.)
pub fn owner_executable(path: &CStr) -> bool {
    matches!(stat(path), Ok(st) if st.owner_exec())
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

pub fn fchmod(fd: BorrowedFd, mode: u32) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(|_| ())
}

pub fn fchown(fd: BorrowedFd, uid: u32, gid: u32) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(|_| ())
}

/// `readlink`, with a buffer of `max` bytes: a target of `max` bytes or more is ENAMETOOLONG.
pub fn readlink(path: &CStr, max: usize) -> Res<Vec<u8>> {
    let mut buf = vec![0u8; max];
    // SAFETY: buf is valid for max bytes.
    let r = unsafe { libc::readlink(path.as_ptr(), buf.as_mut_ptr().cast(), max) };
    if r < 0 {
        return Err(Errno::last());
    }
    let r = r as usize;
    if r >= max {
        return Err(Errno::NAMETOOLONG);
    }
    buf.truncate(r);
    Ok(buf)
}

pub fn chdir(path: &CStr) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::chdir(path.as_ptr()) }).map(|_| ())
}

pub fn fchdir(fd: BorrowedFd) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::fchdir(fd.as_raw_fd()) }).map(|_| ())
}

pub fn chroot(path: &CStr) -> Res<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { libc::chroot(path.as_ptr()) }).map(|_| ())
}

pub fn sync() {
    // SAFETY: no preconditions.
    unsafe { libc::sync() }
}

/// The current working directory.
pub fn getcwd() -> Res<Vec<u8>> {
    // A usual path fits a small stack buffer: the result allocates only its own length
    // (a 4 KiB heap buffer zeroed at start-up stays as private pages in every supervisor).
    let mut small = [0u8; 512];
    // SAFETY: small is valid for its length.
    let r = unsafe { libc::getcwd(small.as_mut_ptr().cast(), small.len()) };
    if !r.is_null() {
        let end = small.iter().position(|&b| b == 0).unwrap_or(small.len());
        return Ok(small.get(..end).unwrap_or(&[]).to_vec());
    }
    let e = Errno::last();
    if e != Errno::RANGE {
        return Err(e);
    }
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let r = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) };
        if !r.is_null() {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            buf.truncate(end);
            return Ok(buf);
        }
        let e = Errno::last();
        if e != Errno::RANGE || buf.len() > 1 << 20 {
            return Err(e);
        }
        let n = buf.len() * 2;
        buf.resize(n, 0);
    }
}

/// `statfs(path).f_type`.
pub fn fs_type(path: &CStr) -> Res<i64> {
    // SAFETY: a zeroed statfs is a valid out-buffer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated, st is valid.
    check(unsafe { libc::statfs(path.as_ptr(), &mut st) })?;
    Ok(st.f_type as i64)
}

/// `statfs` magic of a cgroup v2 file system.
pub const CGROUP2_MAGIC: i64 = 0x6367_7270;

/// Why reading a directory failed: opening it, or reading its entries (chpst's envdir and
/// svlogd print different messages for the two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirError {
    Open(Errno),
    Read(Errno),
}

impl DirError {
    pub fn errno(self) -> Errno {
        match self {
            DirError::Open(e) | DirError::Read(e) => e,
        }
    }
}

/// The names in a directory in readdir order (`.` and `..` included, as readdir gives them).
pub fn dir_names(path: &CStr) -> Result<Vec<Vec<u8>>, DirError> {
    // SAFETY: path is NUL-terminated; the DIR pointer is checked before use and closed once.
    let d = unsafe { libc::opendir(path.as_ptr()) };
    if d.is_null() {
        return Err(DirError::Open(Errno::last()));
    }
    let mut names = Vec::new();
    let result = loop {
        // SAFETY: errno location is thread-local and writable; cleared so that a NULL from
        // readdir can be told apart from the end of the directory.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: d is a valid open DIR.
        let ent = unsafe { libc::readdir(d) };
        if ent.is_null() {
            let e = Errno::last();
            break if e.0 == 0 {
                Ok(())
            } else {
                Err(DirError::Read(e))
            };
        }
        // SAFETY: d_name is a NUL-terminated array inside a valid dirent.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
        names.push(name.to_bytes().to_vec());
    };
    // SAFETY: d is valid and closed exactly once.
    unsafe { libc::closedir(d) };
    result.map(|_| names)
}

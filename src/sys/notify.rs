//! What runsv needs for readiness (docs/readiness.md): the `sd_notify` datagram socket
//! with the sender's credentials, a child's environment with `NOTIFY_SOCKET` added
//! without allocating, a process's parent from `/proc`, and the child-subreaper flag.

use super::{check, nointr_ssize, owned, Errno, Res};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// Room in a socket address for a path, its NUL included (`sun_path`).
pub const SUN_PATH_MAX: usize = 108;

/// systemd's receive buffer (`NOTIFY_BUFFER_MAX`): a longer datagram is ignored.
pub const DATAGRAM_MAX: usize = 4096;

/// A bound `AF_UNIX` datagram socket that asks for its senders' credentials.
pub fn notify_socket(path: &CStr) -> Res<OwnedFd> {
    // SAFETY: a zeroed sockaddr_un is valid; the path is copied in below.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.to_bytes();
    if bytes.len() >= sa.sun_path.len() {
        return Err(Errno::NAMETOOLONG);
    }
    for (d, &s) in sa.sun_path.iter_mut().zip(bytes) {
        *d = s as libc::c_char;
    }
    // SAFETY: plain system call.
    let fd = owned(check(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?);
    let on: libc::c_int = 1;
    // SAFETY: `on` is a valid int option value of the given size.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    let _ = super::unlink(path);
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    // SAFETY: sa is a valid sockaddr_un; len covers the family and the NUL-ended path.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_un).cast(),
            len as libc::socklen_t,
        )
    })?;
    Ok(fd)
}

/// One datagram received on a [`notify_socket`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Payload bytes in the buffer.
    pub len: usize,
    /// The sender's pid as the kernel vouches for it (0: no credentials came).
    pub pid: libc::pid_t,
    pub uid: u32,
    /// The datagram did not fit the buffer (`MSG_TRUNC`) or its control data was cut.
    pub truncated: bool,
    /// File descriptors came with it (they are closed at once).
    pub had_fds: bool,
}

/// Receives one datagram without blocking: `Ok(None)` when none is waiting. Descriptors
/// passed with it are closed before this returns (a sender must not be able to make runsv
/// hold its files open).
pub fn recv_datagram(fd: BorrowedFd, buf: &mut [u8; DATAGRAM_MAX]) -> Res<Option<Datagram>> {
    // Room for one ucred and a generous number of descriptors; u64s for alignment.
    let mut cbuf = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: a zeroed msghdr is valid; its pointers are set below to live buffers.
    let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
    mh.msg_iov = &mut iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf.as_mut_ptr().cast();
    // size_t on glibc, socklen_t on musl
    mh.msg_controllen = std::mem::size_of_val(&cbuf) as _;
    // SAFETY: mh points at iov and cbuf, both valid for the call.
    let r = nointr_ssize(|| unsafe {
        libc::recvmsg(
            fd.as_raw_fd(),
            &mut mh,
            libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC,
        )
    });
    let n = match r {
        Ok(n) => n,
        Err(Errno::AGAIN) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut d = Datagram {
        len: n.min(buf.len()),
        pid: 0,
        uid: u32::MAX,
        truncated: n > buf.len() || mh.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0,
        had_fds: false,
    };
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within
    // msg_controllen; each header's data is read with read_unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&mh);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let dlen = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            if (*c).cmsg_level == libc::SOL_SOCKET {
                if (*c).cmsg_type == libc::SCM_CREDENTIALS
                    && dlen >= std::mem::size_of::<libc::ucred>()
                {
                    let cred: libc::ucred = std::ptr::read_unaligned(data.cast());
                    d.pid = cred.pid;
                    d.uid = cred.uid;
                } else if (*c).cmsg_type == libc::SCM_RIGHTS {
                    d.had_fds = true;
                    let k = dlen / std::mem::size_of::<libc::c_int>();
                    for i in 0..k {
                        let f: libc::c_int =
                            std::ptr::read_unaligned(data.cast::<libc::c_int>().add(i));
                        libc::close(f);
                    }
                }
            }
            c = libc::CMSG_NXTHDR(&mh, c);
        }
    }
    Ok(Some(d))
}

/// The parent of `pid` from `/proc/PID/stat` (field 4), read into a stack buffer.
pub fn parent_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    let mut path = *b"/proc/\0\0\0\0\0\0\0\0\0\0\0\0/stat\0\0\0\0";
    let mut t = [0u8; 20];
    let digits = crate::fmt_u64(u64::try_from(pid).ok()?, &mut t);
    let tail = b"/stat\0";
    let end = 6 + digits.len();
    path.get_mut(6..end)?.copy_from_slice(digits);
    path.get_mut(end..end + tail.len())?.copy_from_slice(tail);
    let c = CStr::from_bytes_until_nul(&path).ok()?;
    let fd = super::open(c, libc::O_RDONLY, 0).ok()?;
    let mut buf = [0u8; 512];
    let n = super::read(std::os::fd::AsFd::as_fd(&fd), &mut buf).ok()?;
    parse_ppid(buf.get(..n)?)
}

/// When `pid` started, in Unix seconds: `/proc/PID/stat` field 22 (clock ticks after
/// boot) plus the moment of boot.
pub fn start_time(pid: libc::pid_t) -> Option<i64> {
    let mut path = *b"/proc/\0\0\0\0\0\0\0\0\0\0\0\0/stat\0\0\0\0";
    let mut t = [0u8; 20];
    let digits = crate::fmt_u64(u64::try_from(pid).ok()?, &mut t);
    let end = 6 + digits.len();
    path.get_mut(6..end)?.copy_from_slice(digits);
    path.get_mut(end..end + 6)?.copy_from_slice(b"/stat\0");
    let mut buf = [0u8; 1024];
    let n = super::read_small(CStr::from_bytes_until_nul(&path).ok()?, &mut buf).ok()?;
    let line = buf.get(..n)?;
    let close = line.iter().rposition(|&b| b == b')')?;
    // Fields after the command: 3 is the state, so field 22 is the 20th of them.
    let ticks = line
        .get(close + 1..)?
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty())
        .nth(19)?;
    let (ticks, _) = crate::scan_ulong(ticks);
    // Boot time from the clocks (/proc/stat's btime line can lie beyond any small buffer).
    let mut up = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: up is a valid out-pointer; sysconf has no preconditions.
    let hz = unsafe {
        libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut up);
        libc::sysconf(libc::_SC_CLK_TCK)
    }
    .max(1) as i64;
    let boot = super::now_wall().0 - up.tv_sec;
    Some(boot + ticks as i64 / hz)
}

/// Field 4 of a `/proc/PID/stat` line: after the last `)` (the command may hold spaces
/// and parentheses), the state, then the parent's pid.
pub fn parse_ppid(stat: &[u8]) -> Option<libc::pid_t> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = stat
        .get(close + 1..)?
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let _state = fields.next()?;
    let ppid = fields.next()?;
    let (v, used) = crate::scan_ulong(ppid);
    (used == ppid.len() && used > 0).then_some(v as libc::pid_t)
}

/// Makes orphaned descendants re-parent to us instead of to PID 1 (`prctl`): a service's
/// daemonized children stay in runsv's tree, where their notifications can be traced.
pub fn set_child_subreaper() -> Res<()> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(|_| ())
}

/// The most environment entries [`execv_env_plus`] passes on (a bigger environment
/// keeps what fits, `extra` first).
const ENV_MAX: usize = 1024;

/// `execve(path, argv, environ + extra)` for a forked child: the pointer arrays are built
/// on the stack (no allocation), and an inherited entry with `extra`'s name is left out.
/// Returns only on failure.
pub fn execv_env_plus(path: &CStr, args: &[&CStr], extra: &CStr) -> Errno {
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    let mut argv: [*const libc::c_char; 8] = [std::ptr::null(); 8];
    for (p, a) in argv.iter_mut().zip(args.iter().take(7)) {
        *p = a.as_ptr();
    }
    let name_len = extra
        .to_bytes()
        .iter()
        .position(|&b| b == b'=')
        .map_or(0, |i| i + 1);
    let name = extra.to_bytes().get(..name_len).unwrap_or(&[]);
    let mut envp: [*const libc::c_char; ENV_MAX + 1] = [std::ptr::null(); ENV_MAX + 1];
    if let Some(first) = envp.first_mut() {
        *first = extra.as_ptr();
    }
    let mut n = 1;
    // SAFETY: environ is the NULL-terminated environment of this (single-threaded,
    // just-forked) process; its strings outlive the exec; envp stays NULL-terminated
    // because at most ENV_MAX of its ENV_MAX + 1 slots are filled.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() && n < ENV_MAX {
            let e = CStr::from_ptr(*p);
            if name.is_empty() || !e.to_bytes().starts_with(name) {
                if let Some(slot) = envp.get_mut(n) {
                    *slot = *p;
                }
                n += 1;
            }
            p = p.add(1);
        }
        libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    Errno::last()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ppid_field() {
        assert_eq!(parse_ppid(b"42 (sh) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parse_ppid(b"42 (a) b) (c) R 1 2 3"), Some(1));
        assert_eq!(parse_ppid(b"42 (x) S"), None);
        assert_eq!(parse_ppid(b"42 (x) S 1x"), None);
        assert_eq!(parse_ppid(b"garbage"), None);
    }

    #[test]
    fn start_time_of_self_is_recent() {
        let (now, _) = super::super::now_wall();
        let t = start_time(super::super::getpid()).unwrap();
        assert!(t <= now + 1 && t > now - 3600, "{t} vs {now}");
    }

    #[test]
    fn parent_of_self() {
        assert_eq!(
            parent_of(super::super::getpid()),
            Some(super::super::getppid())
        );
    }
}

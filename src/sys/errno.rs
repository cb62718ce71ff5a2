//! THE errno type: a raw `errno` value that prints as runit prints it (spec formats.md §1).
//!
//! runit never shows `strerror` texts: scripts in the wild match `file does not exist`, not
//! `No such file or directory`. Every system-call wrapper in `sys` returns this type, and
//! every message that ends in an error text gets it from [`Errno::text`].

/// A raw `errno` value from a failed system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    pub const PERM: Errno = Errno(libc::EPERM);
    pub const NOENT: Errno = Errno(libc::ENOENT);
    pub const SRCH: Errno = Errno(libc::ESRCH);
    pub const INTR: Errno = Errno(libc::EINTR);
    pub const IO: Errno = Errno(libc::EIO);
    pub const NXIO: Errno = Errno(libc::ENXIO);
    pub const BADF: Errno = Errno(libc::EBADF);
    pub const CHILD: Errno = Errno(libc::ECHILD);
    pub const AGAIN: Errno = Errno(libc::EAGAIN);
    pub const NOMEM: Errno = Errno(libc::ENOMEM);
    pub const ACCES: Errno = Errno(libc::EACCES);
    pub const EXIST: Errno = Errno(libc::EEXIST);
    pub const NOTDIR: Errno = Errno(libc::ENOTDIR);
    pub const ISDIR: Errno = Errno(libc::EISDIR);
    pub const INVAL: Errno = Errno(libc::EINVAL);
    pub const NOSPC: Errno = Errno(libc::ENOSPC);
    pub const ROFS: Errno = Errno(libc::EROFS);
    pub const RANGE: Errno = Errno(libc::ERANGE);
    pub const NAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);
    pub const NOSYS: Errno = Errno(libc::ENOSYS);
    pub const LOOP: Errno = Errno(libc::ELOOP);
    pub const FBIG: Errno = Errno(libc::EFBIG);
    pub const NOEXEC: Errno = Errno(libc::ENOEXEC);
    pub const TXTBSY: Errno = Errno(libc::ETXTBSY);
    pub const WOULDBLOCK: Errno = Errno(libc::EWOULDBLOCK);
    pub const OPNOTSUPP: Errno = Errno(libc::EOPNOTSUPP);
    pub const MSGSIZE: Errno = Errno(libc::EMSGSIZE);

    /// The calling thread's current errno.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// runit's text for this errno (formats.md §1); anything unlisted is `unknown error`.
    pub fn text(self) -> &'static str {
        match self.0 {
            0 => "no error",
            libc::EPERM => "permission denied",
            libc::ENOENT => "file does not exist",
            libc::ESRCH => "no such process",
            libc::EINTR => "interrupted system call",
            libc::EIO => "input/output error",
            libc::ENXIO => "device not configured",
            libc::E2BIG => "argument list too long",
            libc::ENOEXEC => "exec format error",
            libc::EBADF => "file descriptor not open",
            libc::ECHILD => "no child processes",
            libc::EAGAIN => "temporary failure",
            libc::ENOMEM => "out of memory",
            libc::EACCES => "access denied",
            libc::EFAULT => "bad address",
            libc::ENOTBLK => "not a block device",
            libc::EBUSY => "device busy",
            libc::EEXIST => "file already exists",
            libc::EXDEV => "cross-device link",
            libc::ENODEV => "device does not support operation",
            libc::ENOTDIR => "not a directory",
            libc::EISDIR => "is a directory",
            libc::EINVAL => "invalid argument",
            libc::ENFILE => "system cannot open more files",
            libc::EMFILE => "process cannot open more files",
            libc::ENOTTY => "not a tty",
            libc::ETXTBSY => "text busy",
            libc::EFBIG => "file too big",
            libc::ENOSPC => "out of disk space",
            libc::ESPIPE => "unseekable descriptor",
            libc::EROFS => "read-only file system",
            libc::EMLINK => "too many links",
            libc::EPIPE => "broken pipe",
            libc::EDOM => "input out of range",
            libc::ERANGE => "output out of range",
            libc::EDEADLK => "operation would cause deadlock",
            libc::ENAMETOOLONG => "file name too long",
            libc::ENOLCK => "no locks available",
            libc::ENOSYS => "system call not available",
            libc::ENOTEMPTY => "directory not empty",
            libc::ELOOP => "symbolic link loop",
            libc::ENOMSG => "no message of desired type",
            libc::EIDRM => "identifier removed",
            libc::ENOSTR => "not a stream device",
            libc::ETIME => "timer expired",
            libc::ENOSR => "out of stream resources",
            libc::ENONET => "machine not on network",
            libc::EREMOTE => "too many levels of remote in path",
            libc::ENOLINK => "link severed",
            libc::EADV => "advertise error",
            libc::ESRMNT => "srmount error",
            libc::ECOMM => "communication error",
            libc::EPROTO => "protocol error",
            libc::EMULTIHOP => "multihop attempted",
            libc::EBADMSG => "bad message type",
            libc::EREMCHG => "remote address changed",
            libc::EUSERS => "too many users",
            libc::ENOTSOCK => "not a socket",
            libc::EDESTADDRREQ => "destination address required",
            libc::EMSGSIZE => "message too long",
            libc::EPROTOTYPE => "incorrect protocol type",
            libc::ENOPROTOOPT => "protocol not available",
            libc::EPROTONOSUPPORT => "protocol not supported",
            libc::ESOCKTNOSUPPORT => "socket type not supported",
            libc::EOPNOTSUPP => "operation not supported",
            libc::EPFNOSUPPORT => "protocol family not supported",
            libc::EAFNOSUPPORT => "address family not supported",
            libc::EADDRINUSE => "address already used",
            libc::EADDRNOTAVAIL => "address not available",
            libc::ENETDOWN => "network down",
            libc::ENETUNREACH => "network unreachable",
            libc::ENETRESET => "network reset",
            libc::ECONNABORTED => "connection aborted",
            libc::ECONNRESET => "connection reset",
            libc::ENOBUFS => "out of buffer space",
            libc::EISCONN => "already connected",
            libc::ENOTCONN => "not connected",
            libc::ESHUTDOWN => "socket shut down",
            libc::ETOOMANYREFS => "too many references",
            libc::ETIMEDOUT => "timed out",
            libc::ECONNREFUSED => "connection refused",
            libc::EHOSTDOWN => "host down",
            libc::EHOSTUNREACH => "host unreachable",
            libc::EALREADY => "operation already in progress",
            libc::EINPROGRESS => "operation in progress",
            libc::ESTALE => "stale NFS file handle",
            libc::EDQUOT => "disk quota exceeded",
            _ => "unknown error",
        }
    }
}

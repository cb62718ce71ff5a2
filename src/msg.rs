//! Diagnostics exactly as runit prints them (spec README "Diagnostic line shape", formats.md §1).
//!
//! A line is built from pieces, ends in `\n` and goes out in one `write(2)` from a stack
//! buffer, so printing never allocates (runsv prints warnings on paths that must not
//! allocate) and lines from concurrent processes do not interleave. Errors are shown with
//! runit's own texts ([`errstr`]), never `strerror` or Rust's `io::Error` display.

use crate::sys;

/// runit's text for an errno (formats.md §1); anything unlisted is `unknown error`.
pub fn errstr(e: i32) -> &'static str {
    use libc::*;
    match e {
        0 => "no error",
        EPERM => "permission denied",
        ENOENT => "file does not exist",
        ESRCH => "no such process",
        EINTR => "interrupted system call",
        EIO => "input/output error",
        ENXIO => "device not configured",
        E2BIG => "argument list too long",
        ENOEXEC => "exec format error",
        EBADF => "file descriptor not open",
        ECHILD => "no child processes",
        EAGAIN => "temporary failure",
        ENOMEM => "out of memory",
        EACCES => "access denied",
        EFAULT => "bad address",
        ENOTBLK => "not a block device",
        EBUSY => "device busy",
        EEXIST => "file already exists",
        EXDEV => "cross-device link",
        ENODEV => "device does not support operation",
        ENOTDIR => "not a directory",
        EISDIR => "is a directory",
        EINVAL => "invalid argument",
        ENFILE => "system cannot open more files",
        EMFILE => "process cannot open more files",
        ENOTTY => "not a tty",
        ETXTBSY => "text busy",
        EFBIG => "file too big",
        ENOSPC => "out of disk space",
        ESPIPE => "unseekable descriptor",
        EROFS => "read-only file system",
        EMLINK => "too many links",
        EPIPE => "broken pipe",
        EDOM => "input out of range",
        ERANGE => "output out of range",
        EDEADLK => "operation would cause deadlock",
        ENAMETOOLONG => "file name too long",
        ENOLCK => "no locks available",
        ENOSYS => "system call not available",
        ENOTEMPTY => "directory not empty",
        ELOOP => "symbolic link loop",
        ENOMSG => "no message of desired type",
        EIDRM => "identifier removed",
        ENOSTR => "not a stream device",
        ETIME => "timer expired",
        ENOSR => "out of stream resources",
        ENONET => "machine not on network",
        EREMOTE => "too many levels of remote in path",
        ENOLINK => "link severed",
        EADV => "advertise error",
        ESRMNT => "srmount error",
        ECOMM => "communication error",
        EPROTO => "protocol error",
        EMULTIHOP => "multihop attempted",
        EBADMSG => "bad message type",
        EREMCHG => "remote address changed",
        EUSERS => "too many users",
        ENOTSOCK => "not a socket",
        EDESTADDRREQ => "destination address required",
        EMSGSIZE => "message too long",
        EPROTOTYPE => "incorrect protocol type",
        ENOPROTOOPT => "protocol not available",
        EPROTONOSUPPORT => "protocol not supported",
        ESOCKTNOSUPPORT => "socket type not supported",
        EOPNOTSUPP => "operation not supported",
        EPFNOSUPPORT => "protocol family not supported",
        EAFNOSUPPORT => "address family not supported",
        EADDRINUSE => "address already used",
        EADDRNOTAVAIL => "address not available",
        ENETDOWN => "network down",
        ENETUNREACH => "network unreachable",
        ENETRESET => "network reset",
        ECONNABORTED => "connection aborted",
        ECONNRESET => "connection reset",
        ENOBUFS => "out of buffer space",
        EISCONN => "already connected",
        ENOTCONN => "not connected",
        ESHUTDOWN => "socket shut down",
        ETOOMANYREFS => "too many references",
        ETIMEDOUT => "timed out",
        ECONNREFUSED => "connection refused",
        EHOSTDOWN => "host down",
        EHOSTUNREACH => "host unreachable",
        EALREADY => "operation already in progress",
        EINPROGRESS => "operation in progress",
        ESTALE => "stale NFS file handle",
        EDQUOT => "disk quota exceeded",
        _ => "unknown error",
    }
}

/// Writes the pieces, then `\n`, to `fd` as one line. Lines longer than the stack buffer go
/// out in several writes (never truncated). Errors are ignored: there is nowhere to report them.
pub fn line(fd: i32, parts: &[&[u8]]) {
    put(fd, parts, b"\n");
}

/// Like [`line`] but without the trailing newline (for sv's `timeout: ` prefix and similar).
pub fn put(fd: i32, parts: &[&[u8]], end: &[u8]) {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    for p in parts.iter().copied().chain(std::iter::once(end)) {
        let mut p = p;
        while !p.is_empty() {
            if n == buf.len() {
                let _ = sys::write_all(fd, &buf[..n]);
                n = 0;
            }
            let k = p.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&p[..k]);
            n += k;
            p = &p[k..];
        }
    }
    if n > 0 {
        let _ = sys::write_all(fd, &buf[..n]);
    }
}

/// One diagnostic line on stderr.
pub fn err(parts: &[&[u8]]) {
    line(2, parts);
}

/// One line on stdout.
pub fn out(parts: &[&[u8]]) {
    line(1, parts);
}

/// A diagnostic line on stderr ending in `: <err>` for `errno`.
pub fn err_errno(parts: &[&[u8]], errno: i32) {
    let mut all: [&[u8]; 16] = [b""; 16];
    let n = parts.len().min(14);
    all[..n].copy_from_slice(&parts[..n]);
    all[n] = b": ";
    all[n + 1] = errstr(errno).as_bytes();
    line(2, &all[..n + 2]);
}

/// `usage: PROG<synopsis>` then a blank line, on stderr (formats.md §2).
pub fn usage(prog: &[u8], synopsis: &[u8]) {
    line(2, &[b"usage: ", prog, synopsis, b"\n"]);
}

/// The `$Id: … $` version line printed by `-V` (spec README: a reimplementation uses its own id).
pub const VERSION_ID: &[u8] = b"$Id: runit-rs 0.1.0 $";

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn texts() {
        assert_eq!(errstr(libc::ENOENT), "file does not exist");
        assert_eq!(errstr(libc::EAGAIN), "temporary failure");
        assert_eq!(errstr(libc::ENXIO), "device not configured");
        assert_eq!(errstr(9999), "unknown error");
    }
}

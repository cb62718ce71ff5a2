//! svlogd's extra system calls: UDP datagrams to a log host (svlogd.md §9) and a fast byte
//! search for the line splitter (glibc's vectorised `memchr`).

use super::{check, owned, Errno, Res};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// A non-blocking, close-on-exec IPv4 UDP socket.
pub fn udp_socket() -> Res<OwnedFd> {
    // SAFETY: plain system call.
    check(unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })
    .map(owned)
}

/// Sends one datagram to `addr:port` (address octets in network order); returns the bytes sent.
pub fn sendto_v4(fd: BorrowedFd, buf: &[u8], addr: [u8; 4], port: u16) -> Res<usize> {
    // SAFETY: a zeroed sockaddr_in is valid; the fields are then set.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = port.to_be();
    sa.sin_addr = libc::in_addr {
        s_addr: u32::from_ne_bytes(addr),
    };
    loop {
        // SAFETY: buf is valid for buf.len() bytes; sa is a valid sockaddr_in of the given size.
        let r = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = Errno::last();
        if e != Errno::INTR {
            return Err(e);
        }
    }
}

/// The index of the first `byte` in `hay`.
pub fn memchr(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: hay is valid for hay.len() bytes; the result, if not null, points inside it.
    let p = unsafe { libc::memchr(hay.as_ptr().cast(), i32::from(byte), hay.len()) };
    if p.is_null() {
        None
    } else {
        Some(p as usize - hay.as_ptr() as usize)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memchr_finds_first() {
        assert_eq!(super::memchr(b'\n', b"ab\ncd\n"), Some(2));
        assert_eq!(super::memchr(b'\n', b"abcd"), None);
        assert_eq!(super::memchr(b'\n', b""), None);
    }
}

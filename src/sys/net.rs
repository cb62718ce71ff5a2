//! TCP sockets for runit-exporter's HTTP listener (docs/exporter.md §2): a non-blocking
//! listening socket, non-blocking accepted connections, and sends that never raise SIGPIPE.
//!
//! Addresses are `std::net::SocketAddr` (parsed by std, no `unsafe` outside this module);
//! only the conversion to and from `sockaddr_in`/`sockaddr_in6` lives here.

use super::{check, nointr, nointr_ssize, owned, Errno, Res};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// Room for either address family, as the kernel reads and writes it.
#[repr(C)]
union SockAddr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
}

fn to_raw(addr: &SocketAddr) -> (SockAddr, libc::socklen_t) {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: an all-zero sockaddr_in is valid; the fields are then set.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = a.port().to_be();
            sa.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(a.ip().octets()),
            };
            (
                SockAddr { v4: sa },
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        SocketAddr::V6(a) => {
            // SAFETY: an all-zero sockaddr_in6 is valid; the fields are then set.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = a.port().to_be();
            sa.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            sa.sin6_flowinfo = a.flowinfo();
            sa.sin6_scope_id = a.scope_id();
            (
                SockAddr { v6: sa },
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

fn setsockopt_int(fd: BorrowedFd, level: i32, name: i32, v: libc::c_int) -> Res<()> {
    // SAFETY: v lives across the call and its size is passed.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// A non-blocking, close-on-exec TCP socket bound to `addr` and listening. `SO_REUSEADDR`
/// lets a restarted exporter bind while old connections linger in TIME_WAIT (a runit
/// service is restarted in place within a second).
pub fn tcp_listen(addr: &SocketAddr, backlog: i32) -> Res<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain system call.
    let fd = check(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })
    .map(owned)?;
    use std::os::fd::AsFd;
    setsockopt_int(fd.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if family == libc::AF_INET6 {
        // `[::]:P` means IPv6 only, whatever the host's bindv6only says: give `-a` twice
        // semantics nobody has to look up.
        setsockopt_int(fd.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    }
    let (sa, len) = to_raw(addr);
    // SAFETY: sa is a valid socket address of `len` bytes for the socket's family.
    check(unsafe { libc::bind(fd.as_raw_fd(), (&sa as *const SockAddr).cast(), len) })?;
    // SAFETY: plain system call.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(fd)
}

/// The address a socket is bound to (the port the kernel chose for port 0).
pub fn local_addr(fd: BorrowedFd) -> Res<SocketAddr> {
    // SAFETY: an all-zero union of socket addresses is valid as an out-buffer.
    let mut sa: SockAddr = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<SockAddr>() as libc::socklen_t;
    // SAFETY: sa is writable for len bytes; len is updated by the kernel.
    check(unsafe {
        libc::getsockname(fd.as_raw_fd(), (&mut sa as *mut SockAddr).cast(), &mut len)
    })?;
    // SAFETY: every sockaddr starts with its family; the kernel filled the variant it names.
    let family = i32::from(unsafe { sa.v4.sin_family });
    if family == libc::AF_INET {
        // SAFETY: the family says the v4 variant was written.
        let a = unsafe { sa.v4 };
        Ok(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::from(a.sin_addr.s_addr.to_ne_bytes()),
            u16::from_be(a.sin_port),
        )))
    } else if family == libc::AF_INET6 {
        // SAFETY: the family says the v6 variant was written.
        let a = unsafe { sa.v6 };
        Ok(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(a.sin6_addr.s6_addr),
            u16::from_be(a.sin6_port),
            a.sin6_flowinfo,
            a.sin6_scope_id,
        )))
    } else {
        Err(Errno::INVAL)
    }
}

/// Accepts one connection, non-blocking and close-on-exec. `EAGAIN`: none is waiting.
pub fn accept(fd: BorrowedFd) -> Res<OwnedFd> {
    nointr(|| {
        // SAFETY: null address pointers are allowed: the peer's address is not wanted.
        unsafe {
            libc::accept4(
                fd.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        }
    })
    .map(owned)
}

/// Sets the kernel's send buffer of a socket (`SO_SNDBUF`; Linux doubles the value).
pub fn set_send_buffer(fd: BorrowedFd, bytes: i32) -> Res<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, bytes)
}

/// Sends what the socket takes now; never blocks, never raises SIGPIPE (a peer that went
/// away is `EPIPE`, whatever the process's SIGPIPE disposition is).
pub fn send(fd: BorrowedFd, buf: &[u8]) -> Res<usize> {
    nointr_ssize(|| {
        // SAFETY: buf is valid for buf.len() bytes.
        unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        }
    })
}

/// Receives what is there now, never blocking (`EAGAIN`: nothing yet; 0: end of input).
pub fn recv(fd: BorrowedFd, buf: &mut [u8]) -> Res<usize> {
    nointr_ssize(|| {
        // SAFETY: buf is valid for buf.len() bytes.
        unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        }
    })
}

/// Ends the sending side (the peer reads end of file after the response).
pub fn shutdown_write(fd: BorrowedFd) -> Res<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_WR) }).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn listen_on_port_zero_reports_the_port() {
        for a in ["127.0.0.1:0", "[::1]:0"] {
            let addr: SocketAddr = a.parse().unwrap_or_else(|_| unreachable!());
            let Ok(fd) = tcp_listen(&addr, 8) else {
                // No IPv6 on this host: nothing to check for that family.
                continue;
            };
            let got = local_addr(fd.as_fd()).unwrap_or_else(|_| unreachable!());
            assert_eq!(got.ip(), addr.ip());
            assert_ne!(got.port(), 0);
            assert_eq!(accept(fd.as_fd()).err(), Some(Errno::AGAIN));
        }
    }
}

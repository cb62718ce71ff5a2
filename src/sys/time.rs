//! Clocks, `poll`, and the one blocking pause for programs that are not event loops.

use super::Errno;
use std::os::fd::{AsRawFd, BorrowedFd};

/// One poll entry: a descriptor (or none: a slot that never fires) and its events.
/// Laid out as `struct pollfd`, so that [`poll_all`] hands a slice to the kernel as it is.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct PollFd {
    fd: libc::c_int,
    events: i16,
    revents: i16,
}

pub const POLLIN: i16 = libc::POLLIN;
pub const POLLOUT: i16 = libc::POLLOUT;
pub const POLLHUP: i16 = libc::POLLHUP;
pub const POLLERR: i16 = libc::POLLERR;
pub const POLLPRI: i16 = libc::POLLPRI;

impl PollFd {
    pub fn new(fd: BorrowedFd, events: i16) -> PollFd {
        PollFd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        }
    }
    /// A slot that is skipped (fd -1: poll ignores it).
    pub fn none() -> PollFd {
        PollFd {
            fd: -1,
            events: 0,
            revents: 0,
        }
    }
    pub fn maybe(fd: Option<BorrowedFd>, events: i16) -> PollFd {
        fd.map_or(PollFd::none(), |f| PollFd::new(f, events))
    }
    pub fn revents(&self) -> i16 {
        self.revents
    }
    /// Any of `ev` (or an error or hang-up, which a read or write will report) came back.
    pub fn ready(&self, ev: i16) -> bool {
        self.revents & (ev | POLLHUP | POLLERR) != 0
    }
}

/// `poll(2)` with a timeout in milliseconds (-1: forever). EINTR is reported as `Ok(0)`:
/// a signal arrived, and its self-pipe byte is what the caller acts on.
pub fn poll(fds: &mut [PollFd], timeout_ms: i32) -> Result<usize, Errno> {
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
        let e = Errno::last();
        return if e == Errno::INTR { Ok(0) } else { Err(e) };
    }
    for (f, r) in fds.iter_mut().zip(raw.iter()) {
        f.revents = r.revents;
    }
    Ok(r as usize)
}

const _: () = assert!(
    std::mem::size_of::<PollFd>() == std::mem::size_of::<libc::pollfd>()
        && std::mem::align_of::<PollFd>() == std::mem::align_of::<libc::pollfd>()
);

/// [`poll`] over any number of entries (runit-exporter's connections); [`poll`] itself
/// takes at most 8, on the stack.
pub fn poll_all(fds: &mut [PollFd], timeout_ms: i32) -> Result<usize, Errno> {
    // SAFETY: PollFd is repr(C) with pollfd's fields in pollfd's order (fd, events,
    // revents) and the same size and alignment (checked above); the slice is valid for
    // fds.len() entries, which the kernel reads and whose revents it writes.
    let r = unsafe {
        libc::poll(
            fds.as_mut_ptr().cast::<libc::pollfd>(),
            fds.len() as libc::nfds_t,
            timeout_ms,
        )
    };
    if r < 0 {
        let e = Errno::last();
        return if e == Errno::INTR { Ok(0) } else { Err(e) };
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

/// Milliseconds from `now` to `deadline` as a poll timeout: 0 if passed, capped to `i32`.
pub fn until(deadline: i64, now: i64) -> i32 {
    (deadline - now).clamp(0, i32::MAX as i64) as i32
}

/// A pause for paths where runit itself pauses (fork failure, "pausing" retries) in programs
/// that are not event loops. Supervisors use deadlines in their poll loop instead.
pub fn sleep_ms(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

//! `kill-mode cgroup`: the service's own cgroup v2 (docs/stopping.md §4).
//!
//! Layout as upstream runit documents it (g-pape/runit PR #49, `md/cgroups.md`): a parent
//! `service` cgroup below the cgroup v2 root, one child per service named after the
//! service directory: `/sys/fs/cgroup/service/NAME` (or below `/sys/fs/cgroup/unified`
//! on a hybrid host). runsv creates both when missing, puts `./run` there before it
//! execs, signals every process in it, empties it with `cgroup.kill`, and watches
//! `cgroup.events` (`populated 0`) to know when nothing is left.

use crate::sys::{self, AsFd, BorrowedFd, Errno, OwnedFd};
use std::ffi::CString;

/// The files of one service's cgroup, built once.
pub struct Cgroup {
    dir: CString,
    parent: CString,
    procs: CString,
    events: CString,
    kill: CString,
    /// `cgroup.events`, open while someone waits for `populated 0`.
    pub watch: Option<OwnedFd>,
}

/// Where a cgroup v2 hierarchy is mounted, if one is.
fn root() -> Option<&'static [u8]> {
    [&b"/sys/fs/cgroup"[..], b"/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|r| {
            sys::cstr(r)
                .and_then(|c| sys::fs_type(&c))
                .is_ok_and(|t| t == sys::CGROUP2_MAGIC)
        })
}

impl Cgroup {
    /// The cgroup for service `name`, created if needed; `Err` when there is no cgroup v2
    /// hierarchy or it cannot be written (an unprivileged container): the caller falls
    /// back to `kill-mode group`.
    pub fn open(name: &[u8]) -> Result<Cgroup, Errno> {
        let root = root().ok_or(Errno::NOENT)?;
        let path = |tail: &[&[u8]]| {
            let mut p = root.to_vec();
            for t in tail {
                p.extend_from_slice(t);
            }
            sys::cstr(&p)
        };
        let cg = Cgroup {
            parent: path(&[b"/service"])?,
            dir: path(&[b"/service/", name])?,
            procs: path(&[b"/service/", name, b"/cgroup.procs"])?,
            events: path(&[b"/service/", name, b"/cgroup.events"])?,
            kill: path(&[b"/service/", name, b"/cgroup.kill"])?,
            watch: None,
        };
        for d in [&cg.parent, &cg.dir] {
            match sys::mkdir(d, 0o755) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e),
            }
        }
        // Writable for us? (A read-only cgroupfs lets mkdir fail above; a delegated one
        // may still refuse the procs file.)
        sys::open(&cg.procs, libc::O_WRONLY, 0)?;
        Ok(cg)
    }

    /// In the forked child, before exec: moves the calling process into the cgroup
    /// (writing `0` to `cgroup.procs` moves the writer). Async-signal-safe.
    pub fn join(&self) -> Result<(), Errno> {
        let fd = sys::open(&self.procs, libc::O_WRONLY, 0)?;
        sys::write_all(fd.as_fd(), b"0")
    }

    /// Whether any process is in it (`cgroup.events`: `populated 1`).
    pub fn populated(&self) -> bool {
        let mut buf = [0u8; 256];
        match sys::read_small(&self.events, &mut buf) {
            Ok(n) => populated_line(buf.get(..n).unwrap_or(&[])),
            Err(_) => false,
        }
    }

    /// Opens `cgroup.events` for `poll` (POLLPRI when it changes), once.
    pub fn watch(&mut self) -> Option<BorrowedFd<'_>> {
        if self.watch.is_none() {
            self.watch = sys::open(&self.events, libc::O_RDONLY, 0).ok();
        }
        self.watch.as_ref().map(|f| f.as_fd())
    }

    /// Sends `sig` to every process in the cgroup (`cgroup.procs`, read in chunks into a
    /// stack buffer: no allocation).
    pub fn signal_all(&self, sig: i32) {
        let Ok(fd) = sys::open(&self.procs, libc::O_RDONLY, 0) else {
            return;
        };
        let mut buf = [0u8; 4096];
        let mut carry: u64 = 0;
        let mut digits = false;
        while let Ok(n) = sys::read(fd.as_fd(), &mut buf) {
            if n == 0 {
                break;
            }
            for &b in buf.iter().take(n) {
                if b.is_ascii_digit() {
                    carry = carry.saturating_mul(10).saturating_add(u64::from(b - b'0'));
                    digits = true;
                } else {
                    if digits && carry > 0 && carry <= i32::MAX as u64 {
                        let _ = sys::kill(carry as i32, sig);
                    }
                    carry = 0;
                    digits = false;
                }
            }
        }
        if digits && carry > 0 && carry <= i32::MAX as u64 {
            let _ = sys::kill(carry as i32, sig);
        }
    }

    /// Kills everything in it at once (`cgroup.kill`, Linux 5.14); KILL to each process
    /// where the file does not exist.
    pub fn kill_all(&self) {
        let done = sys::open(&self.kill, libc::O_WRONLY, 0)
            .and_then(|fd| sys::write_all(fd.as_fd(), b"1"));
        if done.is_err() {
            self.signal_all(libc::SIGKILL);
        }
    }
}

impl Cgroup {
    /// Removes the (empty) cgroup when runsv exits, as upstream's `finish` example does.
    pub fn remove(&self) {
        let _ = sys::rmdir(&self.dir);
    }
}

/// Whether `cgroup.events` content says `populated 1`.
pub fn populated_line(events: &[u8]) -> bool {
    events.split(|&b| b == b'\n').any(|l| l == b"populated 1")
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_file() {
        assert!(super::populated_line(b"populated 1\nfrozen 0\n"));
        assert!(!super::populated_line(b"populated 0\nfrozen 0\n"));
        assert!(!super::populated_line(b""));
    }
}

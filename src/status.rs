//! THE `supervise/status` record (supervise-protocol.md §5), and the `stat` line (§6).
//!
//! 20 bytes: TAI64N (big-endian) at 0, the pid **little-endian** at 12, then paused, want,
//! term and state bytes. daemontools' `svstat` reads the first 18 bytes, so the layout is
//! a wire contract with other people's tools, not just ours.

use crate::sys::{self, AsFd, Errno};
use crate::tai::Tai64n;
use std::ffi::CStr;

pub const LEN: usize = 20;
pub const TAI64N_BE_AT: usize = 0;
pub const PID_LE32_AT: usize = 12;
pub const PAUSED_AT: usize = 16;
pub const WANT_AT: usize = 17;
pub const TERM_AT: usize = 18;
pub const STATE_AT: usize = 19;

/// The service state (status byte 19).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Down = 0,
    Run = 1,
    Finish = 2,
}

impl State {
    pub fn word(self) -> &'static [u8] {
        match self {
            State::Down => b"down",
            State::Run => b"run",
            State::Finish => b"finish",
        }
    }
    /// Decodes byte 19; `None` for a value runsv never writes (a hand-made or damaged
    /// record: runit's sv prints no state word for it).
    pub fn from_byte(b: u8) -> Option<State> {
        match b {
            0 => Some(State::Down),
            1 => Some(State::Run),
            2 => Some(State::Finish),
            _ => None,
        }
    }
}

/// What the supervisor wants (runsv's internal view; the record only says `u` or `d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Up,
    Down,
    Exit,
}

/// One decoded status record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub when: Tai64n,
    pub pid: u32,
    pub paused: bool,
    /// The want byte as stored: `b'u'` or `b'd'` (other values are kept as read).
    pub want: u8,
    pub term: bool,
    /// The raw state byte (0, 1, 2 from runsv; anything from a hand-made file).
    pub state: u8,
}

impl Status {
    pub fn pack(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[TAI64N_BE_AT..PID_LE32_AT].copy_from_slice(&self.when.pack());
        b[PID_LE32_AT..PAUSED_AT].copy_from_slice(&self.pid.to_le_bytes());
        b[PAUSED_AT] = self.paused as u8;
        b[WANT_AT] = self.want;
        b[TERM_AT] = self.term as u8;
        b[STATE_AT] = self.state;
        b
    }

    pub fn unpack(b: &[u8; LEN]) -> Status {
        let mut t = [0u8; 12];
        t.copy_from_slice(&b[TAI64N_BE_AT..PID_LE32_AT]);
        let mut p = [0u8; 4];
        p.copy_from_slice(&b[PID_LE32_AT..PAUSED_AT]);
        Status {
            when: Tai64n::unpack(&t),
            pid: u32::from_le_bytes(p),
            paused: b[PAUSED_AT] != 0,
            want: b[WANT_AT],
            term: b[TERM_AT] != 0,
            state: b[STATE_AT],
        }
    }

    /// The state byte decoded.
    pub fn state(&self) -> Option<State> {
        State::from_byte(self.state)
    }

    /// The `want` byte for a supervisor want: `u` for up, `d` for down **or exit** (§5).
    pub fn want_byte(w: Want) -> u8 {
        match w {
            Want::Up => b'u',
            Want::Down | Want::Exit => b'd',
        }
    }
}

/// Why a record could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    Open(Errno),
    Read(Errno),
    /// Fewer than 20 bytes (§12: "bad format").
    Short,
}

/// Reads the record at `path` (a client's view: sv, the exporter).
pub fn read(path: &CStr) -> Result<Status, ReadError> {
    let fd = sys::open(path, libc::O_RDONLY | libc::O_NONBLOCK, 0).map_err(ReadError::Open)?;
    let mut buf = [0u8; LEN];
    let got = sys::read_full(fd.as_fd(), &mut buf).map_err(ReadError::Read)?;
    if got < LEN {
        return Err(ReadError::Short);
    }
    Ok(Status::unpack(&buf))
}

/// Why a record could not be published; runsv names each in its warning (§4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// `status.new` could not be opened.
    Open(Errno),
    /// The write failed (`status.new` is removed again).
    Write(Errno),
    /// Fewer than 20 bytes were written.
    Short,
    /// `status.new` could not be renamed over `status`.
    Rename(Errno),
}

/// Opens a `.new` file for writing: created 0644, truncated, never through a symlink (a
/// planted link must not steer runsv's writes: runsv/secure.rs).
pub fn open_new(path: &CStr) -> Result<sys::OwnedFd, Errno> {
    sys::open(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NONBLOCK | libc::O_NOFOLLOW,
        0o644,
    )
}

/// Publishes a record atomically, as runit does (§4): write `new`, rename it over `path`.
/// A failed write removes `new` and leaves `path` as it was.
pub fn write(rec: &Status, new: &CStr, path: &CStr) -> Result<(), WriteError> {
    let fd = open_new(new).map_err(WriteError::Open)?;
    let bytes = rec.pack();
    match sys::write(fd.as_fd(), &bytes) {
        Err(e) => {
            drop(fd);
            let _ = sys::unlink(new);
            return Err(WriteError::Write(e));
        }
        Ok(n) if n < LEN => return Err(WriteError::Short),
        Ok(_) => {}
    }
    drop(fd);
    sys::rename(new, path).map_err(WriteError::Rename)
}

/// The `stat` line (§6): `STATE[, paused][, got TERM][, want down|, want exit]\n`, built
/// into `buf` without allocating; returns its length.
pub fn stat_line(state: State, paused: bool, term: bool, want: Want, buf: &mut [u8; 64]) -> usize {
    let mut n = 0;
    let mut put = |s: &[u8]| {
        buf[n..n + s.len()].copy_from_slice(s);
        n += s.len();
    };
    put(state.word());
    if paused {
        put(b", paused");
    }
    if term {
        put(b", got TERM");
    }
    if state != State::Down {
        match want {
            Want::Down => put(b", want down"),
            Want::Exit => put(b", want exit"),
            Want::Up => {}
        }
    }
    put(b"\n");
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn spec_example_record() {
        // supervise-protocol.md §5, observed: running service, pid 10079.
        let raw: [u8; 20] = [
            0x40, 0, 0, 0, 0x6b, 0x01, 0x1d, 0x90, 0x06, 0xed, 0x7d, 0xac, 0x5f, 0x27, 0, 0, 0,
            0x75, 0, 1,
        ];
        let s = Status::unpack(&raw);
        assert_eq!(s.pid, 10079);
        assert_eq!(s.want, b'u');
        assert_eq!(s.state, 1);
        assert!(!s.paused && !s.term);
        assert_eq!(s.pack(), raw);
    }
    #[test]
    fn stat_lines() {
        let mut b = [0u8; 64];
        let mut f = |st, p, t, w| {
            let n = stat_line(st, p, t, w, &mut b);
            String::from_utf8(b[..n].to_vec()).unwrap()
        };
        assert_eq!(f(State::Run, false, false, Want::Up), "run\n");
        assert_eq!(
            f(State::Run, true, true, Want::Down),
            "run, paused, got TERM, want down\n"
        );
        assert_eq!(f(State::Down, true, false, Want::Down), "down, paused\n");
        assert_eq!(
            f(State::Finish, false, false, Want::Exit),
            "finish, want exit\n"
        );
    }
}

//! What a client can know about a service from its files, without talking to runsv: the
//! facts runit-exporter and svjson publish (docs/exporter.md §1).
//!
//! Read, never written, and nothing is held open: `supervise/ok` is opened write-only and
//! non-blocking and closed at once, as sv probes it (supervise-protocol.md §12);
//! `supervise/status` and `supervise/info` are regular files replaced by rename, read with
//! non-blocking opens; `control` is never opened. So a reader cannot block runsv, however
//! slow it is, and runsv never waits for it.
//!
//! The record and `info` are tied by pid and timestamp ([`Info::matches`]): runsv writes
//! `info` before `status`, so an `info` that does not match the record read just before is
//! either a newer one (the record is re-read) or not about this run (no `info` facts).

use crate::info::{self, Info, Readiness};
use crate::status::{self, State, Status};
use crate::svdir::{SuperviseFiles, LOGSVC, MAIN};
use crate::sys::{self, AsFd, BorrowedFd, Errno, OwnedFd};
use crate::tai::Tai64n;
use std::ffi::CStr;

/// Whether a runsv holds `supervise/ok`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Supervision {
    /// A runsv is alive.
    Yes,
    /// `ok` exists but no runsv holds it (ENXIO).
    NotRunning,
    /// `ok` could not be opened for another reason (ENOENT: never supervised).
    Unknown(Errno),
}

/// Why the record of a supervised service could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    Open(Errno),
    Read(Errno),
    /// Shorter than 20 bytes.
    BadFormat,
}

/// The facts of one supervised process: a service, or its log service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    pub supervision: Supervision,
    /// No `down` file; `Err` when `down` could not be stat'ed.
    pub normally_up: Result<bool, Errno>,
    /// The record, read only while a runsv is alive (a dead runsv's record is history).
    pub record: Option<Result<Status, RecordError>>,
    /// `supervise/info` of the run the record shows; `None` under runit's own runsv, or
    /// when it does not match the record.
    pub info: Option<Info>,
}

impl Facts {
    /// The record, when a runsv is alive and the record was read.
    pub fn status(&self) -> Option<&Status> {
        match &self.record {
            Some(Ok(s)) => Some(s),
            _ => None,
        }
    }

    pub fn supervised(&self) -> bool {
        self.supervision == Supervision::Yes
    }

    /// Running: a runsv is alive and the record says `run`. Not up while `./finish` runs.
    pub fn up(&self) -> bool {
        self.status().and_then(Status::state) == Some(State::Run)
    }

    /// The state word (`down`, `run`, `finish`), if a record was read and knows it.
    pub fn state(&self) -> Option<State> {
        self.status().and_then(Status::state)
    }

    pub fn want_up(&self) -> Option<bool> {
        self.status().map(|s| s.want == b'u')
    }

    pub fn paused(&self) -> Option<bool> {
        self.status().map(|s| s.paused)
    }

    /// Ready (docs/readiness.md §3): running, and either without a readiness protocol
    /// (runit's "started is ready", and every service under runit's own runsv) or ready.
    pub fn ready(&self) -> bool {
        self.up()
            && match self.info.map(|i| i.readiness) {
                None | Some(Readiness::Off) | Some(Readiness::Ready) => true,
                Some(Readiness::Waiting | Readiness::Reloading | Readiness::Stopping) => false,
            }
    }

    /// The readiness word of the run, if runsv published one.
    pub fn readiness(&self) -> Option<Readiness> {
        self.info.map(|i| i.readiness)
    }

    /// Microseconds since the record's timestamp (0 if the clock is behind it).
    pub fn age_us(&self, now: Tai64n) -> Option<u64> {
        self.status().map(|s| {
            let d = tai_us(now).saturating_sub(tai_us(s.when));
            u64::try_from(d).unwrap_or(u64::MAX)
        })
    }

    pub fn starts(&self) -> Option<u64> {
        self.info.map(|i| i.starts)
    }

    pub fn last(&self) -> Option<info::End> {
        self.info.and_then(|i| i.last)
    }

    pub fn gave_up(&self) -> Option<Option<info::GaveUp>> {
        self.info.map(|i| i.gave_up)
    }
}

/// A TAI64N moment in microseconds (runit's precision); 128 bits, as TAI64 seconds start
/// at 2^62.
fn tai_us(t: Tai64n) -> u128 {
    u128::from(t.secs) * 1_000_000 + u128::from(t.nanos / 1000)
}

/// One service: its directory's facts and, when it has a `log/` directory, the log's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: Vec<u8>,
    pub main: Facts,
    pub log: Option<Facts>,
}

/// How many times the record is re-read when `info` does not match it.
const INFO_RETRIES: usize = 3;

/// Opens `path` relative to `dir`, non-blocking.
fn open_at(dir: BorrowedFd, path: &CStr, flags: i32) -> Result<OwnedFd, Errno> {
    sys::openat(dir, path, flags | libc::O_NONBLOCK, 0)
}

fn probe_at(dir: BorrowedFd, ok: &CStr) -> Supervision {
    // As sv: a write-only non-blocking open of the FIFO fails with ENXIO when no runsv has
    // it open for reading; success proves one alive. Closed at once on drop.
    match open_at(dir, ok, libc::O_WRONLY) {
        Ok(_) => Supervision::Yes,
        Err(Errno::NXIO) => Supervision::NotRunning,
        Err(e) => Supervision::Unknown(e),
    }
}

fn record_at(dir: BorrowedFd, path: &CStr) -> Result<Status, RecordError> {
    let fd = open_at(dir, path, libc::O_RDONLY).map_err(RecordError::Open)?;
    let mut buf = [0u8; status::LEN];
    let got = sys::read_full(fd.as_fd(), &mut buf).map_err(RecordError::Read)?;
    if got < status::LEN {
        return Err(RecordError::BadFormat);
    }
    Ok(Status::unpack(&buf))
}

fn info_at(dir: BorrowedFd, path: &CStr) -> Option<Info> {
    let fd = open_at(dir, path, libc::O_RDONLY).ok()?;
    // One read: runsv writes at most MAX_LEN bytes and replaces the file by rename, so a
    // regular file's short read is the whole of it (a longer file is not runsv's: its
    // first MAX_LEN bytes are parsed). Saves the read that meets end of file, 2000 calls
    // a scrape at 1000 services with logs.
    let mut buf = [0u8; info::MAX_LEN];
    let n = sys::read(fd.as_fd(), &mut buf).ok()?;
    Some(Info::parse(buf.get(..n).unwrap_or(&[])))
}

fn normally_up_at(dir: BorrowedFd, down: &CStr) -> Result<bool, Errno> {
    match sys::statat(dir, down) {
        Ok(_) => Ok(false),
        Err(Errno::NOENT) => Ok(true),
        Err(e) => Err(e),
    }
}

/// The facts of the service (`files` = [`MAIN`]) or log service ([`LOGSVC`]) in `dir`.
pub fn read_at(dir: BorrowedFd, files: &SuperviseFiles, down: &CStr) -> Facts {
    let supervision = probe_at(dir, files.ok);
    let normally_up = normally_up_at(dir, down);
    if supervision != Supervision::Yes {
        return Facts {
            supervision,
            normally_up,
            record: None,
            info: None,
        };
    }
    let mut record = record_at(dir, files.status);
    let mut info = None;
    for _ in 0..INFO_RETRIES {
        let Ok(st) = record else { break };
        match info_at(dir, files.info) {
            Some(i) if i.matches(st.pid, st.when) => {
                info = Some(i);
                break;
            }
            // No info at all: runit's runsv, or a runsv that has not written one yet.
            None => break,
            Some(_) => {
                // Written before the record: a newer `info` means a newer record is there
                // or about to be. Re-read; if the record did not change, the `info` is
                // not about this run.
                let again = record_at(dir, files.status);
                if again == record {
                    break;
                }
                record = again;
            }
        }
    }
    Facts {
        supervision,
        normally_up,
        record: Some(record),
        info,
    }
}

/// The facts of the service whose directory is `dir` (and of its log service, if `log`
/// is a directory, as runsv decides it).
pub fn service_at(name: &[u8], dir: BorrowedFd) -> Service {
    let main = read_at(dir, &MAIN, crate::svdir::DOWN);
    let has_log = matches!(sys::statat(dir, crate::svdir::LOG), Ok(st) if st.is_dir());
    let log = has_log.then(|| read_at(dir, &LOGSVC, crate::svdir::LOG_DOWN));
    Service {
        name: name.to_vec(),
        main,
        log,
    }
}

/// Opens a directory for `*at` calls (following symlinks, as runsvdir does).
pub fn open_dir_at(base: Option<BorrowedFd>, path: &CStr) -> Result<OwnedFd, Errno> {
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    match base {
        Some(b) => sys::openat(b, path, flags, 0),
        None => sys::open(path, flags, 0),
    }
}

/// Why the service directory could not be listed.
pub use crate::sys::DirError;

/// Every service in `svdir` with its facts: the entries not starting with `.` that are
/// directories, symlinks followed (runsvdir's rule), sorted by name (readdir's order is
/// arbitrary; a stable one makes outputs comparable). An entry that is not a directory,
/// or vanished since the listing, is left out.
pub fn scan(svdir: &CStr, dirfd: BorrowedFd) -> Result<Vec<Service>, DirError> {
    let mut names: Vec<Vec<u8>> = sys::dir_names(svdir)?
        .into_iter()
        .filter(|n| n.first() != Some(&b'.'))
        .collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let Ok(c) = sys::cstr(&n) else { continue };
        // O_DIRECTORY decides "is a directory" in the same call that opens it.
        let Ok(d) = open_dir_at(Some(dirfd), &c) else {
            continue;
        };
        out.push(service_at(&n, d.as_fd()));
    }
    Ok(out)
}

/// A service name as text (docs/exporter.md §4): valid UTF-8 as it is; every byte of an
/// invalid sequence as the four characters `\xHH` (lowercase hex), systemd-escape's
/// notation, so that distinct names stay distinct and the output is valid UTF-8 for
/// Prometheus and JSON parsers.
pub fn name_text(name: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in name.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for &b in chunk.invalid() {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_invalid_utf8_are_escaped() {
        let mut o = Vec::new();
        name_text("a\u{e9}b".as_bytes(), &mut o);
        assert_eq!(o, "a\u{e9}b".as_bytes());
        o.clear();
        name_text(b"a\xff\xc3b\\", &mut o);
        assert_eq!(o, b"a\\xff\\xc3b\\");
    }

    fn facts(state: u8, want: u8, info: Option<Info>) -> Facts {
        let when = Tai64n {
            secs: 0x4000_0000_6000_0000,
            nanos: 500,
        };
        Facts {
            supervision: Supervision::Yes,
            normally_up: Ok(true),
            record: Some(Ok(Status {
                when,
                pid: if state == 0 { 0 } else { 42 },
                paused: false,
                want,
                term: false,
                state,
            })),
            info,
        }
    }

    #[test]
    fn ready_follows_readiness_and_state() {
        // Table: (state byte, readiness published, ready?).
        let cases = [
            (1, None, true),
            (1, Some(Readiness::Off), true),
            (1, Some(Readiness::Ready), true),
            (1, Some(Readiness::Waiting), false),
            (1, Some(Readiness::Reloading), false),
            (1, Some(Readiness::Stopping), false),
            (0, None, false),
            (2, None, false),
        ];
        for (state, r, want) in cases {
            let i = r.map(|r| {
                let mut i = Info::new();
                i.readiness = r;
                i
            });
            let f = facts(state, b'u', i);
            assert_eq!(f.ready(), want, "state {state} readiness {r:?}");
        }
        let mut f = facts(1, b'u', None);
        f.supervision = Supervision::NotRunning;
        f.record = None;
        assert!(!f.up() && !f.ready() && f.want_up().is_none());
    }

    #[test]
    fn age_is_never_negative() {
        let f = facts(1, b'u', None);
        let when = f.status().map(|s| s.when).unwrap_or_default();
        let later = Tai64n {
            secs: when.secs + 3,
            nanos: when.nanos + 250_000,
        };
        assert_eq!(f.age_us(later), Some(3_000_250));
        let earlier = Tai64n {
            secs: when.secs - 1,
            nanos: 0,
        };
        assert_eq!(f.age_us(earlier), Some(0));
    }
}

//! THE service-directory layout (supervise-protocol.md §2, §4) and the client side of the
//! supervise protocol (§12): probing `ok`, reading `status`, writing `control`.
//!
//! Paths are relative to the service directory (runsv and sv both chdir there first).

use crate::status::Status;
use crate::sys::{self, AsFd, Errno};
use std::ffi::CStr;

macro_rules! c {
    ($s:literal) => {
        // Literal C strings: no allocation, checked at compile time.
        match CStr::from_bytes_with_nul(concat!($s, "\0").as_bytes()) {
            Ok(c) => c,
            Err(_) => unreachable!(),
        }
    };
}

pub const RUN: &CStr = c!("./run");
pub const FINISH: &CStr = c!("./finish");
pub const DOWN: &CStr = c!("down");
pub const CHECK: &CStr = c!("check");
pub const LOG: &CStr = c!("log");
pub const LOG_DOWN: &CStr = c!("log/down");
pub const SUPERVISE: &CStr = c!("supervise");
/// Readiness (docs/readiness.md): the descriptor `./run` writes a newline to when ready,
/// and the file that asks for an `sd_notify` socket.
pub const NOTIFICATION_FD: &CStr = c!("notification-fd");
pub const NOTIFY_SOCKET: &CStr = c!("notify-socket");
/// The socket runsv binds for `notify-socket`, relative to the service directory.
pub const NOTIFY: &[u8] = b"supervise/notify";
/// Marker: when this service goes down for good, the container stops with its exit code
/// (docs/containers.md).
pub const ESSENTIAL: &CStr = c!("essential");
pub const LOG_SUPERVISE: &CStr = c!("log/supervise");

/// The files of one `supervise/` directory, as paths relative to the service directory.
pub struct SuperviseFiles {
    pub dir: &'static CStr,
    pub lock: &'static CStr,
    pub control: &'static CStr,
    pub ok: &'static CStr,
    pub status: &'static CStr,
    pub status_new: &'static CStr,
    pub stat: &'static CStr,
    pub stat_new: &'static CStr,
    pub pid: &'static CStr,
    pub pid_new: &'static CStr,
    /// Beyond runit: readiness and the facts the record cannot hold (src/info.rs).
    pub info: &'static CStr,
    pub info_new: &'static CStr,
}

pub const MAIN: SuperviseFiles = SuperviseFiles {
    dir: c!("supervise"),
    lock: c!("supervise/lock"),
    control: c!("supervise/control"),
    ok: c!("supervise/ok"),
    status: c!("supervise/status"),
    status_new: c!("supervise/status.new"),
    stat: c!("supervise/stat"),
    stat_new: c!("supervise/stat.new"),
    pid: c!("supervise/pid"),
    pid_new: c!("supervise/pid.new"),
    info: c!("supervise/info"),
    info_new: c!("supervise/info.new"),
};

pub const LOGSVC: SuperviseFiles = SuperviseFiles {
    dir: c!("log/supervise"),
    lock: c!("log/supervise/lock"),
    control: c!("log/supervise/control"),
    ok: c!("log/supervise/ok"),
    status: c!("log/supervise/status"),
    status_new: c!("log/supervise/status.new"),
    stat: c!("log/supervise/stat"),
    stat_new: c!("log/supervise/stat.new"),
    pid: c!("log/supervise/pid"),
    pid_new: c!("log/supervise/pid.new"),
    info: c!("log/supervise/info"),
    info_new: c!("log/supervise/info.new"),
};

/// `control/<c>` for a control byte (supervise-protocol.md §9.2).
pub fn control_script(c: u8) -> [u8; 10] {
    let mut p = *b"control/?\0";
    p[8] = c;
    p
}

/// Why a service cannot be talked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeError {
    /// `ok` gave ENXIO: no runsv holds it.
    NotRunning,
    /// Any other open error on `ok` (e.g. ENOENT: never supervised).
    Ok(Errno),
    /// `status` could not be opened.
    StatusOpen(Errno),
    /// `status` could not be read.
    StatusRead(Errno),
    /// `status` is shorter than 20 bytes.
    BadFormat,
}

/// Is a runsv alive behind `ok` (relative to the cwd)? (§12)
pub fn probe_ok(ok: &CStr) -> Result<(), ProbeError> {
    match sys::open(ok, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        Ok(_) => Ok(()),
        Err(Errno::NXIO) => Err(ProbeError::NotRunning),
        Err(e) => Err(ProbeError::Ok(e)),
    }
}

/// Probe then read: what sv does before acting on a service (sv.md §5 step 1).
pub fn probe(files: &SuperviseFiles) -> Result<Status, ProbeError> {
    probe_ok(files.ok)?;
    crate::status::read(files.status).map_err(|e| match e {
        crate::status::ReadError::Open(e) => ProbeError::StatusOpen(e),
        crate::status::ReadError::Read(e) => ProbeError::StatusRead(e),
        crate::status::ReadError::Short => ProbeError::BadFormat,
    })
}

/// Why a control write failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    NotRunning,
    Open(Errno),
    Write(Errno),
    Short,
}

/// Writes the command bytes to `control` in one write, never blocking (§12).
pub fn send(control: &CStr, bytes: &[u8]) -> Result<(), SendError> {
    let fd = match sys::open(control, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        Ok(fd) => fd,
        Err(Errno::NXIO) => return Err(SendError::NotRunning),
        Err(e) => return Err(SendError::Open(e)),
    };
    match sys::write(fd.as_fd(), bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(SendError::Short),
        Err(e) => Err(SendError::Write(e)),
    }
}

/// Bytes written to `control` that runsv has not read yet (sv's staleness test).
pub fn control_pending(control: &CStr) -> Result<usize, SendError> {
    match sys::open(control, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        Ok(fd) => sys::pending_bytes(fd.as_fd()).map_err(SendError::Open),
        Err(Errno::NXIO) => Err(SendError::NotRunning),
        Err(e) => Err(SendError::Open(e)),
    }
}

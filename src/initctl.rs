//! THE contracts between the programs that can be process no 1 and whoever asks them to
//! stop (spec runit.md §4-§6, runit-init.md; docs/runit.md "Debian's layout" and "Stopping
//! a container"):
//!
//! - the flag files through which `runit-init 0|6` asks a running `runit` to halt or
//!   reboot: `stopit` with the owner-execute bit means "leave stage 2", `reboot` with it
//!   means "reboot rather than halt". Upstream keeps them in `/etc/runit/`, Debian and
//!   Devuan in `/run/` ([`Layout`]); which pair a system uses is decided here, at every
//!   use, by one rule, so runit and runit-init cannot disagree;
//! - the container-wide stop deadline (`stop-timeout`) that runit in container mode and
//!   runsvdir as PID 1 give an orderly stop before they KILL what is left;
//! - the container's exit code: `/run/runit.exitcode` (an `essential` service given up on),
//!   `/etc/runit/exitcode`, or PID 1's own code ([`container_exit_code`]).

use crate::sys;
use std::ffi::CStr;

/// Upstream runit's stop flag.
pub const STOPIT: &CStr = c"/etc/runit/stopit";
/// Upstream runit's reboot flag.
pub const REBOOT: &CStr = c"/etc/runit/reboot";

/// Written by runsv when a service marked `essential` (docs/containers.md) goes down for
/// good: its exit code, which the container's PID 1 (runit in container mode, runsvdir)
/// exits with, before `/etc/runit/exitcode` and stage 3's code.
pub const ESSENTIAL_EXITCODE: &CStr = c"/run/runit.exitcode";
pub const ESSENTIAL_EXITCODE_NEW: &CStr = c"/run/runit.exitcode.new";

/// The container's exit code, pure (docs/containers.md "Exit codes"): the first that
/// applies of
///
/// 1. `essential`, the contents of `/run/runit.exitcode` when it exists: an `essential`
///    service went down for good and its exit code ends the container, whatever stage 3
///    or the image's `/etc/runit/exitcode` say (the failure is the news);
/// 2. `etc`, the contents of `/etc/runit/exitcode` when it exists (runit only: runsvdir
///    as PID 1 has no such file and passes `None`);
/// 3. `own`: stage 3's exit code (runit), 0 (runsvdir).
///
/// A file's number is its leading decimal digits modulo 256, none meaning 0 (runit's
/// rule for `/etc/runit/exitcode`; runsv writes `CODE\n`).
pub fn container_exit_code(essential: Option<&[u8]>, etc: Option<&[u8]>, own: i32) -> i32 {
    match essential.or(etc) {
        Some(raw) => (crate::scan_ulong(raw).0 % 256) as i32,
        None => own,
    }
}

/// [`container_exit_code`] on the file system as it is now; `etc` says whether
/// `/etc/runit/exitcode` counts (runit) or not (runsvdir).
pub fn exit_code_now(etc: bool, own: i32) -> i32 {
    let essential = sys::read_file(ESSENTIAL_EXITCODE, 32).ok();
    let etc = if etc {
        sys::read_file(ETC_EXITCODE, 32).ok()
    } else {
        None
    };
    container_exit_code(
        essential.as_ref().map(|c| c.data.as_slice()),
        etc.as_ref().map(|c| c.data.as_slice()),
        own,
    )
}

/// Removes a `/run/runit.exitcode` (and a half-written `.new`) left by an earlier boot of
/// the same container (`docker restart` keeps its file system, and `/run` is a plain
/// directory in an image unless stage 1 mounts a tmpfs there). Called by the PID 1 that
/// reads it, once, before any service can have started: runit in container mode before
/// stage 1, runsvdir as PID 1 before its first scan.
pub fn clear_essential_exitcode() {
    let _ = sys::unlink(ESSENTIAL_EXITCODE_NEW);
    let _ = sys::unlink(ESSENTIAL_EXITCODE);
}

/// runit in container mode: the exit code to use after stage 3 (leading decimal digits).
pub const ETC_EXITCODE: &CStr = c"/etc/runit/exitcode";
/// Debian's stop flag (patch 0007); its `/etc/runit/1` creates it with mode 000 at boot.
pub const DEBIAN_STOPIT: &CStr = c"/run/runit.stopit";
/// Debian's reboot flag.
pub const DEBIAN_REBOOT: &CStr = c"/run/runit.reboot";

/// Which pair of flag files the running system uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `/etc/runit/stopit`, `/etc/runit/reboot` (runit 2.3.0).
    Upstream,
    /// `/run/runit.stopit`, `/run/runit.reboot` (Debian, Devuan).
    Debian,
}

impl Layout {
    pub fn stopit(self) -> &'static CStr {
        match self {
            Layout::Upstream => STOPIT,
            Layout::Debian => DEBIAN_STOPIT,
        }
    }

    pub fn reboot(self) -> &'static CStr {
        match self {
            Layout::Upstream => REBOOT,
            Layout::Debian => DEBIAN_REBOOT,
        }
    }
}

/// The rule: Debian's layout exactly when `/run/runit.stopit` exists (any type, any
/// mode). Debian's `/etc/runit/1` creates it at every boot, and Debian's own tools
/// (runit-helper, `/lib/runit/shutdown`, `/etc/runit/2`) take its presence to mean "runit
/// is process 1"; nothing of upstream's creates it. Whether `/etc/runit/stopit` exists
/// does not matter: a system moved from upstream to Debian may keep a stale one, and
/// `/run` is empty at every boot, so a Debian file there is always today's.
pub fn decide(etc_stopit_exists: bool, run_stopit_exists: bool) -> Layout {
    let _ = etc_stopit_exists; // deliberately not part of the rule (above)
    if run_stopit_exists {
        Layout::Debian
    } else {
        Layout::Upstream
    }
}

/// [`decide`] on the file system as it is now. Asked at each use, not once at start-up:
/// runit starts before stage 1 has created (or even mounted) `/run`.
pub fn layout() -> Layout {
    decide(
        sys::lstat(STOPIT).is_ok(),
        sys::lstat(DEBIAN_STOPIT).is_ok(),
    )
}

/// The file that sets the container-wide stop deadline (first line, seconds).
pub const STOP_TIMEOUT_FILE: &CStr = c"/etc/runit/stop-timeout";
/// The environment variable that sets it; it wins over the file.
pub const STOP_TIMEOUT_ENV: &CStr = c"RUNIT_STOP_TIMEOUT";
/// The default deadline: 7 s, so that a stop finishes inside Docker's default 10-second
/// grace with room for the final KILL, reaping and exit.
pub const STOP_TIMEOUT_DEFAULT_MS: i64 = 7000;
/// The largest accepted value (one day), as for runsv's `timeout-kill`.
pub const STOP_TIMEOUT_MAX_MS: i64 = 86_400_000;

/// Parses a stop-timeout value: seconds as decimal digits with up to three decimals
/// (`7`, `2.5`, `0.250`), blanks around the first line ignored. `Ok(None)` for 0: no
/// deadline. `Err(why)` for anything else.
pub fn parse_stop_timeout(raw: &[u8]) -> Result<Option<i64>, &'static [u8]> {
    let v = crate::first_line(raw);
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (v.get(..i).unwrap_or(&[]), v.get(i + 1..)),
        None => (v, None),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(int) || frac.is_some_and(|f| !digits(f) || f.len() > 3) {
        return Err(b"not a number of seconds");
    }
    if int.len() > 6 {
        return Err(b"more than a day");
    }
    let (secs, _) = crate::scan_ulong(int);
    let mut ms = secs as i64 * 1000;
    if let Some(f) = frac {
        let (n, _) = crate::scan_ulong(f);
        ms += n as i64 * [100, 10, 1].get(f.len() - 1).copied().unwrap_or(1);
    }
    if ms > STOP_TIMEOUT_MAX_MS {
        return Err(b"more than a day");
    }
    Ok((ms > 0).then_some(ms))
}

/// The stop deadline in ms (`None`: none): `$RUNIT_STOP_TIMEOUT` if set, else the first
/// line of `/etc/runit/stop-timeout` if it can be read, else 7 s. A bad value is reported
/// through `warn` (the source and why) and the default is used.
pub fn stop_timeout(warn: impl Fn(&[&[u8]])) -> Option<i64> {
    let (source, raw): (&[u8], Vec<u8>) = if let Some(v) = sys::user::getenv(STOP_TIMEOUT_ENV) {
        (STOP_TIMEOUT_ENV.to_bytes(), v)
    } else if let Ok(c) = sys::read_file(STOP_TIMEOUT_FILE, 256) {
        (STOP_TIMEOUT_FILE.to_bytes(), c.data.to_vec())
    } else {
        return Some(STOP_TIMEOUT_DEFAULT_MS);
    };
    match parse_stop_timeout(&raw) {
        Ok(v) => v,
        Err(why) => {
            warn(&[b"invalid ", source, b": ", why, b"; using the default"]);
            Some(STOP_TIMEOUT_DEFAULT_MS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout rule, for every combination of the two stop flags.
    #[test]
    fn layout_rule() {
        let table = [
            ((false, false), Layout::Upstream), // a fresh upstream system, or a container
            ((true, false), Layout::Upstream),  // upstream after a runit-init
            ((false, true), Layout::Debian),    // Debian 12 after its /etc/runit/1
            ((true, true), Layout::Debian),     // Debian with a stale upstream stopit
        ];
        for ((etc, run), want) in table {
            assert_eq!(decide(etc, run), want, "etc {etc} run {run}");
        }
        assert_eq!(Layout::Debian.stopit(), c"/run/runit.stopit");
        assert_eq!(Layout::Debian.reboot(), c"/run/runit.reboot");
        assert_eq!(Layout::Upstream.stopit(), c"/etc/runit/stopit");
        assert_eq!(Layout::Upstream.reboot(), c"/etc/runit/reboot");
    }

    /// The exit-code precedence: essential, then /etc/runit/exitcode, then PID 1's own.
    #[test]
    fn container_exit_code_precedence() {
        type Row = (Option<&'static [u8]>, Option<&'static [u8]>, i32, i32);
        #[rustfmt::skip]
        let table: &[Row] = &[
            (None, None, 5, 5),                    // stage 3's code
            (None, None, 137, 137),                // the deadline ran out before stage 3
            (None, Some(b"42\n"), 5, 42),          // the image's /etc/runit/exitcode
            (Some(b"3\n"), None, 0, 3),            // an essential service's code
            (Some(b"3\n"), Some(b"42\n"), 5, 3),   // essential wins over both
            (Some(b"0\n"), Some(b"42\n"), 5, 0),   // even when the service exited 0
            (Some(b"143\n"), None, 0, 143),        // killed by TERM: 128 + 15
            (Some(b"300"), None, 0, 44),           // modulo 256
            (Some(b""), Some(b"42"), 5, 0),        // present but no digits: 0
            (None, Some(b"x"), 5, 0),              // runit's rule for exitcode
            (None, Some(b"7 and more"), 5, 7),     // leading digits only
        ];
        for &(essential, etc, own, want) in table {
            assert_eq!(
                container_exit_code(essential, etc, own),
                want,
                "essential {essential:?} etc {etc:?} own {own}"
            );
        }
    }

    #[test]
    fn stop_timeout_values() {
        let ok: [(&[u8], Option<i64>); 9] = [
            (b"7", Some(7000)),
            (b"7\n", Some(7000)),
            (b"  2.5 \nignored", Some(2500)),
            (b"0.25", Some(250)),
            (b"0.001", Some(1)),
            (b"0", None),
            (b"0.000", None),
            (b"86400", Some(86_400_000)),
            (b"10.0", Some(10_000)),
        ];
        for (raw, want) in ok {
            assert_eq!(parse_stop_timeout(raw), Ok(want), "{raw:?}");
        }
        let bad: [&[u8]; 10] = [
            b"",
            b"\n7",
            b"-1",
            b"7s",
            b".5",
            b"5.",
            b"1.2345",
            b"1e3",
            b"86400.001",
            b"9999999",
        ];
        for raw in bad {
            assert!(parse_stop_timeout(raw).is_err(), "{raw:?}");
        }
    }
}

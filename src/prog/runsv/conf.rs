//! The stop and restart settings of a service (docs/stopping.md): files in the service
//! directory, read at every start of `./run`, decoded here by pure functions.
//!
//! Names and units are s6's where s6 has the setting. Every file is optional; without any,
//! runsv behaves exactly as runit's. A file with bad content gets a warning naming it and
//! the default is used: runsv never exits over it.

use crate::first_line;

/// How far a stop reaches (`kill-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillMode {
    /// runit's: signals go to `./run`'s pid.
    Process,
    /// `./run` leads its own session and process group; signals go to the group, and
    /// what is left of it when `./run` exits is stopped too.
    Group,
    /// Group, plus the service runs in its own cgroup v2, emptied with `cgroup.kill`.
    Cgroup,
}

/// The most exits `restart-limit` can count.
pub const LIMIT_MAX: u32 = 64;

/// The settings, with runit's behaviour as the default of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conf {
    /// `down-signal`: sent instead of TERM when the service is taken down (then CONT).
    pub down_signal: i32,
    /// `timeout-kill` (ms): KILL when the service has not exited this long after a stop.
    pub timeout_kill: Option<i64>,
    /// `timeout-finish` (ms): `./finish` is killed when it runs longer.
    pub timeout_finish: Option<i64>,
    pub kill_mode: KillMode,
    /// `restart-limit`: N exits within SECONDS (kept in ms) make the service stay down.
    pub restart_limit: Option<(u32, i64)>,
    /// `restart-delay`: MIN and MAX ms of the doubling wait after runs that end quickly.
    pub restart_delay: Option<(i64, i64)>,
}

impl Default for Conf {
    fn default() -> Conf {
        Conf {
            down_signal: libc::SIGTERM,
            timeout_kill: None,
            timeout_finish: None,
            kill_mode: KillMode::Process,
            restart_limit: None,
            restart_delay: None,
        }
    }
}

/// The files, in the order they are read.
pub const FILES: [&std::ffi::CStr; 6] = [
    c"down-signal",
    c"timeout-kill",
    c"timeout-finish",
    c"kill-mode",
    c"restart-limit",
    c"restart-delay",
];

/// Why a file's content was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bad {
    /// Not a signal name (with or without `SIG`) or number.
    Signal,
    /// Not a whole number of milliseconds (or too big: more than a day).
    Millis,
    /// Not `process`, `group` or `cgroup`.
    Mode,
    /// `restart-limit` is not `N SECONDS` with 1 ≤ N ≤ 64 and 1 ≤ SECONDS ≤ a day.
    Limit,
    /// `restart-delay` is not `MIN MAX` with 0 ≤ MIN ≤ MAX ≤ a day.
    Delay,
}

impl Bad {
    /// The warning's reason, after `invalid FILE: `.
    pub fn why(self) -> &'static [u8] {
        match self {
            Bad::Signal => b"not a signal name or number",
            Bad::Millis => b"not a number of milliseconds",
            Bad::Mode => b"not process, group or cgroup",
            Bad::Limit => b"not N SECONDS (1 to 64 exits, up to 86400 seconds)",
            Bad::Delay => b"not MIN MAX in milliseconds (MIN up to MAX)",
        }
    }
}

/// A day in ms: the longest wait any setting may ask for.
const DAY_MS: u64 = 86_400_000;

/// A whole decimal number (no sign, no trailing garbage), saturating.
fn number(w: &[u8]) -> Option<u64> {
    let (n, used) = crate::scan_ulong(w);
    (used > 0 && used == w.len()).then_some(n)
}

/// The words of the first line.
fn words(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    first_line(content)
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
}

/// `down-signal`: `TERM`, `SIGTERM`, `term`, or a number from 1 to 64.
pub fn signal(content: &[u8]) -> Result<i32, Bad> {
    let w = first_line(content);
    if let Some(n) = number(w) {
        return if (1..=64).contains(&n) {
            Ok(n as i32)
        } else {
            Err(Bad::Signal)
        };
    }
    let mut up = [0u8; 16];
    if w.len() > up.len() {
        return Err(Bad::Signal);
    }
    for (d, &s) in up.iter_mut().zip(w) {
        *d = s.to_ascii_uppercase();
    }
    let name = up.get(..w.len()).unwrap_or(&[]);
    let name = name.strip_prefix(b"SIG").unwrap_or(name);
    signal_by_name(name).ok_or(Bad::Signal)
}

/// The signals a `down-signal` may name.
pub fn signal_by_name(name: &[u8]) -> Option<i32> {
    Some(match name {
        b"HUP" => libc::SIGHUP,
        b"INT" => libc::SIGINT,
        b"QUIT" => libc::SIGQUIT,
        b"ILL" => libc::SIGILL,
        b"TRAP" => libc::SIGTRAP,
        b"ABRT" | b"IOT" => libc::SIGABRT,
        b"BUS" => libc::SIGBUS,
        b"FPE" => libc::SIGFPE,
        b"KILL" => libc::SIGKILL,
        b"USR1" => libc::SIGUSR1,
        b"SEGV" => libc::SIGSEGV,
        b"USR2" => libc::SIGUSR2,
        b"PIPE" => libc::SIGPIPE,
        b"ALRM" => libc::SIGALRM,
        b"TERM" => libc::SIGTERM,
        b"STKFLT" => libc::SIGSTKFLT,
        b"CHLD" => libc::SIGCHLD,
        b"CONT" => libc::SIGCONT,
        b"STOP" => libc::SIGSTOP,
        b"TSTP" => libc::SIGTSTP,
        b"TTIN" => libc::SIGTTIN,
        b"TTOU" => libc::SIGTTOU,
        b"URG" => libc::SIGURG,
        b"XCPU" => libc::SIGXCPU,
        b"XFSZ" => libc::SIGXFSZ,
        b"VTALRM" => libc::SIGVTALRM,
        b"PROF" => libc::SIGPROF,
        b"WINCH" => libc::SIGWINCH,
        b"IO" | b"POLL" => libc::SIGIO,
        b"PWR" => libc::SIGPWR,
        b"SYS" => libc::SIGSYS,
        _ => return None,
    })
}

/// `timeout-kill`, `timeout-finish`: milliseconds; 0 means none (s6's `timeout-finish 0`).
pub fn millis(content: &[u8]) -> Result<Option<i64>, Bad> {
    match number(first_line(content)) {
        Some(0) => Ok(None),
        Some(n) if n <= DAY_MS => Ok(Some(n as i64)),
        Some(_) | None => Err(Bad::Millis),
    }
}

/// `kill-mode`.
pub fn kill_mode(content: &[u8]) -> Result<KillMode, Bad> {
    match first_line(content) {
        b"process" => Ok(KillMode::Process),
        b"group" => Ok(KillMode::Group),
        b"cgroup" => Ok(KillMode::Cgroup),
        _ => Err(Bad::Mode),
    }
}

/// `restart-limit`: `N SECONDS`.
pub fn restart_limit(content: &[u8]) -> Result<(u32, i64), Bad> {
    let mut w = words(content);
    let (Some(n), Some(secs), None) = (w.next(), w.next(), w.next()) else {
        return Err(Bad::Limit);
    };
    match (number(n), number(secs)) {
        (Some(n), Some(s))
            if (1..=u64::from(LIMIT_MAX)).contains(&n) && (1..=86_400).contains(&s) =>
        {
            Ok((n as u32, s as i64 * 1000))
        }
        _ => Err(Bad::Limit),
    }
}

/// `restart-delay`: `MIN MAX` in milliseconds.
pub fn restart_delay(content: &[u8]) -> Result<(i64, i64), Bad> {
    let mut w = words(content);
    let (Some(min), Some(max), None) = (w.next(), w.next(), w.next()) else {
        return Err(Bad::Delay);
    };
    match (number(min), number(max)) {
        (Some(a), Some(b)) if a <= b && b <= DAY_MS => Ok((a as i64, b as i64)),
        _ => Err(Bad::Delay),
    }
}

/// Applies file `i` of [`FILES`] to `conf`: `Err` when its content is bad (the default
/// stays in force).
pub fn apply(conf: &mut Conf, i: usize, content: &[u8]) -> Result<(), Bad> {
    match i {
        0 => conf.down_signal = signal(content)?,
        1 => conf.timeout_kill = millis(content)?,
        2 => conf.timeout_finish = millis(content)?,
        3 => conf.kill_mode = kill_mode(content)?,
        4 => conf.restart_limit = Some(restart_limit(content)?),
        5 => conf.restart_delay = Some(restart_delay(content)?),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        let table: &[(&[u8], Result<i32, Bad>)] = &[
            (b"TERM", Ok(libc::SIGTERM)),
            (b"SIGINT\n", Ok(libc::SIGINT)),
            (b" quit ", Ok(libc::SIGQUIT)),
            (b"hup\nignored", Ok(libc::SIGHUP)),
            (b"USR1", Ok(libc::SIGUSR1)),
            (b"sigpwr", Ok(libc::SIGPWR)),
            (b"9", Ok(9)),
            (b"64", Ok(64)),
            (b"0", Err(Bad::Signal)),
            (b"65", Err(Bad::Signal)),
            (b"-15", Err(Bad::Signal)),
            (b"SIG", Err(Bad::Signal)),
            (b"TERMINATE", Err(Bad::Signal)),
            (b"", Err(Bad::Signal)),
            (b"\xff\xfe", Err(Bad::Signal)),
            (b"SIGVERYLONGNAMEXXXX", Err(Bad::Signal)),
            (b"99999999999999999999999", Err(Bad::Signal)),
        ];
        for (c, want) in table {
            assert_eq!(signal(c), *want, "{:?}", String::from_utf8_lossy(c));
        }
    }

    #[test]
    fn millis_and_modes() {
        assert_eq!(millis(b"200\n"), Ok(Some(200)));
        assert_eq!(millis(b"0"), Ok(None));
        assert_eq!(millis(b"86400000"), Ok(Some(86_400_000)));
        for bad in [
            &b"86400001"[..],
            b"-5",
            b"1.5",
            b"",
            b"10 ms",
            b"99999999999999999999999",
        ] {
            assert_eq!(millis(bad), Err(Bad::Millis), "{bad:?}");
        }
        assert_eq!(kill_mode(b"group\n"), Ok(KillMode::Group));
        assert_eq!(kill_mode(b"cgroup"), Ok(KillMode::Cgroup));
        assert_eq!(kill_mode(b"process"), Ok(KillMode::Process));
        assert_eq!(kill_mode(b"Group"), Err(Bad::Mode));
        assert_eq!(kill_mode(b""), Err(Bad::Mode));
    }

    #[test]
    fn limits_and_delays() {
        assert_eq!(restart_limit(b"5 10\n"), Ok((5, 10_000)));
        assert_eq!(restart_limit(b"  1\t86400 "), Ok((1, 86_400_000)));
        for bad in [
            &b"0 10"[..],
            b"65 10",
            b"5 0",
            b"5 86401",
            b"5",
            b"5 10 15",
            b"five 10",
            b"-1 10",
            b"",
        ] {
            assert_eq!(restart_limit(bad), Err(Bad::Limit), "{bad:?}");
        }
        assert_eq!(restart_delay(b"100 60000"), Ok((100, 60_000)));
        assert_eq!(restart_delay(b"0 0"), Ok((0, 0)));
        for bad in [&b"500 100"[..], b"100", b"1 86400001", b"x y", b"1 2 3"] {
            assert_eq!(restart_delay(bad), Err(Bad::Delay), "{bad:?}");
        }
    }

    #[test]
    fn apply_keeps_the_default_on_bad_content() {
        let mut c = Conf::default();
        assert_eq!(apply(&mut c, 0, b"NOPE"), Err(Bad::Signal));
        assert_eq!(c, Conf::default());
        assert_eq!(apply(&mut c, 0, b"INT"), Ok(()));
        assert_eq!(apply(&mut c, 3, b"group"), Ok(()));
        assert_eq!(
            (c.down_signal, c.kill_mode),
            (libc::SIGINT, KillMode::Group)
        );
    }
}

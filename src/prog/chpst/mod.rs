//! `chpst`: runs a program with a changed process state, and under the names `envdir`,
//! `envuidgid`, `pgrphack`, `setlock`, `setuidgid` and `softlimit` emulates those daemontools
//! tools the way runit does (spec chpst.md, formats.md §2 and §8).
//!
//! `main` parses the command line into a [`Plan`], then [`Plan::run`] applies it in runit's
//! order (spec §3) and execs prog; chpst never forks, so prog's exit status is chpst's —
//! except with `-I`/`-F` (upstream after 2.3.0, docs/chpst.md), where it forks into a new
//! PID namespace and passes the exit code on ([`pid1`]).
//! Security-relevant order: supplementary groups, then the gid, then the uid, all after every
//! lookup has succeeded; nothing runs when a user or group cannot be resolved.

// Visible to the crate for the fuzzer (src/fuzzing.rs).
pub(crate) mod env;
pub(crate) mod ids;
pub mod nss;
mod pid1;

use crate::getopt::{Getopt, Opt};
use crate::{basename, msg, sys};
use env::{fatal, Changes, SubdirRule};

/// Usage error: bad option, missing prog, bad number, duplicate lock option.
pub const EXIT_USAGE: i32 = 100;
/// Any failure while changing the process state or executing prog.
pub const EXIT_FATAL: i32 = 111;

const OPTS_CHPST: &str = "u:U:b:e:m:d:o:p:f:c:r:t:/:C:n:l:L:vPFIN012V";
const OPTS_SOFTLIMIT: &str = "a:c:d:f:l:m:o:p:r:s:t:";
const OPTS_SETLOCK: &str = "nNxX";

const USAGE_CHPST: &[u8] =
    b" [-vVPFIN012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] \
[-/ root] [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog";
const USAGE_ACCOUNT: &[u8] = b" account child";
const USAGE_ENVDIR: &[u8] = b" dir child";
const USAGE_PGRPHACK: &[u8] = b" child";
const USAGE_SETLOCK: &[u8] = b" [ -nNxX ] file program [ arg ... ]";
const USAGE_SOFTLIMIT: &[u8] = b" [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] \
[-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] \
[-t cpusecs] child";

/// Entry point: picks the personality from basename(argv[0]) (spec §1).
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let base = basename(args.first().map(|a| a.as_slice()).unwrap_or(b"chpst")).to_vec();
    // Every personality speaks as chpst (formats.md §8).
    msg::set_prefix(&[b"chpst: "]);
    sys::alloc::set_oom_exit(EXIT_FATAL);
    // runit quirk: a leading `d` is dropped (`dsetuidgid` acts as setuidgid; chpst linked as
    // `daemon` calls itself `aemon` in its usage line).
    let prog = base.strip_prefix(b"d").unwrap_or(&base).to_vec();
    let names = Names {
        base: &base,
        prog: &prog,
    };
    let plan = match prog.as_slice() {
        b"setuidgid" => account(&args, &names, false),
        b"envuidgid" => account(&args, &names, true),
        b"envdir" => envdir_personality(&args, &names),
        b"pgrphack" => pgrphack(&args, &names),
        b"setlock" => setlock(&args, &names),
        b"softlimit" => softlimit(&args, &names),
        _ => chpst(&args, &names),
    };
    match plan {
        Ok(plan) => plan.run(),
        Err(code) => code,
    }
}

/// The names a personality prints: getopt errors use the plain basename, usage lines the
/// name after the `d` strip.
struct Names<'a> {
    base: &'a [u8],
    prog: &'a [u8],
}

impl Names<'_> {
    fn usage(&self, synopsis: &[u8]) -> i32 {
        msg::usage(self.prog, synopsis);
        EXIT_USAGE
    }
}

/// Whose words a failed user lookup is reported in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Voice {
    /// chpst's `-u`/`-U`: `unknown user/group: SPEC`.
    Chpst,
    /// setuidgid/envuidgid: `unknown account: NAME`.
    Account,
}

/// The resource limits in the order they are applied (spec §3 step 10). `i32`, not glibc's
/// `__rlimit_resource_t`, so that the musl build (docs/packaging.md) takes the same table.
const LIMITS: [i32; 10] = [
    libc::RLIMIT_DATA as i32,
    libc::RLIMIT_STACK as i32,
    libc::RLIMIT_MEMLOCK as i32,
    libc::RLIMIT_AS as i32,
    libc::RLIMIT_NOFILE as i32,
    libc::RLIMIT_NPROC as i32,
    libc::RLIMIT_FSIZE as i32,
    libc::RLIMIT_CORE as i32,
    libc::RLIMIT_RSS as i32,
    libc::RLIMIT_CPU as i32,
];
const DATA: usize = 0;
const STACK: usize = 1;
const MEMLOCK: usize = 2;
const AS: usize = 3;
const NOFILE: usize = 4;
const NPROC: usize = 5;
const FSIZE: usize = 6;
const CORE: usize = 7;
const RSS: usize = 8;
const CPU: usize = 9;

/// Everything to do before exec, filled in by the option parsers; applied by [`Plan::run`].
#[derive(Default)]
struct Plan {
    setsid: bool,
    envdir: Option<(Vec<u8>, SubdirRule)>,
    root: Option<Vec<u8>>,
    pwd: Option<Vec<u8>>,
    nice: Option<i32>,
    /// `-U`/envuidgid: the specification whose ids go to `$UID` and `$GID`.
    env_ids: Option<(Vec<u8>, Voice)>,
    /// `-u`/setuidgid: the specification to switch to.
    set_ids: Option<(Vec<u8>, Voice)>,
    /// The lock file and whether to wait for it.
    lock: Option<(Vec<u8>, bool)>,
    /// setlock `-x`: failures to lock or to exec end quietly with 0.
    lock_quiet: bool,
    close: [bool; 3],
    /// `-N`: `-0`/`-1`/`-2` put `/dev/null` there instead of closing.
    devnull: bool,
    /// `-I`/`-F`: a new PID namespace.
    newpid: Option<pid1::Mode>,
    verbose: bool,
    limits: [Option<u64>; 10],
    argv0: Option<Vec<u8>>,
    /// prog and its arguments.
    prog: Vec<Vec<u8>>,
}

// ------------------------------------------------------------------ command lines

/// chpst's own command line (spec §2).
fn chpst(args: &[Vec<u8>], names: &Names) -> Result<Plan, i32> {
    let mut plan = Plan::default();
    let mut verbose = false;
    let mut envdir: Option<Vec<u8>> = None;
    let mut g = Getopt::new(args, OPTS_CHPST, names.base);
    for opt in g.by_ref() {
        let (c, arg) = match opt {
            Opt::Flag(c, arg) => (c, arg.unwrap_or(b"")),
            Opt::Error => return Err(names.usage(USAGE_CHPST)),
        };
        match c {
            b'u' => plan.set_ids = Some((arg.to_vec(), Voice::Chpst)),
            b'U' => plan.env_ids = Some((arg.to_vec(), Voice::Chpst)),
            b'b' => plan.argv0 = Some(arg.to_vec()),
            b'e' => envdir = Some(arg.to_vec()),
            b'/' => plan.root = Some(arg.to_vec()),
            b'C' => plan.pwd = Some(arg.to_vec()),
            b'n' => match parse_nice(arg) {
                Some(n) => plan.nice = Some(n),
                None => return Err(names.usage(USAGE_CHPST)),
            },
            b'l' | b'L' => {
                if plan.lock.is_some() {
                    return Err(names.usage(USAGE_CHPST));
                }
                plan.lock = Some((arg.to_vec(), c == b'l'));
            }
            b'v' => verbose = true,
            b'P' => plan.setsid = true,
            // -F wins over -I, whatever their order
            b'F' => plan.newpid = Some(pid1::Mode::Fork),
            b'I' => {
                if plan.newpid.is_none() {
                    plan.newpid = Some(pid1::Mode::Init);
                }
            }
            b'N' => plan.devnull = true,
            b'0' => plan.close[0] = true,
            b'1' => plan.close[1] = true,
            b'2' => plan.close[2] = true,
            b'V' => {
                msg::err(&[msg::VERSION_ID]);
                return Err(names.usage(USAGE_CHPST));
            }
            _ => {
                let Some(n) = digits(arg) else {
                    return Err(names.usage(USAGE_CHPST));
                };
                match c {
                    b'm' => {
                        for l in [DATA, STACK, MEMLOCK, AS] {
                            plan.limits[l] = Some(n);
                        }
                    }
                    b'd' => plan.limits[DATA] = Some(n),
                    b'o' => plan.limits[NOFILE] = Some(n),
                    b'p' => plan.limits[NPROC] = Some(n),
                    b'f' => plan.limits[FSIZE] = Some(n),
                    b'c' => plan.limits[CORE] = Some(n),
                    b'r' => plan.limits[RSS] = Some(n),
                    _ => plan.limits[CPU] = Some(n), // b't', the last in OPTS_CHPST
                }
            }
        }
    }
    plan.envdir = envdir.map(|d| (d, SubdirRule::Skip { verbose }));
    plan.verbose = verbose;
    plan.prog = g.rest().to_vec();
    if plan.prog.is_empty() {
        return Err(names.usage(USAGE_CHPST));
    }
    Ok(plan)
}

/// setuidgid / envuidgid: `PROG account child…`, no options.
fn account(args: &[Vec<u8>], names: &Names, env_only: bool) -> Result<Plan, i32> {
    if args.len() < 3 {
        return Err(names.usage(USAGE_ACCOUNT));
    }
    let mut plan = Plan::default();
    let spec = Some((args[1].clone(), Voice::Account));
    if env_only {
        plan.env_ids = spec;
    } else {
        plan.set_ids = spec;
    }
    plan.prog = args[2..].to_vec();
    Ok(plan)
}

/// envdir: `envdir dir child…`; a subdirectory in dir is fatal.
fn envdir_personality(args: &[Vec<u8>], names: &Names) -> Result<Plan, i32> {
    if args.len() < 3 {
        return Err(names.usage(USAGE_ENVDIR));
    }
    Ok(Plan {
        envdir: Some((args[1].clone(), SubdirRule::Fatal)),
        prog: args[2..].to_vec(),
        ..Plan::default()
    })
}

/// pgrphack: `pgrphack child…`: a new session, then exec.
fn pgrphack(args: &[Vec<u8>], names: &Names) -> Result<Plan, i32> {
    if args.len() < 2 {
        return Err(names.usage(USAGE_PGRPHACK));
    }
    Ok(Plan {
        setsid: true,
        prog: args[1..].to_vec(),
        ..Plan::default()
    })
}

/// setlock (spec §6.1). runit quirk: non-blocking by default, `-n` waits.
fn setlock(args: &[Vec<u8>], names: &Names) -> Result<Plan, i32> {
    let mut wait = false;
    let mut quiet = false;
    let mut g = Getopt::new(args, OPTS_SETLOCK, names.base);
    for opt in g.by_ref() {
        match opt {
            Opt::Flag(b'n', _) => wait = true,
            Opt::Flag(b'N', _) => wait = false,
            Opt::Flag(b'x', _) => quiet = true,
            Opt::Flag(b'X', _) => quiet = false,
            _ => return Err(names.usage(USAGE_SETLOCK)),
        }
    }
    let rest = g.rest();
    if rest.len() < 2 {
        return Err(names.usage(USAGE_SETLOCK));
    }
    Ok(Plan {
        lock: Some((rest[0].clone(), wait)),
        lock_quiet: quiet,
        prog: rest[1..].to_vec(),
        ..Plan::default()
    })
}

/// softlimit (spec §6.2): `=` means the hard limit; a bad number prints chpst's usage
/// (runit quirk), an unknown option softlimit's.
fn softlimit(args: &[Vec<u8>], names: &Names) -> Result<Plan, i32> {
    let mut plan = Plan::default();
    let mut g = Getopt::new(args, OPTS_SOFTLIMIT, names.base);
    for opt in g.by_ref() {
        let (c, arg) = match opt {
            Opt::Flag(c, arg) => (c, arg.unwrap_or(b"")),
            Opt::Error => return Err(names.usage(USAGE_SOFTLIMIT)),
        };
        let n = if arg == b"=" {
            u64::MAX // capped to the hard limit when applied
        } else {
            match digits(arg) {
                Some(n) => n,
                None => return Err(names.usage(USAGE_CHPST)),
            }
        };
        let which: &[usize] = match c {
            b'a' => &[AS],
            b'c' => &[CORE],
            b'd' => &[DATA],
            b'f' => &[FSIZE],
            b'l' => &[MEMLOCK],
            b'm' => &[DATA, STACK, MEMLOCK, AS],
            b'o' => &[NOFILE],
            b'p' => &[NPROC],
            b'r' => &[RSS],
            b's' => &[STACK],
            _ => &[CPU], // b't', the last in OPTS_SOFTLIMIT
        };
        for &l in which {
            plan.limits[l] = Some(n);
        }
    }
    plan.prog = g.rest().to_vec();
    if plan.prog.is_empty() {
        return Err(names.usage(USAGE_SOFTLIMIT));
    }
    Ok(plan)
}

/// A limit value: decimal digits only (an empty string is 0, as in runit).
pub(crate) fn digits(s: &[u8]) -> Option<u64> {
    let (n, len) = crate::scan_ulong(s);
    (len == s.len()).then_some(n)
}

/// `-n inc`: an optional sign, then digits only (`+`, `-` and the empty string are 0).
pub(crate) fn parse_nice(s: &[u8]) -> Option<i32> {
    let (neg, num) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits(num)?.min(i32::MAX as u64) as i32;
    Some(if neg { -n } else { n })
}

// ------------------------------------------------------------------ applying the plan

impl Plan {
    /// Applies every change in runit's order (spec §3), then execs prog.
    fn run(self) -> i32 {
        let mut changes = Changes::default();
        if self.setsid {
            let _ = sys::setsid(); // fails only for a group leader: ignored, as runit does
        }
        if let Some((dir, rule)) = &self.envdir {
            env::envdir(dir, *rule, &mut changes);
        }
        if let Some(root) = &self.root {
            chdir(root);
            if let Err(e) = sys::chroot(c".") {
                fatal(&[b"unable to change root directory"], Some(e));
            }
        }
        if let Some(pwd) = &self.pwd {
            chdir(pwd);
        }
        if let Some(inc) = self.nice {
            if let Err(e) = sys::user::nice(inc) {
                fatal(&[b"unable to set nice level"], Some(e));
            }
        }
        if let Some(mode) = self.newpid {
            // returns in the process that becomes prog
            pid1::enter(mode, self.verbose, self.root.is_some());
        }
        if let Some((spec, voice)) = &self.env_ids {
            let (uid, gids) = resolve(spec, *voice);
            let mut buf = [0u8; 20];
            changes.set(b"GID", crate::fmt_u64(u64::from(gids[0]), &mut buf));
            changes.set(b"UID", crate::fmt_u64(u64::from(uid), &mut buf));
        }
        if let Some((spec, voice)) = &self.set_ids {
            let (uid, gids) = resolve(spec, *voice);
            // Order matters: groups and gid while we still may change them, the uid last.
            if let Err(e) = sys::user::setgroups(&gids) {
                fatal(&[b"unable to setgroups"], Some(e));
            }
            if let Err(e) = sys::user::setgid(gids[0]) {
                fatal(&[b"unable to setgid"], Some(e));
            }
            if let Err(e) = sys::user::setuid(uid) {
                fatal(&[b"unable to setuid"], Some(e));
            }
        }
        if let Some((file, wait)) = &self.lock {
            self.take_lock(file, *wait);
        }
        // 2 first, saved beforehand, so that its copy cannot land on 0 or 1
        for (fd, name) in [(2, &b"stderr"[..]), (1, b"stdout"), (0, b"stdin")] {
            if self.close[fd as usize] {
                if fd == 2 {
                    env::save_stderr();
                }
                if let Err(e) = dismiss(fd, self.devnull) {
                    fatal(&[b"unable to close ", name], Some(e));
                }
            }
        }
        // Everything exec needs is built first: once the limits are set, an allocation can
        // fail (`-m 0`), and prog must still run, as with runit.
        let prepared = self.prepare_exec(&changes);
        for (i, limit) in self.limits.iter().enumerate() {
            if let Some(want) = *limit {
                set_limit(LIMITS[i], want);
            }
        }
        self.exec(prepared)
    }

    /// `-l`/`-L`/setlock: open the lock file (kept open in prog) and flock it.
    fn take_lock(&self, file: &[u8], wait: bool) {
        let fail = |what: &[u8], e: sys::Errno| -> ! {
            if self.lock_quiet {
                sys::exit(0);
            }
            fatal(&[what, file], Some(e))
        };
        let path = sys::cstr(file).unwrap_or_else(|e| fail(b"unable to open lock: ", e));
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK;
        let fd = sys::open_inherit(&path, flags, 0o600)
            .unwrap_or_else(|e| fail(b"unable to open lock: ", e));
        let op = if wait {
            libc::LOCK_EX
        } else {
            libc::LOCK_EX | libc::LOCK_NB
        };
        if let Err(e) = sys::flock(sys::AsFd::as_fd(&fd), op) {
            fail(b"unable to lock: ", e);
        }
        // prog inherits the locked descriptor.
        std::mem::forget(fd);
    }

    /// prog's argv (with `-b`'s argv0), environment and the original `$PATH`, ready for exec.
    fn prepare_exec(&self, changes: &Changes) -> Prepared {
        let mut argv = self.prog.clone();
        if let Some(a0) = &self.argv0 {
            argv[0] = a0.clone();
        }
        let envp = changes.apply(sys::user::environ_raw());
        let c = match (sys::Argv::new(&argv), sys::Argv::new(&envp)) {
            (Ok(a), Ok(ev)) => Some((a, ev)),
            _ => None,
        };
        Prepared {
            c,
            path: sys::user::getenv(c"PATH"),
            argv0: argv.swap_remove(0),
        }
    }

    /// Execs prog with the changed environment, found through the original `$PATH`.
    fn exec(&self, p: Prepared) -> i32 {
        // Rust's runtime ignores SIGPIPE; prog gets the default disposition back.
        let _ = sys::signals::default(libc::SIGPIPE);
        let e = match &p.c {
            Some((a, ev)) => env::pathexec(&self.prog[0], a, ev, p.path.as_deref()),
            None => sys::Errno::INVAL,
        };
        if self.lock_quiet {
            return 0;
        }
        fatal(&[b"unable to run: ", &p.argv0], Some(e))
    }
}

/// What [`Plan::exec`] needs, built before the resource limits are set.
struct Prepared {
    /// argv and envp as C arrays; `None` if one held a NUL (not possible from argv).
    c: Option<(sys::Argv, sys::Envp)>,
    path: Option<Vec<u8>>,
    /// argv[0] as run, for the error message.
    argv0: Vec<u8>,
}

/// `-0`/`-1`/`-2`: closes `fd`, or with `-N` puts `/dev/null` (read-write) there.
fn dismiss(fd: i32, devnull: bool) -> Result<(), sys::Errno> {
    if !devnull {
        return sys::close_raw(fd);
    }
    let null = sys::open_inherit(c"/dev/null", libc::O_RDWR, 0)?;
    if std::os::fd::AsRawFd::as_raw_fd(&null) == fd {
        // fd was closed and /dev/null took its number: keep it
        let _ = std::os::fd::IntoRawFd::into_raw_fd(null);
        return Ok(());
    }
    sys::dup2(sys::AsFd::as_fd(&null), fd)
}

/// chdir for `-/` and `-C`.
fn chdir(dir: &[u8]) {
    let r = sys::cstr(dir).and_then(|d| sys::chdir(&d));
    if let Err(e) = r {
        fatal(&[b"unable to change directory: ", dir], Some(e));
    }
}

/// Resolves a user specification or ends chpst with the voice's message (exit 111).
fn resolve(spec: &[u8], voice: Voice) -> (u32, Vec<u32>) {
    let r = match voice {
        Voice::Chpst => ids::resolve(&ids::parse(spec)),
        Voice::Account => ids::lookup_user(spec).map(|(uid, gid)| (uid, vec![gid])),
    };
    match (r, voice) {
        (Ok(ids), _) => ids,
        (Err(ids::Failure::Invalid(rest)), _) => fatal(&[b"invalid uid/gids: ", &rest], None),
        (Err(ids::Failure::Unknown), Voice::Chpst) => fatal(&[b"unknown user/group: ", spec], None),
        (Err(ids::Failure::Unknown), Voice::Account) => fatal(&[b"unknown account: ", spec], None),
        (Err(ids::Failure::Lookup(e)), Voice::Chpst) => {
            fatal(&[b"unable to get password/group file entry"], Some(e))
        }
        (Err(ids::Failure::Lookup(e)), Voice::Account) => {
            fatal(&[b"unable to get password file entry"], Some(e))
        }
    }
}

/// Sets the soft limit to `want`, or to the hard limit if `want` exceeds it (spec §3).
fn set_limit(res: i32, want: u64) {
    let (_, max) =
        sys::getrlimit(res).unwrap_or_else(|e| fatal(&[b"unable to getrlimit()"], Some(e)));
    let cur = want.min(max);
    if let Err(e) = sys::setrlimit(res, cur, max) {
        fatal(&[b"unable to setrlimit()"], Some(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_values() {
        assert_eq!(parse_nice(b"-5"), Some(-5));
        assert_eq!(parse_nice(b"+3"), Some(3));
        assert_eq!(parse_nice(b"7"), Some(7));
        assert_eq!(parse_nice(b""), Some(0));
        assert_eq!(parse_nice(b"+"), Some(0));
        assert_eq!(parse_nice(b"-"), Some(0));
        assert_eq!(parse_nice(b"5x"), None);
        assert_eq!(parse_nice(b"--5"), None);
    }

    #[test]
    fn limit_numbers() {
        assert_eq!(digits(b"12"), Some(12));
        assert_eq!(digits(b""), Some(0));
        assert_eq!(digits(b"12x"), None);
    }
}

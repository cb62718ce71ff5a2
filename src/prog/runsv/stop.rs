//! The shell's side of the stop and restart settings (docs/stopping.md): reading the
//! files at each start, warning about bad ones, the cgroup, and what a previous runsv
//! left running. The decisions are the core's (`state.rs`).

use super::cgroup::Cgroup;
use super::conf::{self, Conf, KillMode};
use super::state::{Event, GaveUp, Which};
use super::{fingerprint, now, warn, Runsv};
use crate::status::{self, State};
use crate::svdir::MAIN;
use crate::sys::{self, AsFd, Errno, OwnedFd};
use crate::tai::Tai64n;

/// What the shell keeps for the stop settings.
pub struct Stops {
    /// A fingerprint of each file's content last warned about (so a crash-looping service
    /// with a bad file does not repeat the warning at every start).
    warned: [u64; 6],
    pub cgroup: Option<Cgroup>,
    /// `kill-mode cgroup` could not be had: said once.
    cgroup_refused: bool,
    /// The service's name for its cgroup: the service directory's name (found when a
    /// cgroup is first wanted: most services never need it).
    name: Option<Vec<u8>>,
    /// A previous runsv's `./run`, still running (pidfd: readable when it exits), with
    /// its process group.
    pub leftover: Option<(OwnedFd, sys::pid_t)>,
}

impl Stops {
    pub fn new() -> Stops {
        Stops {
            warned: [0; 6],
            cgroup: None,
            cgroup_refused: false,
            name: None,
            leftover: None,
        }
    }
}

impl Runsv {
    /// Reads the six settings files (re-read at every start of `./run`). A bad file is
    /// warned about (once per content) and its default used; `kill-mode cgroup` without a
    /// usable cgroup v2 hierarchy falls back to `group`, said once.
    #[inline(never)]
    pub(super) fn load_conf(&mut self) -> Conf {
        let mut c = Conf::default();
        for (i, file) in conf::FILES.iter().enumerate() {
            let mut buf = [0u8; 128];
            let content = match sys::read_small(file, &mut buf) {
                Ok(n) => buf.get(..n).unwrap_or(&[]),
                Err(Errno::NOENT) => continue,
                Err(e) => {
                    warn(&[b"unable to read ", file.to_bytes()], Some(e));
                    continue;
                }
            };
            let print = fingerprint(content);
            match conf::apply(&mut c, i, content) {
                Ok(()) => {}
                Err(bad) => {
                    if let Some(w) = self.stops.warned.get_mut(i) {
                        if *w != print {
                            *w = print;
                            warn(
                                &[
                                    b"invalid ",
                                    file.to_bytes(),
                                    b": ",
                                    bad.why(),
                                    b"; using the default",
                                ],
                                None,
                            );
                        }
                    }
                }
            }
        }
        if c.kill_mode == KillMode::Cgroup && self.stops.cgroup.is_none() {
            let name = self.stops.name.get_or_insert_with(|| {
                let cwd = sys::getcwd().unwrap_or_default();
                crate::basename(&cwd).to_vec()
            });
            match Cgroup::open(name) {
                Ok(cg) => self.stops.cgroup = Some(cg),
                Err(e) => {
                    if !self.stops.cgroup_refused {
                        self.stops.cgroup_refused = true;
                        warn(
                            &[b"kill-mode cgroup: no writable cgroup v2 hierarchy, using group"],
                            Some(e),
                        );
                    }
                }
            }
        }
        if c.kill_mode == KillMode::Cgroup && self.stops.cgroup.is_none() {
            c.kill_mode = KillMode::Group;
        }
        c
    }

    /// At start-up, before the first record is written: in a group kill mode, whether a
    /// previous runsv (killed, its lock freed) left its service running. Its process group
    /// is recognised by the old record's pid leading a group and having started when the
    /// record says `./run` started; its cgroup by holding processes. Then the core stops
    /// it before anything starts: never two instances.
    #[inline(never)]
    pub(super) fn find_leftover(&mut self) {
        let c = self.load_conf();
        let ev = match c.kill_mode {
            KillMode::Process => return,
            KillMode::Cgroup => match &self.stops.cgroup {
                Some(cg) if cg.populated() => Event::Leftover { pgid: 0, conf: c },
                Some(_) | None => return,
            },
            KillMode::Group => {
                let Ok(old) = status::read(MAIN.status) else {
                    return;
                };
                let pid = old.pid as sys::pid_t;
                let ours = old.state() == Some(State::Run)
                    && pid > 1
                    && pid != sys::getpid()
                    && sys::getpgid(pid) == Ok(pid)
                    && started_near(pid, old.when);
                if !ours {
                    return;
                }
                let Ok(fd) = sys::pidfd_open(pid) else {
                    return;
                };
                self.stops.leftover = Some((fd, pid));
                Event::Leftover { pgid: pid, conf: c }
            }
        };
        self.feed(ev, now());
    }

    /// The old `./run` of a leftover group exited: whatever is left of its group gets
    /// KILL (it had its down signal), and starting may go on.
    pub(super) fn leftover_exited(&mut self) {
        if let Some((_, pgid)) = self.stops.leftover.take() {
            let _ = sys::kill(-pgid, libc::SIGKILL);
            self.feed(Event::LeftoverGone, now());
        }
    }

    /// `cgroup.events` changed: the core learns when the cgroup is empty.
    #[inline(never)]
    pub(super) fn cgroup_changed(&mut self) {
        let empty = match self.stops.cgroup.as_mut() {
            Some(cg) => {
                // Reading through the watched descriptor re-arms its POLLPRI.
                if let Some(fd) = cg.watch.as_ref() {
                    let mut b = [0u8; 256];
                    let _ = sys::lseek(fd.as_fd(), 0, libc::SEEK_SET);
                    let _ = sys::read(fd.as_fd(), &mut b);
                }
                !cg.populated()
            }
            None => true,
        };
        if empty {
            if let Some(cg) = self.stops.cgroup.as_mut() {
                cg.watch = None;
            }
            self.feed(Event::CgroupEmpty, now());
        }
    }

    /// Whether the core waits for the cgroup to empty (so `cgroup.events` is polled).
    pub(super) fn waits_for_cgroup(&self) -> bool {
        self.core.svc(Which::Main).draining.is_some()
            || self.core.leftover.is_some_and(|(pgid, _)| pgid == 0)
    }

    /// `sig` to every process of the service's cgroup.
    pub(super) fn cgroup_signal(&mut self, sig: i32) {
        if let Some(cg) = self.stops.cgroup.as_ref() {
            cg.signal_all(sig);
        }
    }

    pub(super) fn cgroup_kill(&mut self) {
        if let Some(cg) = self.stops.cgroup.as_ref() {
            cg.kill_all();
        }
    }

    /// The one warning when the service is given up on; for an `essential` service, the
    /// container is stopped with the service's exit code (docs/containers.md).
    #[inline(never)]
    pub(super) fn gave_up(&self, g: GaveUp) {
        self.gave_up_warning(g);
        if sys::stat(crate::svdir::ESSENTIAL).is_err() {
            return;
        }
        // The last run's end: its exit code, or 128 + the signal that killed it.
        let code = match self.core.svc(Which::Main).last {
            Some(st) if libc::WIFSIGNALED(st) => 128 + libc::WTERMSIG(st),
            Some(st) => libc::WEXITSTATUS(st),
            None => 1,
        };
        let mut t = [0u8; 20];
        let mut line = [0u8; 24];
        let digits = crate::fmt_u64(code as u64, &mut t);
        let n = digits.len();
        if let Some(d) = line.get_mut(..n) {
            d.copy_from_slice(digits);
        }
        if let Some(nl) = line.get_mut(n) {
            *nl = b'\n';
        }
        let written = crate::status::open_new(crate::initctl::ESSENTIAL_EXITCODE_NEW)
            .and_then(|fd| sys::write_all(fd.as_fd(), line.get(..n + 1).unwrap_or(&[])))
            .and_then(|()| {
                sys::rename(
                    crate::initctl::ESSENTIAL_EXITCODE_NEW,
                    crate::initctl::ESSENTIAL_EXITCODE,
                )
            });
        if let Err(e) = written {
            warn(&[b"unable to write /run/runit.exitcode"], Some(e));
        }
        // SIGTERM is the orderly stop for PID 1 in a container (runit in container mode,
        // runsvdir as PID 1); it is sent only when PID 1 is one of those, never to
        // another init (a host's systemd would take it as a shutdown).
        let mut comm = [0u8; 32];
        let n = sys::read_small(c"/proc/1/comm", &mut comm).unwrap_or(0);
        let comm = comm.get(..n).unwrap_or(&[]);
        let comm = comm.strip_suffix(b"\n").unwrap_or(comm);
        if matches!(comm, b"runit" | b"runsvdir" | b"runit-rs") {
            warn(
                &[b"essential service down for good: stopping the container"],
                None,
            );
            let _ = sys::kill(1, libc::SIGTERM);
        }
    }

    fn gave_up_warning(&self, g: GaveUp) {
        match g {
            GaveUp::RestartLimit => {
                let (n, ms) = self
                    .core
                    .svc(Which::Main)
                    .conf
                    .restart_limit
                    .unwrap_or((0, 0));
                let mut a = [0u8; 20];
                let mut b = [0u8; 20];
                warn(
                    &[
                        b"restart-limit reached: ",
                        crate::fmt_u64(u64::from(n), &mut a),
                        b" exits within ",
                        crate::fmt_u64((ms / 1000) as u64, &mut b),
                        b" seconds; down until sv up",
                    ],
                    None,
                );
            }
            GaveUp::Finish125 => warn(&[b"./finish exited 125; down until sv up"], None),
        }
    }
}

/// Whether `pid` started within two seconds of `when` (`/proc/PID/stat` field 22 in clock
/// ticks since boot, plus `btime` of `/proc/stat`): the pid is still the one the old
/// record names, not a reused one.
fn started_near(pid: sys::pid_t, when: Tai64n) -> bool {
    let Some(start) = sys::notify::start_time(pid) else {
        return false;
    };
    (start - when.unix_secs()).abs() <= 2
}

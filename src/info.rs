//! THE `supervise/info` file (beyond runit; docs/spec/supervise-info.md): what the 20-byte
//! `status` record cannot hold — readiness, the number of starts, how the last `./run`
//! ended, the service's own status text — for our sv, the exporter, and scripts.
//!
//! Text, one `key=value` per line, keys in a fixed order, unknown keys ignored by readers
//! (so later versions may add some). runsv writes it atomically (`info.new`, rename), and
//! before `status` whenever both change, so a reader that sees a new `status` finds the
//! `info` of the same run: the `pid` line ties the two together, and an `info` whose pid
//! is not the record's is not about the current run (readers then act as runit's would).
//!
//! ```text
//! pid=4711
//! since=@400000006759a8f00b3d6e2c   (the record's timestamp: with pid, ties info to it)
//! starts=3
//! exit=0            (or signal=9: how the previous ./run ended; absent before one did)
//! readiness=ready   (off, waiting, ready, reloading, stopping)
//! ready=@400000006759a8f20b3d6e2c   (TAI64N label, while ready)
//! mainpid=4712      (sd_notify MAINPID=)
//! status=Ready to accept connections   (sd_notify STATUS=)
//! gaveup=restart-limit   (or finish-125: no restarts until sv up; docs/stopping.md)
//! ```

use crate::tai::Tai64n;

/// Readiness of the current run, as published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The service has no readiness protocol configured: started means ready (runit).
    Off,
    Waiting,
    Ready,
    /// `RELOADING=1`: not ready until the next `READY=1`.
    Reloading,
    /// `STOPPING=1`.
    Stopping,
}

impl Readiness {
    pub fn word(self) -> &'static [u8] {
        match self {
            Readiness::Off => b"off",
            Readiness::Waiting => b"waiting",
            Readiness::Ready => b"ready",
            Readiness::Reloading => b"reloading",
            Readiness::Stopping => b"stopping",
        }
    }
    fn from_word(w: &[u8]) -> Option<Readiness> {
        Some(match w {
            b"off" => Readiness::Off,
            b"waiting" => Readiness::Waiting,
            b"ready" => Readiness::Ready,
            b"reloading" => Readiness::Reloading,
            b"stopping" => Readiness::Stopping,
            _ => return None,
        })
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Exit(u8),
    Signal(u8),
}

impl End {
    /// From a raw wait status.
    pub fn from_wstat(st: i32) -> End {
        if libc::WIFSIGNALED(st) {
            End::Signal(libc::WTERMSIG(st) as u8)
        } else {
            End::Exit(libc::WEXITSTATUS(st) as u8)
        }
    }
}

/// Why a service is no longer restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaveUp {
    RestartLimit,
    Finish125,
}

impl GaveUp {
    pub fn word(self) -> &'static [u8] {
        match self {
            GaveUp::RestartLimit => b"restart-limit",
            GaveUp::Finish125 => b"finish-125",
        }
    }
    fn from_word(w: &[u8]) -> Option<GaveUp> {
        match w {
            b"restart-limit" => Some(GaveUp::RestartLimit),
            b"finish-125" => Some(GaveUp::Finish125),
            _ => None,
        }
    }
}

/// The longest status text kept.
pub const TEXT_MAX: usize = 256;

/// The facts of one `info` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub pid: u32,
    /// The status record's timestamp when this was written.
    pub since: Option<Tai64n>,
    pub starts: u64,
    pub last: Option<End>,
    pub readiness: Readiness,
    pub ready_since: Option<Tai64n>,
    pub mainpid: Option<u32>,
    pub gave_up: Option<GaveUp>,
    text: [u8; TEXT_MAX],
    text_len: usize,
}

impl Info {
    pub fn new() -> Info {
        Info {
            pid: 0,
            since: None,
            starts: 0,
            last: None,
            readiness: Readiness::Off,
            ready_since: None,
            mainpid: None,
            gave_up: None,
            text: [0; TEXT_MAX],
            text_len: 0,
        }
    }

    /// The `STATUS=` text (empty: none).
    pub fn status(&self) -> &[u8] {
        self.text.get(..self.text_len).unwrap_or(&[])
    }

    /// Sets the status text; control characters become `_` (it is shown on terminals
    /// and must stay one line), beyond [`TEXT_MAX`] is cut. The buffer past the text is
    /// cleared, so that two `Info`s with the same text are equal (`==` compares it all).
    pub fn set_status(&mut self, t: &[u8]) {
        let n = t.len().min(TEXT_MAX);
        for (i, d) in self.text.iter_mut().enumerate() {
            *d = match t.get(i) {
                Some(&s) if i < n && (s < 0x20 || s == 0x7f) => b'_',
                Some(&s) if i < n => s,
                _ => 0,
            };
        }
        self.text_len = n;
    }

    /// Formats the file into `buf`; returns its length (at most [`MAX_LEN`]).
    pub fn pack(&self, buf: &mut [u8; MAX_LEN]) -> usize {
        let mut w = Writer { buf, n: 0 };
        let mut t = [0u8; 20];
        w.kv(b"pid", crate::fmt_u64(u64::from(self.pid), &mut t));
        if let Some(s) = self.since {
            w.kv(b"since", &s.label());
        }
        w.kv(b"starts", crate::fmt_u64(self.starts, &mut t));
        match self.last {
            Some(End::Exit(c)) => w.kv(b"exit", crate::fmt_u64(u64::from(c), &mut t)),
            Some(End::Signal(s)) => w.kv(b"signal", crate::fmt_u64(u64::from(s), &mut t)),
            None => {}
        }
        w.kv(b"readiness", self.readiness.word());
        if let Some(r) = self.ready_since {
            w.kv(b"ready", &r.label());
        }
        if let Some(p) = self.mainpid {
            w.kv(b"mainpid", crate::fmt_u64(u64::from(p), &mut t));
        }
        if self.text_len > 0 {
            let text = self.text;
            w.kv(b"status", text.get(..self.text_len).unwrap_or(&[]));
        }
        if let Some(g) = self.gave_up {
            w.kv(b"gaveup", g.word());
        }
        w.n
    }

    /// Whether this describes the run (or the down time) the record shows.
    pub fn matches(&self, pid: u32, when: Tai64n) -> bool {
        self.pid == pid && self.since == Some(when)
    }

    /// Reads a file's content; unknown keys and malformed lines are skipped, a missing
    /// `pid` gives 0 (matches no record).
    pub fn parse(data: &[u8]) -> Info {
        let mut i = Info::new();
        for line in data.split(|&b| b == b'\n') {
            let Some(eq) = line.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (k, v) = (&line[..eq], &line[eq + 1..]);
            let num = || {
                let (n, used) = crate::scan_ulong(v);
                (used == v.len() && used > 0).then_some(n)
            };
            match k {
                b"pid" => i.pid = num().map_or(0, |n| n.min(u64::from(u32::MAX)) as u32),
                b"starts" => i.starts = num().unwrap_or(0),
                b"exit" => i.last = num().map(|n| End::Exit(n.min(255) as u8)),
                b"signal" => i.last = num().map(|n| End::Signal(n.min(255) as u8)),
                b"readiness" => i.readiness = Readiness::from_word(v).unwrap_or(Readiness::Off),
                b"ready" => i.ready_since = Tai64n::parse_label(v),
                b"mainpid" => i.mainpid = num().map(|n| n.min(u64::from(u32::MAX)) as u32),
                b"status" => i.set_status(v),
                b"since" => i.since = Tai64n::parse_label(v),
                b"gaveup" => i.gave_up = GaveUp::from_word(v),
                _ => {}
            }
        }
        i
    }
}

impl Default for Info {
    fn default() -> Info {
        Info::new()
    }
}

/// The longest file [`Info::pack`] writes.
pub const MAX_LEN: usize = 512;

struct Writer<'a> {
    buf: &'a mut [u8; MAX_LEN],
    n: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        for &c in b {
            if let Some(slot) = self.buf.get_mut(self.n) {
                *slot = c;
                self.n += 1;
            }
        }
    }
    fn kv(&mut self, k: &[u8], v: &[u8]) {
        self.put(k);
        self.put(b"=");
        self.put(v);
        self.put(b"\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let mut i = Info::new();
        i.pid = 4711;
        i.starts = 3;
        i.last = Some(End::Signal(9));
        i.readiness = Readiness::Ready;
        i.ready_since = Some(Tai64n {
            secs: 0x4000_0000_6759_a8f2,
            nanos: 500,
        });
        i.mainpid = Some(4712);
        i.set_status(b"Ready\tto go");
        i.since = Some(Tai64n {
            secs: 0x4000_0000_6759_a8f0,
            nanos: 500,
        });
        i.gave_up = Some(GaveUp::RestartLimit);
        let mut b = [0u8; MAX_LEN];
        let n = i.pack(&mut b);
        assert_eq!(
            std::str::from_utf8(&b[..n]).unwrap(),
            "pid=4711\nsince=@400000006759a8f0000001f4\nstarts=3\nsignal=9\n\
             readiness=ready\nready=@400000006759a8f2000001f4\nmainpid=4712\n\
             status=Ready_to go\ngaveup=restart-limit\n"
        );
        assert_eq!(Info::parse(&b[..n]), i);
        // The longest file fits.
        i.set_status(&[b'x'; 1000]);
        assert!(i.pack(&mut b) < MAX_LEN);
    }

    #[test]
    fn a_shorter_status_leaves_nothing_behind() {
        // Found by fuzzing (fuzz/crashes/supervise_info/): a second, shorter `status=` line
        // left the first one's tail in the buffer, so the file read back unequal to itself.
        let i = Info::parse(b"pid=1\nstatus=Ready to go2\nstatus=Ready to go\n");
        let mut j = Info::new();
        j.pid = 1;
        j.set_status(b"Ready to go");
        assert_eq!(i, j);
        let mut b = [0u8; MAX_LEN];
        let n = i.pack(&mut b);
        assert_eq!(Info::parse(&b[..n]), i);
    }

    #[test]
    fn readers_skip_what_they_do_not_know() {
        let i = Info::parse(b"future=1\npid=12\nnonsense\nreadiness=maybe\nexit=300\n");
        assert_eq!(i.pid, 12);
        assert_eq!(i.readiness, Readiness::Off);
        assert_eq!(i.last, Some(End::Exit(255)));
        assert_eq!(Info::parse(b"").pid, 0);
    }
}

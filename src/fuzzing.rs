//! The bodies of the fuzz targets (issue 9): one function per parser of outside input, each
//! taking any bytes and checking what must hold for all of them.
//!
//! `fuzz/fuzz_targets/<name>.rs` hands libFuzzer's input to the function of the same name
//! (nightly, `scripts/fuzz`); tests/it/fuzz_corpus.rs runs every file of
//! `fuzz/corpus/<name>/` and `fuzz/crashes/<name>/` through it on stable, so what the
//! fuzzer once found stays fixed. A harness fails by panicking: a panic in the code under
//! test (supervisors and PID 1 must not panic) or a broken property (`assert!`).
//!
//! The properties are stated independently of the code where that is cheap: a second,
//! straightforward getopt to compare with; a whole-line model of the svlogd splitter; runit's
//! read-the-whole-file envdir rule; the shell's part and the invariants of runsv's core.
//!
//! Not an interface of the programs: hidden from the documentation.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

use crate::prog::runsv::conf::{Conf, KillMode};
use crate::prog::runsv::{notify, state};
use crate::prog::svlogd::{config, line};
use crate::status::{State, Want};
use crate::tai::Tai64n;

/// A harness: any bytes in, a panic on failure.
pub type Harness = fn(&[u8]);

/// Every target, by the name of its `fuzz_targets/` file and corpus directory.
pub const TARGETS: &[(&str, Harness)] = &[
    ("svlogd_config", svlogd_config),
    ("svlogd_lines", svlogd_lines),
    ("envdir_value", envdir_value),
    ("getopt", getopt),
    ("sv_command", sv_command),
    ("status_record", status_record),
    ("supervise_info", supervise_info),
    ("inotify_events", inotify_events),
    ("notify_datagram", notify_datagram),
    ("chpst_ids", chpst_ids),
    ("runsv_core", runsv_core),
];

/// Fuzz input taken apart front to back; past the end every read gives zeros.
struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data }
    }
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

// ------------------------------------------------------------------ svlogd

/// svlogd's `config` (svlogd.md §3, §5): any bytes parse; values hold no NUL; lines apply
/// one after another; the bounded read keeps complete lines; patterns match without
/// blowing up.
pub fn svlogd_config(data: &[u8]) {
    use config::{Config, Pattern, Selection};
    let mut c = Config::default();
    let warnings = c.parse(data);
    assert!(warnings.len() <= data.split(|&b| b == b'\n').count());
    assert!(c.time_ms() >= 0);
    assert!(!c.prefix.contains(&0));
    assert!(c.processor.as_ref().is_none_or(|p| !p.contains(&0)));
    let pieces: Vec<&[u8]> = c
        .patterns
        .iter()
        .map(|p| match p {
            Pattern::Plus(x) | Pattern::Minus(x) | Pattern::Err(x) | Pattern::NoErr(x) => &x[..],
        })
        .collect();
    assert!(pieces.iter().all(|p| !p.contains(&0)));

    // Cut after a newline near the middle: the two halves give the same settings.
    if let Some(i) = data[data.len() / 2..].iter().position(|&b| b == b'\n') {
        let cut = data.len() / 2 + i + 1;
        let mut two = Config::default();
        two.parse(&data[..cut]);
        two.parse(&data[cut..]);
        assert_eq!(two, c, "cut at {cut}");
    }

    // The bounded read keeps the complete lines only.
    let u = config::usable(data, true);
    assert!(data.starts_with(u));
    assert!(u.is_empty() || u.ends_with(b"\n"));
    assert!(!data[u.len()..].contains(&b'\n'));
    assert_eq!(config::usable(data, false), data);

    // Selection over the config's own lines (patterns are linear: no backtracking).
    let mut sel = Selection {
        dir: true,
        err: false,
    };
    for l in data.split(|&b| b == b'\n').take(64) {
        config::select(&c.patterns, l, &mut sel);
        assert!(config::pmatch(b"*", l));
        assert!(config::pmatch(l, l) || l.iter().any(|&b| b == b'*' || b == b'+'));
    }
    for p in pieces.iter().take(16) {
        for l in data.split(|&b| b == b'\n').take(16) {
            config::pmatch(p, l);
        }
    }
}

/// What a [`line::Sink`] saw: a line as its head, its long flag, its raw tail, its stamp.
#[derive(Debug, PartialEq, Eq)]
struct SeenLine {
    stamp: u32,
    head: Vec<u8>,
    long: bool,
    tail: Vec<u8>,
}

#[derive(Default)]
struct LineRec {
    lines: Vec<SeenLine>,
    open: bool,
}

impl line::Sink<u32> for LineRec {
    fn head(&mut self, stamp: u32, processed: &[u8], long: bool) {
        assert!(!self.open, "head inside a line");
        self.open = true;
        self.lines.push(SeenLine {
            stamp,
            head: processed.to_vec(),
            long,
            tail: Vec::new(),
        });
    }
    fn tail(&mut self, raw: &[u8]) {
        assert!(self.open, "tail outside a line");
        assert!(!raw.is_empty(), "empty tail piece");
        self.lines.last_mut().unwrap().tail.extend_from_slice(raw);
    }
    fn end(&mut self) {
        assert!(self.open, "end outside a line");
        self.open = false;
    }
}

/// svlogd's line splitter (svlogd.md §4) against a whole-line model: input cut into chunks
/// (sizes from the input), every line comes out once, its first `len` bytes replaced per
/// `-r`/`-R`, the rest raw, stamped with the chunk its first byte came in; the bytes held
/// stay below `len`.
pub fn svlogd_lines(data: &[u8]) {
    let mut b = Bytes::new(data);
    let len = 1 + usize::from(b.u8() % 48);
    let mode = b.u8();
    let with = b.u8();
    let mut seed = u32::from(b.u16()) | 1;
    let extra: Vec<u8> = (0..usize::from(mode >> 5)).map(|_| b.u8()).collect();
    let on = mode & 1 != 0;
    let input = b.rest();
    let replace = if on {
        line::Replace::new(with, &extra)
    } else {
        line::Replace::off()
    };
    let map = |c: u8| {
        if on && (!(0x20..=0x7e).contains(&c) || extra.contains(&c)) {
            with
        } else {
            c
        }
    };

    // Chunks: sizes 0 ..= 2·len+2 from a xorshift, so lines straddle chunks every way.
    let mut chunks: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while at < input.len() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed as usize % (2 * len + 3)).min(input.len() - at);
        chunks.push((at, at + n));
        at += n;
    }
    let chunk_of = |pos: usize| {
        chunks
            .iter()
            .position(|&(s, e)| s <= pos && pos < e)
            .unwrap() as u32
    };

    let mut s: line::Splitter<u32> = line::Splitter::new(len, replace);
    let mut rec = LineRec::default();
    for (i, &(start, end)) in chunks.iter().enumerate() {
        s.feed(&input[start..end], i as u32, &mut rec);
        assert!(s.held() < len, "held {} of len {len}", s.held());
        let fed = &input[..end];
        assert_eq!(s.mid_line(), fed.last().is_some_and(|&c| c != b'\n'));
    }
    s.finish(&mut rec);
    assert!(!s.mid_line() && !rec.open);

    let mut want = Vec::new();
    let mut start = 0;
    while start < input.len() {
        let end = input[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(input.len(), |i| start + i);
        let l = &input[start..end];
        let k = l.len().min(len);
        want.push(SeenLine {
            stamp: chunk_of(start),
            head: l[..k].iter().map(|&c| map(c)).collect(),
            long: l.len() >= len,
            tail: l[k..].to_vec(),
        });
        start = end + 1;
    }
    assert_eq!(rec.lines, want);
}

// ------------------------------------------------------------------ chpst

/// chpst's envdir reader (chpst.md §5): the bounded head read through a reader handing out
/// a few bytes per call (and failing where the input says), then [`value_of`] — the same
/// value runit gets by reading the whole file, or exactly `bound` bytes of a value too long
/// for any exec.
///
/// [`value_of`]: crate::prog::chpst::env::value_of
pub fn envdir_value(data: &[u8]) {
    use crate::prog::chpst::env::{read_head, value_of};
    use crate::sys::Errno;
    let mut b = Bytes::new(data);
    let sizes = b.u8();
    let bound = if sizes & 0x80 != 0 {
        1 + usize::from(b.u16() % 10000)
    } else {
        1 + usize::from(sizes % 64)
    };
    let step = 1 + usize::from(b.u8());
    let fail_at = b.u8(); // 0: never; n: the n-th read fails
    let content = b.rest();

    let mut at = 0;
    let mut calls = 0u32;
    let reader = |buf: &mut [u8]| {
        calls += 1;
        if fail_at != 0 && calls == u32::from(fail_at) {
            return Err(Errno::IO);
        }
        let n = buf.len().min(step).min(content.len() - at);
        buf[..n].copy_from_slice(&content[at..at + n]);
        at += n;
        Ok(n)
    };
    let head = match read_head(reader, bound) {
        Ok(h) => h,
        Err(e) => {
            assert_eq!(e, Errno::IO);
            return;
        }
    };
    assert!(head.bytes.len() <= bound);
    assert!(content.starts_with(&head.bytes));
    let ours = value_of(&head.bytes, head.longer);

    // runit: the whole file, its first line, trailing blanks off, NULs to newlines.
    let theirs = (!content.is_empty()).then(|| {
        let end = content
            .iter()
            .position(|&c| c == b'\n')
            .unwrap_or(content.len());
        let mut v = content[..end].to_vec();
        while matches!(v.last(), Some(b' ' | b'\t')) {
            v.pop();
        }
        v.iter()
            .map(|&c| if c == 0 { b'\n' } else { c })
            .collect::<Vec<u8>>()
    });
    match &theirs {
        Some(v) if v.len() > bound => {
            assert!(head.longer);
            assert_eq!(ours.as_deref(), Some(&v[..bound]));
        }
        _ => assert_eq!(ours, theirs),
    }
    // Any bytes at all decide something.
    for longer in [false, true] {
        if let Some(v) = value_of(content, longer) {
            assert!(v.len() <= content.len());
        }
    }
}

/// chpst's `-u`/`-U` specification and its numbers (chpst.md §2, §4): any bytes parse; a
/// numeric form holds 1 to 60 real gids; names keep at most 60 groups; `-n` and the limits
/// take digits only.
pub fn chpst_ids(data: &[u8]) {
    use crate::prog::chpst::ids::{self, Spec, MAX_GROUPS, MAX_ID};
    match ids::parse(data) {
        Spec::Numeric { uid, gids } => {
            assert!(data.starts_with(b":"));
            assert!(u64::from(uid) <= MAX_ID);
            assert!((1..=MAX_GROUPS).contains(&gids.len()));
            assert!(gids.iter().all(|&g| u64::from(g) <= MAX_ID));
        }
        Spec::Invalid(rest) => assert_eq!(&data[1..], &rest[..]),
        Spec::Named { user, groups } => {
            assert!(!data.starts_with(b":"));
            assert!(data.starts_with(&user));
            assert!(groups.len() <= MAX_GROUPS);
        }
    }
    let digits = crate::prog::chpst::digits(data);
    assert_eq!(digits.is_some(), data.iter().all(u8::is_ascii_digit));
    if let Some(n) = crate::prog::chpst::parse_nice(data) {
        let body = data.strip_prefix(b"-").or(data.strip_prefix(b"+"));
        assert!(body.unwrap_or(data).iter().all(u8::is_ascii_digit));
        assert!(n > i32::MIN);
    }
}

// ------------------------------------------------------------------ getopt

/// Each program's option string (the programs that take getopt options).
const OPTSTRINGS: &[(&[u8], &str)] = &[
    (b"sv", "w:vV"),
    (b"svlogd", "R:r:l:b:tvV"),
    (b"chpst", "u:U:b:e:m:d:o:p:f:c:r:t:/:C:n:l:L:vP012V"),
    (b"softlimit", "a:c:d:f:l:m:o:p:r:s:t:"),
    (b"setlock", "nNxX"),
    (b"utmpset", "wV"),
];

/// An item as the model gives it.
#[derive(Debug, PartialEq, Eq)]
enum ModelOpt<'a> {
    Flag(u8, Option<&'a [u8]>),
    Error,
}

/// POSIX getopt as the spec states it (README "Option parsing"), written argument by
/// argument: the items and the index of the first operand.
fn getopt_model<'a>(args: &'a [Vec<u8>], spec: &[u8]) -> (Vec<ModelOpt<'a>>, usize) {
    let kind = |c: u8| {
        if c == b':' {
            return None;
        }
        let i = spec.iter().position(|&s| s == c)?;
        Some(spec.get(i + 1) == Some(&b':'))
    };
    let mut items = Vec::new();
    let mut i = 1;
    'args: while i < args.len() {
        let a = &args[i];
        if a.len() < 2 || a[0] != b'-' {
            break;
        }
        if a[1] == b'-' {
            i += 1;
            break;
        }
        for j in 1..a.len() {
            let c = a[j];
            match kind(c) {
                None => items.push(ModelOpt::Error),
                Some(false) => items.push(ModelOpt::Flag(c, None)),
                Some(true) if j + 1 < a.len() => {
                    items.push(ModelOpt::Flag(c, Some(&a[j + 1..])));
                    i += 1;
                    continue 'args;
                }
                Some(true) => {
                    match args.get(i + 1) {
                        Some(arg) => {
                            items.push(ModelOpt::Flag(c, Some(&arg[..])));
                            i += 2;
                        }
                        None => {
                            items.push(ModelOpt::Error);
                            i += 1;
                        }
                    }
                    continue 'args;
                }
            }
        }
        i += 1;
    }
    (items, i)
}

/// Our getopt (src/getopt.rs) with every program's option string, against the model: the
/// first byte picks the program, the rest is argv split at NULs.
pub fn getopt(data: &[u8]) {
    use crate::getopt::{Getopt, Opt};
    let (prog, spec) =
        OPTSTRINGS[usize::from(data.first().copied().unwrap_or(0)) % OPTSTRINGS.len()];
    let mut args: Vec<Vec<u8>> = vec![prog.to_vec()];
    if data.len() > 1 {
        args.extend(data[1..].split(|&b| b == 0).map(<[u8]>::to_vec));
    }
    let bound: usize = args.iter().map(Vec::len).sum();
    let mut g = Getopt::new(&args, spec, prog).quiet();
    let mut items = Vec::new();
    for o in g.by_ref() {
        items.push(match o {
            Opt::Flag(c, a) => ModelOpt::Flag(c, a),
            Opt::Error => ModelOpt::Error,
        });
        assert!(items.len() <= bound, "getopt does not end");
    }
    let (want, ind) = getopt_model(&args, spec.as_bytes());
    assert_eq!(items, want);
    assert_eq!(g.ind, ind);
    assert_eq!(g.rest(), &args[ind.min(args.len())..]);
}

// ------------------------------------------------------------------ sv

/// sv's command words and service names (sv.md §3, §4): only the first character of a word
/// that is not an LSB name counts; LSB mode differs only for `s…`; a name is looked up under
/// `$SVDIR` by the rule of §4.
pub fn sv_command(data: &[u8]) {
    use crate::control::Command;
    use crate::prog::sv::{action, under_svdir, What};
    const LONG: &[&[u8]] = &[
        b"status",
        b"check",
        b"try-restart",
        b"start",
        b"stop",
        b"shutdown",
        b"restart",
        b"reload",
        b"force-stop",
        b"force-reload",
        b"force-restart",
        b"force-shutdown",
    ];
    let long = LONG.contains(&data);
    for lsb in [false, true] {
        let a = action(data, lsb);
        match data.first() {
            None => assert!(a.is_none()),
            Some(_) if long => assert!(a.is_some()),
            Some(_) => assert_eq!(a, action(&data[..1], lsb), "only the first byte counts"),
        }
        if let Some(a) = a {
            if let What::Send(cmds) = a.what {
                assert!(!cmds.is_empty());
                for c in cmds {
                    assert_eq!(Command::from_byte(c.byte()), Some(*c));
                }
            }
            assert!(!a.kill || a.always_wait);
        }
    }
    if data.first() != Some(&b's') || long {
        assert_eq!(action(data, false), action(data, true));
    }
    let u = under_svdir(data);
    if u {
        assert!(!data.is_empty() && !data.starts_with(b"/") && !data.starts_with(b"."));
        assert!(!data.ends_with(b"/"));
    }
    // Every byte of a command reaches runsv as is, or not at all.
    for &c in data {
        if let Some(cmd) = Command::from_byte(c) {
            assert_eq!(cmd.byte(), c);
        }
    }
    assert_eq!(crate::sys::cstr(data).is_ok(), !data.contains(&0));
}

// ------------------------------------------------------------------ supervise/

/// The `supervise/status` record and the `stat` line (supervise-protocol.md §5, §6): a record
/// read back packs to the same bytes (flags normalised to 0/1), a record packed reads back
/// the same; its timestamp's label reads back; stat lines fit.
pub fn status_record(data: &[u8]) {
    use crate::status::{stat_line, Status, LEN, PAUSED_AT, TERM_AT};
    if let Some(raw) = data.get(..LEN) {
        let raw: [u8; LEN] = raw.try_into().unwrap();
        let s = Status::unpack(&raw);
        let mut norm = raw;
        norm[PAUSED_AT] = u8::from(raw[PAUSED_AT] != 0);
        norm[TERM_AT] = u8::from(raw[TERM_AT] != 0);
        assert_eq!(s.pack(), norm);
        assert_eq!(Status::unpack(&s.pack()), s);
        assert_eq!(s.state().is_some(), s.state <= 2);
        assert_eq!(Tai64n::parse_label(&s.when.label()), Some(s.when));
    }
    // Any label-shaped text: what parses prints back as itself, lowercased.
    if let Some(t) = Tai64n::parse_label(data) {
        assert_eq!(&t.label()[..], &data.to_ascii_lowercase()[..]);
    }
    let f = data.first().copied().unwrap_or(0);
    let state = [State::Down, State::Run, State::Finish][usize::from(f % 3)];
    let want = [Want::Up, Want::Down, Want::Exit][usize::from((f >> 2) % 3)];
    let (paused, term) = (f & 0x10 != 0, f & 0x20 != 0);
    let mut buf = [0u8; 64];
    let n = stat_line(state, paused, term, want, &mut buf);
    let l = &buf[..n];
    assert!(l.starts_with(state.word()) && l.ends_with(b"\n"));
    assert_eq!(
        l.windows(6).any(|w| w == b", want"),
        state != State::Down && want != Want::Up
    );
}

/// `supervise/info` (docs/spec/supervise-info.md): any file reads; the text stays one short
/// printable line; what is read packs into the file size and reads back the same.
pub fn supervise_info(data: &[u8]) {
    use crate::info::{Info, MAX_LEN, TEXT_MAX};
    let i = Info::parse(data);
    assert!(i.status().len() <= TEXT_MAX);
    assert!(i.status().iter().all(|&c| c >= 0x20 && c != 0x7f));
    let mut buf = [0u8; MAX_LEN];
    let n = i.pack(&mut buf);
    assert!(n < MAX_LEN);
    assert_eq!(Info::parse(&buf[..n]), i);
}

// ------------------------------------------------------------------ runsvdir

/// runsvdir's inotify buffer (src/sys/dirwatch.rs): every event decoded is the one at its
/// offset, names end at their first NUL, and decoding stops where the next event does not
/// fit.
pub fn inotify_events(data: &[u8]) {
    use crate::sys::dirwatch::parse_events;
    let word = |at: usize| u32::from_ne_bytes(data[at..at + 4].try_into().unwrap());
    let mut out = Vec::new();
    parse_events(data, &mut out);
    let mut off = 0;
    for ev in &out {
        assert!(off + 16 <= data.len());
        let len = word(off + 12) as usize;
        assert_eq!(ev.wd, word(off) as i32);
        assert_eq!(ev.mask, word(off + 4));
        let name = &data[off + 16..off + 16 + len];
        let end = name.iter().position(|&c| c == 0).unwrap_or(len);
        assert_eq!(ev.name, &name[..end]);
        off += 16 + len;
    }
    let rest = data.len() - off;
    assert!(rest < 16 || word(off + 12) as usize > rest - 16);
    // Appends: a second buffer adds its events after the first's.
    let before = out.len();
    parse_events(data, &mut out);
    assert_eq!(out.len(), 2 * before);
}

// ------------------------------------------------------------------ readiness

/// sd_notify datagrams, `notification-fd` and the sender rule (docs/readiness.md): a NUL
/// other than one at the end voids a datagram; each flag is an exact line; STATUS= is short
/// UTF-8; MAINPID= is a real pid; a descriptor number is 3 or more; a sender is accepted
/// only through `./run` or runsv.
pub fn notify_datagram(data: &[u8]) {
    let body = data.strip_suffix(b"\0").unwrap_or(data);
    match notify::parse_datagram(data) {
        None => assert!(body.contains(&0)),
        Some(m) => {
            assert!(!body.contains(&0));
            let lines: Vec<&[u8]> = body.split(|&b| b == b'\n' || b == b'\r').collect();
            assert_eq!(m.ready, lines.contains(&&b"READY=1"[..]));
            assert_eq!(m.reloading, lines.contains(&&b"RELOADING=1"[..]));
            assert_eq!(m.stopping, lines.contains(&&b"STOPPING=1"[..]));
            if let Some(s) = m.status {
                assert!(s.len() <= notify::STATUS_MAX);
                assert!(std::str::from_utf8(s).is_ok());
                assert!(lines.iter().any(|l| l.strip_prefix(b"STATUS=") == Some(s)));
            }
            if let Some(p) = m.mainpid {
                assert!(p >= 1 && p <= i32::MAX as u32);
            }
        }
    }
    if let Ok(fd) = notify::parse_fd(data) {
        assert!(fd >= 3 && i64::from(fd) <= notify::FD_MAX as i64);
    }
    assert_eq!(notify::fd_says_ready(data), data.contains(&b'\n'));

    // Small pids, so that the chain meets main, runsv and the others often.
    let pid = |b: u8| i32::from(b % 16) - 1;
    let mut b = Bytes::new(data);
    let (main, runsv) = (pid(b.u8()), pid(b.u8()));
    let others: Vec<i32> = (0..b.u8() % 3).map(|_| pid(b.u8())).collect();
    let chain: Vec<i32> = b.rest().iter().map(|&c| pid(c)).collect();
    let ok = notify::sender_is_service(&chain, main, runsv, &others);
    if main <= 0 {
        assert!(!ok);
    }
    if ok {
        let seen = &chain[..chain.len().min(notify::MAX_DEPTH)];
        assert!(seen.contains(&main) || seen.contains(&runsv));
    } else if main > 0 && chain.first() == Some(&main) {
        panic!("./run itself refused");
    }
}

// ------------------------------------------------------------------ runsv

/// The shell's side of a fuzzed runsv: the children it has started and not yet reaped.
struct Shell<'a> {
    input: Bytes<'a>,
    now: state::Now,
    next_pid: i32,
    live: Vec<i32>,
    exited: bool,
}

impl Shell<'_> {
    /// Steps the core and carries out its actions in order as runsv's `feed` does, the
    /// fuzz input deciding how each start goes; checks each action as it is carried out.
    fn feed(&mut self, core: &mut state::Core, ev: state::Event, depth: u32) {
        use state::{Action, Event, Prog, Script, Which};
        assert!(depth < 8, "answers keep asking for starts");
        // Process groups a KILL may still be due to from before this step: what an
        // earlier run in a group mode left behind, a previous runsv's leftover.
        let groups_before = [
            core.svc(Which::Main).group_kill.map(|g| g.0),
            core.leftover.map(|l| l.0),
        ];
        let acts = core.step(ev, self.now);
        assert!(
            acts.as_slice().len() < state::MAX_ACTIONS,
            "{ev:?}: room to spare"
        );
        check_core(core, self.now.mono, &self.live);
        for &a in acts.as_slice() {
            match a {
                Action::Spawn(w, prog) => {
                    let s = core.svc(w);
                    let choice = self.input.u8();
                    let reply = match prog {
                        Prog::Run | Prog::Finish => {
                            assert!(s.exists, "{a:?} for a service that does not exist");
                            assert_eq!(s.pid, 0, "{a:?} while {} runs", s.pid);
                            assert!(prog == Prog::Run || s.state == State::Finish);
                            if choice % 8 == 7 {
                                Event::SpawnFailed { which: w, prog }
                            } else {
                                let conf = if prog == Prog::Run && w == Which::Main {
                                    self.conf()
                                } else {
                                    core.svc(w).conf
                                };
                                Event::Spawned {
                                    which: w,
                                    prog,
                                    pid: self.start(),
                                    readiness: choice & 8 != 0,
                                    conf,
                                }
                            }
                        }
                        Prog::Control(_) => {
                            assert_eq!(w, Which::Main);
                            assert!(matches!(core.script, Script::Asked(_)), "{a:?} unasked");
                            match choice % 4 {
                                0 | 1 => Event::ScriptNotRun,
                                2 => Event::SpawnFailed { which: w, prog },
                                _ => Event::Spawned {
                                    which: w,
                                    prog,
                                    pid: self.start(),
                                    readiness: false,
                                    conf: core.svc(Which::Main).conf,
                                },
                            }
                        }
                    };
                    self.feed(core, reply, depth + 1);
                    if self.exited {
                        return;
                    }
                }
                Action::Kill { pid, sig } => {
                    assert!(pid != 0 && pid != -1, "{a:?}");
                    let m = core.svc(Which::Main);
                    if pid < 0 {
                        // A process group: only in the group kill modes, or a previous
                        // runsv's leftover.
                        assert!(
                            m.conf.kill_mode != KillMode::Process
                                || groups_before.contains(&Some(-pid)),
                            "{a:?}: a group in process mode"
                        );
                    } else if m.pid == pid && m.state == State::Finish {
                        // ./finish gets no signal (supervise-protocol.md §9.2) but
                        // timeout-finish's KILL.
                        assert!(
                            sig == libc::SIGKILL && m.conf.timeout_finish.is_some(),
                            "{a:?}: a signal for ./finish"
                        );
                    } else {
                        assert!(self.live.contains(&pid), "{a:?}: not a child");
                        // Signals go to a running ./run or log/run only, never to a
                        // control script.
                        assert!(
                            [Which::Main, Which::Log].iter().any(|&w| {
                                core.svc(w).pid == pid && core.svc(w).state == State::Run
                            }),
                            "{a:?}: not a running service: {m:?}"
                        );
                    }
                }
                Action::CgroupSignal(_) | Action::CgroupKill => {
                    let m = core.svc(Which::Main);
                    assert!(
                        m.conf.kill_mode == KillMode::Cgroup || core.leftover.is_some(),
                        "{a:?} without a cgroup"
                    );
                }
                Action::GaveUp(_) => {
                    let m = core.svc(Which::Main);
                    assert!(m.gave_up.is_some() && m.want == Want::Down, "{a:?}: {m:?}");
                }
                Action::Publish(_) => {}
                Action::CloseLogPipe => {
                    assert_eq!(core.svc(Which::Main).want, Want::Exit, "{a:?}");
                }
                Action::Exit => {
                    let (m, l) = (core.svc(Which::Main), core.svc(Which::Log));
                    assert!(
                        m.state == State::Down && m.want == Want::Exit,
                        "{a:?}: {m:?}"
                    );
                    assert_eq!(l.pid, 0, "{a:?} while the log runs");
                    self.exited = true;
                    return;
                }
            }
        }
    }

    /// Stop settings the shell "read" for a start of ./run.
    fn conf(&mut self) -> Conf {
        let b = self.input.u8();
        if b & 1 == 0 {
            return Conf::default();
        }
        let ms = |v: u8| i64::from(v) * 10;
        let mut c = Conf {
            down_signal: [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT][usize::from(b >> 1) % 3],
            kill_mode: [KillMode::Process, KillMode::Group, KillMode::Cgroup]
                [usize::from(b >> 3) % 3],
            ..Conf::default()
        };
        let v = self.input.u8();
        if b & 0x20 != 0 {
            c.timeout_kill = Some(ms(v).max(1));
        }
        if b & 0x40 != 0 {
            c.timeout_finish = Some(ms(v).max(1));
        }
        if b & 0x80 != 0 {
            let n = u32::from(self.input.u8() % 8) + 1;
            c.restart_limit = Some((n, i64::from(self.input.u8()) * 100 + 1000));
            let min = i64::from(self.input.u8()) * 4;
            c.restart_delay = Some((min, min + i64::from(self.input.u8()) * 8));
        }
        c
    }

    fn start(&mut self) -> i32 {
        self.next_pid += 1;
        self.live.push(self.next_pid);
        self.next_pid
    }

    fn advance(&mut self, ms: i64) {
        self.now.mono += ms;
        let ns = u64::from(self.now.wall.nanos) + (ms as u64 % 1000) * 1_000_000;
        self.now.wall.secs += ms as u64 / 1000 + ns / 1_000_000_000;
        self.now.wall.nanos = (ns % 1_000_000_000) as u32;
    }
}

/// What holds between any two events.
fn check_core(core: &state::Core, now: i64, live: &[i32]) {
    use state::{Script, Turn, Which, QUEUE_LEN};
    let busy = !matches!(core.script, Script::None);
    let q = core.queue.len();
    assert!(q <= QUEUE_LEN);
    assert_eq!(core.fifo_turn(Which::Log), Turn::Read);
    match core.fifo_turn(Which::Main) {
        Turn::Read => assert!(q == 0 || (busy && q < QUEUE_LEN)),
        Turn::Dequeue => assert!(!busy && q > 0),
        Turn::Skip => assert!(busy && q == QUEUE_LEN),
    }
    if let Some(d) = core.deadline(now) {
        assert!(d >= now, "deadline {d} before {now}");
    }
    if let Script::Running { pid, .. } = core.script {
        assert!(live.contains(&pid), "script {pid} not a child");
    }
    for w in [Which::Main, Which::Log] {
        let s = core.svc(w);
        match s.state {
            State::Down => assert_eq!(s.pid, 0, "{w:?} down with a pid"),
            State::Run => assert_ne!(s.pid, 0, "{w:?} running without a pid"),
            State::Finish => {}
        }
        if s.pid != 0 && s.draining.is_none() {
            assert!(live.contains(&s.pid), "{w:?} pid {} not a child", s.pid);
        }
        assert!(s.exists || s.pid == 0);
    }
}

/// runsv's core (supervise-protocol.md §8, §9) driven by the shell's part: the input is a
/// sequence of events — control bytes for main and log (as the FIFO turn allows), reaps of
/// the children it started (and of strangers), SIGTERM, ticks, readiness notices, time
/// passing and the wall clock jumping — with every start answered at once as the input
/// says. Checked after each step and action: `check_core` and the rules in
/// `Shell::feed`; at the end, that nothing wanted up stays down and that an exit, once
/// wanted, comes.
pub fn runsv_core(data: &[u8]) {
    use state::{Core, Event, Notice, Svc, Turn, Which};
    let mut input = Bytes::new(data);
    let cfg = input.u8();
    let t0 = state::Now {
        wall: Tai64n::from_unix(1_700_000_000, 0),
        mono: 1_000_000,
    };
    let main = Svc::new(true, cfg & 1 != 0, t0);
    let log = Svc::new(cfg & 2 != 0, cfg & 4 != 0, t0);
    let mut core = Core::new(main, log);
    let mut sh = Shell {
        input,
        now: t0,
        next_pid: 100,
        live: Vec::new(),
        exited: false,
    };
    if cfg & 8 != 0 {
        // A previous runsv's service is still running: it is stopped first.
        let pgid = if cfg & 16 != 0 { 77 } else { 0 };
        // The shell looks for leftovers only in the group kill modes.
        let conf = Conf {
            kill_mode: if pgid > 0 {
                KillMode::Group
            } else {
                KillMode::Cgroup
            },
            ..sh.conf()
        };
        sh.feed(&mut core, Event::Leftover { pgid, conf }, 0);
    }
    const CONTROL: &[u8] = b"uodxtkpchaiq12z";
    const WSTAT: &[i32] = &[0, 0x100, 0x6f00, 15, 9, 0x7f, 0x8b];
    let mut steps = 0;
    while !sh.input.is_empty() && !sh.exited && steps < 4096 {
        steps += 1;
        let op = sh.input.u8();
        let ev = match op % 12 {
            0..=2 => match core.fifo_turn(Which::Main) {
                Turn::Read => {
                    let c = sh.input.u8();
                    Event::Control(
                        Which::Main,
                        CONTROL
                            .get(usize::from(c))
                            .copied()
                            .unwrap_or(c % 32 + b'a'),
                    )
                }
                Turn::Dequeue => Event::Dequeue,
                Turn::Skip => continue,
            },
            3 => Event::Control(
                Which::Log,
                CONTROL[usize::from(sh.input.u8()) % CONTROL.len()],
            ),
            4 | 5 => {
                let k = usize::from(sh.input.u8());
                let pid = if k < sh.live.len() {
                    sh.live.remove(k)
                } else if sh.live.is_empty() || k > 250 {
                    9999 // a stranger: an orphan re-parented to runsv
                } else {
                    sh.live.remove(k % sh.live.len())
                };
                let w = sh.input.u8();
                let main = pid == core.main_pid();
                let finish_exists = w & 0x80 != 0 && main;
                let cgroup_populated = w & 0x40 != 0
                    && main
                    && core.svc(Which::Main).conf.kill_mode == KillMode::Cgroup;
                Event::Reaped {
                    pid,
                    wstat: WSTAT[usize::from(w & 0x3f) % WSTAT.len()],
                    finish_exists,
                    cgroup_populated,
                }
            }
            6 => match sh.input.u8() % 4 {
                0 if core.svc(Which::Main).draining.is_some() || core.leftover.is_some() => {
                    Event::CgroupEmpty
                }
                1 if core.leftover.is_some() => Event::LeftoverGone,
                _ => Event::Term,
            },
            7 | 8 => Event::Tick {
                control_u: op & 0x80 != 0 && core.asks_control_u(sh.now.mono),
            },
            9 => Event::Notice(
                [
                    Notice::Ready,
                    Notice::Reloading,
                    Notice::Stopping,
                    Notice::Info,
                ][usize::from(sh.input.u8() % 4)],
            ),
            10 => {
                // Time passes: a few ms, or up to the next deadline, as poll's timeout.
                let ms = match core.deadline(sh.now.mono) {
                    Some(d) if op & 0x80 != 0 => d - sh.now.mono,
                    _ => i64::from(sh.input.u16() % 6000),
                };
                sh.advance(ms);
                continue;
            }
            _ => {
                // The wall clock is set: up to a day either way.
                let d = i64::from(sh.input.u16()) * 3 - 98304;
                sh.now.wall.secs = sh.now.wall.secs.wrapping_add_signed(d);
                continue;
            }
        };
        sh.feed(&mut core, ev, 0);
        assert!(
            !matches!(core.script, state::Script::Asked(_)),
            "unanswered"
        );
    }
    if sh.exited {
        return;
    }

    // The rest of the input is gone: the shell goes on ticking and taking queued bytes
    // (one per round: time stands still until the queue is empty), time passes to each
    // deadline, every start succeeds and nothing exits. What is wanted up must be up.
    sh.input = Bytes::new(&[]);
    if core.leftover.is_some() {
        sh.feed(&mut core, Event::LeftoverGone, 0);
    }
    for _ in 0..state::QUEUE_LEN + 16 {
        if core.svc(Which::Main).draining.is_some() {
            sh.feed(&mut core, Event::CgroupEmpty, 0);
        }
        sh.feed(&mut core, Event::Tick { control_u: false }, 0);
        if !sh.exited && core.fifo_turn(Which::Main) == Turn::Dequeue {
            sh.feed(&mut core, Event::Dequeue, 0);
        }
        if sh.exited {
            return;
        }
        if let Some(d) = core.deadline(sh.now.mono) {
            let ms = d - sh.now.mono;
            sh.advance(ms);
        }
    }
    let (m, l) = (*core.svc(Which::Main), *core.svc(Which::Log));
    if m.want == Want::Up || m.state == State::Finish {
        assert_ne!(m.pid, 0, "main wanted up stays down: {m:?}");
    }
    if l.exists && l.want == Want::Up {
        assert_ne!(l.pid, 0, "log wanted up stays down: {l:?}");
    }

    // Then every child exits, asked to or not: once main is to exit, runsv does (unless a
    // byte still queued from the input wants it back up).
    for _ in 0..state::QUEUE_LEN + 16 {
        if core.svc(Which::Main).want != Want::Exit {
            return;
        }
        while let Some(pid) = sh.live.pop() {
            let ev = Event::Reaped {
                pid,
                wstat: 0,
                finish_exists: false,
                cgroup_populated: false,
            };
            sh.feed(&mut core, ev, 0);
            if sh.exited {
                return;
            }
        }
        if core.svc(Which::Main).draining.is_some() {
            sh.feed(&mut core, Event::CgroupEmpty, 0);
        }
        sh.advance(THROTTLE_PAUSE_MS);
        sh.feed(&mut core, Event::Tick { control_u: false }, 0);
        if !sh.exited && core.fifo_turn(Which::Main) == Turn::Dequeue {
            sh.feed(&mut core, Event::Dequeue, 0);
        }
        if sh.exited {
            return;
        }
    }
    panic!("exit wanted but never came: {:?}", core.svc(Which::Main));
}

/// Time the drain lets pass between rounds: beyond any throttle.
const THROTTLE_PAUSE_MS: i64 = state::FORK_RETRY_MS;

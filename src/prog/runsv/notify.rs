//! Readiness input, decoded (docs/readiness.md): the `notification-fd` file, the bytes a
//! service writes to that descriptor, and `sd_notify` datagrams. Pure functions over
//! bytes, so the fuzzer and the tables below reach every branch.

/// Why a `notification-fd` file is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdError {
    /// Not a decimal number on its first line.
    NotANumber,
    /// 0, 1 or 2: the service's stdin, stdout (the log pipe) and stderr.
    Standard,
    /// Beyond any descriptor a process can have.
    TooBig,
}

/// The highest descriptor number accepted (the kernel's hard ceiling for `nr_open`).
pub const FD_MAX: u64 = 1 << 20;

/// Decodes `notification-fd`: s6's rule, the first line is an unsigned decimal number
/// (a trailing newline, and spaces or tabs around it, are allowed).
pub fn parse_fd(content: &[u8]) -> Result<i32, FdError> {
    let line = content.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let t = trim(line);
    let (n, used) = crate::scan_ulong(t);
    if used == 0 || used != t.len() {
        return Err(FdError::NotANumber);
    }
    match n {
        0..=2 => Err(FdError::Standard),
        n if n > FD_MAX => Err(FdError::TooBig),
        n => Ok(n as i32),
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let blank = |c: &u8| *c == b' ' || *c == b'\t' || *c == b'\r';
    let start = b.iter().position(|c| !blank(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !blank(c)).map_or(start, |i| i + 1);
    b.get(start..end).unwrap_or(&[])
}

/// Bytes from the notification descriptor: the service is ready once a newline has come
/// (s6: "only the newline is important"; what precedes it is ignored).
pub fn fd_says_ready(chunk: &[u8]) -> bool {
    chunk.contains(&b'\n')
}

/// The longest `STATUS=` text kept (a longer one is ignored, as systemd ignores one over
/// its limit).
pub const STATUS_MAX: usize = 256;

/// What one `sd_notify` datagram says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message<'a> {
    pub ready: bool,
    pub reloading: bool,
    pub stopping: bool,
    /// `STATUS=` (an empty text clears it).
    pub status: Option<&'a [u8]>,
    /// `MAINPID=`.
    pub mainpid: Option<u32>,
}

/// Decodes a datagram by systemd's receiver rules: one trailing NUL is allowed, any
/// other NUL makes the whole datagram void; lines end at `\n` or `\r`, empty ones are
/// skipped; each known assignment must match exactly (`READY=1`, not `READY=1 `); a
/// `STATUS=` that is not UTF-8 or longer than [`STATUS_MAX`] is ignored; unknown lines
/// are ignored. `None`: the datagram is void.
pub fn parse_datagram(data: &[u8]) -> Option<Message<'_>> {
    let data = data.strip_suffix(b"\0").unwrap_or(data);
    if data.contains(&0) {
        return None;
    }
    let mut m = Message::default();
    for line in data.split(|&b| b == b'\n' || b == b'\r') {
        match line {
            b"" => {}
            b"READY=1" => m.ready = true,
            b"RELOADING=1" => m.reloading = true,
            b"STOPPING=1" => m.stopping = true,
            _ => {
                if let Some(text) = line.strip_prefix(b"STATUS=") {
                    if text.len() <= STATUS_MAX && std::str::from_utf8(text).is_ok() {
                        m.status = Some(text);
                    }
                } else if let Some(pid) = line.strip_prefix(b"MAINPID=") {
                    let (v, used) = crate::scan_ulong(pid);
                    if used == pid.len() && v > 0 && v <= i32::MAX as u64 {
                        m.mainpid = Some(v as u32);
                    }
                }
            }
        }
    }
    Some(m)
}

/// How far up the process tree [`sender_is_service`] looks.
pub const MAX_DEPTH: usize = 64;

/// Whether a sender belongs to the service: `ancestry` is the sender's pid followed by
/// its parent, grandparent, ... (as far as they could be read). The service's processes
/// are `./run` (`main`) and its descendants; with runsv a child subreaper, a daemonized
/// descendant's chain ends at runsv (`runsv`) instead — accepted unless it came up
/// through one of runsv's other children (`others`: the log service, a control script).
pub fn sender_is_service(ancestry: &[i32], main: i32, runsv: i32, others: &[i32]) -> bool {
    if main <= 0 {
        return false;
    }
    let mut prev: Option<i32> = None;
    for &p in ancestry.iter().take(MAX_DEPTH) {
        if p == main {
            return true;
        }
        if p == runsv {
            // Came straight from runsv: the child on the way decides.
            return match prev {
                Some(c) => !others.contains(&c),
                None => false,
            };
        }
        if p <= 1 {
            return false;
        }
        prev = Some(p);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_fd_files() {
        let table: &[(&[u8], Result<i32, FdError>)] = &[
            (b"3", Ok(3)),
            (b"3\n", Ok(3)),
            (b" 7 \n", Ok(7)),
            (b"9\nignored", Ok(9)),
            (b"", Err(FdError::NotANumber)),
            (b"\n3", Err(FdError::NotANumber)),
            (b"x", Err(FdError::NotANumber)),
            (b"3x", Err(FdError::NotANumber)),
            (b"-3", Err(FdError::NotANumber)),
            (b"0", Err(FdError::Standard)),
            (b"1", Err(FdError::Standard)),
            (b"2", Err(FdError::Standard)),
            (b"1048576", Ok(1 << 20)),
            (b"1048577", Err(FdError::TooBig)),
            (b"99999999999999999999999", Err(FdError::TooBig)),
        ];
        for (input, want) in table {
            assert_eq!(
                parse_fd(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn datagrams() {
        let m = |r, rl, st, status: Option<&'static [u8]>, mp| Message {
            ready: r,
            reloading: rl,
            stopping: st,
            status,
            mainpid: mp,
        };
        let table: &[(&[u8], Option<Message>)] = &[
            (b"READY=1", Some(m(true, false, false, None, None))),
            (b"READY=1\n", Some(m(true, false, false, None, None))),
            (b"READY=1\0", Some(m(true, false, false, None, None))),
            (b"READY=1\0\0", None),
            (b"READ\0Y=1", None),
            (b"READY=1 ", Some(m(false, false, false, None, None))),
            (b"READY=0", Some(m(false, false, false, None, None))),
            (
                b"STATUS=Loading\nREADY=1\n",
                Some(m(true, false, false, Some(b"Loading"), None)),
            ),
            (
                b"\r\n\nSTOPPING=1\r",
                Some(m(false, false, true, None, None)),
            ),
            (
                b"RELOADING=1\nREADY=1",
                Some(m(true, true, false, None, None)),
            ),
            (
                b"MAINPID=4711",
                Some(m(false, false, false, None, Some(4711))),
            ),
            (b"MAINPID=0", Some(m(false, false, false, None, None))),
            (b"MAINPID=12x", Some(m(false, false, false, None, None))),
            (
                b"MAINPID=99999999999",
                Some(m(false, false, false, None, None)),
            ),
            (b"STATUS=", Some(m(false, false, false, Some(b""), None))),
            (b"STATUS=\xff\xfe", Some(m(false, false, false, None, None))),
            (
                b"WATCHDOG=1\nFDSTORE=1",
                Some(m(false, false, false, None, None)),
            ),
            (b"", Some(m(false, false, false, None, None))),
        ];
        for (input, want) in table {
            assert_eq!(
                parse_datagram(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let long = [b'x'; STATUS_MAX + 1];
        let mut d = b"STATUS=".to_vec();
        d.extend_from_slice(&long);
        assert_eq!(parse_datagram(&d).and_then(|m| m.status), None);
        assert_eq!(
            parse_datagram(&d[..d.len() - 1])
                .and_then(|m| m.status)
                .map(|s| s.len()),
            Some(STATUS_MAX)
        );
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn senders() {
        // (ancestry, main, runsv, others) -> accepted
        let table: &[(&[i32], i32, i32, &[i32], bool)] = &[
            (&[100, 50], 100, 50, &[], true),           // ./run itself
            (&[300, 200, 100, 50], 100, 50, &[], true), // a grandchild (tor's child)
            (&[400, 50], 100, 50, &[], true),           // an orphan re-parented to runsv
            (&[400, 60, 50], 100, 50, &[60], false),    // under the log service
            (&[400, 1], 100, 50, &[], false),           // outside: up to init
            (&[400, 7, 1], 100, 50, &[], false),
            (&[50], 100, 50, &[], false), // runsv itself
            (&[100], 0, 50, &[], false),  // no ./run
            (&[], 100, 50, &[], false),
        ];
        for &(anc, main, runsv, others, want) in table {
            assert_eq!(sender_is_service(anc, main, runsv, others), want, "{anc:?}");
        }
    }
}

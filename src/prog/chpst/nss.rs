//! User and group lookups without glibc's NSS, for the static build (issue 14,
//! docs/chpst.md "Lookups in the static build").
//!
//! glibc's `getpwnam` in a statically linked program cannot load the NSS modules that
//! `/etc/nsswitch.conf` may name (`systemd`, `ldap`, `sss`...): it fails or crashes. The
//! static build therefore reads `/etc/passwd` and `/etc/group` itself (after any chroot,
//! like glibc, so `-/` sees the new root's files), and when a name is not there and
//! `nsswitch.conf` lists other sources for the database, asks `getent` — a dynamic
//! program of the C library, present wherever those sources can exist — and reads its
//! answer, which is a line of the same format. Where there is no `getent` (a scratch or
//! musl image) such a name is unknown. The dynamic build keeps glibc's `getpwnam`.
//!
//! The parsers are pure (tables below, and the fuzzer).

use crate::sys::{self, Errno};

/// One database: `passwd` or `group`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Passwd,
    Group,
}

impl Db {
    fn name(self) -> &'static [u8] {
        match self {
            Db::Passwd => b"passwd",
            Db::Group => b"group",
        }
    }
    fn file(self) -> &'static std::ffi::CStr {
        match self {
            Db::Passwd => c"/etc/passwd",
            Db::Group => c"/etc/group",
        }
    }
}

/// What `/etc/nsswitch.conf` says about a database: whether sources other than the files
/// (`files`, `compat`) are listed. No file, or no line for the database: files only.
pub fn other_sources(nsswitch: &[u8], db: Db) -> bool {
    for line in nsswitch.split(|&b| b == b'\n') {
        let line = line.split(|&b| b == b'#').next().unwrap_or(&[]);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, rest) = line.split_at(colon);
        if trim(key) != db.name() {
            continue;
        }
        return rest
            .get(1..)
            .unwrap_or(&[])
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|w| !w.is_empty() && !w.starts_with(b"["))
            .any(|w| w != b"files" && w != b"compat");
    }
    false
}

fn trim(b: &[u8]) -> &[u8] {
    let blank = |c: &u8| *c == b' ' || *c == b'\t';
    let s = b.iter().position(|c| !blank(c)).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !blank(c)).map_or(s, |i| i + 1);
    b.get(s..e).unwrap_or(&[])
}

/// A field as an id: decimal, fitting `u32` (and not `(uid_t)-1`).
fn id(f: &[u8]) -> Option<u32> {
    let (n, used) = crate::scan_ulong(f);
    (used > 0 && used == f.len() && n < u64::from(u32::MAX)).then_some(n as u32)
}

/// Finds `name` in `passwd(5)` content: (uid, gid). Malformed lines are skipped; the first
/// match wins (as glibc's files source); `+`/`-` (NIS compat) lines are not entries.
pub fn find_user(passwd: &[u8], name: &[u8]) -> Option<(u32, u32)> {
    if name.is_empty() {
        return None;
    }
    passwd.split(|&b| b == b'\n').find_map(|line| {
        let mut f = line.split(|&b| b == b':');
        let (n, _pw, uid, gid) = (f.next()?, f.next()?, f.next()?, f.next()?);
        (n == name).then_some(())?;
        Some((id(uid)?, id(gid)?))
    })
}

/// Finds `name` in `group(5)` content: its gid.
pub fn find_group(group: &[u8], name: &[u8]) -> Option<u32> {
    if name.is_empty() {
        return None;
    }
    group.split(|&b| b == b'\n').find_map(|line| {
        let mut f = line.split(|&b| b == b':');
        let (n, _pw, gid) = (f.next()?, f.next()?, f.next()?);
        (n == name).then_some(())?;
        id(gid)
    })
}

/// The most a database file may hold for us to read it (a bigger one is cut: its first
/// megabytes are searched).
const FILE_MAX: usize = 16 << 20;

/// Looks `name` up in `db`: `Ok(None)` when unknown. A missing database file is ENOENT
/// unless another source has the name, as with glibc's files module (it reports the file
/// unavailable with errno ENOENT, which runit's chpst prints: `unable to get
/// password/group file entry: file does not exist`).
fn lookup(db: Db, name: &[u8]) -> Result<Option<Vec<u8>>, Errno> {
    let (file, missing) = match sys::read_file(db.file(), FILE_MAX) {
        Ok(c) => (c.data, false),
        Err(Errno::NOENT) => (Vec::new(), true),
        Err(e) => return Err(e),
    };
    let found = match db {
        Db::Passwd => find_user(&file, name).is_some(),
        Db::Group => find_group(&file, name).is_some(),
    };
    if found {
        return Ok(Some(file));
    }
    let nsswitch = sys::read_file(c"/etc/nsswitch.conf", 1 << 20)
        .map(|c| c.data)
        .unwrap_or_default();
    let other = if other_sources(&nsswitch, db) {
        getent(db, name)
    } else {
        None
    };
    match other {
        None if missing => Err(Errno::NOENT),
        other => Ok(other),
    }
}

/// `getent DB NAME`'s answer (one line of the database's format), if it ran and found it.
fn getent(db: Db, name: &[u8]) -> Option<Vec<u8>> {
    let argv = sys::Argv::new(&[&b"getent"[..], db.name(), name]).ok()?;
    let (r, w) = sys::pipe(0).ok()?;
    let paths: [&std::ffi::CStr; 2] = [c"/usr/bin/getent", c"/bin/getent"];
    let wfd = std::os::fd::AsFd::as_fd(&w);
    let pid = crate::spawn::spawn(
        || {
            let _ = sys::dup2(wfd, 1);
        },
        || {
            let mut e = Errno::NOENT;
            for p in paths {
                e = sys::execv(p, &argv);
            }
            e
        },
        crate::spawn::OnFail {
            kind: crate::msg::Kind::Plain,
            code: 127,
            parts: &[],
        },
    )
    .ok()?;
    drop(w);
    let out = sys::read_fd_bounded(std::os::fd::AsFd::as_fd(&r), 1 << 16).ok()?;
    let st = sys::wait_pid(pid).ok()?;
    (st.exited() && st.code() == 0).then_some(out.data)
}

/// `getpwnam` for the static build: (uid, primary gid).
pub fn getpwnam(name: &[u8]) -> Result<Option<(u32, u32)>, Errno> {
    Ok(lookup(Db::Passwd, name)?.and_then(|f| find_user(&f, name)))
}

/// `getgrnam` for the static build: the gid.
pub fn getgrnam(name: &[u8]) -> Result<Option<u32>, Errno> {
    Ok(lookup(Db::Group, name)?.and_then(|f| find_group(&f, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsswitch_sources() {
        let table: &[(&[u8], Db, bool)] = &[
            (b"passwd: files\ngroup: files\n", Db::Passwd, false),
            (b"passwd:         files systemd\n", Db::Passwd, true),
            (b"passwd: compat\n", Db::Passwd, false),
            (b"passwd: files [NOTFOUND=return] ldap\n", Db::Passwd, true),
            (b"passwd: files [NOTFOUND=return]\n", Db::Passwd, false),
            (b"# passwd: ldap\npasswd: files\n", Db::Passwd, false),
            (b"group: sss files\n", Db::Group, true),
            (b"group: sss files\n", Db::Passwd, false),
            (b"", Db::Passwd, false),
            (b"passwd files ldap\n", Db::Passwd, false),
            (b"  passwd :\tfiles  ldap # comment\n", Db::Passwd, true),
        ];
        for (conf, db, want) in table {
            assert_eq!(
                other_sources(conf, *db),
                *want,
                "{:?}",
                String::from_utf8_lossy(conf)
            );
        }
    }

    #[test]
    fn passwd_and_group_lines() {
        let pw = b"root:x:0:0:root:/root:/bin/bash\n\
                   +nis::::::\n\
                   broken\n\
                   big:x:4294967295:1::/:/bin/sh\n\
                   nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                   nobody:x:1:1::/:\n\
                   neg:x:-1:1::/:\n";
        assert_eq!(find_user(pw, b"root"), Some((0, 0)));
        assert_eq!(
            find_user(pw, b"nobody"),
            Some((65534, 65534)),
            "first match"
        );
        assert_eq!(find_user(pw, b"big"), None, "(uid_t)-1 is no id");
        assert_eq!(find_user(pw, b"neg"), None);
        assert_eq!(find_user(pw, b"broken"), None);
        assert_eq!(find_user(pw, b"+nis"), None);
        assert_eq!(find_user(pw, b""), None);
        assert_eq!(find_user(pw, b"nosuch"), None);
        let gr = b"root:x:0:\nadm:x:4:syslog,me\nstaff:x:50\nbad:x:\n";
        assert_eq!(find_group(gr, b"adm"), Some(4));
        assert_eq!(find_group(gr, b"staff"), Some(50));
        assert_eq!(find_group(gr, b"bad"), None);
        assert_eq!(find_group(gr, b"nosuch"), None);
    }
}

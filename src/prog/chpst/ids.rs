//! User and group specifications for `-u`, `-U`, setuidgid and envuidgid (spec chpst.md §4).
//!
//! Parsing is pure ([`parse`]); the database lookups happen in [`resolve`], at the moment the
//! spec's order of operations says (after any chroot, so the new root's files are read).

use crate::sys::{self, user};

/// Most groups a specification may carry (runit's limit; a 61st numeric gid is invalid, a 61st
/// named group is ignored).
pub const MAX_GROUPS: usize = 60;

/// A parsed specification, before any lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// `:uid:gid[:gid…]`: numbers, no lookup.
    Numeric { uid: u32, gids: Vec<u32> },
    /// `user[:group…]`: names (at most [`MAX_GROUPS`] groups kept).
    Named { user: Vec<u8>, groups: Vec<Vec<u8>> },
    /// Invalid numeric form; carries the text after the leading colon for the message.
    Invalid(Vec<u8>),
}

/// Parses chpst's `-u`/`-U` argument.
pub fn parse(spec: &[u8]) -> Spec {
    if let Some(rest) = spec.strip_prefix(b":") {
        return match numeric(rest) {
            Some((uid, gids)) => Spec::Numeric { uid, gids },
            None => Spec::Invalid(rest.to_vec()),
        };
    }
    let mut parts = spec.split(|&b| b == b':');
    let user = parts.next().unwrap_or(b"").to_vec();
    // runit: only the first 60 groups are looked up, the rest are ignored.
    let groups = parts.take(MAX_GROUPS).map(|g| g.to_vec()).collect();
    Spec::Named { user, groups }
}

/// The largest id a numeric specification may name. `uid_t` and `gid_t` are 32 bits and
/// 2^32-1 is `(uid_t)-1`, "no id" to the set*id calls, so 4294967294 is the last real one.
pub const MAX_ID: u64 = u32::MAX as u64 - 1;

/// `uid:gid[:gid…]`: each number is leading digits (none = 0, a quirk: `:65534:` is gid 0);
/// at least one gid, at most [`MAX_GROUPS`], nothing else.
///
/// Divergence: a number above [`MAX_ID`] makes the specification invalid. runit stores it in
/// a 32-bit id, so `:4294967296:0` wraps to uid 0 and runs prog as root, and
/// `:99999999999999999999:1` runs it as uid 1661992959 (observed with Debian's chpst).
fn numeric(s: &[u8]) -> Option<(u32, Vec<u32>)> {
    let (uid, n) = crate::scan_ulong(s);
    let uid = id(uid)?;
    let mut rest = &s[n..];
    let mut gids = Vec::new();
    loop {
        rest = rest.strip_prefix(b":")?;
        let (gid, n) = crate::scan_ulong(rest);
        gids.push(id(gid)?);
        if gids.len() > MAX_GROUPS {
            return None;
        }
        rest = &rest[n..];
        if rest.is_empty() {
            return Some((uid, gids));
        }
    }
}

/// A scanned number as an id, if it is one ([`crate::scan_ulong`] saturates, so any
/// overflow of u64 lands above [`MAX_ID`] too).
fn id(n: u64) -> Option<u32> {
    if n > MAX_ID {
        return None;
    }
    u32::try_from(n).ok()
}

/// Why a specification could not be turned into ids; the caller prints the personality's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `invalid uid/gids: REST`.
    Invalid(Vec<u8>),
    /// No such user or group.
    Unknown,
    /// A lookup failed with this errno.
    Lookup(sys::Errno),
}

/// Looks the specification up: the uid and the group list (the first is the primary gid).
pub fn resolve(spec: &Spec) -> Result<(u32, Vec<u32>), Failure> {
    match spec {
        Spec::Invalid(rest) => Err(Failure::Invalid(rest.clone())),
        Spec::Numeric { uid, gids } => Ok((*uid, gids.clone())),
        Spec::Named { user, groups } => {
            let (uid, gid) = lookup_user(user)?;
            if groups.is_empty() {
                return Ok((uid, vec![gid]));
            }
            let mut gids = Vec::with_capacity(groups.len());
            for g in groups {
                match getgrnam(g) {
                    Ok(Some(gid)) => gids.push(gid),
                    Ok(None) => return Err(Failure::Unknown),
                    Err(e) => return Err(Failure::Lookup(e)),
                }
            }
            Ok((uid, gids))
        }
    }
}

/// `getpwnam`: (uid, primary gid).
pub fn lookup_user(name: &[u8]) -> Result<(u32, u32), Failure> {
    match getpwnam(name) {
        Ok(Some(ids)) => Ok(ids),
        Ok(None) => Err(Failure::Unknown),
        Err(e) => Err(Failure::Lookup(e)),
    }
}

/// The passwd lookup: glibc's NSS in the dynamic build, our own in the static one, where
/// glibc cannot load NSS modules (nss.rs).
fn getpwnam(name: &[u8]) -> Result<Option<(u32, u32)>, sys::Errno> {
    if cfg!(target_feature = "crt-static") {
        return super::nss::getpwnam(name);
    }
    match sys::cstr(name) {
        Ok(c) => user::getpwnam(&c),
        Err(_) => Ok(None),
    }
}

fn getgrnam(name: &[u8]) -> Result<Option<u32>, sys::Errno> {
    if cfg!(target_feature = "crt-static") {
        return super::nss::getgrnam(name);
    }
    match sys::cstr(name) {
        Ok(c) => user::getgrnam(&c),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(uid: u32, gids: &[u32]) -> Spec {
        Spec::Numeric {
            uid,
            gids: gids.to_vec(),
        }
    }

    #[test]
    fn numeric_forms_as_observed() {
        assert_eq!(parse(b":65534:65534"), num(65534, &[65534]));
        assert_eq!(parse(b":65534:"), num(65534, &[0]));
        assert_eq!(parse(b"::5"), num(0, &[5]));
        assert_eq!(parse(b":5:6:"), num(5, &[6, 0]));
        assert_eq!(parse(b":65534"), Spec::Invalid(b"65534".to_vec()));
        assert_eq!(parse(b":"), Spec::Invalid(b"".to_vec()));
        assert_eq!(parse(b":abc:1"), Spec::Invalid(b"abc:1".to_vec()));
        assert_eq!(parse(b":5:x"), Spec::Invalid(b"5:x".to_vec()));
        assert_eq!(
            parse(b":4294967294:4294967294"),
            num(4294967294, &[4294967294])
        );
        let sixty = format!(":1{}", ":2".repeat(60));
        assert!(matches!(parse(sixty.as_bytes()), Spec::Numeric { .. }));
        let sixty_one = format!(":1{}", ":2".repeat(61));
        assert!(matches!(parse(sixty_one.as_bytes()), Spec::Invalid(_)));
    }

    #[test]
    fn ids_that_do_not_fit_are_invalid() {
        // Divergence: runit wraps these at 2^32 (`:4294967296:0` ran as root, observed).
        for spec in [
            ":4294967296:0",
            ":4294967295:1",
            ":99999999999999999999:1",
            ":18446744073709551616:1",
            ":1:4294967295",
            ":1:4294967296",
            ":1:2:4294967297",
            ":1:2:99999999999999999999999999999",
        ] {
            assert_eq!(
                parse(spec.as_bytes()),
                Spec::Invalid(spec.as_bytes()[1..].to_vec()),
                "{spec}"
            );
        }
        // Not digits at all: invalid as before (runit agrees, observed).
        assert_eq!(parse(b":-1:1"), Spec::Invalid(b"-1:1".to_vec()));
        assert_eq!(id(MAX_ID), Some(4294967294));
        assert_eq!(id(MAX_ID + 1), None);
        assert_eq!(id(u64::MAX), None);
    }

    #[test]
    fn named_forms() {
        assert_eq!(
            parse(b"nobody:adm:daemon"),
            Spec::Named {
                user: b"nobody".to_vec(),
                groups: vec![b"adm".to_vec(), b"daemon".to_vec()]
            }
        );
        assert_eq!(
            parse(b"nobody:"),
            Spec::Named {
                user: b"nobody".to_vec(),
                groups: vec![b"".to_vec()]
            }
        );
        let many = format!("u{}:nosuch", ":g".repeat(60));
        match parse(many.as_bytes()) {
            Spec::Named { groups, .. } => {
                assert_eq!(groups.len(), 60);
                assert!(groups.iter().all(|g| g == b"g"));
            }
            other => panic!("{other:?}"),
        }
    }
}

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

/// `uid:gid[:gid…]`: each number is leading digits (none = 0, a quirk: `:65534:` is gid 0);
/// at least one gid, at most [`MAX_GROUPS`], nothing else.
fn numeric(s: &[u8]) -> Option<(u32, Vec<u32>)> {
    let (uid, n) = crate::scan_ulong(s);
    let mut rest = &s[n..];
    let mut gids = Vec::new();
    loop {
        rest = rest.strip_prefix(b":")?;
        let (gid, n) = crate::scan_ulong(rest);
        gids.push(gid as u32);
        if gids.len() > MAX_GROUPS {
            return None;
        }
        rest = &rest[n..];
        if rest.is_empty() {
            return Some((uid as u32, gids));
        }
    }
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
                let name = sys::cstr(g).map_err(|_| Failure::Unknown)?;
                match user::getgrnam(&name) {
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
    let name = sys::cstr(name).map_err(|_| Failure::Unknown)?;
    match user::getpwnam(&name) {
        Ok(Some(ids)) => Ok(ids),
        Ok(None) => Err(Failure::Unknown),
        Err(e) => Err(Failure::Lookup(e)),
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
        let sixty = format!(":1{}", ":2".repeat(60));
        assert!(matches!(parse(sixty.as_bytes()), Spec::Numeric { .. }));
        let sixty_one = format!(":1{}", ":2".repeat(61));
        assert!(matches!(parse(sixty_one.as_bytes()), Spec::Invalid(_)));
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

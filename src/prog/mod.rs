//! One module per program; each exposes `main(args) -> exit code`.

pub mod chpst;
pub mod runit;
pub mod runit_exporter;
pub mod runit_init;
pub mod runsv;
pub mod runsvchdir;
pub mod runsvdir;
pub mod sv;
pub mod svjson;
pub mod svlogd;
pub mod utmpset;

/// Every name [`by_name`] knows, sorted: what `runit-rs --help` lists and what
/// `make install MULTICALL=1` links to the multicall binary (`init` aside, which a
/// distribution links itself).
pub const NAMES: &[&str] = &[
    "chpst",
    "envdir",
    "envuidgid",
    "init",
    "pgrphack",
    "runit",
    "runit-init",
    "runsv",
    "runsvchdir",
    "runsvdir",
    "setlock",
    "setuidgid",
    "softlimit",
    "sv",
    "svlogd",
    "utmpset",
];

/// The program a multicall name runs (basename of argv[0]); chpst's personalities included.
pub fn by_name(name: &[u8]) -> Option<crate::Main> {
    Some(match name {
        b"runsv" => runsv::main,
        b"sv" => sv::main,
        b"runsvdir" => runsvdir::main,
        b"runsvchdir" => runsvchdir::main,
        b"runit" => runit::main,
        b"runit-init" | b"init" => runit_init::main,
        b"svlogd" => svlogd::main,
        b"chpst" | b"envdir" | b"envuidgid" | b"pgrphack" | b"setlock" | b"setuidgid"
        | b"softlimit" => chpst::main,
        b"utmpset" => utmpset::main,
        b"runit-exporter" => runit_exporter::main,
        b"svjson" => svjson::main,
        _ => return None,
    })
}

/// How many links [`by_link`] follows at most (Linux's own limit for one path lookup).
const MAX_LINKS: usize = 40;

/// The program name a multicall binary started as `path` (argv[0], found on PATH when it has
/// no slash) runs when `path`'s own basename names none: that of the first link on the way
/// from `path` to the binary whose basename does. So `/etc/init.d/web -> /usr/bin/sv ->
/// runit-rs` runs sv, which then sees `web` as its name (sv's LSB mode, spec sv.md), and a
/// link `dchpst -> chpst` runs chpst under its own name, as with runit's separate programs.
/// None: no link on the way names a program (`runit-rs` itself, or a hard link). `read_link`
/// reads one link; None when `path` is not one.
pub fn by_link(
    path: &std::path::Path,
    mut read_link: impl FnMut(&std::path::Path) -> Option<std::path::PathBuf>,
) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let t = read_link(&p)?;
        // a relative target is relative to the link's directory
        p = match p.parent() {
            Some(d) if t.is_relative() => d.join(&t),
            _ => t,
        };
        let name = crate::basename(p.as_os_str().as_bytes());
        if by_name(name).is_some() {
            return Some(name.to_vec());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// by_link over a table of links (path -> target).
    fn via(links: &[(&str, &str)], start: &str) -> Option<String> {
        let read = |p: &Path| {
            links
                .iter()
                .find(|(l, _)| Path::new(l) == p)
                .map(|(_, t)| PathBuf::from(t))
        };
        super::by_link(Path::new(start), read).map(|n| String::from_utf8(n).unwrap())
    }

    #[test]
    fn by_link_takes_the_first_link_that_names_a_program() {
        let debian = [
            ("/etc/init.d/web", "/usr/bin/sv"),
            ("/usr/bin/sv", "runit-rs"),
            ("/usr/local/bin/dchpst", "../../bin/chpst"),
            ("/usr/bin/chpst", "runit-rs"),
            ("/usr/bin/rr", "runit-rs"),
            ("/tmp/loop", "/tmp/loop"),
            ("/tmp/a", "b"),
            ("/tmp/b", "/usr/bin/envdir"),
        ];
        for (start, want) in [
            ("/etc/init.d/web", Some("sv")),
            ("/usr/local/bin/dchpst", Some("chpst")),
            ("/tmp/a", Some("envdir")),
            ("/usr/bin/rr", None),
            ("/usr/bin/runit-rs", None),
            ("/tmp/loop", None),
            ("/nonexistent", None),
        ] {
            assert_eq!(via(&debian, start).as_deref(), want, "{start}");
        }
    }

    #[test]
    fn every_listed_name_runs_a_program_and_the_list_is_sorted() {
        for n in super::NAMES {
            assert!(super::by_name(n.as_bytes()).is_some(), "{n}");
        }
        assert!(super::NAMES.windows(2).all(|w| w[0] < w[1]));
        assert!(super::by_name(b"runit-rs").is_none());
    }
}

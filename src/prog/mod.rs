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

#[cfg(test)]
mod tests {
    #[test]
    fn every_listed_name_runs_a_program_and_the_list_is_sorted() {
        for n in super::NAMES {
            assert!(super::by_name(n.as_bytes()).is_some(), "{n}");
        }
        assert!(super::NAMES.windows(2).all(|w| w[0] < w[1]));
        assert!(super::by_name(b"runit-rs").is_none());
    }
}

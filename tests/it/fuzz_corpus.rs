//! The fuzz corpus as a regression test on stable (issue 9): every file in
//! `fuzz/corpus/<target>/` and `fuzz/crashes/<target>/` goes through the harness the fuzz
//! target runs (`runit_rs::fuzzing`), so a crash the fuzzer once found, and every input
//! that reached new code, keeps passing. `scripts/fuzz` grows the corpus (nightly).

use runit_rs::fuzzing::{Harness, TARGETS};
use std::path::{Path, PathBuf};

/// The files of `fuzz/<kind>/<target>/`, sorted (none if the directory does not exist).
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut v: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    v.retain(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"));
    v.sort();
    v
}

/// Runs every stored input of `target`; names each one that fails.
fn replay(target: &str) {
    let harness: Harness = TARGETS
        .iter()
        .find(|(n, _)| *n == target)
        .map(|&(_, h)| h)
        .unwrap_or_else(|| panic!("no harness named {target}"));
    let corpus = files("corpus", target);
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is empty: seed it (scripts/fuzz)"
    );
    let mut failed = Vec::new();
    for f in corpus.iter().chain(files("crashes", target).iter()) {
        let data = std::fs::read(f).unwrap();
        if std::panic::catch_unwind(|| harness(&data)).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: failing inputs: {failed:#?}");
}

macro_rules! targets {
    ($($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*

        /// Every harness has its test above (and so its corpus).
        #[test]
        fn every_target_is_replayed() {
            let tested = [$(stringify!($name)),*];
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
            for (name, _) in TARGETS {
                assert!(tested.contains(name), "{name} has no corpus test");
                assert!(dir.join(format!("{name}.rs")).is_file(), "{name} has no fuzz target");
            }
        }
    };
}

targets! {
    svlogd_config
    svlogd_lines
    envdir_value
    getopt
    sv_command
    status_record
    supervise_info
    inotify_events
    notify_datagram
    chpst_ids
    runsv_core
}

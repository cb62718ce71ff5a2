//! The one integration-test binary: real processes in temporary directories.
//! Per-program files are modules here; `common` holds the shared harness.

mod common;

mod chpst;
mod containers;
mod daemons;
mod debian;
mod demo;
mod exporter;
mod fuzz_corpus;
mod getopt;
mod install;
mod parsers;
mod readiness;
mod runit;
mod runsv;
mod runsv_matrix;
mod runsv_trust;
mod runsvdir;
mod stopping;
mod sv;
mod svlogd;

//! THE flag files through which `runit-init 0|6` asks a running `runit` to halt or reboot
//! (spec runit.md §4, runit-init.md): `stopit` with the owner-execute bit means "leave
//! stage 2", `reboot` with it means "reboot rather than halt". Both programs name them
//! from here, so they cannot disagree.

use std::ffi::CStr;

/// Upstream runit's stop flag.
pub const STOPIT: &CStr = c"/etc/runit/stopit";
/// Upstream runit's reboot flag.
pub const REBOOT: &CStr = c"/etc/runit/reboot";

/// Written by runsv when a service marked `essential` (docs/containers.md) goes down for
/// good: its exit code, which the container's PID 1 (runit in container mode, runsvdir)
/// exits with, before `/etc/runit/exitcode` and stage 3's code.
pub const ESSENTIAL_EXITCODE: &CStr = c"/run/runit.exitcode";
pub const ESSENTIAL_EXITCODE_NEW: &CStr = c"/run/runit.exitcode.new";

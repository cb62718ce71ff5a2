//! Starting a child program: the one fork → clean signal state → set-up → exec → report
//! sequence every program of ours uses (runsv's `./run`, `./finish`, `log/run` and
//! `control/<c>`, runsvdir's runsv, runit's stages, sv's `./check`, svlogd's processor).
//!
//! Every child starts with all signal dispositions at default and an empty mask (spec
//! README divergence (f)). Between fork and exec only async-signal-safe calls are made
//! (house rule 7): `prepare` and `exec` must use what was built before the fork, and
//! messages go out through [`msg`], which writes from the stack.

use crate::msg::{self, Kind};
use crate::sys::{self, signals, Errno, Forked, Res};

/// What the child prints, and its exit code, when the program cannot be executed.
#[derive(Clone, Copy)]
pub struct OnFail<'a> {
    pub kind: Kind,
    pub code: i32,
    /// The text after the program's prefix and the kind word; `: <err>` follows. Empty:
    /// the child exits without a word.
    pub parts: &'a [&'a [u8]],
}

/// Forks; in the child resets the signal state, runs `prepare` (descriptor set-up, chdir,
/// setsid: it reports its own failures with [`msg::child_exit`]), then `exec`, which
/// returns only with the errno of a failed exec, reported as `fail` says. Returns the
/// child's pid to the parent.
pub fn spawn(
    prepare: impl FnOnce(),
    exec: impl FnOnce() -> Errno,
    fail: OnFail<'_>,
) -> Res<sys::pid_t> {
    match sys::fork()? {
        Forked::Parent(pid) => Ok(pid),
        Forked::Child => {
            signals::reset_child_signals();
            prepare();
            let e = exec();
            if fail.parts.is_empty() {
                // A quiet child: the parent reports what its failure means.
                sys::exit_now(fail.code)
            }
            msg::child_exit(fail.kind, fail.code, fail.parts, Some(e))
        }
    }
}

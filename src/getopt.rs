//! Classic djb/POSIX getopt with runit's exact error lines (spec README "Option parsing").
//!
//! Options precede operands; parsing stops at the first operand; an argument that starts
//! with `--` (`--`, but also `--x`, `---`, `--help`) ends the options and is consumed (runit's
//! getopt looks only at the second character, observed with Debian's chpst, sv, svlogd and
//! utmpset); a lone `-` is an operand; inside a bundle `-` is an ordinary, illegal, option
//! character (`-v--` → `illegal option -- -`); flags bundle (`-vt`); arguments attach
//! (`-w5`, `-w--`) or follow (`-w 5`, `-w --x`).
//! Errors print `BASENAME: illegal option -- X` or `BASENAME: option requires an argument
//! -- X` on stderr; the caller then prints its usage.

use crate::msg;

/// One parsed item.
#[derive(Debug, PartialEq, Eq)]
pub enum Opt<'a> {
    /// A flag or an option with its argument.
    Flag(u8, Option<&'a [u8]>),
    /// A getopt error (already printed).
    Error,
}

/// Iterates over the options of `args` (argv[0] excluded) per `spec` (`"vw:"` style).
pub struct Getopt<'a> {
    args: &'a [Vec<u8>],
    spec: &'a [u8],
    prog: &'a [u8],
    /// Index of the next argument to look at; after the iteration ends, the first operand.
    pub ind: usize,
    pos: usize,
    /// Print nothing (see [`Getopt::quiet`]).
    quiet: bool,
}

impl<'a> Getopt<'a> {
    /// `args` includes argv[0] at index 0; `prog` is the name used in error lines.
    pub fn new(args: &'a [Vec<u8>], spec: &'a str, prog: &'a [u8]) -> Getopt<'a> {
        Getopt {
            args,
            spec: spec.as_bytes(),
            prog,
            ind: 1,
            pos: 0,
            quiet: false,
        }
    }

    /// The same parse without the error lines: for callers that only look at the items,
    /// such as the fuzzer (src/fuzzing.rs), whose millions of inputs must not flood stderr.
    pub fn quiet(mut self) -> Getopt<'a> {
        self.quiet = true;
        self
    }

    /// The operands left after option parsing.
    pub fn rest(&self) -> &'a [Vec<u8>] {
        self.args.get(self.ind..).unwrap_or(&[])
    }
}

impl<'a> Iterator for Getopt<'a> {
    type Item = Opt<'a>;
    fn next(&mut self) -> Option<Opt<'a>> {
        if self.pos == 0 {
            let a = self.args.get(self.ind)?;
            if a.len() < 2 || a[0] != b'-' {
                return None;
            }
            // runit: any `--…` ends the options, not only `--` itself.
            if a.starts_with(b"--") {
                self.ind += 1;
                return None;
            }
            self.pos = 1;
        }
        let a = &self.args[self.ind];
        let c = a[self.pos];
        self.pos += 1;
        let at_end = self.pos >= a.len();
        let spec_at = self.spec.iter().position(|&s| s == c && s != b':');
        let takes_arg = spec_at
            .map(|i| self.spec.get(i + 1) == Some(&b':'))
            .unwrap_or(false);
        if spec_at.is_none() {
            if at_end {
                self.ind += 1;
                self.pos = 0;
            }
            if !self.quiet {
                msg::err(&[self.prog, b": illegal option -- ", &[c]]);
            }
            return Some(Opt::Error);
        }
        if !takes_arg {
            if at_end {
                self.ind += 1;
                self.pos = 0;
            }
            return Some(Opt::Flag(c, None));
        }
        if !at_end {
            let arg = &a[self.pos..];
            self.ind += 1;
            self.pos = 0;
            return Some(Opt::Flag(c, Some(arg)));
        }
        self.ind += 1;
        self.pos = 0;
        match self.args.get(self.ind) {
            Some(arg) => {
                self.ind += 1;
                Some(Opt::Flag(c, Some(arg)))
            }
            None => {
                if !self.quiet {
                    msg::err(&[self.prog, b": option requires an argument -- ", &[c]]);
                }
                Some(Opt::Error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn v(a: &[&str]) -> Vec<Vec<u8>> {
        a.iter().map(|s| s.as_bytes().to_vec()).collect()
    }
    #[test]
    fn bundles_and_arguments() {
        let a = v(&["sv", "-vw5", "-w", "7", "up", "-v"]);
        let mut g = Getopt::new(&a, "vw:V", b"sv");
        assert_eq!(g.next(), Some(Opt::Flag(b'v', None)));
        assert_eq!(g.next(), Some(Opt::Flag(b'w', Some(&b"5"[..]))));
        assert_eq!(g.next(), Some(Opt::Flag(b'w', Some(&b"7"[..]))));
        assert_eq!(g.next(), None);
        assert_eq!(g.rest(), &a[4..]);
    }
    #[test]
    fn double_dash_and_lone_dash() {
        let a = v(&["x", "--", "-v"]);
        let mut g = Getopt::new(&a, "v", b"x");
        assert_eq!(g.next(), None);
        assert_eq!(g.rest(), &a[2..]);
        let a = v(&["x", "-", "-v"]);
        let mut g = Getopt::new(&a, "v", b"x");
        assert_eq!(g.next(), None);
        assert_eq!(g.ind, 1);
    }
    #[test]
    fn any_double_dash_argument_ends_options() {
        // Observed with Debian's chpst, sv, svlogd and utmpset: `--x`, `---` and `--help`
        // are consumed like `--`; what follows is an operand even if it looks like an option.
        for dd in ["--", "--x", "---", "--help", "--v"] {
            let a = v(&["x", "-v", dd, "-v", "op"]);
            let mut g = Getopt::new(&a, "v", b"x");
            assert_eq!(g.next(), Some(Opt::Flag(b'v', None)), "{dd}");
            assert_eq!(g.next(), None, "{dd}");
            assert_eq!(g.rest(), &a[3..], "{dd}");
        }
    }
    #[test]
    fn dash_inside_a_bundle_is_an_illegal_option() {
        // `-v--`, `-v-`, `-v-x`: `-` is looked up as an option letter (observed).
        for bundle in ["-v--", "-v-", "-v-x"] {
            let a = v(&["x", bundle, "op"]);
            let mut g = Getopt::new(&a, "v", b"x");
            assert_eq!(g.next(), Some(Opt::Flag(b'v', None)), "{bundle}");
            assert_eq!(g.next(), Some(Opt::Error), "{bundle}");
        }
        // `:` is never an option letter, even though the spec string holds it (observed).
        let a = v(&["x", "-:", "op"]);
        assert_eq!(Getopt::new(&a, "w:", b"x").next(), Some(Opt::Error));
    }
    #[test]
    fn arguments_may_look_like_double_dash() {
        // `-w--` and `-w --x` give `-w` the argument `--` / `--x` (observed with sv, svlogd).
        let a = v(&["x", "-w--", "-w", "--x", "op"]);
        let mut g = Getopt::new(&a, "w:", b"x");
        assert_eq!(g.next(), Some(Opt::Flag(b'w', Some(&b"--"[..]))));
        assert_eq!(g.next(), Some(Opt::Flag(b'w', Some(&b"--x"[..]))));
        assert_eq!(g.next(), None);
        assert_eq!(g.rest(), &a[4..]);
    }
    #[test]
    fn errors() {
        let a = v(&["x", "-q", "-w"]);
        let mut g = Getopt::new(&a, "w:", b"x");
        assert_eq!(g.next(), Some(Opt::Error));
        assert_eq!(g.next(), Some(Opt::Error));
        assert_eq!(g.next(), None);
    }
}

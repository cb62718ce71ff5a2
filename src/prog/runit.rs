//! `runit`: not implemented yet.

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let _ = args;
    crate::msg::err(&[b"runit: fatal: not implemented yet"]);
    111
}

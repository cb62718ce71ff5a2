//! `sv`: not implemented yet.

/// Entry point.
pub fn main(args: Vec<Vec<u8>>) -> i32 {
    let _ = args;
    111
}

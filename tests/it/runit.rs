//! Integration tests for `runit`.
#[allow(unused_imports)]
use crate::common::*;

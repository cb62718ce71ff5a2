//! Integration tests for `runsvdir`.
#[allow(unused_imports)]
use crate::common::*;

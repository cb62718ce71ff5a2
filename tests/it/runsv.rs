//! Integration tests for `runsv`.
#[allow(unused_imports)]
use crate::common::*;

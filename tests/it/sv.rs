//! Integration tests for `sv`.
#[allow(unused_imports)]
use crate::common::*;

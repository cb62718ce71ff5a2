//! Integration tests for `chpst`.
#[allow(unused_imports)]
use crate::common::*;

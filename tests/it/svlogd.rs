//! Integration tests for `svlogd`.
#[allow(unused_imports)]
use crate::common::*;

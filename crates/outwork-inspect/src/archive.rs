//! Archives (in progress).
use crate::{Budget, Finding, Limits};

pub fn is_archive(_data: &[u8]) -> bool {
    false
}

pub fn inspect_archive(_path: &str, _data: &[u8], _passwords: &[String], _limits: &Limits, _depth: usize, _budget: &mut Budget, _out: &mut Vec<Finding>) {}

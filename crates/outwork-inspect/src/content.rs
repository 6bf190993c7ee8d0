//! Content inspectors (in progress).
use crate::Finding;

pub fn inspect_content(_path: &str, _data: &[u8], _out: &mut Vec<Finding>) {}

//! The last line of defence around parsers fed hostile bytes: a panic in
//! one (ours or a third-party decoder's) must not take the scan down, and
//! must not pass silently either: callers turn [`Panicked`] into a
//! [`Finding::Malformed`](crate::Finding::Malformed) whose `what` starts
//! with [`FAILED`], which tests assert is absent.

/// Start of the `what` of every finding that reports a caught panic.
pub const FAILED: &str = "inspector failed";

/// A guarded step panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{FAILED}: a parser panicked on hostile input")]
pub(crate) struct Panicked;

/// Run `f`, turning a panic into [`Panicked`].
pub(crate) fn run<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| Panicked)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_becomes_an_error_and_a_value_passes_through() {
        assert_eq!(super::run(|| 7), Ok(7));
        let r: Result<(), _> = super::run(|| panic!("hostile"));
        assert_eq!(r, Err(super::Panicked));
    }
}

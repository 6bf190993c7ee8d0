//! Feed formats (in progress).

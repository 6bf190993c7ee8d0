//! Safe Browsing URL canonicalisation and expressions (in progress).

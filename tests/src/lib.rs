//! Shared helpers for end-to-end tests that start real samla processes.
#![forbid(unsafe_code)]

//! Integration tests of the web UI: every page as every role over a real listener, and the
//! main flows in headless Chromium.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "tests fail by panicking"
)]

mod browser;
mod pages;
mod support;

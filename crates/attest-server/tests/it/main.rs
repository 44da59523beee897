//! Integration tests of the web UI: every page as every role over a real listener, and the
//! main flows in headless Chromium.

mod browser;
mod pages;
mod support;

//! Collectors: they gather facts from a source and never decide pass or fail.
//!
//! The host collector reads a root folder — the live system (`/`), a mounted disk image, a
//! container's root filesystem or a test fixture — the same way, through [`RootFs`]. Facts
//! that only a running system can give (effective `sshd -T`, listening sockets, live sysctl
//! values) are gathered only for the live root and are unknown, with the reason, otherwise.

#![deny(
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::arithmetic_side_effects
)]
#![allow(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "the tools whose files we read (sysctl, systemd, apt) match names case-sensitively, and so must we"
)]

pub mod host;
pub mod rootfs;

pub use rootfs::{RootFs, Unknown};

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

pub mod host;
pub mod rootfs;

pub use rootfs::{RootFs, Unknown};

/// Collects host facts from `root` (`/` is the live system) as JSON.
pub fn collect_host_json(root: &std::path::Path) -> serde_json::Value {
    let live = root == std::path::Path::new("/");
    let facts = host::collect(&RootFs::new(root, live), jiff::Timestamp::now());
    serde_json::to_value(facts).unwrap_or_default()
}

//! A fresh schema per test, for tests of this crate and of crates built on it (feature
//! `testing`): `ATTEST_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`)
//! names the database; a test without it fails with a message saying so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "test support: failing means panicking"
)]

use std::sync::atomic::{AtomicU64, Ordering};

use attest_ledger::SigningKey;

use crate::PostgresStore;

/// The database tests run against.
pub fn server_url() -> String {
    std::env::var("ATTEST_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A client of the test database, to create and drop schemas.
pub fn admin() -> postgres::Client {
    let url = server_url();
    postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "these tests need PostgreSQL at {url} (set ATTEST_TEST_POSTGRES to another URL): {e}"
        )
    })
}

/// A schema of its own for one test, dropped with the guard.
pub struct Schema {
    name: String,
}

impl Default for Schema {
    fn default() -> Self {
        Self::new()
    }
}

impl Schema {
    /// Creates a schema with a unique name.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "t_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin()
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        Schema { name }
    }

    /// A URL whose connections work in this schema (and, to spare the disk, do not wait for
    /// their commits to be flushed: durability is the server's, not under test here).
    pub fn url(&self) -> String {
        let base = server_url();
        let separator = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{separator}options=-csearch_path%3D{}%20-csynchronous_commit%3Doff",
            self.name
        )
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A store in this schema, signing with the conformance key.
    pub fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.url())
            .unwrap()
            .with_signing_key(SigningKey::from_seed(attest_store::conformance::KEY_SEED))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = admin().batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
    }
}

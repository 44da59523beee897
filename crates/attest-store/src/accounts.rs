//! Who may use the server: users, agent hosts, sessions and failed logins.
//!
//! Secrets are never stored: a user's password only as its argon2id hash (PHC string), an
//! agent token and a session id only as their SHA-256. Every change to a user or a host
//! appends a ledger entry (`user.added`, `user.password_changed`, `user.disabled`,
//! `user.enabled`, `host.added`, `host.token_rotated`, `host.revoked`) naming who made it, in
//! the same transaction; its payload never holds a hash or a token.

use attest_model::Role;
use jiff::Timestamp;

use crate::StoreError;

/// A person who can log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Backend id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Role (never [`Role::Agent`]).
    pub role: Role,
    /// argon2id hash of the password, as a PHC string.
    pub password_hash: String,
    /// When the user was added.
    pub created_at: Timestamp,
    /// Whether the user may no longer log in.
    pub disabled: bool,
}

/// A user to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewUser<'a> {
    /// Login name.
    pub name: &'a str,
    /// Role (never [`Role::Agent`]).
    pub role: Role,
    /// argon2id hash of the password, as a PHC string.
    pub password_hash: &'a str,
}

/// A host whose agent may push reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Backend id.
    pub id: i64,
    /// Host name; reports of its agent must name it.
    pub name: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// When its token was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// A logged-in user's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its user.
    pub user: User,
    /// The token every state-changing request of the session must carry.
    pub csrf_token: String,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// Who changes an account, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// A user name, or `attest` for the command line.
    pub by: &'a str,
    /// When.
    pub at: Timestamp,
}

/// Where the server keeps users, hosts, sessions and failed logins.
pub trait AccountStore: Send + Sync {
    /// Adds a user; `user.added` in the ledger. A taken name is [`StoreError::Exists`]; a
    /// user may not have the agent role ([`StoreError::Invalid`]).
    fn add_user(&self, user: &NewUser<'_>, actor: Actor<'_>) -> Result<User, StoreError>;

    /// Replaces a user's password hash; `user.password_changed` in the ledger.
    fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        actor: Actor<'_>,
    ) -> Result<(), StoreError>;

    /// Disables or enables a user, ending their sessions; `user.disabled` or `user.enabled`.
    fn set_disabled(&self, name: &str, disabled: bool, actor: Actor<'_>) -> Result<(), StoreError>;

    /// The user called `name`.
    fn user(&self, name: &str) -> Result<Option<User>, StoreError>;

    /// Every user, by name.
    fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Adds a host whose agent token hashes to `token_sha256`; `host.added` in the ledger.
    /// A taken name is [`StoreError::Exists`].
    fn add_host(
        &self,
        name: &str,
        token_sha256: &[u8; 32],
        actor: Actor<'_>,
    ) -> Result<Host, StoreError>;

    /// Gives a host a new token (also un-revoking it); `host.token_rotated` in the ledger.
    fn rotate_host_token(
        &self,
        name: &str,
        token_sha256: &[u8; 32],
        actor: Actor<'_>,
    ) -> Result<Host, StoreError>;

    /// Revokes a host's token; `host.revoked` in the ledger.
    fn revoke_host(&self, name: &str, actor: Actor<'_>) -> Result<Host, StoreError>;

    /// The unrevoked host whose token hashes to `token_sha256`.
    fn host_by_token(&self, token_sha256: &[u8; 32]) -> Result<Option<Host>, StoreError>;

    /// Every host, by name.
    fn hosts(&self) -> Result<Vec<Host>, StoreError>;

    /// Starts a session for user `user_id`, known by the SHA-256 of its id.
    fn create_session(
        &self,
        id_sha256: &[u8; 32],
        user_id: i64,
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// The session whose id hashes to `id_sha256`, if it has not expired by `now` and its
    /// user is not disabled.
    fn session(&self, id_sha256: &[u8; 32], now: Timestamp) -> Result<Option<Session>, StoreError>;

    /// Ends a session.
    fn delete_session(&self, id_sha256: &[u8; 32]) -> Result<(), StoreError>;

    /// Notes a failed login under `key` (a user name, or a client address).
    fn record_login_failure(&self, key: &str, at: Timestamp) -> Result<(), StoreError>;

    /// Failed logins under `key` since `since`.
    fn login_failures(&self, key: &str, since: Timestamp) -> Result<u64, StoreError>;

    /// Forgets the failed logins under `key` (after a successful login).
    fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;
}

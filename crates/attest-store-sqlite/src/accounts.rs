//! Users, agent hosts, sessions and failed logins in SQLite (migration 5).

use attest_model::Role;
use attest_store::StoreError;
use attest_store::accounts::{AccountStore, Actor, Host, NewUser, Session, User};
use attest_store::payload::{self, account};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::ledger::LedgerWriter;
use crate::{SqliteStore, db_err};

fn time(seconds: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_second(seconds).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}

const USER_COLUMNS: &str = "id, name, role, password_hash, created_at, disabled";

fn user_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        role: crate::history::parse_column::<Role>(row, 2)?,
        password_hash: row.get(3)?,
        created_at: time(row.get(4)?)?,
        disabled: row.get::<_, i64>(5)? != 0,
    })
}

fn host_row(row: &Row<'_>) -> rusqlite::Result<Host> {
    Ok(Host {
        id: row.get(0)?,
        name: row.get(1)?,
        created_at: time(row.get(2)?)?,
        revoked_at: row.get::<_, Option<i64>>(3)?.map(time).transpose()?,
    })
}

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

fn unknown(what: &'static str, name: &str) -> StoreError {
    StoreError::Unknown {
        what,
        name: name.to_owned(),
    }
}

/// Appends the ledger entry of an account change.
fn log(
    tx: &Transaction<'_>,
    ledger: &mut LedgerWriter<'_>,
    kind: &str,
    name: &str,
    role: Option<Role>,
    actor: Actor<'_>,
) -> Result<(), StoreError> {
    let entry = payload::account_changed(name, role.map(Role::as_str), actor.by);
    ledger.append(tx, actor.at.as_second(), kind, &entry, true)?;
    Ok(())
}

fn host_by_name(tx: &Transaction<'_>, name: &str) -> Result<Host, StoreError> {
    tx.query_row(
        "SELECT id, name, created_at, revoked_at FROM hosts WHERE name = ?1",
        params![name],
        host_row,
    )
    .optional()
    .map_err(db_err)?
    .ok_or_else(|| unknown("host", name))
}

impl AccountStore for SqliteStore {
    fn add_user(&self, user: &NewUser<'_>, actor: Actor<'_>) -> Result<User, StoreError> {
        if user.role == Role::Agent {
            return Err(StoreError::Invalid(
                "a user cannot have the agent role; agents are hosts (`attest hosts add`)".into(),
            ));
        }
        self.write(|tx, ledger| {
            let id = tx
                .query_row(
                    "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
                     RETURNING id",
                    params![
                        user.name,
                        user.role.as_str(),
                        user.password_hash,
                        actor.at.as_second()
                    ],
                    |r| r.get(0),
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Exists {
                            what: "user",
                            name: user.name.to_owned(),
                        }
                    } else {
                        db_err(e)
                    }
                })?;
            log(tx, ledger, account::USER_ADDED, user.name, Some(user.role), actor)?;
            Ok(User {
                id,
                name: user.name.to_owned(),
                role: user.role,
                password_hash: user.password_hash.to_owned(),
                created_at: Timestamp::from_second(actor.at.as_second())
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
                disabled: false,
            })
        })
    }

    fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        actor: Actor<'_>,
    ) -> Result<(), StoreError> {
        self.write(|tx, ledger| {
            let changed = tx
                .execute(
                    "UPDATE users SET password_hash = ?2 WHERE name = ?1",
                    params![name, password_hash],
                )
                .map_err(db_err)?;
            if changed == 0 {
                return Err(unknown("user", name));
            }
            log(
                tx,
                ledger,
                account::USER_PASSWORD_CHANGED,
                name,
                None,
                actor,
            )
        })
    }

    fn set_disabled(&self, name: &str, disabled: bool, actor: Actor<'_>) -> Result<(), StoreError> {
        self.write(|tx, ledger| {
            let id: i64 = tx
                .query_row("SELECT id FROM users WHERE name = ?1", params![name], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db_err)?
                .ok_or_else(|| unknown("user", name))?;
            tx.execute(
                "UPDATE users SET disabled = ?2 WHERE id = ?1",
                params![id, i64::from(disabled)],
            )
            .map_err(db_err)?;
            if disabled {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", params![id])
                    .map_err(db_err)?;
            }
            let kind = if disabled {
                account::USER_DISABLED
            } else {
                account::USER_ENABLED
            };
            log(tx, ledger, kind, name, None, actor)
        })
    }

    fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let conn = self.reader();
        conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"))
            .map_err(db_err)?
            .query_row(params![name], user_row)
            .optional()
            .map_err(db_err)
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
            .map_err(db_err)?;
        let rows = stmt.query_map([], user_row).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn add_host(
        &self,
        name: &str,
        token_sha256: &[u8; 32],
        actor: Actor<'_>,
    ) -> Result<Host, StoreError> {
        self.write(|tx, ledger| {
            tx.execute(
                "INSERT INTO hosts (name, token_sha256, created_at) VALUES (?1, ?2, ?3)",
                params![name, token_sha256.as_slice(), actor.at.as_second()],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Exists {
                        what: "host",
                        name: name.to_owned(),
                    }
                } else {
                    db_err(e)
                }
            })?;
            log(tx, ledger, account::HOST_ADDED, name, None, actor)?;
            host_by_name(tx, name)
        })
    }

    fn rotate_host_token(
        &self,
        name: &str,
        token_sha256: &[u8; 32],
        actor: Actor<'_>,
    ) -> Result<Host, StoreError> {
        self.write(|tx, ledger| {
            let changed = tx
                .execute(
                    "UPDATE hosts SET token_sha256 = ?2, revoked_at = NULL WHERE name = ?1",
                    params![name, token_sha256.as_slice()],
                )
                .map_err(db_err)?;
            if changed == 0 {
                return Err(unknown("host", name));
            }
            log(tx, ledger, account::HOST_TOKEN_ROTATED, name, None, actor)?;
            host_by_name(tx, name)
        })
    }

    fn revoke_host(&self, name: &str, actor: Actor<'_>) -> Result<Host, StoreError> {
        self.write(|tx, ledger| {
            let changed = tx
                .execute(
                    "UPDATE hosts SET revoked_at = COALESCE(revoked_at, ?2) WHERE name = ?1",
                    params![name, actor.at.as_second()],
                )
                .map_err(db_err)?;
            if changed == 0 {
                return Err(unknown("host", name));
            }
            log(tx, ledger, account::HOST_REVOKED, name, None, actor)?;
            host_by_name(tx, name)
        })
    }

    fn host_by_token(&self, token_sha256: &[u8; 32]) -> Result<Option<Host>, StoreError> {
        let conn = self.reader();
        conn.prepare_cached(
            "SELECT id, name, created_at, revoked_at FROM hosts
             WHERE token_sha256 = ?1 AND revoked_at IS NULL",
        )
        .map_err(db_err)?
        .query_row(params![token_sha256.as_slice()], host_row)
        .optional()
        .map_err(db_err)
    }

    fn hosts(&self) -> Result<Vec<Host>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT id, name, created_at, revoked_at FROM hosts ORDER BY name")
            .map_err(db_err)?;
        let rows = stmt.query_map([], host_row).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn create_session(
        &self,
        id_sha256: &[u8; 32],
        user_id: i64,
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        // Sessions long expired are swept as new ones start (no session lasts 30 days).
        conn.execute(
            "DELETE FROM sessions WHERE expires_at < ?1",
            params![expires_at.as_second().saturating_sub(30 * 86_400)],
        )
        .map_err(db_err)?;
        conn.execute(
            "INSERT INTO sessions (id_sha256, user_id, csrf_token, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![id_sha256.as_slice(), user_id, csrf_token, expires_at.as_second()],
        )
        .map_err(db_err)?;
        Ok(())
    }

    fn session(&self, id_sha256: &[u8; 32], now: Timestamp) -> Result<Option<Session>, StoreError> {
        let conn = self.reader();
        conn.prepare_cached(
            "SELECT u.id, u.name, u.role, u.password_hash, u.created_at, u.disabled,
                    s.csrf_token, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_sha256 = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
        )
        .map_err(db_err)?
        .query_row(params![id_sha256.as_slice(), now.as_second()], |row| {
            Ok(Session {
                user: user_row(row)?,
                csrf_token: row.get(6)?,
                expires_at: time(row.get(7)?)?,
            })
        })
        .optional()
        .map_err(db_err)
    }

    fn delete_session(&self, id_sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "DELETE FROM sessions WHERE id_sha256 = ?1",
                params![id_sha256.as_slice()],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn record_login_failure(&self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        let conn = self.conn();
        // Failures older than a day no longer count for any limit.
        conn.execute(
            "DELETE FROM login_failures WHERE at < ?1",
            params![at.as_second().saturating_sub(86_400)],
        )
        .map_err(db_err)?;
        conn.execute(
            "INSERT INTO login_failures (key, at) VALUES (?1, ?2)",
            params![key, at.as_second()],
        )
        .map_err(db_err)?;
        Ok(())
    }

    fn login_failures(&self, key: &str, since: Timestamp) -> Result<u64, StoreError> {
        let count: i64 = self
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM login_failures WHERE key = ?1 AND at >= ?2",
                params![key, since.as_second()],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        self.reader()
            .execute("DELETE FROM login_failures WHERE key = ?1", params![key])
            .map_err(db_err)?;
        Ok(())
    }
}

//! Users, agent hosts, sessions and failed logins in PostgreSQL (migration 2).
//!
//! Changes to users and hosts are ledger writes (under the ledger head lock, so a name is
//! checked and taken in one step on every server); sessions and failed logins are single
//! statements outside the ledger.

use attest_model::Role;
use attest_store::StoreError;
use attest_store::accounts::{AccountStore, Actor, Host, NewUser, Session, User};
use attest_store::payload::{self, account};
use jiff::Timestamp;
use postgres::Row;

use crate::ledger::LedgerWriter;
use crate::pool::Db;
use crate::{PostgresStore, get, parse, timestamp};

fn user_row(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: get(row, 0)?,
        name: get(row, 1)?,
        role: parse::<Role>(row, 2)?,
        password_hash: get(row, 3)?,
        created_at: timestamp(row, 4)?,
        disabled: get(row, 5)?,
    })
}

fn host_row(row: &Row) -> Result<Host, StoreError> {
    Ok(Host {
        id: get(row, 0)?,
        name: get(row, 1)?,
        created_at: timestamp(row, 2)?,
        revoked_at: get::<Option<i64>>(row, 3)?
            .map(|s| {
                Timestamp::from_second(s).map_err(|e| StoreError::Database(format!("host: {e}")))
            })
            .transpose()?,
    })
}

fn unknown(what: &'static str, name: &str) -> StoreError {
    StoreError::Unknown {
        what,
        name: name.to_owned(),
    }
}

/// Appends the ledger entry of an account change.
fn log(
    db: &mut Db<'_>,
    ledger: &mut LedgerWriter<'_>,
    kind: &str,
    name: &str,
    role: Option<Role>,
    actor: Actor<'_>,
) -> Result<(), StoreError> {
    let entry = payload::account_changed(name, role.map(Role::as_str), actor.by);
    ledger.append(db, actor.at.as_second(), kind, &entry, true)?;
    Ok(())
}

impl AccountStore for PostgresStore {
    fn add_user(&self, user: &NewUser<'_>, actor: Actor<'_>) -> Result<User, StoreError> {
        if user.role == Role::Agent {
            return Err(StoreError::Invalid(
                "a user cannot have the agent role; agents are hosts (`attest hosts add`)".into(),
            ));
        }
        self.write(|db, ledger| {
            let row = db
                .query_opt(
                    "INSERT INTO users (id, name, role, password_hash, created_at)
                     SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4 FROM users
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                    &[
                        &user.name,
                        &user.role.as_str(),
                        &user.password_hash,
                        &actor.at.as_second(),
                    ],
                )?
                .ok_or_else(|| StoreError::Exists {
                    what: "user",
                    name: user.name.to_owned(),
                })?;
            log(
                db,
                ledger,
                account::USER_ADDED,
                user.name,
                Some(user.role),
                actor,
            )?;
            Ok(User {
                id: get(&row, 0)?,
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
        self.write(|db, ledger| {
            let changed = db.execute(
                "UPDATE users SET password_hash = $2 WHERE name = $1",
                &[&name, &password_hash],
            )?;
            if changed == 0 {
                return Err(unknown("user", name));
            }
            log(
                db,
                ledger,
                account::USER_PASSWORD_CHANGED,
                name,
                None,
                actor,
            )
        })
    }

    fn set_disabled(&self, name: &str, disabled: bool, actor: Actor<'_>) -> Result<(), StoreError> {
        self.write(|db, ledger| {
            let row = db
                .query_opt(
                    "UPDATE users SET disabled = $2 WHERE name = $1 RETURNING id",
                    &[&name, &disabled],
                )?
                .ok_or_else(|| unknown("user", name))?;
            if disabled {
                let id: i64 = get(&row, 0)?;
                db.execute("DELETE FROM sessions WHERE user_id = $1", &[&id])?;
            }
            let kind = if disabled {
                account::USER_DISABLED
            } else {
                account::USER_ENABLED
            };
            log(db, ledger, kind, name, None, actor)
        })
    }

    fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.once(|db| {
            db.query_opt(
                "SELECT id, name, role, password_hash, created_at, disabled FROM users WHERE name = $1",
                &[&name],
            )?
            .as_ref()
            .map(user_row)
            .transpose()
        })
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.once(|db| {
            db.query(
                "SELECT id, name, role, password_hash, created_at, disabled FROM users ORDER BY name",
                &[],
            )?
            .iter()
            .map(user_row)
            .collect()
        })
    }

    fn add_host(
        &self,
        name: &str,
        token_sha256: &[u8; 32],
        actor: Actor<'_>,
    ) -> Result<Host, StoreError> {
        self.write(|db, ledger| {
            let host = db
                .query_opt(
                    "INSERT INTO hosts (id, name, token_sha256, created_at)
                     SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3 FROM hosts
                     ON CONFLICT (name) DO NOTHING RETURNING id, name, created_at, revoked_at",
                    &[&name, &&token_sha256[..], &actor.at.as_second()],
                )?
                .ok_or_else(|| StoreError::Exists {
                    what: "host",
                    name: name.to_owned(),
                })?;
            log(db, ledger, account::HOST_ADDED, name, None, actor)?;
            host_row(&host)
        })
    }

    fn rotate_host_token(
        &self,
        name: &str,
        token_sha256: &[u8; 32],
        actor: Actor<'_>,
    ) -> Result<Host, StoreError> {
        self.write(|db, ledger| {
            let host = db
                .query_opt(
                    "UPDATE hosts SET token_sha256 = $2, revoked_at = NULL WHERE name = $1
                     RETURNING id, name, created_at, revoked_at",
                    &[&name, &&token_sha256[..]],
                )?
                .ok_or_else(|| unknown("host", name))?;
            log(db, ledger, account::HOST_TOKEN_ROTATED, name, None, actor)?;
            host_row(&host)
        })
    }

    fn revoke_host(&self, name: &str, actor: Actor<'_>) -> Result<Host, StoreError> {
        self.write(|db, ledger| {
            let host = db
                .query_opt(
                    "UPDATE hosts SET revoked_at = COALESCE(revoked_at, $2) WHERE name = $1
                     RETURNING id, name, created_at, revoked_at",
                    &[&name, &actor.at.as_second()],
                )?
                .ok_or_else(|| unknown("host", name))?;
            log(db, ledger, account::HOST_REVOKED, name, None, actor)?;
            host_row(&host)
        })
    }

    fn host_by_token(&self, token_sha256: &[u8; 32]) -> Result<Option<Host>, StoreError> {
        self.once(|db| {
            db.query_opt(
                "SELECT id, name, created_at, revoked_at FROM hosts
                 WHERE token_sha256 = $1 AND revoked_at IS NULL",
                &[&&token_sha256[..]],
            )?
            .as_ref()
            .map(host_row)
            .transpose()
        })
    }

    fn hosts(&self) -> Result<Vec<Host>, StoreError> {
        self.once(|db| {
            db.query(
                "SELECT id, name, created_at, revoked_at FROM hosts ORDER BY name",
                &[],
            )?
            .iter()
            .map(host_row)
            .collect()
        })
    }

    fn create_session(
        &self,
        id_sha256: &[u8; 32],
        user_id: i64,
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        // Sessions long expired are swept as new ones start (no session lasts 30 days).
        let expires = expires_at.as_second();
        self.once(|db| {
            db.execute(
                "WITH swept AS (DELETE FROM sessions WHERE expires_at < $5)
                 INSERT INTO sessions (id_sha256, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    &&id_sha256[..],
                    &user_id,
                    &csrf_token,
                    &expires,
                    &expires.saturating_sub(30 * 86_400),
                ],
            )
        })?;
        Ok(())
    }

    fn session(&self, id_sha256: &[u8; 32], now: Timestamp) -> Result<Option<Session>, StoreError> {
        self.once(|db| {
            db.query_opt(
                "SELECT u.id, u.name, u.role, u.password_hash, u.created_at, u.disabled,
                        s.csrf_token, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id_sha256 = $1 AND s.expires_at > $2 AND NOT u.disabled",
                &[&&id_sha256[..], &now.as_second()],
            )?
            .map(|row| {
                Ok(Session {
                    user: user_row(&row)?,
                    csrf_token: get(&row, 6)?,
                    expires_at: timestamp(&row, 7)?,
                })
            })
            .transpose()
        })
    }

    fn delete_session(&self, id_sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.once(|db| {
            db.execute(
                "DELETE FROM sessions WHERE id_sha256 = $1",
                &[&&id_sha256[..]],
            )
        })?;
        Ok(())
    }

    fn record_login_failure(&self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        // Failures older than a day no longer count for any limit.
        let at = at.as_second();
        self.once(|db| {
            db.execute(
                "WITH swept AS (DELETE FROM login_failures WHERE at < $3)
                 INSERT INTO login_failures (key, at) VALUES ($1, $2)",
                &[&key, &at, &at.saturating_sub(86_400)],
            )
        })?;
        Ok(())
    }

    fn login_failures(&self, key: &str, since: Timestamp) -> Result<u64, StoreError> {
        let count: i64 = self.once(|db| {
            let row = db.query_one(
                "SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2",
                &[&key, &since.as_second()],
            )?;
            get(&row, 0)
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        self.once(|db| db.execute("DELETE FROM login_failures WHERE key = $1", &[&key]))?;
        Ok(())
    }
}

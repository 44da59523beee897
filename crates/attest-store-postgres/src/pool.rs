//! A small pool of connections, each with its own cache of prepared statements.
//!
//! Readers and the writer each take a connection of their own, so reads do not wait for a
//! write to commit. Connections are opened on demand up to the pool's size; a caller finding
//! them all busy waits for one to be returned, up to [`ACQUIRE_TIMEOUT`]. A connection the
//! server closed (or that failed mid-conversation) is dropped rather than returned.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use attest_store::StoreError;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Row, Statement, Transaction};

use crate::{db_err, describe};

/// How long a caller waits for a busy pool to return a connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a statement waits for a lock (a writer for the ledger head) before failing,
/// unless told otherwise.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// One connection and the statements prepared on it.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    /// A read-only transaction seeing one snapshot of the database throughout.
    pub(crate) fn read(&mut self) -> Result<Db<'_>, StoreError> {
        let tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db_err)?;
        Ok(Db {
            client: Inner::Tx(tx),
            statements: &mut self.statements,
        })
    }

    /// Statements run one by one, each its own transaction (one round trip each).
    pub(crate) fn plain(&mut self) -> Db<'_> {
        Db {
            client: Inner::Plain(&mut self.client),
            statements: &mut self.statements,
        }
    }

    /// A read-write transaction (read committed: each statement sees what committed before
    /// it, so a writer that waited for the ledger head lock then sees the previous write).
    pub(crate) fn write(&mut self) -> Result<Db<'_>, StoreError> {
        let tx = self.client.transaction().map_err(db_err)?;
        Ok(Db {
            client: Inner::Tx(tx),
            statements: &mut self.statements,
        })
    }

    /// The connection itself, outside any transaction (migrations, tests).
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// A transaction, or a connection outside any, with the connection's statement cache.
pub(crate) struct Db<'a> {
    client: Inner<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

enum Inner<'a> {
    Tx(Transaction<'a>),
    Plain(&'a mut Client),
}

/// Calls `$method` on the transaction or the client.
macro_rules! on_client {
    ($db:expr, $method:ident($($arg:expr),*)) => {
        match &mut $db.client {
            Inner::Tx(tx) => tx.$method($($arg),*),
            Inner::Plain(client) => client.$method($($arg),*),
        }
        .map_err(db_err)
    };
}

impl Db<'_> {
    /// `sql` prepared once per connection.
    pub(crate) fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = on_client!(self, prepare(sql))?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Rows of `sql`.
    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        on_client!(self, query(&statement, params))
    }

    /// The one row of `sql`.
    pub(crate) fn query_one(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        let statement = self.statement(sql)?;
        on_client!(self, query_one(&statement, params))
    }

    /// The row of `sql`, if any.
    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let statement = self.statement(sql)?;
        on_client!(self, query_opt(&statement, params))
    }

    /// Runs `sql`; returns the number of rows it changed.
    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        on_client!(self, execute(&statement, params))
    }

    /// Visits the rows of `query` through a cursor, `chunk` rows per round trip, until `visit`
    /// returns false; in a transaction only. A cursor's plan favours the first rows (index
    /// order over sorting), so a long ordered read streams instead of sorting it all first.
    pub(crate) fn visit_cursor(
        &mut self,
        query: &str,
        chunk: u32,
        visit: &mut dyn FnMut(&Row) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let Inner::Tx(tx) = &mut self.client else {
            return Err(StoreError::Database("a cursor needs a transaction".into()));
        };
        tx.batch_execute(&format!(
            "DECLARE attest_visit NO SCROLL CURSOR FOR {query}"
        ))
        .map_err(db_err)?;
        let fetch = format!("FETCH {chunk} FROM attest_visit");
        loop {
            let rows = tx.query(fetch.as_str(), &[]).map_err(db_err)?;
            let done = rows.len() < usize::try_from(chunk).unwrap_or(0);
            for row in &rows {
                if !visit(row)? {
                    return tx.batch_execute("CLOSE attest_visit").map_err(db_err);
                }
            }
            if done {
                return tx.batch_execute("CLOSE attest_visit").map_err(db_err);
            }
        }
    }

    /// Commits (a transaction; outside one, every statement committed already).
    pub(crate) fn commit(self) -> Result<(), StoreError> {
        match self.client {
            Inner::Tx(tx) => tx.commit().map_err(db_err),
            Inner::Plain(_) => Ok(()),
        }
    }
}

/// The pool.
pub(crate) struct Pool {
    config: postgres::Config,
    size: usize,
    lock_timeout: Duration,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

impl Pool {
    /// A pool of up to `size` connections made with `config`; none is opened yet.
    pub(crate) fn new(config: postgres::Config, size: usize) -> Self {
        Pool {
            config,
            size: size.max(1),
            lock_timeout: LOCK_TIMEOUT,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        // The state is two plain fields, consistent whenever the lock is released.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a connection outside the pool's count.
    pub(crate) fn connect(&self) -> Result<Conn, StoreError> {
        let mut client = self.config.connect(NoTls).map_err(|e| {
            StoreError::Database(format!("cannot connect to PostgreSQL: {}", describe(&e)))
        })?;
        client
            .batch_execute(&format!(
                "SET lock_timeout = {}",
                self.lock_timeout.as_millis().max(1)
            ))
            .map_err(db_err)?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    /// An idle connection, a new one, or the next one returned.
    pub(crate) fn get(&self) -> Result<Pooled<'_>, StoreError> {
        let mut state = self.state();
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open = state.open.saturating_sub(1);
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(err) => {
                        self.state().open -= 1;
                        self.returned.notify_one();
                        Err(err)
                    }
                };
            }
            let (next, timeout) = self
                .returned
                .wait_timeout(state, ACQUIRE_TIMEOUT)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.size {
                return Err(StoreError::Database(format!(
                    "all {} connections to PostgreSQL stayed busy for {} s",
                    self.size,
                    ACQUIRE_TIMEOUT.as_secs()
                )));
            }
        }
    }

    /// Adds a connection opened with [`Pool::connect`] to the pool.
    pub(crate) fn adopt(&self, conn: Conn) {
        let mut state = self.state();
        state.open += 1;
        state.idle.push(conn);
        drop(state);
        self.returned.notify_one();
    }

    /// Changes how long statements of new connections wait for a lock; idle connections are
    /// closed, so that every connection handed out from now on has it.
    pub(crate) fn set_lock_timeout(&mut self, timeout: Duration) {
        self.lock_timeout = timeout;
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.open = state.open.saturating_sub(state.idle.len());
        state.idle.clear();
    }

    /// Changes the pool's size (at least 1).
    pub(crate) fn set_size(&mut self, size: usize) {
        self.size = size.max(1);
    }

    /// Connections open now, idle or in use.
    #[cfg(test)]
    pub(crate) fn open_connections(&self) -> usize {
        self.state().open
    }

    /// The pool's size.
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

/// A connection borrowed from the pool; returned when dropped.
pub(crate) struct Pooled<'p> {
    pool: &'p Pool,
    conn: Option<Conn>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        // INVARIANT: `conn` is `Some` until the guard is dropped.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let mut state = self.pool.state();
        if conn.client.is_closed() {
            state.open = state.open.saturating_sub(1);
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.pool.returned.notify_one();
    }
}

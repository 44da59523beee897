//! Copying the write-ahead log into the database on a thread of its own.
//!
//! In WAL mode a commit appends pages to the log; a checkpoint copies them into the database
//! file and syncs it. Left to the writer, each checkpoint is a pause in its commits. Here a
//! thread with its own connection copies what the log holds every [`EVERY`] (a passive
//! checkpoint: it waits for nobody), so when the writer's own checkpoint comes due
//! ([`WRITER_CHECKPOINT_PAGES`]) little is left to copy, and that checkpoint, run between two
//! of the writer's transactions, is what lets the log start again from its beginning.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use attest_store::StoreError;
use rusqlite::Connection;

use crate::db_err;

/// How often the background checkpoint runs.
const EVERY: Duration = Duration::from_millis(100);

/// Log size (pages) at which the writer checkpoints after a commit (SQLite's default is
/// 1,000): large enough that the background checkpoint has copied most of it by then.
pub(crate) const WRITER_CHECKPOINT_PAGES: i64 = 4_096;

/// The checkpoint thread; stops when dropped.
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`.
    pub(crate) fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("attest-checkpoint".into())
            .spawn(move || run(&conn, &stopped))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, stopped: &mpsc::Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
        if let Err(err) = checkpoint(conn) {
            // The writer's own checkpoints still bound the log; the next round tries again.
            tracing::warn!(error = %err, "a background checkpoint failed");
        }
    }
}

/// One passive checkpoint: copies what it can without waiting for readers or the writer.
fn checkpoint(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .map_err(db_err)
}

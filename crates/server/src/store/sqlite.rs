//! The embedded backend: one SQLite file, one writer connection behind a mutex (every write is an
//! immediate transaction), and a pool of read-only connections that, with WAL, see the last commit
//! and never wait behind a write's fsync.

use super::db::{Conn, DbError};
use super::migrations::MIGRATIONS;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How long a connection waits for the writer's lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Read connections in the pool: more than the blocking threads that usually read at once.
const READERS: u32 = 8;

pub(super) struct Sqlite {
    writer: Mutex<Connection>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// A throwaway database file, deleted when the store goes.
    temporary: Option<PathBuf>,
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        if let Some(path) = &self.temporary {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

fn cannot_open(message: String) -> DbError {
    let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN);
    DbError::Sqlite(rusqlite::Error::SqliteFailure(code, Some(message)))
}

impl Sqlite {
    pub(super) fn open(path: &Path, temporary: Option<PathBuf>) -> Result<Sqlite, DbError> {
        make_private(path).map_err(|e| cannot_open(format!("making {} private: {e}", path.display())))?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows (a key kept in plain text by an older version) leave no bytes behind.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        MIGRATIONS.to_latest(&mut conn).map_err(|e| match e {
            rusqlite_migration::Error::RusqliteError { err, .. } => DbError::Sqlite(err),
            other => DbError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(format!("migrating the database: {other}")),
            )),
        })?;
        super::meta::forget_plain_secret_key(&mut conn)?;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI)
            .with_init(|c| c.busy_timeout(BUSY_TIMEOUT));
        let readers = r2d2::Pool::builder()
            .max_size(READERS)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| cannot_open(format!("read pool: {e}")))?;
        Ok(Sqlite { writer: Mutex::new(conn), readers, temporary })
    }

    pub(super) fn write<R, E: From<DbError>>(&self, mut f: impl FnMut(&Conn<'_>) -> Result<R, E>) -> Result<R, E> {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(DbError::from)?;
        let result = f(&Conn::sqlite(&tx))?;
        tx.commit().map_err(DbError::from)?;
        Ok(result)
    }

    pub(super) fn read<R, E: From<DbError>>(&self, f: impl FnOnce(&Conn<'_>) -> Result<R, E>) -> Result<R, E> {
        let conn = self.readers.get().map_err(|e| DbError::Unreachable(e.to_string()))?;
        let tx = conn.unchecked_transaction().map_err(DbError::from)?;
        let result = f(&Conn::sqlite(&tx));
        drop(tx);
        result
    }

    pub(super) fn pool_state(&self) -> Option<r2d2::State> {
        Some(self.readers.state())
    }
}

/// The database file and its `-wal` and `-shm` hold the webhook signing secret, accounts and
/// sessions: only the server's user may read them. SQLite creates `-wal` and `-shm` with the main
/// file's mode, so the main file is created 0600 before SQLite opens it; files that others could
/// read (made by an older version) are tightened, with a warning.
#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(metadata) = std::fs::metadata(&file) else { continue };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            tracing::warn!(file = %file.display(), was = %format!("{mode:o}"), "the database file was readable by other users: made it 0600");
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_: &Path) -> std::io::Result<()> {
    Ok(())
}

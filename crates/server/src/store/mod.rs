//! SQLite storage: the schema, its migrations, and every row the server reads and writes (all the
//! SQL is here, one file per table or area).
//!
//! One writer connection behind a mutex: every request that writes runs in one immediate
//! transaction, so two confirms racing on one session are serialised and the second sees the
//! first's result. Reads use a pool of read-only connections; with WAL they see the last commit
//! and never wait behind a write's fsync. All database work runs on tokio's blocking threads,
//! never on the async workers.

use crate::error::AppError;
use billing::PlanId;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

mod accounts;
mod attempts;
mod challenges;
mod coupons;
mod events;
mod idempotency;
mod invoices;
mod meta;
mod migrations;
mod payment_methods;
mod promotion_codes;
mod redemptions;
mod sessions;
mod subscriptions;
mod webhook_deliveries;

pub use accounts::*;
pub use attempts::*;
pub use challenges::*;
pub use coupons::*;
pub use events::*;
pub use idempotency::*;
pub use invoices::*;
pub use meta::*;
use migrations::MIGRATIONS;
pub use payment_methods::*;
pub use promotion_codes::*;
pub use redemptions::*;
pub use sessions::*;
pub use subscriptions::*;
pub use webhook_deliveries::*;

/// How long a connection waits for the writer's lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Read connections in the pool: more than the blocking threads that usually read at once.
const READERS: u32 = 8;

#[derive(Clone)]
pub struct Store(Arc<Inner>);

struct Inner {
    writer: Mutex<Connection>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// A throwaway database file, deleted when the store goes.
    temporary: Option<PathBuf>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(path) = &self.temporary {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

impl Store {
    /// A database file, created if missing (readable by the server's user only), migrated to the
    /// current schema.
    pub fn open(path: &Path) -> Result<Store, rusqlite::Error> {
        Self::init(path, None)
    }

    /// A throwaway database (tests, `--db :memory:`): a private file in the temp directory, so
    /// it behaves exactly like a real one (WAL, separate readers), removed when the store goes.
    pub fn in_memory() -> Result<Store, rusqlite::Error> {
        let path = std::env::temp_dir().join(format!("kiro-checkout-{}.sqlite3", crate::ids::new_id("db")));
        Self::init(&path, Some(path.clone()))
    }

    fn init(path: &Path, temporary: Option<PathBuf>) -> Result<Store, rusqlite::Error> {
        make_private(path).map_err(|e| {
            let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN);
            rusqlite::Error::SqliteFailure(code, Some(format!("making {} private: {e}", path.display())))
        })?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows (a key kept in plain text by an older version) leave no bytes behind.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        MIGRATIONS.to_latest(&mut conn).map_err(|e| match e {
            rusqlite_migration::Error::RusqliteError { err, .. } => err,
            other => rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(format!("migrating the database: {other}")),
            ),
        })?;
        forget_plain_secret_key(&mut conn)?;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI)
            .with_init(|c| c.busy_timeout(BUSY_TIMEOUT));
        let readers = r2d2::Pool::builder().max_size(READERS).min_idle(Some(1)).build(manager).map_err(|e| {
            let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN);
            rusqlite::Error::SqliteFailure(code, Some(format!("read pool: {e}")))
        })?;
        Ok(Store(Arc::new(Inner { writer: Mutex::new(conn), readers, temporary })))
    }

    /// Runs `f` in one immediate transaction on a blocking thread, committed only when it
    /// returns `Ok`. A panic in `f` rolls back and becomes an internal error.
    pub async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, AppError> + Send + 'static,
    ) -> Result<R, AppError> {
        let store = self.clone();
        blocking(move || store.write_blocking(f)).await
    }

    /// [`Store::write`] for code that is not async (start-up, the demo).
    pub fn write_blocking<R>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<R, AppError>) -> Result<R, AppError> {
        let mut conn = self.0.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let result = f(&tx)?;
        tx.commit()?;
        Ok(result)
    }

    /// Runs a read on a pooled read-only connection, on a blocking thread.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, AppError> + Send + 'static,
    ) -> Result<R, AppError> {
        let store = self.clone();
        blocking(move || store.read_blocking(f)).await
    }

    /// [`Store::read`] for code that is not async.
    pub fn read_blocking<R>(&self, f: impl FnOnce(&Connection) -> Result<R, AppError>) -> Result<R, AppError> {
        let conn = self.0.readers.get().map_err(|e| AppError::internal_from("read pool", e))?;
        let tx = conn.unchecked_transaction()?;
        let result = f(&tx);
        drop(tx);
        result
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

/// Runs blocking work off the async workers; a panic in it is an internal error, not a crash.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R, AppError> + Send + 'static) -> Result<R, AppError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| Err(AppError::internal_from("database task", e)))
}

/// The meta key the test clock's reading is saved under.
const CLOCK_KEY: &str = "clock_frozen_at";

/// The test clock's saved reading, if it was ever moved.
pub fn saved_clock(conn: &Connection) -> Result<Option<OffsetDateTime>, AppError> {
    Ok(get_meta(conn, CLOCK_KEY)?.and_then(|v| v.parse::<i64>().ok()).map(from_ts))
}

pub fn save_clock(conn: &Connection, at: OffsetDateTime) -> Result<(), AppError> {
    set_meta(conn, CLOCK_KEY, &ts(at).to_string())
}

pub fn ts(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

pub fn from_ts(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn plan_from(s: String) -> rusqlite::Result<PlanId> {
    s.parse().map_err(|_| rusqlite::Error::InvalidColumnType(0, s, rusqlite::types::Type::Text))
}

/// An enum from the name it is stored under (its serde name, the one it has on the wire): a name
/// this build does not know is an error, never read as some default.
fn named<T: serde::de::DeserializeOwned>(text: String) -> rusqlite::Result<T> {
    use serde::de::IntoDeserializer;
    let parsed: Result<T, serde::de::value::Error> = T::deserialize(text.as_str().into_deserializer());
    parsed.map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

//! Storage: the schema, its migrations, and every row the server reads and writes (all the SQL is
//! here, one file per table or area), on SQLite (embedded, one process) or PostgreSQL (several
//! instances). Nothing outside this folder knows which, or sees SQL.
//!
//! Every request that writes runs in one transaction that is serializable on both backends (SQLite:
//! one writer at a time; PostgreSQL: serializable isolation, run again on a conflict), so two
//! confirms racing on one session, on one instance or two, are serialised and the second sees the
//! first's result. Reads see one consistent snapshot. All database work runs on tokio's blocking
//! threads, never on the async workers, and no network call happens inside a transaction.

use billing::PlanId;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

mod accounts;
mod attempts;
mod challenges;
mod coupons;
mod db;
mod events;
mod failed_keys;
mod idempotency;
mod invoices;
mod meta;
mod metrics;
mod migrations;
mod payment_methods;
mod postgres;
mod promotion_codes;
mod redemptions;
mod refunds;
mod sessions;
mod sqlite;
mod subscriptions;
mod usage;
mod webhook_deliveries;

pub use accounts::*;
pub use attempts::*;
pub use challenges::*;
pub use coupons::*;
pub use db::{Conn, DbError, DbResult, FromValue, Kind, OptionalExtension, Params, Row, ToValue, Value, params};
pub use events::*;
pub use failed_keys::*;
pub use idempotency::*;
pub use invoices::*;
pub use meta::*;
pub use metrics::*;
pub use payment_methods::*;
pub use postgres::{PostgresOptions, Turn};
pub use promotion_codes::*;
pub use redemptions::*;
pub use refunds::*;
pub use sessions::*;
pub use subscriptions::*;
pub use usage::*;
pub use webhook_deliveries::*;

/// What a transaction's closure may fail with: any error the store's own converts into (the HTTP
/// error, or `DbError` itself), so the store names no layer above it.
pub trait FromDbError: From<DbError> + Send + 'static {}

impl<E: From<DbError> + Send + 'static> FromDbError for E {}

/// The database: an embedded SQLite file (one process) or a PostgreSQL server (one or several
/// instances). Clones share it.
#[derive(Clone)]
pub struct Store(Arc<Backend>);

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl Store {
    /// A database file, created if missing (readable by the server's user only), migrated to the
    /// current schema.
    pub fn open(path: &Path) -> Result<Store, DbError> {
        Ok(Store(Arc::new(Backend::Sqlite(sqlite::Sqlite::open(path, None)?))))
    }

    /// A throwaway database (tests, `--db :memory:`): a private file in the temp directory, so
    /// it behaves exactly like a real one (WAL, separate readers), removed when the store goes.
    pub fn in_memory() -> Result<Store, DbError> {
        let path = std::env::temp_dir().join(format!("kiro-checkout-{}.sqlite3", crate::ids::new_id("db")));
        Ok(Store(Arc::new(Backend::Sqlite(sqlite::Sqlite::open(&path, Some(path.clone()))?))))
    }

    /// A PostgreSQL database (`postgres://user@host:port/db`), migrated to the current schema
    /// (one instance at a time when several start together).
    pub fn connect(url: &str, options: &PostgresOptions) -> Result<Store, DbError> {
        let db = off_runtime(|| postgres::Postgres::connect(url, options))?;
        Ok(Store(Arc::new(Backend::Postgres(db))))
    }

    pub fn kind(&self) -> Kind {
        match &*self.0 {
            Backend::Sqlite(_) => Kind::Sqlite,
            Backend::Postgres(_) => Kind::Postgres,
        }
    }

    /// Runs `f` in one transaction on a blocking thread, committed only when it returns `Ok`.
    /// SQLite: one writer at a time. PostgreSQL: serializable, and run again from the start when
    /// it conflicts with a concurrent transaction (so `f` does nothing but database work). A panic
    /// in `f` rolls back and becomes an internal error. On PostgreSQL a request waits at most its
    /// deadline (then `503`), and nothing commits after it.
    pub async fn write<R: Send + 'static, E: FromDbError>(
        &self,
        f: impl FnMut(&Conn<'_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        let (store, deadline) = (self.clone(), self.deadline_from_now());
        self.within_deadline(deadline, blocking(move || store.write_here(deadline, f))).await
    }

    /// [`Store::write`] for the background jobs (renewals, pruning), which no request waits for:
    /// no deadline, so a large batch on a slow database still commits (each statement still has
    /// its timeout).
    pub async fn write_in_background<R: Send + 'static, E: FromDbError>(
        &self,
        f: impl FnMut(&Conn<'_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        let store = self.clone();
        blocking(move || store.write_here(None, f)).await
    }

    /// [`Store::write`] for writers that would all touch the same rows (usage totals): on
    /// PostgreSQL they take turns (lock `turn`, across instances) instead of conflicting and
    /// running again; SQLite's writes take turns anyway.
    pub async fn write_in_turn<R: Send + 'static, E: FromDbError>(
        &self,
        turn: Turn,
        f: impl FnMut(&Conn<'_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        // The deadline runs from the request, the wait for this instance's turn included.
        let (store, queue, deadline) = (self.clone(), self.clone(), self.deadline_from_now());
        let work = async move {
            let _queued = match &*queue.0 {
                Backend::Postgres(db) => Some(db.turn.lock().await),
                Backend::Sqlite(_) => None,
            };
            blocking(move || match &*store.0 {
                Backend::Sqlite(db) => db.write(f),
                Backend::Postgres(db) => db.write_in_turn(turn, deadline, f),
            })
            .await
        };
        self.within_deadline(deadline, work).await
    }

    /// [`Store::write`] for code that is not async (start-up, the demo, tests).
    pub fn write_blocking<R: Send, E: FromDbError>(
        &self,
        f: impl FnMut(&Conn<'_>) -> Result<R, E> + Send,
    ) -> Result<R, E> {
        off_runtime(|| self.write_here(None, f))
    }

    fn write_here<R, E: FromDbError>(
        &self,
        deadline: Option<Instant>,
        f: impl FnMut(&Conn<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        match &*self.0 {
            Backend::Sqlite(db) => db.write(f),
            Backend::Postgres(db) => db.write(deadline, f),
        }
    }

    /// When a write begun now must have answered: PostgreSQL's deadline; SQLite has none.
    fn deadline_from_now(&self) -> Option<Instant> {
        match &*self.0 {
            Backend::Postgres(db) => Some(db.deadline_from_now()),
            Backend::Sqlite(_) => None,
        }
    }

    /// Runs a read on a consistent snapshot, on a blocking thread.
    pub async fn read<R: Send + 'static, E: FromDbError>(
        &self,
        f: impl FnOnce(&Conn<'_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        let store = self.clone();
        self.within_deadline(self.deadline_from_now(), blocking(move || store.read_here(f))).await
    }

    /// [`Store::read`] for code that is not async.
    pub fn read_blocking<R: Send, E: FromDbError>(
        &self,
        f: impl FnOnce(&Conn<'_>) -> Result<R, E> + Send,
    ) -> Result<R, E> {
        off_runtime(|| self.read_here(f))
    }

    fn read_here<R, E: FromDbError>(&self, f: impl FnOnce(&Conn<'_>) -> Result<R, E>) -> Result<R, E> {
        match &*self.0 {
            Backend::Sqlite(db) => db.read(f),
            Backend::Postgres(db) => db.read(f),
        }
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> DbResult<()> {
        self.read(|conn| conn.query_row("SELECT 1", (), |r| r.get::<_, i64>(0))).await.map(drop)
    }

    /// Connections in use and idle (PostgreSQL's pool; SQLite's readers).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = match &*self.0 {
            Backend::Sqlite(db) => db.pool_state(),
            Backend::Postgres(db) => db.pool_state(),
        };
        state.map_or((0, 0), |s| (s.connections - s.idle_connections, s.idle_connections))
    }
}

impl Store {
    /// `work`, or `503 database_unavailable` once `deadline` has passed (PostgreSQL not answering:
    /// a network that stopped forwarding): the request is answered, and the thread still waiting
    /// commits nothing that began before then. `None` (SQLite, on this machine): it waits.
    async fn within_deadline<R, E: FromDbError>(
        &self,
        deadline: Option<Instant>,
        work: impl std::future::Future<Output = Result<R, E>>,
    ) -> Result<R, E> {
        let Some(deadline) = deadline else { return work.await };
        match tokio::time::timeout_at(deadline.into(), work).await {
            Ok(done) => done,
            Err(_) => Err(DbError::Unreachable("the database did not answer in time".into()).into()),
        }
    }
}

/// Runs blocking work off the async workers; a panic in it is an internal error, not a crash.
async fn blocking<R: Send + 'static, E: FromDbError>(
    f: impl FnOnce() -> Result<R, E> + Send + 'static,
) -> Result<R, E> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| Err(DbError::broken(format!("database task: {e}")).into()))
}

/// Runs `f` here, or on a thread of its own when this thread runs async tasks: PostgreSQL's
/// blocking client runs a runtime of its own, which cannot start inside another.
fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| scope.spawn(f).join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The meta key the test clock's reading is saved under.
const CLOCK_KEY: &str = "clock_frozen_at";

/// The test clock's saved reading, if it was ever moved.
pub fn saved_clock(conn: &Conn<'_>) -> DbResult<Option<OffsetDateTime>> {
    Ok(get_meta(conn, CLOCK_KEY)?.and_then(|v| v.parse::<i64>().ok()).map(from_ts))
}

pub fn save_clock(conn: &Conn<'_>, at: OffsetDateTime) -> DbResult<()> {
    set_meta(conn, CLOCK_KEY, &ts(at).to_string())
}

pub fn ts(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

pub fn from_ts(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn plan_from(s: String) -> DbResult<PlanId> {
    s.parse().map_err(|_| DbError::column(0, format!("{s:?} is not a plan")))
}

/// An enum from the name it is stored under (its serde name, the one it has on the wire): a name
/// this build does not know is an error, never read as some default.
fn named<T: serde::de::DeserializeOwned>(text: String) -> DbResult<T> {
    use serde::de::IntoDeserializer;
    let parsed: Result<T, serde::de::value::Error> = T::deserialize(text.as_str().into_deserializer());
    parsed.map_err(|e| DbError::column(0, format!("{text:?}: {e}")))
}

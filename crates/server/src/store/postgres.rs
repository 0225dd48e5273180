//! The shared backend: a PostgreSQL database several instances use at once, through a pool of
//! connections. Writes are serializable transactions, run again when PostgreSQL finds they
//! conflicted with a concurrent one; reads are read-only snapshots.

use super::db::{Conn, DbError};
use super::migrations::POSTGRES_STEPS;
use crate::error::AppError;
use postgres::{IsolationLevel, NoTls};
use std::collections::HashMap;
use std::time::Duration;

/// How the pool reaches PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections kept open at most (per instance).
    pub max_connections: u32,
    /// How long a request waits for a connection (or PostgreSQL's answer to a new one) before it
    /// is answered `503 database_unavailable`.
    pub wait: Duration,
    /// The longest one statement may run.
    pub statement_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions {
            max_connections: 16,
            wait: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// The lock two instances starting at once take in turn to migrate (any constant of our own).
const MIGRATION_LOCK: i64 = 0x006b_6972_6f6d_6967;

type Pool = r2d2::Pool<Manager>;
type Pooled = r2d2::PooledConnection<Manager>;

/// A connection and the statements prepared on it (each SQL text is parsed once per connection,
/// then only bound and run: one round trip per query instead of two).
pub(super) struct PgConnection {
    client: postgres::Client,
    pub(super) statements: HashMap<String, postgres::Statement>,
    /// Left in a state the next user must not inherit (a lock it could not give back): closed
    /// by the pool instead of reused.
    poisoned: bool,
}

/// Opens [`PgConnection`]s for the pool.
pub(super) struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConnection, postgres::Error> {
        Ok(PgConnection { client: self.config.connect(NoTls)?, statements: HashMap::new(), poisoned: false })
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        conn.poisoned || conn.client.is_closed()
    }
}

pub(super) struct Postgres {
    /// Always there until the store is dropped.
    pool: Option<Pool>,
    /// This instance's writers that take turns queue here first, so one connection at a time
    /// waits for PostgreSQL's lock: a queue of many sessions there hands the lock on slowly.
    pub(super) turn: tokio::sync::Mutex<()>,
}

impl Drop for Postgres {
    /// Closing a blocking client waits on its own runtime, which cannot run on a thread that runs
    /// async tasks: the pool is let go on a thread of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::Builder::new().name("closing postgres pool".into()).spawn(move || drop(pool));
        }
    }
}

impl Postgres {
    pub(super) fn connect(url: &str, options: &PostgresOptions) -> Result<Postgres, DbError> {
        let mut config: postgres::Config = url.parse()?;
        config.connect_timeout(options.wait);
        config.keepalives(true);
        let timeout = format!("-c statement_timeout={}", options.statement_timeout.as_millis());
        let given = config.get_options().map(str::to_owned);
        config.options(&given.map_or(timeout.clone(), |given| format!("{given} {timeout}")));
        let manager = Manager { config };
        // Not `build`: a server started while PostgreSQL is down waits for it instead of failing.
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections)
            .min_idle(Some(1))
            .connection_timeout(options.wait)
            .test_on_check_out(false)
            .build_unchecked(manager);
        let db = Postgres { pool: Some(pool), turn: tokio::sync::Mutex::new(()) };
        db.migrate()?;
        Ok(db)
    }

    fn pool(&self) -> Result<&Pool, DbError> {
        self.pool.as_ref().ok_or_else(|| DbError::Unreachable("the store is closing".into()))
    }

    fn client(&self) -> Result<Pooled, DbError> {
        self.pool()?.get().map_err(|e| DbError::Unreachable(e.to_string()))
    }

    /// After the first statement on `conn` failed: when PostgreSQL had closed the connection
    /// while it sat in the pool (a restart, a failover), `conn` becomes another one (the closed one
    /// leaves the pool), at most once per pooled connection; else the error. So the first requests
    /// after an outage do not fail on connections the outage broke, and no connection is tested
    /// on check-out (a round trip per transaction).
    fn replace_closed(&self, conn: &mut Pooled, error: postgres::Error, spare: &mut u32) -> Result<(), DbError> {
        if !conn.client.is_closed() || *spare == 0 {
            return Err(error.into());
        }
        *spare -= 1;
        *conn = self.client()?;
        Ok(())
    }

    /// Runs the steps this database has not had yet, in one transaction, holding a lock that
    /// any other instance migrating at the same time waits for.
    fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.client()?;
        let mut tx = conn.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")?;
        let done: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?.get(0);
        for (version, step) in (1_i64..).zip(POSTGRES_STEPS) {
            if version > done {
                tx.batch_execute(step)?;
                tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version])?;
                tracing::info!(version, "migrated the PostgreSQL schema");
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `f` in a serializable transaction. Writers run side by side, holding the write lock
    /// shared; one that conflicted [`OPTIMISTIC_TRIES`] times runs once more holding it alone
    /// (PostgreSQL queues later shared requests behind it), where nothing can conflict with it:
    /// every write ends, however hot the rows it touches.
    pub(super) fn write<R>(&self, f: impl FnMut(&Conn<'_>) -> Result<R, AppError>) -> Result<R, AppError> {
        self.write_with(None, f)
    }

    /// [`Postgres::write`] holding lock `turn` alone around it (taken before the transaction
    /// begins, so its snapshot sees what the writer before it committed): writers that would all
    /// touch the same rows (usage totals) take turns instead of conflicting and running again.
    pub(super) fn write_in_turn<R>(
        &self,
        turn: i64,
        f: impl FnMut(&Conn<'_>) -> Result<R, AppError>,
    ) -> Result<R, AppError> {
        self.write_with(Some(turn), f)
    }

    fn write_with<R>(
        &self,
        turn: Option<i64>,
        mut f: impl FnMut(&Conn<'_>) -> Result<R, AppError>,
    ) -> Result<R, AppError> {
        let mut conn = self.client()?;
        let mut spare = self.pool()?.max_size();
        // Writers that take turns cannot conflict with each other; with the others (a period
        // closed, an upgrade's re-rating) they share rows, whose concurrent updates repeatable read
        // refuses as serializable would. Without serializable's predicate locks on every row read,
        // a batch of usage costs PostgreSQL a good deal less.
        let isolation = if turn.is_some() { IsolationLevel::RepeatableRead } else { IsolationLevel::Serializable };
        for attempt in 1..=OPTIMISTIC_TRIES + 1 {
            let alone = attempt > OPTIMISTIC_TRIES;
            // The write lock (shared, or alone) and a turn, in one round trip each way.
            let (lock, unlock) = match (alone, turn) {
                (true, _) => ("SELECT pg_advisory_lock($1), $2::bigint", "SELECT pg_advisory_unlock($1), $2::bigint"),
                (false, Some(_)) => (
                    "SELECT pg_advisory_lock_shared($1), pg_advisory_lock($2)",
                    "SELECT pg_advisory_unlock($2), pg_advisory_unlock_shared($1)",
                ),
                (false, None) => (
                    "SELECT pg_advisory_lock_shared($1), $2::bigint",
                    "SELECT pg_advisory_unlock_shared($1), $2::bigint",
                ),
            };
            let turn = turn.unwrap_or_default();
            while let Err(e) = conn.client.execute(lock, &[&WRITE_LOCK, &turn]) {
                // The first of two locks may be held when waiting for the second failed (a
                // statement timeout): session locks outlive errors, so none may stay behind.
                if !conn.client.is_closed() && conn.client.execute("SELECT pg_advisory_unlock_all()", &[]).is_err() {
                    conn.poisoned = true;
                }
                self.replace_closed(&mut conn, e, &mut spare)?;
            }
            // A panic in `f` rolls back (the transaction's drop) and must not leave the session's
            // locks held on a connection that goes back to the pool: unlocked first, then resumed.
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| try_write(&mut conn, isolation, &mut f)));
            if conn.client.execute(unlock, &[&WRITE_LOCK, &turn]).is_err() && !conn.client.is_closed() {
                // Still open but not unlocked: the connection must not go back to the pool.
                conn.poisoned = true;
            }
            let outcome = outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            match outcome {
                Tried::Done(result) => return result,
                Tried::Conflicted if alone => break,
                Tried::Conflicted => {
                    // A short, jittered pause, so writers that collided do not collide again in step.
                    std::thread::sleep(Duration::from_millis(rand::random_range(1..=4 * u64::from(attempt))));
                }
            }
        }
        Err(AppError::internal("a transaction conflicted even when run alone"))
    }
}

/// Serializable tries side by side before a write runs alone.
const OPTIMISTIC_TRIES: u32 = 3;
/// The advisory lock writers hold shared, and a write that kept conflicting holds alone.
const WRITE_LOCK: i64 = 0x006b_6972_6f77_7269;

enum Tried<R> {
    Done(Result<R, AppError>),
    /// Serialization failure or deadlock: run again from the start.
    Conflicted,
}

fn try_write<R>(
    conn: &mut PgConnection,
    isolation: IsolationLevel,
    f: &mut impl FnMut(&Conn<'_>) -> Result<R, AppError>,
) -> Tried<R> {
    let PgConnection { client, statements, .. } = conn;
    let tx = match client.build_transaction().isolation_level(isolation).start() {
        Ok(tx) => tx,
        Err(e) => return Tried::Done(Err(DbError::from(e).into())),
    };
    let conn = Conn::postgres(tx, statements);
    let result = f(&conn);
    let (conflicted, failed) = (conn.conflicted.get(), conn.failed.get());
    let Some(tx) = conn.into_postgres() else {
        return Tried::Done(Err(AppError::internal("not a PostgreSQL transaction")));
    };
    match result {
        Ok(_) if conflicted => Tried::Conflicted,
        // PostgreSQL aborted the transaction at the failed statement: its COMMIT would roll back.
        Ok(_) if failed => Tried::Done(Err(AppError::internal("a statement failed in a transaction that went on"))),
        Ok(value) => match tx.commit().map_err(DbError::from) {
            Ok(()) => Tried::Done(Ok(value)),
            Err(e) if e.is_retryable() => Tried::Conflicted,
            Err(e) => Tried::Done(Err(e.into())),
        },
        Err(_) if conflicted => Tried::Conflicted,
        Err(e) => Tried::Done(Err(e)),
    }
}

impl Postgres {
    pub(super) fn read<R>(&self, f: impl FnOnce(&Conn<'_>) -> Result<R, AppError>) -> Result<R, AppError> {
        let mut conn = self.client()?;
        let mut spare = self.pool()?.max_size();
        let mut f = Some(f);
        loop {
            let PgConnection { client, statements, .. } = &mut *conn;
            let read_only = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true);
            let failed = match read_only.start() {
                Ok(tx) => {
                    let Some(f) = f.take() else { return Err(AppError::internal("a read ran twice")) };
                    let conn = Conn::postgres(tx, statements);
                    let result = f(&conn);
                    drop(conn);
                    return result;
                }
                Err(e) => e,
            };
            self.replace_closed(&mut conn, failed, &mut spare)?;
        }
    }

    pub(super) fn pool_state(&self) -> Option<r2d2::State> {
        self.pool().ok().map(r2d2::Pool::state)
    }
}

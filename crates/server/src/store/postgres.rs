//! The shared backend: a PostgreSQL database several instances use at once, through a pool of
//! connections. Writes are serializable transactions, run again when PostgreSQL finds they
//! conflicted with a concurrent one; reads are read-only snapshots.

use super::db::{Conn, DbError};
use super::migrations::POSTGRES_STEPS;
use crate::error::AppError;
use postgres::{IsolationLevel, NoTls};
use r2d2_postgres::PostgresConnectionManager;
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

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Pooled = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

pub(super) struct Postgres {
    /// Always there until the store is dropped.
    pool: Option<Pool>,
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
        let manager = PostgresConnectionManager::new(config, NoTls);
        // Not `build`: a server started while PostgreSQL is down waits for it instead of failing.
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections)
            .min_idle(Some(1))
            .connection_timeout(options.wait)
            .test_on_check_out(false)
            .build_unchecked(manager);
        let db = Postgres { pool: Some(pool) };
        db.migrate()?;
        Ok(db)
    }

    fn pool(&self) -> Result<&Pool, DbError> {
        self.pool.as_ref().ok_or_else(|| DbError::Unreachable("the store is closing".into()))
    }

    fn client(&self) -> Result<Pooled, DbError> {
        self.pool()?.get().map_err(|e| DbError::Unreachable(e.to_string()))
    }

    /// After a transaction could not start on `client`: when PostgreSQL had closed the connection
    /// while it sat in the pool (a restart, a failover), `client` becomes another one (the closed
    /// one leaves the pool), at most once per pooled connection; else the error. So the first
    /// requests after an outage do not fail on connections the outage broke.
    fn replace_closed(&self, client: &mut Pooled, error: postgres::Error, spare: &mut u32) -> Result<(), DbError> {
        if !client.is_closed() || *spare == 0 {
            return Err(error.into());
        }
        *spare -= 1;
        *client = self.client()?;
        Ok(())
    }

    /// Runs the steps this database has not had yet, in one transaction, holding a lock that
    /// any other instance migrating at the same time waits for.
    fn migrate(&self) -> Result<(), DbError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
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

    pub(super) fn write<R>(&self, mut f: impl FnMut(&Conn<'_>) -> Result<R, AppError>) -> Result<R, AppError> {
        let mut client = self.client()?;
        let mut spare = self.pool()?.max_size();
        for attempt in 1..=super::MAX_TRIES {
            let tx = loop {
                let failed = match client.build_transaction().isolation_level(IsolationLevel::Serializable).start() {
                    Ok(tx) => break tx,
                    Err(e) => e,
                };
                self.replace_closed(&mut client, failed, &mut spare)?;
            };
            let conn = Conn::postgres(tx);
            let result = f(&conn);
            let conflicted = conn.conflicted.get();
            let Some(tx) = conn.into_postgres() else { return Err(AppError::internal("not a PostgreSQL transaction")) };
            match result {
                Ok(value) => match tx.commit().map_err(DbError::from) {
                    Ok(()) => return Ok(value),
                    Err(e) if e.is_retryable() => {}
                    Err(e) => return Err(e.into()),
                },
                Err(_) if conflicted => drop(tx),
                Err(e) => return Err(e),
            }
            // Concurrent writers of the same rows: a short, growing, jittered pause before the
            // next try, so they do not collide again in step.
            let jitter = rand::random_range(0..=u64::from(attempt) * 2);
            std::thread::sleep(Duration::from_millis(u64::from(attempt) + jitter));
        }
        Err(AppError::internal("a transaction kept conflicting with concurrent ones"))
    }

    pub(super) fn read<R>(&self, f: impl FnOnce(&Conn<'_>) -> Result<R, AppError>) -> Result<R, AppError> {
        let mut client = self.client()?;
        let mut spare = self.pool()?.max_size();
        let tx = loop {
            let read_only = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true);
            let failed = match read_only.start() {
                Ok(tx) => break tx,
                Err(e) => e,
            };
            self.replace_closed(&mut client, failed, &mut spare)?;
        };
        let conn = Conn::postgres(tx);
        let result = f(&conn);
        drop(conn);
        result
    }

    pub(super) fn pool_state(&self) -> Option<r2d2::State> {
        self.pool().ok().map(r2d2::Pool::state)
    }
}

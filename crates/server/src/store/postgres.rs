//! The shared backend: a PostgreSQL database several instances use at once, through a pool of
//! connections. Writes are serializable transactions, run again when PostgreSQL finds they
//! conflicted with a concurrent one; reads are read-only snapshots.
//!
//! One instance cut off from the database (a partition) must not stop the others: every lock a
//! writer takes is its transaction's (`LOCK TABLE`, never a session's advisory lock), and
//! PostgreSQL ends a session left idle in a transaction after [`PostgresOptions::idle_in_transaction`],
//! which gives its locks back. The cut-off instance answers `503` after [`PostgresOptions::deadline`]
//! and commits nothing that began before it.

use super::db::{Conn, DbError};
use super::migrations::POSTGRES_STEPS;
use postgres::{IsolationLevel, NoTls};
use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    /// How long PostgreSQL lets a session sit idle inside a transaction before it ends the
    /// session (and its locks): a transaction here never waits on anything but the database, so
    /// an idle one belongs to an instance that was cut off.
    pub idle_in_transaction: Duration,
    /// The longest a request waits for one database operation (a connection, the transaction,
    /// its retries) before it is answered `503 database_unavailable`; a write still running then
    /// is rolled back instead of committed.
    pub deadline: Duration,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions {
            max_connections: 16,
            wait: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(3),
            idle_in_transaction: Duration::from_secs(2),
            deadline: Duration::from_secs(4),
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
}

/// Opens [`PgConnection`]s for the pool.
pub(super) struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConnection, postgres::Error> {
        Ok(PgConnection { client: self.config.connect(NoTls)?, statements: HashMap::new() })
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        conn.client.is_closed()
    }
}

pub(super) struct Postgres {
    /// Always there until the store is dropped.
    pool: Option<Pool>,
    /// This instance's writers that take turns queue here first, so one connection at a time
    /// waits for PostgreSQL's lock: a queue of many sessions there hands the lock on slowly.
    pub(super) turn: tokio::sync::Mutex<()>,
    /// See [`PostgresOptions::deadline`].
    pub(super) deadline: Duration,
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
        config.keepalives_idle(Duration::from_secs(5));
        // Data PostgreSQL has not acknowledged for this long: the network is gone, not slow.
        config.tcp_user_timeout(options.deadline);
        let timeouts = format!(
            "-c statement_timeout={} -c idle_in_transaction_session_timeout={} -c lock_timeout={}",
            options.statement_timeout.as_millis(),
            options.idle_in_transaction.as_millis(),
            options.statement_timeout.as_millis(),
        );
        let given = config.get_options().map(str::to_owned);
        config.options(&given.map_or(timeouts.clone(), |given| format!("{given} {timeouts}")));
        let manager = Manager { config };
        // Not `build`: a server started while PostgreSQL is down waits for it instead of failing.
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections)
            .min_idle(Some(1))
            .connection_timeout(options.wait)
            .test_on_check_out(false)
            .build_unchecked(manager);
        let db = Postgres { pool: Some(pool), turn: tokio::sync::Mutex::new(()), deadline: options.deadline };
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

    /// Runs `f` in a serializable transaction. Writers run side by side, holding the write gate
    /// shared; one that conflicted [`OPTIMISTIC_TRIES`] times runs once more holding it alone
    /// (PostgreSQL queues later writers behind it), where nothing can conflict with it: every
    /// write ends, however hot the rows it touches.
    pub(super) fn write<R, E: From<DbError>>(
        &self,
        deadline: Option<Instant>,
        f: impl FnMut(&Conn<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        self.write_with(None, deadline, f)
    }

    /// [`Postgres::write`] holding turn `turn` alone around it: writers that would all touch the
    /// same rows (usage totals) take turns instead of conflicting and running again.
    pub(super) fn write_in_turn<R, E: From<DbError>>(
        &self,
        turn: Turn,
        deadline: Option<Instant>,
        f: impl FnMut(&Conn<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        self.write_with(Some(turn), deadline, f)
    }

    /// When a write begun now must have committed, for a request waiting on it (see
    /// [`PostgresOptions::deadline`]).
    pub(super) fn deadline_from_now(&self) -> Instant {
        Instant::now() + self.deadline
    }

    /// `deadline`: a request waits, and nothing may commit after it gave up; `None`: a job's
    /// write, which no request waits for (its statements still time out).
    fn write_with<R, E: From<DbError>>(
        &self,
        turn: Option<Turn>,
        deadline: Option<Instant>,
        mut f: impl FnMut(&Conn<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut conn = self.client()?;
        let mut spare = self.pool()?.max_size();
        for attempt in 1..=OPTIMISTIC_TRIES + 1 {
            let alone = attempt > OPTIMISTIC_TRIES;
            let plan = WritePlan::new(alone, turn);
            // `Some`: done; `None`: it conflicted.
            let done = loop {
                // A panic in `f` rolls the transaction back (its drop), which gives its locks back.
                let tried = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    try_write(&mut conn, &plan, deadline, &mut f)
                }))
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                match tried {
                    Tried::NotStarted(e) => self.replace_closed(&mut conn, e, &mut spare)?,
                    Tried::Done(result) => break Some(result),
                    Tried::Conflicted => break None,
                }
            };
            match done {
                Some(result) => return result,
                None if alone => break,
                None => {
                    if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                        return Err(past_deadline().into());
                    }
                    // A short, jittered pause, so writers that collided do not collide again in step.
                    std::thread::sleep(Duration::from_millis(rand::random_range(1..=4 * u64::from(attempt))));
                }
            }
        }
        Err(DbError::broken("a transaction conflicted even when run alone").into())
    }
}

/// Writers that take turns: each turn is a table of its own that they lock (see [`WritePlan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Usage reported by the IDE's backend: every batch adds to the same totals.
    Usage,
}

/// How one try of a write begins: its isolation and the locks it takes first. Locks are tables'
/// (`LOCK TABLE`), the transaction's own: they end with it, or with a session PostgreSQL ends,
/// so none outlives a cut-off instance's transaction. `LOCK TABLE` takes no snapshot, so the
/// transaction's snapshot is taken after the locks are held and sees what the writer before it
/// committed.
struct WritePlan {
    isolation: IsolationLevel,
    locks: &'static str,
}

impl WritePlan {
    fn new(alone: bool, turn: Option<Turn>) -> WritePlan {
        match (alone, turn) {
            // Alone, nothing else writes: each statement may read the latest rows, so nothing
            // that was committed while it waited can make it conflict.
            (true, _) => WritePlan {
                isolation: IsolationLevel::ReadCommitted,
                locks: "LOCK TABLE lock_writes IN EXCLUSIVE MODE",
            },
            // Writers that take turns cannot conflict with each other; with the others (a period
            // closed, an upgrade's re-rating) they share rows, whose concurrent updates repeatable
            // read refuses as serializable would, without serializable's predicate locks.
            (false, Some(Turn::Usage)) => WritePlan {
                isolation: IsolationLevel::RepeatableRead,
                locks: "LOCK TABLE lock_writes IN SHARE MODE; LOCK TABLE lock_usage_turn IN EXCLUSIVE MODE",
            },
            (false, None) => {
                WritePlan { isolation: IsolationLevel::Serializable, locks: "LOCK TABLE lock_writes IN SHARE MODE" }
            }
        }
    }
}

/// A commit needs a round trip: one that begins this close to the deadline could land after the
/// request was answered `503`.
const COMMIT_MARGIN: Duration = Duration::from_millis(250);

/// A request's deadline passed with the transaction not committed.
fn past_deadline() -> DbError {
    DbError::Unreachable("no answer before the deadline".into())
}

/// Serializable tries side by side before a write runs alone.
const OPTIMISTIC_TRIES: u32 = 3;

enum Tried<R, E> {
    Done(Result<R, E>),
    /// Serialization failure or deadlock: run again from the start.
    Conflicted,
    /// The transaction could not begin (the connection may have been closed in the pool).
    NotStarted(postgres::Error),
}

fn try_write<R, E: From<DbError>>(
    conn: &mut PgConnection,
    plan: &WritePlan,
    deadline: Option<Instant>,
    f: &mut impl FnMut(&Conn<'_>) -> Result<R, E>,
) -> Tried<R, E> {
    let PgConnection { client, statements, .. } = conn;
    let mut tx = match client.build_transaction().isolation_level(plan.isolation).start() {
        Ok(tx) => tx,
        Err(e) => return Tried::NotStarted(e),
    };
    if let Err(e) = tx.batch_execute(plan.locks) {
        let e = DbError::from(e);
        return if e.is_retryable() { Tried::Conflicted } else { Tried::Done(Err(e.into())) };
    }
    let conn = Conn::postgres(tx, statements);
    let result = f(&conn);
    let (conflicted, failed, unavailable) = (conn.conflicted.get(), conn.failed.get(), conn.unavailable.get());
    let Some(tx) = conn.into_postgres() else {
        return Tried::Done(Err(DbError::broken("not a PostgreSQL transaction").into()));
    };
    match result {
        Ok(_) if conflicted => Tried::Conflicted,
        // The connection failed under `f`, which went on (an error it chose to read as "none").
        Ok(_) | Err(_) if unavailable => Tried::Done(Err(DbError::Unreachable("a statement failed".into()).into())),
        // PostgreSQL aborted the transaction at the failed statement: its COMMIT would roll back.
        Ok(_) if failed => Tried::Done(Err(DbError::broken("a statement failed in a transaction that went on").into())),
        // Whoever asked has been answered 503 by now: nothing of this may land after that.
        Ok(_) if deadline.is_some_and(|deadline| Instant::now() + COMMIT_MARGIN >= deadline) => {
            Tried::Done(Err(past_deadline().into()))
        }
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
    pub(super) fn read<R, E: From<DbError>>(&self, f: impl FnOnce(&Conn<'_>) -> Result<R, E>) -> Result<R, E> {
        let mut conn = self.client()?;
        let mut spare = self.pool()?.max_size();
        let mut f = Some(f);
        loop {
            let PgConnection { client, statements, .. } = &mut *conn;
            let read_only = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true);
            let failed = match read_only.start() {
                Ok(tx) => {
                    let Some(f) = f.take() else { return Err(DbError::broken("a read ran twice").into()) };
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

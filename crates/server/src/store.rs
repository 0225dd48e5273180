//! SQLite storage: the schema, its migrations, and the rows the routes read and write.
//!
//! One writer connection behind a mutex: every request that writes runs in one immediate
//! transaction, so two confirms racing on one session are serialised and the second sees the
//! first's result. Reads use a pool of read-only connections; with WAL they see the last commit
//! and never wait behind a write's fsync. All database work runs on tokio's blocking threads,
//! never on the async workers.

use crate::config::SecretKeyHash;
use crate::error::AppError;
use billing::validate::CardBrand;
use billing::wire::{CancellationReason, CardSummary, InvoiceStatus, Login, PaymentMethodId, SubscriptionStatus};
use billing::{Money, PlanId};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// Each entry moves the schema one version forward; `PRAGMA user_version` records how far.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT,
    login TEXT NOT NULL,
    aws_account_linked INTEGER NOT NULL
);
CREATE TABLE checkout_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    plan TEXT NOT NULL,
    return_url TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    completed_at INTEGER,
    declines INTEGER NOT NULL DEFAULT 0,
    invoice_id TEXT
);
CREATE TABLE portal_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    return_url TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE payment_methods (
    id TEXT PRIMARY KEY,
    account_id TEXT REFERENCES accounts(id),
    session_id TEXT,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month INTEGER NOT NULL,
    exp_year INTEGER NOT NULL,
    behavior TEXT NOT NULL,
    payments INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE subscriptions (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    plan TEXT NOT NULL,
    status TEXT NOT NULL,
    first_paid_at INTEGER NOT NULL,
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    paid_this_period INTEGER NOT NULL,
    scheduled_plan TEXT,
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
    overage_enabled INTEGER NOT NULL DEFAULT 0,
    payment_method_id TEXT REFERENCES payment_methods(id)
);
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL,
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    lines TEXT NOT NULL,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    payment_method_id TEXT REFERENCES payment_methods(id)
);
CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE challenges (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    payment_method_id TEXT NOT NULL REFERENCES payment_methods(id),
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    resolved_body TEXT
);
"#,
    r#"
-- Portal plan changes wait on 3-D Secure too: remember what was being bought.
ALTER TABLE challenges ADD COLUMN plan TEXT;
ALTER TABLE challenges ADD COLUMN expected_total INTEGER;
"#,
    r#"
-- A second live subscription for an account is refused by the primary key: new subscriptions are
-- inserted, never replaced. Idempotent answers remember when they were given (kept 24 hours).
ALTER TABLE idempotency ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX challenges_by_session ON challenges(session_id);
CREATE INDEX payment_methods_by_session ON payment_methods(session_id);
CREATE INDEX invoices_by_account ON invoices(account_id, created_at);
CREATE INDEX subscriptions_due ON subscriptions(period_end) WHERE status != 'canceled';
"#,
    r#"
-- The outbox: every event, in order, and its delivery to each webhook endpoint. Delivery times
-- are wall-clock milliseconds; `created` is the billing clock's second.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE webhook_endpoints (url TEXT PRIMARY KEY);
CREATE TABLE deliveries (
    event_seq INTEGER NOT NULL REFERENCES events(seq),
    endpoint TEXT NOT NULL,
    enqueued_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at INTEGER,
    delivered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_seq, endpoint)
);
CREATE INDEX deliveries_pending ON deliveries(endpoint, event_seq) WHERE done_at IS NULL;
CREATE INDEX events_by_account ON events(account_id, seq);
"#,
    r#"
-- Charges are recorded before the processor is called and finished after: one in flight per
-- account (the unique index), settled at start if a stop left one pending.
CREATE TABLE payment_attempts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE UNIQUE INDEX payment_attempts_one_pending ON payment_attempts(account_id) WHERE status = 'pending';
-- A renewal's invoice is written when its period ends and charged afterwards, outside that
-- transaction: until then it waits here.
ALTER TABLE invoices ADD COLUMN charge_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX invoices_charge_pending ON invoices(account_id, created_at) WHERE charge_pending = 1;
"#,
    r#"
-- Stripe mode: the Customer of each account, the Customer a saved card belongs to, and the
-- PaymentIntent a 3-D Secure challenge waits on.
ALTER TABLE accounts ADD COLUMN stripe_customer TEXT;
ALTER TABLE payment_methods ADD COLUMN stripe_customer TEXT;
ALTER TABLE challenges ADD COLUMN intent_id TEXT;
CREATE INDEX challenges_by_intent ON challenges(intent_id) WHERE intent_id IS NOT NULL;
-- Stripe's webhook events already handled (Stripe may deliver one more than once).
CREATE TABLE stripe_events (id TEXT PRIMARY KEY, type TEXT NOT NULL, received_at INTEGER NOT NULL);
"#,
    r#"
-- Each pending attempt keeps what recording its result needs (JSON), so an attempt no request
-- owns any more ("orphaned": a stop, no answer from Stripe, a failed record) can be settled
-- with Stripe later.
ALTER TABLE payment_attempts ADD COLUMN pending TEXT;
ALTER TABLE payment_attempts ADD COLUMN orphaned INTEGER NOT NULL DEFAULT 0;
-- The PaymentIntent an attempt made (Stripe mode), once its result is recorded.
ALTER TABLE payment_attempts ADD COLUMN intent_id TEXT;
-- Paying a past-due invoice can wait on 3-D Secure too (Stripe mode): which invoice.
ALTER TABLE challenges ADD COLUMN invoice_id TEXT;
CREATE INDEX payment_attempts_orphaned ON payment_attempts(created_at) WHERE status = 'pending' AND orphaned = 1;
"#,
    r#"
-- A pending attempt belongs to the process that holds its lease (wall-clock milliseconds),
-- renewed while it works; only an expired lease is orphaned, so a second instance (or a restart)
-- never takes a live attempt. Attempts left pending by the version before leases are orphaned.
ALTER TABLE payment_attempts ADD COLUMN lease_until INTEGER;
UPDATE payment_attempts SET lease_until = 0 WHERE status = 'pending';
-- Attempts whose PaymentIntent id is recorded before it is confirmed; older ones (0) may have
-- charged without an id recorded, so reconciliation looks theirs up by our attempt id.
ALTER TABLE payment_attempts ADD COLUMN recorded_first INTEGER NOT NULL DEFAULT 0;
DROP INDEX payment_attempts_orphaned;
CREATE INDEX payment_attempts_leases ON payment_attempts(lease_until) WHERE status = 'pending';
-- A PaymentIntent's attempts: whether money Stripe took was granted, refunded, or is in flight.
CREATE INDEX payment_attempts_by_intent ON payment_attempts(intent_id) WHERE intent_id IS NOT NULL;
"#,
    r#"
-- A failed renewal is retried on a schedule counted from the failure (`failed_at`): `retries`
-- made so far, the next at `retry_at`. After the last the subscription is canceled, and why is
-- kept. Past-due subscriptions of earlier builds are retried from their oldest unpaid invoice
-- (3 days on, the default schedule's first retry), so they too are paid or canceled.
ALTER TABLE subscriptions ADD COLUMN failed_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN retry_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN cancellation_reason TEXT;
CREATE INDEX subscriptions_retry_due ON subscriptions(retry_at) WHERE retry_at IS NOT NULL;
CREATE INDEX invoices_open ON invoices(account_id, created_at) WHERE status = 'open';
UPDATE subscriptions SET failed_at = (SELECT MIN(i.created_at) FROM invoices i
    WHERE i.account_id = subscriptions.account_id AND i.status = 'open' AND i.charge_pending = 0)
  WHERE status = 'past_due';
UPDATE subscriptions SET retry_at = failed_at + 259200 WHERE failed_at IS NOT NULL;
"#,
    r#"
-- Session ids are bearer secrets: a session's row keeps only the public part of its id (`id`)
-- and a SHA-256 of the secret part (see session_tokens.rs). Sessions of earlier builds have none
-- (NULL) and are opened by their whole id, as before, until they expire.
ALTER TABLE checkout_sessions ADD COLUMN verifier_hash BLOB;
ALTER TABLE portal_sessions ADD COLUMN verifier_hash BLOB;
"#,
];

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
        let version: usize =
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
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
        let conn = self.0.readers.get().map_err(|e| AppError::Internal(format!("read pool: {e}")))?;
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
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| Err(AppError::Internal(format!("database task: {e}"))))
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

// --- meta ----------------------------------------------------------------------------------------

pub fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, AppError> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// The value kept under `key`, made with `make` and kept the first time it is asked for
/// (generated secrets).
pub fn meta_or_insert(conn: &Connection, key: &str, make: impl FnOnce() -> String) -> Result<String, AppError> {
    if let Some(value) = get_meta(conn, key)? {
        return Ok(value);
    }
    let value = make();
    set_meta(conn, key, &value)?;
    Ok(value)
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), AppError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

// --- the server API's secret key -----------------------------------------------------------------

/// Where the hash of the server API's generated key is kept. The key itself is shown once, when
/// it is made, and never kept.
const SECRET_KEY_HASH: &str = "secret_key_sha256";
/// Where versions before the hash kept the generated key itself.
const PLAIN_SECRET_KEY: &str = "secret_key";

/// The hash of the server API's generated key, and the key itself when it was made just now (to
/// be shown once).
pub fn secret_key_hash_or_new(conn: &Connection) -> Result<(SecretKeyHash, Option<String>), AppError> {
    if let Some(hex) = get_meta(conn, SECRET_KEY_HASH)? {
        let hash = SecretKeyHash::from_hex(&hex)
            .ok_or_else(|| AppError::Internal(format!("the meta row {SECRET_KEY_HASH} is not a SHA-256")))?;
        return Ok((hash, None));
    }
    let key = crate::ids::new_id("sk_test");
    let hash = SecretKeyHash::of(&key);
    set_meta(conn, SECRET_KEY_HASH, hash.as_hex())?;
    Ok((hash, Some(key)))
}

/// Replaces a generated key an older version kept in plain text by its hash: the IDE's backend
/// goes on using the key. The WAL is then checkpointed and emptied, so the old page leaves the
/// main file and the log (with `secure_delete`, the deleted row is zeroed).
fn forget_plain_secret_key(conn: &mut Connection) -> rusqlite::Result<()> {
    let plain: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [PLAIN_SECRET_KEY], |r| r.get(0)).optional()?;
    let Some(plain) = plain else { return Ok(()) };
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [SECRET_KEY_HASH, SecretKeyHash::of(&plain).as_hex()],
    )?;
    tx.execute("DELETE FROM meta WHERE key = ?1", [PLAIN_SECRET_KEY])?;
    tx.commit()?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    tracing::info!("the generated secret key kept in the database is replaced by its hash");
    Ok(())
}

// --- accounts ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: Option<String>,
    pub login: Login,
    pub aws_account_linked: bool,
}

fn login_str(login: Login) -> &'static str {
    match login {
        Login::Google => "google",
        Login::Github => "github",
        Login::BuilderId => "builder_id",
    }
}

fn login_from(s: &str) -> Login {
    match s {
        "google" => Login::Google,
        "github" => Login::Github,
        _ => Login::BuilderId,
    }
}

/// Records what the IDE's backend says about an account (its latest word wins).
pub fn upsert_account(conn: &Connection, account: &Account) -> Result<(), AppError> {
    conn.execute(
        "INSERT INTO accounts (id, email, login, aws_account_linked) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET email = COALESCE(excluded.email, accounts.email),
             login = excluded.login, aws_account_linked = excluded.aws_account_linked",
        params![account.id, account.email, login_str(account.login), account.aws_account_linked],
    )?;
    Ok(())
}

/// The account's Stripe Customer (Stripe mode), if one was made.
pub fn stripe_customer(conn: &Connection, account_id: &str) -> Result<Option<String>, AppError> {
    let customer: Option<Option<String>> =
        conn.query_row("SELECT stripe_customer FROM accounts WHERE id = ?1", [account_id], |r| r.get(0)).optional()?;
    Ok(customer.flatten())
}

/// Keeps the account's Stripe Customer, unless one was kept first; returns the one kept.
pub fn keep_stripe_customer(conn: &Connection, account_id: &str, customer: &str) -> Result<String, AppError> {
    conn.execute(
        "UPDATE accounts SET stripe_customer = ?2 WHERE id = ?1 AND stripe_customer IS NULL",
        [account_id, customer],
    )?;
    stripe_customer(conn, account_id)?.ok_or(AppError::SessionNotFound)
}

pub fn get_account(conn: &Connection, id: &str) -> Result<Option<Account>, AppError> {
    Ok(conn
        .query_row("SELECT id, email, login, aws_account_linked FROM accounts WHERE id = ?1", [id], |r| {
            Ok(Account {
                id: r.get(0)?,
                email: r.get(1)?,
                login: login_from(&r.get::<_, String>(2)?),
                aws_account_linked: r.get(3)?,
            })
        })
        .optional()?)
}

// --- sessions ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct CheckoutSession {
    pub id: String,
    pub account_id: String,
    pub plan: PlanId,
    pub return_url: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
    pub declines: u32,
    pub invoice_id: Option<String>,
}

/// A new checkout session, opened by its id followed by the verifier hashed to `verifier_hash`.
pub fn insert_checkout_session(conn: &Connection, s: &CheckoutSession, verifier_hash: &[u8]) -> Result<(), AppError> {
    conn.execute(
        "INSERT INTO checkout_sessions (id, account_id, plan, return_url, created_at, expires_at, verifier_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![s.id, s.account_id, s.plan.as_str(), s.return_url, ts(s.created_at), ts(s.expires_at), verifier_hash],
    )?;
    Ok(())
}

pub fn get_checkout_session(conn: &Connection, id: &str) -> Result<Option<CheckoutSession>, AppError> {
    Ok(conn
        .query_row(
            "SELECT id, account_id, plan, return_url, created_at, expires_at, completed_at, declines, invoice_id
             FROM checkout_sessions WHERE id = ?1",
            [id],
            |r| {
                Ok(CheckoutSession {
                    id: r.get(0)?,
                    account_id: r.get(1)?,
                    plan: plan_from(r.get(2)?)?,
                    return_url: r.get(3)?,
                    created_at: from_ts(r.get(4)?),
                    expires_at: from_ts(r.get(5)?),
                    completed_at: r.get::<_, Option<i64>>(6)?.map(from_ts),
                    declines: r.get(7)?,
                    invoice_id: r.get(8)?,
                })
            },
        )
        .optional()?)
}

pub fn record_decline(conn: &Connection, session_id: &str) -> Result<u32, AppError> {
    Ok(conn.query_row(
        "UPDATE checkout_sessions SET declines = declines + 1 WHERE id = ?1 RETURNING declines",
        [session_id],
        |r| r.get(0),
    )?)
}

pub fn complete_checkout_session(
    conn: &Connection,
    id: &str,
    at: OffsetDateTime,
    invoice_id: &str,
) -> Result<(), AppError> {
    conn.execute(
        "UPDATE checkout_sessions SET completed_at = ?2, invoice_id = ?3 WHERE id = ?1",
        params![id, ts(at), invoice_id],
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct PortalSession {
    pub id: String,
    pub account_id: String,
    pub return_url: String,
    pub expires_at: OffsetDateTime,
}

/// A new portal session, opened by its id followed by the verifier hashed to `verifier_hash`.
pub fn insert_portal_session(
    conn: &Connection,
    s: &PortalSession,
    verifier_hash: &[u8],
    now: OffsetDateTime,
) -> Result<(), AppError> {
    conn.execute(
        "INSERT INTO portal_sessions (id, account_id, return_url, created_at, expires_at, verifier_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s.id, s.account_id, s.return_url, ts(now), ts(s.expires_at), verifier_hash],
    )?;
    Ok(())
}

pub fn get_portal_session(conn: &Connection, id: &str) -> Result<Option<PortalSession>, AppError> {
    Ok(conn
        .query_row("SELECT id, account_id, return_url, expires_at FROM portal_sessions WHERE id = ?1", [id], |r| {
            Ok(PortalSession {
                id: r.get(0)?,
                account_id: r.get(1)?,
                return_url: r.get(2)?,
                expires_at: from_ts(r.get(3)?),
            })
        })
        .optional()?)
}

// --- payment methods -----------------------------------------------------------------------------

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PaymentMethod {
    pub account_id: Option<String>,
    pub session_id: Option<String>,
    pub card: CardSummary,
    /// The test card's behaviour (test mode), or `stripe` (Stripe mode).
    pub behavior: String,
    pub payments: u32,
    /// Stripe mode: the Customer the card (a Stripe PaymentMethod, same id) is saved to.
    pub stripe_customer: Option<String>,
}

fn brand_str(brand: CardBrand) -> &'static str {
    match brand {
        CardBrand::Visa => "visa",
        CardBrand::Mastercard => "mastercard",
        CardBrand::Amex => "amex",
        CardBrand::Discover => "discover",
        CardBrand::Diners => "diners",
        CardBrand::Jcb => "jcb",
        CardBrand::Unionpay => "unionpay",
        CardBrand::Unknown => "unknown",
    }
}

/// A brand from its stored (and Stripe's) name: `visa`, `mastercard`, `amex`, ...
pub fn brand_from(s: &str) -> CardBrand {
    [
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Amex,
        CardBrand::Discover,
        CardBrand::Diners,
        CardBrand::Jcb,
        CardBrand::Unionpay,
    ]
    .into_iter()
    .find(|b| brand_str(*b) == s)
    .unwrap_or(CardBrand::Unknown)
}

pub fn insert_payment_method(conn: &Connection, pm: &PaymentMethod, now: OffsetDateTime) -> Result<(), AppError> {
    conn.execute(
        "INSERT INTO payment_methods (id, account_id, session_id, brand, last4, exp_month, exp_year, behavior, created_at, stripe_customer)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            pm.card.id.0,
            pm.account_id,
            pm.session_id,
            brand_str(pm.card.brand),
            pm.card.last4,
            pm.card.exp_month,
            pm.card.exp_year,
            pm.behavior,
            ts(now),
            pm.stripe_customer
        ],
    )?;
    Ok(())
}

const PM_COLUMNS: &str =
    "id, account_id, session_id, brand, last4, exp_month, exp_year, behavior, payments, stripe_customer";

fn pm_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PaymentMethod> {
    Ok(PaymentMethod {
        card: CardSummary {
            id: PaymentMethodId(r.get(0)?),
            brand: brand_from(&r.get::<_, String>(3)?),
            last4: r.get(4)?,
            exp_month: r.get(5)?,
            exp_year: r.get(6)?,
        },
        account_id: r.get(1)?,
        session_id: r.get(2)?,
        behavior: r.get(7)?,
        payments: r.get(8)?,
        stripe_customer: r.get(9)?,
    })
}

pub fn get_payment_method(conn: &Connection, id: &str) -> Result<Option<PaymentMethod>, AppError> {
    Ok(conn
        .query_row(&format!("SELECT {PM_COLUMNS} FROM payment_methods WHERE id = ?1"), [id], pm_from_row)
        .optional()?)
}

/// The cards saved on an account, newest first.
pub fn account_payment_methods(conn: &Connection, account_id: &str) -> Result<Vec<PaymentMethod>, AppError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {PM_COLUMNS} FROM payment_methods WHERE account_id = ?1 ORDER BY created_at DESC, rowid DESC"
    ))?;
    let rows = stmt.query_map([account_id], pm_from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Counts a successful payment and saves the card on the account.
pub fn record_payment(conn: &Connection, pm_id: &str, account_id: &str) -> Result<(), AppError> {
    conn.execute(
        "UPDATE payment_methods SET payments = payments + 1, account_id = ?2 WHERE id = ?1",
        params![pm_id, account_id],
    )?;
    Ok(())
}

// --- subscriptions -------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Subscription {
    pub account_id: String,
    pub plan: PlanId,
    pub status: SubscriptionStatus,
    pub first_paid_at: OffsetDateTime,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub paid_this_period: Money,
    pub scheduled_plan: Option<PlanId>,
    pub cancel_at_period_end: bool,
    pub overage_enabled: bool,
    pub payment_method_id: Option<String>,
}

fn status_str(s: SubscriptionStatus) -> &'static str {
    match s {
        SubscriptionStatus::Active => "active",
        SubscriptionStatus::PastDue => "past_due",
        SubscriptionStatus::Canceled => "canceled",
    }
}

fn status_from(s: &str) -> SubscriptionStatus {
    match s {
        "past_due" => SubscriptionStatus::PastDue,
        "canceled" => SubscriptionStatus::Canceled,
        _ => SubscriptionStatus::Active,
    }
}

const SUB_COLUMNS: &str = "account_id, plan, status, first_paid_at, period_start, period_end, paid_this_period,
    scheduled_plan, cancel_at_period_end, overage_enabled, payment_method_id";

fn sub_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        account_id: r.get(0)?,
        plan: plan_from(r.get(1)?)?,
        status: status_from(&r.get::<_, String>(2)?),
        first_paid_at: from_ts(r.get(3)?),
        period_start: from_ts(r.get(4)?),
        period_end: from_ts(r.get(5)?),
        paid_this_period: Money::from_cents(r.get(6)?),
        scheduled_plan: r.get::<_, Option<String>>(7)?.map(plan_from).transpose()?,
        cancel_at_period_end: r.get(8)?,
        overage_enabled: r.get(9)?,
        payment_method_id: r.get(10)?,
    })
}

pub fn get_subscription(conn: &Connection, account_id: &str) -> Result<Option<Subscription>, AppError> {
    Ok(conn
        .query_row(
            &format!("SELECT {SUB_COLUMNS} FROM subscriptions WHERE account_id = ?1"),
            [account_id],
            sub_from_row,
        )
        .optional()?)
}

/// Up to `limit` subscriptions with a period that ended by `now` (all accounts, or one) whose
/// period end comes next: not while a renewal waits for its charge, nor a retry due before it.
pub fn subscriptions_due(
    conn: &Connection,
    now: OffsetDateTime,
    account_id: Option<&str>,
    limit: usize,
) -> Result<Vec<Subscription>, AppError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SUB_COLUMNS} FROM subscriptions s WHERE period_end <= ?1 AND status != 'canceled'
         AND (?2 IS NULL OR account_id = ?2) AND (retry_at IS NULL OR retry_at > period_end)
         AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = s.account_id AND i.charge_pending = 1)
         ORDER BY period_end LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![ts(now), account_id, limit], sub_from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Starts a paid subscription. An account's earlier subscription is replaced only when it has
/// ended: a live one makes this fail with `already_subscribed`, whatever the caller checked.
pub fn insert_subscription(conn: &Connection, s: &Subscription) -> Result<(), AppError> {
    let inserted = conn.execute(
        &format!(
            "INSERT INTO subscriptions ({SUB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(account_id) DO UPDATE SET plan = excluded.plan, status = excluded.status,
                 first_paid_at = excluded.first_paid_at, period_start = excluded.period_start,
                 period_end = excluded.period_end, paid_this_period = excluded.paid_this_period,
                 scheduled_plan = excluded.scheduled_plan, cancel_at_period_end = excluded.cancel_at_period_end,
                 overage_enabled = excluded.overage_enabled, payment_method_id = excluded.payment_method_id,
                 failed_at = NULL, retries = 0, retry_at = NULL, cancellation_reason = NULL
             WHERE subscriptions.status = 'canceled' OR subscriptions.plan = 'free'"
        ),
        subscription_params(s),
    )?;
    if inserted == 0 { Err(AppError::AlreadySubscribed) } else { Ok(()) }
}

/// Writes back a subscription that exists.
pub fn save_subscription(conn: &Connection, s: &Subscription) -> Result<(), AppError> {
    let updated = conn.execute(
        "UPDATE subscriptions SET plan = ?2, status = ?3, first_paid_at = ?4, period_start = ?5, period_end = ?6,
             paid_this_period = ?7, scheduled_plan = ?8, cancel_at_period_end = ?9, overage_enabled = ?10,
             payment_method_id = ?11
         WHERE account_id = ?1",
        subscription_params(s),
    )?;
    if updated == 1 { Ok(()) } else { Err(AppError::Internal("saving a subscription that does not exist".into())) }
}

type SubscriptionRow<'a> =
    (&'a str, &'static str, &'static str, i64, i64, i64, i64, Option<&'static str>, bool, bool, Option<&'a str>);

/// A past-due subscription's retries, counted from the failure that started them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    pub failed_at: OffsetDateTime,
    /// Retries made so far.
    pub made: u32,
    /// The next one; `None` once there is none (the subscription is then canceled).
    pub next_at: Option<OffsetDateTime>,
}

pub fn get_retries(conn: &Connection, account_id: &str) -> Result<Option<Retries>, AppError> {
    let row: Option<(Option<i64>, u32, Option<i64>)> = conn
        .query_row("SELECT failed_at, retries, retry_at FROM subscriptions WHERE account_id = ?1", [account_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    Ok(row.and_then(|(failed_at, made, next_at)| {
        failed_at.map(|at| Retries { failed_at: from_ts(at), made, next_at: next_at.map(from_ts) })
    }))
}

/// Keeps the account's retries (`None`: nothing is being retried).
pub fn set_retries(conn: &Connection, account_id: &str, retries: Option<&Retries>) -> Result<(), AppError> {
    conn.execute(
        "UPDATE subscriptions SET failed_at = ?2, retries = ?3, retry_at = ?4 WHERE account_id = ?1",
        params![
            account_id,
            retries.map(|r| ts(r.failed_at)),
            retries.map_or(0, |r| r.made),
            retries.and_then(|r| r.next_at).map(ts)
        ],
    )?;
    Ok(())
}

/// The account (`account_id`, or any with no charge in flight) whose retry fell due the
/// earliest by `now`, before its period's end, with no renewal waiting for its charge; and when.
/// Not while its user is at their bank paying those invoices (a 3-D Secure challenge of a live
/// portal session): a retry then would charge them a second time.
pub fn next_retry_due(
    conn: &Connection,
    account_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<(String, OffsetDateTime)>, AppError> {
    let due: Option<(String, i64)> = conn
        .query_row(
            "SELECT account_id, retry_at FROM subscriptions s
             WHERE retry_at <= ?2 AND retry_at <= period_end AND status = 'past_due' AND (?1 IS NULL OR account_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = s.account_id AND i.charge_pending = 1)
               AND (?1 IS NOT NULL OR account_id NOT IN (SELECT account_id FROM payment_attempts WHERE status = 'pending'))
               AND NOT EXISTS (SELECT 1 FROM challenges c JOIN portal_sessions p ON p.id = c.session_id
                   WHERE p.account_id = s.account_id AND c.invoice_id IS NOT NULL AND c.resolved_body IS NULL
                     AND p.expires_at > ?2)
             ORDER BY retry_at LIMIT 1",
            params![account_id, ts(now)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(due.map(|(account, at)| (account, from_ts(at))))
}

pub fn set_cancellation_reason(
    conn: &Connection,
    account_id: &str,
    reason: Option<CancellationReason>,
) -> Result<(), AppError> {
    conn.execute(
        "UPDATE subscriptions SET cancellation_reason = ?2 WHERE account_id = ?1",
        params![account_id, reason.map(CancellationReason::as_str)],
    )?;
    Ok(())
}

pub fn cancellation_reason(conn: &Connection, account_id: &str) -> Result<Option<CancellationReason>, AppError> {
    let reason: Option<Option<String>> = conn
        .query_row("SELECT cancellation_reason FROM subscriptions WHERE account_id = ?1", [account_id], |r| r.get(0))
        .optional()?;
    Ok(match reason.flatten().as_deref() {
        Some("payment_failed") => Some(CancellationReason::PaymentFailed),
        Some(_) => Some(CancellationReason::CancellationRequested),
        None => None,
    })
}

fn subscription_params(s: &Subscription) -> SubscriptionRow<'_> {
    (
        &s.account_id,
        s.plan.as_str(),
        status_str(s.status),
        ts(s.first_paid_at),
        ts(s.period_start),
        ts(s.period_end),
        s.paid_this_period.cents(),
        s.scheduled_plan.map(PlanId::as_str),
        s.cancel_at_period_end,
        s.overage_enabled,
        s.payment_method_id.as_deref(),
    )
}

// --- invoices ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    pub account_id: String,
    pub created_at: OffsetDateTime,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub lines: Vec<billing::proration::LineItem>,
    pub amount: Money,
    pub status: InvoiceStatus,
    pub payment_method_id: Option<String>,
}

/// Writes an invoice with the next number (`KIRO-000001`, ...).
pub fn insert_invoice(conn: &Connection, mut invoice: Invoice) -> Result<Invoice, AppError> {
    let count: i64 = conn.query_row("SELECT COALESCE(MAX(rowid), 0) FROM invoices", [], |r| r.get(0))?;
    invoice.number = format!("KIRO-{:06}", count + 1);
    let lines = serde_json::to_string(&invoice.lines).map_err(|e| AppError::Internal(e.to_string()))?;
    conn.execute(
        "INSERT INTO invoices (id, number, account_id, created_at, period_start, period_end, lines, amount, status, payment_method_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            invoice.id,
            invoice.number,
            invoice.account_id,
            ts(invoice.created_at),
            ts(invoice.period_start),
            ts(invoice.period_end),
            lines,
            invoice.amount.cents(),
            invoice.status.as_str(),
            invoice.payment_method_id
        ],
    )?;
    Ok(invoice)
}

fn invoice_status_from(s: &str) -> InvoiceStatus {
    match s {
        "paid" => InvoiceStatus::Paid,
        "void" => InvoiceStatus::Void,
        _ => InvoiceStatus::Open,
    }
}

pub fn get_invoice(conn: &Connection, id: &str) -> Result<Option<Invoice>, AppError> {
    let row = conn
        .query_row(
            "SELECT id, number, account_id, created_at, period_start, period_end, lines, amount, status, payment_method_id
             FROM invoices WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    Invoice {
                        id: r.get(0)?,
                        number: r.get(1)?,
                        account_id: r.get(2)?,
                        created_at: from_ts(r.get(3)?),
                        period_start: from_ts(r.get(4)?),
                        period_end: from_ts(r.get(5)?),
                        lines: Vec::new(),
                        amount: Money::from_cents(r.get(7)?),
                        status: invoice_status_from(&r.get::<_, String>(8)?),
                        payment_method_id: r.get(9)?,
                    },
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()?;
    row.map(|(mut invoice, lines)| {
        invoice.lines = serde_json::from_str(&lines).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(invoice)
    })
    .transpose()
}

/// Every invoice of an account, oldest first.
pub fn account_invoices(conn: &Connection, account_id: &str) -> Result<Vec<Invoice>, AppError> {
    let mut stmt = conn.prepare("SELECT id FROM invoices WHERE account_id = ?1 ORDER BY created_at, number")?;
    let ids = stmt.query_map([account_id], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    ids.iter().filter_map(|id| get_invoice(conn, id).transpose()).collect()
}

/// The account's open invoices, oldest first: every one, or only those whose charge failed (not
/// those still waiting for their renewal charge).
pub fn open_invoices(conn: &Connection, account_id: &str, with_waiting: bool) -> Result<Vec<Invoice>, AppError> {
    let mut stmt = conn.prepare(
        "SELECT id FROM invoices WHERE account_id = ?1 AND status = 'open' AND (?2 OR charge_pending = 0)
         ORDER BY created_at, rowid",
    )?;
    let ids = stmt.query_map(params![account_id, with_waiting], |r| r.get::<_, String>(0))?;
    let ids = ids.collect::<Result<Vec<_>, _>>()?;
    ids.iter().filter_map(|id| get_invoice(conn, id).transpose()).collect()
}

/// Marks an open invoice void: nothing is owed for it any more.
pub fn set_invoice_void(conn: &Connection, id: &str) -> Result<(), AppError> {
    conn.execute("UPDATE invoices SET status = 'void', charge_pending = 0 WHERE id = ?1 AND status = 'open'", [id])?;
    Ok(())
}

/// Marks a renewal invoice as waiting for its charge (see [`crate::renewals::charge_pending`]).
pub fn set_charge_pending(conn: &Connection, id: &str, pending: bool) -> Result<(), AppError> {
    conn.execute("UPDATE invoices SET charge_pending = ?2 WHERE id = ?1", params![id, pending])?;
    Ok(())
}

/// The oldest renewal invoice waiting for its charge, of `account_id` or of any account with no
/// charge in flight.
pub fn next_charge_pending(conn: &Connection, account_id: Option<&str>) -> Result<Option<Invoice>, AppError> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM invoices WHERE charge_pending = 1 AND (?1 IS NULL OR account_id = ?1)
               AND (?1 IS NOT NULL OR account_id NOT IN (SELECT account_id FROM payment_attempts WHERE status = 'pending'))
             ORDER BY created_at, rowid LIMIT 1",
            params![account_id],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => get_invoice(conn, &id),
        None => Ok(None),
    }
}

/// Whether an invoice waits for its renewal charge.
pub fn is_charge_pending(conn: &Connection, id: &str) -> Result<bool, AppError> {
    let pending: Option<bool> =
        conn.query_row("SELECT charge_pending FROM invoices WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    Ok(pending.unwrap_or(false))
}

/// Marks an invoice paid by `pm_id` (no longer waiting for a charge).
pub fn set_invoice_paid(conn: &Connection, id: &str, pm_id: &str) -> Result<(), AppError> {
    conn.execute(
        "UPDATE invoices SET status = 'paid', payment_method_id = ?2, charge_pending = 0 WHERE id = ?1",
        [id, pm_id],
    )?;
    Ok(())
}

// --- idempotency ---------------------------------------------------------------------------------

/// A stored answer to an idempotent request given at or after `since`: the hash of the request
/// it answered, its status and its body. Older answers are forgotten.
pub fn get_idempotent(
    conn: &Connection,
    scope: &str,
    key: &str,
    since: OffsetDateTime,
) -> Result<Option<(String, u16, String)>, AppError> {
    Ok(conn
        .query_row(
            "SELECT request_hash, status, body FROM idempotency WHERE scope = ?1 AND key = ?2 AND created_at >= ?3",
            params![scope, key, ts(since)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

pub struct IdempotentAnswer<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub hash: &'a str,
    pub status: u16,
    pub body: &'a str,
}

pub fn put_idempotent(conn: &Connection, answer: &IdempotentAnswer<'_>, now: OffsetDateTime) -> Result<(), AppError> {
    conn.execute(
        "INSERT INTO idempotency (scope, key, request_hash, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(scope, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
             body = excluded.body, created_at = excluded.created_at",
        params![answer.scope, answer.key, answer.hash, answer.status, answer.body, ts(now)],
    )?;
    Ok(())
}

// --- limits --------------------------------------------------------------------------------------

/// Cards tokenized in a checkout or portal session.
pub fn cards_tokenized_in(conn: &Connection, session_id: &str) -> Result<u32, AppError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM payment_methods WHERE session_id = ?1", [session_id], |r| r.get(0))?)
}

/// 3-D Secure challenges opened in a checkout or portal session.
pub fn challenges_opened_in(conn: &Connection, session_id: &str) -> Result<u32, AppError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM challenges WHERE session_id = ?1", [session_id], |r| r.get(0))?)
}

// --- 3-D Secure challenges -----------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: String,
    pub session_id: String,
    pub payment_method_id: String,
    pub email: String,
    pub resolved_body: Option<String>,
    /// For portal changes: the target plan and the total the user confirmed.
    pub plan: Option<PlanId>,
    pub expected_total: Option<Money>,
    /// Stripe mode: the PaymentIntent waiting for 3-D Secure, retrieved to check the answer.
    pub intent_id: Option<String>,
    /// For paying a past-due account's invoices: their ids, oldest first, comma-separated.
    pub invoice_id: Option<String>,
}

impl Challenge {
    /// A new challenge of `session_id` for the card `payment_method_id`; the rest is what the
    /// answer needs, set by the caller.
    pub fn new(session_id: &str, payment_method_id: &str) -> Challenge {
        Challenge {
            id: crate::ids::new_id("ch"),
            session_id: session_id.to_string(),
            payment_method_id: payment_method_id.to_string(),
            email: String::new(),
            resolved_body: None,
            plan: None,
            expected_total: None,
            intent_id: None,
            invoice_id: None,
        }
    }
}

pub fn insert_challenge(conn: &Connection, c: &Challenge, now: OffsetDateTime) -> Result<(), AppError> {
    conn.execute(
        "INSERT INTO challenges (id, session_id, payment_method_id, email, created_at, plan, expected_total, intent_id, invoice_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            c.id,
            c.session_id,
            c.payment_method_id,
            c.email,
            ts(now),
            c.plan.map(PlanId::as_str),
            c.expected_total.map(Money::cents),
            c.intent_id,
            c.invoice_id
        ],
    )?;
    Ok(())
}

pub fn get_challenge(conn: &Connection, id: &str, session_id: &str) -> Result<Option<Challenge>, AppError> {
    Ok(conn
        .query_row(
            "SELECT id, session_id, payment_method_id, email, resolved_body, plan, expected_total, intent_id, invoice_id
             FROM challenges WHERE id = ?1 AND session_id = ?2",
            [id, session_id],
            |r| {
                Ok(Challenge {
                    id: r.get(0)?,
                    session_id: r.get(1)?,
                    payment_method_id: r.get(2)?,
                    email: r.get(3)?,
                    resolved_body: r.get(4)?,
                    plan: r.get::<_, Option<String>>(5)?.map(plan_from).transpose()?,
                    expected_total: r.get::<_, Option<i64>>(6)?.map(Money::from_cents),
                    intent_id: r.get(7)?,
                    invoice_id: r.get(8)?,
                })
            },
        )
        .optional()?)
}

/// The unanswered challenge (id, session) waiting on a Stripe PaymentIntent, if any.
pub fn challenge_for_intent(conn: &Connection, intent_id: &str) -> Result<Option<(String, String)>, AppError> {
    Ok(conn
        .query_row(
            "SELECT id, session_id FROM challenges WHERE intent_id = ?1 AND resolved_body IS NULL",
            [intent_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Whether Stripe's event `id` was handled already.
pub fn stripe_event_seen(conn: &Connection, id: &str) -> Result<bool, AppError> {
    let seen: Option<i64> =
        conn.query_row("SELECT 1 FROM stripe_events WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    Ok(seen.is_some())
}

pub fn remember_stripe_event(conn: &Connection, id: &str, kind: &str, now: OffsetDateTime) -> Result<(), AppError> {
    conn.execute(
        "INSERT OR IGNORE INTO stripe_events (id, type, received_at) VALUES (?1, ?2, ?3)",
        params![id, kind, ts(now)],
    )?;
    Ok(())
}

pub fn resolve_challenge(conn: &Connection, id: &str, body: &str) -> Result<(), AppError> {
    conn.execute("UPDATE challenges SET resolved_body = ?2 WHERE id = ?1", [id, body])?;
    Ok(())
}

//! The schema: each migration moves it one version forward.

use rusqlite_migration::{M, Migrations};

/// Each entry moves the schema one version forward; `PRAGMA user_version` records how far (the
/// count the versions before rusqlite_migration kept there too, so their databases carry on).
pub static MIGRATIONS: Migrations<'static> = Migrations::from_slice(STEPS);

const STEPS: &[M<'static>] = &[
    M::up(
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
    ),
    M::up(
        r#"
-- Portal plan changes wait on 3-D Secure too: remember what was being bought.
ALTER TABLE challenges ADD COLUMN plan TEXT;
ALTER TABLE challenges ADD COLUMN expected_total INTEGER;
"#,
    ),
    M::up(
        r#"
-- A second live subscription for an account is refused by the primary key: new subscriptions are
-- inserted, never replaced. Idempotent answers remember when they were given (kept 24 hours).
ALTER TABLE idempotency ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX challenges_by_session ON challenges(session_id);
CREATE INDEX payment_methods_by_session ON payment_methods(session_id);
CREATE INDEX invoices_by_account ON invoices(account_id, created_at);
CREATE INDEX subscriptions_due ON subscriptions(period_end) WHERE status != 'canceled';
"#,
    ),
    M::up(
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
    ),
    M::up(
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
    ),
    M::up(
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
    ),
    M::up(
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
    ),
    M::up(
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
    ),
    M::up(
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
    ),
    M::up(
        r#"
-- Session ids are bearer secrets: a session's row keeps only the public part of its id (`id`)
-- and a SHA-256 of the secret part (see http/session_tokens.rs). Sessions of earlier builds have
-- none (NULL) and are opened by their whole id, as before, until they expire.
ALTER TABLE checkout_sessions ADD COLUMN verifier_hash BLOB;
ALTER TABLE portal_sessions ADD COLUMN verifier_hash BLOB;
"#,
    ),
    M::up(
        r#"
-- Invoice numbers come from a counter advanced in the transaction that writes the invoice (never
-- MAX()+1, which two instances could both read): numbered on from the highest so far.
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters (name, value)
  SELECT 'invoice_number', COALESCE(MAX(CAST(SUBSTR(number, 6) AS INTEGER)), 0) FROM invoices;
-- Events take their position from a counter too, so positions follow commit order.
INSERT INTO counters (name, value) SELECT 'event_seq', COALESCE(MAX(seq), 0) FROM events;
-- A delivery being sent belongs to the instance holding its lease (wall-clock milliseconds): no
-- two instances send it at once, and one that stops mid-delivery leaves it to the others.
ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;
-- Wrong secret keys per client address, counted where every instance sees them: the moment the
-- address's allowance is whole again (`full_at`, wall-clock milliseconds).
CREATE TABLE failed_keys (address TEXT PRIMARY KEY, full_at INTEGER NOT NULL);
"#,
    ),
    M::up(PROMOTIONS_SQLITE),
    M::up(SESSION_LOCALES),
    M::up(USAGE_SQLITE),
    M::up(TURNS),
    M::up(REFUNDS),
];

/// The same schema on PostgreSQL, from its current shape (PostgreSQL databases start here; each
/// later step is added to both lists). Integers are BIGINT, as SQLite's are 64-bit; booleans stay
/// integers, so the SQL is the same on both. Tables whose rows are ordered by insertion (`ORDER BY
/// created_at, rowid`) get an explicit `rowid`, SQLite's implicit one. A test compares the two
/// schemas' columns.
pub static POSTGRES_STEPS: &[&str] = &[
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO counters (name, value) VALUES ('invoice_number', 0), ('event_seq', 0);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT,
    login TEXT NOT NULL,
    aws_account_linked BIGINT NOT NULL,
    stripe_customer TEXT
);
CREATE TABLE checkout_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    plan TEXT NOT NULL,
    return_url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    completed_at BIGINT,
    declines BIGINT NOT NULL DEFAULT 0,
    invoice_id TEXT,
    verifier_hash BYTEA
);
CREATE TABLE portal_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    return_url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    verifier_hash BYTEA
);
CREATE TABLE payment_methods (
    id TEXT PRIMARY KEY,
    account_id TEXT REFERENCES accounts(id),
    session_id TEXT,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month BIGINT NOT NULL,
    exp_year BIGINT NOT NULL,
    behavior TEXT NOT NULL,
    payments BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    stripe_customer TEXT,
    rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE
);
CREATE INDEX payment_methods_by_session ON payment_methods(session_id);
CREATE TABLE subscriptions (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    plan TEXT NOT NULL,
    status TEXT NOT NULL,
    first_paid_at BIGINT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    paid_this_period BIGINT NOT NULL,
    scheduled_plan TEXT,
    cancel_at_period_end BIGINT NOT NULL DEFAULT 0,
    overage_enabled BIGINT NOT NULL DEFAULT 0,
    payment_method_id TEXT REFERENCES payment_methods(id),
    failed_at BIGINT,
    retries BIGINT NOT NULL DEFAULT 0,
    retry_at BIGINT,
    cancellation_reason TEXT
);
CREATE INDEX subscriptions_due ON subscriptions(period_end) WHERE status != 'canceled';
CREATE INDEX subscriptions_retry_due ON subscriptions(retry_at) WHERE retry_at IS NOT NULL;
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    lines TEXT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    payment_method_id TEXT REFERENCES payment_methods(id),
    charge_pending BIGINT NOT NULL DEFAULT 0,
    rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE
);
CREATE INDEX invoices_by_account ON invoices(account_id, created_at);
CREATE INDEX invoices_charge_pending ON invoices(account_id, created_at) WHERE charge_pending = 1;
CREATE INDEX invoices_open ON invoices(account_id, created_at) WHERE status = 'open';
CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, key)
);
CREATE TABLE challenges (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    payment_method_id TEXT NOT NULL REFERENCES payment_methods(id),
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_body TEXT,
    plan TEXT,
    expected_total BIGINT,
    intent_id TEXT,
    invoice_id TEXT
);
CREATE INDEX challenges_by_session ON challenges(session_id);
CREATE INDEX challenges_by_intent ON challenges(intent_id) WHERE intent_id IS NOT NULL;
CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_by_account ON events(account_id, seq);
CREATE TABLE webhook_endpoints (url TEXT PRIMARY KEY);
CREATE TABLE deliveries (
    event_seq BIGINT NOT NULL REFERENCES events(seq),
    endpoint TEXT NOT NULL,
    enqueued_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at BIGINT,
    delivered BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT,
    PRIMARY KEY (event_seq, endpoint)
);
CREATE INDEX deliveries_pending ON deliveries(endpoint, event_seq) WHERE done_at IS NULL;
CREATE TABLE payment_attempts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    pending TEXT,
    orphaned BIGINT NOT NULL DEFAULT 0,
    intent_id TEXT,
    lease_until BIGINT,
    recorded_first BIGINT NOT NULL DEFAULT 0,
    rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE
);
CREATE UNIQUE INDEX payment_attempts_one_pending ON payment_attempts(account_id) WHERE status = 'pending';
CREATE INDEX payment_attempts_leases ON payment_attempts(lease_until) WHERE status = 'pending';
CREATE INDEX payment_attempts_by_intent ON payment_attempts(intent_id) WHERE intent_id IS NOT NULL;
CREATE TABLE stripe_events (id TEXT PRIMARY KEY, type TEXT NOT NULL, received_at BIGINT NOT NULL);
CREATE TABLE failed_keys (address TEXT PRIMARY KEY, full_at BIGINT NOT NULL);
"#,
    PROMOTIONS_POSTGRES,
    SESSION_LOCALES,
    USAGE_POSTGRES,
    TURNS,
    REFUNDS,
];

/// Issue 33: metered credits. Each reported event once (`identifier`), pruned after 35 days;
/// per-period totals (hundredths of a credit) kept with the events, read without a scan; totals
/// by day for the portal's chart; the subscription's monthly spending limit on overage (cents).
/// A renewal's invoice waits as `draft` through its period's grace hour (no schema change).
const USAGE_SQLITE: &str = r#"
CREATE TABLE meter_events (
    identifier TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    value INTEGER NOT NULL,
    value_text TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX meter_events_by_time ON meter_events(occurred_at);
CREATE TABLE usage_periods (
    account_id TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    overage INTEGER NOT NULL DEFAULT 0,
    final_plan TEXT,
    told INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, period_start)
);
CREATE INDEX usage_periods_to_bill ON usage_periods(period_end) WHERE closed = 0 AND overage > 0;
CREATE TABLE usage_days (
    account_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
);
CREATE INDEX invoices_draft ON invoices(created_at) WHERE status = 'draft';
ALTER TABLE subscriptions ADD COLUMN spending_limit INTEGER;
"#;

/// The same for PostgreSQL.
const USAGE_POSTGRES: &str = r#"
CREATE TABLE meter_events (
    identifier TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    value BIGINT NOT NULL,
    value_text TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX meter_events_by_time ON meter_events(occurred_at);
CREATE TABLE usage_periods (
    account_id TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    overage BIGINT NOT NULL DEFAULT 0,
    final_plan TEXT,
    told BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, period_start)
);
CREATE INDEX usage_periods_to_bill ON usage_periods(period_end) WHERE closed = 0 AND overage > 0;
CREATE TABLE usage_days (
    account_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (account_id, day)
);
CREATE INDEX invoices_draft ON invoices(created_at) WHERE status = 'draft';
ALTER TABLE subscriptions ADD COLUMN spending_limit BIGINT;
"#;

/// Issue 34: on PostgreSQL writers lock tables, never rows or a session's advisory locks: `LOCK
/// TABLE` is the transaction's (a session ended for sitting idle in one gives it back) and takes
/// no snapshot, so a writer's snapshot comes after its locks. The tables stay empty. And each
/// account's charges take turns through a row of `charge_turns` that claiming an attempt and
/// ending one both update: a claim whose snapshot is older than another charge's record then
/// conflicts and runs again, seeing it, instead of charging what that record made ineligible.
/// The same SQL on both backends.
const TURNS: &str = r#"
CREATE TABLE lock_writes (unused BIGINT);
CREATE TABLE lock_usage_turn (unused BIGINT);
CREATE TABLE charge_turns (account_id TEXT PRIMARY KEY, turn BIGINT NOT NULL);
"#;

/// Issue 35: refunds, each a credit note once the money is back (`CN-000001`, numbered from a
/// counter in the transaction that records it, so numbers have no gaps). What an invoice may still
/// give back is `amount - amount_refunded - refund_pending`, changed only by one conditional
/// `UPDATE` of the invoice's row, so racing refunds never give back more than was paid. A refund
/// in flight holds a lease, like a payment attempt. Each paid invoice keeps the PaymentIntent
/// that paid it (Stripe mode), and a dispute's status (Stripe's). The same SQL on both backends.
const REFUNDS: &str = r#"
CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL REFERENCES invoices(id),
    account_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    credit_note TEXT UNIQUE,
    lines TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    lease_until BIGINT,
    processor_id TEXT,
    failure TEXT
);
CREATE INDEX refunds_by_invoice ON refunds(invoice_id, created_at);
CREATE INDEX refunds_in_flight ON refunds(lease_until) WHERE status = 'pending';
ALTER TABLE invoices ADD COLUMN amount_refunded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN refund_pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN payment_intent TEXT;
ALTER TABLE invoices ADD COLUMN dispute TEXT;
CREATE INDEX invoices_by_intent ON invoices(payment_intent) WHERE payment_intent IS NOT NULL;
INSERT INTO counters (name, value) VALUES ('credit_note_number', 0);
"#;

/// Issue 23: the language a session's pages speak, when its creator or its user chose one
/// (otherwise the browser's `Accept-Language` decides). Checkout and portal session ids never
/// collide (their prefixes differ). The same SQL on both backends.
const SESSION_LOCALES: &str = r#"
CREATE TABLE session_locales (session_id TEXT PRIMARY KEY, locale TEXT NOT NULL);
"#;

/// Issue 22: coupons, their promotion codes, redemptions (held while a payment is in flight or
/// at the bank, counted once paid), the code a checkout session carries (and its wrong guesses),
/// and the discount running on an account's subscription. Booleans are INTEGER 0/1.
const PROMOTIONS_SQLITE: &str = r#"
CREATE TABLE coupons (
    id TEXT PRIMARY KEY,
    name TEXT,
    percent_off INTEGER,
    amount_off INTEGER,
    duration TEXT NOT NULL,
    duration_in_months INTEGER,
    plans TEXT,
    valid INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE promotion_codes (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    code_key TEXT NOT NULL UNIQUE,
    coupon_id TEXT NOT NULL REFERENCES coupons(id),
    active INTEGER NOT NULL,
    max_redemptions INTEGER,
    expires_at INTEGER,
    first_time_transaction INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE redemptions (
    session_id TEXT PRIMARY KEY,
    promotion_code_id TEXT NOT NULL REFERENCES promotion_codes(id),
    account_id TEXT NOT NULL,
    status TEXT NOT NULL,
    held_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX redemptions_by_code ON redemptions(promotion_code_id, status);
CREATE TABLE checkout_promotions (
    session_id TEXT PRIMARY KEY,
    allow_codes INTEGER NOT NULL,
    promotion_code_id TEXT REFERENCES promotion_codes(id),
    wrong_codes INTEGER NOT NULL
);
CREATE TABLE subscription_discounts (
    account_id TEXT PRIMARY KEY,
    promotion_code_id TEXT NOT NULL REFERENCES promotion_codes(id),
    coupon_id TEXT NOT NULL REFERENCES coupons(id),
    code TEXT NOT NULL,
    started_at INTEGER NOT NULL
);
"#;

/// The same tables for PostgreSQL (its second step).
const PROMOTIONS_POSTGRES: &str = r#"
CREATE TABLE coupons (
    id TEXT PRIMARY KEY,
    name TEXT,
    percent_off BIGINT,
    amount_off BIGINT,
    duration TEXT NOT NULL,
    duration_in_months BIGINT,
    plans TEXT,
    valid BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE promotion_codes (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    code_key TEXT NOT NULL UNIQUE,
    coupon_id TEXT NOT NULL REFERENCES coupons(id),
    active BIGINT NOT NULL,
    max_redemptions BIGINT,
    expires_at BIGINT,
    first_time_transaction BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE redemptions (
    session_id TEXT PRIMARY KEY,
    promotion_code_id TEXT NOT NULL REFERENCES promotion_codes(id),
    account_id TEXT NOT NULL,
    status TEXT NOT NULL,
    held_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX redemptions_by_code ON redemptions(promotion_code_id, status);
CREATE TABLE checkout_promotions (
    session_id TEXT PRIMARY KEY,
    allow_codes BIGINT NOT NULL,
    promotion_code_id TEXT REFERENCES promotion_codes(id),
    wrong_codes BIGINT NOT NULL
);
CREATE TABLE subscription_discounts (
    account_id TEXT PRIMARY KEY,
    promotion_code_id TEXT NOT NULL REFERENCES promotion_codes(id),
    coupon_id TEXT NOT NULL REFERENCES coupons(id),
    code TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
"#;

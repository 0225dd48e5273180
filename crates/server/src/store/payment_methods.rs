//! The `payment_methods` table: cards tokenized in a session and saved on an account.

use super::{Conn, DbResult, OptionalExtension, Row, params};
use super::{named, ts};
use billing::validate::CardBrand;
use billing::wire::{CardSummary, PaymentMethodId};
use time::OffsetDateTime;

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

/// A brand from Stripe's name for it: `visa`, `mastercard`, `amex`, ...; one we do not list
/// (Stripe adds brands) is `Unknown`, shown as a card without a logo.
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

pub fn insert_payment_method(conn: &Conn<'_>, pm: &PaymentMethod, now: OffsetDateTime) -> DbResult<()> {
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

fn pm_from_row(r: &Row) -> DbResult<PaymentMethod> {
    Ok(PaymentMethod {
        card: CardSummary {
            id: PaymentMethodId(r.get(0)?),
            brand: named(r.get(3)?)?,
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

pub fn get_payment_method(conn: &Conn<'_>, id: &str) -> DbResult<Option<PaymentMethod>> {
    conn.query_row(&format!("SELECT {PM_COLUMNS} FROM payment_methods WHERE id = ?1"), [id], pm_from_row).optional()
}

/// The cards saved on an account, newest first.
pub fn account_payment_methods(conn: &Conn<'_>, account_id: &str) -> DbResult<Vec<PaymentMethod>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {PM_COLUMNS} FROM payment_methods WHERE account_id = ?1 ORDER BY created_at DESC, rowid DESC"
    ))?;
    let rows = stmt.query_map([account_id], pm_from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Counts a successful payment and saves the card on the account.
pub fn record_payment(conn: &Conn<'_>, pm_id: &str, account_id: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE payment_methods SET payments = payments + 1, account_id = ?2 WHERE id = ?1",
        params![pm_id, account_id],
    )?;
    Ok(())
}

/// Makes a card the account's (the one charged from now on is the subscription's).
pub fn save_card_on_account(conn: &Conn<'_>, pm_id: &str, account_id: &str) -> DbResult<()> {
    conn.execute("UPDATE payment_methods SET account_id = ?2 WHERE id = ?1", [pm_id, account_id])?;
    Ok(())
}

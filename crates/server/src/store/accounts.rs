//! The `accounts` table: what the IDE's backend says of an account, and its Stripe Customer.

use super::named;
use super::{Conn, DbResult, OptionalExtension, params};
use billing::wire::Login;

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

/// Records what the IDE's backend says about an account (its latest word wins).
pub fn upsert_account(conn: &Conn<'_>, account: &Account) -> DbResult<()> {
    conn.execute(
        "INSERT INTO accounts (id, email, login, aws_account_linked) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET email = COALESCE(excluded.email, accounts.email),
             login = excluded.login, aws_account_linked = excluded.aws_account_linked",
        params![account.id, account.email, login_str(account.login), account.aws_account_linked],
    )?;
    Ok(())
}

/// The account's Stripe Customer (Stripe mode), if one was made.
pub fn stripe_customer(conn: &Conn<'_>, account_id: &str) -> DbResult<Option<String>> {
    let customer = conn
        .query_row("SELECT stripe_customer FROM accounts WHERE id = ?1", [account_id], |r| {
            r.get::<_, Option<String>>(0)
        })
        .optional()?;
    Ok(customer.flatten())
}

/// Keeps the account's Stripe Customer, unless one was kept first; returns the one kept (`None`:
/// there is no such account).
pub fn keep_stripe_customer(conn: &Conn<'_>, account_id: &str, customer: &str) -> DbResult<Option<String>> {
    conn.execute(
        "UPDATE accounts SET stripe_customer = ?2 WHERE id = ?1 AND stripe_customer IS NULL",
        [account_id, customer],
    )?;
    stripe_customer(conn, account_id)
}

pub fn get_account(conn: &Conn<'_>, id: &str) -> DbResult<Option<Account>> {
    conn.query_row("SELECT id, email, login, aws_account_linked FROM accounts WHERE id = ?1", [id], |r| {
        Ok(Account { id: r.get(0)?, email: r.get(1)?, login: named(r.get(2)?)?, aws_account_linked: r.get(3)? })
    })
    .optional()
}

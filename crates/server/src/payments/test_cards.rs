//! The test-mode payment processor: Stripe's documented test cards (SPEC section 4). Card numbers
//! come in only through [`tokenize`], which keeps nothing of them but the brand, the last four
//! digits, the expiry and which test behaviour the card has.

use super::limits::{self, SessionLimit};
use crate::error::AppError;
use crate::ids::new_id;
use crate::store::Conn;
use crate::store::{self, PaymentMethod};
use billing::validate::{self, CardBrand};
use billing::wire::{CardSummary, DeclineCode, TokenizeCard};
use time::OffsetDateTime;

/// How a test card behaves when charged. Stored with the token instead of the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBehavior {
    Succeeds,
    Declines(DeclineCode),
    RequiresAuthentication,
    /// The first payment succeeds; later charges (renewals, upgrades) fail.
    FailsAfterFirst,
}

impl CardBehavior {
    pub fn as_str(self) -> &'static str {
        match self {
            CardBehavior::Succeeds => "succeeds",
            CardBehavior::Declines(DeclineCode::Generic) => "decline_generic",
            CardBehavior::Declines(DeclineCode::InsufficientFunds) => "decline_insufficient_funds",
            CardBehavior::Declines(DeclineCode::ExpiredCard) => "decline_expired_card",
            CardBehavior::Declines(DeclineCode::IncorrectCvc) => "decline_incorrect_cvc",
            CardBehavior::Declines(DeclineCode::ProcessingError) => "decline_processing_error",
            CardBehavior::Declines(DeclineCode::AuthenticationFailed) => "decline_authentication_failed",
            CardBehavior::Declines(DeclineCode::TestCardsOnly) => "decline_test_cards_only",
            CardBehavior::RequiresAuthentication => "requires_authentication",
            CardBehavior::FailsAfterFirst => "fails_after_first",
        }
    }

    pub fn parse(s: &str) -> CardBehavior {
        [
            CardBehavior::Succeeds,
            CardBehavior::Declines(DeclineCode::Generic),
            CardBehavior::Declines(DeclineCode::InsufficientFunds),
            CardBehavior::Declines(DeclineCode::ExpiredCard),
            CardBehavior::Declines(DeclineCode::IncorrectCvc),
            CardBehavior::Declines(DeclineCode::ProcessingError),
            CardBehavior::Declines(DeclineCode::AuthenticationFailed),
            CardBehavior::RequiresAuthentication,
            CardBehavior::FailsAfterFirst,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
        .unwrap_or(CardBehavior::Declines(DeclineCode::TestCardsOnly))
    }
}

fn behavior_of(digits: &str) -> CardBehavior {
    match digits {
        "4242424242424242" | "5555555555554444" | "378282246310005" => CardBehavior::Succeeds,
        "4000000000000002" => CardBehavior::Declines(DeclineCode::Generic),
        "4000000000009995" => CardBehavior::Declines(DeclineCode::InsufficientFunds),
        "4000000000000069" => CardBehavior::Declines(DeclineCode::ExpiredCard),
        "4000000000000127" => CardBehavior::Declines(DeclineCode::IncorrectCvc),
        "4000000000000119" => CardBehavior::Declines(DeclineCode::ProcessingError),
        "4000002760003184" => CardBehavior::RequiresAuthentication,
        "4000000000000341" => CardBehavior::FailsAfterFirst,
        _ => CardBehavior::Declines(DeclineCode::TestCardsOnly),
    }
}

/// What a token keeps of a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizedCard {
    pub brand: CardBrand,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub behavior: CardBehavior,
}

/// `(year, month)` of `now`, what card expiry dates are checked against.
pub fn year_month(now: time::OffsetDateTime) -> (u16, u8) {
    (now.year().clamp(0, 9999) as u16, u8::from(now.month()))
}

/// Validates a card (with the same rules as the page) and keeps only what a token may keep.
pub fn tokenize(card: &TokenizeCard, (current_year, current_month): (u16, u8)) -> Result<TokenizedCard, String> {
    let TokenizeCard { number, exp_month, exp_year, cvc, name } = card;
    let (exp_month, exp_year) = (*exp_month, *exp_year);
    let card = validate::validate_card_number(number).map_err(|e| e.message().to_string())?;
    let expiry = format!("{exp_month:02}{:02}", exp_year % 100);
    if !(2000..2100).contains(&exp_year) {
        return Err(validate::ExpiryError::InvalidMonth.message().into());
    }
    validate::validate_expiry(&expiry, current_year, current_month).map_err(|e| e.message().to_string())?;
    validate::validate_cvc(cvc, card.brand).map_err(|e| e.message().to_string())?;
    validate::validate_cardholder_name(name).map_err(|e| e.message().to_string())?;
    Ok(TokenizedCard {
        brand: card.brand,
        last4: card.last4().to_string(),
        exp_month,
        exp_year,
        behavior: behavior_of(&card.digits),
    })
}

/// The result of one charge attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeResult {
    Succeeded,
    RequiresAuthentication,
    Declined(DeclineCode),
    /// No answer from the processor (Stripe mode): whether it charged is not known yet, so
    /// nothing is recorded and the attempt stays pending until it is.
    Unknown,
}

/// Whether a charge is the card's first payment or a later one (renewal, upgrade).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeKind {
    First,
    Later,
}

/// Charges a card with `behavior`. `authenticated` is true once 3-D Secure was completed.
pub fn charge(behavior: CardBehavior, kind: ChargeKind, authenticated: bool) -> ChargeResult {
    match (behavior, kind) {
        (CardBehavior::Succeeds, _) => ChargeResult::Succeeded,
        (CardBehavior::Declines(code), _) => ChargeResult::Declined(code),
        (CardBehavior::RequiresAuthentication, _) if authenticated => ChargeResult::Succeeded,
        (CardBehavior::RequiresAuthentication, _) => ChargeResult::RequiresAuthentication,
        (CardBehavior::FailsAfterFirst, ChargeKind::First) => ChargeResult::Succeeded,
        (CardBehavior::FailsAfterFirst, ChargeKind::Later) => ChargeResult::Declined(DeclineCode::Generic),
    }
}

/// Keeps a tokenized card for page session `session_id` (which expires at `expires_at`), one of
/// the cards it may tokenize, not yet on any account.
pub fn keep_card(
    conn: &Conn<'_>,
    session_id: &str,
    expires_at: OffsetDateTime,
    token: &TokenizedCard,
    now: OffsetDateTime,
) -> Result<PaymentMethod, AppError> {
    limits::check_limit(conn, SessionLimit::Cards, session_id, expires_at, now)?;
    let pm = PaymentMethod {
        account_id: None,
        session_id: Some(session_id.to_string()),
        card: CardSummary {
            id: new_id("pm").into(),
            brand: token.brand,
            last4: token.last4.clone(),
            exp_month: token.exp_month,
            exp_year: token.exp_year,
        },
        behavior: token.behavior.as_str().into(),
        payments: 0,
        stripe_customer: None,
    };
    store::insert_payment_method(conn, &pm, now)?;
    Ok(pm)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: (u16, u8) = (2026, 11);

    fn card(number: &str, exp_month: u8, exp_year: u16, cvc: &str, name: &str) -> TokenizeCard {
        TokenizeCard { number: number.into(), exp_month, exp_year, cvc: cvc.into(), name: name.into() }
    }

    fn tok(number: &str) -> Result<TokenizedCard, String> {
        let cvc = if number.starts_with("37") { "1234" } else { "123" };
        tokenize(&card(number, 12, 2030, cvc, "Ada Lovelace"), NOW)
    }

    #[test]
    fn every_row_of_the_test_card_table() {
        let rows = [
            ("4242 4242 4242 4242", CardBehavior::Succeeds),
            ("5555 5555 5555 4444", CardBehavior::Succeeds),
            ("3782 822463 10005", CardBehavior::Succeeds),
            ("4000 0000 0000 0002", CardBehavior::Declines(DeclineCode::Generic)),
            ("4000 0000 0000 9995", CardBehavior::Declines(DeclineCode::InsufficientFunds)),
            ("4000 0000 0000 0069", CardBehavior::Declines(DeclineCode::ExpiredCard)),
            ("4000 0000 0000 0127", CardBehavior::Declines(DeclineCode::IncorrectCvc)),
            ("4000 0000 0000 0119", CardBehavior::Declines(DeclineCode::ProcessingError)),
            ("4000 0027 6000 3184", CardBehavior::RequiresAuthentication),
            ("4000 0000 0000 0341", CardBehavior::FailsAfterFirst),
            ("6011 1111 1111 1117", CardBehavior::Declines(DeclineCode::TestCardsOnly)),
        ];
        for (number, behavior) in rows {
            let card = tok(number).unwrap();
            assert_eq!(card.behavior, behavior, "{number}");
            assert_eq!(CardBehavior::parse(behavior.as_str()), behavior);
        }
        assert!(tok("4242 4242 4242 4241").is_err());
    }

    #[test]
    fn tokens_keep_only_brand_last4_and_expiry() {
        let card = tok("3782 822463 10005").unwrap();
        assert_eq!(
            (card.brand, card.last4.as_str(), card.exp_month, card.exp_year),
            (CardBrand::Amex, "0005", 12, 2030)
        );
    }

    #[test]
    fn expiry_and_cvc_are_checked() {
        assert!(tokenize(&card("4242424242424242", 10, 2026, "123", "A B"), NOW).is_err());
        assert!(tokenize(&card("4242424242424242", 13, 2030, "123", "A B"), NOW).is_err());
        assert!(tokenize(&card("4242424242424242", 12, 2030, "12", "A B"), NOW).is_err());
        assert!(tokenize(&card("4242424242424242", 12, 2030, "123", ""), NOW).is_err());
        assert!(tokenize(&card("4242424242424242", 12, 2230, "123", "A B"), NOW).is_err());
    }

    #[test]
    fn charges_follow_the_behaviour() {
        assert_eq!(charge(CardBehavior::FailsAfterFirst, ChargeKind::First, false), ChargeResult::Succeeded);
        assert_eq!(
            charge(CardBehavior::FailsAfterFirst, ChargeKind::Later, false),
            ChargeResult::Declined(DeclineCode::Generic)
        );
        assert_eq!(
            charge(CardBehavior::RequiresAuthentication, ChargeKind::First, false),
            ChargeResult::RequiresAuthentication
        );
        assert_eq!(charge(CardBehavior::RequiresAuthentication, ChargeKind::First, true), ChargeResult::Succeeded);
    }
}

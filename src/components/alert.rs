//! The error alert and the busy button (shared with the server's first paint, `views::alert`), and
//! what the alert says after a payment step.

use crate::api::ApiError;
use crate::payment::PayResult;
use billing::wire::ErrorCode;
use i18n::Catalog;
pub use views::alert::{AlertText, BusyButton, ErrorAlert};
use views::words;

/// What the alert next to a payment says after a step that did not go through; `unreachable` is
/// the message when the server could not be reached (the payment may have gone through: Retry).
pub fn payment_alert<D, Q>(i18n: &Catalog, result: &PayResult<D, Q>, unreachable: &str) -> Option<AlertText> {
    match result {
        PayResult::Declined { decline, .. } => Some(AlertText::new(words::decline_text(i18n, decline))),
        PayResult::Repriced { .. } => Some(AlertText::new(words::error_text(i18n, ErrorCode::QuoteChanged))),
        PayResult::CardRefused(message) => Some(AlertText::new(message.clone())),
        PayResult::Failed(ApiError::Network) => Some(AlertText::new(unreachable).retryable()),
        PayResult::Failed(error) => Some(AlertText::new(error.message(i18n))),
        PayResult::Done(_) | PayResult::NeedsAuthentication { .. } => None,
    }
}

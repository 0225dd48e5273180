//! The error alert and the busy button (shared with the server's first paint, `views::alert`), and
//! what the alert says after a payment step.

use crate::api::ApiError;
use crate::payment::PayResult;
pub use views::alert::{AlertText, BusyButton, ErrorAlert};

/// What the alert next to a payment says after a step that did not go through; `unreachable` is
/// the message when the server could not be reached (the payment may have gone through: Retry).
pub fn payment_alert<D, Q>(result: &PayResult<D, Q>, unreachable: &str) -> Option<AlertText> {
    match result {
        PayResult::Declined { decline, .. } => Some(AlertText::new(decline.message.clone())),
        PayResult::Repriced { message, .. } | PayResult::CardRefused(message) => Some(AlertText::new(message.clone())),
        PayResult::Failed(ApiError::Network) => Some(AlertText::new(unreachable).retryable()),
        PayResult::Failed(error) => Some(AlertText::new(error.message())),
        PayResult::Done(_) | PayResult::NeedsAuthentication { .. } => None,
    }
}

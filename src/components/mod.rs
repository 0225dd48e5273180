//! Reusable pieces of the pages.

pub mod alert;
pub mod card_form;
pub mod challenge_dialog;
pub mod field;
pub mod frame;
pub mod new_card;
pub mod status;
#[cfg(feature = "stripe")]
pub mod stripe_card;
